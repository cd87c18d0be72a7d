"""Conv2d: 2-D convolution (cross-correlation, as in PyTorch and Keras) over channels-first images.

How it is computed (im2col + one matrix product), with images stored batch-innermost:

- Between convolution layers, activations are (n, C, H, W) arrays whose memory is ordered
  (C, H, W, n) (a transposed view; every layer works on any layout). With the batch innermost,
  every kernel offset's slice of an image is a run of contiguous blocks, so the copies below run
  over long rows instead of 14-pixel ones (measured 1.6-2.2× faster than (C, n, H, W)).
- ``cols`` holds, for every kernel element (c, i, j) and every output pixel, the input value that
  element multiplies: (C·kh·kw, Ho·Wo·n), laid out (C, kh, kw, Ho, Wo, n). It is filled with kh·kw
  strided block copies (one per kernel offset, all channels and samples at once). Padding is never
  materialised: the entries that fall in the padding are zeros that stay in the reused buffer.
- ``z = [W | b] @ cols`` with W viewed as (F, C·kh·kw) and a last row of ones in cols: one sgemm
  gives the output with its bias as (F, Ho, Wo, n), returned as the (n, F, Ho, Wo) view. The
  gradient that comes back (through the activation, Pool2d, the next Conv2d) keeps that layout,
  so the backward pass is two more sgemms, [dW | db] = grad @ colsᵀ and dcols = Wᵀ @ grad, and
  kh·kw strided slice-adds of dcols into dL/dx (no ``np.add.at``). Flatten of such an array is
  a view (C·H·W features in C, H, W order).

The im2col buffers are kept between training batches (zero padding entries included); inference
(`apply_z`) allocates its own, in chunks of bounded size, so it is safe while another thread trains.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from .base import Layer, Shape, WeightsAndBiases
from .dense import initial_weights
from .spatial import Axis, axes, check_fits, image_input_shape, image_shape, int_pair, padding_spec

#: refuse outputs beyond this many values per sample (64 MB in float32), before allocating anything
MAX_OUTPUT_VALUES = 16 * 1024 * 1024
#: inference builds im2col in chunks of at most this many values (32 MB in float32)
COLS_BUDGET = 8 * 1024 * 1024


def im2col(x_chwn: np.ndarray, rows: Axis, cols: Axis, out: np.ndarray, padding_zeroed: bool) -> None:
    """Fill ``out`` (C, kh, kw, Ho, Wo, n) from the input stored as (C, H, W, n).

    Entries that read padding are not written: they must already be zero (``padding_zeroed``) or
    they are zeroed here.
    """
    for i in range(rows.kernel):
        o0, o1, rs = rows.span(i)
        for j in range(cols.kernel):
            p0, p1, cs = cols.span(j)
            target = out[:, i, j]
            if not padding_zeroed:
                target[:, :o0] = 0
                target[:, o1:] = 0
                target[:, o0:o1, :p0] = 0
                target[:, o0:o1, p1:] = 0
            if o1 > o0 and p1 > p0:
                target[:, o0:o1, p0:p1] = x_chwn[:, rs, cs]


def col2im(dcols: np.ndarray, rows: Axis, cols: Axis, out_chwn: np.ndarray) -> None:
    """Sum the gradients ``dcols`` (C, kh, kw, Ho, Wo, n) into the input gradient (C, H, W, n).

    ``out_chwn`` may hold anything: a kernel offset that reads the whole input (stride 1) is
    assigned first, else it is zeroed, and the other offsets are added.
    """
    taps = []
    for i in range(rows.kernel):
        o0, o1, rs = rows.span(i)
        for j in range(cols.kernel):
            p0, p1, cs = cols.span(j)
            if o1 > o0 and p1 > p0:
                whole = o1 - o0 == rows.size and p1 - p0 == cols.size
                taps.append((not whole, i, j, o0, o1, rs, p0, p1, cs))
    taps.sort(key=lambda tap: tap[0])  # a whole-input offset first (stable otherwise)
    if not taps or taps[0][0]:
        out_chwn[...] = 0
    for k, (partial, i, j, o0, o1, rs, p0, p1, cs) in enumerate(taps):
        if k == 0 and not partial:
            out_chwn[...] = dcols[:, i, j, o0:o1, p0:p1]
        else:
            out_chwn[:, rs, cs] += dcols[:, i, j, o0:o1, p0:p1]


class Conv2d(WeightsAndBiases, Layer):
    """2-D convolution: (n, C, H, W) → (n, filters, Ho, Wo), then the activation.

    ``weights`` has shape (filters, C, kh, kw) and ``biases`` (filters,). ``kernel_size`` and
    ``stride`` are an int or a pair (rows, columns); ``padding`` is "valid"/None, "same" (output =
    ceil(input / stride), the odd pixel at the bottom/right as TensorFlow), "zero" (one pixel), an
    int or a pair (see nncore.layers.spatial). Padding is zeros. Without given arrays, weights are
    He-normal (relu, leaky_relu) or Glorot-uniform (others) with fan_in = C·kh·kw and fan_out =
    filters·kh·kw, biases zero. ``l2`` adds l2·ΣW² to the loss (biases are not regularised).
    """

    label = "Conv"

    def __init__(
        self,
        input_shape: Any = None,
        filters: int = 1,
        kernel_size: Any = 3,
        stride: Any = 1,
        padding: Any = "valid",
        activation: str | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        is_bias: bool = True,
        l2: float = 0.0,
    ):
        super().__init__(image_input_shape(input_shape), activation, l2)
        if isinstance(filters, (bool, np.bool_)) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"filters must be a positive integer; got {filters!r}.")
        self.filters = int(filters)
        self.kernel_size = int_pair("kernel_size", kernel_size)
        self.stride = int_pair("stride", stride)
        self.padding = padding_spec(padding)
        self.is_bias = bool(is_bias)
        if bias is not None and not self.is_bias:
            raise ValueError("bias was given but is_bias=False; pass one or the other.")
        self._init_weights = None if weights is None else np.asarray(weights)
        self._init_bias = None if bias is None else np.asarray(bias)
        self._rows: Axis | None = None
        self._cols_axis: Axis | None = None
        # training caches: the last batch's im2col (for dW) and reusable scratch buffers
        self._cols: np.ndarray | None = None
        self._n = 0
        self._scratch: dict[str, np.ndarray] = {}
        self._scratch_pass = False

    # ------------------------------------------------------------------ shapes and parameters
    def _geometry(self, input_shape: Shape) -> tuple[int, Axis, Axis]:
        channels, height, width = image_shape("Conv2d", input_shape)
        rows, cols = axes((height, width), self.kernel_size, self.stride, self.padding)
        check_fits("Conv2d", rows, cols)
        return channels, rows, cols

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _, rows, cols = self._geometry(input_shape)
        values = self.filters * rows.out * cols.out
        if values > MAX_OUTPUT_VALUES:
            raise ShapeError(
                f"Conv2d would output ({self.filters}, {rows.out}, {cols.out}) = {values:,} values per sample, more than "
                f"the limit of {MAX_OUTPUT_VALUES:,}. Use fewer filters, less padding or a larger stride."
            )
        return (self.filters, rows.out, cols.out)

    def planned_parameters(self, input_shape: Shape) -> int:
        channels = input_shape[0] if len(input_shape) == 3 else 1
        kh, kw = self.kernel_size
        return self.filters * channels * kh * kw + (self.filters if self.is_bias else 0)

    def init_params(self, rng, dtype):
        channels = self.input_shape[0]
        kh, kw = self.kernel_size
        shape = (self.filters, channels, kh, kw)
        if self._init_weights is not None:
            if self._init_weights.shape != shape:
                raise ValueError(
                    f"weights must have shape (filters, channels, kh, kw) = {shape}; got {self._init_weights.shape}."
                )
            params = {"weights": self._init_weights}
        else:
            fan_in, fan_out = channels * kh * kw, self.filters * kh * kw
            params = {"weights": initial_weights(rng, shape, fan_in, fan_out, self.activation_name)}
        if self.is_bias:
            b = np.zeros(self.filters) if self._init_bias is None else self._init_bias
            if b.shape != (self.filters,):
                raise ValueError(f"bias must have shape {(self.filters,)}; got {b.shape}.")
            params["biases"] = b
        return params

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        _, self._rows, self._cols_axis = self._geometry(self.input_shape)
        self._init_weights = self._init_bias = None  # the arrays now live in params
        self._scratch = {}

    def _reset_caches(self) -> None:
        self._cols, self._n, self._scratch, self._scratch_pass = None, 0, {}, False

    # ------------------------------------------------------------------ computation
    @property
    def _kernel_matrix(self) -> np.ndarray:
        """The weights as (F, C·kh·kw), a view."""
        return self.params["weights"].reshape(self.filters, -1)

    @property
    def _taps(self) -> int:
        """C·kh·kw: the rows of cols that hold input values."""
        return self.input_shape[0] * self.kernel_size[0] * self.kernel_size[1]

    def _new_cols(self, n: int, dtype: np.dtype, zeroed: bool) -> np.ndarray:
        """cols (C·kh·kw [+ 1], Ho·Wo·n); with a bias, the last row is ones, so that W @ cols adds
        the bias and grad @ colsᵀ sums the bias gradient inside the matrix products."""
        shape = (self._taps + self.is_bias, self._rows.out * self._cols_axis.out * n)
        cols = (np.zeros if zeroed else np.empty)(shape, dtype=dtype)
        if self.is_bias:
            cols[-1] = 1
        return cols

    def _im2col(self, x: np.ndarray, reuse: bool) -> np.ndarray:
        """(n, C, H, W) → cols (C·kh·kw [+ 1], Ho·Wo·n), rows in (c, i, j) order, columns (Ho, Wo, n)."""
        rows, cols_axis, n = self._rows, self._cols_axis, len(x)
        cols = self._scratch.get("cols") if reuse else None
        zeroed = cols is not None and cols.shape[1] == rows.out * cols_axis.out * n and cols.dtype == x.dtype
        if not zeroed:
            cols = self._new_cols(n, x.dtype, zeroed=reuse)
            zeroed = reuse
            if reuse:
                self._scratch["cols"] = cols
        taps = cols[: self._taps].reshape(self.input_shape[0], rows.kernel, cols_axis.kernel, rows.out, cols_axis.out, n)
        # one gathering copy when x is not stored batch-innermost (the model's input), then kh·kw block copies
        im2col(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), rows, cols_axis, taps, zeroed)
        return cols

    def _project(self, cols: np.ndarray) -> np.ndarray:
        """cols → z in memory order (F, Ho·Wo·n), bias included."""
        w = self._kernel_matrix
        if self.is_bias:
            w = np.concatenate([w, self.params["biases"][:, None]], axis=1)
        return w @ cols

    def _as_output(self, z: np.ndarray, n: int) -> np.ndarray:
        """(F, Ho·Wo·n) memory → the (n, F, Ho, Wo) view."""
        return z.reshape(self.filters, self._rows.out, self._cols_axis.out, n).transpose(3, 0, 1, 2)

    def forward_z(self, x, training):
        cols = self._im2col(x, reuse=training)
        self._cols, self._n, self._scratch_pass = cols, len(x), training
        return self._as_output(self._project(cols), len(x))

    def apply_z(self, x):
        n = len(x)
        pixels = self._rows.out * self._cols_axis.out
        chunk = max(1, COLS_BUDGET // ((self._taps + 1) * pixels))
        if n <= chunk:
            return self._as_output(self._project(self._im2col(x, reuse=False)), n)
        z = np.empty((self.filters, pixels, n), dtype=x.dtype)
        for lo in range(0, n, chunk):
            part = x[lo : lo + chunk]
            z[:, :, lo : lo + len(part)] = self._project(self._im2col(part, reuse=False)).reshape(self.filters, pixels, len(part))
        return self._as_output(z, n)

    def backward_z(self, grad_z, need_input_grad=True):
        n, cols, taps = self._n, self._cols, self._taps
        grad = grad_z.transpose(1, 2, 3, 0).reshape(self.filters, -1)  # (F, Ho·Wo·n); a view unless the layout differs
        if self.is_bias:
            both = grad @ cols.T  # (F, C·kh·kw + 1): the weight gradient and, last, the bias gradient
            self.grads["weights"].reshape(self.filters, taps)[...] = both[:, :taps]
            self.grads["biases"][...] = both[:, taps]
        else:
            np.matmul(grad, cols.T, out=self.grads["weights"].reshape(self.filters, taps))
        if not need_input_grad:
            return None
        shape = (taps, cols.shape[1])
        dcols = self._scratch.get("dcols") if self._scratch_pass else None
        if dcols is None or dcols.shape != shape or dcols.dtype != cols.dtype:
            dcols = np.empty(shape, dtype=cols.dtype)
            if self._scratch_pass:
                self._scratch["dcols"] = dcols
        np.matmul(self._kernel_matrix.T, grad, out=dcols)
        channels, height, width = self.input_shape
        rows, cols_axis = self._rows, self._cols_axis
        shape = (channels, height, width, n)
        dx = self._scratch.get("dx") if self._scratch_pass else None
        if dx is None or dx.shape != shape or dx.dtype != cols.dtype:
            dx = np.empty(shape, dtype=cols.dtype)
            if self._scratch_pass:  # the previous layer uses it within this step only
                self._scratch["dx"] = dx
        col2im(dcols.reshape(channels, rows.kernel, cols_axis.kernel, rows.out, cols_axis.out, n), rows, cols_axis, dx)
        return dx.transpose(3, 0, 1, 2)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding,
            "activation": self.activation_name,
            "is_bias": self.is_bias,
            "l2": self.l2,
        }

    def describe(self) -> str:
        kh, kw = self.kernel_size
        text = f"{self.filters} filters {kh}×{kw}"
        if self.stride != (1, 1):
            text += f", stride {self.stride[0]}" if self.stride[0] == self.stride[1] else f", stride {self.stride}"
        if self.padding != "valid":
            text += f", padding {self.padding}"
        return text + ("" if self.is_bias else ", no bias")

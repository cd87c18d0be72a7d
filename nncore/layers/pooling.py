"""Pool2d: max or average pooling over channels-first images, any kernel, stride and padding.

Semantics (PyTorch and TensorFlow agree on all of these):

- Each padding side must be smaller than the kernel, so that no window is all padding.
- Max pooling ignores padding (padding acts as -inf). The gradient goes to the first maximum of
  each window in row-major order, as PyTorch does on ties.
- Average pooling divides by the number of input pixels in the window, padding not counted
  (TensorFlow's "same"; PyTorch's ``count_include_pad=False``).
- Windows that would hang over the padded edge are dropped (floor, PyTorch's ceil_mode=False).

How it is computed: element (i, j) of every window is one strided slice of the (padded) input, so
the forward pass is kh·kw - 1 vectorised np.maximum / np.add passes over output-sized arrays,
whatever the stride. The backward pass finds each window's first maximum by comparing the input
with the output: for side-by-side windows (stride = kernel, the usual case) in one pass through a
(n, C, Ho, kh, Wo, kw) view, else slice by slice; each window element's share is written straight
into dL/dx (assigned when windows do not overlap, accumulated when they do). Arrays keep the memory
layout of the input (Conv2d's batch-innermost), so every pass streams through memory.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from ..registry import lookup
from .base import Layer, Shape
from .spatial import Axis, axes, check_fits, image_input_shape, image_shape, int_pair, padding_spec

POOL_KINDS = {"max": "max", "avg": "avg"}


class Pool2d(Layer):
    """Pooling: (n, C, H, W) → (n, C, Ho, Wo); no parameters.

    ``kernel_size``: int or pair; ``stride``: int or pair, defaults to ``kernel_size``;
    ``padding``: as Conv2d ("valid"/None, "same", "zero", int, pair); ``kind``: "max" or "avg".
    """

    label = "Pool"

    def __init__(self, kernel_size: Any = 2, stride: Any = None, padding: Any = "valid", kind: str = "max", input_shape: Any = None):
        super().__init__(image_input_shape(input_shape))
        self.kernel_size = int_pair("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else int_pair("stride", stride)
        self.padding = padding_spec(padding)
        self.kind = lookup("pooling kind", kind, POOL_KINDS)
        self._rows: Axis | None = None
        self._cols: Axis | None = None
        # training caches: the input, its padded version and the output (for the backward pass)
        self._x: np.ndarray | None = None
        self._xp: np.ndarray | None = None
        self._out: np.ndarray | None = None
        self._scratch: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ shapes
    def _geometry(self, input_shape: Shape) -> tuple[Axis, Axis]:
        _, height, width = image_shape("Pool2d", input_shape)
        rows, cols = axes((height, width), self.kernel_size, self.stride, self.padding)
        check_fits("Pool2d", rows, cols)
        if max(rows.lo, rows.hi) >= rows.kernel or max(cols.lo, cols.hi) >= cols.kernel:
            raise ShapeError(
                f"Pool2d with kernel_size {self.kernel_size} takes less padding than the kernel on every side "
                f"(else a window could hold only padding); padding={self.padding!r} gives "
                f"({rows.lo}+{rows.hi}, {cols.lo}+{cols.hi}). Use padding=\"same\" or a smaller padding."
            )
        return rows, cols

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rows, cols = self._geometry(input_shape)
        return (input_shape[0], rows.out, cols.out)

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self._rows, self._cols = self._geometry(self.input_shape)
        self._scratch = {}

    def _reset_caches(self) -> None:
        self._x = self._xp = self._out = None
        self._scratch = {}

    @property
    def _padded(self) -> bool:
        return bool(self._rows.lo or self._rows.hi or self._cols.lo or self._cols.hi)

    def _windows(self):
        """(code, rows slice, columns slice) of each window element over the padded input."""
        code = 0
        for i in range(self._rows.kernel):
            for j in range(self._cols.kernel):
                yield code, self._rows.padded_slice(i), self._cols.padded_slice(j)
                code += 1

    def _pad(self, x: np.ndarray, reuse: bool) -> np.ndarray:
        """x with its padding (-inf for max, 0 for avg) in a buffer of x's memory layout."""
        if not self._padded:
            return x
        r, c = self._rows, self._cols
        shape = (len(x), x.shape[1], r.padded, c.padded)
        buf = self._scratch.get("padded") if reuse else None
        if buf is None or buf.shape != shape or buf.dtype != x.dtype:
            # the layout of x (batch-innermost after Conv2d); the padding is filled once
            buf = _like_layout(x, shape, -np.inf if self.kind == "max" else 0)
            if reuse:
                self._scratch["padded"] = buf
        buf[:, :, r.lo : r.lo + r.size, c.lo : c.lo + c.size] = x
        return buf

    def _inverse_counts(self, dtype: np.dtype) -> np.ndarray:
        """(Ho, Wo) 1 / (input pixels in each window), for average pooling."""
        counts = np.outer(self._rows.window_counts(), self._cols.window_counts())
        return (1.0 / counts).astype(dtype)

    # ------------------------------------------------------------------ computation
    def _pool(self, x: np.ndarray, reuse: bool) -> tuple[np.ndarray, np.ndarray]:
        """→ (pooled output, the padded input it was computed from)."""
        xp = self._pad(x, reuse)
        windows = [xp[:, :, rs, cs] for _, rs, cs in self._windows()]
        if len(windows) == 1:
            out = windows[0].copy(order="K")
        else:
            combine = np.maximum if self.kind == "max" else np.add
            out = combine(windows[0], windows[1])  # allocated in the input's memory layout
            for window in windows[2:]:
                combine(out, window, out=out)
        if self.kind == "avg":
            out *= self._inverse_counts(out.dtype)
        return out, xp

    def forward_z(self, x, training):
        out, self._xp = self._pool(x, reuse=training)
        self._x, self._out = x, out
        return out

    def apply_z(self, x):
        return self._pool(x, reuse=False)[0]

    def backward_z(self, grad_z, need_input_grad=True):
        if not need_input_grad:
            return None
        x, r, c = self._x, self._rows, self._cols
        if _axis_order(grad_z) != _axis_order(self._out):
            # e.g. from Flatten: one copy into the layout of the output, so the passes below stream
            copied = np.empty_like(self._out, dtype=grad_z.dtype)
            copied[...] = grad_z
            grad_z = copied
        disjoint = r.stride >= r.kernel and c.stride >= c.kernel
        side_by_side = r.stride == r.kernel and c.stride == c.kernel
        tiled = side_by_side and r.padded == r.out * r.kernel and c.padded == c.out * c.kernel  # every pixel in one window
        if self._padded:
            dxp = _like_layout(x, (len(x), x.shape[1], r.padded, c.padded), 0, grad_z.dtype)
        else:
            dxp = (np.empty_like if tiled else np.zeros_like)(x, dtype=grad_z.dtype)
        windows = list(self._windows())
        if self.kind == "avg":
            share = grad_z * self._inverse_counts(grad_z.dtype)
            for _, rs, cs in windows:
                if disjoint:
                    dxp[:, :, rs, cs] = share
                else:
                    dxp[:, :, rs, cs] += share
        elif side_by_side:
            # windows side by side: all window elements at once through (n, C, Ho, kh, Wo, kw) views
            order = _tile_order(self._xp)  # the 6 axes in memory order, so the passes below stream
            chosen = np.equal(_tiles(self._xp, r, c).transpose(order), self._out[:, :, :, None, :, None].transpose(order))
            _keep_first(chosen, order)
            np.multiply(chosen, grad_z[:, :, :, None, :, None].transpose(order), out=_tiles(dxp, r, c).transpose(order))
        else:
            # the gradient goes to the first element equal to the window's maximum (row-major order)
            taken = np.zeros_like(self._out, dtype=bool)
            chosen = np.empty_like(taken)
            for code, rs, cs in windows:
                np.equal(self._xp[:, :, rs, cs], self._out, out=chosen)
                if code:
                    np.greater(chosen, taken, out=chosen)  # chosen and not taken
                if code < len(windows) - 1:
                    np.logical_or(taken, chosen, out=taken)
                if disjoint:
                    np.multiply(grad_z, chosen, out=dxp[:, :, rs, cs])
                else:
                    dxp[:, :, rs, cs] += grad_z * chosen
        if self._padded:
            return dxp[:, :, r.lo : r.lo + r.size, c.lo : c.lo + c.size]
        return dxp

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding,
            "kind": self.kind,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
        }

    def describe(self) -> str:
        kh, kw = self.kernel_size
        text = f"{self.kind} {kh}×{kw}"
        if self.stride != self.kernel_size:
            text += f", stride {self.stride[0]}" if self.stride[0] == self.stride[1] else f", stride {self.stride}"
        if self.padding != "valid":
            text += f", padding {self.padding}"
        return text


def _tiles(a: np.ndarray, rows: Axis, cols: Axis) -> np.ndarray:
    """(n, C, Hp, Wp) → the (n, C, Ho, kh, Wo, kw) view of side-by-side windows (stride = kernel)."""
    s0, s1, s2, s3 = a.strides
    shape = (a.shape[0], a.shape[1], rows.out, rows.kernel, cols.out, cols.kernel)
    return np.lib.stride_tricks.as_strided(a, shape, (s0, s1, s2 * rows.kernel, s2, s3 * cols.kernel, s3))


def _tile_order(a: np.ndarray) -> tuple[int, ...]:
    """The axes of a's (n, C, Ho, kh, Wo, kw) tiles view from the outermost to the innermost in memory."""
    expand = {0: (0,), 1: (1,), 2: (2, 3), 3: (4, 5)}
    return tuple(axis for a4 in _axis_order(a) for axis in expand[a4])


def _keep_first(chosen: np.ndarray, order: tuple[int, ...]) -> None:
    """In masks of the maxima (the (n, C, Ho, kh, Wo, kw) tiles transposed by `order`, i.e. in
    memory order), keep only each window's first maximum (row-major)."""
    at_kh, at_kw = order.index(3), order.index(5)
    kh, kw = chosen.shape[at_kh], chosen.shape[at_kw]

    def element(code: int) -> np.ndarray:
        index = [slice(None)] * chosen.ndim
        index[at_kh], index[at_kw] = code // kw, code % kw
        return chosen[tuple(index)]

    if kh * kw == 1:
        return
    taken = element(0).copy()
    for code in range(1, kh * kw):
        current = element(code)
        np.greater(current, taken, out=current)  # a maximum, and none before it
        if code < kh * kw - 1:
            np.logical_or(taken, current, out=taken)


def _axis_order(a: np.ndarray) -> tuple[int, ...]:
    """The axes of `a` from the outermost to the innermost in memory."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))


def _like_layout(x: np.ndarray, shape: tuple[int, ...], fill: float, dtype: np.dtype | None = None) -> np.ndarray:
    """A new array of `shape` filled with `fill`, its axes in memory in the same order as x's."""
    order = _axis_order(x)
    buf = np.full(tuple(shape[a] for a in order), fill, dtype=x.dtype if dtype is None else dtype)
    return buf.transpose(np.argsort(order))

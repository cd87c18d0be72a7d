"""Kernel, stride and padding arithmetic shared by Conv2d and Pool2d (no layer here).

Along one image axis of ``size`` pixels, a window of ``kernel`` pixels moves by ``stride`` over the
input padded with ``lo`` pixels before and ``hi`` after; output position ``o`` covers padded pixels
``o·stride … o·stride + kernel - 1``, i.e. input pixels ``o·stride - lo + offset`` for
``offset`` in ``0 … kernel - 1``. There are ``(size + lo + hi - kernel) // stride + 1`` outputs
(windows that would hang over the padded edge are dropped, as in PyTorch and TensorFlow).

Padding specs: ``"valid"`` or None (no padding), ``"same"`` (output = ceil(size / stride); the
total padding is split with the extra pixel after, at the bottom/right, as TensorFlow does),
``"zero"`` (one pixel on every side), an int (that many on every side), or a pair
``(rows, columns)`` (that many above and below, left and right).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PADDING_NAMES = ("valid", "same", "zero")
PaddingSpec = Any  # "valid" | "same" | "zero" | int | [int, int]


def int_pair(name: str, value: Any, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints ≥ `minimum` as a pair (rows, columns); ValueError otherwise."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= minimum for v in items
    )
    if not ok:
        kind = "positive integer" if minimum == 1 else f"integer ≥ {minimum}"
        raise ValueError(f"{name} must be a {kind} or a pair of them (rows, columns); got {value!r}.")
    return int(items[0]), int(items[1])


def padding_spec(value: Any) -> PaddingSpec:
    """Validate a padding spec; returns it in the form stored in configs ("same", 1, [1, 2], ...)."""
    if value is None:
        return "valid"
    if isinstance(value, str):
        if value.lower() in PADDING_NAMES:
            return value.lower()
        raise ValueError(
            f"padding must be one of {', '.join(repr(p) for p in PADDING_NAMES)}, None, a non-negative integer "
            f"or a pair of them (rows, columns); got {value!r}."
        )
    try:
        rows, cols = int_pair("padding", value, minimum=0)
    except ValueError:
        raise ValueError(
            f"padding must be one of {', '.join(repr(p) for p in PADDING_NAMES)}, None, a non-negative integer "
            f"or a pair of them (rows, columns); got {value!r}."
        ) from None
    return rows if isinstance(value, (int, np.integer)) else [rows, cols]


def padding_amounts(spec: PaddingSpec, size: int, kernel: int, stride: int, axis: int) -> tuple[int, int]:
    """(before, after) padding of image axis `axis` (0 rows, 1 columns) for a validated spec."""
    if spec == "valid":
        return 0, 0
    if spec == "zero":
        return 1, 1
    if spec == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    amount = spec if isinstance(spec, int) else spec[axis]
    return amount, amount


@dataclass(frozen=True)
class Axis:
    """Window geometry along one image axis (see the module docstring)."""

    size: int
    kernel: int
    stride: int
    lo: int
    hi: int

    @property
    def padded(self) -> int:
        return self.size + self.lo + self.hi

    @property
    def out(self) -> int:
        return (self.padded - self.kernel) // self.stride + 1

    def span(self, offset: int) -> tuple[int, int, slice]:
        """For window element `offset`: the outputs [o0, o1) whose element lies inside the input
        (not in the padding), and the input pixels they read (a strided slice of o1 - o0 pixels)."""
        s, first = self.stride, offset - self.lo  # output o reads input pixel o·s + first
        o0 = max(0, -(first // s))  # smallest o with o·s + first ≥ 0
        o1 = min(self.out, (self.size - 1 - first) // s + 1) if self.size - 1 - first >= 0 else 0
        o1 = max(o0, o1)
        start = o0 * s + first
        return o0, o1, slice(start, start + (o1 - o0 - 1) * s + 1 if o1 > o0 else start, s)

    def padded_slice(self, offset: int) -> slice:
        """Padded-input pixels that window element `offset` reads, one per output."""
        return slice(offset, offset + (self.out - 1) * self.stride + 1, self.stride)

    def window_counts(self) -> np.ndarray:
        """(out,) how many input (non-padding) pixels each window covers."""
        starts = np.arange(self.out) * self.stride - self.lo
        return np.minimum(starts + self.kernel, self.size) - np.maximum(starts, 0)


def axes(input_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], spec: PaddingSpec) -> tuple[Axis, Axis]:
    """The (rows, columns) geometry for an input of height × width."""
    return tuple(
        Axis(size, k, s, *padding_amounts(spec, size, k, s, a))
        for a, (size, k, s) in enumerate(zip(input_hw, kernel, stride))
    )


def check_fits(layer: str, rows: Axis, cols: Axis) -> None:
    """ShapeError when the kernel is larger than the padded input (no window fits: no output)."""
    from ..errors import ShapeError

    if rows.kernel > rows.padded or cols.kernel > cols.padded:
        raise ShapeError(
            f"{layer} kernel_size ({rows.kernel}, {cols.kernel}) is larger than its padded input "
            f"({rows.padded}, {cols.padded}) (input ({rows.size}, {cols.size}) plus padding "
            f"({rows.lo}+{rows.hi}, {cols.lo}+{cols.hi})), so it gives no output. Use a smaller kernel_size, "
            "more padding (e.g. padding=\"same\"), or fewer pooling layers before it."
        )


def image_shape(layer: str, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(channels, height, width) or ShapeError saying what was expected."""
    from ..errors import ShapeError

    if len(input_shape) != 3:
        why = (
            ": flat vectors (from Flatten, FFL or a 1-D input_shape) have no height and width. Put image "
            "layers before Flatten"
            if len(input_shape) == 1
            else ""
        )
        raise ShapeError(
            f"{layer} takes images of shape (channels, height, width), but receives {tuple(input_shape)}{why}. "
            "As the first layer, give input_shape=(channels, height, width) (or (height, width) for one channel)."
        )
    return input_shape  # type: ignore[return-value]


def image_input_shape(value: Any):
    """A declared input_shape for an image layer: (H, W) means one channel, (1, H, W)."""
    if value is None:
        return None
    from .base import as_shape

    shape = as_shape(value)
    return (1, *shape) if len(shape) == 2 else shape

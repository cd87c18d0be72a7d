"""Turn a drawing (e.g. from streamlit-drawable-canvas) into an MNIST-like 28x28 input.

Pure NumPy + Pillow.  The recipe is the one MNIST itself used: take the ink, crop it to its
bounding box, scale the longer side to 20 px keeping the aspect ratio (area-averaging
anti-aliasing; a too-thin pen is first widened to MNIST's stroke width), put it in a 28x28 field so that its intensity centre of mass sits at pixel
(14, 14), and finally apply :func:`nncore.datasets.scale`, the one canonical scaling used for
training, so the canvas input has exactly the training range and dtype (float32 in [0, 1]).

    from nncore.preprocess import canvas_to_mnist
    inp = canvas_to_mnist(canvas_result.image_data)   # (H, W, 4) uint8
    if not inp.empty:
        probs = model.predict(inp.vector[None])        # (1, 10)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from nncore.datasets import scale

__all__ = ["CanvasInput", "canvas_to_mnist", "INK_THRESHOLD"]

#: Ink (0-255 after polarity correction) below this is treated as noise: ignored for the
#: bounding box and erased.  About 10 % of full ink.
INK_THRESHOLD = 26
#: MNIST geometry: the longer side of the digit's box, the field, the centre of mass target.
_BOX = 20
_FIELD = 28
_CENTRE = 14.0

#: Strokes thinner than this (in 20-px-box pixels) are widened to _TARGET_WIDTH.  MNIST's
#: stroke widths measured the same way: 5th percentile 1.7, median 2.5, 95th percentile 3.6.
_MIN_WIDTH = 1.8
_TARGET_WIDTH = 2.2

_EMPTY_REASON = "Draw a digit"
_SPECK_REASON = "Only a dot or speck was drawn: draw a whole digit"


@dataclass(frozen=True, eq=False)
class CanvasInput:
    """A drawing ready for an MNIST model.

    ``image``: (28, 28) float32 in [0, 1], white ink on black, like ``scale``-d MNIST.
    ``vector``: (784,) float32, the same values flattened (``model.predict(vector[None])``).
    ``empty``: True when nothing digit-like was drawn (then both arrays are all zeros).
    ``reason``: why the input is empty ("" otherwise), fit to show to a user.
    Both arrays are read-only and share memory.
    """

    image: np.ndarray
    vector: np.ndarray
    empty: bool
    reason: str = ""


def _result(u8: np.ndarray, empty: bool, reason: str = "") -> CanvasInput:
    vector = scale(u8.reshape(1, _FIELD * _FIELD))[0]
    vector.setflags(write=False)
    image = vector.reshape(_FIELD, _FIELD)
    return CanvasInput(image=image, vector=vector, empty=empty, reason=reason)


def _empty(reason: str) -> CanvasInput:
    return _result(np.zeros((_FIELD, _FIELD), dtype=np.uint8), True, reason)


def _validate(rgba: object) -> np.ndarray:
    if not isinstance(rgba, np.ndarray):
        raise ValueError(
            f"canvas_to_mnist expects a NumPy array (H, W, 4), (H, W, 3) or (H, W) of uint8, "
            f"got {type(rgba).__name__}."
        )
    a = rgba
    if a.ndim not in (2, 3):
        raise ValueError(
            f"canvas_to_mnist expects an image of shape (H, W, 4), (H, W, 3) or (H, W), got {a.ndim} "
            f"dimension(s) with shape {a.shape}."
        )
    if a.ndim == 3 and a.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"canvas_to_mnist expects 4 (RGBA), 3 (RGB) or 1 (grey) channels in the last axis, "
            f"got {a.shape[2]} (shape {a.shape})."
        )
    if a.dtype != np.uint8:
        raise ValueError(
            f"canvas_to_mnist expects uint8 pixel values 0-255, got dtype {a.dtype} "
            "(convert with np.clip(x, 0, 255).astype(np.uint8))."
        )
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"canvas_to_mnist expects a non-empty image, got shape {a.shape}.")
    return a


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels of a ring about 2 % of the size wide around the image (at least 1 px)."""
    h, w = a.shape[:2]
    k = max(1, min(h, w) // 50)
    return np.concatenate(
        [a[:k].reshape(-1), a[-k:].reshape(-1), a[:, :k].reshape(-1), a[:, -k:].reshape(-1)]
    )


def _ink(a: np.ndarray) -> np.ndarray:
    """Ink per pixel, float32 0-255, bright = ink, whatever the input's polarity and alpha.

    Luminance is ITU-R 601 luma (as Pillow's "L"), computed exactly: white is 255.0 and a
    grey level g stays g, so an opaque and a transparent background give identical ink.
    """
    alpha = None
    if a.ndim == 2:
        lum = a.astype(np.float32)
    elif a.shape[2] == 1:
        lum = a[..., 0].astype(np.float32)
    else:
        rgb = a[..., :3].astype(np.float32)
        lum = (rgb @ np.array([299.0, 587.0, 114.0], dtype=np.float32)) / np.float32(1000.0)
        if a.shape[2] == 4:
            alpha = a[..., 3].astype(np.float32)

    if alpha is not None and np.median(_border(alpha)) < 127.5:
        # Transparent background: the strokes are the opaque pixels.  Their colour decides the
        # polarity (light strokes -> luminance, dark strokes -> 255 - luminance), times alpha.
        weight = float(alpha.sum())
        if weight == 0.0:
            return np.zeros(a.shape[:2], dtype=np.float32)
        stroke_lum = float((lum * alpha).sum()) / weight
        grey = lum if stroke_lum >= 127.5 else np.float32(255.0) - lum
        return grey * alpha / np.float32(255.0)
    grey = lum * alpha / np.float32(255.0) if alpha is not None else lum  # composite over black
    if np.median(_border(grey)) >= 127.5:  # light background: dark-on-light drawing
        grey = np.float32(255.0) - grey
    return grey

def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary (h, w) mask in its own pixels: 2 * area / perimeter.

    The perimeter is counted along pixel edges (Manhattan); the factor 4/pi corrects that on
    average over stroke directions, so a brush of width d gives about d.
    """
    area = float(np.count_nonzero(mask))
    edges = (
        np.count_nonzero(mask[1:] != mask[:-1])
        + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
        + np.count_nonzero(mask[0]) + np.count_nonzero(mask[-1])
        + np.count_nonzero(mask[:, 0]) + np.count_nonzero(mask[:, -1])
    )
    return (8.0 / np.pi) * area / max(edges, 1)


def _disk(radius: int) -> list[tuple[int, int]]:
    offsets = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius + radius * 0.5:
                offsets.append((dy, dx))
    return offsets


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float32 (h, w) image to ``size`` = (height, width): BOX (area average) when
    shrinking, LANCZOS when enlarging; negative ringing clipped."""
    h, w = img.shape
    nh, nw = size
    resample = Image.Resampling.BOX if nh <= h and nw <= w else Image.Resampling.LANCZOS
    out = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32), mode="F").resize((nw, nh), resample)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, None)


def _box_size(h: int, w: int, box: int) -> tuple[int, int]:
    if h >= w:
        return box, max(1, int(round(w * box / h)))
    return max(1, int(round(h * box / w))), box


def _fit_box(crop: np.ndarray) -> np.ndarray:
    """Scale a cropped ink image so its longer side is 20 px, keeping the aspect ratio."""
    return _resize(crop, _box_size(*crop.shape, _BOX))


def _thicken(crop: np.ndarray, width: float) -> np.ndarray:
    """Widen too-thin strokes (``width`` in 20-px-box pixels) to about MNIST's typical width.

    Works at an intermediate resolution (longer side 4 x 20 px): the strokes are binarised
    there and dilated with a disk, so the result is a clean, evenly thick stroke whose edges
    the final area-averaging shrink anti-aliases, as in MNIST.
    """
    factor = 4
    if max(crop.shape) != factor * _BOX:
        crop = _resize(crop, _box_size(*crop.shape, factor * _BOX))
    radius = int(round((_TARGET_WIDTH - width) * factor / 2))
    if radius < 1:
        return crop
    peak = float(crop.max())
    binary = crop >= 0.25 * peak
    padded = np.pad(binary, radius)
    grown = np.zeros_like(padded)
    ph, pw = padded.shape
    for dy, dx in _disk(radius):
        grown[max(dy, 0) : ph + min(dy, 0), max(dx, 0) : pw + min(dx, 0)] |= padded[
            max(-dy, 0) : ph + min(-dy, 0), max(-dx, 0) : pw + min(-dx, 0)
        ]
    return grown.astype(np.float32) * np.float32(255.0)


def canvas_to_mnist(rgba: np.ndarray) -> CanvasInput:
    """Preprocess a drawing into an MNIST-like input.

    ``rgba``: (H, W, 4), (H, W, 3) or (H, W) uint8: white (or any light) strokes on a black or
    transparent background, as streamlit-drawable-canvas returns, or dark strokes on a light
    background (detected from the border colour and inverted).

    Steps: ink = luminance (times alpha); faint noise below :data:`INK_THRESHOLD` dropped;
    crop to the ink's bounding box; strokes thinner than MNIST's (a fine pen: estimated width
    below 1.8 px at the 20 px scale) widened to about 2.2 px; longer side scaled to 20 px keeping
    the aspect ratio
    (Pillow BOX = area averaging when shrinking, LANCZOS when enlarging); placed in a 28x28
    field with the intensity centre of mass at (14, 14) (integer shift, box kept inside the
    field); brightest pixel stretched to 255 like MNIST strokes; rounded to uint8 and scaled by
    :func:`nncore.datasets.scale`.

    Returns a :class:`CanvasInput`; ``empty=True`` (zero image) for a blank canvas or a lone
    dot or speck.  Raises ``ValueError`` for a wrong shape, channel count or dtype.
    """
    a = _validate(rgba)
    ink = _ink(a)
    mask = ink >= INK_THRESHOLD
    if not mask.any():
        return _empty(_EMPTY_REASON)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    h, w = y1 - y0, x1 - x0
    longer, shorter = max(h, w), min(h, w)
    side = min(a.shape[0], a.shape[1])
    if longer < max(3, 0.06 * side):  # a speck (17 px on a 280 px canvas)
        return _empty(_SPECK_REASON)
    if longer <= 0.2 * side and shorter * 1.3 >= longer:
        fill = float(mask[y0:y1, x0:x1].mean())
        if fill >= 0.7:  # a small round blob (a disk fills pi/4 of its box): a dot, not a digit
            return _empty(_SPECK_REASON)

    crop_mask = mask[y0:y1, x0:x1]
    crop = np.where(crop_mask, ink[y0:y1, x0:x1], np.float32(0))
    width = _stroke_width(crop_mask) * _BOX / longer  # estimated stroke width in 20-px-box pixels
    if width < _MIN_WIDTH:
        crop = _thicken(crop, width)
    small = _fit_box(crop)
    nh, nw = small.shape
    total = float(small.sum())
    if total <= 0.0:
        return _empty(_EMPTY_REASON)

    # Put the intensity centre of mass at (14, 14), keeping the box inside the field.
    cy = float(small.sum(axis=1) @ np.arange(nh, dtype=np.float32)) / total
    cx = float(small.sum(axis=0) @ np.arange(nw, dtype=np.float32)) / total
    top = min(max(int(round(_CENTRE - cy)), 0), _FIELD - nh)
    left = min(max(int(round(_CENTRE - cx)), 0), _FIELD - nw)
    field = np.zeros((_FIELD, _FIELD), dtype=np.float32)
    field[top : top + nh, left : left + nw] = small

    field *= np.float32(255.0) / field.max()  # strongest ink at 255, like MNIST strokes
    u8 = np.clip(np.rint(field), 0, 255).astype(np.uint8)
    return _result(u8, False)

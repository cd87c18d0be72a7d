"""Data augmentation: random small affine changes of image batches while training.

``NN.train(x, y, augment=ImageAugment())`` calls ``augment(batch, model.rng)`` on every training
batch after the input transform, so the batch is a float array of images (n, C, H, W) or (n, H, W),
or flattened square images (n, H·W). Each sample gets its own shift, rotation and scale; the whole
batch is resampled at once (one affine grid per sample, bilinear interpolation by fancy indexing).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .registry import fraction, lookup, positive

#: rotations are drawn from [-rotate, rotate] degrees; beyond a half turn the range would repeat
MAX_ROTATE = 180.0


def _as_images(batch: np.ndarray) -> np.ndarray:
    """(n, C, H, W), (n, H, W) or (n, D) with D a perfect square → a (n, C, H, W) view."""
    if batch.ndim == 4:
        return batch
    if batch.ndim == 3:
        return batch[:, None]
    if batch.ndim == 2:
        side = math.isqrt(batch.shape[1])
        if side * side == batch.shape[1] and side > 0:
            return batch.reshape(len(batch), 1, side, side)
        raise ValueError(
            f"Image augmentation needs images; a flat batch must hold square images (n, H·W), but each sample "
            f"has {batch.shape[1]} values, which is not a square number."
        )
    raise ValueError(
        f"Image augmentation takes batches of images (n, C, H, W), (n, H, W) or flattened square images "
        f"(n, H·W); got shape {batch.shape}."
    )


def border_mean(images: np.ndarray) -> np.ndarray:
    """Mean of each image's outermost pixels (n, C, H, W) → (n, C): the background an image is padded with."""
    n, c = images.shape[:2]
    edges = np.concatenate(
        [images[:, :, 0, :], images[:, :, -1, :], images[:, :, :, 0], images[:, :, :, -1]], axis=2
    )
    return edges.mean(axis=2, dtype=np.float64).reshape(n, c)


def affine_warp(
    images: np.ndarray,
    shift_x: np.ndarray,
    shift_y: np.ndarray,
    angle: np.ndarray,
    scale: np.ndarray,
    fill: float | np.ndarray | None = None,
) -> np.ndarray:
    """Shift, rotate and scale every image about its centre, bilinear sampling.

    images: (n, C, H, W) floats; shift_x, shift_y (pixels, +x right, +y down), angle (degrees,
    counter-clockwise as displayed with row 0 on top), scale (> 1 enlarges): each (n,). Pixels that
    come from outside the image get `fill` (a number, or (n, C) values; None: each image's
    `border_mean`). Returns a new (n, C, H, W) array (float32 for integer images, else their dtype); every output pixel is a convex
    combination of input pixels and the fill, so values stay within their range.
    """
    n, c, h, w = images.shape
    work = images.dtype if images.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    fill_values = border_mean(images) if fill is None else np.broadcast_to(np.asarray(fill, dtype=np.float64), (n, c))
    fill_values = fill_values.astype(work)
    # inverse map: source = centre + R(-angle) (target - centre - shift) / scale
    theta = np.deg2rad(np.asarray(angle, dtype=np.float64))
    inv_scale = 1.0 / np.asarray(scale, dtype=np.float64)
    cos_t = (np.cos(theta) * inv_scale).astype(work)[:, None, None]
    sin_t = (np.sin(theta) * inv_scale).astype(work)[:, None, None]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys = np.arange(h, dtype=work)[None, :, None] - work.type(cy)
    xs = np.arange(w, dtype=work)[None, None, :] - work.type(cx)
    u = xs - np.asarray(shift_x, dtype=work)[:, None, None]  # (n, 1, W)
    v = ys - np.asarray(shift_y, dtype=work)[:, None, None]  # (n, H, 1)
    # y grows downwards, so a counter-clockwise turn on screen is clockwise in (x, y) coordinates
    src_x = cos_t * u - sin_t * v + work.type(cx)  # (n, H, W)
    src_y = sin_t * u + cos_t * v + work.type(cy)
    # pad with fill: one ring before row/column 0 and two after the last, so every corner of a source
    # point clipped to [-1, size] lands in the padded image (outside points then read only the fill)
    hp, wp = h + 3, w + 3
    padded = np.empty((n, c, hp, wp), dtype=work)
    padded[...] = fill_values[:, :, None, None]
    padded[:, :, 1 : h + 1, 1 : w + 1] = images
    np.clip(src_x, -1, w, out=src_x)
    np.clip(src_y, -1, h, out=src_y)
    x0 = np.floor(src_x)
    y0 = np.floor(src_y)
    wx = (src_x - x0).reshape(n, 1, h * w)
    wy = (src_y - y0).reshape(n, 1, h * w)
    # flat index in `padded` of each top-left corner, for every (sample, channel, output pixel)
    corner = (y0.astype(np.intp) + 1) * wp + (x0.astype(np.intp) + 1)
    corner = corner.reshape(n, 1, h * w) + (
        np.arange(n * c, dtype=np.intp).reshape(n, c, 1) * (hp * wp)
    )
    flat = padded.reshape(-1)
    # the other three corners are the same indices into the buffer shifted by 1, wp and wp + 1
    top = flat.take(corner)
    top += (flat[1:].take(corner) - top) * wx
    bottom = flat[wp:].take(corner)
    bottom += (flat[wp + 1 :].take(corner) - bottom) * wx
    out = top
    out += (bottom - top) * wy
    flat_images = images.reshape(n, c, h * w)
    # rounding of the weights may step a hair outside the inputs' range: clip to it
    low = np.minimum(flat_images.min(axis=2), fill_values)[:, :, None]
    high = np.maximum(flat_images.max(axis=2), fill_values)[:, :, None]
    np.clip(out, low, high, out=out)
    return out.reshape(n, c, h, w)


class ImageAugment:
    """Random shifts (up to `shift` pixels along each axis), rotations (up to `rotate` degrees
    either way) and scaling (by a factor in [1 − scale, 1 + scale]), drawn per sample.

    ``augment(batch, rng)`` returns a new batch of the same shape and dtype (the batch itself when
    all amounts are 0). `fill`: value for pixels shifted in from outside; None uses each image's
    border mean (0 for MNIST-like images). Deterministic for a given generator state.
    """

    name: ClassVar[str] = "image"

    def __init__(self, shift: float = 2.0, rotate: float = 10.0, scale: float = 0.1, fill: float | None = None):
        self.shift = positive("shift", shift, allow_zero=True)
        self.rotate = positive("rotate", rotate, allow_zero=True)
        if self.rotate > MAX_ROTATE:
            raise ValueError(f"rotate must be between 0 and {MAX_ROTATE:g} degrees; got {rotate!r}.")
        self.scale = fraction("scale", scale)
        if fill is not None:
            try:
                fill = float(fill)
            except (TypeError, ValueError):
                fill = math.nan
            if not math.isfinite(fill):
                raise ValueError(f"fill must be None (each image's border mean) or a finite number; got {fill!r}.")
        self.fill = fill

    @property
    def is_identity(self) -> bool:
        return self.shift == 0 and self.rotate == 0 and self.scale == 0

    def random_parameters(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Per-sample amounts {"shift_x", "shift_y", "angle", "scale"}, each (n,), from one draw of `rng`."""
        u = rng.uniform(-1.0, 1.0, size=(4, n))
        return {
            "shift_x": self.shift * u[0],
            "shift_y": self.shift * u[1],
            "angle": self.rotate * u[2],
            "scale": 1.0 + self.scale * u[3],
        }

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n, C, H, W), (n, H, W) or (n, H·W) → a randomly shifted/rotated/scaled batch, same shape and dtype."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator (e.g. model.rng); got {type(rng).__name__}.")
        batch = np.asarray(batch)
        if not (np.issubdtype(batch.dtype, np.floating) or np.issubdtype(batch.dtype, np.integer)):
            raise ValueError(f"Image augmentation needs a numeric batch; got dtype {batch.dtype}.")
        images = _as_images(batch)
        if self.is_identity or len(batch) == 0:
            return batch
        p = self.random_parameters(len(batch), rng)
        out = affine_warp(images, p["shift_x"], p["shift_y"], p["angle"], p["scale"], self.fill)
        if not np.issubdtype(batch.dtype, np.floating):
            out = np.rint(out)
        return out.astype(batch.dtype, copy=False).reshape(batch.shape)

    def get_config(self) -> dict[str, Any]:
        return {"shift": self.shift, "rotate": self.rotate, "scale": self.scale, "fill": self.fill}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ImageAugment":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"ImageAugment({args})"


AUGMENTS: dict[str, type[ImageAugment]] = {ImageAugment.name: ImageAugment}


def get(name: str, **kwargs: Any) -> ImageAugment:
    """An augmentation by name ("image") built with `kwargs`; ValueError lists the valid names."""
    cls = lookup("augmentation", name, AUGMENTS)
    return cls(**kwargs)

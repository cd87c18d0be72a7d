"""Tests for nncore.preprocess.canvas_to_mnist.

Synthetic drawings: MNIST test digits cropped to their ink, enlarged x5-x12 with Pillow (half
of them binarised like a solid brush), thickened (MaxFilter 3-9) or thinned (MinFilter 3) or
left alone, and pasted into a 280x280 black RGBA canvas (opaque black or transparent) at random
offsets, 20 % of them touching the canvas edges.  canvas_to_mnist must bring them back close to
the original 28x28 digit.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from nncore.datasets import load_mnist, scale
from nncore.preprocess import CanvasInput, canvas_to_mnist

S = 280  # canvas side, as in the app
N_SYNTH = 300

# Thresholds, from the measured values with margin (seed 0, 300 digits: mean correlation with
# the original 0.948, 10th percentile 0.850, minimum 0.66; the drawing's best match among the
# 300 originals is its own original 95.7 % of the time).  The brief asked for a mean > 0.8.
MEAN_CORR_MIN = 0.90
P10_CORR_MIN = 0.75
SELF_MATCH_MIN = 0.90


@pytest.fixture(scope="module")
def test_digits():
    _, (x_test, y_test) = load_mnist(verify=False)
    return x_test, y_test


def _crop(d: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(d)
    return d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def synth(
    digit: np.ndarray,
    rng: np.random.Generator,
    k: float | None = None,
    filt: str | None = None,
    binarise: bool | None = None,
    transparent: bool | None = None,
    edge: bool | None = None,
) -> np.ndarray:
    """A 280x280 RGBA drawing of an MNIST digit (white ink), see the module docstring."""
    c = _crop(digit)
    k = rng.uniform(5, 12) if k is None else k
    h, w = c.shape
    f = min(k, (S - 2) / max(h, w))  # x12 of a 20 px digit is 240 px: fits
    im = Image.fromarray(c).resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BICUBIC)
    if binarise if binarise is not None else rng.random() < 0.5:
        im = im.point(lambda v: 255 if v >= 128 else 0)
    filt = rng.choice(["none", "max", "min"]) if filt is None else filt
    if filt == "max":
        im = im.filter(ImageFilter.MaxFilter(int(rng.choice([3, 5, 7, 9]))))
    elif filt == "min":
        im = im.filter(ImageFilter.MinFilter(3))
    ink = np.asarray(im)
    nh, nw = ink.shape
    if edge if edge is not None else rng.random() < 0.2:
        oy, ox = int(rng.choice([0, S - nh])), int(rng.choice([0, S - nw]))
    else:
        oy, ox = int(rng.integers(0, S - nh + 1)), int(rng.integers(0, S - nw + 1))
    grey = np.zeros((S, S), np.uint8)
    grey[oy : oy + nh, ox : ox + nw] = ink
    return _rgba(grey, transparent if transparent is not None else bool(rng.random() < 0.5))


def _rgba(grey: np.ndarray, transparent: bool) -> np.ndarray:
    """White ink of level ``grey`` on a transparent (0,0,0,0) or opaque black background."""
    out = np.zeros(grey.shape + (4,), np.uint8)
    if transparent:
        out[..., :3] = 255 * (grey > 0)[..., None]
        out[..., 3] = grey
    else:
        out[..., :3] = grey[..., None]
        out[..., 3] = 255
    return out


def _centred(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float64)
    m = img.sum()
    r = np.arange(28)
    dy = int(round(14 - img.sum(axis=1) @ r / m))
    dx = int(round(14 - img.sum(axis=0) @ r / m))
    return np.roll(np.roll(img, dy, axis=0), dx, axis=1)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def _shift_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation over shifts of up to 1 px (integer centring can round either way)."""
    return max(
        _corr(np.roll(np.roll(a, dy, axis=0), dx, axis=1), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )


def _check_output(r: CanvasInput) -> None:
    assert isinstance(r, CanvasInput)
    assert r.image.shape == (28, 28) and r.image.dtype == np.float32
    assert r.vector.shape == (784,) and r.vector.dtype == np.float32
    assert r.vector[None].shape == (1, 784)
    np.testing.assert_array_equal(r.image.ravel(), r.vector)
    assert r.image.min() >= 0.0 and r.image.max() <= 1.0


# ---------------------------------------------------------------------------------------------
# Fidelity on synthetic drawings
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(test_digits):
    x, y = test_digits
    rng = np.random.default_rng(0)
    idx = rng.choice(len(x), N_SYNTH, replace=False)
    originals = x[idx]
    results = [canvas_to_mnist(synth(d, rng)) for d in originals]
    return originals, y[idx], results


def test_synthetic_drawings_resemble_their_originals(synthetic):
    originals, _, results = synthetic
    assert not any(r.empty for r in results)
    corrs = np.array([_corr(_centred(r.image), _centred(o)) for o, r in zip(originals, results)])
    assert corrs.mean() > MEAN_CORR_MIN, corrs.mean()
    assert np.percentile(corrs, 10) > P10_CORR_MIN, np.percentile(corrs, 10)


def test_synthetic_drawing_best_matches_its_own_original(synthetic):
    """Among the 300 originals, the processed drawing correlates best with its own one."""
    originals, _, results = synthetic
    a = scale(originals)
    b = np.stack([r.vector for r in results]).astype(np.float64)
    a = (a - a.mean(1, keepdims=True)) / np.linalg.norm(a - a.mean(1, keepdims=True), axis=1, keepdims=True)
    b = (b - b.mean(1, keepdims=True)) / np.linalg.norm(b - b.mean(1, keepdims=True), axis=1, keepdims=True)
    best = (b @ a.T).argmax(axis=1)
    assert (best == np.arange(len(b))).mean() >= SELF_MATCH_MIN


def test_output_is_mnist_like(synthetic):
    """Like MNIST: ink box with longer side 20, centre of mass at (14, 14), strokes at 255,
    values exactly the canonical scaling of uint8 grey levels."""
    _, _, results = synthetic
    r_ = np.arange(28)
    for r in results:
        _check_output(r)
        img = r.image
        rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20
        m = img.sum()
        assert abs(img.sum(axis=1) @ r_ / m - 14) <= 0.5 + 1e-4
        assert abs(img.sum(axis=0) @ r_ / m - 14) <= 0.5 + 1e-4
        assert img.max() == 1.0
        levels = np.rint(r.vector * 255).astype(np.uint8)
        np.testing.assert_array_equal(scale(levels[None])[0], r.vector)
    # Anti-aliased edges, as MNIST's: many grey levels between ink and background (MNIST: 54 %
    # of the inked pixels, these drawings: about 44 %; a nearest-neighbour shrink gives far fewer).
    ink = np.concatenate([r.vector[r.vector > 0] for r in results])
    assert ((ink > 0.05) & (ink < 0.95)).mean() > 0.3


def test_drawing_at_several_scales_gives_nearly_the_same_input(test_digits):
    x, _ = test_digits
    rng = np.random.default_rng(1)
    for d in x[:20]:
        outs = [canvas_to_mnist(synth(d, rng, k=k, filt="none", binarise=True, edge=False)).image for k in (5, 8, 12)]
        assert _shift_corr(outs[0], outs[2]) > 0.9
        assert _shift_corr(outs[1], outs[2]) > 0.9


# ---------------------------------------------------------------------------------------------
# Empty canvases and specks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((S, S, 4), np.uint8),  # transparent black, as the canvas starts
        np.dstack([np.zeros((S, S, 3), np.uint8), np.full((S, S), 255, np.uint8)]),  # opaque black
        np.full((S, S, 3), 255, np.uint8),  # blank white paper
        np.zeros((S, S), np.uint8),
    ],
    ids=["transparent", "opaque-black", "white-rgb", "grey"],
)
def test_empty_canvas(canvas):
    r = canvas_to_mnist(canvas)
    _check_output(r)
    assert r.empty and r.reason == "Draw a digit"
    assert not r.vector.any()


def _dot(radius: int, transparent: bool = True, centre=(140, 140), light_bg: bool = False) -> np.ndarray:
    bg = (255, 255, 255, 255) if light_bg else ((0, 0, 0, 0) if transparent else (0, 0, 0, 255))
    ink = (0, 0, 0, 255) if light_bg else (255, 255, 255, 255)
    im = Image.new("RGBA", (S, S), bg)
    cy, cx = centre
    ImageDraw.Draw(im).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=ink)
    return np.asarray(im)


@pytest.mark.parametrize("radius", [1, 4, 10, 15, 20])
@pytest.mark.parametrize("transparent", [True, False])
def test_single_dot_is_empty(radius, transparent):
    r = canvas_to_mnist(_dot(radius, transparent))
    _check_output(r)
    assert r.empty and "dot" in r.reason
    assert not r.vector.any()


def test_dot_on_white_paper_and_faint_noise_are_empty():
    assert canvas_to_mnist(_dot(10, light_bg=True)).empty
    noise = np.random.default_rng(0).integers(0, 20, size=(S, S), dtype=np.uint8)  # below the ink threshold
    assert canvas_to_mnist(noise).reason == "Draw a digit"


def test_a_real_stroke_is_not_a_speck():
    """A short vertical stroke of a 20 px brush (a "1") is a digit, not a dot."""
    im = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    ImageDraw.Draw(im).line((140, 60, 140, 220), fill=(255, 255, 255, 255), width=20)
    r = canvas_to_mnist(np.asarray(im))
    assert not r.empty and r.reason == ""
    rows, cols = np.flatnonzero(r.image.any(axis=1)), np.flatnonzero(r.image.any(axis=0))
    assert len(rows) == 20 and len(cols) <= 5  # tall and thin, like an MNIST "1"


# ---------------------------------------------------------------------------------------------
# Hard drawings: edges, tiny, thin, thick, dark on light
# ---------------------------------------------------------------------------------------------


def test_drawing_touching_all_edges(test_digits):
    x, _ = test_digits
    """Digits as tall as the canvas, against its left or right edge: they touch 3 edges."""
    for i, d in enumerate(x[:20]):
        c = _crop(d)
        h, w = c.shape
        f = S / max(h, w)
        big = np.asarray(Image.fromarray(c).resize((round(w * f), round(h * f)), Image.Resampling.NEAREST))
        grey = np.zeros((S, S), np.uint8)
        bh, bw = big.shape
        if i % 2:
            grey[:bh, S - bw :] = big
        else:
            grey[S - bh :, :bw] = big
        assert sum(bool(e.any()) for e in (grey[0], grey[-1], grey[:, 0], grey[:, -1])) >= 3
        r = canvas_to_mnist(_rgba(grey, transparent=bool(i % 3)))
        assert not r.empty
        assert _shift_corr(_centred(r.image), _centred(d)) > 0.85


def test_corner_and_edge_placements(test_digits):
    x, _ = test_digits
    rng = np.random.default_rng(2)
    corrs = []
    for d in x[:30]:
        r = canvas_to_mnist(synth(d, rng, k=10, filt="none", edge=True))
        assert not r.empty
        corrs.append(_corr(_centred(r.image), _centred(d)))
    assert np.mean(corrs) > 0.9


def test_tiny_drawings_survive(test_digits):
    x, _ = test_digits
    rng = np.random.default_rng(3)
    corrs = []
    for d in x[:30]:
        for k in (1.5, 2.0):  # a 30-40 px digit on a 280 px canvas
            r = canvas_to_mnist(synth(d, rng, k=k, filt="none", binarise=True))
            assert not r.empty
            corrs.append(_corr(_centred(r.image), _centred(d)))
    assert np.mean(corrs) > 0.85


def test_mnist_sized_input_is_nearly_unchanged(test_digits):
    """A 28x28 MNIST digit given as is comes back almost identical."""
    x, _ = test_digits
    corrs = [_corr(canvas_to_mnist(d).image, d) for d in x[:50]]
    assert np.mean(corrs) > 0.95


def _polyline_seven(width: int) -> np.ndarray:
    im = Image.new("L", (S, S), 0)
    ImageDraw.Draw(im).line([(70, 50), (210, 50), (120, 240)], fill=255, width=width, joint="curve")
    return np.asarray(im)


def test_thin_strokes_survive_and_are_widened():
    """A 2 px pen is 0.2 px after shrinking 10x: the strokes are widened to MNIST's width."""
    thin = canvas_to_mnist(_polyline_seven(2))
    normal = canvas_to_mnist(_polyline_seven(20))
    assert not thin.empty and not normal.empty
    assert _corr(thin.image, normal.image) > 0.85
    # MNIST digits have 100 "full pixels" of ink on average; a "7" about 80.  A 1-px line would be ~40.
    assert thin.vector.sum() > 0.6 * normal.vector.sum()
    assert (thin.image >= 0.9).sum() >= 20  # a solid core, not a faint grey trace


def test_thick_strokes(test_digits):
    x, _ = test_digits
    rng = np.random.default_rng(4)
    corrs = []
    for d in x[:30]:
        r = canvas_to_mnist(synth(d, rng, k=8, filt="max"))
        corrs.append(_corr(_centred(r.image), _centred(d)))
    assert np.mean(corrs) > 0.85


# ---------------------------------------------------------------------------------------------
# Colour handling: polarity, alpha, channel layouts
# ---------------------------------------------------------------------------------------------


def test_transparent_and_opaque_background_give_the_same_result(test_digits):
    x, _ = test_digits
    for i, d in enumerate(x[:20]):
        a = synth(d, np.random.default_rng(i), transparent=True)
        b = synth(d, np.random.default_rng(i), transparent=False)
        assert a[..., 3].min() == 0 and b[..., 3].min() == 255
        np.testing.assert_array_equal(canvas_to_mnist(a).vector, canvas_to_mnist(b).vector)


def test_dark_on_light_and_other_layouts_match_white_on_black(test_digits):
    x, _ = test_digits
    for i, d in enumerate(x[:20]):
        rgba = synth(d, np.random.default_rng(100 + i), transparent=False)
        grey = rgba[..., 0]
        ref = canvas_to_mnist(rgba).vector
        inverted = 255 - grey
        black_on_transparent = np.zeros_like(rgba)
        black_on_transparent[..., 3] = grey  # black ink, transparent background
        for variant in (
            grey,
            grey[..., None],
            np.dstack([grey] * 3),
            inverted,  # dark on light, grey
            np.dstack([inverted] * 3),  # dark on light, RGB
            np.dstack([inverted] * 3 + [np.full_like(grey, 255)]),  # dark on light, opaque RGBA
            black_on_transparent,
        ):
            np.testing.assert_array_equal(canvas_to_mnist(variant).vector, ref)


def test_coloured_ink_on_transparent_background():
    """A red stroke on a transparent canvas is ink, whatever its luminance."""
    grey = _polyline_seven(20)
    red = np.zeros((S, S, 4), np.uint8)
    red[..., 0] = 255 * (grey > 0)
    red[..., 3] = grey
    r = canvas_to_mnist(red)
    assert not r.empty
    assert _corr(r.image, canvas_to_mnist(grey).image) > 0.99


def test_non_square_and_large_canvases(test_digits):
    x, _ = test_digits
    d = _crop(x[0])
    grey = np.zeros((300, 600), np.uint8)
    big = np.asarray(Image.fromarray(d).resize((d.shape[1] * 12, d.shape[0] * 12), Image.Resampling.BICUBIC))
    grey[20 : 20 + big.shape[0], 400 : 400 + big.shape[1]] = big
    r = canvas_to_mnist(grey)
    assert not r.empty and _corr(_centred(r.image), _centred(x[0])) > 0.9


# ---------------------------------------------------------------------------------------------
# Validation, immutability, speed
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros(10, np.uint8), "got 1 dimension"),
        (np.zeros((2, 4, 4, 4), np.uint8), "got 4 dimension"),
        (np.zeros((4, 4, 2), np.uint8), "got 2 \\(shape \\(4, 4, 2\\)\\)"),
        (np.zeros((4, 4, 5), np.uint8), "got 5"),
        (np.zeros((4, 4, 4), np.float32), "uint8 pixel values 0-255, got dtype float32"),
        (np.zeros((4, 4), np.int64), "got dtype int64"),
        (np.zeros((0, 4, 4), np.uint8), "non-empty image"),
        ([[0, 1], [2, 3]], "NumPy array .* got list"),
    ],
)
def test_validation_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        canvas_to_mnist(bad)


def test_result_is_read_only_and_frozen(test_digits):
    x, _ = test_digits
    r = canvas_to_mnist(x[0])
    with pytest.raises(ValueError):
        r.vector[0] = 1.0
    with pytest.raises(AttributeError):
        r.empty = True  # type: ignore[misc]


def test_speed_280x280(test_digits):
    x, _ = test_digits
    rng = np.random.default_rng(5)
    canvases = [synth(d, rng) for d in x[:5]] + [_rgba(_polyline_seven(2), True)]
    times = []
    for canvas in canvases * 4:
        t = time.perf_counter()
        canvas_to_mnist(canvas)
        times.append(time.perf_counter() - t)
    assert np.median(times) < 0.020, f"median {np.median(times) * 1000:.1f} ms"

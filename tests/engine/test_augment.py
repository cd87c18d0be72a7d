"""nncore.augment: shapes, determinism, identity, geometry (shift, rotation, scale), value range, errors."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN
from nncore import augment as aug_mod
from nncore.augment import ImageAugment, affine_warp


def _blobs(n: int, size: int = 28, sigma: float = 2.0, seed: int = 0) -> np.ndarray:
    """(n, size, size) float32 Gaussian blobs near the centre (well inside the image)."""
    rng = np.random.default_rng(seed)
    centres = (size - 1) / 2 + rng.uniform(-2, 2, size=(n, 2))
    rows = np.arange(size)[None, :, None]
    cols = np.arange(size)[None, None, :]
    d2 = (rows - centres[:, 0, None, None]) ** 2 + (cols - centres[:, 1, None, None]) ** 2
    return np.exp(-d2 / (2 * sigma**2)).astype(np.float32)


def _centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(n, H, W) → (n, 2) (row, col) centres of mass."""
    rows = np.arange(images.shape[1])[None, :, None]
    cols = np.arange(images.shape[2])[None, None, :]
    mass = images.sum(axis=(1, 2))
    return np.stack([(images * rows).sum(axis=(1, 2)) / mass, (images * cols).sum(axis=(1, 2)) / mass], axis=1)


@pytest.mark.parametrize(
    "shape,dtype",
    [((6, 1, 28, 28), np.float32), ((6, 28, 28), np.float32), ((6, 784), np.float32), ((6, 784), np.float64),
     ((4, 3, 10, 12), np.float64), ((5, 64), np.uint8)],
)
def test_shape_and_dtype_are_kept(shape, dtype):
    rng = np.random.default_rng(0)
    x = (rng.random(shape) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    out = ImageAugment()(x, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not np.array_equal(out, x)  # it did change something


def test_input_is_not_modified():
    x = _blobs(8).reshape(8, 784)
    before = x.copy()
    ImageAugment(shift=3, rotate=20, scale=0.2)(x, np.random.default_rng(0))
    assert np.array_equal(x, before)


def test_deterministic_for_a_seed_and_different_for_another():
    x = _blobs(10)
    a = ImageAugment(shift=2, rotate=15, scale=0.1)
    first = a(x, np.random.default_rng(42))
    again = a(x, np.random.default_rng(42))
    other = a(x, np.random.default_rng(43))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_zero_amounts_are_the_identity():
    x = np.random.default_rng(0).random((7, 784)).astype(np.float32)
    assert np.array_equal(ImageAugment(shift=0, rotate=0, scale=0)(x, np.random.default_rng(0)), x)
    # the warp itself with identity parameters is exact too (not just the shortcut)
    imgs = np.random.default_rng(1).random((5, 3, 9, 11))
    ones, zeros = np.ones(5), np.zeros(5)
    assert np.array_equal(affine_warp(imgs, zeros, zeros, zeros, ones), imgs)


def test_integer_shift_moves_pixels_exactly():
    x = np.zeros((2, 1, 9, 9), np.float32)
    x[:, 0, 4, 4] = 1
    out = affine_warp(x, np.array([2.0, -3.0]), np.array([1.0, 2.0]), np.zeros(2), np.ones(2))
    assert np.argwhere(out[0, 0] == 1).tolist() == [[5, 6]]  # one down, two right
    assert np.argwhere(out[1, 0] == 1).tolist() == [[6, 1]]
    assert out.sum() == pytest.approx(2.0)


def test_random_shift_moves_the_centre_of_mass_by_that_many_pixels():
    x = _blobs(16)
    a = ImageAugment(shift=3.0, rotate=0.0, scale=0.0)
    out = a(x, np.random.default_rng(7))
    p = a.random_parameters(len(x), np.random.default_rng(7))  # the same draw
    assert np.abs(p["shift_x"]).max() > 1.5 and np.abs(p["shift_y"]).max() > 1.5  # real, fractional shifts
    moved = _centre_of_mass(out) - _centre_of_mass(x)
    np.testing.assert_allclose(moved[:, 1], p["shift_x"], atol=0.02)
    np.testing.assert_allclose(moved[:, 0], p["shift_y"], atol=0.02)
    # bilinear resampling keeps the mass of an image that stays inside the frame
    np.testing.assert_allclose(out.sum(axis=(1, 2)), x.sum(axis=(1, 2)), rtol=1e-4)


def test_rotation_turns_counter_clockwise_about_the_centre():
    x = np.zeros((1, 1, 9, 9), np.float32)
    x[0, 0, 4, 7] = 1  # three pixels right of the centre (4, 4)
    out = affine_warp(x, np.zeros(1), np.zeros(1), np.array([90.0]), np.ones(1))
    assert np.argwhere(out[0, 0] > 0.99).tolist() == [[1, 4]]  # now three pixels above it


def test_scale_enlarges_about_the_centre():
    x = np.zeros((1, 1, 11, 11), np.float32)
    x[0, 0, 5, 7] = 1  # two right of the centre (5, 5)
    out = affine_warp(x, np.zeros(1), np.zeros(1), np.zeros(1), np.array([2.0]))
    com = _centre_of_mass(out[:, 0])[0]
    assert com[0] == pytest.approx(5.0, abs=1e-6) and com[1] == pytest.approx(9.0, abs=1e-6)


def test_values_stay_within_the_input_range():
    rng = np.random.default_rng(3)
    x = (0.2 + 0.7 * rng.random((32, 1, 16, 16))).astype(np.float32)  # range [0.2, 0.9], no zeros
    out = ImageAugment(shift=4, rotate=30, scale=0.3)(x, np.random.default_rng(0))
    assert out.min() >= x.min() and out.max() <= x.max()
    # pixels shifted in from outside take the image's border (background), not 0
    assert out.min() > 0.19


def test_fill_value_is_used_for_pixels_from_outside():
    x = np.ones((1, 1, 5, 5))
    out = affine_warp(x, np.array([10.0]), np.zeros(1), np.zeros(1), np.ones(1), fill=0.25)
    assert np.all(out == 0.25)


@pytest.mark.parametrize(
    "kwargs,words",
    [({"shift": -1}, "shift"), ({"rotate": 270}, "rotate"), ({"scale": 1.0}, "scale"), ({"scale": -0.1}, "scale"),
     ({"fill": float("nan")}, "fill"), ({"shift": "a"}, "shift")],
)
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ImageAugment(**kwargs)


def test_bad_batches_are_explained():
    a = ImageAugment()
    with pytest.raises(ValueError, match="square"):
        a(np.zeros((3, 10), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        a(np.zeros((2, 1, 1, 4, 4), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError, match="Generator"):
        a(np.zeros((3, 16), np.float32), 0)


def test_config_round_trip_and_registry():
    a = ImageAugment(shift=1.5, rotate=5, scale=0.05, fill=0.0)
    b = ImageAugment.from_config(a.get_config())
    assert b.get_config() == a.get_config() == {"shift": 1.5, "rotate": 5.0, "scale": 0.05, "fill": 0.0}
    x = _blobs(4)
    assert np.array_equal(a(x, np.random.default_rng(0)), b(x, np.random.default_rng(0)))
    assert isinstance(aug_mod.get("image", shift=1), ImageAugment)
    with pytest.raises(ValueError, match="'image'"):
        aug_mod.get("mixup")


def test_train_applies_augmentation_to_each_batch():
    rng = np.random.default_rng(0)
    x = _blobs(64).reshape(64, 784)
    y = rng.integers(0, 2, 64)
    seen = []

    class Recording(ImageAugment):
        def __call__(self, batch, rng):
            out = super().__call__(batch, rng)
            seen.append((batch.shape, out.shape))
            return out

    def fresh():
        m = NN(seed=0)
        m.add(FFL(784, 8, activation="relu"))
        m.add(FFL(neurons=2, activation="softmax"))
        m.compile_model(lr=0.05, opt="sgd", loss="cse")
        return m

    plain, augmented = fresh(), fresh()
    before = x.copy()
    plain.train(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    augmented.train(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0, augment=Recording(shift=3))
    assert seen == [((16, 784), (16, 784))] * 4
    assert np.array_equal(x, before)
    assert not np.allclose(plain.get_weights()[0], augmented.get_weights()[0])

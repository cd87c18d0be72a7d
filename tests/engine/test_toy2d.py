"""Tests for the TensorFlow Playground 2-D datasets (nncore.datasets.toy2d) through datasets.get."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nncore import datasets, transforms
from nncore.datasets import toy2d

CLASSIFICATION = ["circle", "xor", "gauss", "spiral"]
REGRESSION = ["reg-plane", "reg-gauss"]
ALL = CLASSIFICATION + REGRESSION


def _all_points(ds: datasets.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Train + test points and labels together."""
    if ds.x_test is None:
        return ds.x, ds.y
    return np.concatenate([ds.x, ds.x_test]), np.concatenate([ds.y, ds.y_test])


# ---------------------------------------------------------------------------------------------
# Shapes, kinds, ranges
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_sets_shapes_and_metadata(name):
    ds = datasets.get(name)
    assert ds.name == name and ds.kind == "classification"
    assert ds.x.shape == (250, 2) and ds.x_test.shape == (250, 2)  # 500 points, half held out
    assert ds.x.dtype == np.float32
    assert ds.y.shape == (250,) and ds.y.dtype == np.int64 and set(np.unique(ds.y)) == {0, 1}
    assert ds.n_classes == 2 and ds.class_names == ("-1", "+1") and ds.n_outputs == 2
    assert ds.input_shape == (2,) and ds.feature_names == ("x1", "x2") and not ds.is_image
    assert ds.transform == transforms.Features2D(["x1", "x2"])
    assert "Smilkov" in ds.credit and "Apache" in ds.credit


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_sets_shapes_and_metadata(name):
    ds = datasets.get(name)
    assert ds.kind == "regression" and ds.n_classes == 0 and ds.class_names == ()
    assert ds.x.shape == (600, 2) and ds.x_test.shape == (600, 2)  # 1200 points like the Playground
    assert ds.y.shape == (600, 1) and ds.y.dtype == np.float32 and ds.n_outputs == 1
    assert np.all(np.abs(ds.y) <= 1.2 + 1e-6)  # (x1 + x2) / 10 or a bump height in [-1, 1]


@pytest.mark.parametrize("noise", [0, 25, 50])
@pytest.mark.parametrize("name", ALL)
def test_points_lie_in_the_square_and_are_finite(name, noise):
    x, y = _all_points(datasets.get(name, n_samples=2000, noise=noise, seed=4))
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    assert np.all(np.abs(x) <= 6.0)
    assert x.shape == (2000, 2)


def test_odd_sample_counts_are_exact_and_test_fraction_splits():
    ds = datasets.get("spiral", n_samples=101, test_fraction=0.3)
    assert len(ds.x) + len(ds.x_test) == 101 and len(ds.x_test) == 30
    x, y = _all_points(ds)
    assert np.bincount(y).tolist() == [50, 51]  # the first class (+1) gets the odd point
    ds = datasets.get("circle", n_samples=120, test_fraction=0.0)
    assert ds.x.shape == (120, 2) and ds.x_test is None and ds.y_test is None and ds.n_test == 0


def test_arrays_are_read_only():
    ds = datasets.get("xor")
    for arr in (ds.x, ds.y, ds.x_test, ds.y_test):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0


# ---------------------------------------------------------------------------------------------
# Determinism, noise
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_data_other_seed_other_data(name):
    a = datasets.get(name, noise=20, seed=7)
    b = datasets.get(name, noise=20, seed=7)
    c = datasets.get(name, noise=20, seed=8)
    for attr in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("name", ALL)
def test_noise_changes_the_data(name):
    clean = datasets.get(name, noise=0, seed=3)
    noisy = datasets.get(name, noise=40, seed=3)
    changed = not np.array_equal(clean.x, noisy.x) or not np.array_equal(clean.y, noisy.y)
    assert changed


def test_generation_leaves_the_global_rng_alone():
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    datasets.get("gauss", noise=50, seed=1)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_params_rebuild_the_same_dataset():
    ds = datasets.get("reg-gauss", n_samples=300, noise=15, seed=9, test_fraction=0.2, features=["x1", "sin(x2)"])
    assert dict(ds.params) == {
        "n_samples": 300, "noise": 15.0, "seed": 9, "test_fraction": 0.2, "features": ["x1", "sin(x2)"],
    }
    again = datasets.get("reg-gauss", **ds.params)
    np.testing.assert_array_equal(again.x, ds.x)
    np.testing.assert_array_equal(again.y_test, ds.y_test)


# ---------------------------------------------------------------------------------------------
# Faithfulness to the Playground's generators (src/dataset.ts)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral"])
def test_two_class_sets_are_balanced_without_noise(name):
    _, y = _all_points(datasets.get(name, n_samples=500, noise=0, seed=2))
    assert np.bincount(y).tolist() == [250, 250]


def test_xor_is_roughly_balanced():
    _, y = _all_points(datasets.get("xor", n_samples=4000, noise=0, seed=2))
    assert 0.45 < y.mean() < 0.55


def test_circle_rule_without_noise():
    x, y = _all_points(datasets.get("circle", n_samples=1000, noise=0, seed=1))
    r = np.hypot(x[:, 0].astype(np.float64), x[:, 1].astype(np.float64))
    np.testing.assert_array_equal(y, (r < 2.5).astype(np.int64))
    assert np.all((r < 2.5 + 1e-5) | ((r > 3.5 - 1e-5) & (r <= 5 + 1e-5)))  # disc and ring, a gap between


def test_xor_rule_and_padding_without_noise():
    x, y = _all_points(datasets.get("xor", n_samples=1000, noise=0, seed=1))
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    assert np.all(np.abs(x) >= 0.3 - 1e-6) and np.all(np.abs(x) <= 5.3 + 1e-5)


def test_xor_noise_flips_some_labels_but_not_positions():
    clean = datasets.get("xor", n_samples=1000, noise=0, seed=6)
    noisy = datasets.get("xor", n_samples=1000, noise=50, seed=6)
    np.testing.assert_array_equal(clean.x, noisy.x)
    flipped = np.mean(clean.y != noisy.y)
    assert 0.05 < flipped < 0.5


def test_spiral_without_noise_matches_the_playground_loop():
    """A literal port of classifySpiralData with noise 0 (no randomness left)."""
    n = 200
    reference = []
    for delta_t, label in ((0.0, 1), (math.pi, 0)):
        for i in range(n // 2):
            r = i / (n // 2) * 5
            t = 1.75 * i / (n // 2) * 2 * math.pi + delta_t
            reference.append((r * math.sin(t), r * math.cos(t), label))
    x, y = _all_points(datasets.get("spiral", n_samples=n, noise=0, seed=0))
    got = sorted(zip(x[:, 0].tolist(), x[:, 1].tolist(), y.tolist()))
    want = sorted((np.float32(a).item(), np.float32(b).item(), c) for a, b, c in reference)
    assert got == want


def test_gauss_variance_follows_the_noise_scale():
    for noise, variance in ((0, 0.5), (20, 0.5 + 7 * 0.2)):
        x, y = _all_points(datasets.get("gauss", n_samples=20000, noise=noise, seed=3))
        positive = x[y == 1].astype(np.float64)
        np.testing.assert_allclose(positive.mean(axis=0), [2.0, 2.0], atol=0.05)
        np.testing.assert_allclose(positive.var(axis=0), [variance, variance], rtol=0.05)
        negative = x[y == 0].astype(np.float64)
        np.testing.assert_allclose(negative.mean(axis=0), [-2.0, -2.0], atol=0.05)


def test_reg_plane_target_without_noise():
    x, y = _all_points(datasets.get("reg-plane", noise=0, seed=2))
    np.testing.assert_allclose(y[:, 0], (x[:, 0].astype(np.float64) + x[:, 1]) / 10, atol=1e-6)


def _reg_gauss_label(px: float, py: float) -> float:
    """A literal port of regressGaussian's getLabel."""
    gaussians = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    label = 0.0
    for cx, cy, sign in gaussians:
        d = math.sqrt((px - cx) ** 2 + (py - cy) ** 2)
        new_label = sign * min(1.0, max(0.0, 1 - d / 2))
        if abs(new_label) > abs(label):
            label = new_label
    return label


def test_reg_gauss_target_without_noise_matches_the_playground_rule():
    raw_x, raw_y = toy2d.generate("reg-gauss", 500, noise=0, seed=4)
    expected = [_reg_gauss_label(a, b) for a, b in raw_x.tolist()]
    np.testing.assert_allclose(raw_y, expected, rtol=0, atol=1e-12)
    assert np.any(raw_y > 0.5) and np.any(raw_y < -0.5) and np.any(raw_y == 0)
    ds = datasets.get("reg-gauss", n_samples=500, noise=0, seed=4, test_fraction=0)
    assert sorted(ds.y[:, 0].tolist()) == sorted(np.float32(raw_y).tolist())  # same data, shuffled


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------


def test_features_param_sets_transform_and_input_shape():
    ds = datasets.get("circle", features=["x1", "x2", "x1^2", "x2^2", "sin(x1)"])
    assert ds.input_shape == (5,) and ds.feature_names == ("x1", "x2", "x1^2", "x2^2", "sin(x1)")
    out = ds.transform(ds.x)
    assert out.shape == (250, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 2], ds.x[:, 0].astype(np.float64) ** 2, rtol=1e-6)
    np.testing.assert_allclose(out[:, 4], np.sin(ds.x[:, 0].astype(np.float64)), rtol=1e-6)
    plain = datasets.get("circle")
    np.testing.assert_array_equal(plain.transform(plain.x), plain.x)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"noise": 51}, r"noise must be a number in \[0, 50\]; got 51"),
        ({"noise": -1}, r"noise must be a number in \[0, 50\]; got -1"),
        ({"noise": float("nan")}, r"noise must be a number in \[0, 50\]; got nan"),
        ({"noise": "low"}, r"noise must be a number in \[0, 50\]; got 'low'"),
        ({"n_samples": 5}, r"n_samples must be an integer from 10 to 100000; got 5"),
        ({"n_samples": 10**6}, r"n_samples must be an integer from 10 to 100000; got 1000000"),
        ({"n_samples": 100.0}, r"n_samples must be an integer from 10 to 100000; got 100.0"),
        ({"n_samples": True}, r"n_samples must be an integer from 10 to 100000; got True"),
        ({"seed": -1}, r"seed must be an integer >= 0; got -1"),
        ({"seed": 1.5}, r"seed must be an integer >= 0; got 1.5"),
        ({"test_fraction": 1.0}, r"test_fraction must be a number in \[0, 1\); got 1.0"),
        ({"test_fraction": -0.1}, r"test_fraction must be a number in \[0, 1\); got -0.1"),
        ({"features": ["x1", "cos(x1)"]}, r"unknown feature 'cos\(x1\)' in features; valid features are: 'x1'"),
        ({"features": []}, r"features must name at least one feature"),
        ({"colour": "red"}, r"Dataset 'spiral' has no parameter 'colour'; its parameters are: n_samples, noise, seed, test_fraction, features"),
    ],
)
def test_bad_parameters_are_named_with_range_and_value(params, message):
    with pytest.raises(ValueError, match=message):
        datasets.get("spiral", **params)


def test_test_fraction_leaving_no_training_points():
    with pytest.raises(ValueError, match=r"test_fraction=0.99 of 10 points leaves no training points"):
        datasets.get("xor", n_samples=10, test_fraction=0.99)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown dataset 'moons'. Valid datasets are: 'mnist', 'circle', 'xor', 'gauss', 'spiral', 'reg-plane', 'reg-gauss'"):
        datasets.get("moons")
    with pytest.raises(ValueError, match=r"Unknown Playground dataset 'moons'. Valid names are: 'circle'"):
        toy2d.generate("moons", 100)

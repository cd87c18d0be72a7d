"""Tests for nncore.transforms: values, shapes, float32 output, errors, and the config round trip."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nncore import transforms
from nncore.datasets import scale
from nncore.transforms import TRANSFORMS, Chain, Features2D, Rescale, Reshape, Standardize, Transform


def _round_trip(t: Transform) -> Transform:
    """Through JSON text, as a model file would store it."""
    return transforms.from_config(json.loads(json.dumps(transforms.get_config(t))))


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ---------------------------------------------------------------------------------------------
# Rescale
# ---------------------------------------------------------------------------------------------


def test_rescale_uint8_gives_exactly_the_canonical_scaling():
    every_byte = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = Rescale(1 / 255)(every_byte)
    assert out.dtype == np.float32 and out.shape == (16, 16)
    assert _bits_equal(out, scale(every_byte, flatten=False))
    assert out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "float32", "float64", "uint16"])
@pytest.mark.parametrize("offset", [0.0, -0.5])
@pytest.mark.parametrize("divisor", [255, 7, 1000])
def test_rescale_fast_and_float64_paths_agree_bit_for_bit(dtype, offset, divisor):
    values = np.arange(256).reshape(4, 64)
    t = Rescale(1 / divisor, offset=offset)
    assert (t._divisor is not None) == (offset == 0.0)  # the fast path exists only without offset
    reference = (values.astype(np.float64) * (1 / divisor) + offset).astype(np.float32)
    assert _bits_equal(t(values.astype(np.uint8)), reference)
    assert _bits_equal(t(values.astype(dtype)), reference)


def test_rescale_int8_and_bool():
    t = Rescale(0.5, offset=1.0)
    signed = np.arange(-128, 128, dtype=np.int8).reshape(2, 128)
    np.testing.assert_array_equal(t(signed), (signed.astype(np.float64) * 0.5 + 1.0).astype(np.float32))
    np.testing.assert_array_equal(t(np.array([[True, False]])), [[1.5, 1.0]])
    assert _bits_equal(Rescale(0.5)(signed), (signed / 2).astype(np.float32))


def test_rescale_values_shape_and_input_untouched():
    x = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    before = x.copy()
    out = Rescale(2.0, offset=-1.0)(x)
    np.testing.assert_array_equal(out, [[-1.0, 0.0, 1.0]])
    assert out.dtype == np.float32 and not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, before)
    assert Rescale(3.0).output_shape((5, 4)) == (5, 4)


def test_rescale_chunks_give_the_same_result(monkeypatch):
    x = np.random.default_rng(0).normal(size=(37, 11)) * 300
    whole = Rescale(1 / 7, 0.25)(x)
    monkeypatch.setattr(transforms, "_CHUNK_ELEMENTS", 10)
    assert _bits_equal(Rescale(1 / 7, 0.25)(x), whole)


@pytest.mark.parametrize("bad", ["a", float("nan"), float("inf"), None, True, [1.0]])
def test_rescale_rejects_bad_scale(bad):
    with pytest.raises(ValueError, match=r"Rescale: scale must be a finite number; got"):
        Rescale(bad)
    with pytest.raises(ValueError, match=r"Rescale: offset must be a finite number"):
        Rescale(1.0, offset=bad)


# ---------------------------------------------------------------------------------------------
# Standardize
# ---------------------------------------------------------------------------------------------


def test_standardize_per_feature_in_float64_then_float32():
    rng = np.random.default_rng(1)
    x = rng.normal(1000.0, 3.0, size=(50, 3))
    mean, std = x.mean(axis=0), x.std(axis=0)
    out = Standardize(mean.tolist(), std.tolist())(x)
    assert out.dtype == np.float32 and out.shape == (50, 3)
    assert _bits_equal(out, ((x - mean) / std).astype(np.float32))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-5)


def test_standardize_zero_std_becomes_one():
    t = Standardize([1.0, 2.0], [0.0, 2.0])
    assert t.get_config() == {"mean": [1.0, 2.0], "std": [1.0, 2.0]}
    np.testing.assert_array_equal(t(np.array([[1.0, 2.0], [3.0, 6.0]])), [[0.0, 0.0], [2.0, 2.0]])


def test_standardize_scalar_and_image_statistics():
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = Standardize(10.0, 2.0)(images)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, ((images - 10.0) / 2.0).astype(np.float32))
    assert Standardize(10.0, 2.0).get_config() == {"mean": 10.0, "std": 2.0}
    assert Standardize([[0.0] * 4] * 3, 1.0).output_shape((3, 4)) == (3, 4)


def test_standardize_chunks_give_the_same_result(monkeypatch):
    x = np.random.default_rng(2).normal(size=(41, 5))
    t = Standardize(x.mean(axis=0).tolist(), x.std(axis=0).tolist())
    whole = t(x)
    monkeypatch.setattr(transforms, "_CHUNK_ELEMENTS", 7)
    assert _bits_equal(t(x), whole)


def test_standardize_errors():
    with pytest.raises(ValueError, match=r"std must be >= 0 .* element 1 is -2.0"):
        Standardize([0.0, 0.0], [1.0, -2.0])
    with pytest.raises(ValueError, match=r"Standardize: mean must hold finite numbers; element 0 is nan"):
        Standardize([float("nan")], [1.0])
    with pytest.raises(ValueError, match=r"Standardize: std must be a number or a \(nested\) list"):
        Standardize([0.0], ["x"])
    with pytest.raises(ValueError, match=r"mean and std must have the same shape; got \(2,\) and \(3,\)"):
        Standardize([0.0, 0.0], [1.0, 1.0, 1.0])
    t = Standardize([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"shape \(3,\) do not fit samples of shape \(4,\)"):
        t(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"do not fit samples of shape \(2,\)"):
        t.output_shape((2,))


# ---------------------------------------------------------------------------------------------
# Features2D
# ---------------------------------------------------------------------------------------------


def test_features2d_all_playground_features_in_order():
    points = np.array([[1.0, 2.0], [-0.5, 3.0], [0.0, -6.0]], dtype=np.float32)
    names = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    assert list(transforms.FEATURES_2D) == names
    out = Features2D(names)(points)
    a, b = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    expected = np.stack([a, b, a * a, b * b, a * b, np.sin(a), np.sin(b)], axis=1).astype(np.float32)
    assert _bits_equal(out, expected)
    picked = Features2D(["sin(x2)", "x1"])(points)
    np.testing.assert_array_equal(picked, expected[:, [6, 0]])
    assert Features2D(["sin(x2)", "x1"]).output_shape((2,)) == (2,)
    assert Features2D().features == ("x1", "x2")


def test_features2d_errors():
    with pytest.raises(ValueError, match=r"unknown feature 'x3' in features; valid features are: 'x1', 'x2', 'x1\^2'"):
        Features2D(["x1", "x3"])
    with pytest.raises(ValueError, match="at least one feature"):
        Features2D([])
    with pytest.raises(ValueError, match="'x1' appears more than once"):
        Features2D(["x1", "x2", "x1"])
    with pytest.raises(ValueError, match="features must be a list of feature names"):
        Features2D("x1")
    with pytest.raises(ValueError, match=r"expected 2-D points of shape \(n, 2\) .* got shape \(4, 3\)"):
        Features2D()(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expected input_shape \(2,\)"):
        Features2D().output_shape((3,))


# ---------------------------------------------------------------------------------------------
# Reshape, Chain
# ---------------------------------------------------------------------------------------------


def test_reshape_adds_a_channel_axis_and_casts():
    x = np.arange(40, dtype=np.uint8).reshape(2, 5, 4)
    t = Reshape((1, 5, 4))
    out = t(x)
    assert out.shape == (2, 1, 5, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.reshape(2, 5, 4), x)
    assert t.output_shape((5, 4)) == (1, 5, 4)
    assert Reshape([20]).output_shape((5, 4)) == (20,)
    with pytest.raises(ValueError, match=r"cannot reshape samples of shape \(3,\) \(3 values\) to target_shape \(1, 5, 4\)"):
        t(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="target_shape must be a non-empty list of positive integers"):
        Reshape([0, 3])
    with pytest.raises(ValueError, match="target_shape must be"):
        Reshape(5)


def test_chain_applies_in_order_and_composes_shapes():
    x = np.arange(40, dtype=np.uint8).reshape(2, 5, 4)
    t = Chain([Rescale(1 / 255), Reshape((1, 5, 4))])
    assert _bits_equal(t(x), scale(x, flatten=False).reshape(2, 1, 5, 4))
    assert t.output_shape((5, 4)) == (1, 5, 4)
    with pytest.raises(ValueError, match="cannot reshape"):
        t.output_shape((4, 4))
    batch = x.astype(np.float32)
    out = Chain([Reshape((20,))])(batch)
    assert not np.shares_memory(out, batch)  # a Chain's result never aliases its input
    identity = Chain([])
    out = identity(x)
    assert out.dtype == np.float32 and not np.shares_memory(out, x)
    np.testing.assert_array_equal(out, x)
    assert identity.output_shape((5, 4)) == (5, 4)
    nested = Chain([Chain([Rescale(2.0)]), Rescale(0.5, offset=1.0)])
    np.testing.assert_array_equal(nested(np.array([[1.0, 3.0]])), [[2.0, 4.0]])


def test_chain_errors():
    with pytest.raises(ValueError, match=r"Chain: transforms\[1\] must be a Transform"):
        Chain([Rescale(1.0), 3])
    with pytest.raises(ValueError, match="transforms must be a list of transforms"):
        Chain(Rescale(1.0))


def test_non_numeric_input_is_refused():
    for t in (Rescale(1.0), Standardize(0.0, 1.0), Features2D(), Reshape([2]), Chain([])):
        with pytest.raises(ValueError, match="expected a numeric array, got dtype <U1"):
            t(np.array([["a", "b"]]))


# ---------------------------------------------------------------------------------------------
# Config round trip and registry
# ---------------------------------------------------------------------------------------------

_SAMPLES = {
    "Rescale": (Rescale(1 / 255, offset=0.1), np.random.default_rng(3).integers(0, 256, (9, 6, 5), dtype=np.uint8)),
    "Rescale-float": (Rescale(0.1 / 3, offset=-1e-7), np.random.default_rng(4).normal(size=(9, 7))),
    "Standardize": (
        Standardize(np.random.default_rng(5).normal(size=4).tolist(), (np.random.default_rng(6).random(4) * 3).tolist()),
        np.random.default_rng(7).normal(size=(13, 4)) * 100,
    ),
    "Features2D": (Features2D(["x1*x2", "sin(x1)", "x2^2"]), np.random.default_rng(8).uniform(-6, 6, (17, 2))),
    "Reshape": (Reshape([2, 15]), np.random.default_rng(9).normal(size=(3, 6, 5))),
    "Chain": (
        Chain([Rescale(1 / 255), Standardize(0.1307, 0.3081), Reshape([1, 6, 5])]),
        np.random.default_rng(10).integers(0, 256, (8, 6, 5), dtype=np.uint8),
    ),
}


@pytest.mark.parametrize("key", list(_SAMPLES))
def test_config_round_trip_is_exact(key):
    t, x = _SAMPLES[key]
    copy = _round_trip(t)
    assert type(copy) is type(t) and copy == t
    assert transforms.get_config(copy) == transforms.get_config(t)
    assert _bits_equal(copy(x), t(x))
    assert copy.output_shape(x.shape[1:]) == t.output_shape(x.shape[1:]) == t(x).shape[1:]
    json.dumps(transforms.get_config(t), allow_nan=False)  # plain JSON: lists, floats, strings


def test_every_transform_class_is_registered_by_name():
    assert {"Rescale", "Standardize", "Features2D", "Reshape", "Chain"} <= set(TRANSFORMS)
    assert all(TRANSFORMS[name].__name__ == name for name in TRANSFORMS)

    class Negate(Transform):
        def __call__(self, x):
            return -np.asarray(x, dtype=np.float32)

        def output_shape(self, input_shape):
            return tuple(input_shape)

        def get_config(self):
            return {}

    try:
        assert TRANSFORMS["Negate"] is Negate
        t = transforms.from_config({"type": "Negate", "config": {}})
        np.testing.assert_array_equal(t(np.array([[1.0]])), [[-1.0]])
    finally:
        del TRANSFORMS["Negate"]


def test_get_config_shape():
    assert transforms.get_config(Rescale(0.5)) == {"type": "Rescale", "config": {"scale": 0.5, "offset": 0.0}}
    assert transforms.get_config(Chain([Features2D()])) == {
        "type": "Chain",
        "config": {"transforms": [{"type": "Features2D", "config": {"features": ["x1", "x2"]}}]},
    }
    with pytest.raises(ValueError, match="get_config expects an nncore.transforms.Transform; got dict"):
        transforms.get_config({})


@pytest.mark.parametrize(
    "data, message",
    [
        ([], r"must be a dict with fields 'type' and 'config'; got list"),
        ({"config": {}}, r"missing the field 'type'"),
        ({"type": "Blur", "config": {}}, r"Unknown transform type 'Blur' in field 'type'. Valid types are: 'Rescale'"),
        ({"type": "Rescale", "config": {"scale": 1.0}, "extra": 1}, r"unknown field 'extra'; valid fields are: type, config"),
        ({"type": "Rescale", "config": [1.0]}, r"field 'config' of a Rescale transform must be a dict; got list"),
        ({"type": "Rescale", "config": {"scale": 1.0, "shift": 2}}, r"Rescale config has an unknown field 'shift'; valid fields are: scale, offset"),
        ({"type": "Standardize", "config": {"mean": [0.0]}}, r"Standardize config is missing the field 'std'"),
        ({"type": "Rescale", "config": {"scale": "big"}}, r"Rescale: scale must be a finite number; got 'big'"),
        ({"type": "Features2D", "config": {"features": ["x9"]}}, r"unknown feature 'x9'"),
        (
            {"type": "Chain", "config": {"transforms": [{"type": "Rescale", "config": {}}]}},
            r"Chain: transforms\[0\]: Rescale config is missing the field 'scale'",
        ),
    ],
)
def test_from_config_errors_name_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        transforms.from_config(data)


def test_get_accepts_instances_dicts_names_and_none():
    r = Rescale(0.5)
    assert transforms.get(r) is r
    assert transforms.get({"type": "Rescale", "config": {"scale": 0.5}}) == r
    assert transforms.get("Features2D") == Features2D(["x1", "x2"])
    assert transforms.get(None) == Chain([])
    with pytest.raises(ValueError, match="Transform 'Rescale' needs arguments"):
        transforms.get("Rescale")
    with pytest.raises(ValueError, match="Unknown transform 'blur'. Valid transforms are: 'Rescale'"):
        transforms.get("blur")


def test_equality_and_repr():
    assert Rescale(0.5) == Rescale(0.5, 0.0) and Rescale(0.5) != Rescale(0.25)
    assert Rescale(0.5) != Standardize(0.5, 1.0)
    assert repr(Chain([Rescale(0.5)])) == "Chain([Rescale(scale=0.5, offset=0.0)])"

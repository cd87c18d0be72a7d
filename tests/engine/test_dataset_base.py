"""Tests for the Dataset record, the datasets.get registry and the MNIST Dataset."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nncore import datasets, transforms
from nncore.datasets import Dataset

PACKAGE = Path(datasets.__file__).resolve().parent


def _points(n: int = 6) -> np.ndarray:
    return np.arange(2 * n, dtype=np.float32).reshape(n, 2)


def _dataset(**overrides) -> Dataset:
    fields = dict(
        name="t",
        x=_points(),
        y=np.array([0, 1, 0, 1, 1, 0]),
        kind="classification",
        input_shape=(2,),
        n_classes=2,
        class_names=["a", "b"],
        transform=transforms.Features2D(),
    )
    fields.update(overrides)
    return Dataset(**fields)


# ---------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------


def test_dataset_holds_read_only_views_and_normalises_fields():
    x = _points()
    ds = _dataset(x=x, y=np.array([0, 1, 0, 1, 1, 0], dtype=np.uint8), feature_names=["x1", "x2"], params={"k": 1})
    assert not ds.x.flags.writeable and not ds.y.flags.writeable
    assert x.flags.writeable  # the caller's array keeps its flags
    assert np.shares_memory(ds.x, x)  # no copy
    assert ds.y.dtype == np.int64
    assert ds.class_names == ("a", "b") and ds.feature_names == ("x1", "x2")
    with pytest.raises(TypeError):
        ds.params["k"] = 2  # read-only mapping
    with pytest.raises(AttributeError):
        ds.name = "other"  # frozen
    assert ds.n_samples == 6 and ds.n_test == 0 and ds.n_outputs == 2 and ds.is_classification and not ds.is_image


def test_regression_targets_become_float32_columns():
    ds = _dataset(kind="regression", n_classes=0, class_names=(), y=np.linspace(-1, 1, 6))
    assert ds.y.shape == (6, 1) and ds.y.dtype == np.float32 and ds.n_outputs == 1
    two = _dataset(kind="regression", n_classes=0, class_names=(), y=np.zeros((6, 2)))
    assert two.n_outputs == 2


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"kind": "ranking"}, r"kind must be one of 'classification', 'regression'; got 'ranking'"),
        ({"transform": "Features2D"}, r"transform must be an nncore.transforms.Transform; got str"),
        ({"y": np.array([0, 1, 2, 1, 1, 0])}, r"y holds class ids from 0 to 2; expected 0 <= id < 2"),
        ({"y": np.array([0, 1, 0])}, r"x and y must hold the same number of samples; got 6 and 3"),
        ({"y": np.zeros(6)}, r"y must hold integer class ids of shape \(n,\); got float64"),
        ({"class_names": ["a"]}, r"class_names must hold one name per class \(2\); got 1"),
        ({"n_classes": 1, "class_names": ["a"]}, r"needs n_classes >= 2; got 1"),
        ({"input_shape": (3,)}, r"input_shape \(3,\) does not match what the transform makes of a sample of shape \(2,\): \(2,\)"),
        ({"x_test": _points(2)}, r"x_test and y_test must be given together"),
        ({"x_test": np.zeros((2, 3)), "y_test": np.array([0, 1])}, r"x_test samples must have x's sample shape \(2,\); got \(3,\)"),
        ({"feature_names": ["only one"]}, r"feature_names must name each of the \(2,\) model inputs; got 1"),
        ({"x": np.array([["a", "b"]] * 6)}, r"x must be a numeric array"),
        (
            {"kind": "regression", "n_classes": 0, "class_names": (), "y": np.array([0.0, np.nan, 0, 0, 0, 0])},
            r"y holds non-finite targets",
        ),
    ],
)
def test_dataset_validation_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        _dataset(**overrides)


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def test_registry_names_kinds_and_defaults():
    assert datasets.names() == ["mnist", "circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss"]
    assert {name: spec.kind for name, spec in datasets.DATASETS.items()} == {
        "mnist": "classification", "circle": "classification", "xor": "classification",
        "gauss": "classification", "spiral": "classification", "reg-plane": "regression", "reg-gauss": "regression",
    }
    assert dict(datasets.DATASETS["mnist"].defaults) == {}
    assert dict(datasets.DATASETS["circle"].defaults) == {
        "n_samples": 500, "noise": 0.0, "seed": 0, "test_fraction": 0.5, "features": ("x1", "x2"),
    }
    assert datasets.DATASETS["reg-plane"].defaults["n_samples"] == 1200
    assert all(spec.summary for spec in datasets.DATASETS.values())


def test_get_errors():
    with pytest.raises(ValueError, match=r"Unknown dataset 'cifar'. Valid datasets are: 'mnist', 'circle'"):
        datasets.get("cifar")
    with pytest.raises(ValueError, match=r"Unknown dataset None"):
        datasets.get(None)
    with pytest.raises(ValueError, match=r"Dataset 'mnist' has no parameter 'n_samples'; its parameters are: none"):
        datasets.get("mnist", n_samples=100)
    assert datasets.get("XOR").name == "xor"  # names are case-insensitive


# ---------------------------------------------------------------------------------------------
# MNIST Dataset
# ---------------------------------------------------------------------------------------------


def test_mnist_dataset_shapes_and_metadata():
    ds = datasets.get("mnist")
    assert ds.x.shape == (60000, 28, 28) and ds.x.dtype == np.uint8
    assert ds.x_test.shape == (10000, 28, 28) and ds.x_test.dtype == np.uint8
    assert ds.y.shape == (60000,) and ds.y.dtype == np.int64 and ds.y_test.shape == (10000,)
    assert ds.y[:5].tolist() == [5, 0, 4, 1, 9]
    assert ds.kind == "classification" and ds.n_classes == 10 and ds.class_names == tuple("0123456789")
    assert ds.input_shape == (1, 28, 28) and ds.is_image and ds.feature_names is None
    assert ds.credit == "Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0"
    for arr in (ds.x, ds.y, ds.x_test, ds.y_test):
        assert not arr.flags.writeable
    assert datasets.get("mnist") is ds  # loaded once per process
    assert datasets.mnist_dataset() is ds


def test_mnist_transform_is_the_canonical_scaling_with_a_channel_axis():
    ds = datasets.get("mnist")
    batch = ds.x[:64]
    out = ds.transform(batch)
    assert out.shape == (64, 1, 28, 28) and out.dtype == np.float32
    expected = datasets.scale(batch).reshape(64, 1, 28, 28)
    assert out.tobytes() == expected.tobytes()  # bit-identical to the scaling the models were trained with
    copy = transforms.from_config(transforms.get_config(ds.transform))
    assert copy(batch).tobytes() == out.tobytes()


def test_load_mnist_still_returns_fresh_writable_arrays():
    datasets.get("mnist")
    (x, y), _ = datasets.load_mnist(verify=False)
    assert x.flags.writeable and y.flags.writeable


# ---------------------------------------------------------------------------------------------
# House rule: only mnist.py knows MNIST's sizes
# ---------------------------------------------------------------------------------------------


def test_mnist_sizes_appear_only_in_mnist_py():
    files = [p for p in PACKAGE.glob("*.py") if p.name != "mnist.py"] + [PACKAGE.parent / "transforms.py"]
    for path in files:
        text = path.read_text()
        assert not re.search(r"(?<![\w.])(784|28)(?![\w.])", text), f"{path.name} mentions an MNIST size"

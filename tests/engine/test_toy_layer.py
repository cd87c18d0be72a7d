"""Issue 10: a new layer written in a test file (a Scale layer with one parameter) trains, saves,
loads and shows in the summary without touching any other file."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from nncore import FFL, NN, Flatten, Layer, load_model


class Scale(Layer):
    """y = x · s, one learnable scale per input feature: parameter ``scale`` shaped like a sample."""

    label = "Scale"

    def __init__(self, input_shape: Any = None, activation: str | None = None):
        super().__init__(input_shape, activation)
        self._x: np.ndarray | None = None

    def planned_parameters(self, input_shape):
        return int(np.prod(input_shape))

    def init_params(self, rng, dtype):
        return {"scale": np.ones(self.input_shape)}

    def forward_z(self, x, training):
        self._x = x
        return self.apply_z(x)

    def backward_z(self, grad_z, need_input_grad=True):
        np.sum(grad_z * self._x, axis=0, out=self.grads["scale"])
        return grad_z * self.params["scale"] if need_input_grad else None

    def apply_z(self, x):
        return x * self.params["scale"]

    def get_config(self):
        return {"input_shape": None if self.input_shape is None else list(self.input_shape), "activation": self.activation_name}

    def describe(self):
        return f"{self.parameter_count} scales"


def data(shape=(6,), n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape))
    y = (x.reshape(n, -1).sum(axis=1) > 0).astype(int) + (x.reshape(n, -1)[:, 0] > 1)
    return x, y


def dense_with_scale(dtype="float32"):
    m = NN(seed=0, dtype=dtype)
    m.add(FFL(6, 8, activation="tanh"))
    m.add(Scale())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.01, opt="adam", loss="cse", metrics=["accuracy"])
    return m


def test_scale_layer_trains():
    x, y = data()
    m = dense_with_scale()
    start = m.evaluate(x, y)["loss"]
    m.train(x, y, epochs=30, batch_size=16, verbose=0)
    assert m.evaluate(x, y)["loss"] < 0.7 * start
    scale = m.layers[1].params["scale"]
    assert scale.shape == (8,) and not np.allclose(scale, 1.0)  # the optimizer updated it
    assert scale.base is m._params.base or np.shares_memory(scale, m._params)  # packed with the others


def test_scale_gradient_matches_finite_differences():
    x, y = data(n=12)
    m = dense_with_scale("float64")
    trace = m.trace_step(x, y)
    grad = trace["layers"][1]["grad_scale"]
    scale = m.layers[1].params["scale"]
    eps = 1e-6
    numeric = np.zeros_like(grad)
    for i in range(scale.size):
        old = scale[i]
        scale[i] = old + eps
        up = m.evaluate(x, y)["loss"]
        scale[i] = old - eps
        down = m.evaluate(x, y)["loss"]
        scale[i] = old
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_scale_layer_saves_loads_and_continues(tmp_path):
    x, y = data()
    m = dense_with_scale()
    m.train(x, y, epochs=3, batch_size=16, verbose=0)
    path = tmp_path / "scaled.json"
    m.save_model(path)
    doc = json.loads(path.read_text())
    assert doc["layers"][1]["type"] == "Scale" and set(doc["layers"][1]["params"]) == {"scale"}
    m2 = load_model(path)
    assert type(m2.layers[1]) is Scale
    assert np.array_equal(m2.predict(x), m.predict(x))
    np.testing.assert_array_equal(m2.layers[1].params["scale"], m.layers[1].params["scale"])
    assert m2.optimizer.t == m.optimizer.t and m2.epoch == 3 and m2.history == m.history
    m.train(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    m2.train(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_image_shaped_scale_round_trips():
    """A parameter shaped like an image sample (2, 3) goes through the file and back (as Conv2d's will)."""
    x, y = data(shape=(2, 3))
    m = NN(seed=1)
    m.add(Scale(input_shape=(2, 3)))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.05, opt="rmsprop", loss="cse")
    m.train(x, y, epochs=2, batch_size=16, verbose=0)
    m2 = load_model(m.to_json().encode())
    assert m2.layers[0].params["scale"].shape == (2, 3)
    assert np.array_equal(m2.predict(x), m.predict(x))
    for k, v in m.optimizer.state.items():
        np.testing.assert_array_equal(m2.optimizer.state[k], v)


def test_scale_layer_shows_in_the_summary():
    m = dense_with_scale()
    df = m.summary()
    row = df.iloc[1]
    assert (row["Layer"], row["Type"], row["Output shape"], row["Parameters"]) == ("Scale 1", "Scale", "(8,)", 8)
    assert df.attrs["total_parameters"] == 6 * 8 + 8 + 8 + 8 * 3 + 3 == m.total_parameters
    assert "Scale" in m.layer_names()[1] and m.layers[1].describe() == "8 scales"


def test_bad_scale_values_in_a_file_are_refused():
    from nncore import ModelFileError

    m = dense_with_scale()
    doc = json.loads(m.to_json())
    doc["layers"][1]["params"]["scale"]["shape"] = [9]
    with pytest.raises(ModelFileError, match=r"layers\[1\].params.scale.shape: expected \[8\], got \[9\]"):
        load_model(json.dumps(doc).encode())

"""NN.trace_step: every number of one training step, checked against finite differences, against the
algebra of the layers, and bit for bit against a real `train` step."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN, Dropout


def _data(n=6, features=3, classes=2, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, classes, n)


def _model(dtype="float64", opt="iterative", lr=0.1, mr=None, hidden="tanh", dropout=0.0, l2=0.0, out="softmax",
           loss="cse", sizes=(3, 5, 2), seed=0):
    m = NN(seed=seed, dtype=dtype)
    m.add(FFL(sizes[0], sizes[1], activation=hidden, l2=l2))
    if dropout:
        m.add(Dropout(dropout))
    for units in sizes[2:-1]:
        m.add(FFL(neurons=units, activation=hidden, l2=l2))
    m.add(FFL(neurons=sizes[-1], activation=out, l2=l2))
    m.compile_model(lr=lr, opt=opt, loss=loss, mr=mr)
    return m


def _loss(m, x, y):
    return m.evaluate(x, y)["loss"]


@pytest.mark.parametrize("hidden,out,loss", [("tanh", "softmax", "cse"), ("sigmoid", "linear", "mse"),
                                             ("relu", "sigmoid", "mse")])
def test_gradients_match_central_differences(hidden, out, loss):
    x, labels = _data(n=7)
    m = _model(hidden=hidden, out=out, loss=loss, sizes=(3, 4, 5, 2))
    y = labels if loss == "cse" else np.random.default_rng(2).normal(size=(7, 2)) if out == "linear" else np.eye(2)[labels]
    trace = m.trace_step(x, y)
    assert trace["loss"] == pytest.approx(_loss(m, x, y), rel=1e-12)
    h = 1e-6
    checked = 0
    for i, layer in enumerate(m.layers):
        for name in ("weights", "biases"):
            param = layer.params[name]
            numeric = np.zeros_like(param)
            for idx in np.ndindex(param.shape):
                old = param[idx]
                param[idx] = old + h
                up = _loss(m, x, y)
                param[idx] = old - h
                down = _loss(m, x, y)
                param[idx] = old
                numeric[idx] = (up - down) / (2 * h)
            analytic = trace["layers"][i][f"grad_{name}"]
            assert analytic.shape == param.shape
            assert np.linalg.norm(analytic) > 0
            np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)
            checked += 1
    assert checked == 2 * len(m.layers)


def test_trace_does_not_change_the_model():
    x, y = _data()
    m = _model(opt="adam")
    m.train(x, y, epochs=2, batch_size=3, verbose=0)
    weights, state, rng_state = m.get_weights(), m.optimizer.state_dict(), m.rng.bit_generator.state
    history = {k: list(v) for k, v in m.batch_history.items()}
    m.trace_step(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))
    assert m.optimizer.t == state["t"]
    assert all(np.array_equal(m.optimizer.state[k], v) for k, v in state["buffers"].items())
    assert m.rng.bit_generator.state == rng_state
    assert m.batch_history == history


def _assert_trace_equals_train(m, x, y):
    """trace_step on m vs. one full-batch train step on a copy: identical weights, bit for bit."""
    twin = m.copy()
    trace = m.trace_step(x, y)
    twin.train(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    assert len(twin.batch_history["loss"]) == len(m.batch_history["loss"]) + 1  # exactly one step
    assert twin.batch_history["loss"][-1] == trace["loss"]
    for i, layer in enumerate(twin.layers):
        for name, value in layer.params.items():
            new = trace["layers"][i][f"new_{name}"]
            assert new.dtype == value.dtype
            assert np.array_equal(new, value), f"layer {i} {name} differs from one train step"
            assert not np.array_equal(new, trace["layers"][i][name])  # the step moved it
    return trace


@pytest.mark.parametrize("opt,mr", [("iterative", None), ("sgd", 0.9), ("adam", None), ("momentum", None),
                                    ("rmsprop", None)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trace_equals_one_train_step_bit_for_bit(opt, mr, dtype):
    x, y = _data(n=8)
    m = _model(dtype=dtype, opt=opt, mr=mr, lr=0.05, sizes=(3, 6, 4, 2), hidden="relu")
    _assert_trace_equals_train(m, x, y)  # first step: fresh optimizer state
    m.train(x, y, epochs=3, batch_size=4, verbose=0)  # optimizer state and step count now non-trivial
    _assert_trace_equals_train(m, x, y)


def test_trace_with_dropout_uses_the_same_masks_as_train():
    x, y = _data(n=16)
    m = _model(dtype="float32", opt="sgd", mr=0.9, dropout=0.5, sizes=(3, 12, 2), hidden="relu")
    m.train(x, y, epochs=2, batch_size=4, verbose=0)  # the generator has moved on: masks come from its state
    trace = _assert_trace_equals_train(m, x, y)
    drop = trace["layers"][1]
    dropped = drop["output"] == 0
    assert np.any(dropped & (drop["input"] != 0))  # the mask really silenced units
    kept = ~dropped
    np.testing.assert_allclose(drop["output"][kept], drop["input"][kept] * 2.0, rtol=1e-6)
    # and a second trace from the same state draws the same mask again (it works on a copy)
    again = m.trace_step(x, y)
    assert np.array_equal(again["layers"][1]["output"], drop["output"])


def test_apply_true_performs_the_step_on_the_model():
    x, y = _data(n=8)
    m = _model(dtype="float32", opt="adam", dropout=0.3, sizes=(3, 6, 2), hidden="relu")
    twin = m.copy()
    trace = m.trace_step(x, y, apply=True)
    twin.train(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), twin.get_weights()))
    assert m.optimizer.t == twin.optimizer.t == 1
    assert m.rng.bit_generator.state == twin.rng.bit_generator.state
    assert np.array_equal(trace["layers"][0]["new_weights"], m.layers[0].params["weights"])


def test_changed_learning_rate_applies_to_the_traced_step():
    x, y = _data(n=8)
    m = _model(dtype="float64", opt="iterative", lr=0.1)
    m.set_hyperparameters(lr=0.5)
    trace = m.trace_step(x, y)
    first = trace["layers"][0]
    np.testing.assert_allclose(first["update_weights"], -0.5 * first["grad_weights"], rtol=1e-12)


def test_contents_and_shapes_of_a_2_3_2_network():
    n = 5
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, 2))
    labels = np.array([0, 1, 1, 0, 1])
    lr = 0.1
    m = _model(dtype="float64", opt="iterative", lr=lr, hidden="tanh", sizes=(2, 3, 2))
    trace = m.trace_step(x, labels)
    assert trace["names"] == m.layer_names() == ["Dense 1", "Output"]
    hidden, output = trace["layers"]
    shapes = {
        "input": (n, 2), "z": (n, 3), "output": (n, 3), "grad_output": (n, 3), "grad_z": (n, 3),
        "weights": (2, 3), "grad_weights": (2, 3), "update_weights": (2, 3), "new_weights": (2, 3),
        "biases": (3,), "grad_biases": (3,), "update_biases": (3,), "new_biases": (3,),
    }
    assert {k: v.shape for k, v in hidden.items()} == shapes
    out_shapes = {k: (v[:1] + (2,) if k in ("z", "output", "grad_z") else v) for k, v in shapes.items() if k != "grad_output"}
    out_shapes.update({"input": (n, 3), "weights": (3, 2), "grad_weights": (3, 2), "update_weights": (3, 2),
                       "new_weights": (3, 2), "biases": (2,), "grad_biases": (2,), "update_biases": (2,),
                       "new_biases": (2,)})
    assert {k: v.shape for k, v in output.items()} == out_shapes  # no grad_output: fused with the loss

    # the numbers obey the layer algebra
    y = np.eye(2)[labels]
    np.testing.assert_array_equal(hidden["input"], x)
    np.testing.assert_allclose(hidden["z"], x @ hidden["weights"] + hidden["biases"], rtol=1e-12)
    np.testing.assert_allclose(hidden["output"], np.tanh(hidden["z"]), rtol=1e-12)
    np.testing.assert_array_equal(output["input"], hidden["output"])
    np.testing.assert_allclose(output["z"], output["input"] @ output["weights"] + output["biases"], rtol=1e-12)
    p = np.exp(output["z"]) / np.exp(output["z"]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(output["output"], p, rtol=1e-12)
    assert trace["loss"] == pytest.approx(-np.mean(np.log(p[np.arange(n), labels])), rel=1e-12)
    np.testing.assert_allclose(output["grad_z"], (p - y) / n, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hidden["grad_output"], output["grad_z"] @ output["weights"].T, rtol=1e-12)
    np.testing.assert_allclose(hidden["grad_z"], hidden["grad_output"] * (1 - hidden["output"] ** 2), rtol=1e-12)
    for rec in (hidden, output):
        np.testing.assert_allclose(rec["grad_weights"], rec["input"].T @ rec["grad_z"], rtol=1e-12)
        np.testing.assert_allclose(rec["grad_biases"], rec["grad_z"].sum(axis=0), rtol=1e-12)
        for k in ("weights", "biases"):
            np.testing.assert_allclose(rec[f"update_{k}"], -lr * rec[f"grad_{k}"], rtol=1e-12)
            np.testing.assert_allclose(rec[f"new_{k}"], rec[k] + rec[f"update_{k}"], rtol=0, atol=1e-15)

"""l2 regularisation (Keras semantics): loss = data loss + l2·ΣW² over weights only, gradient 2·l2·W."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN


def _model(l2=0.0, dtype="float64", opt="iterative", lr=0.1, seed=0):
    m = NN(seed=seed, dtype=dtype)
    m.add(FFL(3, 4, activation="tanh", l2=l2))
    m.add(FFL(neurons=3, activation="softmax", l2=l2))
    m.compile_model(lr=lr, opt=opt, loss="cse")
    return m


def _data(n=9, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.integers(0, 3, n)


def test_penalty_is_l2_times_sum_of_squared_weights_without_biases():
    m = _model(l2=0.03)
    for layer in m.layers:
        layer.biases = np.full(layer.biases.shape, 5.0)  # biases are not regularised
    expected = 0.03 * sum(float(np.sum(l.weights**2)) for l in m.layers)
    assert m._l2_penalty() == pytest.approx(expected, rel=1e-12)
    x, y = _data()
    plain = _model(l2=0.0)
    plain.set_weights(m.get_weights())
    assert m.evaluate(x, y)["loss"] == pytest.approx(plain.evaluate(x, y)["loss"] + expected, rel=1e-12)


def test_l2_gradient_matches_central_differences():
    l2 = 0.05
    m = _model(l2=l2)
    x, y = _data()
    trace = m.trace_step(x, y)
    h = 1e-6
    for i, layer in enumerate(m.layers):
        for name in ("weights", "biases"):
            param = layer.params[name]
            numeric = np.zeros_like(param)
            for idx in np.ndindex(param.shape):
                old = param[idx]
                param[idx] = old + h
                up = m.evaluate(x, y)["loss"]
                param[idx] = old - h
                down = m.evaluate(x, y)["loss"]
                param[idx] = old
                numeric[idx] = (up - down) / (2 * h)
            np.testing.assert_allclose(trace["layers"][i][f"grad_{name}"], numeric, rtol=1e-6, atol=1e-9)


def test_l2_adds_exactly_two_l2_w_to_weight_gradients_only():
    l2 = 0.05
    x, y = _data()
    reg, plain = _model(l2=l2), _model(l2=0.0)
    a, b = reg.trace_step(x, y), plain.trace_step(x, y)
    assert a["loss"] == pytest.approx(b["loss"] + reg._l2_penalty(), rel=1e-12)
    assert a["data_loss"] == pytest.approx(b["data_loss"], rel=1e-12)
    for ra, rb in zip(a["layers"], b["layers"]):
        np.testing.assert_allclose(ra["grad_weights"] - rb["grad_weights"], 2 * l2 * ra["weights"], rtol=1e-10, atol=1e-14)
        np.testing.assert_array_equal(ra["grad_biases"], rb["grad_biases"])


def test_history_data_loss_is_below_loss_with_l2_and_equal_without():
    x, y = _data(n=60)
    reg = _model(l2=0.01, dtype="float32", opt="adam", lr=0.01)
    h = reg.train(x, y, epochs=3, batch_size=20, verbose=0).history
    for loss, data_loss in zip(h["loss"], h["data_loss"]):
        assert data_loss < loss
    # the gap is the penalty of the weights during the epoch (it is positive and near the final one)
    assert h["loss"][-1] - h["data_loss"][-1] == pytest.approx(reg._l2_penalty(), rel=0.05)
    plain = _model(l2=0.0, dtype="float32", opt="adam", lr=0.01)
    h0 = plain.train(x, y, epochs=2, batch_size=20, verbose=0).history
    assert h0["loss"] == h0["data_loss"]


def test_l2_shrinks_the_weights():
    x, y = _data(n=90)
    norms = []
    for l2 in (0.0, 0.05):
        m = _model(l2=l2, dtype="float32", opt="adam", lr=0.02)
        m.train(x, y, epochs=20, batch_size=30, verbose=0)
        norms.append(sum(float(np.sum(l.weights**2)) for l in m.layers))
    assert norms[1] < 0.7 * norms[0]


def test_l2_can_be_changed_and_is_validated():
    x, y = _data(n=20)
    m = _model(l2=0.0, dtype="float32")
    m.set_hyperparameters(l2=0.1)  # not training: applies at once
    assert all(l.l2 == pytest.approx(0.1) for l in m.layers)
    h = m.train(x, y, epochs=1, batch_size=10, verbose=0).history
    assert h["data_loss"][0] < h["loss"][0]
    with pytest.raises(ValueError, match="l2"):
        m.set_hyperparameters(l2=-0.1)
    with pytest.raises(ValueError, match="l2"):
        FFL(3, 4, l2=-1)
    with pytest.raises(ValueError, match="l2"):
        FFL(3, 4, l2=float("inf"))


def test_l2_survives_copy_and_config():
    m = _model(l2=0.02)
    assert [l.l2 for l in m.copy().layers] == [0.02, 0.02]
    assert [l.l2 for l in NN.from_config(m.get_config()).layers] == [0.02, 0.02]

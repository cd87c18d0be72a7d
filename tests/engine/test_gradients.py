"""Central-difference gradient checks in float64 for every layer, activation and loss combination."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from nncore import FFL, NN, Dropout

HIDDEN = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
# (output activation, loss, output units): every valid pairing
OUTPUTS = [(act, "mse", 3) for act in HIDDEN] + [("softmax", "cse", 3), ("sigmoid", "cse", 1)]


def _targets(rng, n, units, loss):
    if units == 1:
        return (rng.random((n, 1)) > 0.5).astype(float)
    if loss == "cse":
        return np.eye(units)[rng.integers(0, units, n)]
    return rng.normal(size=(n, units))


def _model(hidden, out_act, loss, units, is_bias=True, dropout=0.0, seed=0):
    m = NN(seed=seed, dtype="float64")
    m.add(FFL(4, 5, activation=hidden, is_bias=is_bias))
    if dropout:
        m.add(Dropout(dropout))
    m.add(FFL(neurons=6, activation=hidden))
    m.add(FFL(neurons=units, activation=out_act, is_bias=is_bias))
    m.compile_model(lr=0.1, opt="iterative", loss=loss)
    return m


def _loss_and_grad(m, x, y, mask_seed=None):
    """Loss and analytic flat gradient for one batch; dropout masks fixed by mask_seed."""
    for layer in m.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(mask_seed)
    z, a = m._forward(x, training=True)
    loss, gz = m.loss.value_and_grad(z, a, y, m.output_layer.activation)
    loss += m._l2_penalty()
    m._backward(gz)
    return loss, m._grads.copy()


def _numeric(m, x, y, mask_seed=None, h=1e-6):
    g = np.zeros_like(m._params)
    for i in range(m._params.size):
        old = m._params[i]
        m._params[i] = old + h
        lp, _ = _loss_and_grad(m, x, y, mask_seed)
        m._params[i] = old - h
        lm, _ = _loss_and_grad(m, x, y, mask_seed)
        m._params[i] = old
        g[i] = (lp - lm) / (2 * h)
    return g


def _rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


@pytest.mark.parametrize("hidden,output", list(itertools.product(HIDDEN, OUTPUTS)))
def test_gradient_matches_finite_differences(hidden, output):
    out_act, loss, units = output
    rng = np.random.default_rng(1)
    m = _model(hidden, out_act, loss, units)
    x = rng.normal(size=(7, 4))
    y = _targets(rng, 7, units, loss)
    _, analytic = _loss_and_grad(m, x, y)
    numeric = _numeric(m, x, y)
    assert np.linalg.norm(analytic) > 0
    assert _rel_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("out_act,loss,units", [("softmax", "cse", 3), ("sigmoid", "cse", 1), ("tanh", "mse", 3)])
def test_gradient_without_bias_and_with_dropout(out_act, loss, units):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(9, 4))
    y = _targets(rng, 9, units, loss)
    for kwargs in ({"is_bias": False}, {"dropout": 0.4}):
        m = _model("tanh", out_act, loss, units, **kwargs)
        _, analytic = _loss_and_grad(m, x, y, mask_seed=3)
        numeric = _numeric(m, x, y, mask_seed=3)
        assert _rel_error(analytic, numeric) < 1e-6, kwargs


def test_loss_values_match_their_definitions():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 4))
    # categorical cross-entropy: mean over the batch of -sum y log p
    m = _model("relu", "softmax", "cse", 3)
    y = _targets(rng, 8, 3, "cse")
    p = m.predict(x)
    assert m.evaluate(x, y)["loss"] == pytest.approx(np.mean(-np.sum(y * np.log(p), axis=1)), rel=1e-12)
    # binary cross-entropy on one sigmoid unit
    m = _model("relu", "sigmoid", "cse", 1)
    yb = _targets(rng, 8, 1, "cse")
    p = m.predict(x)
    bce = np.mean(-(yb * np.log(p) + (1 - yb) * np.log(1 - p)))
    assert m.evaluate(x, yb)["loss"] == pytest.approx(bce, rel=1e-12)
    # mse: mean over all elements
    m = _model("relu", "linear", "mse", 3)
    yr = _targets(rng, 8, 3, "mse")
    assert m.evaluate(x, yr)["loss"] == pytest.approx(np.mean((m.predict(x) - yr) ** 2), rel=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    m = NN(seed=0, dtype="float64")
    m.add(FFL(2, 3, activation="softmax", weights=np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0]]), bias=np.zeros(3)))
    m.compile_model(lr=0.1, opt="iterative", loss="cse")
    x = np.array([[1.0, 0.0]])
    res = m.evaluate(x, np.array([1]))  # true class has logit -1000: loss 2000, finite
    assert res["loss"] == pytest.approx(2000.0)
    res = m.evaluate(x, np.array([0]))
    assert res["loss"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("logit", [False, True])
def test_input_gradient_matches_finite_differences(logit):
    rng = np.random.default_rng(5)
    m = _model("tanh", "softmax", "cse", 3, dropout=0.3)
    x = rng.normal(size=(2, 4))
    for cls in range(3):
        analytic = m.input_gradient(x, cls, logit=logit)
        numeric = np.zeros_like(x)
        h = 1e-6
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                xp, xm = x.copy(), x.copy()
                xp[i, j] += h
                xm[i, j] -= h
                if logit:
                    fp, fm = m._infer(xp, logits=True)[i, cls], m._infer(xm, logits=True)[i, cls]
                else:
                    fp, fm = m.predict(xp)[i, cls], m.predict(xm)[i, cls]
                numeric[i, j] = (fp - fm) / (2 * h)
        assert _rel_error(analytic, numeric) < 1e-6

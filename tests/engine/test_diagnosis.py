"""Telling a failed run from a healthy one: NN.diagnosis() on real MNIST runs and diagnose() on
constructed histories."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN
from nncore.datasets import load_mnist
from nncore.diagnosis import WINDOW, diagnose

SAMPLES = 2000


@pytest.fixture(scope="module")
def mnist_subset():
    (x, y), _ = load_mnist()
    return (x[:SAMPLES].reshape(SAMPLES, -1) / 255).astype(np.float32), y[:SAMPLES]


def _train(data, opt, lr, mr=None, epochs=2, seed=0):
    x, y = data
    m = NN(seed=seed)
    m.add(FFL(784, 32, activation="relu"))
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=lr, opt=opt, loss="cse", mr=mr, metrics=["accuracy"])
    result = m.train(x, y, epochs=epochs, batch_size=32, verbose=0)
    return m, result


@pytest.mark.parametrize("seed", [0, 1])
def test_sgd_lr_1_momentum_0_9_collapses_with_finite_weights_and_is_diagnosed(mnist_subset, seed):
    m, result = _train(mnist_subset, "sgd", 1.0, mr=0.9, seed=seed)
    assert all(np.all(np.isfinite(w)) for w in m.get_weights())  # nothing became NaN: a silent failure
    assert np.mean(m.batch_history["accuracy"][-WINDOW:]) < 0.15  # at chance: it really failed
    message = m.diagnosis()
    assert message is not None and result.diagnosis == message
    assert "learning rate" in message and "(now 1)" in message and "chance" in message


def test_adam_default_rate_learns_and_is_not_diagnosed(mnist_subset):
    m, result = _train(mnist_subset, "adam", 1e-3)
    assert m.history["accuracy"][-1] > 0.8
    assert m.diagnosis() is None and result.diagnosis is None


def test_too_low_learning_rate_is_named(mnist_subset):
    m, result = _train(mnist_subset, "sgd", 1e-4, mr=0.0)
    message = m.diagnosis()
    assert message is not None and result.diagnosis == message
    assert "too low" in message and "0.0001" in message and "try 0.05" in message


def test_warning_is_printed_when_verbose(mnist_subset, capsys):
    x, y = mnist_subset
    m = NN(seed=0)
    m.add(FFL(784, 32, activation="relu"))
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=1e-4, opt="sgd", loss="cse")
    m.train(x, y, epochs=2, batch_size=32, verbose=1)
    assert "Warning: Accuracy is stuck at chance level" in capsys.readouterr().out


# ---------------------------------------------------------------------- constructed histories
def _histories(losses, accuracy=None):
    batch = {"loss": list(losses)}
    if accuracy is not None:
        batch["accuracy"] = list(accuracy)
    return {"epoch": [1]}, batch


def test_a_growing_loss_is_reported_as_blowing_up():
    losses = np.linspace(1.0, 10.0, 60)
    message = diagnose(*_histories(losses), n_classes=None, lr=0.5)
    assert "blowing up" in message and "(now 0.5)" in message


def test_a_spiky_start_does_not_hide_a_collapse():
    # a few huge losses after the first too-large steps, then back at the untrained level at chance
    losses = [2.30, 2.8, 9.0, 15.0, 6.0, 2.5] + [2.33] * 60
    accuracy = [0.1] * len(losses)
    message = diagnose(*_histories(losses, accuracy), n_classes=10, lr=1.0, typical_lr=0.05)
    assert message is not None and "collapsed" in message and "(now 1)" in message


def test_healthy_and_short_runs_are_not_reported():
    falling = 2.3 * np.exp(-np.arange(80) / 30)
    assert diagnose(*_histories(falling, np.linspace(0.1, 0.9, 80)), n_classes=10, lr=0.01) is None
    # loss falls clearly although accuracy is still low: learning, not stuck
    assert diagnose(*_histories(falling, [0.1] * 80), n_classes=10, lr=0.01) is None
    # too few batches to judge
    assert diagnose(*_histories([2.3] * (2 * WINDOW - 1), [0.1] * (2 * WINDOW - 1)), n_classes=10, lr=1.0) is None
    # regression: no chance level, a flat loss is not a failure
    assert diagnose(*_histories([1.0] * 80), n_classes=None, lr=0.01) is None

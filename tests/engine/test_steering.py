"""Live hyper-parameters: a change from another thread takes effect exactly at the next batch.

The training thread is held deterministically: a callback blocks in on_batch_end on an Event while
the test thread changes the rate, then releases it. No sleeps, no races.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from nncore import FFL, NN, Callback

WAIT = 60  # seconds; only a safety net against a hung test, never part of the logic


class HoldAtStep(Callback):
    """Blocks the training thread after global step `step` until `release` is set."""

    def __init__(self, step: int):
        self.step = step
        self.reached = threading.Event()
        self.release = threading.Event()
        self.released_in_time = True

    def on_batch_end(self, batch, logs=None):
        if len(self.model.batch_history["step"]) == self.step:
            self.reached.set()
            self.released_in_time = self.release.wait(WAIT)


class ChangeAtStep(Callback):
    """The same change made on the training thread itself, for a reference run."""

    def __init__(self, step: int, **values: float):
        self.step, self.values = step, values

    def on_batch_end(self, batch, logs=None):
        if len(self.model.batch_history["step"]) == self.step:
            self.model.set_hyperparameters(**self.values)


def _model(opt="sgd", lr=0.1, mr=0.5):
    m = NN(seed=0)
    m.add(FFL(4, 6, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=lr, opt=opt, loss="cse", mr=mr)
    return m


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 4)), rng.integers(0, 3, 40)


def _train_held(model, step, **values):
    """Train 2 epochs of 4 batches in a thread, change `values` while it is held after `step`."""
    x, y = _data()
    hold = HoldAtStep(step)
    errors = []

    def run():
        try:
            model.train(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[hold])
        except BaseException as exc:  # surfaced in the test thread
            errors.append(exc)
            hold.reached.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert hold.reached.wait(WAIT), "training never reached the held step"
    assert not errors, errors
    # the held thread is between batches: the optimizer still has the old values
    model.set_hyperparameters(**values)
    held_lr = model.optimizer.lr
    hold.release.set()
    thread.join(WAIT)
    assert not thread.is_alive() and not errors, errors
    assert hold.released_in_time
    return held_lr


def test_learning_rate_from_another_thread_switches_at_the_next_batch():
    m = _model()
    held_lr = _train_held(m, step=3, lr=0.02)
    assert held_lr == pytest.approx(0.1)  # queued while training: not applied mid-batch
    assert m.batch_history["step"] == list(range(1, 9))
    assert m.batch_history["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.02, 0.02, 0.02, 0.02, 0.02])
    assert m.history["lr"] == pytest.approx([0.02, 0.02])  # rate in force at each epoch's end
    assert m.lr == pytest.approx(0.02)

    # the weights are those of a run whose rate changed after step 3, and not of an unchanged run
    x, y = _data()
    reference, unchanged = _model(), _model()
    reference.train(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[ChangeAtStep(3, lr=0.02)])
    unchanged.train(x, y, epochs=2, batch_size=10, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), reference.get_weights()))
    assert not np.allclose(m.get_weights()[0], unchanged.get_weights()[0])


def test_momentum_from_another_thread_switches_at_the_next_batch():
    m = _model(opt="sgd", mr=0.5)
    _train_held(m, step=5, momentum=0.9, lr=0.05)
    assert m.batch_history["lr"] == pytest.approx([0.1] * 5 + [0.05] * 3)
    assert m.optimizer.momentum == pytest.approx(0.9)
    x, y = _data()
    reference = _model(opt="sgd", mr=0.5)
    reference.train(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[ChangeAtStep(5, momentum=0.9, lr=0.05)])
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), reference.get_weights()))


def test_change_while_idle_applies_at_once():
    m = _model(opt="adam", lr=1e-3, mr=None)
    m.set_hyperparameters(lr=5e-3)
    assert m.lr == pytest.approx(5e-3)
    assert m.get_config()["compile"]["lr"] == pytest.approx(5e-3)


def test_change_queued_in_the_last_epoch_applies_when_training_ends():
    x, y = _data()
    m = _model()
    m.train(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[ChangeAtStep(4, lr=0.03)])
    assert m.batch_history["lr"] == pytest.approx([0.1] * 4)
    assert m.lr == pytest.approx(0.03)


@pytest.mark.parametrize(
    "values,words",
    [({"lr": 0}, "lr"), ({"lr": -1}, "lr"), ({"momentum": 1.5}, "momentum"), ({"beta1": 0.5}, "adjustable: lr, momentum, l2"),
     ({"l2": float("nan")}, "l2"), ({"lr": 0.5, "momentum": 1.5}, "momentum")],
)
def test_bad_values_raise_at_once_and_change_nothing(values, words):
    m = _model()
    with pytest.raises(ValueError, match=words):
        m.set_hyperparameters(**values)
    assert m.lr == pytest.approx(0.1) and m.optimizer.momentum == pytest.approx(0.5)
    assert all(l.l2 == 0 for l in m.layers)

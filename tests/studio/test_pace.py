"""TrainingRun's pace (batches per second, changeable while running) and Step (exactly one batch).

No test measures time. The pace is checked through its computed delay with an injected clock, and
through an injected ``wait`` that advances that clock; the tests with real waits use a pace so slow
(one batch per 1,000 s) that the worker is certainly waiting, and assert that Pause, Stop and a new
pace end the wait (a join with a generous timeout is only a safety net against a hung test).
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from nncore import FFL, NN
from nncore.callbacks import EarlyStopping, LearningRateScheduler
from nncore.studio import run as R
from tests.studio.test_runner import FakeModel, data

WAIT = 30  # seconds: safety net only


class FakeClock:
    """A clock that moves only when the run waits (``wait`` advances it by the delay asked for)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def test_pace_is_validated():
    x, y = data(64)
    for bad in (0, -1, float("nan"), float("inf"), "fast", True):
        with pytest.raises(ValueError, match="pace must be"):
            R.TrainingRun(FakeModel(), x, y, pace=bad)
    run = R.TrainingRun(FakeModel(), x, y, pace=2)
    assert run.pace == 2.0
    with pytest.raises(ValueError, match="batches per second"):
        run.set_pace(0)
    assert run.pace == 2.0  # a refused pace changes nothing
    run.set_pace(None)
    assert run.pace is None


def test_pace_delay_is_the_rest_of_the_interval():
    clock = FakeClock()
    x, y = data(64)
    run = R.TrainingRun(FakeModel(), x, y, pace=4, clock=clock)
    assert run.pace_delay() == 0.0  # nothing released yet
    run._interval_start = 100.0  # a batch released at t = 100
    assert run.pace_delay(100.1) == pytest.approx(0.15)  # 1/4 s apart, 0.1 s spent
    assert run.pace_delay(100.3) == 0.0  # a slow batch is not caught up
    run.set_pace(1)
    assert run.pace_delay(100.1) == pytest.approx(0.9)
    run.set_pace(None)
    assert run.pace_delay(100.1) == 0.0


def test_paced_run_waits_between_batches_for_the_interval():
    clock = FakeClock()
    m = FakeModel()
    x, y = data(96)  # 3 batches of 32 per epoch
    run = R.TrainingRun(m, x, y, batch_size=32, pace=4, clock=clock, wait=clock.wait)
    run.start(2)
    assert run.join(WAIT)
    assert run.state == R.FINISHED and run.progress().step == 6
    # the batches take no (fake) time, so the worker waits the whole interval after each one
    # but the run's last
    assert clock.waits == pytest.approx([0.25] * 5)
    assert clock.now == pytest.approx(101.25)


def test_unpaced_run_never_waits():
    clock = FakeClock()
    x, y = data(96)
    run = R.TrainingRun(FakeModel(), x, y, batch_size=32, clock=clock, wait=clock.wait)
    run.start(2)
    assert run.join(WAIT)
    assert clock.waits == [] and run.progress().step == 6


def _slow_run(epochs=3):
    """A run paced at one batch per 1,000 s: after its first batch it is certainly waiting."""
    m = FakeModel()
    x, y = data(320)  # 10 batches per epoch
    run = R.TrainingRun(m, x, y, batch_size=32, pace=0.001)
    run.start(epochs)
    return m, run


def _wait_step(run, n):
    done = threading.Event()

    def poll():
        while run.progress().step < n and run.active:
            threading.Event().wait(0.005)
        done.set()

    threading.Thread(target=poll, daemon=True).start()
    assert done.wait(WAIT)


def test_a_new_pace_ends_the_wait_at_once():
    m, run = _slow_run(epochs=2)
    try:
        _wait_step(run, 1)
        assert run.pace_delay() > 900  # waiting for the next batch
        run.set_pace(None)  # as fast as possible: the wait ends, the run completes
        assert run.join(WAIT)
        assert run.state == R.FINISHED and run.progress().step == 20
    finally:
        run.stop()
        run.join(WAIT)


def test_stop_and_pause_end_a_pace_wait():
    m, run = _slow_run()
    _wait_step(run, 1)
    assert run.pause()
    assert run.wait_parked(WAIT)  # parked in the pause, not in the pace wait
    assert run.state == R.PAUSED and run.progress().step == 1
    assert run.stop()
    assert run.join(WAIT)
    assert run.state == R.STOPPED and run.progress().step == 1


def test_stop_during_a_pace_wait_keeps_the_batch_count():
    m, run = _slow_run()
    _wait_step(run, 1)
    assert run.stop()
    assert run.join(WAIT)
    assert run.state == R.STOPPED and m.batch_history["step"] == [1]


def test_step_from_idle_trains_exactly_one_batch_and_pauses():
    m = FakeModel()
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    try:
        assert run.step(epochs=2)
        assert run.wait_parked(WAIT)
        p = run.progress()
        assert p.state == R.PAUSED and p.step == 1 and p.batch == 1 and p.run_epochs == 2
        for n in range(2, 13):  # across the epoch boundary (10 batches per epoch)
            assert run.step()
            assert run.wait_parked(WAIT)
            assert run.progress().step == n and run.state == R.PAUSED
            assert m.w1[0] == m.w2[0] == n  # whole batches only
        assert m.history["epoch"] == [1]
        assert run.resume()
        assert run.join(WAIT)
        assert run.state == R.FINISHED and run.progress().step == 20
    finally:
        run.stop()
        run.join(WAIT)


def test_step_after_pause_and_from_an_ended_run():
    m = FakeModel(hold_at=3)
    x, y = data(64)  # 2 batches per epoch
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(3)
    assert m.held.wait(WAIT)  # in the middle of batch 3
    assert run.pause()
    m.release.set()
    assert run.wait_parked(WAIT)
    assert run.progress().step == 3
    assert run.step() and run.wait_parked(WAIT)
    assert run.progress().step == 4 and run.state == R.PAUSED
    assert run.step() and run.wait_parked(WAIT)
    # the run's last batch: the run ends as usual instead of pausing
    assert run.progress().step == 5
    assert run.step() and run.wait_parked(WAIT)
    assert run.state == R.FINISHED and run.progress().step == 6
    # an ended run: Step starts a new one and pauses after its first batch
    assert run.step(epochs=1) and run.wait_parked(WAIT)
    assert run.state == R.PAUSED and run.progress().step == 7
    run.stop()
    assert run.join(WAIT)


def test_step_while_running_pauses_and_stop_while_stepping_wins():
    m, run = _slow_run()
    _wait_step(run, 1)
    assert run.step()  # running: pause after the batch in progress
    assert run.wait_parked(WAIT) and run.state == R.PAUSED and run.progress().step == 1
    assert run.stop()
    assert not run.step()  # stopping: nothing to do
    assert run.join(WAIT) and run.state == R.STOPPED


def test_a_paced_step_is_not_held_by_the_pace():
    clock = FakeClock()
    x, y = data(320)
    run = R.TrainingRun(FakeModel(), x, y, batch_size=32, pace=0.001, clock=clock, wait=clock.wait)
    assert run.step(epochs=1) and run.wait_parked(WAIT)
    assert run.progress().step == 1 and clock.waits == []  # paused at once, no pace wait
    run.stop()
    assert run.join(WAIT)


# ------------------------------------------------------------------ callbacks passed through
def _real_model():
    m = NN(seed=0)
    m.add(FFL(4, 8, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.05, opt="sgd", loss="cse")
    rng = np.random.default_rng(0)
    return m, rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 3, 64)


def test_callbacks_reach_the_engine_and_the_history():
    m, x, y = _real_model()
    schedule = LearningRateScheduler(lambda epoch: 0.05 / epoch)
    run = R.TrainingRun(m, x, y, val_x=x[:16], val_y=y[:16], batch_size=16, callbacks=[schedule])
    run.start(3)
    assert run.join(WAIT)
    assert run.state in (R.FINISHED, R.FAILED)
    assert m.history["lr"] == pytest.approx([0.05, 0.025, 0.05 / 3])
    assert schedule.model is m


def test_early_stopping_ends_the_run_with_its_sentence():
    m, x, y = _real_model()
    # min_delta larger than any improvement: it stops after 1 + patience epochs, best = epoch 1
    stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=1e6, restore_best_weights=True)
    run = R.TrainingRun(m, x, y, val_x=x[:16], val_y=y[:16], batch_size=16)
    run.start(10, callbacks=[stop])
    assert run.join(WAIT)
    p = run.progress()
    assert m.epoch == 3 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert p.state == R.FINISHED
    assert "Stopped early after epoch 3" in p.message and "weights of epoch 1" in p.message
    assert p.restored_epoch == 1
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), stop.best_weights))


# ------------------------------------------------------------------ marks on the curves
def test_curves_mark_hyperparameter_changes_and_the_best_epoch():
    from nncore.callbacks import Callback
    from nncore.studio import history as H

    class Steer(Callback):  # the changes a user makes mid-run, made at known steps
        def on_batch_end(self, batch, logs=None):
            step = len(self.model.batch_history["step"])
            if step == 3:
                self.model.set_hyperparameters(lr=0.01)
            if step == 6:
                self.model.set_hyperparameters(l2=0.001, momentum=0.5)

    m = NN(seed=0)
    m.add(FFL(4, 8, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.05, opt="sgd", loss="cse", mr=0.9)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    m.train(x, y, epochs=3, batch_size=16, val_x=x[:16], val_y=y[:16], callbacks=[Steer()], verbose=0)
    assert m.batch_history["lr"][2:4] == [0.05, 0.01] and m.batch_history["l2"][5:7] == [0.0, 0.001]
    c = H.curves(m, batches_per_epoch=4, smoothing=0.0)
    kinds = [(mk.kind, mk.step) for mk in c.marks if mk.kind != "best"]
    assert kinds == [("lr", 3.0), ("momentum", 6.0), ("l2", 6.0)]
    lr = c.marks[0]
    assert lr.label == "lr 0.05 → 0.01" and lr.x == pytest.approx(0.75)
    best = [mk for mk in c.marks if mk.kind == "best"]
    assert len(best) == 1
    i = int(np.nanargmin(c.val_loss))
    assert best[0].step == c.epoch_step[i] == 4.0 * (i + 1) and f"epoch {i + 1}" in best[0].label
    assert list(c.batch_step) == list(range(1, 13))
    # smoothing 0 draws the raw points; the default smooths
    assert np.array_equal(c.batch_loss, c.batch_loss_smooth)
    assert not np.array_equal(H.curves(m, batches_per_epoch=4).batch_loss_smooth, c.batch_loss)
    with pytest.raises(ValueError, match="smoothing"):
        H.curves(m, smoothing=1.0)


def test_the_restored_epoch_is_the_marked_best_even_when_an_earlier_run_was_better():
    from nncore.studio import history as H

    m, x, y = _real_model()
    m.train(x, y, epochs=3, batch_size=16, val_x=x[:16], val_y=y[:16], verbose=0)
    m.history["val_loss"][0] = 0.0  # an earlier run's epoch 1 beats anything to come
    stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    run = R.TrainingRun(m, x, y, val_x=x[:16], val_y=y[:16], batch_size=16)
    run.start(2, callbacks=[stop])
    assert run.join(WAIT)
    assert stop.best_epoch in (4, 5) and run.progress().restored_epoch == stop.best_epoch
    best = [mk for mk in run.curves().marks if mk.kind == "best"]
    assert [mk.label for mk in best] == [f"best val loss · epoch {stop.best_epoch} · restored"]
    assert [mk.label for mk in H.curves(m).marks if mk.kind == "best"] == ["best val loss · epoch 1"]


def test_an_overslept_wait_is_made_up_but_a_slow_batch_is_not_caught_up():
    clock = FakeClock()
    x, y = data(64)
    run = R.TrainingRun(FakeModel(), x, y, pace=4, clock=clock)
    run._interval_start = 100.0
    assert run._next_release_locked(100.3) == pytest.approx(100.25)  # 0.05 s late: stays on the grid
    assert run._next_release_locked(100.7) == pytest.approx(100.7)  # over an interval late: from now
    run._interval_start = 100.25
    assert run.pace_delay(100.3) == pytest.approx(0.2)  # the next batch waits less to keep the rate

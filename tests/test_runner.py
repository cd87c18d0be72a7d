"""TrainingRun: background training with pause/resume/stop, snapshots and error handling.

Most tests use a small fake model that follows the engine's train/callback contract. None races the
worker thread: a test that must act while a run is in progress holds the fake model in the middle of
a batch (``hold_at``) until it has acted, so the outcome does not depend on how fast the machine is.
A few run the real engine, held the same way by an extra callback.
"""
from __future__ import annotations

import copy
import threading
import time

import numpy as np
import pytest

from nncore import runner as R
from nncore.metrics import confusion_matrix, downsample_indices, ema, misclassified


class FakeDivergence(ArithmeticError):
    def __init__(self, msg, epoch, batch):
        super().__init__(msg)
        self.epoch, self.batch = epoch, batch


FakeDivergence.__name__ = "DivergenceError"


class FakeModel:
    """Two weight arrays updated one after the other with a pause in between: a snapshot taken in
    the middle of a batch would see them differ."""

    def __init__(self, batch_sleep=0.0, diverge_at=None, fail_at=None, lr=0.5, hold_at=None):
        self.w1 = np.zeros(10)
        self.w2 = np.zeros(10)
        self.batch_sleep = batch_sleep
        self.diverge_at = diverge_at
        self.fail_at = fail_at
        self.lr = lr
        #: step (1-based, whole record) whose batch waits half-done (w1 updated, w2 not) until released
        self.hold_at = hold_at
        self.held = threading.Event()  # set when the worker has reached the held batch
        self.release = threading.Event()
        self.stop_training = False
        self.epoch = 0
        self.history = {"epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        self.batch_history = {"epoch": [], "batch": [], "step": [], "loss": [], "accuracy": []}
        self.train_calls = []

    def copy(self):
        clone = copy.copy(self)  # shares the hold events, owns its weights and records
        clone.w1, clone.w2 = self.w1.copy(), self.w2.copy()
        clone.history = copy.deepcopy(self.history)
        clone.batch_history = copy.deepcopy(self.batch_history)
        clone.train_calls = list(self.train_calls)
        return clone

    def train(self, x, y, epochs=1, batch_size=32, shuffle=True, val_split=0.1, val_x=None, val_y=None,
              callbacks=(), verbose=0):
        self.train_calls.append(dict(epochs=epochs, batch_size=batch_size, val_x=val_x is not None))
        n = len(x)
        nb = -(-n // batch_size)
        step = len(self.batch_history["step"])
        for _ in range(epochs):
            for cb in callbacks:
                cb.on_epoch_begin(self.epoch, {})
            for b in range(nb):
                if self.diverge_at == (self.epoch, b):
                    raise FakeDivergence("loss is nan", self.epoch + 1, b + 1)
                if self.fail_at == (self.epoch, b):
                    raise ValueError("the fake engine broke")
                self.w1 += 1
                if step + 1 == self.hold_at:
                    self.held.set()
                    if not self.release.wait(30):
                        raise RuntimeError("the test never released the held batch")
                time.sleep(self.batch_sleep)
                self.w2 += 1
                step += 1
                loss = 1.0 / step
                size = min(batch_size, n - b * batch_size)
                self.batch_history["epoch"].append(self.epoch)
                self.batch_history["batch"].append(b)
                self.batch_history["step"].append(step)
                self.batch_history["loss"].append(loss)
                self.batch_history["accuracy"].append(1 - loss)
                for cb in callbacks:
                    cb.on_batch_end(b, {"loss": loss, "accuracy": 1 - loss, "size": size})
                if self.stop_training:
                    return self.history
            self.epoch += 1
            logs = {"loss": loss, "accuracy": 1 - loss, "val_loss": loss * 1.1, "val_accuracy": 1 - loss,
                    "seconds": 0.01}
            for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
                self.history[k].append(logs[k])
            self.history["epoch"].append(self.epoch)
            for cb in callbacks:
                cb.on_epoch_end(self.epoch, logs)
        return self.history


def data(n=200):
    return np.zeros((n, 4), np.float32), np.zeros(n, np.int64)


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return False


def test_runs_to_completion_and_records_progress():
    m = FakeModel(batch_sleep=0.0)
    x, y = data(100)
    run = R.TrainingRun(m, x, y, val_x=x[:10], val_y=y[:10], batch_size=32)
    assert run.state == R.IDLE
    assert run.batches_per_epoch == 4
    run.start(2)
    assert run.join(10)
    p = run.progress()
    assert p.state == R.FINISHED
    assert p.epochs_done == 2 and p.run_epochs_done == 2
    assert p.step == 8
    assert p.fraction == 1.0
    assert p.samples_per_second > 0
    assert "Finished" in p.message
    h = run.history()
    assert h["epoch"] == [1, 2]
    assert len(h["val_loss"]) == 2
    c = run.curves()
    assert len(c.batch_x) == 8 and c.batch_x[-1] == pytest.approx(2.0)
    assert list(c.epoch_x) == [1.0, 2.0]
    assert m.train_calls[0]["val_x"] is True


def test_continue_training_counts_on():
    m = FakeModel(batch_sleep=0.0)
    x, y = data(64)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    run.join(10)
    run.start(1)  # "+1 epoch"
    run.join(10)
    p = run.progress()
    assert p.epochs_done == 2 and p.run_epochs == 1 and p.step == 4
    assert run.history()["epoch"] == [1, 2]


def test_pause_blocks_and_resume_continues_exactly():
    m = FakeModel(hold_at=3)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)  # 10 batches/epoch
    run.start(3)
    assert m.held.wait(10)  # the worker is in the middle of batch 3
    assert run.pause()
    assert run.state == R.PAUSED
    m.release.set()  # batch 3 completes, then the worker blocks
    assert wait_for(lambda: run.progress().step == 3)
    time.sleep(0.2)  # a window in which a paused run must not move
    assert run.progress().step == 3, "training continued while paused"
    assert m.w1[0] == m.w2[0] == 3
    elapsed_paused = run.progress().elapsed_seconds
    time.sleep(0.1)
    assert run.progress().elapsed_seconds == pytest.approx(elapsed_paused, abs=1e-6)  # clock stops
    assert run.progress().eta_seconds is not None
    assert run.resume()
    assert run.join(10)
    p = run.progress()
    assert p.state == R.FINISHED and p.step == 30 and p.epochs_done == 3
    assert m.w1[0] == 30  # no batch lost or repeated


def test_stop_keeps_what_was_learned_and_can_continue():
    m = FakeModel(hold_at=4)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(5)
    assert m.held.wait(10)  # in the middle of batch 4
    assert run.stop()
    m.release.set()
    assert run.join(10)
    p = run.progress()
    assert p.state == R.STOPPED
    assert "kept" in p.message and "after 4 of 10 batches" in p.message
    assert p.step == 4  # the batch in flight completes, no further one starts
    assert m.w1[0] == m.w2[0] == 4  # weights not reset
    run.start(1)  # can train again after a stop
    assert run.join(10)
    assert run.state == R.FINISHED


def test_stop_while_paused():
    m = FakeModel(hold_at=2)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(3)
    assert m.held.wait(10)
    assert run.pause()
    m.release.set()
    assert wait_for(lambda: run.progress().step == 2)  # blocked in the pause after batch 2
    assert run.stop()
    assert run.join(5)
    assert run.state == R.STOPPED
    assert run.progress().step == 2


def test_start_twice_is_refused():
    m = FakeModel(hold_at=1)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(2)
    assert m.held.wait(10)  # certainly still training
    with pytest.raises(RuntimeError):
        run.start(1)
    run.stop()
    m.release.set()
    assert run.join(5)
    assert m.train_calls == [dict(epochs=2, batch_size=32, val_x=False)]


def test_snapshot_is_consistent_while_training():
    m = FakeModel(batch_sleep=0.002)
    x, y = data(32 * 50)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(2)
    snaps = []
    while run.active and len(snaps) < 30:
        s = run.snapshot_model(timeout=5)
        assert s is not None
        snaps.append(s)
        time.sleep(0.003)
    run.join(10)
    assert snaps, "no snapshot taken"
    for s in snaps:
        assert s is not m
        assert np.array_equal(s.w1, s.w2), "snapshot taken in the middle of a batch"
    # snapshots are independent copies
    final = run.snapshot_model()
    final.w1 += 1000
    assert m.w1[0] < 1000


def test_snapshot_waits_for_the_batch_in_flight():
    m = FakeModel(hold_at=5)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(3)
    assert m.held.wait(10)  # batch 5 is half-done: w1 is 5, w2 still 4
    got = []
    asker = threading.Thread(target=lambda: got.append(run.snapshot_model(timeout=30)))
    asker.start()
    asker.join(0.2)
    assert asker.is_alive() and not got, "a snapshot was handed out in the middle of a batch"
    m.release.set()
    asker.join(30)
    assert len(got) == 1 and got[0] is not None
    assert got[0].w1[0] == got[0].w2[0] == 5  # taken right after batch 5
    assert run.join(10)


def test_snapshot_when_idle_paused_and_cached():
    m = FakeModel(hold_at=2)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    s0 = run.snapshot_model()
    assert s0.w1[0] == 0
    assert run.snapshot_model() is s0  # cached while nothing changes
    run.start(3)
    assert m.held.wait(10)
    assert run.pause()
    m.release.set()
    assert wait_for(lambda: run.progress().step == 2)  # blocked in the pause
    s = run.snapshot_model(timeout=2)
    assert np.array_equal(s.w1, s.w2) and s.w1[0] == 2
    assert run.snapshot_model(timeout=2) is s  # cached while paused
    run.stop()
    run.join(5)


def test_divergence_becomes_a_message(monkeypatch):
    m = FakeModel(batch_sleep=0.0, diverge_at=(1, 2), lr=0.5)
    x, y = data(128)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(3)
    assert run.join(10)
    p = run.progress()
    assert p.state == R.DIVERGED
    assert "lower learning rate" in p.message
    assert "0.05" in p.message  # suggests lr / 10
    assert p.epochs_done == 1
    assert "Traceback" in run.error_traceback
    # the session survives: training can start again
    m.diverge_at = None
    run.start(1)
    assert run.join(10)
    assert run.state == R.FINISHED


def test_real_divergence_error_class_is_recognised():
    errors = pytest.importorskip("nncore.errors")
    exc = errors.DivergenceError("nan", epoch=3, batch=7)
    assert R._is_divergence(exc)
    assert "epoch 3, batch 7" in R.divergence_message(exc)


def test_other_exceptions_become_error_state():
    m = FakeModel(batch_sleep=0.0, fail_at=(0, 1))
    x, y = data(128)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    assert run.join(10)
    p = run.progress()
    assert p.state == R.ERROR
    assert "the fake engine broke" in p.message
    assert threading.active_count() >= 1


def test_train_signature_mismatch_is_caught():
    class Broken:
        epoch = 0

        def train(self, *a, **k):
            raise TypeError("train() got an unexpected keyword argument 'callbacks'")

    x, y = data(10)
    run = R.TrainingRun(Broken(), x, y, batch_size=5)
    run.start(1)
    run.join(5)
    assert run.state == R.ERROR
    assert "unexpected keyword" in run.progress().message


def test_eta_and_rate_while_running():
    m = FakeModel(hold_at=6)
    x, y = data(32 * 20)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    assert m.held.wait(10)  # 5 of 20 batches done, the 6th in flight
    p = run.progress()
    assert p.active and p.step == 5 and p.samples_per_second > 0
    # the 15 batches left (480 samples) at the rate measured so far
    assert p.eta_seconds == pytest.approx(15 * 32 / p.samples_per_second)
    assert p.fraction == pytest.approx(0.25)
    assert p.current_epoch == 1
    run.stop()
    m.release.set()
    assert run.join(5)


def test_seeds_history_from_model():
    m = FakeModel(batch_sleep=0.0)
    x, y = data(64)
    run1 = R.TrainingRun(m, x, y, batch_size=32)
    run1.start(2)
    assert run1.join(10)
    run2 = R.TrainingRun(m, x, y, batch_size=16)  # a new run for the same (trained) model
    p = run2.progress()
    assert p.epochs_done == 2 and p.step == 4
    c = run2.curves()
    assert c.batch_x[-1] == pytest.approx(2.0)
    run2.start(1)
    run2.join(5)
    assert run2.history()["epoch"] == [1, 2, 3]


def test_curves_are_downsampled():
    m = FakeModel(batch_sleep=0.0)
    x, y = data(1000)
    run = R.TrainingRun(m, x, y, batch_size=1)
    run.start(2)
    assert run.join(60)
    c = run.curves(max_points=100)
    assert len(c.batch_x) <= 100
    assert c.batch_x[-1] == pytest.approx(2.0)
    assert np.all(np.isfinite(c.batch_loss_smooth))


def test_invalid_runs_are_refused():
    x, y = data(10)
    with pytest.raises(ValueError):
        R.TrainingRun(FakeModel(), x, y[:5])
    with pytest.raises(ValueError):
        R.TrainingRun(FakeModel(), x[:0], y[:0])
    run = R.TrainingRun(FakeModel(), x, y, batch_size=5)
    with pytest.raises(ValueError):
        run.start(0)


# ------------------------------------------------------------------ config validation
def test_validate_network_messages():
    ok = R.NetworkConfig()
    assert R.validate_network(ok) == {}
    bad = R.NetworkConfig(output_activation="sigmoid", loss="cse")
    assert "softmax" in R.validate_network(bad)["loss"]
    assert R.validate_network(R.NetworkConfig(output_activation="sigmoid", loss="mse")) == {}
    assert "lr" in R.validate_network(R.NetworkConfig(lr=5.0))
    assert R.NetworkConfig().shape_text() == "784-128-64-10"


def test_validate_training_batch_larger_than_set():
    s = R.TrainSettings(n_samples=1000, val_fraction=0.5, batch_size=512)
    msg = R.validate_training(s)["batch_size"]
    assert "larger than the training set" in msg and "500" in msg
    assert R.validate_training(R.TrainSettings()) == {}


# ------------------------------------------------------------------ metrics helpers
def test_confusion_matrix_and_misclassified():
    t = np.array([0, 1, 2, 2, 1])
    p = np.array([0, 2, 2, 2, 1])
    cm = confusion_matrix(t, p, 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]
    assert cm.sum() == 5
    probs = np.eye(3)[p] * 0.9 + 0.1 / 3
    mis = misclassified(t, probs)
    assert mis["index"].tolist() == [1]
    assert mis["true"].tolist() == [1] and mis["pred"].tolist() == [2]
    onehot = np.eye(3)[t]
    assert confusion_matrix(onehot, probs, 3).tolist() == cm.tolist()


def test_downsample_and_ema():
    assert downsample_indices(5, 10).tolist() == [0, 1, 2, 3, 4]
    idx = downsample_indices(1000, 50)
    assert len(idx) <= 50 and idx[-1] == 999 and idx[0] == 0
    e = ema(np.array([1.0, np.nan, 1.0]))
    assert np.allclose(e, 1.0)


# ------------------------------------------------------------------ with the real engine
def _real_engine():
    nncore = pytest.importorskip("nncore")
    if not hasattr(nncore, "NN"):
        pytest.skip("engine not available yet")
    return nncore


class HoldAfterBatch:
    """An extra engine callback that holds the training thread at the end of batch ``step`` (counted
    from the start of this train call) until the test releases it."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.seen = 0
        self.held = threading.Event()
        self.release = threading.Event()

    def on_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            self.held.set()
            if not self.release.wait(30):
                raise RuntimeError("the test never released the held batch")


def hold_training(model, step: int) -> HoldAfterBatch:
    """Make ``model.train`` (as the runner calls it) also run a :class:`HoldAfterBatch`; test-side only."""
    hold = HoldAfterBatch(step)
    engine_train = model.train

    def train(*args, callbacks=(), **kwargs):
        return engine_train(*args, callbacks=[*(callbacks or ()), hold], **kwargs)

    model.train = train
    return hold


def test_real_engine_pause_resume_snapshot():
    _real_engine()
    cfg = R.NetworkConfig(hidden=(R.LayerSpec(16, "relu", 0.1),), seed=1)
    model = R.build_model(cfg)
    rng = np.random.default_rng(0)
    x = rng.random((2000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2000)
    run = R.TrainingRun(model, x, y, val_x=x[:200], val_y=y[:200], batch_size=16)
    hold = hold_training(model, 5)
    run.start(2)
    assert hold.held.wait(30)  # batch 5 done and counted; the engine waits
    assert run.progress().step == 5
    assert run.pause()
    hold.release.set()  # batch 6 runs, then the runner's callback blocks in the pause
    assert wait_for(lambda: run.progress().step == 6, timeout=30)
    snap = run.snapshot_model(timeout=5)
    assert snap is not None and snap is not model
    probs = snap.predict(x[:3])
    assert probs.shape == (3, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert all(np.array_equal(a, b) for a, b in zip(snap.get_weights(), model.get_weights()))  # paused weights
    time.sleep(0.2)  # a window in which a paused run must not move
    assert run.progress().step == 6
    assert run.resume()
    assert run.join(60)
    p = run.progress()
    assert p.state == R.FINISHED, p.message
    assert p.epochs_done == 2
    assert len(run.history()["val_loss"]) == 2
    assert model.epoch == 2


def test_real_engine_divergence_keeps_finite_weights():
    _real_engine()
    cfg = R.NetworkConfig(hidden=(R.LayerSpec(32, "relu", 0.0),), loss="mse", output_activation="linear",
                          optimizer="sgd", lr=1.0, mr=0.0)
    model = R.build_model(cfg)
    rng = np.random.default_rng(0)
    x = (rng.random((512, 784), dtype=np.float32) * 1000).astype(np.float32)
    y = rng.integers(0, 10, 512)
    run = R.TrainingRun(model, x, y, batch_size=32)
    run.start(20)
    assert run.join(60)
    p = run.progress()
    if p.state != R.DIVERGED:
        pytest.skip(f"this configuration did not diverge here ({p.state})")
    assert "lower learning rate" in p.message
    assert np.all(np.isfinite(model.predict(x[:5])))


def test_config_round_trip_through_model():
    _real_engine()
    cfg = R.NetworkConfig(hidden=(R.LayerSpec(32, "tanh", 0.25), R.LayerSpec(16, "relu", 0.0)),
                          output_activation="softmax", loss="cse", optimizer="sgd", lr=0.05, mr=0.5, seed=3)
    model = R.build_model(cfg)
    assert R.config_from_model(model) == cfg
    assert R.config_from_model(R.build_model(R.NetworkConfig())) == R.NetworkConfig()
    assert R.config_from_model(object()) is None


class ManualClock:
    """Stands in for the runner module's ``time``: ``monotonic`` (the clock of the abandon timer)
    only moves when the test sets ``now``; the rest is the real module."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


def test_abandoned_run_stops_itself(monkeypatch):
    clock = ManualClock()
    monkeypatch.setattr(R, "time", clock)
    m = FakeModel(batch_sleep=0.001)
    x, y = data(32 * 100)
    run = R.TrainingRun(m, x, y, batch_size=32, abandon_after=600)
    run.start(1_000_000)  # far longer than this test: only the abandon timer ends it

    def after_more_batches(n: int = 2) -> None:
        """Wait until the worker has checked the timer at least once at the clock's new time."""
        start = run.progress().step
        assert wait_for(lambda: run.progress().step >= start + n)

    try:
        clock.now = 599.0  # almost ten minutes without a look
        after_more_batches()
        assert run.active
        run.touch()  # a page polls the run
        clock.now = 599.0 + 599.0
        after_more_batches()
        assert run.active, "stopped although it was looked at less than abandon_after ago"
        clock.now = 599.0 + 601.0  # nobody has looked for longer than abandon_after
        assert run.join(10)
        p = run.progress()
        assert p.state == R.STOPPED and "10 minutes without anyone watching" in p.message
        assert p.epochs_done < 1_000_000
    finally:
        run.stop()
        run.join(10)

"""TrainingRun: background training with pause/resume/stop, snapshots and error handling.

Most tests use a small fake model that follows the engine's train/callback contract and sleeps a
little per batch, so timing-dependent behaviour is deterministic enough; a few run the real engine.
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

    def __init__(self, batch_sleep=0.004, diverge_at=None, fail_at=None, lr=0.5):
        self.w1 = np.zeros(10)
        self.w2 = np.zeros(10)
        self.batch_sleep = batch_sleep
        self.diverge_at = diverge_at
        self.fail_at = fail_at
        self.lr = lr
        self.stop_training = False
        self.epoch = 0
        self.history = {"epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        self.batch_history = {"epoch": [], "batch": [], "step": [], "loss": [], "accuracy": []}
        self.train_calls = []

    def copy(self):
        return copy.deepcopy(self)

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
    m = FakeModel(batch_sleep=0.003)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)  # 10 batches/epoch
    run.start(3)
    assert wait_for(lambda: run.progress().step >= 3)
    assert run.pause()
    assert run.state == R.PAUSED
    time.sleep(0.05)  # at most one more batch finishes
    s1 = run.progress().step
    time.sleep(0.15)
    assert run.progress().step == s1, "training continued while paused"
    assert m.w1[0] == m.w2[0] == s1
    elapsed_paused = run.progress().elapsed_seconds
    time.sleep(0.1)
    assert run.progress().elapsed_seconds == pytest.approx(elapsed_paused, abs=0.02)  # clock stops
    assert run.progress().eta_seconds is not None
    assert run.resume()
    assert run.join(10)
    p = run.progress()
    assert p.state == R.FINISHED and p.step == 30 and p.epochs_done == 3
    assert m.w1[0] == 30  # no batch lost or repeated


def test_stop_keeps_what_was_learned_and_can_continue():
    m = FakeModel(batch_sleep=0.003)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(5)
    assert wait_for(lambda: run.progress().step >= 4)
    assert run.stop()
    assert run.join(10)
    p = run.progress()
    assert p.state == R.STOPPED
    assert "kept" in p.message
    assert 4 <= p.step < 50
    assert m.w1[0] == p.step  # weights not reset
    run.start(1)  # can train again after a stop
    assert run.join(10)
    assert run.state == R.FINISHED


def test_stop_while_paused():
    m = FakeModel(batch_sleep=0.003)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(3)
    assert wait_for(lambda: run.progress().step >= 2)
    run.pause()
    time.sleep(0.05)
    assert run.stop()
    assert run.join(5)
    assert run.state == R.STOPPED


def test_start_twice_is_refused():
    m = FakeModel(batch_sleep=0.003)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(2)
    with pytest.raises(RuntimeError):
        run.start(1)
    run.stop()
    run.join(5)


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


def test_snapshot_when_idle_paused_and_cached():
    m = FakeModel(batch_sleep=0.003)
    x, y = data(320)
    run = R.TrainingRun(m, x, y, batch_size=32)
    s0 = run.snapshot_model()
    assert s0.w1[0] == 0
    assert run.snapshot_model() is s0  # cached while nothing changes
    run.start(3)
    assert wait_for(lambda: run.progress().step >= 2)
    run.pause()
    time.sleep(0.05)
    s = run.snapshot_model(timeout=2)
    assert np.array_equal(s.w1, s.w2) and s.w1[0] == run.progress().step
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
    m = FakeModel(batch_sleep=0.01)
    x, y = data(32 * 20)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    assert wait_for(lambda: run.progress().step >= 5)
    p = run.progress()
    assert p.active and p.samples_per_second > 0
    assert p.eta_seconds is not None and 0 < p.eta_seconds < 5
    assert 0 < p.fraction < 1
    assert p.current_epoch == 1
    run.stop()
    run.join(5)


def test_seeds_history_from_model():
    m = FakeModel(batch_sleep=0.0)
    x, y = data(64)
    R.TrainingRun(m, x, y, batch_size=32).start(2) or None
    time.sleep(0.2)
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
    run.join(20)
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


def test_real_engine_pause_resume_snapshot():
    _real_engine()
    cfg = R.NetworkConfig(hidden=(R.LayerSpec(16, "relu", 0.1),), seed=1)
    model = R.build_model(cfg)
    rng = np.random.default_rng(0)
    x = rng.random((2000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2000)
    run = R.TrainingRun(model, x, y, val_x=x[:200], val_y=y[:200], batch_size=16)
    run.start(2)
    assert wait_for(lambda: run.progress().step >= 5)
    snap = run.snapshot_model(timeout=5)
    assert snap is not None and snap is not model
    probs = snap.predict(x[:3])
    assert probs.shape == (3, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    run.pause()
    time.sleep(0.1)
    s = run.progress().step
    time.sleep(0.2)
    assert run.progress().step == s
    run.resume()
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


def test_abandoned_run_stops_itself():
    m = FakeModel(batch_sleep=0.005)
    x, y = data(32 * 100)
    run = R.TrainingRun(m, x, y, batch_size=32, abandon_after=0.2)
    run.start(10)
    for _ in range(10):  # someone is watching
        time.sleep(0.05)
        run.touch()
    assert run.active
    assert run.join(10)  # nobody touches it any more
    p = run.progress()
    assert p.state == R.STOPPED and "without anyone watching" in p.message
    assert p.step < 1000

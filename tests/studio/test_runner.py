"""nncore.studio.run.TrainingRun: background training with pause/resume/stop, snapshots and errors.

Most tests use a small honest fake of the engine: it keeps the engine's records (1-based epochs and
batches in ``history``/``batch_history``), calls the callbacks in the engine's order, clears
``stop_training`` when train() begins and raises the engine's own DivergenceError. None races the
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

from nncore.errors import DivergenceError
from nncore.metrics import confusion_matrix, curve_points, downsample_indices, ema, misclassified
from nncore.studio import history as H
from nncore.studio import run as R
from nncore.studio import spec


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
        self.metrics = ["accuracy"]
        self.history = {"epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": []}
        self.batch_history = {"epoch": [], "batch": [], "step": [], "loss": [], "accuracy": []}
        self.train_calls = []
        self.dead = None  # what diagnosis() says

    def diagnosis(self):
        return self.dead

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
        self.stop_training = False
        for cb in callbacks:
            cb.on_train_begin({})
        for _ in range(epochs):
            if self.stop_training:
                break
            epoch = self.epoch + 1
            start_of_epoch = len(self.batch_history["step"])
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            for b in range(1, nb + 1):
                if self.stop_training:
                    return self.history
                if self.diverge_at == (epoch, b):
                    for v in self.batch_history.values():  # the engine rolls the epoch back
                        del v[start_of_epoch:]
                    raise DivergenceError("loss is nan", epoch, b)
                if self.fail_at == (epoch, b):
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
                size = min(batch_size, n - (b - 1) * batch_size)
                self.batch_history["epoch"].append(epoch)
                self.batch_history["batch"].append(b)
                self.batch_history["step"].append(step)
                self.batch_history["loss"].append(loss)
                self.batch_history["accuracy"].append(1 - loss)
                for cb in callbacks:
                    cb.on_batch_end(b, {"epoch": epoch, "loss": loss, "accuracy": 1 - loss, "size": size})
            self.epoch = epoch
            logs = {"epoch": epoch, "loss": loss, "accuracy": 1 - loss, "val_loss": loss * 1.1,
                    "val_accuracy": 1 - loss, "seconds": 0.01}
            for k in self.history:
                self.history[k].append(logs[k])
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
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
    h = m.history
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
    assert m.history["epoch"] == [1, 2]
    assert list(run.curves().epoch_x) == [1.0, 2.0]


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
    assert "kept" in p.message and "during epoch 1 of 5, after 4 of 10 batches" in p.message
    assert p.run_epoch == 1 and p.fraction == pytest.approx(4 / 50)
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


def test_divergence_becomes_a_message():
    m = FakeModel(batch_sleep=0.0, diverge_at=(2, 3), lr=0.5)
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
    assert "epoch 2, batch 3" in p.message
    # the curves show exactly the model's record: the failed epoch's batches were rolled back
    assert p.step == 4 and len(run.curves().batch_x) == 4
    # the session survives: training can start again
    m.diverge_at = None
    run.start(1)
    assert run.join(10)
    assert run.state == R.FINISHED


def test_a_run_that_does_not_learn_is_not_reported_as_finished():
    m = FakeModel()
    m.dead = "The loss has grown to 40, 17× its starting value of 2.3: training is blowing up."
    x, y = data(64)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    assert run.join(10)
    p = run.progress()
    assert p.state == R.FAILED and p.state != R.FINISHED
    assert p.diagnosis == m.dead and m.dead in p.message and "not learning" in p.message


def test_other_exceptions_become_error_state():
    m = FakeModel(batch_sleep=0.0, fail_at=(1, 2))
    x, y = data(128)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    assert run.join(10)
    p = run.progress()
    assert p.state == R.ERROR
    assert "the fake engine broke" in p.message
    assert threading.active_count() >= 1


def test_rate_and_eta_leave_out_the_first_batch(monkeypatch):
    """The first batch also pays for starting (a child process, first-touch memory): counted in, the
    early ETA read minutes. Rate and ETA count from the end of the first batch, as Keras's progress bar
    does; the finished run's rate is all its samples over all its time. (A still clock, no thread.)"""
    run = R.TrainingRun(FakeModel(), *data(32 * 20), batch_size=32)
    monkeypatch.setattr(R.time, "perf_counter", lambda: 114.0)
    with run._lock:
        run._state, run._t_start, run._run_epochs, run._run_epochs_done = R.RUNNING, 100.0, 1, 0
        run._after_first_batch, run._run_samples, run._batch = (10.0, 32), 32, 1  # 10 s to start + 1 batch
    p = run.progress()
    assert p.samples_per_second == 0 and p.eta_seconds is None  # one batch: no estimate yet
    with run._lock:
        run._run_samples, run._batch = 5 * 32, 5  # 4 more batches in the 4 s since
    p = run.progress()
    assert p.samples_per_second == pytest.approx(32.0)  # not 160 / 14 = 11.4
    assert p.eta_seconds == pytest.approx(15.0)  # 15 batches left at 1 s each, not 42 s
    with run._lock:
        run._state, run._t_end = R.FINISHED, 114.0
    assert run.progress().samples_per_second == pytest.approx(160 / 14)


def test_train_signature_mismatch_is_caught():
    class Broken(FakeModel):
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
    assert p.run_epoch == 1
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
    assert m.history["epoch"] == [1, 2, 3]
    assert run2.curves().batch_x[-1] == pytest.approx(3.0)


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


# ------------------------------------------------------------------ reading the model's record
def test_stopped_mid_epoch_and_continued_the_axis_keeps_growing():
    # epoch 1 stopped after 2 of 4 batches, then trained again: epoch 1 in full, then epoch 2
    epochs = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    batches = np.array([1, 2, 1, 2, 3, 4, 1, 2, 3, 4])
    x = H.batch_positions(epochs, batches)
    np.testing.assert_allclose(x, [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5])
    # the epoch in progress is measured against the run's batches per epoch
    np.testing.assert_allclose(H.batch_positions(np.array([1, 1]), np.array([1, 2]), 8), [0.125, 0.25])
    assert np.all(np.diff(x) > 0)


def test_read_record_cuts_to_the_shortest_list():
    rec = {"a": [1, 2, 3], "b": [1, 2]}
    assert H.read_record(rec) == {"a": [1, 2], "b": [1, 2]}
    assert H.last_row(rec) == {"a": 2, "b": 2}
    assert H.last_row({"a": []}) == {}


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


def _ema_reference(values, alpha):
    out, acc, weight, last = [], 0.0, 0.0, float("nan")
    for v in values:
        if np.isfinite(v):
            acc = (1 - alpha) * acc + alpha * v
            weight = (1 - alpha) * weight + alpha
            last = acc / weight
        out.append(last)
    return np.array(out)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.3, 1.0])
def test_vectorised_ema_equals_the_loop(alpha):
    rng = np.random.default_rng(0)
    v = rng.normal(size=5000) + np.linspace(3, 0, 5000)
    v[rng.random(5000) < 0.05] = np.nan
    v[0] = np.nan
    np.testing.assert_allclose(ema(v, alpha), _ema_reference(v, alpha), rtol=1e-12, atol=1e-12, equal_nan=True)


def test_curve_points_smooth_before_downsampling():
    v = np.r_[np.full(500, 2.0), np.full(500, 1.0)]
    idx, raw, smooth = curve_points(v, max_points=10, alpha=0.5)
    assert len(idx) <= 10 and idx[-1] == 999
    np.testing.assert_array_equal(raw, v[idx])
    np.testing.assert_allclose(smooth, ema(v, 0.5)[idx])
    assert smooth[0] == 2.0  # bias-corrected: no lag towards 0 at the start


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


def _dense(hidden, input_size=784, outputs=10, **kw):
    settings = dict(output_activation="softmax", loss="cse", optimizer="adam", lr=1e-3, seed=1)
    settings.update(kw)
    return spec.build(spec.dense_config(input_shape=(input_size,), transform=None, outputs=outputs,
                                        hidden=hidden, **settings))


def test_real_engine_pause_resume_snapshot():
    _real_engine()
    model = _dense([spec.HiddenLayer(16, "relu", 0.1)])
    rng = np.random.default_rng(0)
    x = rng.random((2000, 784), dtype=np.float32)
    y = (x[:, :392].sum(1) > x[:, 392:].sum(1)).astype(int)  # a rule the network can learn
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
    assert len(model.history["val_loss"]) == 2
    assert model.epoch == 2


def test_real_engine_divergence_keeps_finite_weights():
    _real_engine()
    model = _dense([spec.HiddenLayer(32, "leaky_relu")], loss="mse", output_activation="linear", optimizer="sgd",
                   lr=1.0, momentum=0.99)
    rng = np.random.default_rng(0)
    x = (rng.random((512, 784), dtype=np.float32) * 1000).astype(np.float32)
    y = rng.integers(0, 10, 512)
    run = R.TrainingRun(model, x, y, batch_size=32)
    run.start(20)
    assert run.join(60)
    p = run.progress()
    assert p.state == R.DIVERGED, p.message
    assert "lower learning rate" in p.message
    assert np.all(np.isfinite(model.predict(x[:5])))


def test_a_stop_right_after_start_wins():
    _real_engine()
    rng = np.random.default_rng(0)
    x = rng.random((2000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2000)
    for _ in range(20):
        model = _dense([spec.HiddenLayer(16, "relu")])
        run = R.TrainingRun(model, x, y, batch_size=16)  # 125 batches
        run.start(1)
        run.stop()
        assert run.join(60)
        p = run.progress()
        assert p.state == R.STOPPED, p.message
        # at most the batch already in flight when Stop was pressed completes
        assert len(model.batch_history["loss"]) <= 1 and p.step <= 1
        assert model.epoch == 0


def test_real_engine_curves_follow_the_record_after_a_divergence():
    _real_engine()
    model = _dense([spec.HiddenLayer(32, "leaky_relu")], loss="mse", output_activation="linear", optimizer="sgd",
                   lr=1e-7, momentum=0.0)
    rng = np.random.default_rng(0)
    x = (rng.random((512, 784), dtype=np.float32) * 1000).astype(np.float32)
    y = rng.integers(0, 10, 512)
    run = R.TrainingRun(model, x, y, batch_size=32)  # 16 batches per epoch
    run.start(1)
    assert run.join(60) and run.state in (R.FINISHED, R.FAILED)
    model.set_hyperparameters(lr=1.0, momentum=0.99)  # the next epoch blows up and is rolled back
    run.start(3)
    assert run.join(60)
    assert run.state == R.DIVERGED, run.progress().message
    c = run.curves(max_points=10_000)
    assert len(model.batch_history["loss"]) == 16 == run.progress().step
    assert len(c.batch_x) == 16 and c.batch_x[-1] == pytest.approx(1.0)


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

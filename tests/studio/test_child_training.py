"""TrainingRun(processes=True): the real engine trains in a forked child, relayed to the run.

Nothing here races the child: where a test must act while a run is in progress, a callback in the
child holds it at the end of a chosen batch (it waits for a file the test creates), the way
test_runner.py holds its fake model. Results are compared with the same run in a thread: the child
runs the same code on the same numbers, so weights and records must be identical.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from nncore import FFL, NN
from nncore.callbacks import EarlyStopping
from nncore.studio import child_training
from nncore.studio import run as R
from nncore.studio.resources import TrainingSlots, training_processes_from_env
from tests.studio.test_runner import wait_for as _wait_for

pytestmark = pytest.mark.skipif(not child_training.available(), reason="needs fork")
WAIT = 60.0


def model(lr=1e-2, opt="adam", seed=1) -> NN:
    m = NN(seed=seed)
    m.add(FFL(20, 16, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=lr, opt=opt, loss="cse", metrics=["accuracy"])
    return m


def exploding_model() -> NN:
    m = NN(seed=1)
    m.add(FFL(20, 32, activation="leaky_relu"))
    m.add(FFL(neurons=3, activation="linear"))
    m.compile_model(lr=1.0, opt="momentum", loss="mse", metrics=["accuracy"])
    return m


def data(n=480):
    rng = np.random.default_rng(0)
    x = rng.random((n, 20), dtype=np.float32)
    y = (x[:, :7].sum(1) > x[:, 7:14].sum(1)).astype(int) + (x[:, 14:].sum(1) > 3.3)
    return x, y


def wait_for(pred, timeout=WAIT):
    return _wait_for(pred, timeout)


class HoldInChild:
    """A callback that, in the child, waits at the end of batch ``step`` (of this train call) until
    the test creates ``<dir>/release``; it first creates ``<dir>/held``."""

    def __init__(self, directory: Path, step: int) -> None:
        self.dir, self.step, self.seen = Path(directory), step, 0

    def on_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            (self.dir / "held").write_text(str(os.getpid()))
            while not (self.dir / "release").exists():
                time.sleep(0.002)

    @property
    def held(self) -> bool:
        return (self.dir / "held").exists()

    def release(self) -> None:
        (self.dir / "release").write_text("go")


def no_children() -> bool:
    return not [p for p in multiprocessing.active_children() if p.name == "nncore-training-child"]


def strip_seconds(history: dict) -> dict:
    return {k: v for k, v in history.items() if k != "seconds"}


def test_a_child_trains_exactly_as_a_thread():
    x, y = data()
    results = {}
    for processes in (False, True):
        m = model()
        run = R.TrainingRun(m, x, y, val_x=x[:60], val_y=y[:60], batch_size=32, processes=processes)
        assert run.processes is processes
        run.start(3)
        assert run.join(WAIT)
        assert run.state in (R.FINISHED, R.FAILED), run.progress().message
        results[processes] = m
    thread, child = results[False], results[True]
    assert all(np.array_equal(a, b) for a, b in zip(thread.get_weights(), child.get_weights()))
    assert thread.batch_history == child.batch_history
    assert strip_seconds(thread.history) == strip_seconds(child.history)
    assert child.epoch == 3 and child.optimizer.t == thread.optimizer.t == 45
    for k, v in thread.optimizer.state.items():  # Adam's moments came back from the child
        assert np.array_equal(v, child.optimizer.state[k])
    assert thread.rng.bit_generator.state == child.rng.bit_generator.state
    assert child.layer_stats == thread.layer_stats
    assert not child._training
    assert wait_for(no_children)


def test_the_parents_model_shows_the_childs_weights_while_it_trains(tmp_path):
    x, y = data()
    m = model()
    before = [w.copy() for w in m.get_weights()]
    hold = HoldInChild(tmp_path, 5)
    run = R.TrainingRun(m, x, y, batch_size=32, processes=True, callbacks=[hold])
    run.start(2)
    assert wait_for(lambda: hold.held)
    assert int((tmp_path / "held").read_text()) != os.getpid()  # it is another process
    # five batches were trained in the child; the parent's arrays show them (shared memory)
    assert not all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    assert wait_for(lambda: run.progress().step == 5)
    hold.release()
    assert run.join(WAIT)
    assert run.progress().epochs_done == 2


def test_pause_holds_the_child_and_resume_continues_exactly(tmp_path):
    x, y = data()
    m = model()
    hold = HoldInChild(tmp_path, 4)
    run = R.TrainingRun(m, x, y, batch_size=32, processes=True, callbacks=[hold])
    run.start(2)
    assert wait_for(lambda: hold.held)
    assert run.pause()
    hold.release()  # batch 4 is reported: the child then waits for the parent, which pauses
    assert run.wait_parked(WAIT)
    step = run.progress().step
    weights = [w.copy() for w in m.get_weights()]
    snap = run.snapshot_model(timeout=5)
    assert all(np.array_equal(a, b) for a, b in zip(snap.get_weights(), weights))
    time.sleep(0.2)  # a paused child must not move
    assert run.progress().step == step and run.state == R.PAUSED
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))
    assert len(m.batch_history["loss"]) == step
    assert run.resume()
    assert run.join(WAIT)
    assert run.progress().epochs_done == 2 and len(m.batch_history["loss"]) == 30
    assert wait_for(no_children)


def test_step_trains_exactly_one_batch_in_the_child():
    x, y = data()
    m = model()
    run = R.TrainingRun(m, x, y, batch_size=32, processes=True)
    assert run.step(2)
    assert run.wait_parked(WAIT)
    assert run.state == R.PAUSED and run.progress().step == 1
    assert run.step()
    assert wait_for(lambda: run.progress().step == 2 and run.state == R.PAUSED)
    time.sleep(0.1)
    assert run.progress().step == 2 and len(m.batch_history["loss"]) == 2
    assert run.stop()
    assert run.join(WAIT)
    assert run.state == R.STOPPED and m.optimizer.t == 2


def test_stop_while_the_child_runs_free_keeps_what_it_learned(tmp_path):
    x, y = data()
    m = model()
    hold = HoldInChild(tmp_path, 3)
    run = R.TrainingRun(m, x, y, batch_size=32, processes=True, callbacks=[hold])
    run.start(50)
    assert wait_for(lambda: hold.held)
    assert run.stop()
    hold.release()
    assert run.join(WAIT)
    p = run.progress()
    assert p.state == R.STOPPED and "Stopped by you" in p.message
    assert 3 <= len(m.batch_history["loss"]) <= 4  # the batch in flight at most
    assert m.optimizer.t == len(m.batch_history["loss"])
    assert all(np.all(np.isfinite(w)) for w in m.get_weights())
    assert wait_for(no_children)
    run.start(1)  # and it can continue
    assert run.join(WAIT) and m.epoch == 1


def test_hyper_parameter_changes_reach_the_child(tmp_path):
    x, y = data()
    m = model(lr=1e-2)
    hold = HoldInChild(tmp_path, 2)
    run = R.TrainingRun(m, x, y, batch_size=32, processes=True, callbacks=[hold])
    run.start(2)
    assert wait_for(lambda: hold.held)
    m.set_hyperparameters(lr=0.005)  # queued while training, as in a thread
    assert m.optimizer.lr == 1e-2
    hold.release()
    assert run.join(WAIT)
    lrs = m.batch_history["lr"]
    assert lrs[0] == 1e-2 and lrs[-1] == 0.005
    assert m.optimizer.lr == 0.005


def test_divergence_in_the_child_restores_finite_weights():
    x, y = data()
    results = {}
    for processes in (False, True):
        m = exploding_model()
        run = R.TrainingRun(m, x * 1000, y, batch_size=32, processes=processes)
        run.start(20)
        assert run.join(WAIT)
        results[processes] = (run.progress(), m)
    (pt, mt), (pc, mc) = results[False], results[True]
    assert pc.state == R.DIVERGED == pt.state
    assert pc.message == pt.message and "lower learning rate" in pc.message
    assert all(np.all(np.isfinite(w)) for w in mc.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(mt.get_weights(), mc.get_weights()))
    assert mc.batch_history == mt.batch_history


def test_a_killed_child_is_an_error_with_a_sentence(tmp_path):
    x, y = data()
    m = model()
    hold = HoldInChild(tmp_path, 2)
    run = R.TrainingRun(m, x, y, batch_size=32, processes=True, callbacks=[hold])
    run.start(5)
    assert wait_for(lambda: hold.held)
    os.kill(int((tmp_path / "held").read_text()), signal.SIGKILL)
    assert run.join(WAIT)
    p = run.progress()
    assert p.state == R.ERROR and "ended unexpectedly" in p.message
    assert all(np.all(np.isfinite(w)) for w in m.get_weights())
    assert not m._training
    assert wait_for(no_children)


def test_early_stopping_findings_come_back_from_the_child():
    x, y = data()
    m = model(lr=0.05)
    es = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    run = R.TrainingRun(m, x, y, val_x=x[:60], val_y=y[:60], batch_size=32, processes=True, callbacks=[es])
    run.start(40)
    assert run.join(WAIT)
    p = run.progress()
    assert es.best_epoch >= 1 and es.stopped_epoch > 0  # the child's findings, in the parent's object
    assert p.restored_epoch == es.best_epoch and "were restored" in p.message


def test_a_child_run_takes_and_gives_back_its_slot(tmp_path):
    x, y = data()
    slots = TrainingSlots(1)
    hold = HoldInChild(tmp_path, 2)
    first = R.TrainingRun(model(), x, y, batch_size=32, processes=True, slots=slots, owner="a", callbacks=[hold])
    second = R.TrainingRun(model(seed=2), x, y, batch_size=32, processes=True, slots=slots, owner="b")
    first.start(1)
    assert wait_for(lambda: hold.held)
    second.start(1)
    assert second.state == R.QUEUED
    hold.release()
    assert first.join(WAIT) and second.join(WAIT)
    assert first.state in (R.FINISHED, R.FAILED) and second.state in (R.FINISHED, R.FAILED)
    assert slots.status().running == 0


def test_a_paced_child_run_waits_in_the_parent():
    class Clock:
        def __init__(self):
            self.t, self.waits = 0.0, []

        def __call__(self):
            return self.t

        def wait(self, seconds):
            self.waits.append(seconds)
            self.t += seconds

    x, y = data(96)  # 3 batches an epoch
    clock = Clock()
    run = R.TrainingRun(model(), x, y, batch_size=32, processes=True, pace=4, clock=clock, wait=clock.wait)
    run.start(2)
    assert run.join(WAIT)
    assert run.progress().step == 6
    assert clock.waits == [0.25] * 5  # between batches, none after the last


@pytest.mark.parametrize("raw, expected", [("", True), ("1", True), ("on", True), ("0", False), ("off", False)])
def test_the_process_switch_reads_the_environment(raw, expected):
    assert training_processes_from_env({"NNSTUDIO_TRAINING_PROCESSES": raw}) is expected


def test_a_bad_process_switch_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="NNSTUDIO_TRAINING_PROCESSES must be 1 .on. or 0 .off.; received 'maybe'"):
        training_processes_from_env({"NNSTUDIO_TRAINING_PROCESSES": "maybe"})


def test_the_app_trains_full_speed_runs_in_a_child_and_paced_runs_in_a_thread(monkeypatch):
    from pages.ui import sessions

    x, y = data()
    run = R.TrainingRun(model(), x, y, batch_size=32)
    sessions.admit(run, None)
    assert run.processes and run.slots is not None
    sessions.admit(run, 10.0)
    assert not run.processes and run.slots is None
    monkeypatch.setenv("NNSTUDIO_TRAINING_PROCESSES", "0")
    sessions.admit(run, None)
    assert not run.processes and run.slots is not None


def test_the_child_closes_the_servers_sockets_it_inherited(tmp_path):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    inode = os.fstat(listener.fileno()).st_ino

    class SocketsInChild:
        def on_train_begin(self, logs=None):
            inodes = set()
            for fd in os.listdir("/proc/self/fd"):
                try:
                    inodes.add(os.fstat(int(fd)).st_ino)
                except OSError:
                    pass
            (tmp_path / "has_listener").write_text(str(inode in inodes))

    x, y = data()
    run = R.TrainingRun(model(), x, y, batch_size=32, processes=True, callbacks=[SocketsInChild()])
    try:
        run.start(1)
        assert run.join(WAIT) and run.state in (R.FINISHED, R.FAILED)
        assert (tmp_path / "has_listener").read_text() == "False"
    finally:
        listener.close()


def test_each_run_leaves_one_line_in_the_servers_log(caplog):
    import logging
    import re

    x, y = data()
    with caplog.at_level(logging.INFO, logger="nncore.studio.run"):
        for processes in (True, False):
            run = R.TrainingRun(model(), x, y, batch_size=32, processes=processes, owner=f"tab-{processes}")
            run.start(2)
            assert run.join(WAIT)
    lines = [r.getMessage() for r in caplog.records if "ended" in r.getMessage()]
    assert len(lines) == 2
    m = re.match(r"training of tab-True ended \((finished|failed), child process\): 960 samples, "
                 r"trained from ([\d.]+) to ([\d.]+)", lines[0])
    assert m and float(m.group(2)) <= float(m.group(3))
    assert lines[1].startswith("training of tab-False ended (") and "thread): 960 samples" in lines[1]

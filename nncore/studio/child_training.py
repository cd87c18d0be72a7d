"""Training in a child process: the server's interpreter lock stays with the pages.

Why: every session's training used to run in a thread of the one server process. A training thread
gives up Python's interpreter lock around every NumPy call and must win it back afterwards; while
pages' script runs (every poll of a live page is one) hold it, each of those ~50 hand-overs per batch
waits. Measured in the classroom benchmark (bench/load_test.py classroom): two trainings got 0.6 of
a core each and 35k samples/s, against 86k for one alone. A child process has its own interpreter.

How (Linux/macOS ``fork``; see :func:`available`):

* The model's flat parameter buffer is moved into memory shared with children (``mmap``, MAP_SHARED,
  :func:`share_parameters`), so the parent's model shows the child's weights as they change: pages
  read them as before (Inspect, Draw, snapshots).
* The child is forked from the training's own thread and runs ``model.train`` on its copy-on-write
  view of the model and of the read-only data (nothing is copied or pickled going in). A relay
  callback sends every batch's log line and record row, epoch ends and, at the end, the model's
  state (epoch, optimizer state, records, random state, callbacks' findings) through a pipe.
* The parent's thread relays: it calls the run's own ``_on_batch_end`` & co., so counters, pace,
  pause, step, stop, snapshots and slots work exactly as for a thread. While the run needs no say
  from the parent (as fast as possible, nothing requested), the child trains without waiting; one
  shared byte (``hold``) asks it to wait after each batch for the parent's answer (stop, queued
  hyper-parameter changes, go on), which is how pace, pause, step, stop, snapshots and steering act.
* The child runs at a lower priority (``NNSTUDIO_TRAINING_NICE``, default 10): the server's pages
  come first, a training gets every cycle they leave.
* The child's memory (batches, gradients, temporaries) goes back to the system when it exits; the
  pipe only carries our own messages between our own processes (pickled Python values, never user
  files).
"""
from __future__ import annotations

import logging
import mmap
import multiprocessing
import os
import pickle
import stat
import sys
import threading
import traceback
from typing import Any

import numpy as np

from ..errors import DivergenceError

log = logging.getLogger(__name__)

START_METHOD = "fork"
ENV_TRAINING_NICE = "NNSTUDIO_TRAINING_NICE"
#: a training's child process runs this much nicer than the server: pages (script runs, a new user's
#: first page) come first and a training takes every cycle they leave (Linux/macOS nice, 0..19)
DEFAULT_TRAINING_NICE = 10


def training_nice_from_env(environ: dict[str, str] | None = None) -> int:
    """``NNSTUDIO_TRAINING_NICE`` (0..19, default 10): how much lower a training's priority is."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(ENV_TRAINING_NICE) or "").strip()
    if not raw:
        return DEFAULT_TRAINING_NICE
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 19:
        raise ValueError(f"{ENV_TRAINING_NICE} must be a whole number from 0 to 19; received {raw!r}.")
    return value


def available() -> bool:
    """True where a training can run in a forked child (not on Windows)."""
    return START_METHOD in multiprocessing.get_all_start_methods() and sys.platform != "win32"


def share_parameters(model: Any) -> np.ndarray:
    """Move ``model``'s flat parameter buffer into shared memory (once; values kept); returns it."""
    params = model._params
    if params is None:
        raise ValueError("The model has no parameters yet (compile it first).")
    if getattr(model, "_shared_params", None) is params:
        return params
    buffer = mmap.mmap(-1, max(1, params.nbytes))  # anonymous, MAP_SHARED: visible across fork
    shared = np.frombuffer(buffer, dtype=params.dtype, count=params.size)
    model._pack(shared)
    model._shared_params = shared
    return shared


# ----------------------------------------------------------------------------------------------
# Child side
# ----------------------------------------------------------------------------------------------
class _Relay:
    """The child's callback: reports to the parent; waits for its answer while ``hold[0]`` is set."""

    def __init__(self, conn: Any, hold: Any, model: Any) -> None:
        self.conn, self.hold, self.model = conn, hold, model
        self.seq = 0

    def _exchange(self, kind: str, payload: Any) -> None:
        self.seq += 1
        wait = bool(self.hold[0])
        self.conn.send((kind, self.seq, payload, wait))
        if wait:
            stop, changes = self.conn.recv()
            if changes:
                self.model.set_hyperparameters(**changes)  # applied before the next batch
            if stop:
                self.model.stop_training = True

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._exchange("train_begin", None)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.conn.send(("epoch_begin", self.seq, epoch, False))

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        bh = self.model.batch_history
        row = {k: v[-1] for k, v in bh.items() if v}
        self._exchange("batch", (logs or {}, row))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        m = self.model
        row = {k: v[-1] for k, v in m.history.items() if v}
        stats = m.layer_stats[-1] if m.layer_stats else None
        self.conn.send(("epoch_end", self.seq, (epoch, row, stats), False))


def _callback_states(callbacks: list[Any]) -> list[bytes | None]:
    """What each callback found out (e.g. EarlyStopping's best epoch and weights), pickled."""
    out: list[bytes | None] = []
    for cb in callbacks:
        try:
            out.append(pickle.dumps({k: v for k, v in vars(cb).items() if k != "model"}))
        except Exception:  # noqa: BLE001 - a callback without picklable state keeps the parent's
            out.append(None)
    return out


def _final_state(model: Any, callbacks: list[Any]) -> dict[str, Any]:
    opt = model.optimizer
    return {
        "epoch": model.epoch,
        "rng": model.rng.bit_generator.state,
        "optimizer": opt.state_dict(),
        "optimizer_attrs": {k: v for k, v in vars(opt).items()
                            if k not in ("state", "_scratch") and isinstance(v, (bool, int, float, str, type(None)))},
        "l2": [getattr(layer, "l2", None) for layer in model.layers],
        "history": model.history,
        "batch_history": model.batch_history,
        "layer_stats": model.layer_stats,
        "stop_training": model.stop_training,
        "callbacks": _callback_states(callbacks),
    }


def _describe(exc: BaseException) -> dict[str, Any]:
    d = {"type": type(exc).__name__, "text": str(exc), "traceback": traceback.format_exc()}
    if isinstance(exc, DivergenceError):
        d.update(epoch=exc.epoch, batch=exc.batch)
    return d


def _close_inherited_sockets(keep: int) -> int:
    """Close the server's sockets the fork copied (its listening port, the browsers' websockets):
    a copy here would hold a connection the server closed open until this child ends."""
    closed = 0
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc (macOS): the child is short-lived and holds them until it ends
        return 0
    for fd in fds:
        if fd == keep or fd < 3:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
                closed += 1
        except OSError:
            pass
    return closed


def _child_main(conn: Any, hold: Any, model: Any, x: Any, y: Any, kwargs: dict, callbacks: list,
                nice: int) -> None:
    # only this thread exists here: locks another thread of the parent held at the fork are replaced
    model._pending_lock = threading.Lock()
    _close_inherited_sockets(keep=conn.fileno())
    if nice:
        try:
            os.nice(nice)  # threads started from here (BLAS, nncore.parallel) inherit it
        except OSError:
            pass
    try:
        model.train(x, y, callbacks=[_Relay(conn, hold, model), *callbacks], **kwargs)
        failure = None
    except BaseException as exc:  # noqa: BLE001 - everything goes to the parent
        failure = _describe(exc)
    conn.send(("end", 0, (_final_state(model, callbacks), failure), False))
    conn.close()


# ----------------------------------------------------------------------------------------------
# Parent side
# ----------------------------------------------------------------------------------------------
class ChildProcessError(RuntimeError):
    """The training process ended without reporting (killed, e.g. out of memory)."""


def _rebuild(failure: dict[str, Any]) -> BaseException:
    if failure["type"] == "DivergenceError":
        return DivergenceError(failure["text"], epoch=failure.get("epoch"), batch=failure.get("batch"))
    if failure["type"] == "MemoryError":
        return MemoryError(failure["text"])
    return RuntimeError(failure["text"] or failure["type"])


def _apply_final(model: Any, callbacks: list[Any], state: dict[str, Any]) -> None:
    model.epoch = state["epoch"]
    model.rng.bit_generator.state = state["rng"]
    model.optimizer.load_state_dict(state["optimizer"])
    for k, v in state["optimizer_attrs"].items():
        setattr(model.optimizer, k, v)
    for layer, l2 in zip(model.layers, state["l2"]):
        if l2 is not None:
            layer.l2 = l2
    for name in ("history", "batch_history"):
        mine = getattr(model, name)
        mine.clear()
        mine.update(state[name])
    model.layer_stats[:] = state["layer_stats"]
    model.stop_training = state["stop_training"]
    for cb, blob in zip(callbacks, state["callbacks"]):
        if blob is not None:
            vars(cb).update(pickle.loads(blob))  # our own child's message, never a file


def train_in_child(run: Any, kwargs: dict[str, Any]) -> None:
    """``run.model.train(run.x, run.y, **kwargs)`` in a forked child, relayed to ``run`` (a
    TrainingRun: its ``_on_*`` methods, ``_hold`` byte and ``_settled_reply`` are used). Raises what
    the child's training raised (DivergenceError with the weights restored, others as RuntimeError)."""
    model = run.model
    share_parameters(model)
    for cb in run.callbacks:  # as train() does; the child's copies point at the child's model
        try:
            cb.model = model
        except AttributeError:
            pass
    ctx = multiprocessing.get_context(START_METHOD)
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_child_main, name="nncore-training-child", daemon=True,
                       args=(there, run._hold, model, run.x, run.y, kwargs, list(run.callbacks),
                             training_nice_from_env()))
    model._training = True  # steering queues its changes; the relay passes them on
    try:
        proc.start()
        there.close()
        while True:
            try:
                kind, _seq, payload, waiting = here.recv()
            except (EOFError, OSError):
                raise ChildProcessError(
                    "The training process ended unexpectedly (the server may be out of memory)."
                ) from None
            if kind == "end":
                state, failure = payload
                _apply_final(model, run.callbacks, state)
                if failure is not None:
                    log.debug("training child failed:\n%s", failure["traceback"])
                    raise _rebuild(failure)
                return
            if kind == "train_begin":
                run._on_train_begin()
            elif kind == "epoch_begin":
                run._on_epoch_begin()
            elif kind == "batch":
                logs, row = payload
                bh = model.batch_history
                for k, v in row.items():
                    bh.setdefault(k, []).append(v)
                run._on_batch_end(logs, settled=waiting)
            elif kind == "epoch_end":
                epoch, row, stats = payload
                for k, v in row.items():
                    model.history.setdefault(k, []).append(v)
                if stats is not None:
                    model.layer_stats.append(stats)
                model.epoch = epoch
                run._on_epoch_end()
            run._update_hold()
            if waiting:
                here.send(run._settled_reply())
    finally:
        model._training = False
        if proc.is_alive():
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        here.close()
        model._apply_pending()  # a change queued during the last batch applies now, as in train()

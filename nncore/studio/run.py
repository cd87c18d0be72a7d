"""Train an nncore model in a background thread and report progress safely to a UI.

Pure Python (no Streamlit). One :class:`TrainingRun` per user session: the dashboard keeps it in
``st.session_state`` and polls :meth:`TrainingRun.progress` / :meth:`TrainingRun.curves` about once a
second while the worker thread runs ``model.train`` with a callback that counts batches (progress
bar, samples/s, ETA), blocks on an Event while paused (Resume continues exactly where it stopped)
and copies the model at a batch boundary when a consistent snapshot is requested.

The record of what was learned is the model's own: ``model.history`` (per epoch) and
``model.batch_history`` (per batch). The run keeps counters only and reads those records for its
curves and readings (safe while the worker appends: lengths are read first, then the lists sliced).
After a divergence the engine rolls its batch record back, so the curves show exactly that.

A stop wins whenever it comes, even before the first batch. A run that ends with every epoch done
but a model that does not learn (``model.diagnosis()``) ends as FAILED with that sentence.

Pace: ``pace`` is None (as fast as possible) or batches per second; it may change while the run
trains and is applied between batches by waiting on an Event, so Pause, Stop, Step and a new pace
interrupt the wait at once. :meth:`TrainingRun.step` trains exactly one mini-batch and pauses
(from idle, paused, or a run that has ended: then it starts a new run). Engine callbacks (early
stopping, learning-rate schedules) given as ``callbacks`` are passed to ``model.train``.

Admission (``slots``, a :class:`nncore.studio.resources.TrainingSlots`, e.g. the process-wide
``process_slots()``): :meth:`TrainingRun.start` asks for a slot for ``owner`` (one training per owner);
while none is free the run is QUEUED (:attr:`Progress.queued_ahead` runs before it) and its worker
waits before the first batch. A paused run holds no slot (it computes nothing); Resume (and Step)
asks again and may queue. Pause and Stop work while queued (Pause leaves the queue, Resume joins it
again at the end). The slot is given back whatever ends the run. Without ``slots`` every run starts
at once.
"""
from __future__ import annotations

import logging
import math
import mmap
import numbers
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from nncore.errors import DivergenceError

from . import child_training
from .history import Curves, curves, last_row

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# States
# ----------------------------------------------------------------------------------------------
IDLE = "idle"  # never trained by this run
QUEUED = "queued"  # started, waiting for a free training slot (admission control)
RUNNING = "running"
PAUSED = "paused"
STOPPING = "stopping"  # stop requested, waiting for the current batch to finish
STOPPED = "stopped"  # stopped by the user (or abandoned); weights kept
FINISHED = "finished"  # all requested epochs done and the model learns
FAILED = "failed"  # all requested epochs done, but the model does not learn (see Progress.diagnosis)
DIVERGED = "diverged"  # loss became NaN/inf; the engine restored the last finite weights
ERROR = "error"  # any other exception in the worker

ACTIVE_STATES = frozenset({QUEUED, RUNNING, PAUSED, STOPPING})
TERMINAL_STATES = frozenset({STOPPED, FINISHED, FAILED, DIVERGED, ERROR})


@dataclass(frozen=True)
class Progress:
    """A consistent, immutable reading of a run (or of a model's record), safe to hand to any thread."""

    state: str = IDLE
    message: str = ""
    #: the engine's sentence when the model looks dead or exploding (model.diagnosis()), else None
    diagnosis: str | None = None
    epochs_done: int = 0  # epochs completed by the model, whole record
    run_epochs: int = 0  # epochs requested by the current/last start()
    run_epochs_done: int = 0  # of those, completed
    batch: int = 0  # batches completed in the epoch in progress (or the one a stop interrupted)
    batches_per_epoch: int = 0
    step: int = 0  # batches in the model's record
    samples_per_second: float = 0.0
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0
    last_loss: float | None = None  # of the latest batch in the model's record
    last_accuracy: float | None = None
    last_epoch: dict[str, Any] = field(default_factory=dict)  # the latest row of model.history
    #: while QUEUED: trainings waiting before this one for a slot (0: next), else None
    queued_ahead: int | None = None
    pace: float | None = None  # batches per second, None = as fast as possible
    #: the epoch whose weights early stopping restored at the end of the last run (else None)
    restored_epoch: int | None = None
    #: the last run had early stopping (its ending ``message`` says what it did)
    early_stopping: bool = False

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def run_epoch(self) -> int:
        """1-based epoch of this run in progress (or interrupted, or the last one done)."""
        if self.active or (self.state == STOPPED and self.batch):
            return min(self.run_epochs_done + 1, max(self.run_epochs, 1))
        return self.run_epochs_done

    @property
    def fraction(self) -> float:
        """Share of the requested run done, 0..1."""
        per = max(self.batches_per_epoch, 1)
        total = self.run_epochs * per
        if total <= 0:
            return 0.0
        return float(min(1.0, max(0.0, (self.run_epochs_done * per + self.batch) / total)))


# ----------------------------------------------------------------------------------------------
# Readings of a model's record
# ----------------------------------------------------------------------------------------------
def _finite_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def check_pace(pace: Any) -> float | None:
    """``pace`` as batches per second (a finite number > 0) or None (as fast as possible)."""
    if pace is None:
        return None
    if isinstance(pace, bool) or not isinstance(pace, numbers.Real) or not (math.isfinite(pace) and pace > 0):
        raise ValueError(f"pace must be a number of batches per second > 0, or None for as fast as possible; got {pace!r}.")
    return float(pace)


def model_progress(model: Any) -> Progress:
    """A reading of a model nobody trains now (e.g. loaded from a file): its record's last values."""
    return _with_record(Progress(epochs_done=int(getattr(model, "epoch", 0) or 0)), model)


def _with_record(p: Progress, model: Any) -> Progress:
    from dataclasses import replace

    metric = (list(getattr(model, "metrics", None) or []) or ["accuracy"])[0]
    bh = getattr(model, "batch_history", None) or {}
    row = last_row({k: bh[k] for k in ("loss", metric) if k in bh})  # indexes the last row; copies nothing
    step = len(bh.get("loss", []) or [])
    epoch = last_row(getattr(model, "history", None) or {})
    return replace(
        p,
        step=step,
        last_loss=_finite_or_none(row.get("loss")),
        last_accuracy=_finite_or_none(row.get("accuracy")),
        last_epoch={k: v for k, v in epoch.items()},
    )


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------
class _SnapshotRequest:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.model: Any = None


class _Callback:
    """The object passed to ``model.train(callbacks=[...])``; forwards to the run."""

    def __init__(self, run: "TrainingRun") -> None:
        self._run = run

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._run._on_train_begin()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._run._on_epoch_begin()

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._run._on_batch_end(logs or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._run._on_epoch_end()


class TrainingRun:
    """Owns one background training thread for one model.

    ``model``: a compiled nncore ``NN``. ``x``, ``y``: raw training samples (n, *sample shape) and
    labels (class ids (n,) or targets (n, k)), e.g. read-only arrays shared by every session.
    ``val_x``, ``val_y``: optional validation data, evaluated by the engine after every epoch.
    ``abandon_after``: stop a run nobody has looked at (:meth:`touch`) for this many seconds.
    ``pace``: batches per second (None: as fast as possible); change it any time with :meth:`set_pace`.
    ``callbacks``: engine callbacks (e.g. ``nncore.callbacks.EarlyStopping``) for every run; :meth:`start`
    may replace them. ``clock`` and ``wait`` (``wait(seconds)``, returning early when woken) exist
    for tests: the pace is computed with ``clock`` and waited with ``wait``.
    ``processes``: train in a forked child process (:mod:`.child_training`), relayed by the thread;
    everything else works the same. May be changed between runs (``sessions.admit`` does).
    """

    def __init__(
        self,
        model: Any,
        x: np.ndarray,
        y: np.ndarray,
        *,
        val_x: np.ndarray | None = None,
        val_y: np.ndarray | None = None,
        batch_size: int = 128,
        shuffle: bool = True,
        abandon_after: float | None = None,
        slots: Any | None = None,
        owner: Any | None = None,
        pace: float | None = None,
        callbacks: Sequence[Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], Any] | None = None,
        processes: bool = False,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}.")
        if len(x) == 0:
            raise ValueError("The training set is empty.")
        if batch_size < 1:
            raise ValueError("The batch size must be at least 1.")
        self.model = model
        self.x, self.y = x, y
        self.val_x, self.val_y = val_x, val_y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.n_train = int(len(x))
        self.batches_per_epoch = int(math.ceil(self.n_train / self.batch_size))
        self.abandon_after = abandon_after
        self._last_touch = time.monotonic()
        self._abandoned = False
        self.slots = slots
        self.owner = owner if owner is not None else f"run-{id(self)}"
        self._ticket: Any = None  # the SlotTicket of the current run (None without slots)
        self._stop_reason: str | None = None

        self._lock = threading.RLock()
        self._resume = threading.Event()
        self._resume.set()
        self._thread: threading.Thread | None = None
        self._state = IDLE
        self._message = ""
        self._diagnosis: str | None = None
        self._traceback = ""
        self._busy = False  # True while the worker may be changing weights
        self._pause_requested = False
        self._stop_requested = False
        self._snap_request: _SnapshotRequest | None = None
        self._snap_cache: Any = None
        self._snap_cache_key: tuple | None = None
        self._version = 0  # changes whenever the weights may have changed (snapshot cache key)
        self.callbacks: list[Any] = list(callbacks or [])
        self.processes = bool(processes) and child_training.available()
        self._hold: Any = None  # shared byte: the child waits for an answer after each batch while set

        # pace and step
        self._pace = check_pace(pace)
        self._clock = clock
        self._wake = threading.Event()  # interrupts a pace wait (pause, stop, step, new pace)
        self._wait = wait or self._wake.wait
        self._interval_start: float | None = None  # clock time the batch in progress was released
        self._step_pending = False  # pause after the next completed batch (Step)
        self._parked = threading.Event()  # set while the worker waits paused, or has ended
        self._parked.set()

        # counters of the current/last run
        self._run_epochs = 0
        self._run_epochs_done = 0
        self._batch = 0
        self._run_samples = 0
        self._t_start = 0.0
        self._after_first_batch: tuple[float, int] | None = None  # (active seconds, samples) then
        self._t_end: float | None = None
        self._paused_total = 0.0
        self._pause_started: float | None = None

    # ------------------------------------------------------------------ control
    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def start(self, epochs: int, callbacks: Sequence[Any] | None = None) -> None:
        """Train ``epochs`` more epochs in the background (with ``callbacks`` when given, else the
        run's). Raises RuntimeError if already training."""
        with self._lock:
            self._start_locked(epochs, callbacks, step=False)

    def _start_locked(self, epochs: int, callbacks: Sequence[Any] | None, step: bool) -> None:
        epochs = int(epochs)
        if epochs < 1:
            raise ValueError("Train at least one epoch.")
        if self._state in ACTIVE_STATES or (self._thread is not None and self._thread.is_alive()):
            raise RuntimeError("Training is already in progress.")
        self._request_slot_locked()  # may raise SlotBusyError; nothing has changed yet
        if callbacks is not None:
            self.callbacks = list(callbacks)
        self._step_pending = bool(step)
        self._parked.clear()
        self._interval_start = None
        self._state = RUNNING
        self._message = ""
        self._diagnosis = None
        self._traceback = ""
        self._busy = True
        self._pause_requested = False
        self._stop_requested = False
        self._abandoned = False
        self._last_touch = time.monotonic()
        self._resume.set()
        self._run_epochs = epochs
        self._run_epochs_done = 0
        self._batch = 0
        self._run_samples = 0
        self._t_start = time.perf_counter()
        self._after_first_batch = None
        self._t_end = None
        self._paused_total = 0.0
        self._pause_started = None
        self._stop_reason = None
        self._enter_queue_locked()
        self._version += 1
        self._hold = mmap.mmap(-1, 1) if self.processes else None
        self._update_hold_locked()
        self._thread = threading.Thread(target=self._worker, args=(epochs,), name="nncore-training", daemon=True)
        self._thread.start()

    def pause(self) -> bool:
        """Pause after the current batch. Returns False if there is nothing to pause."""
        with self._lock:
            if self._state == QUEUED:  # leave the queue; Resume joins it again
                self._ticket.cancel()
                self._pause_requested = True
                self._resume.clear()
                self._state = PAUSED
                self._parked.set()  # its worker waits without touching the weights
                self._update_hold_locked()
                return True
            if self._state != RUNNING:
                return False
            self._pause_locked()
            self._wake.set()  # a pace wait ends now; the worker parks
            return True

    def _pause_locked(self) -> None:
        self._pause_requested = True
        self._resume.clear()
        self._state = PAUSED
        self._pause_started = time.perf_counter()
        self._update_hold_locked()

    def resume(self) -> bool:
        """Continue a paused run exactly where it stopped."""
        with self._lock:
            if self._state != PAUSED:
                return False
            self._step_pending = False
            self._resume_locked()
            return True

    def _resume_locked(self) -> None:
        self._pause_requested = False
        if self._pause_started is not None:
            self._paused_total += time.perf_counter() - self._pause_started
            self._pause_started = None
        self._state = RUNNING
        self._parked.clear()
        if self._ticket is not None and not self._ticket.granted:  # the pause gave the slot back
            self._request_slot_locked()
            self._enter_queue_locked()
        self._update_hold_locked()
        self._resume.set()

    def step(self, epochs: int = 1, callbacks: Sequence[Any] | None = None) -> bool:
        """Train exactly one mini-batch, then pause.

        Paused: the next batch runs and the run pauses again. Idle or ended: a new run of ``epochs``
        epochs starts (with ``callbacks`` when given) and pauses after its first batch. Running: the
        run pauses after the batch in progress. The last batch of a run is not followed by a pause:
        the run ends as usual. Returns False when there is nothing to do (stopping).
        Use :meth:`wait_parked` to wait until the batch is done.
        """
        with self._lock:
            if self._state == RUNNING:
                self._pause_locked()
                self._wake.set()
                return True
            if self._state == QUEUED:  # one batch once the slot is granted
                self._step_pending = True
                self._update_hold_locked()
                return True
            if self._state == PAUSED:
                self._step_pending = True
                self._resume_locked()
                return True
            if self._state == STOPPING:
                return False
            self._start_locked(epochs, callbacks, step=True)
            return True

    def wait_parked(self, timeout: float | None = None) -> bool:
        """Wait until the worker waits paused or has ended (e.g. after :meth:`step`); True when it does."""
        return self._parked.wait(timeout)

    def stop(self, reason: str | None = None) -> bool:
        """Stop after the current batch (or before the first one, or in the queue), keeping everything
        learned so far. ``reason``: the run's closing message instead of "Stopped by you…"."""
        with self._lock:
            if self._state not in (QUEUED, RUNNING, PAUSED):
                return False
            if self._ticket is not None:
                self._ticket.cancel()  # leaves the queue (does nothing to a granted slot)
            self._stop_reason = reason
            self._stop_requested = True
            self._step_pending = False
            # the engine clears stop_training when train() begins; _on_train_begin sets it again
            self.model.stop_training = True
            if self._pause_started is not None:
                self._paused_total += time.perf_counter() - self._pause_started
                self._pause_started = None
            self._pause_requested = False
            self._state = STOPPING
            self._update_hold_locked()
            self._resume.set()
            self._wake.set()
            return True

    # ------------------------------------------------------------------ pace
    @property
    def pace(self) -> float | None:
        """Batches per second (None: as fast as possible)."""
        with self._lock:
            return self._pace

    def set_pace(self, pace: float | None) -> None:
        """Change the pace, also while training: the wait after the current batch is recomputed at once."""
        pace = check_pace(pace)
        with self._lock:
            self._pace = pace
            self._update_hold_locked()
            self._wake.set()

    def pace_delay(self, now: float | None = None) -> float:
        """Seconds the worker still waits before the next batch at the current pace (0 without a
        pace): batches are released ``1 / pace`` seconds apart; a wait that overslept is made up,
        a batch slower than the interval is not caught up."""
        with self._lock:
            return self._pace_delay_locked(self._clock() if now is None else now)

    def _next_release_locked(self, now: float) -> float:
        """When the batch released now counts as released: on the pace's grid when the worker is at
        most one interval late (a wait that overslept is made up), else now (a slow batch or a
        pause is not caught up)."""
        if self._pace is None or self._interval_start is None:
            return now
        due = self._interval_start + 1.0 / self._pace
        return due if now - due <= 1.0 / self._pace else now

    def _pace_delay_locked(self, now: float) -> float:
        if self._pace is None or self._interval_start is None:
            return 0.0
        return max(0.0, self._interval_start + 1.0 / self._pace - now)

    def drop_caches(self) -> None:
        """Forget the cached snapshot (a model copy); the next :meth:`snapshot_model` makes a new one."""
        with self._lock:
            self._snap_cache = None
            self._snap_cache_key = None

    def touch(self) -> None:
        """Someone is watching (a page polled this run): keeps an ``abandon_after`` run alive."""
        self._last_touch = time.monotonic()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker thread; True when it is no longer running."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    # ------------------------------------------------------------------ readings
    def _active_seconds_locked(self, now: float) -> float:
        """Seconds this run has trained by ``now``: since Start, less paused and queued time."""
        if not self._t_start:
            return 0.0
        paused = self._paused_total
        if self._pause_started is not None:
            paused += now - self._pause_started
        return max(0.0, now - self._t_start - paused)

    def _steady_rate_locked(self, elapsed: float) -> float:
        """Samples/s while a run trains, counted from the end of its first batch (as Keras's progress
        bar does): the first batch also pays for starting (a child process, first-touch memory), which
        would make the early ETA minutes too long. 0.0 until a second batch has ended."""
        if self._after_first_batch is None:
            return 0.0
        t1, n1 = self._after_first_batch
        if self._run_samples <= n1 or elapsed <= t1:
            return 0.0
        return (self._run_samples - n1) / (elapsed - t1)

    def progress(self) -> Progress:
        with self._lock:
            now = self._t_end if self._t_end is not None else time.perf_counter()
            elapsed = self._active_seconds_locked(now)
            if self._state in ACTIVE_STATES:
                rate = self._steady_rate_locked(elapsed)
            else:  # ended: all its samples over all its time
                rate = self._run_samples / elapsed if elapsed > 0 and self._run_samples else 0.0
            eta = None
            if self._state in ACTIVE_STATES and rate > 0:
                done = self._run_epochs_done * self.batches_per_epoch + self._batch
                remaining = max(0, self._run_epochs * self.batches_per_epoch - done) * min(self.batch_size, self.n_train)
                eta = remaining / rate
            elif self._state in TERMINAL_STATES:
                eta = 0.0
            p = Progress(
                state=self._state,
                message=self._message,
                diagnosis=self._diagnosis,
                epochs_done=int(getattr(self.model, "epoch", 0) or 0),
                run_epochs=self._run_epochs,
                run_epochs_done=self._run_epochs_done,
                batch=self._batch,
                batches_per_epoch=self.batches_per_epoch,
                samples_per_second=rate,
                eta_seconds=eta,
                elapsed_seconds=elapsed,
                queued_ahead=self._ticket.ahead if self._state == QUEUED and self._ticket is not None else None,
                pace=self._pace,
                restored_epoch=self._restored_epoch_locked(),
                early_stopping=self._early_stopping() is not None,
            )
        return _with_record(p, self.model)

    @property
    def error_traceback(self) -> str:
        """The full traceback of the last worker error (for logs, not for users)."""
        with self._lock:
            return self._traceback

    def curves(self, max_points: int = 300, smoothing: float | None = None) -> Curves:
        """Downsampled curves of the model's record, cheap enough to plot every second, with the
        marks of hyper-parameter changes and of the best epoch (see :func:`history.curves`)."""
        with self._lock:
            restored = self._restored_epoch_locked()
        return curves(self.model, max_points, self.batches_per_epoch, smoothing=smoothing, restored_epoch=restored)

    def snapshot_model(self, timeout: float = 10.0) -> Any:
        """A consistent copy of the model, taken between two batches.

        While the worker trains, the copy is made by the worker itself at the end of a batch;
        otherwise it is made directly under the lock (the worker cannot start changing weights
        meanwhile). Copies are cached until the weights change, so polling is cheap. Treat the
        result as read-only. Returns None if the worker did not reach a batch boundary in ``timeout``.
        """
        with self._lock:
            if self._snap_cache is not None and self._snap_cache_key == self._key():
                return self._snap_cache
            if not self._busy:
                return self._make_snapshot_locked()
            req = self._snap_request
            if req is None:
                req = self._snap_request = _SnapshotRequest()
                self._update_hold_locked()
        if req.done.wait(timeout):
            return req.model
        with self._lock:
            return self._snap_cache

    # ------------------------------------------------------------------ worker side
    def _key(self) -> tuple:
        return (self._version, len(getattr(self.model, "batch_history", {}).get("loss", []) or []))

    def _make_snapshot_locked(self) -> Any:
        snap = self.model.copy()
        self._snap_cache = snap
        self._snap_cache_key = self._key()
        return snap

    def _serve_snapshot_locked(self) -> None:
        req = self._snap_request
        if req is None:
            return
        self._snap_request = None
        try:
            req.model = self._make_snapshot_locked()
        except Exception:
            log.exception("snapshot failed")
            req.model = self._snap_cache
        req.done.set()

    def _on_train_begin(self) -> None:
        with self._lock:
            self._interval_start = self._clock()
            if self._stop_requested:  # a Stop pressed before the engine started wins
                self.model.stop_training = True

    def _on_epoch_begin(self) -> None:
        with self._lock:
            self._batch = 0

    def _last_batch_of_run_locked(self) -> bool:
        return self._run_epochs_done + 1 >= self._run_epochs and self._batch >= self.batches_per_epoch

    def _on_batch_end(self, logs: dict, settled: bool = True) -> None:
        """After a batch. ``settled``: the weights rest until this returns (always for a thread; for a
        child process, when it waits for the answer): only then are snapshots served and the pace and
        a pause waited for."""
        with self._lock:
            self._batch += 1
            self._version += 1
            size = logs.get("size")
            self._run_samples += int(size) if size is not None else self.batch_size
            if self._after_first_batch is None:
                self._after_first_batch = (self._active_seconds_locked(time.perf_counter()), self._run_samples)
            if settled:
                self._serve_snapshot_locked()
            if (
                self.abandon_after is not None
                and not self._stop_requested
                and time.monotonic() - self._last_touch > self.abandon_after
            ):
                self._abandoned = True
                self._stop_requested = True
                self._pause_requested = False
                self.model.stop_training = True
            if self._stop_requested:
                self.model.stop_training = True
            if self._step_pending and not self._stop_requested:
                self._step_pending = False
                if not self._last_batch_of_run_locked():  # the last batch ends the run as usual
                    self._pause_locked()
        if settled:
            self._wait_for_pace()
            self._wait_while_paused()

    # ------------------------------------------------------------------ child process
    def _update_hold_locked(self) -> None:
        """A child process waits after each batch for the parent's answer while the run needs a say:
        a pace, a pause, a step, a stop, a snapshot or a queued hyper-parameter change."""
        if self._hold is None:
            return
        need = (self._pace is not None or self._pause_requested or self._step_pending or self._stop_requested
                or self._snap_request is not None or bool(getattr(self.model, "_pending", None)))
        self._hold[0] = 1 if need else 0

    def _update_hold(self) -> None:
        with self._lock:
            self._update_hold_locked()

    def _settled_reply(self) -> tuple[bool, dict[str, float]]:
        """The answer to a child waiting after a batch: (stop?, hyper-parameter changes queued). The
        changes apply to the parent's model at once too, so pages read the rate the next batch uses."""
        m = self.model
        changes = m._apply_pending()
        with self._lock:
            stop = bool(m.stop_training) or self._stop_requested
        return stop, changes

    def _wait_for_pace(self) -> None:
        """Hold the worker until the pace releases the next batch; a pause, a stop or a new pace
        wakes it at once (the delay is then recomputed). Snapshots are served meanwhile."""
        while True:
            with self._lock:
                if self._stop_requested or self._pause_requested:
                    return
                last = self._last_batch_of_run_locked()  # nothing follows it to hold back
                now = self._clock()
                delay = 0.0 if last else self._pace_delay_locked(now)
                if delay <= 0:
                    self._interval_start = self._next_release_locked(now)
                    self._busy = True
                    return
                self._wake.clear()
                if self._busy:
                    self._busy = False  # weights are still: snapshots are taken directly
                    self._serve_snapshot_locked()
            self._wait(delay)

    def _wait_while_paused(self) -> None:
        with self._lock:
            must_wait = self._pause_requested and not self._stop_requested
            if not must_wait:
                self._busy = True
                return
            self._busy = False
            self._serve_snapshot_locked()
            self._release_slot_locked()  # a paused run computes nothing: it holds no slot
            self._parked.set()
        while not self._resume.wait(0.25):  # blocks here while paused; stop() also sets the event
            pass
        self._wait_for_slot()  # resume() asked for a slot again; a stop meanwhile ends the run
        with self._lock:
            self._parked.clear()
            self._busy = True
            self._interval_start = self._clock()

    def _on_epoch_end(self) -> None:
        with self._lock:
            self._run_epochs_done += 1
            self._batch = 0

    def _worker(self, epochs: int) -> None:
        model = self.model
        outcome, message, diagnosis, tb = FINISHED, "", None, ""
        trained_from: float | None = None
        try:
            kwargs: dict[str, Any] = dict(epochs=epochs, batch_size=self.batch_size, shuffle=self.shuffle, verbose=0)
            if self.val_x is not None and self.val_y is not None and len(self.val_x):
                kwargs.update(val_x=self.val_x, val_y=self.val_y)
            if self._wait_for_slot():  # False: stopped while queued, nothing trained
                trained_from = time.time()
                if self._hold is not None:
                    # the child gets the run's callbacks; the relay calls this run's _on_* itself
                    child_training.train_in_child(self, kwargs)
                else:
                    model.train(self.x, self.y, callbacks=[_Callback(self), *self.callbacks], **kwargs)
                diagnosis = model.diagnosis()
            with self._lock:
                outcome, message = self._ending()
                if outcome == FINISHED and diagnosis:
                    outcome, message = FAILED, f"Finished {self._run_epochs_done} epoch(s), but the network is not learning: {diagnosis}"
        except DivergenceError as exc:
            tb = traceback.format_exc()
            outcome, message = DIVERGED, divergence_message(exc, model)
        except Exception as exc:  # noqa: BLE001 - the worker must never die with an exception
            tb = traceback.format_exc()
            outcome, message = ERROR, error_message(exc)
            log.error("training failed:\n%s", tb)
        finally:
            if trained_from is not None:  # one line per run for the server's log (and bench/classroom.py)
                log.info("training of %s ended (%s, %s): %d samples, trained from %.3f to %.3f (wall clock)",
                         self.owner, outcome, "child process" if self._hold is not None else "thread",
                         self._run_samples, trained_from, time.time())
            with self._lock:
                self._state = outcome
                self._message = message
                self._diagnosis = diagnosis
                self._traceback = tb
                self._t_end = time.perf_counter()
                if self._pause_started is not None:
                    self._paused_total += self._t_end - self._pause_started
                    self._pause_started = None
                self._busy = False
                self._version += 1
                self._serve_snapshot_locked()
                self._release_slot_locked()
                self._resume.set()
                self._step_pending = False
                self._parked.set()  # the last thing this thread does: a new start may follow at once

    def _early_stopping(self) -> Any:
        """The run's EarlyStopping callback, if any."""
        from nncore.callbacks import EarlyStopping

        return next((cb for cb in self.callbacks if isinstance(cb, EarlyStopping)), None)

    def _restored_epoch_locked(self) -> int | None:
        if self._state not in TERMINAL_STATES or self._state == DIVERGED:
            return None
        es = self._early_stopping()
        if es is None or not es.restore_best_weights or es.best_weights is None or not es.best_epoch:
            return None
        return int(es.best_epoch)

    # ------------------------------------------------------------------ training slot
    def _request_slot_locked(self) -> None:
        """Ask ``slots`` for a slot for ``owner`` (granted at once when one is free, else queued)."""
        if self.slots is not None:
            self._ticket = self.slots.request(self.owner)

    def _enter_queue_locked(self) -> None:
        """QUEUED when the ticket waits; the wait counts as paused time (samples/s, ETA)."""
        if self._ticket is not None and self._ticket.queued:
            self._state = QUEUED
            if self._pause_started is None:
                self._pause_started = time.perf_counter()

    def _release_slot_locked(self) -> None:
        if self._ticket is not None:
            self._ticket.release()

    def _wait_for_slot(self) -> bool:
        """Worker: block until the run holds a slot (True) or is stopped (False). Paused while
        queued, it waits for Resume (which asks for a slot again) or Stop."""
        if self.slots is None:  # no admission control: nothing to wait for (and no lock to take)
            return True
        while True:
            with self._lock:
                if self._stop_requested:
                    return False
                ticket = self._ticket
                if ticket is None or ticket.granted:
                    if self._state == QUEUED:
                        self._state = RUNNING
                        if self._pause_started is not None:
                            self._paused_total += time.perf_counter() - self._pause_started
                            self._pause_started = None
                    return True
                paused = self._pause_requested
                if not paused and not ticket.queued:  # gave its slot back without a pause: ask again
                    self._request_slot_locked()
                    self._enter_queue_locked()
                    continue
            if paused:
                self._resume.wait()  # resume() and stop() set it
            else:
                ticket.wait()  # granted, or cancelled by pause()/stop()

    def _ending(self) -> tuple[str, str]:
        """(state, message) of a train() call that returned normally."""
        if self._abandoned:
            return STOPPED, (
                f"Stopped after {self.abandon_after / 60:.0f} minutes without anyone watching "
                "(the browser tab was closed?); everything learned so far is kept."
            )
        if self._stop_requested and self._stop_reason:
            return STOPPED, self._stop_reason
        if self._stop_requested:
            return STOPPED, stop_message(self._run_epochs_done, self._run_epochs, self._batch, self.batches_per_epoch)
        es = self._early_stopping()
        if es is not None:
            return FINISHED, early_stopping_message(es, self._run_epochs_done, self._run_epochs)
        return FINISHED, f"Finished {self._run_epochs_done} epoch(s)."


# ----------------------------------------------------------------------------------------------
# Messages
# ----------------------------------------------------------------------------------------------
def stop_message(epochs_done: int, epochs: int, batch: int, batches_per_epoch: int) -> str:
    """What a user reads after pressing Stop (epochs counted within the run, like the progress bar)."""
    if batch:
        return (
            f"Stopped by you during epoch {epochs_done + 1} of {epochs}, after {batch:,} of "
            f"{batches_per_epoch:,} batches; everything learned so far is kept."
        )
    if epochs_done:
        return f"Stopped by you after epoch {epochs_done} of {epochs}; everything learned so far is kept."
    return "Stopped by you before the first batch; the model is unchanged."


def early_stopping_message(es: Any, epochs_done: int, epochs: int) -> str:
    """What a user reads after a run with early stopping (``es``: nncore.callbacks.EarlyStopping)."""
    what = es.monitor.replace("val_", "validation ").replace("_", " ")
    restored = es.restore_best_weights and es.best_weights is not None and es.best_epoch
    if es.stopped_epoch:
        text = (f"Stopped early after epoch {es.stopped_epoch} ({epochs_done} of {epochs} in this run): the {what} "
                f"had not improved for {es.patience} epoch{'s' if es.patience != 1 else ''}.")
    else:
        text = f"Finished {epochs_done} epoch(s); early stopping was not needed."
    if restored:
        text += f" The weights of epoch {es.best_epoch}, the best {what} ({es.best:.4g}), were restored."
    elif es.best_epoch:
        text += f" The best {what} was at epoch {es.best_epoch}."
    return text


def divergence_message(exc: DivergenceError, model: Any = None) -> str:
    where = f" (epoch {exc.epoch}, batch {exc.batch})" if getattr(exc, "epoch", None) is not None else ""
    lr = getattr(model, "lr", None)
    hint = f" Try a lower learning rate, e.g. {lr / 10:g} instead of {lr:g}." if lr else " Try a lower learning rate."
    return (
        f"Training diverged{where}: the loss became NaN or infinite, so it was stopped. "
        f"The weights were restored to their last finite values.{hint}"
    )


def error_message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "Training ran out of memory. Use fewer training samples or a smaller network."
    return f"Training stopped because of an error: {str(exc).strip() or type(exc).__name__}"

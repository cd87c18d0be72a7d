"""Train an nncore model in a background thread and report progress safely to a UI.

Pure Python (no Streamlit). One :class:`TrainingRun` per user session: the dashboard keeps it in
``st.session_state`` and polls :meth:`TrainingRun.progress` / :meth:`TrainingRun.curves` about once a
second while the worker thread runs ``model.train`` with a callback that

* counts batches and samples (progress bar, samples/s, ETA),
* records per-batch and per-epoch points for the live curves,
* blocks on an Event while paused (so Resume continues exactly where it stopped),
* copies the model at a batch boundary when a consistent snapshot is requested.

Stopping sets ``model.stop_training``; everything learned so far is kept. Any exception in the worker
(``DivergenceError`` or otherwise) becomes a state plus a human-readable message and never escapes
the thread.

This module also holds the plain-data description of a network (:class:`NetworkConfig`), its
validation with messages meant for people, and the MNIST preparation used by the dashboard.
"""
from __future__ import annotations

import copy as _copy
import logging
import math
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------------------------
# States
# ----------------------------------------------------------------------------------------------
IDLE = "idle"  # never trained by this runner
RUNNING = "running"
PAUSED = "paused"
STOPPING = "stopping"  # stop requested, waiting for the current batch to finish
STOPPED = "stopped"  # stopped by the user; weights kept
FINISHED = "finished"  # all requested epochs done
DIVERGED = "diverged"  # loss became NaN/inf; last finite weights kept
ERROR = "error"  # any other exception in the worker

ACTIVE_STATES = frozenset({RUNNING, PAUSED, STOPPING})
TERMINAL_STATES = frozenset({STOPPED, FINISHED, DIVERGED, ERROR})

OPTIMIZERS = ("sgd", "iterative", "momentum", "rmsprop", "adagrad", "adam", "adamax", "adadelta")
HIDDEN_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "linear")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")
LOSSES = ("cse", "mse")
#: optimizers that use the momentum rate ``mr``
MOMENTUM_OPTIMIZERS = frozenset({"sgd"})


@dataclass(frozen=True)
class Progress:
    """A consistent, immutable reading of a run, safe to hand to any thread."""

    state: str = IDLE
    message: str = ""
    epochs_done: int = 0  # epochs completed by the model, whole record
    run_epochs: int = 0  # epochs requested by the current/last start()
    run_epochs_done: int = 0  # of those, completed
    batch: int = 0  # batches completed in the current epoch
    batches_per_epoch: int = 0
    step: int = 0  # batches completed by this runner, whole record
    samples_per_second: float = 0.0
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0
    last_loss: float | None = None
    last_accuracy: float | None = None
    last_epoch: dict[str, float] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def current_epoch(self) -> int:
        """1-based number (whole record) of the epoch being trained, or of the last one trained."""
        if self.active:
            return self.epochs_done + 1
        return self.epochs_done

    @property
    def fraction(self) -> float:
        """Share of the requested run done, 0..1."""
        total = self.run_epochs * max(self.batches_per_epoch, 1)
        if total <= 0:
            return 0.0
        done = self.run_epochs_done * max(self.batches_per_epoch, 1)
        if self.active:
            done += self.batch
        return float(min(1.0, max(0.0, done / total)))


@dataclass
class Curves:
    """Downsampled series for plotting.

    ``*_x`` count passes over the training data (fractional for batches), so the axis keeps growing
    even when a run is stopped mid-epoch and continued (the engine then repeats that epoch number).
    """

    batch_x: np.ndarray
    batch_loss: np.ndarray
    batch_accuracy: np.ndarray
    batch_loss_smooth: np.ndarray
    batch_accuracy_smooth: np.ndarray
    epoch_x: np.ndarray
    epoch_number: np.ndarray
    epoch_loss: np.ndarray
    epoch_accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray

    @property
    def empty(self) -> bool:
        return len(self.batch_x) == 0 and len(self.epoch_x) == 0


class _SnapshotRequest:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.model: Any = None


def copy_model(model: Any) -> Any:
    """An independent deep copy (``model.copy()`` when the engine has it)."""
    fn = getattr(model, "copy", None)
    if callable(fn):
        return fn()
    return _copy.deepcopy(model)


def _finite_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class _Callback:
    """The object passed to ``model.train(callbacks=[...])``; forwards to the runner."""

    def __init__(self, run: "TrainingRun") -> None:
        self._run = run

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._run._on_epoch_begin()

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._run._on_batch_end(batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._run._on_epoch_end(logs or {})


class TrainingRun:
    """Owns one background training thread for one model.

    Parameters
    ----------
    model:
        A compiled nncore ``NN`` (or anything with the same ``train`` contract).
    x, y:
        Training inputs (n, features) and labels (int (n,) or one-hot (n, k)).
    val_x, val_y:
        Optional validation data, evaluated by the engine after every epoch.
    batch_size, shuffle:
        Passed to ``model.train``.
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
        smoothing: float | None = None,
        abandon_after: float | None = None,
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
        # EMA weight of the smoothed curve: about an eighth of an epoch, between 0.05 and 0.3
        self._alpha = float(smoothing) if smoothing else min(0.3, max(0.05, 8.0 / self.batches_per_epoch))
        #: stop a run nobody has looked at (touch()) for this many seconds (a closed browser tab)
        self.abandon_after = abandon_after
        self._last_touch = time.monotonic()
        self._abandoned = False

        self._lock = threading.RLock()
        self._resume = threading.Event()
        self._resume.set()
        self._thread: threading.Thread | None = None
        self._state = IDLE
        self._message = ""
        self._traceback = ""
        self._busy = False  # True while the worker may be changing weights
        self._pause_requested = False
        self._stop_requested = False
        self._snap_request: _SnapshotRequest | None = None
        self._snap_cache: Any = None
        self._snap_cache_key: tuple | None = None

        # counters of the current/last run
        self._run_epochs = 0
        self._run_epochs_done = 0
        self._batch = 0
        self._run_samples = 0
        self._t_start = 0.0
        self._t_end: float | None = None
        self._paused_total = 0.0
        self._pause_started: float | None = None
        self._last_loss: float | None = None
        self._last_acc: float | None = None

        # records (whole model record; seeded from the model)
        self._epochs_done = int(getattr(model, "epoch", 0) or 0)
        self._b_x: list[float] = []
        self._b_loss: list[float] = []
        self._b_acc: list[float] = []
        self._b_loss_s: list[float] = []
        self._b_acc_s: list[float] = []
        self._ema = [0.0, 0.0, 0.0, 0.0]  # loss acc, loss weight, acc acc, acc weight
        self._epoch_logs: list[dict[str, float]] = []
        self._x_pos = 0.0  # passes over the training data so far (x axis of the curves)
        self._seed_from_model()
        if self._epoch_logs:
            self._x_pos = max(self._x_pos, float(self._epoch_logs[-1]["x"]))

    # ------------------------------------------------------------------ seeding
    def _seed_from_model(self) -> None:
        hist = getattr(self.model, "history", None) or {}
        try:
            n = len(hist.get("loss", []))
            for i in range(n):
                row: dict[str, float] = {}
                for key, values in hist.items():
                    if i < len(values):
                        row[key] = values[i]
                row["epoch"] = i + 1
                row["x"] = float(i + 1)
                self._epoch_logs.append(row)
            if n > self._epochs_done:
                self._epochs_done = n
        except Exception:  # a model with an odd history is still trainable
            log.debug("could not read model.history", exc_info=True)
            self._epoch_logs = []

        bh = getattr(self.model, "batch_history", None) or {}
        try:
            losses = list(bh.get("loss", []))
            accs = list(bh.get("accuracy", [np.nan] * len(losses)))
            epochs = list(bh.get("epoch", []))
            batches = list(bh.get("batch", []))
            if losses and len(epochs) == len(losses) == len(batches):
                e = np.asarray(epochs, dtype=np.float64)
                b = np.asarray(batches, dtype=np.float64)
                ebase = 1.0 if e.min() >= 1 else 0.0  # epochs and batches may count from 0 or 1
                bbase = 1.0 if b.min() >= 1 else 0.0
                nb = max(1.0, b.max() - bbase + 1)
                xs = (e - ebase) + (b - bbase + 1) / nb
                for xv, lv, av in zip(xs, losses, accs):
                    self._append_batch_point(float(xv), lv, av)
                self._x_pos = float(xs[-1])
        except Exception:
            log.debug("could not read model.batch_history", exc_info=True)

    # ------------------------------------------------------------------ control
    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def start(self, epochs: int) -> None:
        """Train ``epochs`` more epochs in the background. Raises RuntimeError if already training."""
        epochs = int(epochs)
        if epochs < 1:
            raise ValueError("Train at least one epoch.")
        with self._lock:
            if self._state in ACTIVE_STATES or (self._thread is not None and self._thread.is_alive()):
                raise RuntimeError("Training is already in progress.")
            self._state = RUNNING
            self._message = ""
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
            self._t_end = None
            self._paused_total = 0.0
            self._pause_started = None
            self._thread = threading.Thread(
                target=self._worker, args=(epochs,), name="nncore-training", daemon=True
            )
            self._thread.start()

    def pause(self) -> bool:
        """Pause after the current batch. Returns False if there is nothing to pause."""
        with self._lock:
            if self._state != RUNNING:
                return False
            self._pause_requested = True
            self._resume.clear()
            self._state = PAUSED
            self._pause_started = time.perf_counter()
            return True

    def resume(self) -> bool:
        """Continue a paused run exactly where it stopped."""
        with self._lock:
            if self._state != PAUSED:
                return False
            self._pause_requested = False
            if self._pause_started is not None:
                self._paused_total += time.perf_counter() - self._pause_started
                self._pause_started = None
            self._state = RUNNING
            self._resume.set()
            return True

    def stop(self) -> bool:
        """Stop after the current batch, keeping everything learned so far."""
        with self._lock:
            if self._state not in (RUNNING, PAUSED):
                return False
            self._stop_requested = True
            try:
                self.model.stop_training = True
            except Exception:
                pass
            if self._pause_started is not None:
                self._paused_total += time.perf_counter() - self._pause_started
                self._pause_started = None
            self._pause_requested = False
            self._state = STOPPING
            self._resume.set()
            return True

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
    def progress(self) -> Progress:
        with self._lock:
            now = self._t_end if self._t_end is not None else time.perf_counter()
            elapsed = 0.0
            if self._t_start:
                paused = self._paused_total
                if self._pause_started is not None:
                    paused += now - self._pause_started
                elapsed = max(0.0, now - self._t_start - paused)
            rate = self._run_samples / elapsed if elapsed > 0 and self._run_samples else 0.0
            eta = None
            if self._state in ACTIVE_STATES and rate > 0:
                total_batches = self._run_epochs * self.batches_per_epoch
                done_batches = self._run_epochs_done * self.batches_per_epoch + self._batch
                remaining = max(0, total_batches - done_batches) * min(self.batch_size, self.n_train)
                eta = remaining / rate
            elif self._state in TERMINAL_STATES:
                eta = 0.0
            return Progress(
                state=self._state,
                message=self._message,
                epochs_done=self._epochs_done,
                run_epochs=self._run_epochs,
                run_epochs_done=self._run_epochs_done,
                batch=self._batch,
                batches_per_epoch=self.batches_per_epoch,
                step=len(self._b_x),
                samples_per_second=rate,
                eta_seconds=eta,
                elapsed_seconds=elapsed,
                last_loss=self._last_loss,
                last_accuracy=self._last_acc,
                last_epoch=dict(self._epoch_logs[-1]) if self._epoch_logs else {},
            )

    @property
    def error_traceback(self) -> str:
        """The full traceback of the last worker error (for logs, not for users)."""
        with self._lock:
            return self._traceback

    def history(self) -> dict[str, list]:
        """Per-epoch record as a dict of lists (a copy)."""
        with self._lock:
            rows = [dict(r) for r in self._epoch_logs]
        keys: list[str] = []
        for r in rows:
            for k in r:
                if k not in keys:
                    keys.append(k)
        return {k: [r.get(k, float("nan")) for r in rows] for k in keys}

    def batch_history(self) -> dict[str, list]:
        """Per-batch record (a copy): x (epochs, fractional), loss, accuracy and smoothed versions."""
        with self._lock:
            return {
                "x": list(self._b_x),
                "loss": list(self._b_loss),
                "accuracy": list(self._b_acc),
                "loss_smooth": list(self._b_loss_s),
                "accuracy_smooth": list(self._b_acc_s),
            }

    def curves(self, max_points: int = 300) -> Curves:
        """Downsampled copies of the records, cheap enough to plot every second."""
        with self._lock:
            n = len(self._b_x)
            idx = _downsample(n, max_points)
            bx = np.asarray(self._b_x, dtype=np.float64)[idx] if n else np.zeros(0)
            bl = np.asarray(self._b_loss, dtype=np.float64)[idx] if n else np.zeros(0)
            ba = np.asarray(self._b_acc, dtype=np.float64)[idx] if n else np.zeros(0)
            bls = np.asarray(self._b_loss_s, dtype=np.float64)[idx] if n else np.zeros(0)
            bas = np.asarray(self._b_acc_s, dtype=np.float64)[idx] if n else np.zeros(0)
            rows = list(self._epoch_logs)

        def col(key: str) -> np.ndarray:
            return np.asarray([_nan(r.get(key)) for r in rows], dtype=np.float64)

        return Curves(
            batch_x=bx,
            batch_loss=bl,
            batch_accuracy=ba,
            batch_loss_smooth=bls,
            batch_accuracy_smooth=bas,
            epoch_x=np.asarray([r.get("x", r.get("epoch", i + 1)) for i, r in enumerate(rows)], dtype=np.float64),
            epoch_number=np.asarray([r.get("epoch", i + 1) for i, r in enumerate(rows)], dtype=np.int64),
            epoch_loss=col("loss"),
            epoch_accuracy=col("accuracy"),
            val_loss=col("val_loss"),
            val_accuracy=col("val_accuracy"),
        )

    def snapshot_model(self, timeout: float = 10.0) -> Any:
        """A consistent copy of the model, taken between two batches.

        While the worker trains, the copy is made by the worker itself inside ``on_batch_end``;
        otherwise it is made directly under the lock (the worker cannot start changing weights
        meanwhile). Copies are cached per batch step, so polling is cheap. Treat the result as
        read-only. Returns None if the worker did not reach a batch boundary within ``timeout``.
        """
        with self._lock:
            key = (len(self._b_x), self._epochs_done)
            if self._snap_cache is not None and self._snap_cache_key == key:
                return self._snap_cache
            if not self._busy:
                return self._make_snapshot_locked()
            req = self._snap_request
            if req is None:
                req = self._snap_request = _SnapshotRequest()
        if req.done.wait(timeout):
            return req.model
        with self._lock:
            return self._snap_cache

    # ------------------------------------------------------------------ worker side
    def _make_snapshot_locked(self) -> Any:
        snap = copy_model(self.model)
        self._snap_cache = snap
        self._snap_cache_key = (len(self._b_x), self._epochs_done)
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

    def _append_batch_point(self, xv: float, loss: Any, acc: Any) -> None:
        lv = _nan(loss)
        av = _nan(acc)
        a = self._alpha
        e = self._ema
        if math.isfinite(lv):
            e[0] = (1 - a) * e[0] + a * lv
            e[1] = (1 - a) * e[1] + a
        if math.isfinite(av):
            e[2] = (1 - a) * e[2] + a * av
            e[3] = (1 - a) * e[3] + a
        self._b_x.append(xv)
        self._b_loss.append(lv)
        self._b_acc.append(av)
        self._b_loss_s.append(e[0] / e[1] if e[1] else float("nan"))
        self._b_acc_s.append(e[2] / e[3] if e[3] else float("nan"))

    def _on_epoch_begin(self) -> None:
        with self._lock:
            self._batch = 0

    def _on_batch_end(self, batch: int, logs: dict) -> None:
        with self._lock:
            self._batch += 1
            size = logs.get("size")
            try:
                size = int(size) if size is not None else None
            except (TypeError, ValueError):
                size = None
            if size is None:
                size = min(self.batch_size, self.n_train - (self._batch - 1) * self.batch_size)
            self._run_samples += max(0, size)
            self._x_pos += max(0, size) / self.n_train
            self._append_batch_point(self._x_pos, logs.get("loss"), logs.get("accuracy"))
            self._last_loss = _finite_or_none(logs.get("loss"))
            self._last_acc = _finite_or_none(logs.get("accuracy"))
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
            must_wait = self._pause_requested and not self._stop_requested
            if must_wait:
                self._busy = False
                self._serve_snapshot_locked()
        if must_wait:
            # blocks here while paused; stop() also sets the event
            while not self._resume.wait(0.25):
                pass
            with self._lock:
                self._busy = True

    def _on_epoch_end(self, logs: dict) -> None:
        with self._lock:
            self._epochs_done += 1
            self._run_epochs_done += 1
            row = {k: _plain(v) for k, v in logs.items()}
            row["epoch"] = self._epochs_done
            self._x_pos = round(self._x_pos, 6)
            row["x"] = self._x_pos
            self._epoch_logs.append(row)
            self._batch = 0

    def _worker(self, epochs: int) -> None:
        model = self.model
        outcome, message, tb = FINISHED, "", ""
        try:
            try:
                model.stop_training = False
            except Exception:
                pass
            kwargs: dict[str, Any] = dict(
                epochs=epochs,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                callbacks=[_Callback(self)],
                verbose=0,
            )
            if self.val_x is not None and self.val_y is not None and len(self.val_x):
                kwargs.update(val_split=0.0, val_x=self.val_x, val_y=self.val_y)
            else:
                kwargs.update(val_split=0.0)
            model.train(self.x, self.y, **kwargs)
            with self._lock:
                if self._abandoned:
                    outcome = STOPPED
                    message = (
                        f"Stopped after {self.abandon_after / 60:.0f} minutes without anyone watching "
                        "(the browser tab was closed?); everything learned so far is kept."
                    )
                elif self._stop_requested:
                    outcome = STOPPED
                    message = (
                        f"Stopped by you during epoch {self._epochs_done + 1}, after {self._batch} of "
                        f"{self.batches_per_epoch} batches; everything learned so far is kept."
                        if self._batch
                        else f"Stopped by you after epoch {self._epochs_done}; everything learned so far is kept."
                    )
                else:
                    message = f"Finished {self._run_epochs_done} epoch(s)."
        except Exception as exc:  # noqa: BLE001 - the worker must never die with an exception
            tb = traceback.format_exc()
            if _is_divergence(exc):
                outcome = DIVERGED
                message = divergence_message(exc, self)
            else:
                outcome = ERROR
                message = error_message(exc)
                log.error("training failed:\n%s", tb)
        finally:
            with self._lock:
                self._state = outcome
                self._message = message
                self._traceback = tb
                self._t_end = time.perf_counter()
                if self._pause_started is not None:
                    self._paused_total += self._t_end - self._pause_started
                    self._pause_started = None
                self._busy = False
                # the engine's own count wins if it differs (e.g. a partial epoch on stop)
                eng = getattr(model, "epoch", None)
                if isinstance(eng, (int, np.integer)) and eng >= self._epochs_done:
                    self._epochs_done = int(eng)
                self._serve_snapshot_locked()
                self._resume.set()


# ----------------------------------------------------------------------------------------------
# Messages
# ----------------------------------------------------------------------------------------------
def _is_divergence(exc: BaseException) -> bool:
    try:
        from nncore.errors import DivergenceError
    except Exception:  # pragma: no cover - engine not importable
        DivergenceError = None  # type: ignore[assignment]
    if DivergenceError is not None and isinstance(exc, DivergenceError):
        return True
    return type(exc).__name__ == "DivergenceError"


def divergence_message(exc: BaseException, run: TrainingRun | None = None) -> str:
    where = ""
    ep = getattr(exc, "epoch", None)
    b = getattr(exc, "batch", None)
    if ep is not None and b is not None:
        where = f" (epoch {ep}, batch {b})"
    lr = None
    if run is not None:
        lr = _learning_rate(run.model)
    hint = f" Try a lower learning rate, e.g. {lr / 10:g} instead of {lr:g}." if lr else (
        " Try a lower learning rate."
    )
    return (
        f"Training diverged{where}: the loss became NaN or infinite, so it was stopped. "
        f"The weights were restored to their last finite values.{hint}"
    )


def error_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "Training ran out of memory. Use fewer training samples or a smaller network."
    return f"Training stopped because of an error: {text}"


def _learning_rate(model: Any) -> float | None:
    for attr in ("lr", "learning_rate"):
        v = getattr(model, attr, None)
        if isinstance(v, (int, float)) and v > 0:
            return float(v)
    try:
        cfg = model.get_config()
        for path in (("lr",), ("compile", "lr"), ("optimizer", "lr"), ("compile_args", "lr")):
            cur: Any = cfg
            for p in path:
                cur = cur.get(p) if isinstance(cur, dict) else None
            if isinstance(cur, (int, float)) and cur > 0:
                return float(cur)
    except Exception:
        pass
    opt = getattr(model, "optimizer", None)
    v = getattr(opt, "lr", None)
    if isinstance(v, (int, float)) and v > 0:
        return float(v)
    return None


def _nan(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def _downsample(n: int, max_points: int) -> np.ndarray:
    from nncore.metrics import downsample_indices

    return downsample_indices(n, max_points)


# ----------------------------------------------------------------------------------------------
# Network configuration (plain data) and validation messages for people
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerSpec:
    neurons: int = 128
    activation: str = "relu"
    dropout: float = 0.0


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that defines a freshly built model (architecture + compile settings + seed)."""

    hidden: tuple[LayerSpec, ...] = (LayerSpec(128, "relu", 0.0), LayerSpec(64, "relu", 0.0))
    output_activation: str = "softmax"
    loss: str = "cse"
    optimizer: str = "adam"
    lr: float = 1e-3
    mr: float = 0.9
    seed: int = 0
    inputs: int = 784
    outputs: int = 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def shape_text(self) -> str:
        """E.g. ``784-128-64-10``."""
        return "-".join(str(n) for n in [self.inputs, *[h.neurons for h in self.hidden], self.outputs])


@dataclass(frozen=True)
class TrainSettings:
    """What can change between runs without rebuilding the model."""

    n_samples: int = 10_000
    val_fraction: float = 0.1
    batch_size: int = 128
    epochs: int = 3

    @property
    def n_train(self) -> int:
        return self.n_samples - int(round(self.n_samples * self.val_fraction))


def validate_network(cfg: NetworkConfig) -> dict[str, str]:
    """Problems with a network configuration, keyed by the setting they belong to."""
    problems: dict[str, str] = {}
    if cfg.loss == "cse" and cfg.output_activation != "softmax":
        problems["loss"] = (
            "Cross-entropy (cse) needs a softmax output, which turns the ten outputs into "
            "probabilities that sum to 1. Choose softmax as the output activation, or use mse."
        )
    if cfg.optimizer not in OPTIMIZERS:
        problems["optimizer"] = f"Unknown optimizer {cfg.optimizer!r}."
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        problems["lr"] = "The learning rate must be a positive number."
    elif cfg.lr > 1.0:
        problems["lr"] = "A learning rate above 1 almost always diverges; use 1 or less."
    if cfg.optimizer in MOMENTUM_OPTIMIZERS and not (0.0 <= cfg.mr < 1.0):
        problems["mr"] = "The momentum rate must be at least 0 and below 1."
    for i, h in enumerate(cfg.hidden):
        if h.neurons < 1:
            problems[f"hidden{i}"] = f"Hidden layer {i + 1} needs at least one neuron."
        if not (0.0 <= h.dropout < 1.0):
            problems[f"hidden{i}"] = f"Hidden layer {i + 1}: dropout must be at least 0 and below 1."
    return problems


def validate_training(settings: TrainSettings) -> dict[str, str]:
    """Problems with the data/run settings, keyed by the setting they belong to."""
    problems: dict[str, str] = {}
    if settings.n_samples < 10:
        problems["n_samples"] = "Use at least 10 training samples."
    if not (0.0 <= settings.val_fraction < 0.9):
        problems["val_fraction"] = "The validation split must be between 0 and 0.9."
    n_train = settings.n_train
    if settings.batch_size < 1:
        problems["batch_size"] = "The batch size must be at least 1."
    elif settings.batch_size > n_train:
        problems["batch_size"] = (
            f"The batch size ({settings.batch_size:,}) is larger than the training set "
            f"({n_train:,} samples after the validation split). Lower the batch size or use "
            "more samples."
        )
    if settings.epochs < 1:
        problems["epochs"] = "Train at least one epoch."
    return problems


def build_model(cfg: NetworkConfig) -> Any:
    """A compiled nncore NN for ``cfg``."""
    from nncore import FFL, NN, Dropout

    model = NN(seed=int(cfg.seed), dtype="float32")
    n_in = cfg.inputs
    for h in cfg.hidden:
        model.add(FFL(n_in, int(h.neurons), activation=h.activation))
        if h.dropout > 0:
            model.add(Dropout(float(h.dropout)))
        n_in = int(h.neurons)
    model.add(FFL(n_in, cfg.outputs, activation=cfg.output_activation))
    kwargs: dict[str, Any] = dict(lr=float(cfg.lr), opt=cfg.optimizer, loss=cfg.loss, metrics=["accuracy"])
    if cfg.optimizer in MOMENTUM_OPTIMIZERS:
        kwargs["mr"] = float(cfg.mr)
    model.compile_model(**kwargs)
    return model


def prepare_mnist(
    n_samples: int,
    val_fraction: float,
    seed: int = 0,
    loader: Callable[[], Any] | None = None,
    scaled: bool = True,
) -> dict[str, np.ndarray]:
    """A stratified MNIST subset, split: x_train, y_train, x_val, y_val (int labels).

    ``scaled=True`` returns float32 (n, 784) inputs in [0, 1] (:func:`nncore.datasets.scale`);
    ``scaled=False`` keeps the uint8 images (4x smaller, e.g. for caching; see :func:`scale_data`).
    """
    from nncore import datasets

    (x, y), _ = (loader or datasets.load_mnist)()
    n = int(min(max(1, n_samples), len(x)))
    if n < len(x):
        x, y = datasets.stratified_subset(x, y, n, seed=seed)
    if val_fraction > 0:
        (x_tr, y_tr), (x_val, y_val) = datasets.train_val_split(x, y, val_fraction, seed=seed)
    else:
        x_tr, y_tr = x, y
        x_val, y_val = x[:0], y[:0]
    out = {"x_train": x_tr, "y_train": np.asarray(y_tr), "x_val": x_val, "y_val": np.asarray(y_val)}
    return scale_data(out) if scaled else out


def scale_data(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """uint8 images of a :func:`prepare_mnist` result → float32 (n, 784) model inputs."""
    from nncore import datasets

    out = dict(data)
    for key in ("x_train", "x_val"):
        x = data[key]
        out[key] = datasets.scale(x) if len(x) else np.zeros((0, 784), np.float32)
    return out


def config_from_model(model: Any) -> NetworkConfig | None:
    """The NetworkConfig that rebuilds ``model``'s architecture and compile settings, or None when
    the model cannot be described by one (e.g. another input size, a layer without bias)."""
    try:
        cfg = model.get_config()
        layers = cfg["layers"]
        hidden: list[LayerSpec] = []
        dense = [spec for spec in layers if spec.get("type") == "FFL"]
        if not dense:
            return None
        pending_dropout = None
        out_act = None
        for i, spec in enumerate(layers):
            kind, c = spec.get("type"), spec.get("config", {})
            if kind == "Dropout":
                if not hidden or pending_dropout is not None or hidden[-1].dropout:
                    return None
                hidden[-1] = LayerSpec(hidden[-1].neurons, hidden[-1].activation, float(c.get("rate", 0.0)))
                continue
            if kind != "FFL" or not c.get("is_bias", True) or c.get("l2"):
                return None
            act = c.get("activation") or "linear"
            if spec is dense[-1]:
                if i != len(layers) - 1:
                    return None
                out_act = act
                outputs = int(c["neurons"])
            else:
                if act not in HIDDEN_ACTIVATIONS:
                    return None
                hidden.append(LayerSpec(int(c["neurons"]), act, 0.0))
        shape = dense[0]["config"]["input_shape"]
        inputs = int(np.prod(shape))
        if out_act not in OUTPUT_ACTIVATIONS:
            return None
        comp = cfg.get("compile") or {}
        opt = (comp.get("optimizer") or {}).get("name", "adam")
        if opt not in OPTIMIZERS:
            return None
        opt_cfg = (comp.get("optimizer") or {}).get("config", {})
        mr = opt_cfg.get("momentum", comp.get("mr", 0.9)) if opt in MOMENTUM_OPTIMIZERS else 0.9
        return NetworkConfig(
            hidden=tuple(hidden),
            output_activation=out_act,
            loss=comp.get("loss", "cse"),
            optimizer=opt,
            lr=float(comp.get("lr", 1e-3)),
            mr=float(mr if mr is not None else 0.9),
            seed=int(cfg.get("seed") or 0),
            inputs=inputs,
            outputs=outputs,
        )
    except Exception:
        log.debug("config_from_model failed", exc_info=True)
        return None


def curves_of(model: Any, max_points: int = 300) -> Curves:
    """Curves of a model's recorded history without training it (e.g. a model loaded from a file)."""
    if model is None:
        e = np.zeros(0)
        return Curves(e, e, e, e, e, e, np.zeros(0, np.int64), e, e, e, e)
    run = TrainingRun(model, np.zeros((1, 1), np.float32), np.zeros(1), batch_size=1)
    return run.curves(max_points)

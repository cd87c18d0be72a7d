"""Keras-style training callbacks: stop early, lower the learning rate on a plateau, follow a schedule.

Pass them to ``NN.train(..., callbacks=[...])``. Epochs are numbered as in ``model.history["epoch"]``
(from 1, counting on over several ``train`` calls). Learning-rate changes go through
``model.set_hyperparameters(lr=...)`` and so apply from the next batch; every epoch's rate is in
``history["lr"]``.

>>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
>>> model.train(x, y, epochs=100, val_split=0.1, callbacks=[stop])
>>> stop.best_epoch, stop.stopped_epoch
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, ClassVar

import numpy as np

from . import schedules as _schedules
from .model import Callback
from .registry import lookup, positive

__all__ = [
    "Callback",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "CALLBACKS",
    "get",
    "get_config",
    "from_config",
]

VALID_MODES = ("auto", "min", "max")
#: metrics that are better when larger (mode "auto" maximises them)
HIGHER_IS_BETTER = ("accuracy", "r2")


# ---------------------------------------------------------------------- argument checks
def _monitor(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"monitor must be the name of a history value such as 'val_loss'; got {value!r}.")
    return value


def _patience(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an integer ≥ 0 (epochs); got {value!r}.")
    return int(value)


def _mode(value: Any) -> str:
    if value not in VALID_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, VALID_MODES))}; got {value!r}.")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def resolve_mode(monitor: str, mode: str) -> str:
    """"min" or "max": "auto" maximises accuracy and r2 (with or without "val_"), minimises the rest."""
    if mode != "auto":
        return mode
    base = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if base in HIGHER_IS_BETTER else "min"


def monitorable_keys(model: Any, validation: bool) -> list[str]:
    """History values a callback can watch in this run: losses, metrics and, with validation data,
    their val_ versions."""
    metrics = list(getattr(model, "metrics", None) or [])
    keys = ["loss", "data_loss", *metrics]
    if validation:
        keys += ["val_loss", *(f"val_{m}" for m in metrics)]
    return keys


def _check_monitor(callback: str, monitor: str, model: Any, logs: dict | None) -> None:
    """ValueError at train begin when `monitor` will not be in the epoch logs of this run."""
    validation = bool((logs or {}).get("validation", True))
    keys = monitorable_keys(model, validation)
    if monitor in keys:
        return
    hint = ""
    if monitor.startswith("val_") and not validation:
        hint = " (there is no validation data: pass val_split or val_x/val_y to train)"
    raise ValueError(
        f"{callback} monitors {monitor!r}, which this training run does not record{hint}. "
        f"Available: {', '.join(map(repr, keys))}."
    )


def _current_lr(model: Any) -> float:
    """The rate the next batch will use: a queued set_hyperparameters(lr=...) wins over the optimizer's."""
    lock = getattr(model, "_pending_lock", None)
    pending = getattr(model, "_pending", None)
    if lock is not None and pending is not None:
        with lock:
            if "lr" in pending:
                return float(pending["lr"])
    return float(model.optimizer.lr)


class _Monitoring(Callback):
    """Shared part of callbacks that watch one history value for improvement."""

    def __init__(self, monitor: str, min_delta: float, mode: str):
        self.monitor = _monitor(monitor)
        self.min_delta = positive("min_delta", min_delta, allow_zero=True)
        self.mode = _mode(mode)
        self.best = math.nan

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "_Monitoring":
        return cls(**config)

    @property
    def direction(self) -> str:
        """"min" or "max" for this monitor and mode."""
        return resolve_mode(self.monitor, self.mode)

    def _initial_best(self) -> float:
        return math.inf if self.direction == "min" else -math.inf

    def _improved(self, current: float) -> bool:
        """Keras rule: better than the best by more than min_delta."""
        if self.direction == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def _value(self, logs: dict | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            return None
        value = float(value)
        return value if math.isfinite(value) else None


# ---------------------------------------------------------------------- EarlyStopping
class EarlyStopping(_Monitoring):
    """Stop training when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With `patience=0` training stops at the first epoch without improvement. After the run,
    `best_epoch` is the epoch with the best value (`best`), `stopped_epoch` the epoch after which
    training stopped (0 when it ran to the end). With `restore_best_weights=True` the model gets the
    weights of `best_epoch` back when training ends (Keras 3 semantics: also when it did not stop).
    `mode`: "min", "max" or "auto" (max for accuracy/r2, min otherwise).
    """

    name: ClassVar[str] = "early_stopping"

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
        mode: str = "auto",
    ):
        super().__init__(monitor, min_delta, mode)
        self.patience = _patience("patience", patience)
        self.restore_best_weights = _flag("restore_best_weights", restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best = self._initial_best()
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        _check_monitor("EarlyStopping", self.monitor, self.model, logs)
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self._value(logs)
        if current is None:
            return
        self.wait += 1
        if self._improved(current):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "restore_best_weights": self.restore_best_weights,
            "mode": self.mode,
        }


# ---------------------------------------------------------------------- ReduceLROnPlateau
class ReduceLROnPlateau(_Monitoring):
    """Multiply the learning rate by `factor` (never below `min_lr`) when `monitor` has not improved
    by more than `min_delta` for `patience` epochs; then wait `cooldown` epochs before counting again.

    The new rate applies from the next epoch's first batch. `reductions` lists (epoch, new lr).
    """

    name: ClassVar[str] = "reduce_lr_on_plateau"

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        min_lr: float = 0.0,
        cooldown: int = 0,
        mode: str = "auto",
    ):
        super().__init__(monitor, min_delta, mode)
        self.factor = positive("factor", factor)
        if self.factor >= 1:
            raise ValueError(f"factor must be in (0, 1) (the rate is multiplied by it); got {factor!r}.")
        self.patience = _patience("patience", patience)
        self.min_lr = positive("min_lr", min_lr, allow_zero=True)
        self.cooldown = _patience("cooldown", cooldown)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = self._initial_best()
        self.reductions: list[tuple[int, float]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        _check_monitor("ReduceLROnPlateau", self.monitor, self.model, logs)
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self._value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = _current_lr(self.model)
        if old > self.min_lr:
            new = max(old * self.factor, self.min_lr)
            self.model.set_hyperparameters(lr=new)
            self.reductions.append((epoch, new))
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "min_lr": self.min_lr,
            "cooldown": self.cooldown,
            "mode": self.mode,
        }


# ---------------------------------------------------------------------- LearningRateScheduler
def _arity(fn: Callable) -> int:
    """1 for schedule(epoch), 2 for schedule(epoch, lr); ValueError for anything else."""
    if isinstance(fn, _schedules.Schedule):
        return 1
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return 1  # builtins without a signature: assume schedule(epoch)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    if required in (1, 2):
        return required
    if required == 0 and (positional or any(p.kind == p.VAR_POSITIONAL for p in params)):
        return 1
    raise ValueError(
        f"schedule must take the epoch number (epoch → lr) or the epoch and the current rate ((epoch, lr) → lr); "
        f"{getattr(fn, '__name__', fn)!r} takes {required} required arguments."
    )


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from `schedule`.

    `schedule`: a function epoch → lr or (epoch, current lr) → lr (epochs count from 1), an
    nncore.schedules object (e.g. ``StepDecay(0.1, drop=0.5, every=10)``), or a schedule config
    ``{"name": "step", "config": {...}}``. The rate applies from the first batch of the epoch.
    """

    name: ClassVar[str] = "lr_scheduler"

    def __init__(self, schedule: Callable[..., float] | _schedules.Schedule | dict):
        if isinstance(schedule, dict):
            schedule = _schedules.from_config(schedule)
        if not callable(schedule):
            raise ValueError(
                "schedule must be a function epoch → lr, (epoch, lr) → lr, or an nncore.schedules object "
                f"such as StepDecay(0.1); got {schedule!r}."
            )
        self.schedule = schedule
        self._arity = _arity(schedule)

    def _rate(self, epoch: int) -> float:
        value = self.schedule(epoch) if self._arity == 1 else self.schedule(epoch, _current_lr(self.model))
        try:
            lr = float(value)
        except (TypeError, ValueError):
            lr = math.nan
        if not math.isfinite(lr) or lr <= 0:
            raise ValueError(
                f"The learning-rate schedule returned {value!r} for epoch {epoch}; a learning rate must be a "
                "finite number > 0 (a CosineDecay with min_lr=0 reaches 0 after its epochs: give it min_lr > 0 "
                "or more epochs)."
            )
        return lr

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Check the rates of every planned epoch before training starts (epoch → lr schedules)."""
        if self._arity != 1:
            return
        first = int(getattr(self.model, "epoch", 0)) + 1
        for epoch in range(first, first + int((logs or {}).get("epochs", 0))):
            self._rate(epoch)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.model.set_hyperparameters(lr=self._rate(epoch))

    def get_config(self) -> dict[str, Any]:
        """{"schedule": schedule config} for nncore.schedules objects; a function is named only."""
        if isinstance(self.schedule, _schedules.Schedule):
            return {"schedule": _schedules.get_config(self.schedule)}
        return {"schedule": getattr(self.schedule, "__name__", repr(self.schedule))}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LearningRateScheduler":
        schedule = config.get("schedule") if isinstance(config, dict) else None
        if not isinstance(schedule, dict):
            raise ValueError(
                f"A LearningRateScheduler can be rebuilt only from a schedule config {{'name': ..., 'config': ...}}; "
                f"got {schedule!r} (functions cannot be restored from their name)."
            )
        return cls(schedule)


# ---------------------------------------------------------------------- registry
CALLBACKS: dict[str, type[Callback]] = {
    cls.name: cls for cls in (EarlyStopping, ReduceLROnPlateau, LearningRateScheduler)
}


def get(name: str, **kwargs: Any) -> Callback:
    """A callback by name ("early_stopping", "reduce_lr_on_plateau", "lr_scheduler") built with
    `kwargs`; unknown names raise ValueError listing the valid ones."""
    cls = lookup("callback", name, CALLBACKS)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"Bad arguments for callback {cls.name!r} ({cls.__name__}): {exc}.") from None


def get_config(callback: Callback) -> dict[str, Any]:
    """{"name": ..., "config": {...}} for the built-in callbacks (what a UI stores)."""
    name = getattr(type(callback), "name", None)
    if name not in CALLBACKS or not isinstance(callback, CALLBACKS[name]):
        raise ValueError(f"Only the built-in callbacks ({', '.join(CALLBACKS)}) have a config; got {callback!r}.")
    return {"name": name, "config": callback.get_config()}


def from_config(config: dict[str, Any]) -> Callback:
    """The callback described by `get_config` output."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"A callback config is a dict {{'name': ..., 'config': {{...}}}}; got {config!r}.")
    cls = lookup("callback", config["name"], CALLBACKS)
    return cls.from_config(dict(config.get("config") or {}))

"""Learning-rate schedules: the rate of each epoch as a function of its number (1-based, as in
``history["epoch"]``). Use them with ``nncore.callbacks.LearningRateScheduler``.

>>> s = StepDecay(0.1, drop=0.5, every=10)
>>> s(1), s(10), s(11)
(0.1, 0.1, 0.05)
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .registry import lookup, positive


def _epoch(epoch: Any) -> int:
    if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, (int, np.integer)) or epoch < 1:
        raise ValueError(f"epoch must be an integer ≥ 1 (epochs count from 1); got {epoch!r}.")
    return int(epoch)


def _count(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer ≥ 1; got {value!r}.")
    return int(value)


class Schedule:
    """Base class: ``schedule(epoch) -> lr`` for epoch = 1, 2, ...; the first epoch gets `initial_lr`."""

    #: registry name (see `get`)
    name: ClassVar[str] = "schedule"

    def __init__(self, initial_lr: float):
        self.initial_lr = positive("initial_lr", initial_lr)

    def __call__(self, epoch: int) -> float:
        return self.rate(_epoch(epoch))

    def rate(self, epoch: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Schedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(Schedule):
    """lr = initial_lr · drop^⌊(epoch − 1) / every⌋: multiply by `drop` every `every` epochs."""

    name = "step"

    def __init__(self, initial_lr: float, drop: float = 0.5, every: int = 10):
        super().__init__(initial_lr)
        self.drop = positive("drop", drop)
        if self.drop > 1:
            raise ValueError(f"drop must be in (0, 1] (the factor the rate is multiplied by); got {drop!r}.")
        self.every = _count("every", every)

    def rate(self, epoch: int) -> float:
        return self.initial_lr * self.drop ** ((epoch - 1) // self.every)

    def get_config(self) -> dict[str, Any]:
        return {"initial_lr": self.initial_lr, "drop": self.drop, "every": self.every}


class ExponentialDecay(Schedule):
    """lr = initial_lr · rate^(epoch − 1): multiply by `rate` every epoch."""

    name = "exponential"

    def __init__(self, initial_lr: float, rate: float):
        super().__init__(initial_lr)
        self.decay_rate = positive("rate", rate)
        if self.decay_rate > 1:
            raise ValueError(f"rate must be in (0, 1] (the factor applied each epoch); got {rate!r}.")

    def rate(self, epoch: int) -> float:
        return self.initial_lr * self.decay_rate ** (epoch - 1)

    def get_config(self) -> dict[str, Any]:
        return {"initial_lr": self.initial_lr, "rate": self.decay_rate}


class CosineDecay(Schedule):
    """Half a cosine from `initial_lr` (epoch 1) towards `min_lr` over `epochs` epochs (Keras
    CosineDecay with one step per epoch): lr = min_lr + (initial_lr − min_lr)·(1 + cos(π·p))/2 with
    p = min(epoch − 1, epochs) / epochs; after `epochs` epochs the rate stays at `min_lr`."""

    name = "cosine"

    def __init__(self, initial_lr: float, epochs: int, min_lr: float = 0.0):
        super().__init__(initial_lr)
        self.epochs = _count("epochs", epochs)
        self.min_lr = positive("min_lr", min_lr, allow_zero=True)
        if self.min_lr >= self.initial_lr:
            raise ValueError(f"min_lr must be below initial_lr ({self.initial_lr:g}); got {min_lr!r}.")

    def rate(self, epoch: int) -> float:
        progress = min(epoch - 1, self.epochs) / self.epochs
        return self.min_lr + (self.initial_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def get_config(self) -> dict[str, Any]:
        return {"initial_lr": self.initial_lr, "epochs": self.epochs, "min_lr": self.min_lr}


SCHEDULES: dict[str, type[Schedule]] = {cls.name: cls for cls in (StepDecay, ExponentialDecay, CosineDecay)}


def get(name: str | Schedule, **kwargs: Any) -> Schedule:
    """A schedule by name ("step", "exponential", "cosine") built with `kwargs`, or the object itself.

    Unknown names raise ValueError listing the valid ones.
    """
    if isinstance(name, Schedule):
        if kwargs:
            raise ValueError("Pass either a schedule object or a name with arguments, not both.")
        return name
    cls = lookup("schedule", name, SCHEDULES)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"Bad arguments for schedule {cls.name!r} ({cls.__name__}): {exc}.") from None


def get_config(schedule: Schedule) -> dict[str, Any]:
    """{"name": ..., "config": {...}}: what `from_config` rebuilds the schedule from (JSON-safe)."""
    if not isinstance(schedule, Schedule):
        raise ValueError(f"Only nncore.schedules objects can be serialised; got {schedule!r}.")
    return {"name": schedule.name, "config": schedule.get_config()}


def from_config(config: dict[str, Any]) -> Schedule:
    """The schedule described by `get_config` output."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"A schedule config is a dict {{'name': ..., 'config': {{...}}}}; got {config!r}.")
    return get(config["name"], **dict(config.get("config") or {}))

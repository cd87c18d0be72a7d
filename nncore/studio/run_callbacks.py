"""The engine callbacks a training run gets from the sidebar: a learning-rate schedule and early
stopping (``nncore.callbacks``), built fresh for every run.

Schedules scale the rate the run starts with, epoch by epoch, by the ratio of a standard schedule
(``nncore.schedules`` with an initial rate of 1) between two epochs. They multiply whatever rate is
in force at the start of an epoch, so a rate the user sets while the run trains is kept and
scheduled on from there, and a run continued later starts its schedule afresh.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nncore import callbacks as C
from nncore import schedules as S


@dataclass(frozen=True)
class ScheduleChoice:
    label: str
    help: str


#: the schedule menu: name → label and one sentence
SCHEDULES: dict[str, ScheduleChoice] = {
    "none": ScheduleChoice("none", "none: the rate stays as you set it."),
    "step": ScheduleChoice("step decay", "step decay: halve the rate every 2 epochs."),
    "exponential": ScheduleChoice("exponential", "exponential: multiply the rate by 0.8 every epoch."),
    "cosine": ScheduleChoice("cosine", "cosine: lower the rate along half a cosine to 1 % of it by the run's last epoch."),
    "plateau": ScheduleChoice("on plateau", "on plateau: halve the rate when the validation loss (else the training "
                              "loss) has not improved for 2 epochs."),
}
STEP_EVERY, STEP_DROP = 2, 0.5
EXPONENTIAL_RATE = 0.8
COSINE_FLOOR = 0.01
PLATEAU_FACTOR, PLATEAU_PATIENCE = 0.5, 2
#: patience values the early-stopping menu offers (0 = off)
PATIENCE_CHOICES = (0, 1, 2, 3, 5, 10)


class RunSchedule:
    """(epoch, lr) → lr: ``lr · s(r) / s(r − 1)`` with r the epoch counted within this run (from
    ``first_epoch``) and ``s`` a schedule of initial rate 1; the run's first epoch keeps its rate."""

    def __init__(self, schedule: S.Schedule, first_epoch: int):
        self.schedule = schedule
        self.first_epoch = int(first_epoch)

    def __call__(self, epoch: int, lr: float) -> float:
        r = int(epoch) - self.first_epoch + 1
        if r <= 1:
            return lr
        return lr * self.schedule(r) / self.schedule(r - 1)

    def __repr__(self) -> str:
        return f"RunSchedule({self.schedule!r}, first_epoch={self.first_epoch})"


def monitor(validation: bool) -> str:
    """What early stopping and the plateau schedule watch: the validation loss, else the training loss."""
    return "val_loss" if validation else "loss"


def schedule_callback(name: str, first_epoch: int, epochs: int, validation: bool) -> Any | None:
    """The callback of schedule ``name`` for a run of ``epochs`` epochs starting at ``first_epoch``."""
    if name not in SCHEDULES:
        raise ValueError(f"Unknown learning-rate schedule {name!r}; choose one of {', '.join(SCHEDULES)}.")
    if name == "none":
        return None
    if name == "plateau":
        return C.ReduceLROnPlateau(monitor=monitor(validation), factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE)
    if name == "step":
        schedule: S.Schedule = S.StepDecay(1.0, drop=STEP_DROP, every=STEP_EVERY)
    elif name == "exponential":
        schedule = S.ExponentialDecay(1.0, rate=EXPONENTIAL_RATE)
    else:
        schedule = S.CosineDecay(1.0, epochs=max(1, int(epochs) - 1), min_lr=COSINE_FLOOR)
    return C.LearningRateScheduler(RunSchedule(schedule, first_epoch))


def run_callbacks(settings: Any, model: Any, epochs: int, validation: bool) -> list[Any]:
    """Fresh callbacks for a run of ``epochs`` more epochs of ``model`` with ``settings``
    (``spec.TrainSettings``: ``schedule``, ``patience`` (0 = no early stopping), ``restore_best``)."""
    out: list[Any] = []
    first = int(getattr(model, "epoch", 0) or 0) + 1
    sched = schedule_callback(settings.schedule, first, epochs, validation)
    if sched is not None:
        out.append(sched)
    if settings.patience > 0:
        out.append(C.EarlyStopping(monitor=monitor(validation), patience=int(settings.patience),
                                   restore_best_weights=bool(settings.restore_best)))
    return out

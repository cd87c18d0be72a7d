"""Reading a model's own record of training (``model.history`` per epoch, ``model.batch_history``
per batch) while another thread may be appending to it, and turning it into plottable curves.

Lists are read length first and then sliced (atomic under the GIL), and every list of a record is
cut to the shortest one, so a reading is always a consistent prefix; after a divergence the engine
truncates its batch record and the next reading shows exactly that.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncore.metrics import curve_points


#: per-batch hyper-parameters whose changes are marked on the curves, and how they are named
MARKED = (("lr", "lr"), ("momentum", "momentum"), ("l2", "l2"))


@dataclass(frozen=True)
class Mark:
    """A vertical line on the curves: a hyper-parameter change or the best epoch.

    ``x`` in passes over the training data and ``step`` in batches: where the line is drawn (a
    change applies from the batch after ``step``; the best epoch ends at ``step``). ``kind`` is
    "lr", "momentum", "l2" or "best"."""

    x: float
    step: float
    kind: str
    label: str


@dataclass
class Curves:
    """Downsampled series for plotting, read from a model's record.

    ``batch_x``/``epoch_x`` count passes over the training data (fractional for batches), so the
    axis keeps growing when a run is stopped mid-epoch and continued (the engine then repeats that
    epoch number). ``metric`` names the series in ``batch_metric``/``epoch_metric``/``val_metric``.
    """

    metric: str
    batch_x: np.ndarray
    batch_loss: np.ndarray
    batch_metric: np.ndarray
    batch_loss_smooth: np.ndarray
    batch_metric_smooth: np.ndarray
    epoch_x: np.ndarray
    epoch_number: np.ndarray
    epoch_loss: np.ndarray
    epoch_metric: np.ndarray
    val_loss: np.ndarray
    val_metric: np.ndarray
    #: the step (1-based batch count over the whole record) of each batch point and of each epoch's end
    batch_step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    epoch_step: np.ndarray = field(default_factory=lambda: np.zeros(0))
    marks: tuple[Mark, ...] = ()

    @property
    def empty(self) -> bool:
        return len(self.batch_x) == 0 and len(self.epoch_x) == 0


def read_record(record: dict[str, list], keys: tuple[str, ...] | None = None) -> dict[str, list]:
    """A consistent prefix of a dict of equally long lists that another thread appends to (or
    truncates): every list cut to the shortest length. Slicing a list is atomic under the GIL."""
    keys = tuple(record) if keys is None else tuple(k for k in keys if k in record)
    lists = [record[k] for k in keys]
    n = min((len(v) for v in lists), default=0)
    out = {k: v[:n] for k, v in zip(keys, lists)}
    n = min((len(v) for v in out.values()), default=0)  # a rollback may have cut one meanwhile
    return {k: v[:n] for k, v in out.items()}


def last_row(record: dict[str, list]) -> dict[str, Any]:
    """The latest complete row of a record ({} when empty)."""
    lists = dict(record)
    n = min((len(v) for v in lists.values()), default=0)
    if n == 0:
        return {}
    try:
        return {k: v[n - 1] for k, v in lists.items()}
    except IndexError:  # truncated by a rollback in between: read again
        return last_row(read_record(lists))


def _metric_name(model: Any) -> str:
    return (list(getattr(model, "metrics", None) or []) or ["accuracy"])[0]


def _floats(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def batch_positions(epochs: np.ndarray, batches: np.ndarray, batches_per_epoch: int | None = None) -> np.ndarray:
    """x of each batch record in passes over the training data: (n,) epoch and 1-based batch numbers
    → (n,) float. A pass is a run of increasing batch numbers within one epoch; a pass that stopped
    early counts as the share of the epoch it covered. The batches of an epoch are the most ever
    recorded for that epoch number, at least ``batches_per_epoch`` for the last one (still running)."""
    n = len(batches)
    if n == 0:
        return np.zeros(0)
    e = np.asarray(epochs, dtype=np.int64)
    b = np.asarray(batches, dtype=np.float64)
    new = np.ones(n, dtype=bool)
    new[1:] = (b[1:] <= b[:-1]) | (e[1:] != e[:-1])
    segment = np.cumsum(new) - 1
    uniq, inv = np.unique(e, return_inverse=True)
    per_epoch = np.zeros(len(uniq))
    np.maximum.at(per_epoch, inv, b)
    if batches_per_epoch:
        per_epoch[-1] = max(per_epoch[-1], float(batches_per_epoch))
    frac = b / per_epoch[inv]
    ends = np.flatnonzero(np.r_[new[1:], True])
    offsets = np.concatenate([[0.0], np.cumsum(frac[ends])[:-1]])
    return offsets[segment] + frac


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def change_marks(values: list, x: np.ndarray, steps: np.ndarray, kind: str, name: str) -> list[Mark]:
    """A :class:`Mark` wherever ``values`` (one per batch record; None = not recorded) changes
    from one recorded number to another, drawn where the previous batch ended."""
    v = _floats(values)
    if len(v) < 2:
        return []
    prev, cur = v[:-1], v[1:]
    changed = np.flatnonzero(np.isfinite(prev) & np.isfinite(cur) & (prev != cur)) + 1
    return [Mark(float(x[i - 1]), float(steps[i - 1]), kind, f"{name} {_fmt(v[i - 1])} → {_fmt(v[i])}")
            for i in changed]


def best_epoch_mark(monitor: np.ndarray, epoch_numbers: np.ndarray, epoch_x: np.ndarray, epoch_step: np.ndarray,
                    what: str, restored_epoch: int | None = None) -> Mark | None:
    """The epoch with the lowest ``monitor`` (e.g. validation loss), when two or more are recorded;
    the ``restored_epoch`` when given (early stopping's best of its run, whose weights the model has)."""
    finite = np.isfinite(monitor)
    restored = np.flatnonzero(epoch_numbers == restored_epoch) if restored_epoch is not None else []
    if len(restored):
        i = int(restored[-1])
    elif finite.sum() < 2:
        return None
    else:
        i = int(np.nanargmin(np.where(finite, monitor, np.nan)))
    number = int(epoch_numbers[i])
    restored = " · restored" if restored_epoch == number else ""
    return Mark(float(epoch_x[i]), float(epoch_step[i]), "best", f"best {what} · epoch {number}{restored}")


def smoothing_alpha(smoothing: float | None, batches_per_epoch: int) -> float:
    """EMA weight of a new point: 1 − ``smoothing`` (TensorBoard's slider, 0 = raw, up to 0.99), or
    by default about an eighth of an epoch."""
    if smoothing is None:
        return min(0.3, max(0.05, 8.0 / max(batches_per_epoch, 1)))
    smoothing = float(smoothing)
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1); got {smoothing!r}.")
    return 1.0 - smoothing


def curves(model: Any, max_points: int = 300, batches_per_epoch: int | None = None,
           smoothing: float | None = None, restored_epoch: int | None = None) -> Curves:
    """The curves of a model's record (downsampled, smoothed by :func:`nncore.metrics.curve_points`
    with ``smoothing`` as in :func:`smoothing_alpha`), with marks where the learning rate, momentum
    or l2 changed and at the best epoch (validation loss, else training loss; ``restored_epoch``:
    the epoch whose weights early stopping restored)."""
    metric = _metric_name(model)
    bh = read_record(getattr(model, "batch_history", None) or {},
                     ("epoch", "batch", "step", "loss", metric, *(k for k, _ in MARKED)))
    h = read_record(getattr(model, "history", None) or {}, ("epoch", "loss", metric, "val_loss", f"val_{metric}"))
    n = len(bh.get("loss", []))
    if n and {"epoch", "batch"} <= set(bh):
        running = bh["epoch"][-1] not in set(h.get("epoch", []))  # the last epoch is not complete yet
        x = batch_positions(np.asarray(bh["epoch"]), np.asarray(bh["batch"]), batches_per_epoch if running else None)
    else:
        x = np.arange(1, n + 1, dtype=np.float64) / max(batches_per_epoch or n or 1, 1)
    steps = np.asarray(bh["step"], dtype=np.float64) if n and "step" in bh else np.arange(1, n + 1, dtype=np.float64)
    per = batches_per_epoch or (int(max(bh["batch"])) if n and "batch" in bh else 1)
    alpha = smoothing_alpha(smoothing, per)
    idx, loss, loss_s = curve_points(_floats(bh.get("loss", [])), max_points, alpha)
    _, acc, acc_s = curve_points(_floats(bh.get(metric, [np.nan] * n)), max_points, alpha)
    epoch_numbers = np.asarray(h.get("epoch", []), dtype=np.int64)
    epoch_x = epoch_numbers.astype(np.float64)
    epoch_step = epoch_numbers.astype(np.float64) * per
    if n and len(epoch_numbers) and "epoch" in bh:
        e = np.asarray(bh["epoch"], dtype=np.int64)
        last = np.searchsorted(e, epoch_numbers, side="right") - 1
        ok = (last >= 0) & (e[np.clip(last, 0, None)] == epoch_numbers)
        epoch_x = np.where(ok, x[np.clip(last, 0, None)], epoch_x)
        epoch_step = np.where(ok, steps[np.clip(last, 0, None)], epoch_step)
    marks: list[Mark] = []
    for key, name in MARKED:
        if key in bh:
            marks += change_marks(bh[key], x, steps, key, name)
    val_loss, epoch_loss = _floats(h.get("val_loss", [])), _floats(h.get("loss", []))
    has_val = bool(np.isfinite(val_loss).any())
    best = best_epoch_mark(val_loss if has_val else epoch_loss, epoch_numbers, epoch_x, epoch_step,
                           "val loss" if has_val else "loss", restored_epoch)
    if best is not None:
        marks.append(best)
    return Curves(
        metric=metric,
        batch_x=x[idx],
        batch_loss=loss,
        batch_metric=acc,
        batch_loss_smooth=loss_s,
        batch_metric_smooth=acc_s,
        epoch_x=epoch_x,
        epoch_number=epoch_numbers,
        epoch_loss=epoch_loss,
        epoch_metric=_floats(h.get(metric, [])),
        val_loss=val_loss,
        val_metric=_floats(h.get(f"val_{metric}", [])),
        batch_step=steps[idx],
        epoch_step=epoch_step,
        marks=tuple(sorted(marks, key=lambda m: m.step)),
    )

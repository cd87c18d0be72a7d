"""Telling a user that a run has failed although nothing became NaN.

Two common failures leave finite weights: the loss explodes far above where it started (the
learning rate is too high), or the network collapses to one answer (accuracy at chance while the
loss stops falling: dead ReLUs or saturated units after a too-large step).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: the loss counts as exploded once its recent mean is this many times its starting value
EXPLODED_RATIO = 3.0
#: accuracy counts as "at chance" below this multiple of 1/classes
CHANCE_MARGIN = 1.5
#: batches averaged at the start and at the end of the record
WINDOW = 20


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _mean(values: Sequence[float]) -> float:
    vals = _finite(values)
    return sum(vals) / len(vals) if vals else float("nan")


def _median(values: Sequence[float]) -> float:
    vals = _finite(values)
    return float(np.median(vals)) if vals else float("nan")


def diagnose(
    history: dict, batch_history: dict, n_classes: int | None, lr: float | None, typical_lr: float | None = None
) -> str | None:
    """A sentence naming the likely cause and a fix when training looks failed, else None.

    `history`/`batch_history` are NN's records; `n_classes` is None for regression (no chance level);
    `typical_lr` is the optimizer's usual learning rate (tells "too high" from "too low").
    """
    losses = list(batch_history.get("loss", []))
    if len(losses) < 2 * WINDOW:
        return None
    # the median ignores the spikes of too-large first steps (a mean of them hides a later explosion)
    start, recent = _median(losses[:WINDOW // 2 or 1]), _mean(losses[-WINDOW:])
    # the loss before the first update: what the network scores knowing nothing
    first = _finite(losses[:1])
    initial = first[0] if first else float("nan")
    fix = f"try a learning rate about ten times lower (now {lr:g})" if lr else "try a lower learning rate"
    if math.isfinite(start) and start > 0 and recent > EXPLODED_RATIO * start:
        return (
            f"The loss has grown to {recent:.3g}, {recent / start:.0f}× its starting value of {start:.3g}: "
            f"training is blowing up, usually because the learning rate is too high; {fix}."
        )
    acc = batch_history.get("accuracy")
    if n_classes and acc and len(acc) >= 2 * WINDOW and len(history.get("epoch", [])) >= 1:
        chance = 1.0 / n_classes
        recent_acc = _mean(acc[-WINDOW:])
        # not falling: no better than before the first update (comparing with early batches instead
        # misses a network that blew up for a few steps and then collapsed back to that level)
        flat = math.isfinite(initial) and recent > 0.9 * initial
        if recent_acc < CHANCE_MARGIN * chance and flat:
            head = (
                f"Accuracy is stuck at chance level ({recent_acc:.0%}, chance is {chance:.0%}) and the loss is not "
                f"falling ({recent:.3g} against {initial:.3g} at the start): "
            )
            if lr and typical_lr and lr < typical_lr / 30:
                return head + f"the network is barely learning; the learning rate {lr:g} is probably too low (try {typical_lr:g})."
            return head + f"the network has collapsed to one answer (dead or saturated units after too large steps); {fix}, or use 'adam'."
    return None

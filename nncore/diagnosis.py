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


def _mean(values: Sequence[float]) -> float:
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(vals) / len(vals) if vals else float("nan")


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
    start, recent = _mean(losses[:WINDOW // 2 or 1]), _mean(losses[-WINDOW:])
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
        flat = math.isfinite(start) and recent > 0.9 * start
        if recent_acc < CHANCE_MARGIN * chance and flat:
            head = (
                f"Accuracy is stuck at chance level ({recent_acc:.0%}, chance is {chance:.0%}) and the loss is not "
                f"falling ({recent:.3g} against {start:.3g} at the start): "
            )
            if lr and typical_lr and lr < typical_lr / 30:
                return head + f"the network is barely learning; the learning rate {lr:g} is probably too low (try {typical_lr:g})."
            return head + f"the network has collapsed to one answer (dead or saturated units after too large steps); {fix}, or use 'adam'."
    return None

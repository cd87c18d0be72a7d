"""One evaluation of a model on a test set: loss, metric, confusion matrix and the most confident mistakes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncore.metrics import confusion_matrix, misclassified


@dataclass(frozen=True, eq=False)
class Evaluation:
    """``loss`` and ``accuracy`` (None for a model without that metric) on ``n`` test samples,
    ``confusion`` (classes, classes) counts (row: true class), ``mistakes`` as returned by
    :func:`nncore.metrics.misclassified` (index, true, pred, confidence), most confident first."""

    loss: float
    accuracy: float | None
    n: int
    confusion: np.ndarray
    mistakes: dict[str, np.ndarray]

    @property
    def n_wrong(self) -> int:
        return int(self.confusion.sum() - np.trace(self.confusion))

    def metrics(self) -> dict[str, float]:
        """{"loss", "accuracy"} as plain floats (NaN where missing), e.g. for a runs table."""
        return {"loss": _finite(self.loss), "accuracy": _finite(self.accuracy)}


def evaluate(model: Any, x: np.ndarray, y: np.ndarray, n_classes: int, mistakes: int = 24) -> Evaluation:
    """Evaluate ``model`` on raw test samples ``x`` and class ids ``y`` (n,)."""
    probs = model.predict(x)
    res = model.evaluate(x, y)
    return Evaluation(
        loss=float(res["loss"]),
        accuracy=float(res["accuracy"]) if "accuracy" in res else None,
        n=len(y),
        confusion=confusion_matrix(y, probs, n_classes),
        mistakes=misclassified(y, probs, limit=mistakes),
    )


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")

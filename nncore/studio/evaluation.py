"""One evaluation of a model on a test set: loss and metrics; for classification the confusion matrix and
the most confident mistakes, for regression the predictions against the true values."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncore.metrics import confusion_matrix, metric_value, misclassified


@dataclass(frozen=True, eq=False)
class Evaluation:
    """``loss`` and ``accuracy`` (None for a model without that metric) on ``n`` test samples.

    Classification (``kind`` "classification"): ``confusion`` (classes, classes) counts (row: true
    class), ``mistakes`` as returned by :func:`nncore.metrics.misclassified` (index, true, pred,
    confidence), most confident first.
    Regression (``kind`` "regression"): ``r2`` and ``mae`` of the first target, ``true`` and
    ``predicted`` (n,) float64 values of that target (for a predicted-against-true plot);
    ``confusion`` is (0, 0) and ``mistakes`` empty."""

    loss: float
    accuracy: float | None
    n: int
    confusion: np.ndarray
    mistakes: dict[str, np.ndarray]
    kind: str = "classification"
    r2: float | None = None
    mae: float | None = None
    true: np.ndarray = field(default_factory=lambda: np.zeros(0))
    predicted: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def is_regression(self) -> bool:
        return self.kind == "regression"

    @property
    def n_wrong(self) -> int:
        return int(self.confusion.sum() - np.trace(self.confusion))

    def metrics(self) -> dict[str, float]:
        """{"loss", "accuracy"} (plus "r2", "mae" for regression) as plain floats (NaN where
        missing), e.g. for a runs table."""
        out = {"loss": _finite(self.loss), "accuracy": _finite(self.accuracy)}
        if self.is_regression:
            out.update(r2=_finite(self.r2), mae=_finite(self.mae))
        return out


def evaluate(model: Any, x: np.ndarray, y: np.ndarray, n_classes: int, mistakes: int = 24) -> Evaluation:
    """Evaluate ``model`` on raw test samples ``x`` and class ids ``y`` (n,), or, with
    ``n_classes`` 0, on regression targets ``y`` (n,) or (n, k)."""
    outputs = np.asarray(model.predict(x))
    res = model.evaluate(x, y)
    if n_classes == 0:
        targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        predicted = outputs.astype(np.float64).reshape(len(outputs), -1)
        return Evaluation(
            loss=float(res["loss"]), accuracy=None, n=len(y), confusion=np.zeros((0, 0), np.int64), mistakes={},
            kind="regression",
            r2=metric_value("r2", predicted[:, :1], targets[:, :1]),
            mae=metric_value("mae", predicted[:, :1], targets[:, :1]),
            true=targets[:, 0], predicted=predicted[:, 0],
        )
    return Evaluation(
        loss=float(res["loss"]),
        accuracy=float(res["accuracy"]) if "accuracy" in res else None,
        n=len(y),
        confusion=confusion_matrix(y, outputs, n_classes),
        mistakes=misclassified(y, outputs, limit=mistakes),
    )


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")

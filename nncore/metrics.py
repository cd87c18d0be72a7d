"""Small, pure NumPy helpers for evaluating a classifier and preparing curves for display.

Nothing here knows about Streamlit; the dashboard calls these so that its pages contain no maths.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

#: metrics `compile_model(metrics=...)` accepts, with what they mean for people
METRICS = {
    "accuracy": "share of samples whose predicted class is the true class",
    "mae": "mean absolute error between prediction and target",
    "r2": "coefficient of determination R² (1 is perfect, 0 is as good as predicting the mean)",
}
_ALIASES = {"acc": "accuracy", "mean_absolute_error": "mae"}


def default_metric(output_activation: str) -> str:
    """accuracy for a classifier's output (softmax/sigmoid), mae for a linear (regression) output."""
    return "mae" if output_activation in ("linear", "relu", "leaky_relu", "tanh") else "accuracy"


def check_metrics(metrics: Iterable[str] | str | None, default: str) -> list[str]:
    """Validated metric names (aliases resolved, no repeats); [default] when none are given."""
    if metrics is None:
        return [default]
    if isinstance(metrics, str):
        metrics = [metrics]
    try:
        items = list(metrics)
    except TypeError:
        raise ValueError(f"metrics must be a list of names such as ['accuracy']; got {metrics!r}.") from None
    out: list[str] = []
    for m in items:
        key = _ALIASES.get(m, m) if isinstance(m, str) else m
        if key not in METRICS:
            valid = ", ".join(repr(k) for k in METRICS)
            raise ValueError(f"Unknown metric {m!r}. Valid metrics are: {valid}.")
        if key not in out:
            out.append(key)
    return out or [default]


def metric_value(name: str, outputs: np.ndarray, targets: np.ndarray) -> float:
    """Metric `name` of model outputs (n, k) against targets (n, k) (one-hot rows for classes)."""
    if name == "accuracy":
        if outputs.shape[1] == 1:
            return float(np.mean((outputs[:, 0] > 0.5) == (targets[:, 0] > 0.5)))
        return float(np.mean(outputs.argmax(axis=1) == targets.argmax(axis=1)))
    if name == "mae":
        return float(np.mean(np.abs(outputs - targets), dtype=np.float64))
    if name == "r2":
        t = targets.astype(np.float64)
        ss_res = float(np.sum((outputs - t) ** 2))
        ss_tot = float(np.sum((t - t.mean(axis=0)) ** 2))
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    raise ValueError(f"Unknown metric {name!r}. Valid metrics are: {', '.join(map(repr, METRICS))}.")


def labels_of(y: np.ndarray) -> np.ndarray:
    """Integer class labels from int labels (n,) or one-hot / probability rows (n, k)."""
    y = np.asarray(y)
    if y.ndim == 2:
        return y.argmax(axis=1).astype(np.int64)
    return y.astype(np.int64).reshape(-1)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class.

    Both arguments may be int labels or one-hot/probability rows.
    """
    t = labels_of(y_true)
    p = labels_of(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred has {p.size}.")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (diagonal / row sums); NaN for a class with no samples."""
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, np.diag(cm) / np.where(rows > 0, rows, 1), np.nan)


def misclassified(y_true: np.ndarray, probs: np.ndarray, limit: int = 24) -> dict[str, np.ndarray]:
    """The most confidently wrong predictions, most confident first.

    Returns arrays ``index``, ``true``, ``pred``, ``confidence`` (probability of the predicted class).
    """
    probs = np.asarray(probs)
    t = labels_of(y_true)
    p = probs.argmax(axis=1)
    conf = probs[np.arange(len(p)), p]
    wrong = np.flatnonzero(p != t)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][: max(0, int(limit))]
    return {
        "index": order,
        "true": t[order],
        "pred": p[order],
        "confidence": conf[order].astype(np.float64),
    }


def downsample_indices(n: int, max_points: int) -> np.ndarray:
    """At most ``max_points`` evenly spread indices into a series of length n, always keeping the last."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n <= max_points:
        return np.arange(n)
    idx = np.linspace(0, n - 1, max(2, int(max_points))).round().astype(np.int64)
    return np.unique(idx)


def ema(values: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """Bias-corrected exponential moving average (as TensorBoard's smoothing), NaNs skipped.

    ``values`` (n,) → (n,) float64: at each finite value v, acc = (1-alpha)·acc + alpha·v and the
    output is acc / (1 - (1-alpha)^k) after k finite values (no lag towards 0 at the start); a NaN
    repeats the previous output (NaN before the first finite value). Vectorised in chunks (exact up
    to rounding), so a million points take milliseconds.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    alpha = float(alpha)
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1]; got {alpha!r}.")
    out = np.full(values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size == 0:
        return out
    f = values[finite]
    if alpha == 1.0:
        smooth = f
    else:
        decay = 1.0 - alpha
        # chunk length: decay**-length stays below 1e30, so the running sums keep full precision
        length = int(min(4096, max(1, 30.0 / -math.log10(decay))))
        powers = decay ** np.arange(length, dtype=np.float64)
        acc = np.empty_like(f)
        carry = 0.0
        for start in range(0, f.size, length):
            chunk = f[start : start + length]
            p = powers[: chunk.size]
            # acc_k = decay^(k+1)·carry + alpha·Σ_{j<=k} decay^(k-j)·f_j
            part = p * np.cumsum(chunk / p) * alpha + p * decay * carry
            acc[start : start + chunk.size] = part
            carry = part[-1]
        k = np.arange(1, f.size + 1, dtype=np.float64)
        smooth = acc / -np.expm1(k * math.log(decay))
    out[finite] = smooth
    # a NaN repeats the last smoothed value
    filled = np.zeros(values.shape, dtype=np.int64)
    filled[finite] = finite
    np.maximum.accumulate(filled, out=filled)
    gaps = ~np.isfinite(values) & (np.arange(values.size) > finite[0])
    out[gaps] = out[filled[gaps]]
    return out


def curve_points(values: Any, max_points: int = 300, alpha: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one recipe for plotting a long noisy series: (indices, raw values, smoothed values), each
    at most ``max_points`` long. Smoothing (:func:`ema`, bias-corrected) runs over every value
    before :func:`downsample_indices` picks the points, so no point is lost to the average."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    idx = downsample_indices(len(v), max_points)
    if not len(v):
        e = np.zeros(0)
        return idx, e, e
    return idx, v[idx], ema(v, alpha)[idx]

"""Array helpers for labelled data: one-hot encoding, a stratified subset, a train/validation split.

Pure NumPy; the global RNG is never touched (every random choice takes a ``seed``).
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["one_hot", "stratified_subset", "train_val_split"]


def _check_int(name: str, value: object, func: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: {name} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def _check_labels(labels: object, func: str) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(
            f"{func}: labels must be a 1-D array of class indices, got shape {y.shape}"
            + (" (one-hot labels? pass labels.argmax(axis=1))" if y.ndim == 2 else "")
        )
    if y.size and (y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer)):
        raise ValueError(f"{func}: labels must be integers (class indices), got dtype {y.dtype}")
    return y


def one_hot(labels: np.ndarray, num_classes: int | None = None, dtype: str | np.dtype = "float32") -> np.ndarray:
    """One-hot encode integer class labels.

    ``labels``: shape (n,), integers in ``[0, num_classes)``.  ``num_classes`` defaults to
    ``labels.max() + 1``.  Returns shape (n, num_classes) of ``dtype`` (default float32).
    Raises ``ValueError`` naming the first bad label (and its index) when one is negative or
    not below ``num_classes``, or when labels are not 1-D integers.
    """
    y = _check_labels(labels, "one_hot")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty label array; pass num_classes")
        num_classes = int(y.max()) + 1
    num_classes = _check_int("num_classes", num_classes, "one_hot")
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be at least 1, got {num_classes}")
    if y.size:
        bad = np.flatnonzero((y < 0) | (y >= num_classes))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"one_hot: label {y[i]} at index {i} is out of range: expected 0 <= label < {num_classes}"
                + (f" ({bad.size} bad labels in all)" if bad.size > 1 else "")
            )
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y.astype(np.intp, copy=False)] = 1
    return out



def _check_xy(x: np.ndarray, y: np.ndarray, func: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 1 or y.ndim < 1:
        raise ValueError(f"{func}: x and y must have a leading sample axis, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{func}: x and y must have the same number of samples, got {len(x)} and {len(y)}")
    return x, y


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n`` samples of ``(x, y)`` keeping the class proportions of ``y``.

    ``x``: shape (N, ...); ``y``: shape (N,) class labels (any hashable-by-value dtype).
    Each class gets ``floor(n * count / N)`` samples, and the leftover samples go to the classes
    with the largest remainders (ties: the smaller class label first), so exactly ``n`` are
    returned.  Which samples of a class are taken is random but fixed by ``seed``
    (``np.random.default_rng(seed)``; the global RNG is never touched).  The picked samples
    keep their original relative order.  Returns ``(x_sub, y_sub)`` of shapes (n, ...), (n,).

    Raises ``ValueError`` when ``n < 1`` or ``n > N`` or the shapes disagree.
    """
    x, y = _check_xy(x, y, "stratified_subset")
    if y.ndim != 1:
        raise ValueError(f"stratified_subset: y must be 1-D class labels, got shape {y.shape}")
    n = _check_int("n", n, "stratified_subset")
    total = len(y)
    if n < 1 or n > total:
        raise ValueError(f"stratified_subset: n must be between 1 and the number of samples {total}, got {n}")
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts.astype(np.int64) * n
    quota = exact // total
    remainder = exact - quota * total  # integer remainders: no float ties or rounding
    leftover = n - int(quota.sum())
    if leftover:
        order = np.lexsort((np.arange(len(classes)), -remainder))  # largest remainder, then class order
        quota[order[:leftover]] += 1
    rng = np.random.default_rng(seed)
    picked = []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        if quota[c]:
            picked.append(rng.choice(members, size=int(quota[c]), replace=False))
    idx = np.sort(np.concatenate(picked))
    return x[idx], y[idx]


def train_val_split(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Shuffle ``(x, y)`` with ``np.random.default_rng(seed)`` and split off a validation set.

    ``x``: shape (N, ...); ``y``: shape (N, ...).  ``val_fraction`` in [0, 1): the validation
    set gets ``round(N * val_fraction)`` samples (0 gives an empty validation set with the same
    trailing shapes), the training set the rest.  Returns ``((x_train, y_train), (x_val, y_val))``.

    Raises ``ValueError`` for a fraction outside [0, 1) or NaN, mismatched lengths, or a split
    that would leave the training set empty.
    """
    x, y = _check_xy(x, y, "train_val_split")
    if isinstance(val_fraction, (bool, np.bool_)) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"train_val_split: val_fraction must be a number in [0, 1), got {val_fraction!r}")
    f = float(val_fraction)
    if not (0.0 <= f < 1.0):
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1), got {val_fraction!r}")
    total = len(y)
    n_val = int(round(total * f))
    if total - n_val < 1:
        raise ValueError(
            f"train_val_split: val_fraction={val_fraction!r} of {total} sample(s) leaves no training samples"
        )
    perm = np.random.default_rng(seed).permutation(total)
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])

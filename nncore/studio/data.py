"""Preparing a Dataset for training in the studio.

A :class:`~nncore.datasets.Dataset` is loaded once per process and shared read-only by every
session. A session chooses a stratified subset and a validation split of it; that choice is a pair
of index arrays (:func:`split_indices`), and :func:`training_split` gathers the samples as read-only
arrays of the dataset's own dtype (e.g. uint8 images): the model's ``input_transform`` scales them
batch by batch, so no session holds a float copy of the training set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncore import transforms
from nncore.datasets import stratified_subset, train_val_split


@dataclass(frozen=True, eq=False)
class TrainingSplit:
    """Training and validation samples of one dataset: ``x`` (n, *raw sample shape) as stored,
    ``y`` (n,) class ids or (n, k) targets, the same for ``x_val``/``y_val`` (possibly 0 rows).
    ``train_index``/``val_index`` are the rows of ``dataset.x`` they came from. All read-only."""

    dataset: str
    n_samples: int
    val_fraction: float
    seed: int
    train_index: np.ndarray
    val_index: np.ndarray
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.x)

    @property
    def n_val(self) -> int:
        return len(self.x_val)


def split_indices(y: np.ndarray, n_samples: int, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows (train, validation) of a stratified subset of ``n_samples`` (class proportions kept for
    class ids; an evenly random subset otherwise) split with ``val_fraction`` held out. Same rows as
    ``stratified_subset`` + ``train_val_split`` on the samples themselves."""
    total = len(y)
    n = int(min(max(1, n_samples), total))
    rows = np.arange(total)
    labels = np.asarray(y)
    if n < total:
        if labels.ndim == 1:
            rows, labels = stratified_subset(rows, labels, n, seed=seed)
        else:
            rows = np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))
            labels = labels[rows]
    if val_fraction > 0:
        (train, _), (val, _) = train_val_split(rows, labels, val_fraction, seed=seed)
    else:
        train, val = rows, rows[:0]
    return train, val


def training_split(dataset: Any, n_samples: int, val_fraction: float, seed: int = 0) -> TrainingSplit:
    """The samples of :func:`split_indices` from ``dataset`` (a Dataset), as read-only arrays."""
    train, val = split_indices(dataset.y, n_samples, val_fraction, seed)

    def gather(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = a[rows]
        out.flags.writeable = False
        return out

    return TrainingSplit(
        dataset=dataset.name, n_samples=int(min(n_samples, len(dataset.y))), val_fraction=float(val_fraction),
        seed=int(seed), train_index=train, val_index=val,
        x=gather(dataset.x, train), y=gather(dataset.y, train),
        x_val=gather(dataset.x, val), y_val=gather(dataset.y, val),
    )


# ----------------------------------------------------------------------------------------------
# Models and datasets
# ----------------------------------------------------------------------------------------------
def mismatch(model: Any, dataset: Any) -> str | None:
    """Why ``model`` cannot work on ``dataset`` (input or output size), or None when it can."""
    need_in = math.prod(dataset.input_shape)
    need_out = dataset.n_outputs
    if model.input_size == need_in and model.output_size == need_out:
        return None
    shape = "×".join(str(s) for s in dataset.input_shape)
    return (
        f"it takes {model.input_size:,} inputs and gives {model.output_size:,} outputs; {dataset.name} needs "
        f"{need_in:,} inputs ({shape}) and {need_out:,} outputs"
    )


def fit_to_dataset(model: Any, dataset: Any) -> bool:
    """Give a model saved without an input transform (format 1 files, e.g. FFL(784) first) the
    dataset's transform, reshaped to the model's input, so it takes the dataset's raw samples like
    every other model. True when it changed; a model with a transform is left as it is."""
    if model.input_transform is not None or mismatch(model, dataset) is not None:
        return False
    if tuple(model.input_shape) == tuple(dataset.input_shape):
        model.input_transform = dataset.transform
    else:
        model.input_transform = transforms.Chain([dataset.transform, transforms.Reshape(model.input_shape)])
    return True


def raw_input(model: Any, sample: np.ndarray) -> np.ndarray:
    """One raw sample (e.g. a (H, W) uint8 image) as a batch of one the model accepts: shaped like
    the model's input when it has as many values (the model's transform then scales it), else as it is.

    (A batch of one (1, H, W) image is refused by ``NN._check_x`` as "a single sample" when the
    model's input shape is (1, H, W); (1, 1, H, W) is accepted and means the same.)"""
    x = np.asarray(sample)
    if x.size == model.input_size:
        return x.reshape(1, *model.input_shape)
    return x[None]


def image_of(sample: np.ndarray, dataset: Any) -> np.ndarray:
    """A raw image sample (e.g. uint8 grey levels) as float in [0, 1] of shape (height, width) for display."""
    x = dataset.transform(np.asarray(sample)[None])[0]
    return np.asarray(x, dtype=np.float64).reshape(dataset.input_shape[-2:])


def as_raw_image(image01: np.ndarray) -> np.ndarray:
    """A grey image in [0, 1] (e.g. a preprocessed drawing) as uint8 grey levels 0-255."""
    return np.clip(np.rint(np.asarray(image01, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)

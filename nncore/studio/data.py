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
    shape = f" ({'×'.join(str(s) for s in dataset.input_shape)})" if len(dataset.input_shape) > 1 else ""

    def count(n: int, what: str) -> str:
        return f"{n:,} {what}{'s' if n != 1 else ''}"

    return (
        f"it takes {count(model.input_size, 'input')} and gives {count(model.output_size, 'output')}; "
        f"{dataset.name} needs {count(need_in, 'input')}{shape} and {count(need_out, 'output')}"
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


# ----------------------------------------------------------------------------------------------
# Describing a dataset for people (the sidebar's data summary, a CSV preview)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSummary:
    """What a dataset asks a network to learn. Classification: ``class_names`` and ``counts``
    (training samples per class); regression: the target's ``low``/``high``/``mean`` (first column)."""

    kind: str
    target: str
    n_samples: int
    n_test: int
    n_features: int
    class_names: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    low: float | None = None
    high: float | None = None
    mean: float | None = None

    def sentence(self) -> str:
        """E.g. "classification of 'species' into 3 classes" or "regression of 'price' (from 1.2 to 9.8)"."""
        if self.kind == "classification":
            return f"classification of {self.target!r} into {len(self.class_names)} classes"
        return f"regression of {self.target!r} (from {self.low:.4g} to {self.high:.4g}, mean {self.mean:.4g})"

    def balance(self) -> list[tuple[str, int, float]]:
        """(class name, training samples, share) per class; empty for regression."""
        total = max(sum(self.counts), 1)
        return [(n, c, c / total) for n, c in zip(self.class_names, self.counts)]


def task_summary(dataset: Any) -> TaskSummary:
    """The :class:`TaskSummary` of a Dataset (counts over its training samples)."""
    common = dict(kind=dataset.kind, target=dataset.target_name, n_samples=dataset.n_samples, n_test=dataset.n_test,
                  n_features=math.prod(dataset.input_shape))
    if dataset.kind == "classification":
        counts = np.bincount(np.asarray(dataset.y), minlength=dataset.n_classes)
        return TaskSummary(**common, class_names=tuple(dataset.class_names), counts=tuple(int(c) for c in counts))
    t = np.asarray(dataset.y, dtype=np.float64)[:, 0]
    return TaskSummary(**common, low=float(t.min()), high=float(t.max()), mean=float(t.mean()))


def data_family(dataset: Any) -> str:
    """"image" (samples are pictures), "points" (2-D Playground points) or "table" (other rows of numbers)."""
    if dataset.is_image:
        return "image"
    if dataset.x.ndim == 2 and dataset.x.shape[1] == 2 and isinstance(dataset.transform, transforms.Features2D):
        return "points"
    return "table"


def csv_preview(data: bytes, rows: int = 6) -> Any:
    """The first ``rows`` data rows of a CSV file's bytes as a pandas DataFrame of text cells, with
    the header line as column names (for showing an upload as it is, also when it is refused).
    None when not even that much can be read."""
    import io

    import pandas as pd

    from nncore.datasets.csv import _separator

    try:
        text = data[:200_000].decode("utf-8-sig", errors="replace")
        sep = _separator(text.split("\n", 1)[0])
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, nrows=rows, keep_default_na=False,
                            on_bad_lines="skip", engine="python")
    except Exception:
        return None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def csv_header(data: bytes) -> list[str]:
    """The column names in a CSV file's first line (stripped), [] when it has none."""
    frame = csv_preview(data, rows=1)
    return [] if frame is None else [c.strip() for c in frame.columns]

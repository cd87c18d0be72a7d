"""Datasets for nncore: a :class:`Dataset` record, a ``get(name, **params)`` registry, MNIST, the
TensorFlow Playground's 2-D sets, CSV tables, the IDX codec and array helpers.

>>> from nncore import datasets
>>> datasets.names()            # ['mnist', 'circle', 'xor', 'gauss', 'spiral', 'reg-plane', 'reg-gauss']
>>> ds = datasets.get("spiral", noise=10, seed=3)
>>> ds.x.shape, ds.input_shape, ds.transform(ds.x).shape   # (250, 2), (2,), (250, 2)
>>> table = datasets.from_csv("iris.csv", target="species")

Modules: :mod:`.base` (Dataset, registry), :mod:`.idx` (IDX files), :mod:`.mnist`,
:mod:`.toy2d` (Playground), :mod:`.csv` (CSV tables), :mod:`.split` (one_hot, subsets, splits).
Pure NumPy at import time (pandas is imported by :func:`from_csv` only).
"""
from __future__ import annotations

from .base import DATASETS, KINDS, Dataset, DatasetSpec, get, names, register
from .idx import IDXFormatError, read_idx, write_idx
from .mnist import (
    DEFAULT_MNIST_DIR,
    MNIST_CREDIT,
    MNIST_FILES,
    MNIST_SHA256,
    MNISTFileError,
    MNISTFileMissingError,
    load_mnist,
    mnist_dataset,
    mnist_transform,
    scale,
)
from .split import one_hot, stratified_subset, train_val_split
from . import toy2d  # noqa: E402  (registers the Playground sets)
from .toy2d import PLAYGROUND_CREDIT, make_toy_dataset
from .csv import MAX_CSV_BYTES, CSVError, from_csv

__all__ = [
    # Dataset and registry
    "Dataset",
    "DatasetSpec",
    "DATASETS",
    "KINDS",
    "get",
    "names",
    "register",
    # IDX
    "IDXFormatError",
    "read_idx",
    "write_idx",
    # MNIST
    "MNISTFileError",
    "MNISTFileMissingError",
    "MNIST_SHA256",
    "MNIST_FILES",
    "MNIST_CREDIT",
    "DEFAULT_MNIST_DIR",
    "load_mnist",
    "mnist_dataset",
    "mnist_transform",
    "scale",
    # Playground
    "make_toy_dataset",
    "PLAYGROUND_CREDIT",
    "toy2d",
    # CSV
    "from_csv",
    "CSVError",
    "MAX_CSV_BYTES",
    # helpers
    "one_hot",
    "stratified_subset",
    "train_val_split",
]

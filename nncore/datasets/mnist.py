"""MNIST: the verified loader, the canonical grey-level scaling and the MNIST :class:`Dataset`.

The MNIST database of handwritten digits (60,000 training and 10,000 test images, 28x28 grey
levels, with labels) is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, and is
distributed under the Creative Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0).
The repository ships the four canonical gzipped IDX files in ``data/mnist/``; :func:`load_mnist`
checks each decompressed file against its published SHA-256 digest.

This is the one module that knows MNIST's sizes (28x28 images, 784 values, 10 classes).
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Union

import numpy as np

from nncore import transforms
from nncore.datasets.base import Dataset, register
from nncore.datasets.idx import IDXFormatError, _load_bytes, _parse_idx

__all__ = [
    "MNISTFileError",
    "MNISTFileMissingError",
    "MNIST_SHA256",
    "MNIST_FILES",
    "MNIST_CREDIT",
    "DEFAULT_MNIST_DIR",
    "load_mnist",
    "scale",
    "mnist_dataset",
    "mnist_transform",
]

PathLike = Union[str, os.PathLike]

#: SHA-256 of each canonical MNIST file once decompressed.
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
#: file stem -> expected array shape.
MNIST_FILES: dict[str, tuple[int, ...]] = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
#: The repository's copy of MNIST, found from this file (never from the working directory).
DEFAULT_MNIST_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "mnist"
_REPOSITORY_MNIST_DIR = DEFAULT_MNIST_DIR
#: Credit line of the MNIST database (shown wherever the data is used).
MNIST_CREDIT = "Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0"
#: One image as a model sees it (one grey channel of 28x28), and the class names.
_MODEL_INPUT_SHAPE = (1, 28, 28)
_CLASS_NAMES = tuple(str(digit) for digit in range(10))


class MNISTFileError(ValueError):
    """An MNIST file is missing, truncated, corrupt or altered.  The message names the file and
    says how to restore it.  Catch this one class for every MNIST loading problem."""


class MNISTFileMissingError(MNISTFileError, FileNotFoundError):
    """An MNIST file does not exist (also a ``FileNotFoundError``)."""


def _default_dir() -> Path:
    """:data:`DEFAULT_MNIST_DIR`, read at call time from the ``nncore.datasets`` package when it was
    reassigned there (as tests do), else from this module."""
    package = sys.modules.get("nncore.datasets")
    patched = getattr(package, "DEFAULT_MNIST_DIR", _REPOSITORY_MNIST_DIR)
    return Path(patched) if patched != _REPOSITORY_MNIST_DIR else DEFAULT_MNIST_DIR


def _restore_hint(directory: Path, filename: str) -> str:
    if directory == _default_dir():
        return (
            f"restore it with `git checkout -- data/mnist/{filename}` or copy the canonical file "
            "from the MNIST distribution (http://yann.lecun.com/exdb/mnist/)"
        )
    return (
        f"copy the canonical {filename} from the MNIST distribution (http://yann.lecun.com/exdb/mnist/) "
        f"into {directory}, or call load_mnist() without a path to use the repository's data/mnist"
    )


def _load_mnist_file(directory: Path, stem: str, verify: bool) -> np.ndarray:
    gz_path = directory / f"{stem}.gz"
    raw_path = directory / stem
    path = gz_path if gz_path.exists() or not raw_path.exists() else raw_path
    if not path.exists():
        raise MNISTFileMissingError(
            f"MNIST file {gz_path} is missing; {_restore_hint(directory, gz_path.name)}"
        )
    try:
        buf, _, digest = _load_bytes(path, digest=verify)
    except IDXFormatError as exc:  # truncated / corrupt gzip
        msg = str(exc).split(": ", 1)[-1]
        raise MNISTFileError(f"MNIST file {path} is damaged: {msg}; {_restore_hint(directory, path.name)}") from None
    if verify:
        if digest != MNIST_SHA256[stem]:
            raise MNISTFileError(
                f"MNIST file {path} failed its checksum: SHA-256 of the decompressed bytes is {digest}, "
                f"expected {MNIST_SHA256[stem]} (the file is altered or truncated); "
                f"{_restore_hint(directory, path.name)}"
            )
    try:
        arr = _parse_idx(buf, str(path))
    except IDXFormatError as exc:
        raise MNISTFileError(f"{exc}; {_restore_hint(directory, path.name)}") from None
    expected = MNIST_FILES[stem]
    if arr.shape != expected or arr.dtype != np.uint8:
        raise MNISTFileError(
            f"MNIST file {path} holds {arr.dtype} of shape {arr.shape}, expected uint8 of shape {expected}; "
            f"{_restore_hint(directory, path.name)}"
        )
    return arr


def load_mnist(
    path: PathLike | None = None, verify: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST like ``keras.datasets.mnist.load_data()``.

    Returns ``((x_train, y_train), (x_test, y_test))``: uint8 arrays of shapes (60000, 28, 28),
    (60000,), (10000, 28, 28) and (10000,), grey levels 0-255 (white ink on black), labels 0-9.
    The arrays are writable and own no shared memory with each other.

    ``path`` is a directory holding the four IDX files (``<name>.gz``, or uncompressed
    ``<name>``); by default the repository's ``data/mnist``.  With ``verify=True`` (default) the
    SHA-256 of every decompressed file is checked against :data:`MNIST_SHA256`.

    Raises :class:`MNISTFileError` (a ``ValueError``) naming the file and how to restore it when a
    file is missing (:class:`MNISTFileMissingError`, also a ``FileNotFoundError``), truncated,
    corrupt or altered.
    """
    directory = _default_dir() if path is None else Path(path).resolve()
    if not directory.is_dir():
        raise MNISTFileMissingError(
            f"MNIST directory {directory} does not exist; expected a folder holding "
            f"{', '.join(s + '.gz' for s in MNIST_FILES)}"
        )
    x_train = _load_mnist_file(directory, "train-images-idx3-ubyte", verify)
    y_train = _load_mnist_file(directory, "train-labels-idx1-ubyte", verify)
    x_test = _load_mnist_file(directory, "t10k-images-idx3-ubyte", verify)
    y_test = _load_mnist_file(directory, "t10k-labels-idx1-ubyte", verify)
    return (x_train, y_train), (x_test, y_test)



def scale(images: np.ndarray, dtype: str | np.dtype = "float32", flatten: bool = True) -> np.ndarray:
    """The ONE canonical scaling of grey-level images, used for training and for canvas inputs.

    ``images``: grey levels 0-255, normally uint8, shape (n, 28, 28) (any (n, ...) works).
    Returns ``images / 255`` as ``dtype`` (float32 by default) in [0, 1], of shape (n, 784)
    (``(n, prod(rest))``) when ``flatten`` is true, else the input shape.

    Raises ``ValueError`` for a non-float output dtype, non-numeric input, or values outside
    [0, 255] (e.g. images that were already scaled or are signed).
    """
    x = np.asarray(images)
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"scale: dtype must be a floating type (e.g. 'float32'), got {dt}")
    if x.dtype == np.bool_ or x.dtype.kind not in "uif":
        raise ValueError(f"scale: images must hold numeric grey levels 0-255 (uint8), got dtype {x.dtype}")
    if x.dtype != np.uint8 and x.size:
        lo, hi = x.min(), x.max()
        if not (lo >= 0 and hi <= 255):  # also catches NaN
            raise ValueError(
                f"scale: images must hold grey levels in [0, 255], got values from {lo} to {hi}"
            )
    if flatten:
        if x.ndim < 1:
            raise ValueError("scale: images must have a leading sample axis, got a scalar")
        x = x.reshape(x.shape[0], -1)
    out = x.astype(dt, copy=True)
    out /= dt.type(255)
    return out



def mnist_transform() -> transforms.Transform:
    """What a model trained on MNIST carries: uint8 (n, 28, 28) -> float32 (n, 1, 28, 28) in [0, 1]
    (``Rescale(1/255)`` gives exactly :func:`scale`'s values, then a channel axis)."""
    return transforms.Chain([transforms.Rescale(1 / 255), transforms.Reshape(_MODEL_INPUT_SHAPE)])


@functools.lru_cache(maxsize=1)
def _cached_mnist_dataset() -> Dataset:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return Dataset(
        name="mnist",
        x=x_train,
        y=y_train.astype(np.int64),
        x_test=x_test,
        y_test=y_test.astype(np.int64),
        kind="classification",
        input_shape=_MODEL_INPUT_SHAPE,
        n_classes=len(_CLASS_NAMES),
        class_names=_CLASS_NAMES,
        feature_names=None,
        target_name="digit",
        credit=MNIST_CREDIT,
        description="Handwritten digits 0-9: 60,000 training and 10,000 test images of 28x28 grey levels.",
        transform=mnist_transform(),
        params={},
    )


@register("mnist", kind="classification", summary="Handwritten digits 0-9 (28x28 grey images)")
def mnist_dataset() -> Dataset:
    """The verified repository copy of MNIST as a read-only :class:`Dataset`, loaded once per process.

    ``x``: uint8 (60000, 28, 28) grey levels 0-255 (not scaled: the transform rescales per batch);
    ``y``: int64 (60000,) digits; ``x_test``/``y_test``: (10000, 28, 28) / (10000,);
    ``input_shape`` (1, 28, 28); ``transform`` :func:`mnist_transform`.
    Raises :class:`MNISTFileError` like :func:`load_mnist`.
    """
    return _cached_mnist_dataset()

"""Datasets for nncore: an IDX reader/writer, the MNIST loader and array helpers.

Pure NumPy + standard library.

MNIST
-----
The MNIST database of handwritten digits (60,000 training and 10,000 test images, 28x28 grey
levels, with labels) is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, and is
distributed under the Creative Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0).
The repository ships the four canonical gzipped IDX files in ``data/mnist/``; :func:`load_mnist`
checks each decompressed file against its published SHA-256 digest.

IDX format
----------
A 4-byte magic number ``0x00 0x00 <type code> <ndim>``, then ``ndim`` big-endian uint32 sizes,
then the elements, big-endian, in C order.  Type codes: 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64.

Public API
----------
- :func:`read_idx`, :func:`write_idx`, :class:`IDXFormatError`
- :func:`load_mnist`, :class:`MNISTFileError`, :class:`MNISTFileMissingError`
- :func:`one_hot`, :func:`scale`, :func:`stratified_subset`, :func:`train_val_split`
"""
from __future__ import annotations

import gzip
import hashlib
import numbers
import os
import zlib
from pathlib import Path
from typing import Union

import numpy as np

__all__ = [
    "IDXFormatError",
    "MNISTFileError",
    "MNISTFileMissingError",
    "MNIST_SHA256",
    "MNIST_FILES",
    "DEFAULT_MNIST_DIR",
    "read_idx",
    "write_idx",
    "load_mnist",
    "one_hot",
    "scale",
    "stratified_subset",
    "train_val_split",
]

PathLike = Union[str, os.PathLike]

# ----------------------------------------------------------------------------------------------
# IDX
# ----------------------------------------------------------------------------------------------

#: IDX type code -> big-endian NumPy dtype as stored on disk.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
#: native dtype (by kind and size) -> IDX type code.
_IDX_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in _IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """The bytes are not a well-formed IDX file (bad magic, type code, header, size or trailer)."""


class _GzipError(ValueError):
    """Internal: a gzip stream is corrupt or truncated (the message says which)."""


def _gunzip(raw: bytes | memoryview, digest: bool = False) -> tuple[np.ndarray, str | None]:
    """Decompress a gzip stream into a fresh, writable uint8 array (one pass, one buffer).

    The size is taken from the gzip trailer (ISIZE) and the stream is inflated chunk by chunk
    straight into a preallocated array, so the 47 MB MNIST training images cost one buffer and
    no extra copy.  With ``digest`` the SHA-256 of the decompressed bytes is computed chunk by
    chunk while they are still in cache and returned as hex (else None).  Anything unusual
    (multi-member stream, ISIZE mismatch) falls back to :func:`gzip.decompress`.  Raises :class:`_GzipError` for a truncated or corrupt stream.
    """
    raw = memoryview(raw).cast("B")
    if len(raw) < 18:  # 10-byte header + 8-byte trailer is the smallest gzip member
        raise _GzipError(f"truncated gzip stream: {len(raw)} bytes, fewer than the 18 of any gzip member")
    isize = int.from_bytes(raw[-4:], "little")
    if isize > 1100 * len(raw):  # deflate never expands more than ~1032:1: a damaged trailer
        isize = 0  # take the slow path below, which reports the damage
    out = np.empty(isize, dtype=np.uint8)
    view = memoryview(out)
    hasher = hashlib.sha256() if digest else None
    pos = 0
    d = zlib.decompressobj(wbits=31)  # gzip wrapper; zlib checks the CRC-32 and ISIZE trailer
    step = 1 << 18
    try:
        fits = True
        for start in range(0, len(raw), step):
            chunk = d.decompress(raw[start : start + step])
            n = len(chunk)
            if pos + n > isize:
                fits = False
                break
            view[pos : pos + n] = chunk
            pos += n
            if hasher is not None:
                hasher.update(chunk)
            if d.eof:
                break
        if fits and not d.eof:
            if d.flush() or not d.eof:
                raise _GzipError(
                    "truncated gzip stream: the compressed data ends before the end-of-stream marker"
                )
        if fits and d.eof and not d.unused_data and pos == isize:
            return out, (hasher.hexdigest() if digest else None)
    except zlib.error as exc:
        raise _GzipError(f"corrupt gzip stream ({exc})") from None
    # Unusual stream (e.g. several gzip members): the simple, slower path.
    try:
        data = gzip.decompress(bytes(raw))
    except EOFError:
        raise _GzipError("truncated gzip stream: the compressed data ends before the end-of-stream marker") from None
    except (OSError, zlib.error) as exc:
        raise _GzipError(f"corrupt gzip stream ({exc})") from None
    return np.frombuffer(bytearray(data), dtype=np.uint8), (hashlib.sha256(data).hexdigest() if digest else None)


def _load_bytes(
    path_or_bytes: PathLike | bytes | bytearray | memoryview, digest: bool = False
) -> tuple[np.ndarray, str, str | None]:
    """Return (the decompressed bytes as a writable uint8 array, a name for error messages,
    their SHA-256 hex digest when ``digest`` else None)."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        raw = memoryview(path_or_bytes).cast("B")
        name = "<bytes>"
        gz = raw[:2].tobytes() == _GZIP_MAGIC
    elif isinstance(path_or_bytes, (str, os.PathLike)):
        path = Path(path_or_bytes)
        name = str(path)
        raw = memoryview(path.read_bytes())  # FileNotFoundError propagates with the path in it
        gz = path.name.endswith(".gz") or raw[:2].tobytes() == _GZIP_MAGIC
    else:
        raise TypeError(
            f"read_idx expects a path (str or os.PathLike) or bytes, got {type(path_or_bytes).__name__}"
        )
    if gz:
        try:
            buf, hexdigest = _gunzip(raw, digest)
            return buf, name, hexdigest
        except _GzipError as exc:
            raise IDXFormatError(f"{name}: {exc}") from None
    return np.frombuffer(bytearray(raw), dtype=np.uint8), name, (hashlib.sha256(raw).hexdigest() if digest else None)


def _parse_idx(buf: np.ndarray, name: str) -> np.ndarray:
    """Parse decompressed IDX bytes held in the uint8 array ``buf`` (a view is returned when possible)."""
    n = buf.size
    if n < 4:
        raise IDXFormatError(
            f"{name}: truncated header: expected at least the 4-byte IDX magic number, received {n} byte(s)"
        )
    b0, b1, code, ndim = (int(v) for v in buf[:4])
    if b0 != 0 or b1 != 0:
        raise IDXFormatError(
            f"{name}: bad magic number: expected the first two bytes to be 0x00 0x00, "
            f"received 0x{b0:02X} 0x{b1:02X} (not an IDX file, or a compressed file read as raw bytes?)"
        )
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({dt.newbyteorder('=').name})" for c, dt in _IDX_DTYPES.items())
        raise IDXFormatError(
            f"{name}: unknown IDX type code 0x{code:02X}: expected one of {known}"
        )
    header = 4 + 4 * ndim
    if n < header:
        raise IDXFormatError(
            f"{name}: truncated header: expected {header} bytes (magic + {ndim} dimension size(s)), "
            f"received {n}"
        )
    shape = tuple(int(s) for s in buf[4:header].view(">u4")) if ndim else ()
    disk = _IDX_DTYPES[code]
    count = 1
    for s in shape:
        count *= s
    expected = header + count * disk.itemsize
    if n < expected:
        raise IDXFormatError(
            f"{name}: truncated payload: expected {count} element(s) of {disk.newbyteorder('=').name} "
            f"for shape {shape} = {expected} bytes in all, received {n}"
        )
    if n > expected:
        raise IDXFormatError(
            f"{name}: {n - expected} trailing extra byte(s): expected exactly {expected} bytes for shape "
            f"{shape} of {disk.newbyteorder('=').name}, received {n}"
        )
    payload = buf[header:expected]
    if disk.itemsize == 1:
        return payload.view(disk.newbyteorder("=")).reshape(shape)
    # Multi-byte elements: aligned, native-endian copy.
    return payload.view(disk).reshape(shape).astype(disk.newbyteorder("="))


def read_idx(path_or_bytes: PathLike | bytes | bytearray | memoryview) -> np.ndarray:
    """Read an IDX file and return it as a native-endian, writable NumPy array of its own shape.

    ``path_or_bytes`` is a path (decompressed with gzip when the name ends in ``.gz`` or the file
    starts with the gzip magic ``1f 8b``) or the raw bytes (gzip detected by its magic).
    Any rank (0-255) and any IDX element type (uint8, int8, int16, int32, float32, float64).

    Raises :class:`IDXFormatError` (a ``ValueError``) naming the file for a bad magic number,
    an unknown type code, a truncated header or payload, trailing extra bytes or a corrupt or
    truncated gzip stream; ``FileNotFoundError`` for a missing path.
    """
    buf, name, _ = _load_bytes(path_or_bytes)
    return _parse_idx(buf, name)


def write_idx(path: PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in ``.gz``); return the path.

    The dtype must be one IDX can store: uint8, int8, int16, int32, float32 or float64 (any byte
    order); rank 0-255, every dimension below 2**32.  Raises ``ValueError`` otherwise.
    """
    arr = np.asarray(array)
    key = (arr.dtype.kind, arr.dtype.itemsize)
    if key not in _IDX_CODES:
        raise ValueError(
            f"write_idx: IDX cannot store dtype {arr.dtype}; expected uint8, int8, int16, int32, "
            "float32 or float64 (cast first, e.g. array.astype('int32'))"
        )
    if arr.ndim > 255:
        raise ValueError(f"write_idx: IDX stores at most 255 dimensions, got an array of rank {arr.ndim}")
    if any(s >= 2**32 for s in arr.shape):
        raise ValueError(f"write_idx: every dimension must be below 2**32, got shape {arr.shape}")
    code = _IDX_CODES[key]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    path = Path(path)
    data = header + payload
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------------------------
# MNIST
# ----------------------------------------------------------------------------------------------

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


class MNISTFileError(ValueError):
    """An MNIST file is missing, truncated, corrupt or altered.  The message names the file and
    says how to restore it.  Catch this one class for every MNIST loading problem."""


class MNISTFileMissingError(MNISTFileError, FileNotFoundError):
    """An MNIST file does not exist (also a ``FileNotFoundError``)."""


def _restore_hint(directory: Path, filename: str) -> str:
    if directory == DEFAULT_MNIST_DIR:
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
    directory = DEFAULT_MNIST_DIR if path is None else Path(path).resolve()
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


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


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

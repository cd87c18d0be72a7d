"""Tests for nncore.datasets: IDX reader/writer, the verified MNIST loader and the array helpers."""
from __future__ import annotations

import gzip
import hashlib
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nncore import datasets
from nncore.datasets import (
    IDXFormatError,
    MNISTFileError,
    MNISTFileMissingError,
    load_mnist,
    one_hot,
    read_idx,
    scale,
    stratified_subset,
    train_val_split,
    write_idx,
)

MNIST_DIR = Path(__file__).resolve().parents[2] / "data" / "mnist"
STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


# ---------------------------------------------------------------------------------------------
# IDX round trips
# ---------------------------------------------------------------------------------------------

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]
SHAPES = [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2)]


def _sample(dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "f":
        a = rng.standard_normal(shape).astype(dt) * 1e3
        a.flat[0] = np.finfo(dt).max
        a.flat[-1] = -np.finfo(dt).tiny
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dt)
        a.flat[0] = info.min
        a.flat[-1] = info.max
    return a


@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"rank{len(s)}")
@pytest.mark.parametrize("dtype", DTYPES)
def test_idx_round_trip(tmp_path, dtype, shape, suffix):
    a = _sample(dtype, shape, np.random.default_rng(len(shape)))
    path = write_idx(tmp_path / f"a{suffix}", a)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == suffix.endswith(".gz")
    b = read_idx(path)
    assert b.shape == shape
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(b, a)
    # The same bytes passed directly (gzip recognised by its magic) and from a str path.
    np.testing.assert_array_equal(read_idx(raw), a)
    np.testing.assert_array_equal(read_idx(str(path)), a)


def test_idx_is_big_endian_on_disk_and_header_layout(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.array([[1, 258, -2]], dtype=np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 1, 1, 2, 0xFF, 0xFE])
    # A big-endian float64 payload written by hand reads back as native values.
    blob = bytes([0, 0, 0x0E, 1, 0, 0, 0, 2]) + np.array([1.5, -2.25], dtype=">f8").tobytes()
    out = read_idx(blob)
    assert out.dtype == np.float64 and out.dtype.isnative
    np.testing.assert_array_equal(out, [1.5, -2.25])


def test_write_idx_accepts_big_endian_arrays_and_read_is_writable(tmp_path):
    a = np.arange(6, dtype=">i4").reshape(2, 3)
    b = read_idx(write_idx(tmp_path / "x.idx.gz", a))
    np.testing.assert_array_equal(a, b)
    b[0, 0] = 42  # writable result, like keras' arrays
    assert b[0, 0] == 42


def test_gzip_detected_by_magic_without_gz_suffix(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    p = tmp_path / "noext"
    p.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 10]) + a.tobytes()))
    np.testing.assert_array_equal(read_idx(p), a)


def test_multi_member_gzip_is_read(tmp_path):
    header = bytes([0, 0, 8, 1, 0, 0, 0, 4])
    p = tmp_path / "two.idx.gz"
    p.write_bytes(gzip.compress(header + b"\x01\x02") + gzip.compress(b"\x03\x04"))
    np.testing.assert_array_equal(read_idx(p), [1, 2, 3, 4])


def test_write_idx_rejects_unsupported_dtypes(tmp_path):
    for dtype in ("int64", "uint16", "bool", "complex64"):
        with pytest.raises(ValueError, match=f"IDX cannot store dtype {dtype}"):
            write_idx(tmp_path / "x.idx", np.zeros(3, dtype=dtype))


# ---------------------------------------------------------------------------------------------
# IDX errors
# ---------------------------------------------------------------------------------------------


def _bad(tmp_path: Path, payload: bytes, gz: bool = False) -> Path:
    p = tmp_path / ("bad.idx.gz" if gz else "bad.idx")
    p.write_bytes(gzip.compress(payload) if gz else payload)
    return p


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz):
    p = _bad(tmp_path, bytes([0x01, 0x00, 0x08, 0x01, 0, 0, 0, 1, 7]), gz)
    with pytest.raises(IDXFormatError) as e:
        read_idx(p)
    msg = str(e.value)
    assert str(p) in msg
    assert "bad magic number" in msg and "0x00 0x00" in msg and "0x01 0x00" in msg
    assert isinstance(e.value, ValueError)


def test_unknown_type_code(tmp_path):
    p = _bad(tmp_path, bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(IDXFormatError, match=r"unknown IDX type code 0x0A: expected one of 0x08 \(uint8\)") as e:
        read_idx(p)
    assert str(p) in str(e.value) and "0x0E (float64)" in str(e.value)


@pytest.mark.parametrize(
    "payload, expected, received",
    [
        (b"\x00\x00", "at least the 4-byte IDX magic number", "received 2 byte(s)"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]), "expected 16 bytes (magic + 3 dimension size(s))", "received 10"),
    ],
)
def test_truncated_header(tmp_path, payload, expected, received):
    p = _bad(tmp_path, payload)
    with pytest.raises(IDXFormatError) as e:
        read_idx(p)
    msg = str(e.value)
    assert str(p) in msg and "truncated header" in msg and expected in msg and received in msg


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_payload(tmp_path, gz):
    data = bytes([0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + np.arange(6, dtype=">i4").tobytes()
    p = _bad(tmp_path, data[:-5], gz)
    with pytest.raises(IDXFormatError) as e:
        read_idx(p)
    msg = str(e.value)
    assert str(p) in msg and "truncated payload" in msg
    assert "6 element(s) of int32" in msg and "(2, 3)" in msg and "36 bytes" in msg and "received 31" in msg


def test_trailing_bytes(tmp_path):
    data = bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]) + b"xy"
    p = _bad(tmp_path, data)
    with pytest.raises(IDXFormatError) as e:
        read_idx(p)
    msg = str(e.value)
    assert str(p) in msg and "2 trailing extra byte(s)" in msg and "expected exactly 11 bytes" in msg and "received 13" in msg


def test_bytes_input_is_named_in_errors():
    with pytest.raises(IDXFormatError, match=r"^<bytes>: bad magic number"):
        read_idx(b"\x08\x00\x00\x00")


def test_truncated_and_corrupt_gzip(tmp_path):
    a = np.random.default_rng(0).integers(0, 255, size=5000, dtype=np.uint8)
    full = write_idx(tmp_path / "a.idx.gz", a).read_bytes()
    cut = tmp_path / "cut.idx.gz"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(IDXFormatError, match="truncated gzip stream") as e:
        read_idx(cut)
    assert str(cut) in str(e.value)
    bad = bytearray(full)
    bad[len(bad) // 2] ^= 0xFF
    corrupt = tmp_path / "corrupt.idx.gz"
    corrupt.write_bytes(bytes(bad))
    with pytest.raises(IDXFormatError, match="gzip stream") as e:
        read_idx(corrupt)
    assert str(corrupt) in str(e.value)


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(TypeError, match="path .* or bytes"):
        read_idx(123)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------


def test_load_mnist_shapes_dtypes_and_counts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.max() == 255 and x_train.min() == 0
    assert x_train.flags.writeable and x_test.flags.writeable


def test_load_mnist_default_path_does_not_depend_on_cwd(tmp_path, monkeypatch):
    assert datasets.DEFAULT_MNIST_DIR == MNIST_DIR
    monkeypatch.chdir(tmp_path)
    (_, y_train), (_, y_test) = load_mnist(verify=False)
    assert len(y_train) == 60000 and len(y_test) == 10000


def test_load_mnist_explicit_path_and_uncompressed_files(tmp_path, mnist):
    for stem in STEMS:
        if stem.startswith("t10k-labels"):  # one file uncompressed: also accepted
            (tmp_path / stem).write_bytes(gzip.decompress((MNIST_DIR / f"{stem}.gz").read_bytes()))
        else:
            shutil.copy(MNIST_DIR / f"{stem}.gz", tmp_path)
    (xa, ya), (xb, yb) = load_mnist(tmp_path)
    np.testing.assert_array_equal(yb, mnist[1][1])
    np.testing.assert_array_equal(xa[:100], mnist[0][0][:100])


def _copy_mnist(dst: Path, skip: str | None = None) -> None:
    for stem in STEMS:
        if stem != skip:
            shutil.copy(MNIST_DIR / f"{stem}.gz", dst)


@pytest.mark.parametrize("stem", STEMS)
def test_checksum_detects_one_byte_change(tmp_path, stem):
    _copy_mnist(tmp_path, skip=stem)
    data = bytearray(gzip.decompress((MNIST_DIR / f"{stem}.gz").read_bytes()))
    pos = len(data) - 1 - 97  # a payload byte, not the header
    data[pos] = (data[pos] + 1) % 256  # still a well-formed IDX file
    (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(bytes(data), compresslevel=1))
    with pytest.raises(MNISTFileError) as e:
        load_mnist(tmp_path)
    msg = str(e.value)
    assert f"{stem}.gz" in msg and "failed its checksum" in msg
    assert datasets.MNIST_SHA256[stem] in msg and hashlib.sha256(data).hexdigest() in msg
    assert "copy the canonical" in msg
    # verify=False skips the hash: the altered file loads, with the altered byte.
    if stem == "t10k-labels-idx1-ubyte":
        (_, _), (_, y_test) = load_mnist(tmp_path, verify=False)
        assert y_test[pos - 8] == data[pos]


def test_missing_file_error(tmp_path, monkeypatch):
    _copy_mnist(tmp_path, skip="t10k-labels-idx1-ubyte")
    monkeypatch.setattr(datasets, "DEFAULT_MNIST_DIR", tmp_path.resolve())
    with pytest.raises(MNISTFileMissingError) as e:
        load_mnist()
    assert isinstance(e.value, MNISTFileError) and isinstance(e.value, FileNotFoundError)
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    assert "t10k-labels-idx1-ubyte.gz is missing" in msg
    assert "git checkout -- data/mnist/t10k-labels-idx1-ubyte.gz" in msg
    with pytest.raises(MNISTFileMissingError, match="does not exist"):
        load_mnist(tmp_path / "no-such-dir")


def test_truncated_gzip_error(tmp_path):
    _copy_mnist(tmp_path)
    p = tmp_path / "train-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-1000])
    with pytest.raises(MNISTFileError) as e:
        load_mnist(tmp_path)
    msg = str(e.value)
    assert "train-labels-idx1-ubyte.gz" in msg and "truncated gzip stream" in msg and "copy the canonical" in msg


def test_truncated_content_error_with_and_without_verify(tmp_path):
    _copy_mnist(tmp_path)
    stem = "t10k-labels-idx1-ubyte"
    data = gzip.decompress((MNIST_DIR / f"{stem}.gz").read_bytes())
    (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(data[:-10]))  # a valid gzip of a short file
    with pytest.raises(MNISTFileError, match=f"{stem}.gz failed its checksum"):
        load_mnist(tmp_path)
    with pytest.raises(MNISTFileError, match=f"{stem}.gz: truncated payload"):
        load_mnist(tmp_path, verify=False)


# ---------------------------------------------------------------------------------------------
# one_hot
# ---------------------------------------------------------------------------------------------


def test_one_hot_basic():
    out = one_hot(np.array([2, 0, 1, 2]), 4)
    assert out.dtype == np.float32 and out.shape == (4, 4)
    np.testing.assert_array_equal(out, np.eye(4, dtype=np.float32)[[2, 0, 1, 2]])
    assert one_hot([0, 3]).shape == (2, 4)  # inferred num_classes = max + 1
    assert one_hot(np.array([1], dtype=np.uint8), 2, dtype="int64").dtype == np.int64
    assert one_hot(np.array([], dtype=np.int64), 3).shape == (0, 3)


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"label -1 at index 2 is out of range: expected 0 <= label < 10"):
        one_hot(np.array([0, 1, -1, 5]), 10)
    with pytest.raises(ValueError, match=r"label 10 at index 1 is out of range.*\(2 bad labels in all\)"):
        one_hot(np.array([3, 10, 11]), 10)
    with pytest.raises(ValueError, match="1-D array of class indices, got shape \\(2, 3\\).*argmax"):
        one_hot(np.zeros((2, 3), dtype=int), 3)
    with pytest.raises(ValueError, match="must be integers .* got dtype float64"):
        one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="cannot infer num_classes"):
        one_hot(np.array([], dtype=int))
    with pytest.raises(ValueError, match="num_classes must be at least 1"):
        one_hot(np.array([0]), 0)
    with pytest.raises(TypeError, match="num_classes must be an integer"):
        one_hot(np.array([0]), 2.0)


# ---------------------------------------------------------------------------------------------
# scale
# ---------------------------------------------------------------------------------------------


def test_scale_is_the_canonical_float32_scaling(mnist):
    x = mnist[1][0][:50]
    out = scale(x)
    assert out.shape == (50, 784) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x.reshape(50, 784).astype(np.float32) / np.float32(255))
    assert out.min() == 0.0 and out.max() == 1.0
    assert scale(x, flatten=False).shape == (50, 28, 28)
    assert scale(x, dtype="float64").dtype == np.float64
    assert not np.shares_memory(out, x)


def test_scale_accepts_other_numeric_grey_levels_and_rejects_bad_input():
    np.testing.assert_array_equal(scale(np.array([[0, 255]], dtype=np.int32)), [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"grey levels in \[0, 255\], got values from -1 to 3"):
        scale(np.array([[-1, 3]], dtype=np.int16))
    with pytest.raises(ValueError, match="got values from 0.0 to 300.0"):
        scale(np.array([[0.0, 300.0]]))
    with pytest.raises(ValueError, match="got values from"):
        scale(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        scale(np.zeros((1, 4), np.uint8), dtype="int32")
    with pytest.raises(ValueError, match="got dtype bool"):
        scale(np.zeros((1, 4), bool))


# ---------------------------------------------------------------------------------------------
# stratified_subset
# ---------------------------------------------------------------------------------------------


def _expected_quota(counts: list[int], n: int) -> list[int]:
    """Independent largest-remainder computation with exact fractions."""
    total = sum(counts)
    shares = [Fraction(c * n, total) for c in counts]
    quota = [int(s) for s in shares]
    order = sorted(range(len(counts)), key=lambda i: (-(shares[i] - quota[i]), i))
    for i in order[: n - sum(quota)]:
        quota[i] += 1
    return quota


def test_stratified_subset_hand_example():
    y = np.array([0] * 5 + [1] * 3 + [2] * 2)
    x = np.arange(10)
    xs, ys = stratified_subset(x, y, 5)
    assert np.bincount(ys).tolist() == [3, 1, 1]  # 2.5, 1.5, 1.0 -> tie at .5 goes to class 0
    np.testing.assert_array_equal(y[xs], ys)
    assert list(xs) == sorted(xs)  # original relative order


@pytest.mark.parametrize("n", [1, 10, 999, 1000, 12345, 60000])
def test_stratified_subset_proportions_exact_n(mnist, n):
    (x, y), _ = mnist
    idx = np.arange(len(y))
    xs, ys = stratified_subset(idx, y, n, seed=3)
    assert len(xs) == len(ys) == n
    assert len(np.unique(xs)) == n  # no duplicates
    np.testing.assert_array_equal(y[xs], ys)
    assert np.bincount(ys, minlength=10).tolist() == _expected_quota(TRAIN_COUNTS, n)


def test_stratified_subset_keeps_image_label_pairs(mnist):
    (x, y), _ = mnist
    xs, ys = stratified_subset(x, y, 200, seed=1)
    assert xs.shape == (200, 28, 28) and xs.dtype == np.uint8
    # every picked image is the training image whose label was returned
    flat = x.reshape(60000, -1)
    for img, label in zip(xs[:20], ys[:20]):
        matches = np.flatnonzero((flat == img.reshape(-1)).all(axis=1))
        assert label in set(y[matches].tolist())


def test_stratified_subset_determinism_and_global_rng(mnist):
    (_, y), _ = mnist
    idx = np.arange(len(y))
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a, _ = stratified_subset(idx, y, 500, seed=7)
    b, _ = stratified_subset(idx, y, 500, seed=7)
    c, _ = stratified_subset(idx, y, 500, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched


def test_stratified_subset_errors():
    x, y = np.arange(10), np.array([0, 1] * 5)
    with pytest.raises(ValueError, match="n must be between 1 and the number of samples 10, got 0"):
        stratified_subset(x, y, 0)
    with pytest.raises(ValueError, match="got 11"):
        stratified_subset(x, y, 11)
    with pytest.raises(ValueError, match="same number of samples, got 10 and 9"):
        stratified_subset(x, y[:9], 5)
    with pytest.raises(TypeError, match="n must be an integer"):
        stratified_subset(x, y, 5.0)
    with pytest.raises(ValueError, match="y must be 1-D"):
        stratified_subset(x, np.zeros((10, 2)), 5)


# ---------------------------------------------------------------------------------------------
# train_val_split
# ---------------------------------------------------------------------------------------------


def test_train_val_split_sizes_partition_and_pairs():
    x = np.arange(100) * 10
    y = np.arange(100)
    (xt, yt), (xv, yv) = train_val_split(x, y, 0.25, seed=5)
    assert len(xt) == len(yt) == 75 and len(xv) == len(yv) == 25
    np.testing.assert_array_equal(xt, yt * 10)
    np.testing.assert_array_equal(xv, yv * 10)
    assert sorted(np.concatenate([yt, yv]).tolist()) == list(range(100))
    assert not np.array_equal(yt, np.sort(yt))  # shuffled
    (xt2, _), (xv2, _) = train_val_split(x, y, 0.25, seed=5)
    np.testing.assert_array_equal(xt, xt2)
    np.testing.assert_array_equal(xv, xv2)
    (xt3, _), _ = train_val_split(x, y, 0.25, seed=6)
    assert not np.array_equal(xt, xt3)
    assert len(train_val_split(x, y, 0.333)[1][0]) == 33  # round(N * fraction)


def test_train_val_split_zero_fraction_gives_empty_validation():
    x = np.zeros((10, 28, 28), np.uint8)
    y = np.arange(10)
    (xt, yt), (xv, yv) = train_val_split(x, y, 0.0)
    assert xt.shape == (10, 28, 28) and xv.shape == (0, 28, 28) and yv.shape == (0,)


def test_train_val_split_errors():
    x, y = np.arange(10), np.arange(10)
    for bad in (1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\)"):
            train_val_split(x, y, bad)
    with pytest.raises(TypeError, match="val_fraction must be a number"):
        train_val_split(x, y, True)
    with pytest.raises(ValueError, match="same number of samples"):
        train_val_split(x, y[:5], 0.2)
    with pytest.raises(ValueError, match="leaves no training samples"):
        train_val_split(x[:1], y[:1], 0.6)

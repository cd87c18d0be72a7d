"""The IDX file format (the format MNIST ships in): a reader and a writer.

A 4-byte magic number ``0x00 0x00 <type code> <ndim>``, then ``ndim`` big-endian uint32 sizes,
then the elements, big-endian, in C order.  Type codes: 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64.  Files may be gzip-compressed.

Pure NumPy + standard library.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["IDXFormatError", "read_idx", "write_idx"]

PathLike = Union[str, os.PathLike]

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


"""Control of NumPy's BLAS thread pool (OpenBLAS), through OpenBLAS' own C API (ctypes).

NumPy has no API for this. Two users: the data-parallel training step (nncore.parallel), which runs
its worker threads with one BLAS thread each (several threads calling a pooled OpenBLAS at once are
serialised on the pool, and its idle threads busy-wait), and NN Studio's thread policy for many
trainings in one server process (nncore.studio.resources).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class BlasControlUnavailable(RuntimeError):
    """No BLAS whose thread count this module can change is loaded in the process."""


#: symbol affixes of OpenBLAS builds: plain (Debian), scipy_…64_ (NumPy >= 2 wheels), …64_ / …_64 (ILP64)
_OPENBLAS_AFFIXES = tuple((p, s) for p in ("", "scipy_") for s in ("", "64_", "_64"))
_OPENBLAS_PTHREADS = 1  # openblas_get_parallel(): 0 sequential build, 1 pthreads pool, 2 OpenMP


def loaded_openblas_paths(maps: str | None = None) -> list[str]:
    """Shared libraries loaded in this process that may be an OpenBLAS: every mapped ``.so`` whose
    path mentions "blas" (NumPy wheels: ``numpy.libs/libscipy_openblas64_-….so``; Debian:
    ``openblas-pthread/libblas.so.3``). ``maps`` defaults to /proc/self/maps (Linux); elsewhere the
    libraries bundled in the NumPy wheel. :class:`OpenBlasThreads` keeps those with OpenBLAS' API.
    """
    paths: list[str] = []
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            maps = ""
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            path = fields[5].strip()
            if "blas" in path.lower() and ".so" in os.path.basename(path) and path not in paths:
                paths.append(path)
    if not paths:
        import numpy

        base = Path(numpy.__file__).resolve().parent
        for folder in (base.parent / "numpy.libs", base / ".dylibs"):
            paths.extend(str(p) for p in sorted(folder.glob("*openblas*")) if p.is_file())
    return paths


class OpenBlasThreads:
    """Reads and sets the size of OpenBLAS' process-wide thread pool through its own C API (ctypes).

    ``openblas_set_num_threads`` is process-wide and may be called from any thread, also while other
    threads are inside BLAS calls (a call in flight keeps the split it started with; the pool's
    threads are never destroyed). Raises :class:`BlasControlUnavailable` when no OpenBLAS with a
    pthreads pool is loaded (e.g. MKL or Apple Accelerate builds of NumPy).

    Why not threadpoolctl: since 3.8 it lets only the first Python thread that set an OpenBLAS limit
    change it again while that thread lives, and silently ignores the others — with a training thread
    per session that is every change but the first (measured).
    """

    def __init__(self, paths: list[str] | None = None) -> None:
        import ctypes

        import numpy  # noqa: F401  (loads NumPy's BLAS)

        self._libraries: list[tuple[str, Any, Any]] = []  # (path, get, set)
        reasons = []
        for path in paths if paths is not None else loaded_openblas_paths():
            try:
                lib = ctypes.CDLL(path)
            except OSError as exc:
                reasons.append(f"{path}: {exc}")
                continue
            for prefix, suffix in _OPENBLAS_AFFIXES:
                setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                if setter is None or getter is None:
                    continue
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                parallel = getattr(lib, f"{prefix}openblas_get_parallel{suffix}", None)
                layer = parallel() if parallel is not None else _OPENBLAS_PTHREADS
                if layer == _OPENBLAS_PTHREADS:
                    self._libraries.append((path, getter, setter))
                else:
                    reasons.append(f"{path}: threading layer {layer} (not a pthreads pool)")
                break
            else:
                reasons.append(f"{path}: no openblas_set_num_threads symbol")
        if not self._libraries:
            raise BlasControlUnavailable(
                "No OpenBLAS with a pthreads thread pool is loaded in this process"
                + (f" ({'; '.join(reasons)})" if reasons else "")
                + "; set OPENBLAS_NUM_THREADS / MKL_NUM_THREADS=1 before start-up instead."
            )

    def get(self) -> int | None:
        counts = [int(getter()) for _, getter, _ in self._libraries]
        return min(counts) if counts else None

    def set(self, threads: int) -> None:
        for _, _, setter in self._libraries:
            setter(int(threads))

    def describe(self) -> str:
        return ", ".join(f"{os.path.basename(path)} ({int(getter())} threads)" for path, getter, _ in self._libraries)


_shared: OpenBlasThreads | None = None
_shared_failed = False
_shared_lock = threading.Lock()


def shared_control() -> OpenBlasThreads | None:
    """The process's :class:`OpenBlasThreads` (created once), or None when no OpenBLAS with a
    pthreads pool is loaded (e.g. an MKL or Accelerate build of NumPy)."""
    global _shared, _shared_failed
    with _shared_lock:
        if _shared is None and not _shared_failed:
            try:
                _shared = OpenBlasThreads()
            except BlasControlUnavailable:
                _shared_failed = True
        return _shared


@contextmanager
def blas_threads_limited(threads: int) -> Iterator[None]:
    """Within the block, OpenBLAS uses at most ``threads`` threads per call (process-wide); the
    previous count is restored after. Does nothing when the BLAS cannot be controlled."""
    control = shared_control()
    before = control.get() if control is not None else None
    if before is None or before <= threads:
        yield
        return
    control.set(threads)
    try:
        yield
    finally:
        control.set(before)

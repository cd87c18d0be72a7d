"""The resource model for training in one NN Studio server process (pure Python, no Streamlit).

Every browser session trains in a background thread of the same process, so trainings compete for
the same cores, the same BLAS thread pool and the same memory. Three pieces keep that in check:

* :class:`TrainingSlots` — admission control. At most ``capacity`` trainings run at once (default:
  the CPUs this process may use; ``NNSTUDIO_MAX_TRAININGS`` overrides it), the others wait in a FIFO
  queue and can see their place in it ("2 runs ahead of yours") or leave it; one session (``owner``)
  has at most one training queued or running. Used from the training's worker thread::

      ticket = slots.request(session_id)        # raises SlotBusyError if this session already trains
      with ticket:                              # leaving the block releases the slot, errors included
          if ticket.wait():                     # False: cancelled while queued (ticket.cancel())
              model.train(...)

* The BLAS thread policy (:func:`blas_threads_for`, :class:`BlasThreadPolicy`). NumPy's OpenBLAS
  has one thread pool per process: calls from several threads are serialised on it and its idle
  threads busy-wait, so eight trainings with two BLAS threads each crawl. The policy: up to
  ``NNSTUDIO_BLAS_THREADS`` (default 1, see :func:`blas_threads_from_env`) when at most one training
  runs, one BLAS thread (the calling thread itself, no pool) when more run.
  :func:`process_slots` wires it to the slots, re-evaluated whenever a training starts or ends.
  NumPy has no API for this; :class:`OpenBlasThreads` calls OpenBLAS' own
  ``openblas_set_num_threads`` through ctypes (threadpoolctl >= 3.8 would ignore calls from all but
  one Python thread, see there).

* Memory: the C heap is kept from growing with every training thread and every test-set pass
  (:func:`limit_malloc_arenas`, :func:`pin_mmap_threshold`, :func:`release_free_memory`, all wired
  in :func:`process_slots`); readings (:func:`rss_bytes`, :func:`peak_rss_bytes`,
  :class:`MemoryReading`) used by ``bench/load_test.py`` to report what a session costs.

The process-wide :func:`process_slots` is shared mutable state on purpose: it is infrastructure
(like a connection pool), holds no user data, and every method is thread-safe.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
import resource
import sys
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..blas import BlasControlUnavailable, OpenBlasThreads, loaded_openblas_paths  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

ENV_MAX_TRAININGS = "NNSTUDIO_MAX_TRAININGS"
ENV_BLAS_THREADS = "NNSTUDIO_BLAS_THREADS"
ENV_TRAINING_PROCESSES = "NNSTUDIO_TRAINING_PROCESSES"

# Ticket states
QUEUED = "queued"  # waiting for a free slot
RUNNING = "running"  # holds a slot
RELEASED = "released"  # held a slot and gave it back
CANCELLED = "cancelled"  # left the queue without ever running


class SlotBusyError(RuntimeError):
    """The owner (a browser session) already has a training queued or running."""


# ----------------------------------------------------------------------------------------------
# CPUs
# ----------------------------------------------------------------------------------------------
def cgroup_cpu_limit(root: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPU quota of this container in cores (e.g. 1.5 for a Kubernetes limit of 1500m), or None.

    Reads cgroup v2 ``cpu.max`` ("150000 100000" / "max 100000"), else cgroup v1
    ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (quota -1 means no limit).
    """
    root = Path(root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for sub in ("cpu", "cpu,cpuacct"):
        try:
            quota_us = int((root / sub / "cpu.cfs_quota_us").read_text())
            period_us = int((root / sub / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


def available_cpus(cgroup_root: str | Path = "/sys/fs/cgroup") -> int:
    """CPUs this process may use: its affinity mask, capped by a container CPU quota (rounded down,
    at least 1). ``os.cpu_count()`` alone counts the host's cores inside a container."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup_root)
    if limit is not None:
        n = min(n, int(limit))
    return max(1, n)


def default_max_trainings(cpus: int) -> int:
    """Trainings that may run at once when ``NNSTUDIO_MAX_TRAININGS`` is not set: one per CPU.

    With one BLAS thread each (the policy), a core runs one training at full speed; more trainings
    than cores share the cores (aggregate samples/s stays about the same, see bench/load_test.py) but
    each user waits longer for every epoch, the GIL and the page reruns get busier and every running
    training holds its data in memory. Queued users see their place in line instead.
    """
    if cpus < 1:
        raise ValueError(f"cpus must be at least 1; received {cpus!r}.")
    return int(cpus)


def max_trainings_from_env(environ: Mapping[str, str] | None = None, cpus: int | None = None) -> int:
    """``NNSTUDIO_MAX_TRAININGS`` as a positive int, else :func:`default_max_trainings`."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(ENV_MAX_TRAININGS) or "").strip()
    if not raw:
        return default_max_trainings(available_cpus() if cpus is None else cpus)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{ENV_MAX_TRAININGS} must be a whole number of trainings of at least 1; received {raw!r}."
        )
    return value


def blas_threads_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``NNSTUDIO_BLAS_THREADS``: BLAS threads a training may use while it runs alone (default 1).

    Measured on a 2-core machine, 784-128-64-10 adam: with both cores idle two OpenBLAS threads are
    5 % faster than one at batch 128 and 33 % at batch 1024; as soon as anything else holds a core
    (the Streamlit server itself, another replica, a neighbour) they are 4-25x slower, because the
    calling thread spins waiting for a worker thread that does not get a core. Raise it only where
    the cores are otherwise idle.
    """
    environ = os.environ if environ is None else environ
    raw = (environ.get(ENV_BLAS_THREADS) or "").strip()
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{ENV_BLAS_THREADS} must be a whole number of threads of at least 1; received {raw!r}.")
    return value


def training_processes_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """``NNSTUDIO_TRAINING_PROCESSES``: train runs that take a slot in child processes (default on).

    A training thread of the server process waits for the interpreter lock after every NumPy call
    whenever a page's script run holds it; a child process has its own (nncore.studio.child_training).
    Measured on 2 cores, two trainings beside a Python thread busy 60 % of the time: 85k samples/s in
    total as threads, 151k as processes. Set 0 where ``fork`` is unwanted (e.g. to debug in one process).
    """
    environ = os.environ if environ is None else environ
    raw = (environ.get(ENV_TRAINING_PROCESSES) or "").strip().lower()
    if raw in ("", "1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_TRAINING_PROCESSES} must be 1 (on) or 0 (off); received {raw!r}.")


# ----------------------------------------------------------------------------------------------
# Admission control
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlotsStatus:
    """A consistent reading of the slots, e.g. for an admin line on a page."""

    capacity: int
    running: int
    queued: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.running)


class SlotTicket:
    """One owner's request for a training slot. Create with :meth:`TrainingSlots.request`.

    A context manager: leaving the ``with`` block releases the slot (or leaves the queue), also when
    the training raised.
    """

    def __init__(self, slots: "TrainingSlots", owner: Hashable, number: int) -> None:
        self._slots = slots
        self.owner = owner
        self.number = number  # order of the request in this process, 1-based
        self._state = QUEUED
        self._decided = threading.Event()  # set when the ticket leaves the queue (granted/cancelled)

    # ------------------------------------------------------------------ readings
    @property
    def state(self) -> str:
        with self._slots._lock:
            return self._state

    @property
    def granted(self) -> bool:
        """True while this ticket holds a slot."""
        return self.state == RUNNING

    @property
    def queued(self) -> bool:
        return self.state == QUEUED

    @property
    def position(self) -> int:
        """1-based place in the queue while waiting (1: next to start); 0 when not queued."""
        return self._slots._position(self)

    @property
    def ahead(self) -> int:
        """Trainings queued before this one (0 when next in line, running or done)."""
        return max(0, self.position - 1)

    # ------------------------------------------------------------------ control
    def wait(self, timeout: float | None = None) -> bool:
        """Block until the slot is granted (True) or the ticket is cancelled / ``timeout`` seconds pass
        (False). Returns at once when already decided; ``timeout=0`` only looks."""
        self._decided.wait(timeout)
        return self.granted

    def cancel(self) -> bool:
        """Leave the queue. True if the ticket was queued (a waiting :meth:`wait` returns False);
        False if it already runs or ended — use :meth:`release` for a running training."""
        return self._slots._cancel(self)

    def release(self) -> None:
        """Give the slot back (or leave the queue). Idempotent; the next queued ticket starts."""
        self._slots._release(self)

    def __enter__(self) -> "SlotTicket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"SlotTicket(owner={self.owner!r}, number={self.number}, state={self._state!r})"


class TrainingSlots:
    """At most ``capacity`` trainings at once; the rest wait in a FIFO queue. Thread-safe.

    ``on_change(running)`` is called with the new number of running trainings whenever it changes,
    under the lock and before the granted ticket's :meth:`SlotTicket.wait` returns (so a BLAS policy
    is in force before the new training's first batch). It must be quick; its exceptions are logged
    and otherwise ignored.
    """

    def __init__(self, capacity: int | None = None, *, on_change: Callable[[int], Any] | None = None) -> None:
        if capacity is None:
            capacity = max_trainings_from_env()
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a whole number of trainings of at least 1; received {capacity!r}.")
        self._capacity = capacity
        self._on_change = on_change
        self._lock = threading.RLock()
        self._queue: deque[SlotTicket] = deque()
        self._running: list[SlotTicket] = []
        self._by_owner: dict[Hashable, SlotTicket] = {}
        self._numbers = itertools.count(1)

    @property
    def capacity(self) -> int:
        return self._capacity

    def request(self, owner: Hashable) -> SlotTicket:
        """A ticket for ``owner``: granted at once when a slot is free, else queued at the end.

        Raises :class:`SlotBusyError` when ``owner`` already has a ticket queued or running (one
        training per session).
        """
        with self._lock:
            current = self._by_owner.get(owner)
            if current is not None:
                raise SlotBusyError(
                    f"This session already has a training {current._state} (owner {owner!r}); "
                    "stop it before starting another."
                )
            ticket = SlotTicket(self, owner, next(self._numbers))
            self._by_owner[owner] = ticket
            self._queue.append(ticket)
            self._grant_locked()
            return ticket

    def ticket_of(self, owner: Hashable) -> SlotTicket | None:
        """The owner's queued or running ticket, if any."""
        with self._lock:
            return self._by_owner.get(owner)

    def status(self) -> SlotsStatus:
        with self._lock:
            return SlotsStatus(self._capacity, len(self._running), len(self._queue))

    # ------------------------------------------------------------------ internals (ticket calls)
    def _position(self, ticket: SlotTicket) -> int:
        with self._lock:
            if ticket._state != QUEUED:
                return 0
            for i, t in enumerate(self._queue, start=1):
                if t is ticket:
                    return i
            return 0

    def _cancel(self, ticket: SlotTicket) -> bool:
        with self._lock:
            if ticket._state != QUEUED:
                return False
            self._queue.remove(ticket)
            self._finish_locked(ticket, CANCELLED)
            return True

    def _release(self, ticket: SlotTicket) -> None:
        with self._lock:
            if ticket._state == QUEUED:
                self._queue.remove(ticket)
                self._finish_locked(ticket, CANCELLED)
            elif ticket._state == RUNNING:
                self._running.remove(ticket)
                self._finish_locked(ticket, RELEASED)
                self._grant_locked(changed=True)

    def _finish_locked(self, ticket: SlotTicket, state: str) -> None:
        ticket._state = state
        if self._by_owner.get(ticket.owner) is ticket:
            del self._by_owner[ticket.owner]
        ticket._decided.set()

    def _grant_locked(self, changed: bool = False) -> None:
        granted: list[SlotTicket] = []
        while self._queue and len(self._running) < self._capacity:
            ticket = self._queue.popleft()
            ticket._state = RUNNING
            self._running.append(ticket)
            granted.append(ticket)
        if (changed or granted) and self._on_change is not None:
            try:
                self._on_change(len(self._running))
            except Exception:
                log.exception("TrainingSlots on_change(%d) failed", len(self._running))
        for ticket in granted:  # wake the waiters only once the policy is in force
            ticket._decided.set()


def waiting_message(ahead: int) -> str:
    """What a queued user reads: ``ahead`` is :attr:`SlotTicket.ahead`."""
    if ahead < 0:
        raise ValueError(f"ahead must be 0 or more; received {ahead!r}.")
    if ahead == 0:
        return "Waiting for a free training slot: yours is next."
    runs = "run" if ahead == 1 else "runs"
    return f"Waiting for a free training slot: {ahead} {runs} ahead of yours."


# ----------------------------------------------------------------------------------------------
# BLAS threads
# ----------------------------------------------------------------------------------------------
def blas_threads_for(running: int, max_threads: int) -> int:
    """BLAS threads for the process when ``running`` trainings are active: ``max_threads`` when at
    most one runs (it may use every core), else 1 (each training computes on its own thread; a
    shared pool would serialise them and busy-wait)."""
    if max_threads < 1:
        raise ValueError(f"max_threads must be at least 1; received {max_threads!r}.")
    if running < 0:
        raise ValueError(f"running must be 0 or more; received {running!r}.")
    return max_threads if running <= 1 else 1


class BlasThreadPolicy:
    """Applies :func:`blas_threads_for` to the process's BLAS.

    ``backend`` needs ``get() -> int | None`` and ``set(threads)``; the default is
    :class:`OpenBlasThreads`, created on first use. Without an OpenBLAS it can drive, the policy
    logs one warning and does nothing. ``max_threads`` (threads for a training that runs alone)
    defaults to :func:`blas_threads_from_env` (1 unless ``NNSTUDIO_BLAS_THREADS`` says more), never
    more than the usable CPUs nor the BLAS's thread count at start-up (``OPENBLAS_NUM_THREADS``).
    """

    def __init__(self, max_threads: int | None = None, backend: Any | None = None) -> None:
        if max_threads is not None and max_threads < 1:
            raise ValueError(f"max_threads must be at least 1; received {max_threads!r}.")
        self._backend = backend
        self._max_threads = max_threads
        self._lock = threading.Lock()
        self._unavailable = False
        #: thread count last set by this policy (None: never set)
        self.threads: int | None = None

    def _ready_backend(self) -> Any | None:
        if self._backend is None and not self._unavailable:
            try:
                self._backend = OpenBlasThreads()
            except BlasControlUnavailable as exc:
                self._unavailable = True
                log.warning("BLAS thread policy off: %s", exc)
        return self._backend

    @property
    def max_threads(self) -> int:
        with self._lock:
            return self._max_threads_locked()

    def _max_threads_locked(self) -> int:
        if self._max_threads is None:
            wanted = min(blas_threads_from_env(), available_cpus())
            backend = self._ready_backend()
            start = backend.get() if backend is not None else None
            self._max_threads = max(1, min(wanted, start)) if start else wanted
        return self._max_threads

    def apply(self, running: int) -> int:
        """Set the BLAS threads for ``running`` active trainings; returns the count chosen."""
        with self._lock:
            threads = blas_threads_for(running, self._max_threads_locked())
            backend = self._ready_backend()
            if backend is not None and threads != self.threads:
                backend.set(threads)
                self.threads = threads
            return threads


_process_slots: TrainingSlots | None = None
_process_policy: BlasThreadPolicy | None = None
_process_lock = threading.Lock()


def process_slots() -> TrainingSlots:
    """The server process's :class:`TrainingSlots` (capacity from ``NNSTUDIO_MAX_TRAININGS`` or the
    CPUs), with :func:`process_blas_policy` attached and applied at once. Created on first use (the
    first page that shows the slots or trains), which also caps the C heap's arenas
    (:func:`limit_malloc_arenas`); whenever the last running training ends, the heap's free pages go
    back to the operating system (:func:`release_free_memory`)."""
    global _process_slots
    policy = process_blas_policy()
    with _process_lock:
        if _process_slots is None:
            limit_malloc_arenas()
            pin_mmap_threshold()
            shorten_switch_interval()
            _process_slots = TrainingSlots(on_change=functools.partial(_trainings_changed, policy))
            policy.apply(0)
        return _process_slots


def _trainings_changed(policy: BlasThreadPolicy, running: int) -> None:
    """``on_change`` of the process's slots: the BLAS policy; with no training left, free heap pages
    go back to the OS (a few ms; nobody trains at full speed then)."""
    policy.apply(running)
    if running == 0:
        release_free_memory()


def process_blas_policy() -> BlasThreadPolicy:
    """The server process's :class:`BlasThreadPolicy` (e.g. to show ``threads`` on an admin line)."""
    global _process_policy
    with _process_lock:
        if _process_policy is None:
            _process_policy = BlasThreadPolicy()
        return _process_policy


# ----------------------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------------------
MIB = 1024 * 1024


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of a process now (``VmRSS`` of /proc/<pid>/status; this process by default).

    Off Linux, for this process only, falls back to the peak (:func:`peak_rss_bytes`).
    """
    path = Path(f"/proc/{pid if pid is not None else 'self'}/status")
    try:
        for line in path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        if pid is not None:
            raise
    return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Highest resident memory of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # Linux: KiB, macOS: bytes


def process_tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its children (e.g. a ``streamlit run`` started via a shell)."""
    total = rss_bytes(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            total += process_tree_rss_bytes(int(child))
        except OSError:
            pass
    return total


#: the interpreter's thread switch interval for a server process (see :func:`shorten_switch_interval`)
SWITCH_INTERVAL_SECONDS = 0.0005
_PYTHON_DEFAULT_SWITCH_INTERVAL = 0.005


def shorten_switch_interval(seconds: float = SWITCH_INTERVAL_SECONDS) -> bool:
    """Hand the interpreter lock between threads every ``seconds`` instead of Python's 5 ms; True when set.

    A training thread gives up the lock inside every NumPy call and needs it back right after (about a
    hundred times a batch). While a page's script run holds it, the thread waits for the switch
    interval each time: with one busy Python thread beside it a training ran at 22,554 samples/s with
    5 ms and 42,059 with 0.5 ms (one BLAS thread; 84,553 alone); with three, 5,387 against 16,639.
    Leaves an interval someone already changed from Python's default alone.
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive; received {seconds!r}.")
    if abs(sys.getswitchinterval() - _PYTHON_DEFAULT_SWITCH_INTERVAL) > 1e-9:
        return False
    sys.setswitchinterval(seconds)
    return True


#: malloc arenas for the server process (see :func:`limit_malloc_arenas`)
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc mallopt() parameter (<malloc.h>)


def glibc() -> Any | None:
    """The process's C library through ctypes when it is glibc (has ``mallopt`` and ``malloc_trim``),
    else None (musl, macOS, Windows)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded in this process
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS, environ: Mapping[str, str] | None = None,
                        libc: Any | None = None) -> bool:
    """At most ``arenas`` glibc malloc arenas in this process (``mallopt(M_ARENA_MAX)``); True when set.

    glibc gives threads malloc arenas of their own, up to 8 per core. Every training runs in a new
    thread, and the buffers its batches and validation passes freed (up to 12 MiB each) stayed in its
    arena: the server kept about 14 MiB more for every training that had ever run, also long after
    all sessions had closed (bench/load_test.py; 8 trainings in one process on 2 cores: +151 MiB
    RSS, with 2 arenas +52 MiB, and +15 MiB once :func:`release_free_memory` ran; speed unchanged).
    Leaves glibc's own ``MALLOC_ARENA_MAX`` environment variable in charge when it is set; does
    nothing off glibc. Call it early: arenas that exist already are kept (and shared).
    """
    if arenas < 1:
        raise ValueError(f"arenas must be at least 1; received {arenas!r}.")
    return _mallopt(_M_ARENA_MAX, arenas, "MALLOC_ARENA_MAX", environ, libc)


def _mallopt(param: int, value: int, env_name: str, environ: Mapping[str, str] | None, libc: Any | None) -> bool:
    """glibc ``mallopt(param, value)`` unless glibc's own variable ``env_name`` is set; True when set."""
    environ = os.environ if environ is None else environ
    if environ.get(env_name):
        return False
    libc = glibc() if libc is None else libc
    return bool(libc is not None and libc.mallopt(param, int(value)) == 1)


MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc mallopt() parameter (<malloc.h>)


def pin_mmap_threshold(nbytes: int = MMAP_THRESHOLD_BYTES, environ: Mapping[str, str] | None = None,
                       libc: Any | None = None) -> bool:
    """Blocks of ``nbytes`` or more get their own ``mmap`` and go back to the system when freed
    (glibc ``mallopt(M_MMAP_THRESHOLD)``); True when set.

    glibc raises this threshold by itself, up to 32 MiB, each time such a block is freed: afterwards
    the test-set passes of the pages (a 31 MiB float32 copy of 10,000 digits for each evaluation) come
    from the heap, and the holes they leave stay in the server's RSS after the sessions have ended.
    Trainings (in child processes, batches below 1 MiB) are not affected. Leaves glibc's own
    ``MALLOC_MMAP_THRESHOLD_`` in charge when set; does nothing off glibc.
    """
    if nbytes < 1:
        raise ValueError(f"nbytes must be at least 1; received {nbytes!r}.")
    return _mallopt(_M_MMAP_THRESHOLD, nbytes, "MALLOC_MMAP_THRESHOLD_", environ, libc)


def release_free_memory(libc: Any | None = None) -> bool:
    """Return the free pages of every malloc arena to the OS (glibc ``malloc_trim(0)``). True when
    glibc released something; False off glibc."""
    libc = glibc() if libc is None else libc
    return bool(libc is not None and libc.malloc_trim(0) == 1)


@dataclass(frozen=True)
class MemoryReading:
    """RSS before and after adding ``sessions`` sessions: what one costs."""

    label: str
    before_bytes: int
    after_bytes: int
    sessions: int

    @property
    def per_session_bytes(self) -> float:
        return (self.after_bytes - self.before_bytes) / max(1, self.sessions)

    def text(self) -> str:
        return (f"{self.label}: {self.before_bytes / MIB:.0f} MiB -> {self.after_bytes / MIB:.0f} MiB "
                f"for {self.sessions} session(s), {self.per_session_bytes / MIB:.1f} MiB each")

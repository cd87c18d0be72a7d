"""nncore.studio.resources: training slots (queue, positions, per-session cap, release on error), the
BLAS thread policy as pure decisions and against the real BLAS, CPU and memory readings.

Threads are synchronised with Events and joins only (a join timeout is a deadlock guard, never a
measurement): granting happens inside request()/release(), so most checks need no thread at all.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from nncore.studio import resources as res
from nncore.studio.resources import (
    CANCELLED,
    QUEUED,
    RELEASED,
    RUNNING,
    BlasThreadPolicy,
    SlotBusyError,
    TrainingSlots,
    blas_threads_for,
)

GUARD = 30  # seconds; only ever reached when the code under test deadlocks


class RecordingBlas:
    """A BLAS backend that remembers what it was told."""

    def __init__(self, start: int | None = 2) -> None:
        self.threads = start
        self.calls: list[int] = []

    def get(self) -> int | None:
        return self.threads

    def set(self, threads: int) -> None:
        self.calls.append(threads)
        self.threads = threads


# ------------------------------------------------------------------ queue and positions
def test_grants_up_to_capacity_then_queues_in_order():
    slots = TrainingSlots(2)
    a, b, c, d = (slots.request(o) for o in "abcd")
    assert [t.state for t in (a, b, c, d)] == [RUNNING, RUNNING, QUEUED, QUEUED]
    assert (a.position, c.position, d.position) == (0, 1, 2)
    assert (c.ahead, d.ahead) == (0, 1)
    assert a.wait(timeout=0) and not c.wait(timeout=0)
    assert slots.status() == res.SlotsStatus(capacity=2, running=2, queued=2)

    b.release()  # the first in the queue starts, the other moves up
    assert (b.state, c.state, d.state) == (RELEASED, RUNNING, QUEUED)
    assert d.position == 1 and d.ahead == 0
    a.release()
    assert d.state == RUNNING and slots.status().queued == 0
    assert slots.status().free == 0


def test_fifo_order_over_many_releases():
    slots = TrainingSlots(1)
    tickets = [slots.request(f"s{i}") for i in range(6)]
    started = []
    for _ in range(6):
        running = [t for t in tickets if t.state == RUNNING]
        assert len(running) == 1
        started.append(running[0].owner)
        assert [t.position for t in tickets if t.state == QUEUED] == list(range(1, 6 - len(started) + 1))
        running[0].release()
    assert started == [f"s{i}" for i in range(6)]


def test_cancel_while_queued_moves_the_others_up_and_never_runs():
    slots = TrainingSlots(1)
    a, b, c = (slots.request(o) for o in "abc")
    assert b.cancel() is True
    assert b.state == CANCELLED and b.position == 0 and not b.wait(timeout=0)
    assert c.position == 1
    assert b.cancel() is False and a.cancel() is False  # already out of the queue / running
    a.release()
    assert c.state == RUNNING and b.state == CANCELLED


def test_release_is_idempotent_and_frees_exactly_one_slot():
    slots = TrainingSlots(1)
    a, b, c = (slots.request(o) for o in "abc")
    a.release()
    a.release()
    assert (b.state, c.state) == (RUNNING, QUEUED)
    assert slots.status().running == 1


def test_one_training_per_session():
    slots = TrainingSlots(1)
    a = slots.request("alice")
    with pytest.raises(SlotBusyError, match="already has a training running"):
        slots.request("alice")
    slots.request("bob")
    with pytest.raises(SlotBusyError, match="queued"):
        slots.request("bob")
    assert slots.ticket_of("alice") is a
    a.release()
    assert slots.ticket_of("alice") is None
    again = slots.request("alice")  # allowed once the first ended; queued behind bob
    assert again.state == QUEUED and again.position == 1


def test_context_manager_releases_on_error():
    slots = TrainingSlots(1)
    with pytest.raises(ZeroDivisionError):
        with slots.request("a") as ticket:
            assert ticket.wait(timeout=0)
            1 / 0
    assert ticket.state == RELEASED
    assert slots.request("b").state == RUNNING


def test_context_manager_leaves_the_queue_when_the_block_ends_before_the_grant():
    slots = TrainingSlots(1)
    first = slots.request("a")
    with slots.request("b") as waiting:
        assert not waiting.wait(timeout=0)
    assert waiting.state == CANCELLED
    first.release()
    assert slots.status() == res.SlotsStatus(1, 0, 0)


def test_bad_capacity_is_a_clear_error():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="capacity must be a whole number"):
            TrainingSlots(bad)


# ------------------------------------------------------------------ worker threads
def test_queued_worker_thread_starts_when_a_slot_frees():
    slots = TrainingSlots(1)
    holder = slots.request("holder")
    queued, done = threading.Event(), threading.Event()
    log: list[str] = []

    def worker():
        with slots.request("worker") as ticket:
            log.append(f"queued at {ticket.position}")
            queued.set()
            if ticket.wait():
                log.append("trained")
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert queued.wait(GUARD)
    assert not done.is_set()  # cannot have trained: the only slot is held
    holder.release()
    thread.join(GUARD)
    assert not thread.is_alive()
    assert log == ["queued at 1", "trained"]
    assert slots.status() == res.SlotsStatus(1, 0, 0)


def test_cancel_wakes_a_waiting_worker_without_running_it():
    slots = TrainingSlots(1)
    slots.request("holder")
    ticket = slots.request("worker")
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(ticket.wait()))
    thread.start()
    assert ticket.cancel()
    thread.join(GUARD)
    assert not thread.is_alive() and outcome == [False]


def test_many_threads_never_exceed_capacity():
    capacity, workers = 3, 12
    slots = TrainingSlots(capacity)
    cond = threading.Condition()
    counts = {"requested": 0, "inside": 0, "peak": 0}
    leave = threading.Semaphore(0)

    def bump(key, by=1):
        with cond:
            counts[key] += by
            counts["peak"] = max(counts["peak"], counts["inside"])
            cond.notify_all()

    def worker(i):
        with slots.request(i) as ticket:
            bump("requested")
            assert ticket.wait(GUARD)
            bump("inside")
            leave.acquire(timeout=GUARD)  # the test lets workers leave one by one
            bump("inside", -1)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    with cond:
        assert cond.wait_for(lambda: counts["requested"] == workers and counts["inside"] == capacity, GUARD)
        assert counts["inside"] == capacity  # everyone has asked; only `capacity` got in
    assert slots.status() == res.SlotsStatus(capacity, capacity, workers - capacity)
    for _ in range(workers):
        leave.release()
    for t in threads:
        t.join(GUARD)
    assert not any(t.is_alive() for t in threads)
    assert counts["peak"] == capacity
    assert slots.status() == res.SlotsStatus(capacity, 0, 0)


# ------------------------------------------------------------------ BLAS policy
@pytest.mark.parametrize(
    "running, max_threads, expected",
    [(0, 2, 2), (1, 2, 2), (2, 2, 1), (8, 2, 1), (1, 16, 16), (3, 16, 1), (1, 1, 1), (5, 1, 1)],
)
def test_blas_threads_for(running, max_threads, expected):
    assert blas_threads_for(running, max_threads) == expected


def test_blas_threads_for_rejects_nonsense():
    with pytest.raises(ValueError, match="max_threads must be at least 1"):
        blas_threads_for(1, 0)
    with pytest.raises(ValueError, match="running must be 0 or more"):
        blas_threads_for(-1, 2)


def test_slots_apply_the_policy_before_a_granted_training_starts():
    blas = RecordingBlas(start=4)
    policy = BlasThreadPolicy(max_threads=4, backend=blas)
    slots = TrainingSlots(3, on_change=policy.apply)
    a = slots.request("a")
    assert blas.threads == 4  # alone: every core
    b = slots.request("b")
    assert blas.threads == 1  # two at once: one thread each, set before b.wait() returns
    c = slots.request("c")
    a.release()
    b.release()
    assert blas.threads == 4  # c is alone again
    c.release()
    assert blas.calls == [4, 1, 4]  # no redundant calls
    assert policy.threads == 4


def test_policy_never_exceeds_the_start_up_thread_count(monkeypatch):
    monkeypatch.setattr(res, "available_cpus", lambda *a, **k: 8)
    monkeypatch.setenv(res.ENV_BLAS_THREADS, "8")
    blas = RecordingBlas(start=1)  # e.g. OPENBLAS_NUM_THREADS=1 set by the operator
    policy = BlasThreadPolicy(backend=blas)
    assert policy.max_threads == 1
    assert policy.apply(1) == 1


@pytest.mark.parametrize("env, cpus, start, expected", [
    (None, 8, 8, 1),  # default: one thread even alone (measured: two are no faster, often far slower)
    ("4", 8, 8, 4),
    ("4", 2, 8, 2),  # never more than the CPUs this process may use
    ("4", 8, 3, 3),  # nor more than OpenBLAS had at start-up
])
def test_policy_threads_alone_from_env(monkeypatch, env, cpus, start, expected):
    monkeypatch.setattr(res, "available_cpus", lambda *a, **k: cpus)
    if env is None:
        monkeypatch.delenv(res.ENV_BLAS_THREADS, raising=False)
    else:
        monkeypatch.setenv(res.ENV_BLAS_THREADS, env)
    blas = RecordingBlas(start=start)
    policy = BlasThreadPolicy(backend=blas)
    assert policy.apply(1) == expected and blas.threads == expected
    assert policy.apply(2) == 1 and blas.threads == 1


def test_blas_threads_from_env_rejects_nonsense():
    assert res.blas_threads_from_env({}) == 1
    assert res.blas_threads_from_env({res.ENV_BLAS_THREADS: " 2 "}) == 2
    for bad in ("0", "-1", "all", "1.5"):
        with pytest.raises(ValueError, match="NNSTUDIO_BLAS_THREADS must be a whole number"):
            res.blas_threads_from_env({res.ENV_BLAS_THREADS: bad})


def test_a_failing_on_change_does_not_break_admission(caplog):
    def broken(running):
        raise RuntimeError("boom")

    slots = TrainingSlots(1, on_change=broken)
    a = slots.request("a")
    b = slots.request("b")
    a.release()
    assert b.state == RUNNING
    assert "on_change" in caplog.text


@pytest.fixture
def real_blas():
    """NumPy's OpenBLAS through ctypes; its thread count is restored afterwards."""
    try:
        blas = res.OpenBlasThreads()
    except res.BlasControlUnavailable as exc:
        pytest.skip(str(exc))
    original = blas.get()
    yield blas
    blas.set(original)


def test_policy_sets_the_real_blas_threads(real_blas):
    policy = BlasThreadPolicy(max_threads=2, backend=real_blas)
    policy.apply(3)
    assert real_blas.get() == 1
    a = np.ones((64, 64), np.float32)
    assert float((a @ a)[0, 0]) == 64.0  # BLAS still computes after the change
    policy.apply(1)
    assert real_blas.get() == 2
    assert "threads" in real_blas.describe()


def test_any_live_thread_can_change_the_real_blas_threads(real_blas):
    """The policy runs in whichever training thread starts or ends; a thread that changed the count
    earlier and still lives must not lock the others out (threadpoolctl 3.8 does exactly that)."""
    first_done, finish = threading.Event(), threading.Event()

    def first_trainer():
        real_blas.set(2)
        first_done.set()
        finish.wait(GUARD)  # stays alive, like a running training

    seen = []
    first = threading.Thread(target=first_trainer)
    first.start()
    try:
        assert first_done.wait(GUARD)
        second = threading.Thread(target=lambda: (real_blas.set(1), seen.append(real_blas.get())))
        second.start()
        second.join(GUARD)
        assert seen == [1] and real_blas.get() == 1
    finally:
        finish.set()
        first.join(GUARD)


def test_openblas_candidates_from_the_memory_map():
    maps = "\n".join([
        "7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",  # Debian
        "7f01-7f02 r--p 00001000 08:01 1 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
        "7f02-7f03 r-xp 00000000 08:01 2 /venv/numpy.libs/libscipy_openblas64_-32a4b2a6.so",  # wheel
        "7f03-7f04 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libc.so.6",
        "7f04-7f05 rw-p 00000000 00:00 0 [heap]",
        "7f05-7f06 r--p 00000000 08:01 4 /data/blas_notes.txt",
    ])
    assert res.loaded_openblas_paths(maps) == [
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
        "/venv/numpy.libs/libscipy_openblas64_-32a4b2a6.so",
    ]


def test_no_openblas_is_a_clear_error(tmp_path):
    with pytest.raises(res.BlasControlUnavailable, match="No OpenBLAS.*OPENBLAS_NUM_THREADS"):
        res.OpenBlasThreads(paths=[str(tmp_path / "libnothing.so")])


def test_policy_without_a_controllable_blas_logs_and_keeps_working(monkeypatch, caplog):
    def unavailable():
        raise res.BlasControlUnavailable("No OpenBLAS here")

    monkeypatch.setattr(res, "OpenBlasThreads", unavailable)
    policy = BlasThreadPolicy(max_threads=2)
    assert policy.apply(3) == 1  # the decision is still made
    assert policy.threads is None  # nothing was set
    assert "BLAS thread policy off" in caplog.text


# ------------------------------------------------------------------ CPUs and configuration
def test_cgroup_v2_and_v1_cpu_limits(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert res.cgroup_cpu_limit(v2) == 1.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert res.cgroup_cpu_limit(v2) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert res.cgroup_cpu_limit(v1) == 3.0
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert res.cgroup_cpu_limit(v1) is None
    assert res.cgroup_cpu_limit(tmp_path / "missing") is None


def test_available_cpus_respects_a_container_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a core
    assert res.available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert res.available_cpus(tmp_path) >= 1


def test_max_trainings_from_env():
    assert res.max_trainings_from_env({}, cpus=4) == 4
    assert res.max_trainings_from_env({res.ENV_MAX_TRAININGS: " 6 "}, cpus=4) == 6
    for bad in ("0", "-2", "two", "1.5"):
        with pytest.raises(ValueError, match="NNSTUDIO_MAX_TRAININGS must be a whole number.*" + bad):
            res.max_trainings_from_env({res.ENV_MAX_TRAININGS: bad}, cpus=4)


def test_slots_capacity_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv(res.ENV_MAX_TRAININGS, "5")
    assert TrainingSlots().capacity == 5
    monkeypatch.delenv(res.ENV_MAX_TRAININGS)
    monkeypatch.setattr(res, "available_cpus", lambda *a, **k: 3)
    assert TrainingSlots().capacity == 3
    monkeypatch.setenv(res.ENV_MAX_TRAININGS, "many")
    with pytest.raises(ValueError, match="NNSTUDIO_MAX_TRAININGS"):
        TrainingSlots()


def test_waiting_message():
    assert res.waiting_message(0) == "Waiting for a free training slot: yours is next."
    assert res.waiting_message(1).endswith("1 run ahead of yours.")
    assert res.waiting_message(2).endswith("2 runs ahead of yours.")
    with pytest.raises(ValueError, match="ahead"):
        res.waiting_message(-1)


def test_process_slots_is_one_shared_instance(real_blas):
    assert res.process_slots() is res.process_slots()
    assert res.process_slots().capacity >= 1
    assert res.process_blas_policy() is res.process_blas_policy()
    assert res.process_blas_policy().threads == real_blas.get()  # the policy is in force from the start


# ------------------------------------------------------------------ memory
def test_rss_grows_with_a_large_array():
    before = res.rss_bytes()
    block = np.ones(64 * res.MIB // 8)  # 64 MiB, touched
    after = res.rss_bytes()
    assert after - before > 48 * res.MIB
    assert res.peak_rss_bytes() >= after - res.MIB
    reading = res.MemoryReading("array", before, after, sessions=2)
    assert reading.per_session_bytes == (after - before) / 2
    assert "2 session(s)" in reading.text()
    del block


def test_rss_of_another_process_and_missing_pid():
    import os

    assert res.rss_bytes(os.getpid()) > 0
    assert res.process_tree_rss_bytes(os.getpid()) >= res.rss_bytes(os.getpid()) // 2
    with pytest.raises(OSError):
        res.rss_bytes(2**22 + 12345)  # above Linux's default pid_max


class RecordingLibc:
    """A C library that remembers mallopt / malloc_trim calls (returns 1: success, as glibc does)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


def test_malloc_arenas_are_capped_unless_the_environment_decides():
    libc = RecordingLibc()
    assert res.limit_malloc_arenas(2, environ={}, libc=libc)
    assert libc.calls == [("mallopt", -8, 2)]  # M_ARENA_MAX
    assert not res.limit_malloc_arenas(2, environ={"MALLOC_ARENA_MAX": "4"}, libc=libc)
    assert len(libc.calls) == 1  # glibc's own variable stays in charge
    with pytest.raises(ValueError, match="arenas must be at least 1; received 0"):
        res.limit_malloc_arenas(0, environ={}, libc=libc)


def test_big_blocks_get_their_own_mapping_unless_the_environment_decides():
    libc = RecordingLibc()
    assert res.pin_mmap_threshold(1 << 20, environ={}, libc=libc)
    assert libc.calls == [("mallopt", -3, 1 << 20)]  # M_MMAP_THRESHOLD
    assert not res.pin_mmap_threshold(environ={"MALLOC_MMAP_THRESHOLD_": "65536"}, libc=libc)
    assert len(libc.calls) == 1
    with pytest.raises(ValueError, match="nbytes must be at least 1; received 0"):
        res.pin_mmap_threshold(0, environ={}, libc=libc)


def test_free_heap_memory_is_released_when_the_last_training_ends(monkeypatch):
    trims: list[int] = []
    release = res.release_free_memory
    monkeypatch.setattr(res, "release_free_memory", lambda: trims.append(1) or True)
    policy = BlasThreadPolicy(max_threads=2, backend=RecordingBlas(start=2))
    slots = TrainingSlots(2, on_change=lambda running: res._trainings_changed(policy, running))
    a, b = slots.request("a"), slots.request("b")
    assert policy.threads == 1 and trims == []
    a.release()
    assert policy.threads == 2 and trims == []  # one still trains: nothing trimmed under it
    b.release()
    assert trims == [1]
    libc = RecordingLibc()
    assert release(libc=libc) and libc.calls == [("malloc_trim", 0)]


def test_the_real_c_library_is_found_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not a glibc system")
    assert res.glibc() is not None
    assert res.release_free_memory() in (True, False)  # callable for real, whatever it frees


def test_the_server_hands_the_interpreter_lock_over_faster(monkeypatch):
    import sys

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        assert res.shorten_switch_interval(0.0005)
        assert abs(sys.getswitchinterval() - 0.0005) < 1e-9
        sys.setswitchinterval(0.002)  # someone chose their own: left alone
        assert not res.shorten_switch_interval(0.0005)
        assert abs(sys.getswitchinterval() - 0.002) < 1e-9
        with pytest.raises(ValueError, match="seconds must be positive"):
            res.shorten_switch_interval(0)
    finally:
        sys.setswitchinterval(before)


def test_process_slots_sets_up_the_server_process(monkeypatch):
    calls = []
    monkeypatch.setattr(res, "_process_slots", None)
    monkeypatch.setattr(res, "limit_malloc_arenas", lambda: calls.append("arenas"))
    monkeypatch.setattr(res, "pin_mmap_threshold", lambda: calls.append("mmap"))
    monkeypatch.setattr(res, "shorten_switch_interval", lambda: calls.append("switch"))
    slots = res.process_slots()
    assert slots is res.process_slots()
    assert calls == ["arenas", "mmap", "switch"]

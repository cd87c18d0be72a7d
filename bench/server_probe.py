"""Readings of a running server process tree from /proc (Linux): resident memory and CPU time.

Used by ``bench/classroom.py``; reads only what any process may read about its own children.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from nncore.studio.resources import MIB, process_tree_rss_bytes

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants (every thread's children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children(p))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, all its threads, and of its children that ended and
    were waited for (``utime + stime + cutime + cstime`` of /proc/<pid>/stat: a training's child
    process counts while it runs and after it ended)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": fields 3.. of proc(5)
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (of all its threads)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def renice_tree(pid: int, value: int) -> int:
    """Set the nice value of every thread of ``pid`` and its descendants (Linux nice is per thread;
    processes they start later inherit it). Returns the number of threads changed."""
    changed = 0
    for p in tree_pids(pid):
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                os.setpriority(os.PRIO_PROCESS, int(task.name), value)
                changed += 1
            except OSError:  # ended meanwhile
                pass
    return changed


@dataclass
class RssSample:
    seconds: float  # since the watch started
    bytes: int


class ServerProbe:
    """RSS and CPU of the server process ``pid`` and its children."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def rss_bytes(self) -> int:
        return process_tree_rss_bytes(self.pid)

    def rss_mib(self) -> float:
        return self.rss_bytes() / MIB

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in tree_pids(self.pid):
            try:
                total += cpu_seconds(p)
            except OSError:  # a child ended meanwhile
                pass
        return total

    def own_cpu_seconds(self) -> float:
        """CPU seconds of the server process itself (all its threads: pages, relays), not its children."""
        text = Path(f"/proc/{self.pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def cpu_cores(self, seconds: float = 1.0) -> float:
        """Average cores busy over the next ``seconds`` (1.0 = one core fully used)."""
        c0, t0 = self.cpu_seconds(), time.perf_counter()
        time.sleep(seconds)
        return (self.cpu_seconds() - c0) / (time.perf_counter() - t0)

    def seconds_until_cpu_idle(self, since: float, threshold: float = 0.1, hold: float = 3.0,
                               step: float = 0.5, timeout: float = 40.0) -> tuple[float | None, list[float]]:
        """Seconds from ``since`` (perf_counter) until the server used less than ``threshold`` cores in
        every ``step`` window for ``hold`` seconds in a row (the first of those windows' start), or
        None within ``timeout``. Also returns the per-window core usage, for the report."""
        windows: list[tuple[float, float]] = []  # (window start, cores)
        needed = max(1, round(hold / step))
        c_prev, t_prev = self.cpu_seconds(), time.perf_counter()
        while t_prev - since < timeout:
            time.sleep(step)
            c, t = self.cpu_seconds(), time.perf_counter()
            windows.append((t_prev - since, (c - c_prev) / (t - t_prev)))
            c_prev, t_prev = c, t
            tail = windows[-needed:]
            if len(tail) == needed and all(cores < threshold for _, cores in tail):
                return max(0.0, tail[0][0]), [cores for _, cores in windows]
        return None, [cores for _, cores in windows]

    def watch_rss(self, since: float, until: float, every: float,
                  stop_within: tuple[float, float] | None = None, on_sample=None) -> list[RssSample]:
        """RSS now and every ``every`` seconds until ``until`` seconds after ``since`` (perf_counter).
        With ``stop_within=(reference_bytes, fraction)`` the watch ends at the first reading within
        ``fraction`` of the reference. ``on_sample(sample)`` is called for each reading (printing)."""
        samples: list[RssSample] = []
        while True:
            sample = RssSample(time.perf_counter() - since, self.rss_bytes())
            samples.append(sample)
            if on_sample is not None:
                on_sample(sample)
            if stop_within is not None:
                reference, fraction = stop_within
                if abs(sample.bytes - reference) <= fraction * reference:
                    break
            if sample.seconds + every > until:
                break
            time.sleep(every)
        return samples

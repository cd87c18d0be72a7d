"""Load test: many trainings at once in one NN Studio server process. Prints figures; asserts nothing.

Mode ``headless`` (A, no browser): K threads of this process each train the dashboard's default
network (784-128-64-10 relu/softmax, cse, adam 1e-3, batch 128) on their own float32 copy of the same
MNIST subset, as K browser sessions would. Scenarios, each after a warm-up:

* ``alone``   — one training, the BLAS with its start-up thread count (all cores), then the same
                 with one BLAS thread;
* ``today``   — K at once, BLAS threads left as they are (what the app does without the policy);
* ``policy``  — K at once, BLAS thread policy (1 BLAS thread each while more than one runs; a run
                 left alone gets NNSTUDIO_BLAS_THREADS, default 1);
* ``slots``   — K requested at once, TrainingSlots (default capacity: the CPUs) + the policy: the
                 others queue.

For each: samples/s per run while it trains (min / median / max), total samples/s (all samples / wall
time from the first request to the last end) relative to one alone, the longest queue wait, the wall
time, CPU seconds used per 1000 samples (busy-waiting BLAS threads burn CPU without progress), the
BLAS thread counts the runs started with and the RSS each run's data and model added.
A scenario stops its runs ``--max-seconds`` after its start (rates then cover the samples done).

Mode ``classroom`` (B, alias ``browser``): ``streamlit run app.py`` on a free port and real Chromium
sessions (Playwright) measure issue 14's targets; see ``bench/classroom.py`` for the steps: N sessions
train the default network on the 60,000 digits at once and one alone (total samples/s, slowest vs
fastest), a new user's first page while they train, the server's RSS idle and after training, its CPU
and RSS after every tab closed. Ends with a summary: each target met / NOT met.

    python bench/load_test.py headless  [--runs 8] [--samples 10000] [--epochs 3]
    python bench/load_test.py classroom [--sessions 8] [--samples 60,000] [--epochs N]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nncore import FFL, NN  # noqa: E402
from nncore.datasets import load_mnist, scale, stratified_subset  # noqa: E402
from nncore.studio.resources import (  # noqa: E402
    MIB,
    BlasControlUnavailable,
    BlasThreadPolicy,
    MemoryReading,
    OpenBlasThreads,
    TrainingSlots,
    available_cpus,
    blas_threads_from_env,
    default_max_trainings,
    peak_rss_bytes,
    rss_bytes,
)

BATCH = 128


def build(seed: int) -> NN:
    """The dashboard's default network."""
    m = NN(seed=seed)
    m.add(FFL(784, 128, activation="relu"))
    m.add(FFL(neurons=64, activation="relu"))
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=1e-3, opt="adam", loss="cse", metrics=["accuracy"])
    return m


def cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


# ----------------------------------------------------------------------------------------------
# Mode A: threads in this process
# ----------------------------------------------------------------------------------------------
@dataclass
class RunTimes:
    requested: float
    started: float
    ended: float
    samples: int
    capped: bool = False  # stopped at the time cap before its work was done

    @property
    def rate(self) -> float:
        return self.samples / max(1e-9, self.ended - self.started)

    @property
    def waited(self) -> float:
        return self.started - self.requested


@dataclass
class ScenarioResult:
    name: str
    runs: list[RunTimes]
    cpu: float
    memory: MemoryReading
    blas_threads: str
    cap: float

    @property
    def wall(self) -> float:
        return max(r.ended for r in self.runs) - min(r.requested for r in self.runs)

    @property
    def aggregate(self) -> float:
        return sum(r.samples for r in self.runs) / self.wall


class _SampleCounter:
    """Counts trained samples; stops the run at ``deadline`` (perf_counter) so that a pathological
    scenario cannot take minutes."""

    def __init__(self, deadline: float) -> None:
        self.deadline, self.samples, self.capped = deadline, 0, False
        self.model = None  # set by NN.train

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.samples += int((logs or {}).get("size", 0))
        if time.perf_counter() > self.deadline and self.model is not None:
            self.model.stop_training = True
            self.capped = True


def run_scenario(name: str, k: int, x_u8: np.ndarray, y: np.ndarray, epochs: int, *,
                 policy: BlasThreadPolicy | None, capacity: int, blas: OpenBlasThreads | None,
                 max_seconds: float) -> ScenarioResult:
    slots = TrainingSlots(capacity, on_change=policy.apply if policy else None)
    before = rss_bytes()
    data = [scale(x_u8) for _ in range(k)]  # each session scales its own float32 copy, as the app does
    models = [build(seed=i) for i in range(k)]
    memory = MemoryReading(f"{k} session(s) with data and model", before, rss_bytes(), k)
    times: list[RunTimes | None] = [None] * k
    errors: list[BaseException] = []
    seen_threads: set[int] = set()
    start_line = threading.Barrier(k + 1)

    deadline = [0.0]

    def worker(i: int) -> None:
        try:
            start_line.wait()
            requested = time.perf_counter()
            with slots.request(f"session-{i}") as ticket:
                ticket.wait()
                if blas is not None:
                    seen_threads.add(blas.get() or 0)
                started = time.perf_counter()
                counter = _SampleCounter(deadline[0])
                models[i].train(data[i], y, epochs=epochs, batch_size=BATCH, verbose=0, callbacks=[counter])
                times[i] = RunTimes(requested, started, time.perf_counter(), counter.samples, counter.capped)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), name=f"train-{i}") for i in range(k)]
    for t in threads:
        t.start()
    cpu0 = cpu_seconds()
    deadline[0] = time.perf_counter() + max_seconds
    start_line.wait()
    for t in threads:
        t.join()
    cpu = cpu_seconds() - cpu0
    if errors:
        raise errors[0]
    return ScenarioResult(name, [t for t in times if t is not None], cpu, memory,
                          "/".join(str(n) for n in sorted(seen_threads)) or "?", max_seconds)


HEADER = (f"{'scenario':<32} {'runs':>4}  {'per run samples/s min / median / max':>36}  {'total/s':>8} {'vs alone':>8}"
          f"  {'wait':>6} {'wall':>6} {'CPU s/1k':>8} {'BLAS':>5} {'MiB/run':>7}")


def print_result(r: ScenarioResult, alone: float | None) -> None:
    """One table row; ``alone``: total samples/s of the first 'alone' scenario."""
    rates = sorted(run.rate for run in r.runs)
    samples = sum(run.samples for run in r.runs)
    vs = f"{r.aggregate / alone:7.2f}x" if alone else f"{'-':>8}"
    capped = sum(run.capped for run in r.runs)
    note = f"  ({capped} stopped at the {r.cap:.0f} s cap)" if capped else ""
    print(f"{r.name:<32} {len(r.runs):>4}  {rates[0]:>10,.0f} / {statistics.median(rates):>10,.0f} / "
          f"{rates[-1]:>10,.0f}  {r.aggregate:>8,.0f} {vs}  {max(run.waited for run in r.runs):5.1f}s "
          f"{r.wall:5.1f}s {1000 * r.cpu / samples:8.3f} {r.blas_threads:>5} "
          f"{r.memory.per_session_bytes / MIB:7.0f}{note}")


def headless(args: argparse.Namespace) -> None:
    cpus = available_cpus()
    try:
        blas = OpenBlasThreads()
    except BlasControlUnavailable as exc:
        blas = None
        print(f"the policy scenarios cannot change BLAS threads: {exc}")
    start_threads = (blas.get() if blas else None) or cpus
    capacity = args.capacity or default_max_trainings(cpus)
    print(f"CPUs usable: {cpus}; BLAS: {blas.describe() if blas else 'unknown'}; "
          f"work per run: {args.epochs} epochs x {args.samples:,} samples, batch {BATCH}, 784-128-64-10 adam")
    print(f"RSS at start: {rss_bytes() / MIB:.0f} MiB; policy: up to {blas_threads_from_env()} BLAS thread(s) for a "
          f"training alone (NNSTUDIO_BLAS_THREADS), 1 each while several run; slots: {capacity}")

    (x, y), _ = load_mnist()
    x_u8, y_sub = stratified_subset(x, y, args.samples, seed=0)
    del x, y
    warm = build(seed=99)
    warm.train(scale(x_u8[:2000]), y_sub[:2000], epochs=1, batch_size=BATCH, verbose=0)

    def reset_blas() -> None:
        if blas is not None:
            blas.set(start_threads)

    print(HEADER)
    for _ in range(args.repeat):
        reset_blas()
        alone = run_scenario("alone", 1, x_u8, y_sub, args.epochs, policy=None, capacity=1, blas=blas,
                             max_seconds=args.max_seconds)
        print_result(alone, None)
        if blas is not None and start_threads > 1:
            blas.set(1)
            alone_1 = run_scenario("alone, 1 BLAS thread", 1, x_u8, y_sub, args.epochs, policy=None, capacity=1,
                                   blas=blas, max_seconds=args.max_seconds)
            print_result(alone_1, alone.aggregate)
        for k in args.runs:
            reset_blas()
            today = run_scenario(f"{k} at once (today)", k, x_u8, y_sub, args.epochs,
                                 policy=None, capacity=k, blas=blas, max_seconds=args.max_seconds)
            print_result(today, alone.aggregate)
            policy = BlasThreadPolicy(backend=blas) if blas else None
            with_policy = run_scenario(f"{k} at once, BLAS policy", k, x_u8, y_sub, args.epochs,
                                       policy=policy, capacity=k, blas=blas, max_seconds=args.max_seconds)
            print_result(with_policy, alone.aggregate)
            if capacity < k:
                policy = BlasThreadPolicy(backend=blas) if blas else None
                slotted = run_scenario(f"{k} requested, {capacity} slots + policy", k, x_u8, y_sub, args.epochs,
                                       policy=policy, capacity=capacity, blas=blas,
                                       max_seconds=args.max_seconds)
                print_result(slotted, alone.aggregate)
    reset_blas()
    print(f"RSS now {rss_bytes() / MIB:.0f} MiB, peak {peak_rss_bytes() / MIB:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("headless", help="mode A: K trainings in threads of this process")
    a.add_argument("--runs", type=lambda s: [int(v) for v in s.split(",")], default=[8],
                   help="concurrent trainings, e.g. 8 or 2,4,8 (default 8)")
    a.add_argument("--samples", type=int, default=10_000, help="training samples per run (default 10000)")
    a.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    a.add_argument("--capacity", type=int, default=None, help="slots for the 'slots' scenario (default: CPUs)")
    a.add_argument("--max-seconds", type=float, default=20.0,
                   help="stop every run of a scenario this long after the start (default 20)")
    a.add_argument("--repeat", type=int, default=1, help="repeat all scenarios (the machine's speed drifts)")
    b = sub.add_parser("classroom", aliases=["browser"],
                       help="mode B: streamlit run app.py + Chromium sessions, issue 14's targets")
    b.add_argument("--sessions", type=int, default=8, help="sessions training at once (default 8)")
    b.add_argument("--samples", default="60,000", help="sidebar 'Training samples' choice as shown (default 60,000)")
    b.add_argument("--epochs", type=int, default=None, help="sidebar epochs (default: the app's default)")
    b.add_argument("--max-trainings", type=int, default=None, help="NNSTUDIO_MAX_TRAININGS for the server")
    b.add_argument("--browser-nice", type=int, default=19,
                   help="nice value of the class's Chromium (default 19: its pages take only the CPU the server "
                        "leaves, as when students' browsers run on their own machines; 0: browsers and server "
                        "share the cores equally)")
    b.add_argument("--server-cpus", type=lambda v: {int(c) for c in v.split(",")}, default=None,
                   help="run the server on these CPUs (e.g. 0) and the browsers on the others: a server "
                        "machine of its own, its users' browsers elsewhere (default: all share all CPUs)")
    b.add_argument("--haproxy", action="store_true",
                   help="the browsers reach the server through HAProxy running deploy/haproxy.cfg, as deployed")
    b.add_argument("--blas-threads", type=int, default=None, help="NNSTUDIO_BLAS_THREADS for the server")
    b.add_argument("--server-env", action="append", metavar="NAME=VALUE",
                   help="an environment variable for the server, e.g. MALLOC_ARENA_MAX=2 (repeatable)")
    b.add_argument("--cpu-watch", type=float, default=40.0,
                   help="seconds to wait for the server's CPU to go idle after the tabs close (default 40)")
    b.add_argument("--rss-watch", type=float, default=210.0,
                   help="seconds to poll the server's RSS (every 10 s) after the tabs close (default 210)")
    args = ap.parse_args()
    if args.mode == "headless":
        headless(args)
    else:
        from bench import classroom

        classroom.summary(classroom.run(args))


if __name__ == "__main__":
    main()

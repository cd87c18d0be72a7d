"""The classroom load benchmark (issue 14's targets): real ``streamlit run app.py`` and Chromium sessions.

Steps (every figure read from the pages or from /proc of the server process, nothing from inside it):

1. Start the server; RSS with no session. A first user opens Home (cold page load, imports and the
   process-wide caches), then a second user on the now warm server: the baseline page load; that
   user trains one batch on the chosen digits (Step), so the server holds the training split that
   every session shares, and leaves.
2. ``--sessions`` users open the Train page and make the sidebar choices a user makes: Training
   samples "60,000", Speed "as fast as possible" (the default 10 batches/s is a paced demonstration
   that takes no training slot). RSS now is the **idle** figure (imports, the shared data, the idle
   sessions): the reference for the memory targets.
3. Session 1 trains the default run alone (Start): samples / (end - start) of that run from the
   server's log line ("training of … ended …"; again after step 4; the faster of the two counts, as
   the machine's speed drifts).
4. All sessions press Start at once (session 1 trains its model further). While they train a new
   user opens Home: time from ``goto`` until the sidebar's first setting (Training samples) is usable.
   Each page's progress line gives that session's samples/s while it trained; the aggregate is all
   samples over the server's wall time from the first run's start to the last run's end (its log).

The browsers share this machine's 2 cores with the server; in a classroom they run on the students'
own machines. So, by default (``--browser-nice 19``), the class's Chromium runs at nice 19 while
sessions train (its scheduling group and each thread: it gets the CPU the server leaves) and at
normal priority while the class clicks; the first users and the new user have a browser of their own
at normal priority. ``--browser-nice 0`` shares the cores equally between browsers and server.
``--server-cpus 0`` goes further: the server (and its trainings) on CPU 0 only, this benchmark and every
browser on the others, as a server machine of its own whose users' browsers run elsewhere (here the
browsers then have one core between them, so their own page loads take longer).
Each new user's page load prints where its time went (:class:`LoadTimeline`). ``--haproxy`` puts the
shipped ``deploy/haproxy.cfg`` (Debian's HAProxy) between the browsers and the server, as deployed.
5. RSS after all trained. Everyone sets 100 epochs and presses Start again; once trainings run,
   every browser context is closed (tabs closed mid-training): seconds until the server's CPU is idle.
6. RSS every 10 s until back within 20 % of the idle figure or ``--rss-watch`` seconds.

Prints each step, then a summary with each target met / NOT met.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError

from bench.server_probe import ServerProbe, children, renice_tree
from nncore.studio.resources import MIB, available_cpus
from tests.browser_util import (
    StreamlitServer,
    browser_available,
    launch,
    set_number,
    set_slider,
    settle,
    wait_app_idle,
)

VIEWPORT = {"width": 1280, "height": 900}
LONG_MS = 600_000
RATE = re.compile(r"([\d,]+) samples/s")
TRAINS_ON = re.compile(r"Start trains on ([\d,]+) samples")
TRAINED_EPOCHS = re.compile(r"trained (\d+) epochs?")
FULL_SPEED = "as fast as possible"
FIRST_SETTING = ".st-key-cfg_n_samples input[type='range']"  # the sidebar's first setting (Data)

# targets (issue 14)
AGGREGATE_VS_ALONE = 0.8
SLOWEST_VS_FASTEST = 0.5
PAGE_INTERACTIVE_S = 3.0
BASE_MIB, PER_TRAINED_MIB = 150, 60
CPU_IDLE_S = 10.0
RSS_BACK_FRACTION, RSS_BACK_S = 0.2, 180.0
CPU_IDLE_CORES = 0.1  # "idle": under a tenth of a core
CLOSE_EPOCHS = 100  # the runs the tabs are closed in: far longer than the benchmark waits

# In the page: note the time when the progress line shows an ended run and the model caption shows
# at least ``target`` epochs (window.__nnEnded = {t: seconds since the epoch, line: progress text}).
END_MARKER = """(target) => {
  window.__nnEnded = null;
  clearInterval(window.__nnTimer);
  window.__nnTimer = setInterval(() => {
    const bar = document.querySelector('[data-testid="stProgress"]');
    const line = bar ? bar.innerText.trim() : '';
    if (!/^(Finished|Stopped|Diverged|Error)/.test(line)) return;
    const caption = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
      .map(e => e.innerText).find(text => text.includes('Model:')) || '';
    const m = caption.match(/trained (\\d+) epochs?/);
    if (m && Number(m[1]) >= target) {
      window.__nnEnded = {t: Date.now() / 1000, line: line};
      clearInterval(window.__nnTimer);
    }
  }, 100);
}"""


# ----------------------------------------------------------------------------------------------
# One browser user
# ----------------------------------------------------------------------------------------------
def number(text: str) -> int:
    return int(text.replace(",", ""))


def mib(b: float) -> str:
    return f"{b / MIB:,.0f} MiB"


@dataclass
class Session:
    """One user: a browser context with one tab, and what was read from its Train page."""

    name: str
    context: Any
    page: Any
    n_train: int = 0
    epochs: int = 0  # epochs one Start trains (the sidebar's)
    clicked: float | None = None  # time.time() of the last Start
    ended: float | None = None  # time.time() when the page saw the last run ended
    line: str = ""  # the progress line when it ended

    @property
    def rate(self) -> float:
        """Samples/s of the last run while it trained (the engine's figure on the progress line)."""
        m = RATE.search(self.line)
        return float(number(m.group(1))) if m else float("nan")

    def progress(self) -> str:
        loc = self.page.locator('[data-testid="stProgress"]')
        try:
            return loc.first.inner_text(timeout=2_000).replace("*", "").strip() if loc.count() else ""
        except PlaywrightError:  # the fragment replaced the element meanwhile
            return ""

    def caption(self) -> str:
        loc = self.page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Model:")
        try:
            return loc.first.inner_text(timeout=2_000) if loc.count() else ""
        except PlaywrightError:
            return ""

    def trained_epochs(self) -> int:
        m = TRAINED_EPOCHS.search(self.caption())
        return int(m.group(1)) if m else 0

    def configure(self, samples: str, epochs: int | None) -> None:
        """The sidebar and Train page choices a user makes; waits until the server has the data."""
        set_slider(self.page, "cfg_n_samples", samples)
        if epochs is not None:
            set_number(self.page, "cfg_epochs", epochs)
        set_slider(self.page, "train_speed", FULL_SPEED)
        wanted = number(samples)
        deadline = time.monotonic() + LONG_MS / 1000
        while time.monotonic() < deadline:
            m = TRAINS_ON.search(self.caption())
            if m and abs(number(m.group(1)) - 0.9 * wanted) <= 1:  # default validation split 0.1
                self.n_train = number(m.group(1))
                break
            self.page.wait_for_timeout(250)
        else:
            raise TimeoutError(f"{self.name}: the Train page never said it trains on ~{0.9 * wanted:,.0f} samples")
        self.epochs = int(self.page.locator(".st-key-cfg_epochs input").first.input_value())

    def step_once(self, url: str, samples: str) -> None:
        """Open Train, choose ``samples`` and train one mini-batch (Step): the process-wide training
        split exists from then on."""
        self.page.goto(url + "/train")
        self.page.locator(".st-key-btn_step button").first.wait_for()
        wait_app_idle(self.page)
        set_slider(self.page, "cfg_n_samples", samples)
        self.page.locator(".st-key-btn_step button").first.click()
        deadline = time.monotonic() + LONG_MS / 1000
        while not self.progress().startswith("Paused") and time.monotonic() < deadline:
            self.page.wait_for_timeout(250)

    def start(self, target_epochs: int) -> None:
        """Press Start; the page itself then notes (its own clock, every 100 ms) when the run has ended
        and the model shows ``target_epochs``, so that a busy benchmark loop does not delay the reading."""
        self.arm(target_epochs)
        self.page.locator(".st-key-btn_start button").first.click()

    def arm(self, target_epochs: int) -> None:
        """Set up the page's end marker for a run to ``target_epochs`` (before Start is pressed)."""
        self.page.evaluate(END_MARKER, target_epochs)
        self.clicked, self.ended, self.line = time.time(), None, ""

    def press_start_now(self) -> None:
        """Press Start with the page's own click, without Playwright's checks and waits (all sessions
        of a class within a fraction of a second, as students pressing at once). Call :meth:`arm` first."""
        self.clicked = time.time()
        self.page.evaluate("() => document.querySelector('.st-key-btn_start button').click()")

    def poll_ended(self) -> bool:
        """True (``ended``, wall-clock seconds, and ``line`` set) once the page noted the run's end."""
        if self.ended is None:
            mark = self.page.evaluate("() => window.__nnEnded")
            if mark:
                self.ended, self.line = float(mark["t"]), mark["line"]
        return self.ended is not None

    def close(self) -> None:
        self.context.close()


def new_session(browser, name: str) -> Session:
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(LONG_MS)
    return Session(name, ctx, ctx.new_page())


class LoadTimeline:
    """Where a new user's first page load spends its time, from the browser's own network log (Chrome
    DevTools Protocol, monotonic seconds): the page's request, the first message on Streamlit's
    websocket (the browser asks for the first script run once its JavaScript runs), and the server's
    ``script_finished`` message as the browser took it in (the server ran the page and sent all of it).
    The middle part includes the browser's own delays in taking the messages in."""

    def __init__(self, page) -> None:
        self.document: float | None = None
        self.asked: float | None = None
        self.finished: float | None = None
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", self._request)
        self.cdp.on("Network.webSocketFrameSent", self._sent)
        self.cdp.on("Network.webSocketFrameReceived", self._received)
        self.cdp.send("Network.enable")

    def _request(self, e: dict) -> None:
        if self.document is None and e.get("type") == "Document":
            self.document = e["timestamp"]

    def _sent(self, e: dict) -> None:
        if self.asked is None:
            self.asked = e["timestamp"]

    def _received(self, e: dict) -> None:
        if self.finished is not None or e["response"].get("opcode") != 2:
            return
        import base64

        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            msg = ForwardMsg.FromString(base64.b64decode(e["response"]["payloadData"]))
        except Exception:  # noqa: BLE001 - not a ForwardMsg (protobuf raises its own DecodeError)
            return
        if msg.WhichOneof("type") == "script_finished":
            self.finished = e["timestamp"]

    def text(self, interactive: float) -> str:
        if None in (self.document, self.asked, self.finished):
            return f"(no timeline: the browser's network log missed a step: {self.document=} {self.asked=} {self.finished=})"
        js = self.asked - self.document
        server = self.finished - self.asked
        return (f"where the time went: the browser loads and starts Streamlit's JavaScript {js:.2f} s; the first "
                f"script run, from the browser's request until it has the server's last message {server:.2f} s; the "
                f"browser draws the page until usable {max(0.0, interactive - js - server):.2f} s")


def first_load_seconds(browser, url: str) -> tuple[float, float, Session]:
    """A new user opens ``url``: seconds from ``goto`` until the sidebar's first setting is visible and
    enabled (interactive), and until the first script run has finished (status widget gone). Prints
    where the time went (:class:`LoadTimeline`)."""
    s = new_session(browser, "visitor")
    timeline = LoadTimeline(s.page)
    t0 = time.perf_counter()
    s.page.goto(url, wait_until="commit")
    s.page.wait_for_function(
        f"""() => {{ const e = document.querySelector("{FIRST_SETTING}");
                     return e && e.offsetParent !== null && !e.disabled
                            && e.getAttribute('aria-disabled') !== 'true'; }}""",
        timeout=LONG_MS, polling=50,
    )
    interactive = time.perf_counter() - t0
    print(f"    {timeline.text(interactive)}", flush=True)
    wait_app_idle(s.page, timeout=LONG_MS)
    return interactive, time.perf_counter() - t0, s


ENDED_LINE = re.compile(r"training of (\S+) ended \((\w+), [^)]*\): (\d+) samples, trained from ([\d.]+) to ([\d.]+)")


def server_runs(log_text: str, since: float) -> list[tuple[str, int, float, float]]:
    """(owner, samples, start, end) of every run the server logged as ended after ``since`` (wall clock)."""
    runs = []
    for m in ENDED_LINE.finditer(log_text):
        owner, _state, samples, start, end = m.groups()
        if float(start) >= since:
            runs.append((owner, int(samples), float(start), float(end)))
    return runs


class NiceKeeper:
    """Holds the browser processes ``roots`` (and their descendants) at a nice value.

    Two levels, because Linux schedules in two: with autogroups (``kernel.sched_autogroup_enabled``)
    every session is a group and the CPU is shared between groups first; Playwright starts each
    Chromium in a session of its own, and the server runs in another, so the groups' nice values
    decide (``/proc/<pid>/autogroup``). Within the group every thread's nice is set too, re-applied
    every ``every`` seconds by a daemon thread, because Chromium sets its renderers' priority itself."""

    def __init__(self, roots: list[int], value: int, every: float = 0.5) -> None:
        self.roots, self.every = list(roots), every
        self.set(value)
        threading.Thread(target=self._loop, name="nice-keeper", daemon=True).start()

    def apply(self) -> int:
        return sum(renice_tree(r, self.value) for r in self.roots)

    def set(self, value: int) -> None:
        """Change the value (group and threads) now."""
        self.value = value
        for root in self.roots:
            try:
                Path(f"/proc/{root}/autogroup").write_text(str(value))
            except OSError:  # no autogroups on this kernel: thread nice values alone decide
                pass
        self.apply()

    def _loop(self) -> None:
        while True:
            time.sleep(self.every)
            self.apply()


def start_haproxy(server: StreamlitServer, cpus: set[int] | None):
    """Debian's HAProxy running the shipped ``deploy/haproxy.cfg`` in front of ``server`` (its compression
    and its cache of Streamlit's frontend files), on ``cpus`` with the server when given."""
    import tempfile

    from tests.browser.test_deploy_lb import HAProxy, haproxy_binary, local_config

    binary = haproxy_binary()
    if binary is None:
        raise SystemExit("--haproxy needs Debian's haproxy (apt-get install haproxy)")
    lb = HAProxy(Path(tempfile.mkdtemp(prefix="nnstudio-bench-lb-")))
    lb.start(binary, local_config({"r1": server.port}, lb.port, lb.stats_port), servers=1)
    if cpus:
        for task in Path(f"/proc/{lb.proc.pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)
    print(f"the browsers go through HAProxy ({lb.url}) running deploy/haproxy.cfg: compression, and Streamlit's "
          "frontend files from its cache", flush=True)
    return lb


def wait_all_accepted(sessions: list[Session], timeout: float = 120.0) -> None:
    """Wait until every page shows its run training, waiting for a slot or ended (the Start reached
    the server)."""
    deadline = time.monotonic() + timeout
    for s in sessions:
        while time.monotonic() < deadline:
            if re.match(r"(Training|Waiting|Finished|Stopped)", s.progress()) or s.poll_ended():
                break
            s.page.wait_for_timeout(100)


def server_rate(server: StreamlitServer, since: float, label: str) -> float:
    """Samples/s of the one run the server logged as ended after ``since``: samples / (end - start)."""
    runs = server_runs(server.log_text(), since)
    if len(runs) != 1:
        raise RuntimeError(f"{label}: the server logged {len(runs)} runs, not 1")
    _, samples, start, end = runs[0]
    rate = samples / (end - start)
    print(f"  on the server: {samples:,} samples from {start:.2f} to {end:.2f} = {rate:,.0f} samples/s", flush=True)
    return rate


def wait_all_ended(sessions: list[Session], during=None, timeout: float = 3600.0) -> None:
    """Wait until every page noted the end of its run; ``during()`` once, as soon as a run is seen
    training (e.g. a new user's page load)."""
    deadline = time.monotonic() + timeout
    pending = list(sessions)
    while pending and time.monotonic() < deadline:
        pending = [s for s in pending if not s.poll_ended()]
        if during is not None and any(s.progress().startswith("Training") for s in pending):
            during()
            during = None
        if pending:
            pending[0].page.wait_for_timeout(500)
    if pending:
        raise TimeoutError(f"{len(pending)} run(s) did not end within {timeout:.0f} s")


def train_alone(s: Session, samples: int, probe: ServerProbe, label: str, keeper: NiceKeeper | None = None,
                nice: int = 0) -> None:
    """``s`` trains its run while no other session trains; prints its figures. With ``keeper``, the
    class's browser runs at ``nice`` while the run trains (as in the 8-at-once step)."""
    s.start(s.trained_epochs() + s.epochs)
    wait_all_accepted([s])
    if keeper is not None:
        keeper.set(nice)
    wait_all_ended([s])
    if keeper is not None:
        keeper.set(0)
    print(f"{label}: {s.name}: {s.line}", flush=True)
    print(f"  {s.rate:,.0f} samples/s while training; {samples / (s.ended - s.clicked):,.0f} samples/s from "
          f"Start to the end seen; RSS {mib(probe.rss_bytes())}", flush=True)


# ----------------------------------------------------------------------------------------------
# The scenario
# ----------------------------------------------------------------------------------------------
@dataclass
class Figures:
    """What the summary judges; None where a step did not run."""

    sessions: int = 0
    samples: str = ""
    alone_rate: float | None = None
    aggregate_rate: float | None = None
    rates: list[float] = field(default_factory=list)
    visitor_interactive: float | None = None
    idle_mib: float | None = None
    trained_mib: float | None = None
    cpu_idle_after: float | None = None
    cpu_watch: float = 0.0
    rss_back_after: float | None = None
    rss_watch: float = 0.0


def run(args: argparse.Namespace) -> Figures:
    from playwright.sync_api import sync_playwright

    reason = browser_available()
    if reason:
        raise SystemExit(f"mode classroom needs Playwright and Chromium: {reason}")
    env = {}
    if args.max_trainings:
        env["NNSTUDIO_MAX_TRAININGS"] = str(args.max_trainings)
    if args.blas_threads:
        env["NNSTUDIO_BLAS_THREADS"] = str(args.blas_threads)
    for item in args.server_env or []:
        name, _, value = item.partition("=")
        env[name] = value
    n = args.sessions
    fig = Figures(sessions=n, samples=args.samples)
    print(f"classroom: {n} sessions train the default network on {args.samples} digits "
          f"({'the default' if args.epochs is None else args.epochs} epochs, speed {FULL_SPEED!r}); "
          f"CPUs usable: {available_cpus()}; server environment: {env or 'as inherited'}", flush=True)
    split = args.server_cpus
    if split:
        others = set(os.sched_getaffinity(0)) - split
        if not others or not split <= set(os.sched_getaffinity(0)):
            raise SystemExit(f"--server-cpus {sorted(split)}: needs usable CPUs outside it too")
        os.sched_setaffinity(0, others)  # this process, and so Playwright and every browser it starts
        print(f"the server runs on CPU(s) {sorted(split)} only; the browsers and this benchmark on "
              f"{sorted(others)}: a server machine of its own, its users' browsers elsewhere", flush=True)
    server = StreamlitServer(env=env, cpus=split).start(timeout=180)
    probe = ServerProbe(server.proc.pid)
    sessions: list[Session] = []
    visitors: list[Session] = []
    lb = None
    try:
        time.sleep(1)
        print(f"server up in {server.ready_seconds:.1f} s (pid {server.proc.pid}); RSS with no session: "
              f"{mib(probe.rss_bytes())}", flush=True)
        url = server.url
        if args.haproxy:
            lb = start_haproxy(server, split)
            url = lb.url
        with sync_playwright() as p:
            browser = launch(p)  # the class's sessions
            visitor_browser = browser
            keeper: NiceKeeper | None = None
            if args.browser_nice:
                # The class's Chromium at a low priority: its pages get the CPU the server leaves, as
                # when students' browsers run on their own machines. The first users and the new user
                # who comes while the class trains get a browser of their own at normal priority.
                drivers = [c for c in children(os.getpid()) if c != server.proc.pid]
                class_roots = [c for d in drivers for c in children(d)]
                visitor_browser = launch(p)
                keeper = NiceKeeper(class_roots, 0)
                print(f"while sessions train, the class's browser runs at nice {args.browser_nice} (its pages take "
                      "the CPU the server leaves, as on students' own machines; re-applied every 0.5 s because "
                      "Chromium sets its renderers' priority itself); while the class clicks, at normal priority; "
                      "the other users' browser always at normal priority", flush=True)
            # 1. first users on Home: cold, then warm
            cold, cold_done, first = first_load_seconds(visitor_browser, url)
            first.close()
            warm, warm_done, second = first_load_seconds(visitor_browser, url)
            print(f"page load on an idle server, Home until the first setting is usable: first user "
                  f"{cold:.2f} s (script done {cold_done:.2f} s), next user {warm:.2f} s "
                  f"(script done {warm_done:.2f} s); RSS {mib(probe.rss_bytes())}", flush=True)
            second.step_once(url, args.samples)
            second.close()
            print(f"the next user trained one batch on {args.samples} digits (Step): the server holds that "
                  f"training split, shared by all sessions; RSS {mib(probe.rss_bytes())}", flush=True)

            # 2. the class opens the Train page and makes its choices
            t0 = time.perf_counter()
            for i in range(n):
                s = new_session(browser, f"session {i + 1}")
                sessions.append(s)
                s.page.goto(url + "/train")
                s.page.locator(".st-key-btn_start button").first.wait_for()
                wait_app_idle(s.page)
                s.configure(args.samples, args.epochs)
            settle(sessions[-1].page, 1000)
            idle = probe.rss_bytes()
            fig.idle_mib = idle / MIB
            per_run = sessions[0].n_train * sessions[0].epochs
            print(f"{n} sessions on Train, configured in {time.perf_counter() - t0:.0f} s: each run trains "
                  f"{sessions[0].epochs} epochs x {sessions[0].n_train:,} samples = {per_run:,} samples; "
                  f"RSS (idle figure) {mib(idle)}", flush=True)

            # 3. one session alone
            alone = sessions[0]
            t_wall = time.time()
            train_alone(alone, per_run, probe, "alone", keeper, args.browser_nice)
            fig.alone_rate = server_rate(server, t_wall, "alone")

            # 4. everyone at once, a visitor meanwhile
            def visitor_load() -> None:
                interactive, done, v = first_load_seconds(visitor_browser, url)
                visitors.append(v)
                fig.visitor_interactive = interactive
                print(f"a new user's first page while the class trains: Home until the first setting is "
                      f"usable {interactive:.2f} s (script done {done:.2f} s)", flush=True)

            targets = [s.trained_epochs() + s.epochs for s in sessions]
            everything = ServerProbe(os.getpid())  # this benchmark's process tree: server, browsers, driver
            cpu0, all0, t_cpu0 = probe.cpu_seconds(), everything.cpu_seconds(), time.perf_counter()
            own0 = probe.own_cpu_seconds()
            t_wall = time.time()
            if keeper is not None:
                keeper.set(0)  # the class presses Start at once, each on a machine of its own
            for s, target in zip(sessions, targets):
                s.arm(target)
            for s in sessions:
                s.press_start_now()
            wait_all_accepted(sessions)
            clicks = time.perf_counter() - t_cpu0
            print(f"  the {n} Starts reached the server in {clicks:.1f} s; meanwhile the server process itself (pages, "
                  f"not the trainings) used {probe.own_cpu_seconds() - own0:.1f} CPU s", flush=True)
            if keeper is not None:
                keeper.set(args.browser_nice)
            visitor_load()
            wait_all_ended(sessions)
            if keeper is not None:
                keeper.set(0)
            seconds = time.perf_counter() - t_cpu0
            server_cores = (probe.cpu_seconds() - cpu0) / seconds
            pages_cores = (probe.own_cpu_seconds() - own0) / seconds
            other_cores = (everything.cpu_seconds() - all0) / seconds - server_cores
            first_click = min(s.clicked for s in sessions)
            seen_wall = max(s.ended for s in sessions) - first_click
            fig.rates = [s.rate for s in sessions]
            for s in sessions:
                print(f"  {s.name}: {s.line}  | Start to end seen {s.ended - s.clicked:5.1f} s", flush=True)
            runs = server_runs(server.log_text(), t_wall)
            if len(runs) == n:
                wall = max(r[3] for r in runs) - min(r[2] for r in runs)
                fig.aggregate_rate = sum(r[1] for r in runs) / wall
                print(f"{n} at once: {n * per_run:,} samples in {wall:.1f} s on the server (first run's start to "
                      f"the last one's end, from the server's log) = {fig.aggregate_rate:,.0f} samples/s in total, "
                      f"{fig.aggregate_rate / fig.alone_rate:.2f}x alone; {seen_wall:.1f} s from the first Start to "
                      f"the last end the pages saw; per session while training min {min(fig.rates):,.0f} / "
                      f"median {statistics.median(fig.rates):,.0f} / max {max(fig.rates):,.0f}", flush=True)
            else:
                print(f"the server logged {len(runs)} runs, not {n}: no aggregate", flush=True)
            print(f"  meanwhile the server used {server_cores:.2f} cores ({pages_cores:.2f} of them its pages, the rest "
                  f"the trainings), the browsers (Chromium, Playwright) {other_cores:.2f} cores of this machine's "
                  f"{os.cpu_count()}", flush=True)
            time.sleep(2)
            trained = probe.rss_bytes()
            fig.trained_mib = trained / MIB
            print(f"RSS after {n} sessions trained: {mib(trained)} ({(trained - idle) / n / MIB:,.1f} MiB per "
                  f"session over the idle figure)", flush=True)
            # the machine's speed drifts (shared VMs): alone once more; the faster of the two counts
            t_wall = time.time()
            train_alone(alone, per_run, probe, "alone again", keeper, args.browser_nice)
            fig.alone_rate = max(fig.alone_rate, server_rate(server, t_wall, "alone again"))

            # 5. close every tab while trainings run (long ones: 100 epochs each)
            for s in sessions:
                set_number(s.page, "cfg_epochs", CLOSE_EPOCHS)
                s.start(s.trained_epochs() + CLOSE_EPOCHS)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(s.progress().startswith("Training") for s in sessions):
                time.sleep(0.5)
            busy = probe.cpu_cores(1.0)
            closed = time.perf_counter()
            for s in sessions + visitors:
                s.close()
            browser.close()
            if visitor_browser is not browser:
                visitor_browser.close()
        fig.cpu_watch = args.cpu_watch
        after, windows = probe.seconds_until_cpu_idle(closed, threshold=CPU_IDLE_CORES, timeout=args.cpu_watch)
        fig.cpu_idle_after = after
        shown = " ".join(f"{c:.2f}" for c in windows[:60])
        when = f"{after:.1f} s" if after is not None else f"more than {args.cpu_watch:.0f} s"
        print(f"all tabs closed while training (server used {busy:.2f} cores just before): CPU idle "
              f"(< {CPU_IDLE_CORES} core for 3 s) after {when}; cores per 0.5 s: {shown}", flush=True)
        log_lines = [ln for ln in server.log_text().splitlines() if "disconnected session" in ln]
        print(f"  server log: {len(log_lines)} training(s) stopped for a disconnected session", flush=True)

        # 6. memory back?
        fig.rss_watch = args.rss_watch
        samples = probe.watch_rss(
            closed, args.rss_watch, 10.0, stop_within=(idle, RSS_BACK_FRACTION),
            on_sample=lambda r: print(f"  {r.seconds:5.0f} s after closing: RSS {mib(r.bytes)}", flush=True),
        )
        back = [r for r in samples if abs(r.bytes - idle) <= RSS_BACK_FRACTION * idle]
        fig.rss_back_after = back[0].seconds if back else None
    finally:
        if lb is not None:
            lb.stop()
        server.stop()
    return fig


# ----------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------
def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "NOT met")


def summary(fig: Figures) -> None:
    """One line per target: measured, target, met / NOT met."""
    n = fig.sessions
    rows: list[tuple[str, str, str, bool | None]] = []
    if fig.aggregate_rate and fig.alone_rate:
        ratio = fig.aggregate_rate / fig.alone_rate
        measured = f"{fig.aggregate_rate:,.0f} vs {fig.alone_rate:,.0f} = {ratio:.2f}x"
        rows.append((f"{n} at once, total samples/s vs 1 alone", measured, f">= {AGGREGATE_VS_ALONE}x",
                     ratio >= AGGREGATE_VS_ALONE))
    if fig.rates:
        ratio = min(fig.rates) / max(fig.rates)
        measured = f"{min(fig.rates):,.0f} / {max(fig.rates):,.0f} = {ratio:.2f}x"
        rows.append(("slowest / fastest session (samples/s)", measured, f">= {SLOWEST_VS_FASTEST}x",
                     ratio >= SLOWEST_VS_FASTEST))
    if fig.visitor_interactive is not None:
        rows.append((f"new user's first page while {n} train", f"{fig.visitor_interactive:.2f} s",
                     f"<= {PAGE_INTERACTIVE_S:.0f} s", fig.visitor_interactive <= PAGE_INTERACTIVE_S))
    if fig.trained_mib is not None:
        limit = BASE_MIB + PER_TRAINED_MIB * n
        per = (fig.trained_mib - fig.idle_mib) / n
        note = "" if fig.samples.replace(",", "") == "60000" else f" (trained on {fig.samples}, not 60,000)"
        measured = f"{fig.trained_mib:,.0f} MiB (idle {fig.idle_mib:,.0f}, +{per:,.1f} each)"
        rows.append((f"server RSS after {n} trained{note}", measured,
                     f"<= {BASE_MIB} + {PER_TRAINED_MIB} x {n} = {limit} MiB", fig.trained_mib <= limit))
    if fig.cpu_watch:
        after = fig.cpu_idle_after
        rows.append(("CPU idle after closing the training tabs",
                     f"{after:.1f} s" if after is not None else f"not within {fig.cpu_watch:.0f} s",
                     f"<= {CPU_IDLE_S:.0f} s", after is not None and after <= CPU_IDLE_S))
    if fig.rss_watch:
        after = fig.rss_back_after
        rows.append((f"RSS back within {RSS_BACK_FRACTION:.0%} of idle ({fig.idle_mib:,.0f} MiB)",
                     f"after {after:.0f} s" if after is not None else f"not within {fig.rss_watch:.0f} s",
                     f"<= {RSS_BACK_S:.0f} s", after is not None and after <= RSS_BACK_S))
    print("\nSummary (MiB = 2^20 bytes; the targets' MB read as MiB)")
    print(f"{'target':<52} {'measured':<40} {'wanted':<28} verdict")
    for name, measured, wanted, ok in rows:
        print(f"{name:<52} {measured:<40} {wanted:<28} {verdict(ok)}")

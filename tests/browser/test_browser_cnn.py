"""End to end in Chromium: build a small CNN in the sidebar, train it briefly (a run far too long to
finish, stopped by the test), draw a digit and see its feature maps and the filters on Inspect.
Screenshots go to artifacts/."""
from __future__ import annotations

import re

import pytest

from tests import browser_util as B

pytestmark = pytest.mark.browser

TIMEOUT = 120_000  # ms; waits end on a state, so only a broken page ever uses it up


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT)
    yield pg
    ctx.close()


def _nav(page, title: str) -> None:
    """Switch page with the navigation bar (a page load would start a new session)."""
    page.get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_url(re.compile(f"/{title.lower()}(\\?.*)?$"))  # the page may carry its setup as a query
    B.settle(page, 400)


def _shot(page, name: str) -> None:
    B.ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(500)
    page.screenshot(path=str(B.ARTIFACTS / name))


def _wait_progress(page, pattern: str) -> str:
    """The progress bar's text once it matches ``pattern``."""
    rx = re.compile(pattern)
    page.wait_for_function(
        """(src) => { const p = document.querySelector('[data-testid="stProgress"]');
                      return p && new RegExp(src).test(p.innerText); }""", arg=rx.pattern)
    return page.locator('[data-testid="stProgress"]').first.inner_text()


def _image_loaded(page, selector: str) -> None:
    """Wait until the first <img> under ``selector`` has decoded pixels."""
    page.locator(f"{selector} img").first.wait_for()
    page.wait_for_function(
        """(sel) => { const i = document.querySelector(sel + ' img'); return i && i.complete && i.naturalWidth > 0; }""",
        arg=selector)


def test_a_small_cnn_trains_and_shows_feature_maps_of_a_drawing(server, page):
    try:
        _scenario(server, page)
    except Exception:
        _shot(page, "cnn_failure.png")
        raise


def _scenario(server, page):
    page.goto(server.url + "/train")
    B.wait_app_idle(page)
    page.get_by_text("Convolutional (CNN)").first.click()
    B.settle(page)
    page.locator(".st-key-cfg_C0_f input").first.wait_for()
    B.click_key(page, "rm_C1")  # one conv block of 4 filters
    B.set_number(page, "cfg_C0_f", 4)
    # 100 epochs of 54,000 images in batches of 8 (675,000 steps): far too long to finish; the test stops it
    B.configure_sidebar(page, neurons=[16], samples="60,000", epochs=100, batch=8)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("784-conv4-maxpool-16-10").first.wait_for()

    B.click_key(page, "btn_start")
    _wait_progress(page, r"Training · Epoch 1/100")
    # briefly: until the page shows a training loss (at least one batch has been learned)
    page.wait_for_function(
        """() => { const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                     .find(e => e.innerText.includes('Train loss'));
                   const v = m && m.querySelector('[data-testid="stMetricValue"]');
                   return v && /[0-9]/.test(v.innerText); }""")
    B.click_key(page, "btn_stop")
    _wait_progress(page, r"Stopped")
    _shot(page, "cnn_train.png")

    _nav(page, "Draw")
    page.get_by_text("Your model", exact=True).first.wait_for()
    B.draw_strokes(page, B.SEVEN)
    B.wait_prediction_digit(page)  # the drawing has reached the session

    _nav(page, "Inspect")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("784-conv4-maxpool-16-10").first.wait_for()  # the session's CNN is shown
    page.get_by_role("tab", name=re.compile("One digit")).click()
    main.get_by_text("your drawing").first.wait_for()
    main.get_by_text("Inside the convolutions").first.wait_for()
    _image_loaded(page, ".st-key-fmaps_conv_1")
    imgs = page.locator(".st-key-fmaps_conv_1 img")
    assert imgs.count() == 3  # the filters, the 4 feature maps, the 4 pooled maps
    page.locator(".st-key-fmaps_conv_1").get_by_text("Conv 1 (4 filters 3×3, relu)").first.wait_for()
    page.locator(".st-key-fmaps_conv_1").scroll_into_view_if_needed()
    _shot(page, "cnn_inspect_maps.png")

    page.get_by_role("tab", name=re.compile("Filters")).click()
    _image_loaded(page, ".st-key-filters_0")
    main.get_by_text("all 4 filters, one tile each").first.wait_for()
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]

"""End-to-end: a misclassified digit on the Train page opens in Inspect, and the sidebar keeps its values.

The run trains one epoch and the test waits until it has finished (it never races it)."""
from __future__ import annotations

import pytest

from tests.browser_util import ARTIFACTS, click_key, set_number, settle, wait_app_idle

pytestmark = pytest.mark.browser

LONG = 300_000  # ms


def test_a_mistake_opens_in_inspect_with_its_origin_and_the_sidebar_as_it_was(server, browser):
    ctx = browser.new_context(viewport={"width": 1024, "height": 900})
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    try:
        page.goto(server.url + "/train")
        wait_app_idle(page)
        set_number(page, "cfg_epochs", 1)
        click_key(page, "btn_start")
        page.get_by_text("Most confident mistakes").first.wait_for(timeout=LONG)  # shown once the run ended
        wait_app_idle(page)
        set_number(page, "cfg_seed", 7)  # a sidebar value the trip to Inspect must keep
        links = page.locator(".st-key-mistakes a")
        assert links.count() >= 3
        link = links.nth(2)
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        gallery = page.locator(".st-key-mistakes").first.bounding_box()
        assert box["x"] + box["width"] <= gallery["x"] + gallery["width"] + 1  # the link is whole, not cut
        assert link.inner_text().strip().endswith("Inspect")
        href = link.get_attribute("href")
        assert "inspect_digit=" in href
        digit = int(href.split("inspect_digit=")[1].split("&")[0])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "mistakes_1024.png"))
        link.click()
        origin = page.get_by_text(f"From the Train page: test digit #{digit}, label")
        origin.first.wait_for(timeout=LONG)
        wait_app_idle(page)
        assert page.locator(".st-key-inspect_index input").first.input_value() == str(digit)
        assert page.locator('[role="tab"][aria-selected="true"]').first.inner_text().strip().endswith(
            "One digit, layer by layer")
        assert page.locator(".st-key-cfg_seed input").first.input_value() == "7"  # the sidebar as it was
        assert page.locator(".st-key-cfg_epochs input").first.input_value() == "1"
        assert "inspect_digit" not in page.url  # used once
        page.screenshot(path=str(ARTIFACTS / "inspect_from_train_1024.png"))
        # another digit: the tab stays, the origin note goes
        set_number(page, "inspect_index", (digit + 1) % 10_000)
        settle(page, 800)
        assert page.locator('[role="tab"][aria-selected="true"]').first.inner_text().strip().endswith(
            "One digit, layer by layer")
        assert page.get_by_text("From the Train page").count() == 0
        page.locator(".st-key-inspect_random button").first.click()  # and stays on later reruns
        settle(page, 800)
        assert page.locator('[role="tab"][aria-selected="true"]').first.inner_text().strip().endswith(
            "One digit, layer by layer")
    finally:
        ctx.close()

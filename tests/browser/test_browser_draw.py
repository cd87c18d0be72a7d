"""End-to-end: the Draw page's canvas without the drawable-canvas toolbar, and our own Undo.

streamlit-drawable-canvas 0.13 puts a toolbar (invisible until hovered) over the canvas's top-right
corner, inside the component's shadow root; the page hides it. Here: at 1024 px with the sidebar open
and at 390 px, the canvas itself is what a pointer hits at its top edge and top-right corner, a stroke
drawn there lands on the canvas and reaches the network, no toolbar shows (not even on hover), and
Undo removes the last stroke only.
"""
from __future__ import annotations

import pytest

from tests.browser_util import ARTIFACTS, ONE, ZERO, canvas_box, draw_strokes, wait_app_idle, wait_prediction_digit

pytestmark = pytest.mark.browser

LONG = 180_000  # ms

# the innermost element at a point, through open shadow roots (the canvas lives in one)
HIT = """([x, y]) => { let e = document.elementFromPoint(x, y);
  while (e && e.shadowRoot) { const inner = e.shadowRoot.elementFromPoint(x, y);
                              if (!inner || inner === e) break; e = inner; }
  return e ? String(e.className) : ""; }"""

# every .dc-toolbar in the canvas box (through shadow roots) that takes space on screen
VISIBLE_TOOLBARS = """() => { const found = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
      if (el.classList.contains('dc-toolbar')) { const r = el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0 && getComputedStyle(el).display !== 'none') found.push(r.toJSON()); }
      if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document); return found; }"""

# the ink (0-255, red channel) of the drawn canvas at canvas-relative 0..1 coordinates
INK_AT = """([fx, fy]) => { let c = null;
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
      if (!c && el.tagName === 'CANVAS' && el.classList.contains('dc-canvas')
          && el.classList.contains('lower-canvas')) c = el;  // the strokes (not the background)
      if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document);
  const px = c.getContext('2d').getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data;
  return px[0]; }"""

CORNER_STROKE = [[(0.72, 0.06), (0.96, 0.06), (0.96, 0.3)]]  # along the top edge into the top-right corner


def wait_ink(page, fx: float, fy: float, timeout: float = 30_000) -> None:
    """Wait until the canvas shows ink at canvas-relative (fx, fy)."""
    page.wait_for_function(f"(p) => ({INK_AT})(p) > 200", arg=[fx, fy], timeout=timeout)


def prediction(page) -> str:
    m = page.locator('[data-testid="stMetric"]').filter(has_text="Prediction").first
    return m.locator('[data-testid="stMetricValue"]').inner_text().strip()


def wait_prediction_change(page, old: str, timeout: float = LONG) -> str:
    page.wait_for_function(
        """(old) => { const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                        .find(e => e.innerText.includes('Prediction'));
                      const v = m && m.querySelector('[data-testid="stMetricValue"]');
                      return v && /^[0-9]$/.test(v.innerText.trim()) && v.innerText.trim() !== old; }""",
        arg=old, timeout=timeout)
    return prediction(page)


def open_draw(browser, server, width: int, height: int):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    page.goto(server.url + "/draw")
    page.get_by_text("Draw a digit").first.wait_for(timeout=LONG)
    wait_app_idle(page)
    return ctx, page


@pytest.mark.parametrize("width,height,sidebar", [(1024, 900, True), (390, 844, False)])
def test_no_toolbar_over_the_canvas_and_its_top_right_corner_draws(server, browser, width, height, sidebar):
    ctx, page = open_draw(browser, server, width, height)
    try:
        if sidebar:
            assert page.locator('[data-testid="stSidebar"]').is_visible()
        box = canvas_box(page, timeout=LONG)
        assert box["width"] == 280 and box["x"] + box["width"] <= width, box
        page.mouse.move(box["x"] + 0.95 * box["width"], box["y"] + 0.05 * box["height"])  # hover: it used to pop up
        page.wait_for_timeout(400)  # longer than the toolbar's 0.1 s + 0.15 s fade-in
        assert page.evaluate(VISIBLE_TOOLBARS) == []
        for fx, fy in ((0.98, 0.02), (0.9, 0.06), (0.75, 0.03), (0.5, 0.02), (0.98, 0.15)):
            hit = page.evaluate(HIT, [box["x"] + fx * box["width"], box["y"] + fy * box["height"]])
            assert "upper-canvas" in hit, (fx, fy, hit)
        draw_strokes(page, CORNER_STROKE, box)
        wait_ink(page, 0.85, 0.06)  # the stroke is on the canvas: along the top edge and down the right one
        wait_ink(page, 0.96, 0.2)
        wait_prediction_digit(page)  # and it reached the network
        assert page.evaluate(VISIBLE_TOOLBARS) == []
        page.screenshot(path=str(_shots() / f"draw_corner_{width}.png"))
    finally:
        ctx.close()


def test_undo_removes_the_last_stroke_and_the_network_reads_the_rest(server, browser):
    ctx, page = open_draw(browser, server, 1440, 1000)
    try:
        undo = page.locator(".st-key-undo_stroke button").first
        assert undo.is_disabled()  # nothing to undo yet
        box = canvas_box(page, timeout=LONG)
        draw_strokes(page, ONE, box)
        wait_prediction_digit(page)
        page.wait_for_function("() => !document.querySelector('.st-key-undo_stroke button').disabled")
        one = prediction(page)
        assert one == "1"
        draw_strokes(page, ZERO, box)
        wait_ink(page, 0.3, 0.45)  # the loop's left side
        both = wait_prediction_change(page, one)
        assert both != "1"
        undo.click()
        assert wait_prediction_change(page, both) == "1"  # the network reads the canvas without the loop
        assert page.evaluate(INK_AT, [0.3, 0.45]) < 30  # the loop is gone from the canvas
        assert page.evaluate(INK_AT, [0.5, 0.5]) > 200  # the first stroke stays
        assert page.evaluate(VISIBLE_TOOLBARS) == []  # the reloaded canvas has no toolbar either
        # a stroke drawn after Undo adds to what is left; a second Undo takes only that one away
        draw_strokes(page, ZERO, box)
        again = wait_prediction_change(page, "1")
        assert again == both
        undo.click()
        assert wait_prediction_change(page, both) == "1"
        undo.click()  # the last stroke left: the canvas is empty
        page.get_by_text("Draw a digit").first.wait_for(timeout=LONG)
        assert page.evaluate(INK_AT, [0.5, 0.5]) < 30
        page.wait_for_function("() => document.querySelector('.st-key-undo_stroke button').disabled")
    finally:
        ctx.close()


def _shots():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

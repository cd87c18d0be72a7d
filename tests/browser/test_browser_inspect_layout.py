"""End-to-end: Inspect's pictures and charts are legible and nothing covers anything at 1024 px (sidebar
open) and 390 px: first-layer weight tiles of a useful size, the most active units whole and apart, the
conv filters inside the window, the saliency maps side by side or stacked (each at least 250 px on a
phone), and the training-dynamics legends clear of axis and subplot titles.

One session trains a small network for one epoch first (the test waits until the run has ended)."""
from __future__ import annotations

import re
import time

import pytest

from tests import browser_util as B

pytestmark = pytest.mark.browser

LONG = 300_000  # ms

# bounding boxes (viewport px) of the SVG text/legend parts of the plotly chart in ``sel``
CHART_PARTS = """(sel) => { const root = document.querySelector(sel); if (!root) return null;
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const all = (q) => [...root.querySelectorAll(q)].filter(e => e.getBoundingClientRect().width > 0).map(box);
  return {legend: all('g.legend'), xtitles: all('.g-xtitle text, .xtitle'), titles: all('.annotation-text'),
          plot: box(root)}; }"""


# the weights chart has been laid out for the current width: the mosaic is as wide as its frame
WEIGHTS_SETTLED = """() => { const f = document.querySelector('.st-key-weights_grid');
  const i = f && f.querySelector('.heatmaplayer image'); if (!i) return false;
  const a = f.getBoundingClientRect(), b = i.getBoundingClientRect();
  return b.width > 0 && Math.abs(a.width - b.width) < 8; }"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=re.compile(name)).first.click()
    B.settle(page, 600)


def _model(page, label: str) -> None:
    page.locator(".st-key-inspect_model").get_by_text(label, exact=True).first.click()
    B.settle(page, 800)


def _other_digit(page) -> int:
    """A digit the network did not read (from the saliency heading: "… the network reads **7**")."""
    text = page.get_by_text("the network reads").first.inner_text()
    read = int(re.search(r"the network reads (\d)", text).group(1))
    return (read + 1) % 10


def _check_layout(page, width: int) -> None:
    _model(page, "Your model")
    # first-layer weights: 8 tiles a row, each at least 40 px (they were 24 px at 1024 px), inside the window
    _tab(page, "First-layer weights")
    grid = page.locator(".st-key-weights_grid .heatmaplayer image").first
    grid.wait_for(timeout=LONG)
    grid.scroll_into_view_if_needed()
    g = grid.bounding_box()
    assert g["width"] / 8 >= 40, (width, g)
    assert g["x"] >= 0 and g["x"] + g["width"] <= width, (width, g)
    # no empty band above the mosaic (its frame follows the width it gets) and none below its colour bar
    page.wait_for_function(WEIGHTS_SETTLED, timeout=LONG)
    frame = page.locator(".st-key-weights_grid").first.bounding_box()
    g = grid.bounding_box()
    assert g["y"] - frame["y"] < 16, (width, "empty band above the weights", frame, g)
    assert frame["y"] + frame["height"] - (g["y"] + g["height"]) < 80, (width, "empty band below", frame, g)
    text = page.locator(".st-key-weights_text").first.bounding_box()
    if text["y"] > g["y"] + g["height"]:  # the explanation under the mosaic: close to it
        assert text["y"] - (frame["y"] + frame["height"]) < 48, (width, frame, text)

    # the most active first-layer units: whole pictures, at least 80 px, captions apart
    _tab(page, "One digit")
    page.get_by_text("A test digit").first.click()
    B.settle(page, 600)
    units = page.locator(".st-key-top_units img")
    units.first.wait_for(timeout=LONG)
    units.first.scroll_into_view_if_needed()
    boxes = [units.nth(k).bounding_box() for k in range(units.count())]
    assert len(boxes) == 8
    for b in boxes:
        assert b["width"] >= 80 and b["x"] >= 0 and b["x"] + b["width"] <= width, (width, b)
    caps = page.locator(".st-key-top_units [data-testid='stImageCaption']")
    cap_boxes = [caps.nth(k).bounding_box() for k in range(caps.count())]
    cap_rects = [[c["x"], c["y"], c["x"] + c["width"], c["y"] + c["height"]] for c in cap_boxes]
    assert not any(_overlap(a, b) for k, a in enumerate(cap_rects) for b in cap_rects[k + 1:]), cap_rects

    # the saliency maps with a second digit explained: three pictures, side by side where the chart is wide
    # enough, one under another on a phone (side by side they were about 100 px each at 390 px)
    B.set_select(page, "inspect_class", str(_other_digit(page)))
    frame = page.locator(".st-key-saliency").frame_locator("iframe")
    page.locator(".st-key-saliency").first.scroll_into_view_if_needed()
    pictures = frame.locator(".heatmaplayer image")
    deadline = time.monotonic() + LONG / 1000
    while pictures.count() != 3 and time.monotonic() < deadline:  # redrawn with its third panel
        page.wait_for_timeout(200)
    boxes = [pictures.nth(k).bounding_box() for k in range(pictures.count())]
    assert len(boxes) == 3, (width, boxes)  # a chart whose panels changed is drawn afresh, all of them
    chart = page.locator(".st-key-saliency").first.bounding_box()
    if chart["width"] >= 440:
        assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2, (width, boxes)  # one row
        assert all(b["width"] >= 100 for b in boxes), (width, boxes)
    else:
        assert all(b["width"] >= 250 for b in boxes), (width, boxes)  # stacked, each nearly full width
        assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"] and boxes[1]["y"] + boxes[1]["height"] <= boxes[2]["y"]
    for b in boxes:
        assert b["x"] >= chart["x"] - 1 and b["x"] + b["width"] <= chart["x"] + chart["width"] + 1, (width, b)

    # training dynamics: each legend in its own strip, clear of the axis titles and the subplot titles
    _tab(page, "Training dynamics")
    for key in ("norms", "histograms"):
        sel = f".st-key-{key}"
        page.locator(f"{sel} g.legend").first.wait_for(timeout=LONG)
        page.locator(sel).first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        parts = page.evaluate(CHART_PARTS, sel)
        assert parts["legend"] and parts["xtitles"] or key == "histograms", (key, parts)
        for legend in parts["legend"]:
            for other in parts["xtitles"] + parts["titles"]:
                assert not _overlap(legend, other), (width, key, legend, other)
        titles = parts["titles"]
        assert not any(_overlap(a, b) for k, a in enumerate(titles) for b in titles[k + 1:]), (width, key, titles)
        assert all(t[2] <= width + 1 for t in titles), (width, key, titles)  # no title cut at the right

    # a CNN's filters: inside the window
    _model(page, "Pretrained CNN")
    _tab(page, "Filters")
    img = page.locator(".st-key-filters_0 img").first
    img.wait_for(timeout=LONG)
    f = img.bounding_box()
    assert f["x"] >= 0 and f["x"] + f["width"] <= width and f["width"] >= 200, (width, f)


def test_inspect_is_legible_at_1024_and_390_px(server, browser):
    ctx = browser.new_context(viewport={"width": 1024, "height": 900})
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    try:
        page.goto(server.url + "/train")
        B.wait_app_idle(page)
        B.configure_sidebar(page, samples="2,000", epochs=1)
        B.click_key(page, "btn_start")
        page.get_by_text("Most confident mistakes").first.wait_for(timeout=LONG)  # the run has ended
        page.get_by_role("link", name="Inspect", exact=True).first.click()
        B.settle(page, 800)
        assert page.locator('[data-testid="stSidebar"]').is_visible()
        _check_layout(page, 1024)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(800)
        _check_layout(page, 390)
    finally:
        ctx.close()

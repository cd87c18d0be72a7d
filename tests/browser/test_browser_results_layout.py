"""End-to-end layout of the Train page after a run, measured in the browser at 1440, 1024 (sidebar open) and
390 px: the confusion matrix stacks above the gallery of mistakes where the page is narrow and keeps its cell
numbers apart, the gallery's captions stay on one line in their 80 px cells, the curves' "best val loss" note
collides with no axis title, on a phone the two curve plots stack with the legend below them, and in the
sidebar "Learning rate" keeps a gap before its help icon, the optimizer's name shows whole, and on a phone
every stacked field of a layer row has its label.

One session trains two short epochs first (the test waits until the run has ended; it never races it)."""
from __future__ import annotations

import pytest

from tests import browser_util as B

pytestmark = pytest.mark.browser

LONG = 300_000  # ms


def _overlap(a, b, tol: float = 1.0) -> bool:
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


@pytest.fixture(scope="module")
def page(server, browser):
    ctx = browser.new_context(viewport={"width": 1024, "height": 900})
    ctx.set_default_timeout(LONG)
    pg = ctx.new_page()
    pg.goto(server.url + "/train")
    B.wait_app_idle(pg)
    B.configure_sidebar(pg, samples="2,000", epochs=2)
    B.set_slider(pg, "train_speed", "as fast as possible")
    B.click_key(pg, "btn_start")
    pg.get_by_text("Most confident mistakes").first.wait_for(timeout=LONG)  # the run has ended
    B.wait_app_idle(pg)
    yield pg
    ctx.close()


def _resize(page, width: int, height: int = 900) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function("w => window.innerWidth === w", arg=width)
    B.wait_app_idle(page)


def _shot(page, name: str) -> None:
    B.ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(B.ARTIFACTS / f"results_layout_{name}.png"))


# ---------------------------------------------------------------- confusion matrix and gallery
CONFUSION_JS = """() => { const root = document.querySelector('.st-key-confusion');
  const plot = root.querySelector('.nsewdrag').getBoundingClientRect();
  const cells = [...root.querySelectorAll('.heatmaplayer text')].filter(t => t.textContent.trim() !== '')
    .map(t => { const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; });
  return {plot: [plot.left, plot.top, plot.width, plot.height], cells}; }"""


def _wait_confusion(page) -> dict:
    page.wait_for_function("""() => { const r = document.querySelector('.st-key-confusion .heatmaplayer text');
                                      return r && r.getBoundingClientRect().width > 0; }""")
    return page.evaluate(CONFUSION_JS)


@pytest.mark.parametrize("width", [1024, 390, 1440])
def test_confusion_matrix_is_readable_and_stacks_when_narrow(page, width):
    _resize(page, width)
    matrix = page.get_by_text("Confusion matrix", exact=True).first
    matrix.scroll_into_view_if_needed()
    cm = _wait_confusion(page)
    heading = matrix.bounding_box()
    gallery = page.locator(".st-key-mistakes").first.bounding_box()
    if width >= 1440:  # room for both: side by side
        assert gallery["x"] > cm["plot"][0] + cm["plot"][2], (cm["plot"], gallery)
    else:  # stacked: the gallery under the whole matrix
        assert gallery["y"] > cm["plot"][1] + cm["plot"][3], (cm["plot"], gallery)
        assert gallery["x"] < heading["x"] + 2
    assert cm["plot"][2] >= 280, f"matrix squashed to {cm['plot'][2]:.0f} px at {width} px"
    cells = cm["cells"]
    assert len(cells) == 100, len(cells)  # ten classes, every count written
    clash = [(a, b) for k, a in enumerate(cells) for b in cells[k + 1:] if _overlap(a, b)]
    assert not clash, f"{len(clash)} overlapping cell numbers at {width} px, e.g. {clash[:2]}"
    _shot(page, f"confusion_{width}")


CAPTIONS_JS = """() => [...document.querySelectorAll('.st-key-mistakes [data-testid="stImageCaption"]')].map(c => {
  const range = document.createRange(); range.selectNodeContents(c);
  const cs = getComputedStyle(c); const lines = Math.round(c.getBoundingClientRect().height / parseFloat(cs.lineHeight));
  const text = range.getBoundingClientRect(); const cell = c.closest('[data-testid="stVerticalBlock"]').getBoundingClientRect();
  return [c.innerText.trim(), lines, text.left >= cell.left - 1 && text.right <= cell.right + 1]; })"""

LINKS_JS = """() => [...document.querySelectorAll('.st-key-mistakes [data-testid="stPageLink"] a')].map(a => {
  const t = a.querySelector('[data-testid="stMarkdownContainer"]') || a;
  return [a.innerText.trim(), t.scrollWidth > t.clientWidth + 1]; })"""


@pytest.mark.parametrize("width", [1024, 390])
def test_mistake_captions_fit_their_cells_on_one_line(page, width):
    _resize(page, width)
    page.locator(".st-key-mistakes").first.scroll_into_view_if_needed()
    page.locator('.st-key-mistakes [data-testid="stImageCaption"]').first.wait_for()
    caps = page.evaluate(CAPTIONS_JS)
    assert len(caps) >= 3 and all("→" in text for text, _, _ in caps), caps
    assert not [c for c in caps if c[1] != 1 or not c[2]], f"captions wrapped or cut at {width} px: {caps}"
    links = page.evaluate(LINKS_JS)
    assert links and not [name for name, cut in links if cut], f"Inspect links cut at {width} px: {links}"


# ---------------------------------------------------------------- loss and accuracy curves
CURVES_JS = """() => { const f = document.querySelector('.st-key-curves iframe'); const d = f && f.contentDocument;
  const chart = d && d.querySelector('#chart'); if (!chart || !chart.querySelector('.nsewdrag')) return null;
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const all = (q) => [...chart.querySelectorAll(q)].filter(e => e.getBoundingClientRect().width > 0);
  const notes = all('.annotation').filter(a => a.textContent.includes('best'));
  return {narrow: chart.dataset.narrow, frame: f.getBoundingClientRect().height,
          notes: notes.map(box),
          others: all('.g-ytitle, .g-y2title, .g-xtitle, .g-x2title, .yaxislayer-above text, .y2axislayer-above text')
                    .map(box).concat(all('.annotation').filter(a => !a.textContent.includes('best')).map(box)),
          plots: all('.nsewdrag').map(box), legend: all('g.legend').map(box)}; }"""


def _curves(page) -> dict:
    page.locator(".st-key-curves iframe").first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({CURVES_JS})() !== null")
    return page.evaluate(CURVES_JS)


@pytest.mark.parametrize("width", [1024, 1440, 390])
def test_best_epoch_note_collides_with_no_axis_title(page, width):
    _resize(page, width)
    want_narrow = "true" if width <= 390 else "false"
    page.locator(".st-key-curves iframe").first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => {{ const c = ({CURVES_JS})(); return c && c.narrow === '{want_narrow}'; }}")
    c = _curves(page)
    assert c["notes"], "no best-epoch note on the curves"
    for note in c["notes"]:
        for other in c["others"]:
            assert not _overlap(note, other), (width, note, other)
    loss, metric = sorted(c["plots"][:2], key=lambda r: (r[1], r[0]))
    if width <= 390:  # a phone: the metric plot under the loss plot, each full width, the legend below both
        assert metric[1] > loss[3], (loss, metric)
        assert c["legend"] and c["legend"][0][1] >= metric[3], (metric, c["legend"])
        assert c["frame"] >= 560
    else:  # side by side
        assert abs(metric[1] - loss[1]) < 2 and metric[0] > loss[2], (loss, metric)
    for legend in c["legend"]:
        for other in c["others"] + c["plots"]:
            assert not _overlap(legend, other), (width, legend, other)
    _shot(page, f"curves_{width}")


# ---------------------------------------------------------------- sidebar
LR_LABEL_JS = """() => { const e = document.querySelector('.st-key-cfg_lr');
  const p = e.querySelector('[data-testid="stWidgetLabel"] p'); const icon = e.querySelector('[data-testid="stTooltipIcon"] svg');
  const range = document.createRange(); range.selectNodeContents(p);
  return [range.getBoundingClientRect().right, icon.getBoundingClientRect().left, p.scrollWidth > p.clientWidth]; }"""


@pytest.mark.parametrize("width", [1024, 1440])
def test_learning_rate_label_keeps_a_gap_before_its_help_icon(page, width):
    _resize(page, width)
    page.locator(".st-key-cfg_lr input").first.scroll_into_view_if_needed()
    text_right, icon_left, cut = page.evaluate(LR_LABEL_JS)
    assert not cut
    assert icon_left - text_right >= 4, f"'Learning rate' {icon_left - text_right:.1f} px from its icon at {width} px"
    l2 = page.evaluate("() => { const i = document.querySelector('.st-key-cfg_l2 input'); return [i.scrollWidth, i.clientWidth]; }")
    assert l2[0] <= l2[1] + 1  # the l2 value still whole


@pytest.mark.parametrize("width", [1024, 1440])
def test_the_optimizers_name_shows_whole(server, browser, width):
    """"momentum" was cut to "momentu" when Optimizer, Learning rate and L2 shared one row of the sidebar."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    try:
        pg = ctx.new_page()
        for name in ("momentum", "adadelta", "iterative"):
            pg.goto(server.url + f"/train?cfg_opt={name}")
            pg.locator(".st-key-cfg_opt input").first.wait_for(timeout=LONG)
            pg.wait_for_function("n => document.querySelector('.st-key-cfg_opt input').value === n", arg=name,
                                 timeout=LONG)
            shown = pg.evaluate("() => { const i = document.querySelector('.st-key-cfg_opt input');"
                                " return [i.scrollWidth, i.clientWidth]; }")
            assert shown[0] <= shown[1] + 1, f"{name!r} cut at {width} px: needs {shown[0]} px, has {shown[1]}"
    finally:
        ctx.close()


def test_stacked_layer_rows_on_a_phone_label_every_field(server, browser):
    """Below 641 px each layer row's fields stack; a later row's fields then carry their own labels."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        pg = ctx.new_page()
        pg.goto(server.url + "/train")
        B.wait_app_idle(pg)
        pg.locator('[data-testid="stExpandSidebarButton"]').first.click()
        label = pg.locator(".st-key-cfg_L1_n [data-testid='stWidgetLabel']").first
        label.wait_for(state="visible", timeout=LONG)
        assert "Dense 2 neurons" in label.inner_text()
        for key, text in (("cfg_L1_act", "Dense 2 activation"), ("cfg_L1_drop", "Dense 2 dropout")):
            assert pg.locator(f".st-key-{key} [data-testid='stWidgetLabel']").first.is_visible(), key
        _shot(pg, "layer_rows_390")
        pg.set_viewport_size({"width": 1024, "height": 900})  # side by side again: one header row only
        pg.wait_for_function("() => window.innerWidth === 1024")
        assert not pg.locator(".st-key-cfg_L1_n [data-testid='stWidgetLabel']").first.is_visible()
    finally:
        ctx.close()

"""End-to-end checks of what people see: remove buttons named by their layer, Streamlit's own rerun "Stop"
hidden (the training's Stop stays), metric labels whole at 1024 px with the sidebar open, and the
Playground on a phone without empty space under its chart."""
from __future__ import annotations

import pytest

from tests.browser_util import ARTIFACTS, layer_keys, settle, wait_app_idle

pytestmark = pytest.mark.browser

LONG = 180_000


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    ctx.set_default_timeout(LONG)
    yield ctx
    ctx.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout_{name}.png"))


def open_train(page, url: str) -> None:
    page.goto(url + "/train")
    page.get_by_role("button", name="Start").wait_for(timeout=LONG)
    page.locator(".st-key-rm_L0").wait_for(timeout=LONG)
    wait_app_idle(page)


def sidebar_summary(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def test_remove_buttons_are_named_by_their_layer_and_stay_compact(server, context):
    page = context.new_page()
    open_train(page, server.url)
    assert "784-128-64-10" in sidebar_summary(page)
    first = page.get_by_role("button", name="Remove Dense 1", exact=True)
    second = page.get_by_role("button", name="Remove Dense 2", exact=True)
    assert first.count() == 1 and second.count() == 1
    assert first.is_visible()
    box = first.bounding_box()
    assert box["width"] < 60, f"the remove button grew to {box['width']:.0f} px: its label text is shown"
    text_box = first.locator('[data-testid="stMarkdownContainer"]').bounding_box()
    assert text_box["width"] <= 1 and text_box["height"] <= 1  # visually hidden, still in the accessibility tree
    shot(page, "remove_buttons")

    first.click()
    settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("784-64-10").first.wait_for(timeout=LONG)
    assert layer_keys(page) == ["L1"]  # Dense 1 (128 neurons) went; the 64-neuron layer is Dense 1 now
    assert page.get_by_role("button", name="Remove Dense 1", exact=True).count() == 1
    assert page.get_by_role("button", name="Remove Dense 2", exact=True).count() == 0


def test_on_a_phone_the_remove_buttons_show_their_name(server, context):
    """Below 641 px Streamlit stacks a layer's fields (later rows have no visible labels): the remove
    button then says which layer it removes instead of being a lone ×."""
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/train")
    page.get_by_role("button", name="Start").wait_for(timeout=LONG)
    wait_app_idle(page)
    page.locator('[data-testid="stExpandSidebarButton"]').first.click()
    second = page.get_by_role("button", name="Remove Dense 2", exact=True)
    second.scroll_into_view_if_needed()
    second.wait_for(state="visible", timeout=LONG)
    text_box = second.locator('[data-testid="stMarkdownContainer"]').bounding_box()
    assert text_box["width"] > 40, "the remove button's name is hidden on a phone"
    shot(page, "remove_buttons_phone")


def ends_a_run(message) -> bool:
    """True for the server message that tells the browser a script run is over."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if isinstance(message, str):
        return False
    msg = ForwardMsg.FromString(message)
    kind = msg.WhichOneof("type")
    return kind == "script_finished" or (kind == "session_status_changed"
                                         and not msg.session_status_changed.script_is_running)


def test_streamlits_rerun_stop_is_hidden_and_the_training_stop_is_not(server, context):
    """Hold back the server's "script finished" (and everything after it), so that a rerun stays in
    progress for as long as the test looks: Streamlit shows its status widget (a running man and a
    Stop button) once a rerun takes longer than half a second."""
    page = context.new_page()
    held: list = []
    hold = {"armed": False, "holding": False}

    def route(ws):
        srv = ws.connect_to_server()

        def from_server(message):
            if hold["armed"] and not hold["holding"] and ends_a_run(message):
                hold["holding"] = True
            if hold["holding"]:
                held.append((ws, message))
            else:
                ws.send(message)

        srv.on_message(from_server)
        ws.on_message(lambda message: srv.send(message))

    page.route_web_socket("**/_stcore/stream", route)
    open_train(page, server.url)
    training_stop = page.locator(".st-key-btn_stop").get_by_role("button", name="Stop")
    assert training_stop.is_visible()

    hold["armed"] = True
    page.get_by_role("button", name="Add hidden layer").click()  # a rerun starts; its answer is held
    icon = page.locator('[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]')
    icon.wait_for(state="visible", timeout=LONG)
    widget = page.locator('[data-testid="stStatusWidget"]')
    stops = widget.locator("button", has_text="Stop")  # found even when hidden
    assert stops.count() >= 1, "Streamlit's status widget no longer has a Stop button: update this test"
    assert not any(stops.nth(i).is_visible() for i in range(stops.count())), "the rerun Stop is visible"
    assert widget.get_by_role("button", name="Stop").count() == 0  # not offered to assistive technology
    assert "Stop" not in widget.inner_text()
    assert training_stop.is_visible()  # the training's own Stop is untouched
    shot(page, "rerun_in_progress")

    hold["armed"] = hold["holding"] = False
    for ws, message in held:
        ws.send(message)
    held.clear()
    wait_app_idle(page)
    page.locator(".st-key-rm_L2").wait_for(timeout=LONG)  # the held rerun arrived: a third layer


CUT_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => {
    const label = m.querySelector('[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"]');
    const text = label.querySelector('p') || label;
    return [label.innerText, label.scrollWidth > label.clientWidth || text.scrollWidth > text.clientWidth];
})"""


@pytest.mark.parametrize("width", [1024, 1180, 1440])
def test_train_metric_labels_are_whole_with_the_sidebar_open(server, context, width):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    open_train(page, server.url)
    sidebar = page.locator('[data-testid="stSidebar"]').bounding_box()
    assert sidebar["x"] >= 0 and sidebar["width"] > 300  # the sidebar is open beside the page
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=LONG)
    labels = page.evaluate(CUT_LABELS_JS)
    assert [name for name, _ in labels] == ["Epochs trained", "Train loss (batch)", "Train accuracy (batch)",
                                            "Validation accuracy"]
    assert not [name for name, cut in labels if cut], f"labels cut at {width} px: {labels}"
    shot(page, f"train_metrics_{width}")


def boundary_frame_gap(page) -> float:
    """Pixels of the decision map's frame below the bottom of its plot area (the x axis and its title
    live there: about 36 px of margin)."""
    frame_el = page.locator('.st-key-playground_boundary iframe')
    frame_el.wait_for(timeout=LONG)
    plot = page.frame_locator('.st-key-playground_boundary iframe').locator(".js-plotly-plot .nsewdrag").first
    plot.wait_for(state="attached", timeout=LONG)
    page.wait_for_function(
        """() => { const f = document.querySelector('.st-key-playground_boundary iframe');
                   const d = f && f.contentDocument && f.contentDocument.querySelector('.js-plotly-plot .nsewdrag');
                   return d && Math.abs(f.getBoundingClientRect().height - f.contentDocument.body.scrollHeight) < 2; }""",
        timeout=LONG)
    frame_box = frame_el.bounding_box()
    plot_box = plot.bounding_box()
    return frame_box["y"] + frame_box["height"] - (plot_box["y"] + plot_box["height"])


@pytest.mark.parametrize("width", [390, 1440])
def test_playground_map_has_no_empty_band_below_it(server, context, width):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(server.url + "/playground")
    page.get_by_role("button", name="circle").click()
    settle(page)
    page.get_by_text("Discretize output").first.wait_for(timeout=LONG)
    gap = boundary_frame_gap(page)
    assert gap < 50, f"{gap:.0f} px of empty frame under the decision map at {width} px"
    plot = page.frame_locator('.st-key-playground_boundary iframe').locator(".js-plotly-plot .nsewdrag").first
    box = plot.bounding_box()
    assert abs(box["width"] - box["height"]) < 3  # still a square map (circle: equal x1 and x2 ranges)
    shot(page, f"playground_{width}")


def nav_in_session(page, title: str) -> None:
    """Switch page with the app's own navigation link, wherever the layout put it (top bar, its "more" menu
    or a phone's drawer): a click from script runs the link's in-session page switch."""
    page.evaluate("""(title) => { const a = [...document.querySelectorAll('a')].find(a =>
        (a.dataset.testid || '').includes('NavLink') && a.innerText.trim().split('\\n').pop() === title);
        if (!a) throw new Error('no navigation link ' + title); a.click(); }""", title)
    settle(page, 400)


CUT_BUTTONS_JS = """(sels) => [...document.querySelectorAll(sels.flatMap(s => [s + ' button', s + ' a']).join(', '))].filter(b => b.offsetParent !== null).map(b => {
    const label = b.querySelector('[data-testid="stMarkdownContainer"]');
    return [b.innerText.trim(), !!label && label.scrollWidth > label.clientWidth];
})"""


@pytest.mark.parametrize("width", [1024, 390])
def test_runs_action_labels_are_whole(server, context, width):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.url + "/playground")  # a quick run: one epoch of the 250-point circle
    page.get_by_role("button", name="circle").click()
    settle(page)
    page.get_by_role("button", name="+1 epoch").click()
    page.get_by_text("Finished").first.wait_for(timeout=LONG)
    nav_in_session(page, "Runs")
    page.locator(".st-key-runs_csv").get_by_role("button", name="Download CSV").wait_for(timeout=LONG)
    wait_app_idle(page)
    buttons = page.evaluate(CUT_BUTTONS_JS, [".st-key-runs_activate", '[data-testid="stMain"] [data-testid="stPopover"]',
                                             ".st-key-runs_csv"])
    names = " ".join(name for name, _ in buttons)
    assert "Make active model" in names and "Delete run" in names and "Download CSV" in names, buttons
    assert not [name for name, cut in buttons if cut], f"button labels cut at {width} px: {buttons}"
    shot(page, f"runs_{width}")


CUT_VALUES_JS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(m => {
    const label = m.querySelector('[data-testid="stMetricLabel"]').innerText.trim();
    const value = m.querySelector('[data-testid="stMetricValue"]');
    const cut = [value, ...value.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1);
    return [label, value.innerText.trim(), cut];
})"""


@pytest.mark.parametrize("width", [1024, 390])
def test_regression_results_tiles_are_whole(server, context, width):
    from playwright.sync_api import Error as PlaywrightError

    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.url + "/playground")  # one quick epoch on the 2-D regression set
    page.get_by_role("button", name="reg-plane").wait_for(timeout=LONG)
    wait_app_idle(page)  # the page's first runs are over: the click is not one a rerun can swallow
    page.get_by_role("button", name="reg-plane").click()
    settle(page)
    try:
        page.get_by_role("button", name="+1 epoch").wait_for(timeout=LONG)
    except PlaywrightError:
        shot(page, f"regression_no_controls_{width}")  # what the page showed instead (CI once saw this)
        raise
    page.get_by_role("button", name="+1 epoch").click()
    page.get_by_text("Finished").first.wait_for(timeout=LONG)
    nav_in_session(page, "Train")
    page.get_by_text("Results on the test set").wait_for(timeout=LONG)
    page.locator('[data-testid="stMetric"]').filter(has_text="Test MAE").wait_for(timeout=LONG)
    wait_app_idle(page)
    tiles = {label: (value, cut) for label, value, cut in page.evaluate(CUT_VALUES_JS)}
    assert {"Test R²", "Test MAE", "Train R² (epoch)", "Validation R²"} <= set(tiles), tiles
    assert not [label for label, (_, cut) in tiles.items() if cut], f"values cut at {width} px: {tiles}"
    model = page.get_by_role("button", name="Download model (.json)").bounding_box()
    history = page.get_by_role("button", name="Download history (.csv)").bounding_box()
    if width >= 1024:  # room for both downloads side by side
        assert abs(model["y"] - history["y"]) < 2 and history["x"] > model["x"] + model["width"]
    shot(page, f"regression_results_{width}")


@pytest.mark.parametrize("width", [1024, 1440])
def test_home_links_are_whole_and_tips_have_room(server, context, width):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.url)
    page.get_by_text("Quick start").wait_for(timeout=LONG)
    page.get_by_role("link", name="Train a network").first.wait_for(timeout=LONG)
    page.get_by_role("heading", name="Tips").wait_for(timeout=LONG)
    wait_app_idle(page)
    links = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPageLink"] a')]
        .map(a => { const t = a.querySelector('[data-testid="stMarkdownContainer"]') || a;
                    return [a.innerText.trim(), t.scrollWidth > t.clientWidth + 1]; })""")
    assert any("Train a network" in name for name, _ in links), links
    assert not [name for name, cut in links if cut], f"links cut at {width} px: {links}"
    quick = page.get_by_role("heading", name="Quick start").bounding_box()
    tips = page.get_by_role("heading", name="Tips").bounding_box()
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    if width >= 1440:  # room for both columns
        assert abs(tips["y"] - quick["y"]) < 2
    else:  # Tips below the quick start, as wide as the page, not a thin column
        assert tips["y"] > quick["y"] + quick["height"]
        tip_text = page.get_by_text("A first run with the defaults").bounding_box()
        assert tip_text["width"] > 0.6 * main["width"]
    shot(page, f"home_{width}")

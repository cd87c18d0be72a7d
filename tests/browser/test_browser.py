"""End-to-end: NN Studio in a real Chromium (Debian's /usr/bin/chromium, driven by Playwright).

A module fixture runs `streamlit run app.py` on a free port. Screenshots go to artifacts/ (gitignored).
Run only these with `python -m pytest -m browser`; `-m "not browser"` skips them.
"""
from __future__ import annotations

import re
import time

import pytest

from tests.browser_util import (
    ARTIFACTS,
    ONE,
    SEVEN,
    canvas_box,
    configure_sidebar,
    draw_strokes,
    settle,
    wait_app_idle,
    wait_prediction_digit,
)

pytestmark = pytest.mark.browser

LONG = 180_000  # ms; generous for a loaded 2-core CI machine
VIEWPORT = {"width": 1440, "height": 1000}


def shot(page, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def nav(page, title: str) -> None:
    """Switch page through the app's own navigation (keeps the session; a new URL would not)."""
    page.get_by_role("link", name=title, exact=True).first.click()
    settle(page, 400)


def progress_text(page) -> str:
    loc = page.locator('[data-testid="stProgress"]').first
    loc.wait_for(timeout=LONG)
    return page.locator('[data-testid="stProgress"]').first.inner_text()


def wait_progress(page, pattern: str, timeout: float = LONG, until=None) -> str:
    """The progress bar's text once it matches ``pattern`` (and ``until(text)``, if given)."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout / 1000
    last = ""
    while time.monotonic() < deadline:
        loc = page.locator('[data-testid="stProgress"]')
        if loc.count():
            try:
                last = loc.first.inner_text(timeout=2000)
            except Exception:
                last = ""
            if rx.search(last) and (until is None or until(last)):
                return last
        page.wait_for_timeout(200)
    raise AssertionError(f"progress never matched {pattern!r}{' (with its condition)' if until else ''}; "
                         f"last: {last!r}")


def batch_position(progress: str) -> int:
    """Batches done since the run started, read from "Epoch e/E · batch b/B" in the progress text."""
    epoch, batch, per_epoch = (int(v.replace(",", "")) for v in
                               re.search(r"Epoch ([\d,]+)/[\d,]+ · batch ([\d,]+)/([\d,]+)", progress).groups())
    return (epoch - 1) * per_epoch + batch


def metric_value(page, label: str) -> str:
    m = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return m.locator('[data-testid="stMetricValue"]').inner_text().strip()


def curves_drawn(page) -> tuple[int, float]:
    """(points, furthest x) drawn on the loss/accuracy curves — plotly inside the live-chart
    component's iframe."""
    chart = page.frame_locator('.st-key-curves [data-testid="stCustomComponentV1"]').first.locator(".js-plotly-plot")
    chart.locator(".scatterlayer .trace").first.wait_for(timeout=LONG)
    return tuple(chart.evaluate(
        "el => [el.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0),"
        " Math.max(...el.data.map(t => Math.max(...(t.x || [0]))))]"
    ))


def wait_curves_beyond(page, x: float, timeout: float = LONG) -> float:
    """Wait until the live curves reach further than ``x`` (epochs seen); returns how far they reach."""
    deadline = time.monotonic() + timeout / 1000
    furthest = x
    while time.monotonic() < deadline:
        try:
            furthest = curves_drawn(page)[1]
        except Exception:  # the chart is being redrawn
            pass
        if furthest > x:
            return furthest
        page.wait_for_timeout(250)
    raise AssertionError(f"the live curves stayed at {furthest} epochs (wanted beyond {x})")


def assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "a Streamlit exception is shown"
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text()


def test_train_pause_draw_and_upload(server, browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    try:
        # -- first page interactive
        t0 = time.perf_counter()
        page.goto(server.url)
        page.get_by_text("Quick start").wait_for(timeout=LONG)
        page.locator(".st-key-cfg_L0_n input").wait_for(timeout=LONG)
        wait_app_idle(page)
        first_interactive = time.perf_counter() - t0
        print(f"\nfirst page interactive after {first_interactive:.2f} s (server up in {server.ready_seconds:.2f} s)")
        assert "Yann LeCun" in page.locator('[data-testid="stMain"]').inner_text()
        shot(page, "01_home")

        # -- configure a small network and train one epoch on a few thousand digits
        nav(page, "Train")
        page.get_by_role("button", name="Start").wait_for(timeout=LONG)
        configure_sidebar(page, neurons=[32], samples="5,000", epochs=1)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("784-32-10").wait_for(timeout=LONG)
        assert "25,450 parameters" in sidebar.inner_text()
        page.get_by_text("Start trains on 4,500 samples").first.wait_for(timeout=LONG)  # the server has them
        page.get_by_role("button", name="Start").click()
        done = wait_progress(page, r"Finished")
        assert "Epoch 1/1" in done and "samples/s" in done
        page.get_by_text("Results on the test set").wait_for(timeout=LONG)
        settle(page, 500)
        assert metric_value(page, "Epochs trained") == "1"
        acc = metric_value(page, "Test accuracy")
        assert float(acc.rstrip("%")) > 50, acc
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=LONG)  # the confusion matrix
        assert curves_drawn(page)[0] > 10  # the loss/accuracy curves are drawn
        page.get_by_text("Model summary").first.wait_for()
        page.get_by_role("button", name="Download model (.json)").wait_for(timeout=LONG)
        assert_no_exception(page)
        shot(page, "02_train_finished")
        page.set_viewport_size({"width": 1440, "height": 2000})
        shot(page, "03_train_results")
        page.set_viewport_size(VIEWPORT)

        # -- a run no machine finishes during this test: 100 epochs of 54,000 one-digit batches
        #    (5.4 million weight updates). Watch it, pause, resume, stop: the test ends it itself.
        configure_sidebar(page, samples="60,000", epochs=100, batch=1)
        page.get_by_text("Start trains on 54,000 samples").first.wait_for(timeout=LONG)  # the server has them
        page.get_by_role("button", name="Start").click()
        live = wait_progress(page, r"Training · Epoch \d+/100 · batch [\d,]+/54,000 · [\d,]+ samples/s · ETA \d")
        assert "elapsed" in live
        before = curves_drawn(page)[1]
        wait_curves_beyond(page, before)  # the live curves move on while it trains (redrawn in place)
        shot(page, "04_training_live")
        page.get_by_role("button", name="Pause").click()
        paused = wait_progress(page, r"Paused · Epoch")
        page.get_by_role("button", name="Resume").wait_for(timeout=LONG)
        shot(page, "05_paused")
        at_pause = batch_position(paused)
        # A paused page does not poll; leave it and come back, so it reads the run afresh.
        nav(page, "Home")
        page.get_by_text("Quick start").wait_for(timeout=LONG)
        nav(page, "Train")
        later = batch_position(wait_progress(page, r"Paused · Epoch"))
        # only the batch in flight when Pause was pressed may still complete
        assert at_pause <= later <= at_pause + 1, f"the run moved while paused: {paused!r} -> {later}"
        page.get_by_role("button", name="Resume").click()
        wait_progress(page, r"Training · Epoch", until=lambda text: batch_position(text) > later + 1)
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_progress(page, r"Stopped")
        page.get_by_text(re.compile("everything learned so far is kept", re.I)).first.wait_for(timeout=LONG)
        assert_no_exception(page)

        # -- draw a digit; the session's model reads it
        nav(page, "Draw")
        box = canvas_box(page, timeout=LONG)
        page.get_by_text("Draw a digit").first.wait_for(timeout=LONG)
        assert metric_value(page, "Prediction") == "–"
        t_up = time.perf_counter()
        draw_strokes(page, SEVEN, box)
        wait_prediction_digit(page)
        draw_to_prediction = time.perf_counter() - t_up
        print(f"drawing -> prediction shown after {draw_to_prediction:.2f} s")
        digit = metric_value(page, "Prediction")
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "confidence" in main and "Your model" in main
        shot(page, "06_draw_seven")
        # a second drawing replaces the first (Clear, then a "1")
        page.get_by_role("button", name="Clear").click()
        page.get_by_text("Draw a digit").first.wait_for(timeout=LONG)
        box = canvas_box(page, timeout=LONG)
        draw_strokes(page, ONE, box)
        wait_prediction_digit(page)
        print(f"predictions: seven -> {digit}, one -> {metric_value(page, 'Prediction')}")
        assert_no_exception(page)

        # -- a broken model file gets a readable error; the model stays
        nav(page, "Train")
        page.get_by_text("Load a saved model").first.click()
        page.locator(".st-key-model_upload input[type='file']").set_input_files(
            files=[{"name": "broken_model.json", "mimeType": "application/json",
                    "buffer": b'{"format": "nncore.model", "layers": [ {"type": "FF'}]
        )
        err = page.locator('[data-testid="stAlert"]').filter(has_text="could not be loaded").first
        err.wait_for(timeout=LONG)
        assert "broken_model.json" in err.inner_text() and "unchanged" in err.inner_text()
        assert "trained" in page.locator('[data-testid="stMain"]').inner_text()
        assert_no_exception(page)
        shot(page, "07_broken_upload")
    finally:
        ctx.close()


def test_two_sessions_train_separately(server, browser):
    pages = []
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    for ctx in contexts:
        ctx.set_default_timeout(LONG)
    try:
        for ctx, (neurons, epochs) in zip(contexts, [([16], 2), ([48, 24], 1)]):
            page = ctx.new_page()
            page.goto(server.url + "/train")
            page.get_by_role("button", name="Start").wait_for(timeout=LONG)
            wait_app_idle(page)
            configure_sidebar(page, neurons=neurons, samples="5,000", epochs=epochs)
            pages.append(page)
        for page in pages:  # both train at the same time
            page.get_by_role("button", name="Start").click()
        a = wait_progress(pages[0], r"Finished")
        b = wait_progress(pages[1], r"Finished")
        assert "Epoch 2/2" in a and "Epoch 1/1" in b
        for page in pages:
            page.get_by_text("Results on the test set").wait_for(timeout=LONG)
            settle(page, 500)
        main_a = pages[0].locator('[data-testid="stMain"]').inner_text()
        main_b = pages[1].locator('[data-testid="stMain"]').inner_text()
        assert "784-16-10, trained 2 epochs" in main_a
        assert "784-48-24-10, trained 1 epoch" in main_b
        assert metric_value(pages[0], "Epochs trained") == "2"
        assert metric_value(pages[1], "Epochs trained") == "1"
        shot(pages[0], "08_session_a")
        shot(pages[1], "09_session_b")
        # each session's Draw page uses its own model
        nav(pages[1], "Draw")
        pages[1].get_by_text("784-48-24-10").first.wait_for(timeout=LONG)
        for page in pages:
            assert_no_exception(page)
    finally:
        for ctx in contexts:
            ctx.close()


def test_the_canvas_is_whole_and_drawable_at_1024_px_with_the_sidebar_open(server, browser):
    ctx = browser.new_context(viewport={"width": 1024, "height": 900})
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    try:
        page.goto(server.url + "/draw")
        page.get_by_text("Draw a digit").first.wait_for(timeout=LONG)
        wait_app_idle(page)
        assert page.locator('[data-testid="stSidebar"]').is_visible()
        box = canvas_box(page, timeout=LONG)
        sidebar = page.locator('[data-testid="stSidebar"]').bounding_box()
        assert box["width"] == 280 and box["height"] == 280
        assert box["x"] >= sidebar["x"] + sidebar["width"] and box["x"] + box["width"] <= 1024, box
        # near every edge the canvas itself is hit: nothing clipped (the toolbar sits at the top right)
        for fx, fy in ((0.02, 0.5), (0.98, 0.5), (0.1, 0.02), (0.5, 0.98)):
            hit = page.evaluate(
                """([x, y]) => { let e = document.elementFromPoint(x, y);
                     while (e && e.shadowRoot) { const inner = e.shadowRoot.elementFromPoint(x, y);
                                                 if (!inner || inner === e) break; e = inner; }
                     return e ? String(e.className) : ""; }""",
                [box["x"] + fx * box["width"], box["y"] + fy * box["height"]])
            assert "upper-canvas" in hit, (fx, fy, hit)
        draw_strokes(page, SEVEN, box)
        wait_prediction_digit(page)
        assert metric_value(page, "Prediction") != "–"
        assert_no_exception(page)
        shot(page, "10_draw_1024")
    finally:
        ctx.close()

"""Retake the README's screenshots of Home, Train, Draw, Inspect, Runs and steering (1440 px wide).

    python docs/screenshots.py            # all of them
    python docs/screenshots.py home draw  # some

Starts ``streamlit run app.py`` on a free port and drives Chromium (Playwright) the way a user would:
train the default network at full speed, draw a seven with the mouse, open Inspect, train a second
run for the Runs page; for ``train_steering``, a run of 20 epochs with early stopping (patience 2) at
the default pace whose learning rate is raised from 0.001 to 0.003 in its third epoch. Writes
``docs/<name>.png``. The other screenshots in ``docs/`` (CSV, Playground, Step, CNN) were taken by hand
at 1440 px.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser_util import (  # noqa: E402
    SEVEN,
    StreamlitServer,
    canvas_box,
    configure_sidebar,
    draw_strokes,
    launch,
    set_select,
    set_slider,
    settle,
    wait_app_idle,
    wait_prediction_digit,
)

DOCS = ROOT / "docs"
WIDTH = 1440
LONG = 300_000  # ms
SHOTS = ("home", "train", "draw", "inspect", "runs", "train_steering")


def nav(page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).first.click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=LONG)
    wait_app_idle(page)
    settle(page, 800)


def shoot(page, name: str, height: int) -> None:
    page.set_viewport_size({"width": WIDTH, "height": height})
    settle(page, 1200)
    wait_app_idle(page)
    page.mouse.move(5, height - 5)  # no hover effects in the picture
    page.evaluate("() => document.querySelectorAll('[data-testid=\"stSidebarContent\"], [data-testid=\"stMain\"]')"
                  ".forEach(e => e.scrollTop = 0)")  # the sidebar from its top
    settle(page, 300)
    page.screenshot(path=str(DOCS / f"{name}.png"))
    print(f"docs/{name}.png ({WIDTH}x{height})", flush=True)


def train_to_the_end(page) -> None:
    set_slider(page, "train_speed", "as fast as possible")
    page.locator(".st-key-btn_start button").first.click()
    page.get_by_text("Most confident mistakes").first.wait_for(timeout=LONG)  # the run has ended
    wait_app_idle(page)


def steering(browser, url: str) -> None:
    """A fresh session: 20 epochs, early stopping with patience 2, the default pace (10 batches/s); the
    learning rate goes from 0.001 to 0.003 in the third epoch; the run stops early by itself."""
    ctx = browser.new_context(viewport={"width": WIDTH, "height": 1100})
    ctx.set_default_timeout(LONG)
    page = ctx.new_page()
    page.goto(url + "/train")
    page.locator(".st-key-btn_start button").first.wait_for()
    wait_app_idle(page)
    configure_sidebar(page, epochs=20)
    set_select(page, "cfg_patience", "patience 2")
    page.locator(".st-key-btn_start button").first.click()
    page.wait_for_function(r"""() => { const p = document.querySelector('[data-testid="stProgress"]');
                                      return p && /Epoch 3\/20 · batch [3-9]\d/.test(p.innerText); }""")
    set_select(page, "cfg_lr", "0.003")
    page.get_by_text("Stopped early after epoch").first.wait_for()
    wait_app_idle(page)
    shoot(page, "train_steering", 1100)
    ctx.close()


def main(wanted: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    unknown = set(wanted) - set(SHOTS)
    if unknown:
        raise SystemExit(f"unknown screenshot(s) {sorted(unknown)}; choose from {', '.join(SHOTS)}")
    server = StreamlitServer().start(timeout=180)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            ctx = browser.new_context(viewport={"width": WIDTH, "height": 1000})
            ctx.set_default_timeout(LONG)
            page = ctx.new_page()
            page.goto(server.url)
            page.get_by_text("Quick start").first.wait_for()
            wait_app_idle(page)
            if "home" in wanted:
                shoot(page, "home", 1000)
            nav(page, "Train")
            train_to_the_end(page)
            if "train" in wanted:
                shoot(page, "train", 2000)
            page.set_viewport_size({"width": WIDTH, "height": 1000})
            nav(page, "Draw")
            draw_strokes(page, SEVEN, canvas_box(page, timeout=LONG))
            wait_prediction_digit(page)
            if "draw" in wanted:
                shoot(page, "draw", 1000)
            if "inspect" in wanted:
                nav(page, "Inspect")
                shoot(page, "inspect", 1750)
            if "runs" in wanted:
                page.set_viewport_size({"width": WIDTH, "height": 1000})
                nav(page, "Train")
                configure_sidebar(page, neurons=[256, 128], epochs=5)
                page.get_by_role("button", name="Build new model").first.click()
                settle(page, 800)
                confirm = page.locator(".st-key-build_confirm button")
                if confirm.count():
                    confirm.first.click()
                wait_app_idle(page)
                train_to_the_end(page)
                nav(page, "Runs")
                shoot(page, "runs", 1200)
            ctx.close()
            if "train_steering" in wanted:
                steering(browser, server.url)
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:] or list(SHOTS))

"""Does the first session of a freshly started server show a share link's setup? (issue 14's cold-start bug)

Each round starts `streamlit run app.py` anew, opens one share link in a new Chromium context as the
very first request, and reads the sidebar twice: the moment its Epochs input appears ("first sight")
and again 2 s later ("settled"). Rounds run one after the other (one server at a time).

    python bench/repro_share_cold.py [--rounds 10] [--warm]

``--warm``: open the home page once before the link (as tests/browser/test_browser_classroom.py does).

Two different things can be seen:

* **wrong when settled** (the bug that was fixed): a widget stays at its own default (a number input at
  its ``min_value``: 1 neuron, 1 epoch, seed 0; the slider at 0.00) while the server and the URL hold
  the link's value;
* **flash at first sight**: Streamlit's number inputs and sliders appear with their own default and
  take the value the server sent a few tens of milliseconds later (a plain one-widget Streamlit app
  does the same); a reader that looks at the very moment the widget appears sees 1. Cosmetic; tests
  wait for the value (Playwright's ``expect``) instead of reading it once.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_util import StreamlitServer, launch, layer_keys, settle, wait_app_idle  # noqa: E402

LINK = "/train?cfg_layers=2&cfg_L0_n=48&cfg_L1_n=24&cfg_epochs=7&cfg_seed=5&cfg_val=0.2"
WANTED = {"neurons": ["48", "24"], "epochs": "7", "seed": "5", "val": "0.20"}
SETTLE_MS = 2000


def value(page, key: str) -> str:
    return page.locator(f".st-key-{key} input").first.input_value()


def shown(page) -> dict:
    """What the sidebar shows: hidden layer widths, epochs, seed and the validation slider's value."""
    thumb = page.locator(".st-key-cfg_val input[type='range']").first
    return {"neurons": [value(page, f"cfg_{k}_n") for k in layer_keys(page)], "epochs": value(page, "cfg_epochs"),
            "seed": value(page, "cfg_seed"), "val": (thumb.get_attribute("aria-valuetext") or "").strip()}


def one_round(browser, warm: bool) -> tuple[dict, dict, str, float]:
    """(first sight, settled, the page's query string, seconds to first sight)."""
    srv = StreamlitServer().start(timeout=90)
    try:
        if warm:
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(srv.url)
            wait_app_idle(page)
            settle(page, 800)
            ctx.close()
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        try:
            t0 = time.perf_counter()
            page = ctx.new_page()
            page.goto(srv.url + LINK)
            page.locator(".st-key-cfg_epochs input").first.wait_for(timeout=120_000)
            seconds = time.perf_counter() - t0
            first = shown(page)
            page.wait_for_timeout(SETTLE_MS)
            wait_app_idle(page)
            return first, shown(page), page.url.split("?", 1)[-1], seconds
        finally:
            ctx.close()
    finally:
        srv.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warm", action="store_true", help="open the home page once before the link")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    wrong = flashes = 0
    with sync_playwright() as p:
        browser = launch(p)
        try:
            for r in range(args.rounds):
                first, settled, query, seconds = one_round(browser, args.warm)
                off = {k: v for k, v in settled.items() if v != WANTED[k]}
                flash = {k: v for k, v in first.items() if v != WANTED[k]}
                wrong += bool(off)
                flashes += bool(flash) and not off
                verdict = "WRONG" if off else ("flash" if flash else "ok   ")
                print(f"round {r + 1:2d}: {verdict} settled={off or 'as the link'} first sight={flash or 'as the link'} "
                      f"({seconds:.1f} s to the sidebar) url={query[:60]}…", flush=True)
        finally:
            browser.close()
    print(f"{wrong} of {args.rounds} cold starts stayed on another setup than the link ({LINK}); "
          f"{flashes} more showed a widget's default for a moment at first sight")


if __name__ == "__main__":
    main()

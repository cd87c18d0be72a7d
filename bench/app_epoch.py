"""How much slower is an epoch started from the Train page than the same epoch run headless?

Workload: 784-256-128-10 (relu, softmax, cse, adam 1e-3), all 60,000 MNIST training digits, batch
128, no validation. "Headless" calls model.train in a fresh Python process; "app" starts
`streamlit run app.py`, configures the sidebar in Chromium (Playwright), presses Start on the Train
page and reads the engine's own epoch time ("last epoch … s") while the page polls as usual.
Runs alternate (headless, app, headless, app, …) so background load hits both alike.

    python bench/app_epoch.py [--rounds 2]

Prints the per-round times, the medians and the ratio app / headless (target: <= 1.15).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_util import (  # noqa: E402
    ARTIFACTS,
    StreamlitServer,
    configure_sidebar,
    launch,
    set_slider,
    wait_app_idle,
)

HEADLESS = r"""
import json, time
from nncore import datasets
from nncore.studio import data, spec
ds = datasets.get("mnist")
m = spec.build(spec.dense_config(input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs,
                                 hidden=[spec.HiddenLayer(256, "relu"), spec.HiddenLayer(128, "relu")],
                                 output_activation="softmax", loss="cse", optimizer="adam", lr=1e-3, seed=0))
d = data.training_split(ds, 60000, 0.0, seed=0)
m.train(d.x, d.y, epochs=1, batch_size=128, verbose=0)
print(json.dumps({"seconds": m.history["seconds"][-1]}))
"""


def headless_epoch() -> float:
    out = subprocess.run([sys.executable, "-c", HEADLESS], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def app_epoch(page, url: str) -> float:
    page.goto(url + "/train")
    page.get_by_role("button", name="Start").wait_for(timeout=60_000)
    wait_app_idle(page)
    configure_sidebar(page, neurons=[256, 128], samples="60,000", val_split=0.0, epochs=1, batch=128)
    page.get_by_text("784-256-128-10", exact=False).first.wait_for(timeout=30_000)
    set_slider(page, "train_speed", "as fast as possible")  # the default is a paced 10 batches/s
    wait_app_idle(page)
    page.get_by_role("button", name="Start").click()
    text = page.get_by_text(re.compile(r"last epoch [0-9.]+ s")).first
    text.wait_for(timeout=600_000)
    m = re.search(r"last epoch ([0-9.]+) s", text.inner_text())
    return float(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    srv = StreamlitServer().start()
    heads, apps = [], []
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for r in range(args.rounds):
                heads.append(headless_epoch())
                ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
                page = ctx.new_page()
                apps.append(app_epoch(page, srv.url))
                if r == 0:
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / "bench_app_epoch.png"))
                ctx.close()
                print(f"round {r + 1}: headless {heads[-1]:.2f} s, app {apps[-1]:.2f} s", flush=True)
            browser.close()
    finally:
        srv.stop()
    h, a = statistics.median(heads), statistics.median(apps)
    print(f"median headless epoch {h:.2f} s, median in-app epoch {a:.2f} s, ratio {a / h:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()

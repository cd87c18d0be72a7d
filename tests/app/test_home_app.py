"""AppTest of the Home page's promises: the quick start describes the sidebar as it is, and the first-run
tip states how long the default run takes at the default speed (not "a few seconds")."""
from __future__ import annotations

import re
from pathlib import Path

from tests.app_util import run_page, texts

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "pages" / "home.py")


def test_the_first_run_tip_gives_the_default_runs_duration():
    at = run_page(HOME)
    tip = re.search(r"A first run with the defaults trains for about (\d+) s", texts(at))
    assert tip, texts(at)
    seconds = int(tip.group(1))
    # 9,000 training digits in batches of 128 (71 a epoch), 3 epochs, at 10 batches/s
    assert seconds == 21
    assert "few seconds" not in texts(at)


def test_the_quick_start_describes_the_sidebar_as_it_is():
    at = run_page(HOME)
    assert "keep what it shows now: a 784-128-64-10 network" in texts(at)
    at.sidebar.button(key="rm_L0").click().run()
    assert "keep what it shows now: a 784-64-10 network" in texts(at)
    assert "keep the defaults" not in texts(at)

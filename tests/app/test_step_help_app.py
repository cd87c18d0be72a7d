"""AppTest: every setting of the Step page's tiny network explains itself in a tooltip (learning rate
and momentum had none)."""
from __future__ import annotations

from pathlib import Path

from tests.app_util import run_page

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "step.py")


def test_every_step_setting_has_a_tooltip():
    at = run_page(PAGE)
    at.selectbox(key="step_opt").set_value("sgd").run()
    settings = [w for w in [*at.main.selectbox, *at.main.number_input]
                if (w.key or "").startswith("step_") and w.key not in ("step_stage",)]
    keys = {w.key for w in settings}
    assert {"step_lr", "step_momentum", "step_opt", "step_seed"} <= keys, keys
    assert not [w.label for w in settings if not w.help], "settings without a tooltip"

"""AppTest of the Playground's layout promises: the decision map asks for a frame no taller than its
square needs (aspect), and a plain finished run is not announced twice."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app_util import run_page

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "playground.py")


def live_args(at: AppTest) -> dict[str, dict]:
    """Label → arguments of each live plotly chart on the page."""
    out = {}
    for e in at.get("component_instance"):
        if e.proto.component_name.endswith("plotly_live"):
            args = json.loads(e.proto.json_args)
            out[args["label"]] = args
    return out


def circle() -> AppTest:
    at = run_page(PAGE)
    at.selectbox(key="cfg_data").set_value("circle").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_decision_map_asks_for_the_height_of_its_square():
    args = live_args(circle())
    boundary, loss = args["Decision boundary"], args["Loss curves"]
    xmin, xmax = boundary["figure"]["layout"]["xaxis"]["range"]
    ymin, ymax = boundary["figure"]["layout"]["yaxis"]["range"]
    assert abs(boundary["aspect"] - (ymax - ymin) / (xmax - xmin)) < 1e-6
    assert boundary["height"] == 480  # the most it may take (a wide screen)
    assert "aspect" not in loss  # the loss curves keep their fixed height


def test_a_finished_run_is_announced_once():
    at = circle()
    at.button(key="pg_step").click().run()
    s = at.session_state["studio"]
    assert s.run.join(60)
    at.run()
    captions = [str(c.value) for c in at.caption]
    assert any(c.startswith("**Finished**") for c in captions), captions
    assert not any("epoch(s)" in c for c in captions), captions

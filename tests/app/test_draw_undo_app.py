"""AppTest of the Draw page's own canvas controls: Undo (the last stroke), Clear, and the script that
hides streamlit-drawable-canvas's toolbar (its effect on screen is tested in tests/browser/test_browser_draw.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pages.ui.state import Studio
from tests.app.test_app_pages import canvas_value, rgba_from_digit
from tests.app_util import run_page

ROOT = Path(__file__).resolve().parents[2]
DRAW = str(ROOT / "pages" / "draw.py")
BAR = np.pad(np.full((20, 6), 255), 4)[:28, :28]


def strokes_value(n: int) -> dict:
    """A canvas state with ``n`` freehand strokes (told apart by their ``left``)."""
    v = canvas_value(rgba_from_digit(BAR))
    v["drawing"]["raw"]["objects"] = [{"type": "path", "left": 10 * k} for k in range(n)]
    return v


def canvas_data(at) -> dict:
    (canvas,) = [c for c in at.get("bidi_component") if "drawable_canvas" in c.proto.component_name]
    return json.loads(canvas.proto.json)


def canvas_data_id(at) -> str:
    (canvas,) = [c for c in at.get("bidi_component") if "drawable_canvas" in c.proto.component_name]
    return canvas.proto.id


def test_undo_is_disabled_on_an_empty_canvas():
    at = run_page(DRAW, Studio(), draw_model="mlp")
    assert at.button(key="undo_stroke").disabled
    assert canvas_data(at)["initialDrawing"]["objects"] == []


def test_undo_gives_the_canvas_all_strokes_but_the_last():
    at = run_page(DRAW, Studio(), draw_model="mlp")
    at.session_state["canvas_0"] = strokes_value(3)
    at.run()
    assert not at.button(key="undo_stroke").disabled
    at.button(key="undo_stroke").click().run()
    assert not at.exception
    first = canvas_data(at)["initialDrawing"]
    assert [o["left"] for o in first["objects"]] == [0, 10]
    # the canvas sent back two strokes, then a new one; Undo again: the same two strokes as before, but a
    # new initial drawing (the canvas only reloads when it changes)
    at.session_state["canvas_0"] = strokes_value(3)
    at.run()
    at.button(key="undo_stroke").click().run()
    second = canvas_data(at)["initialDrawing"]
    assert second["objects"] == first["objects"] and second != first
    assert canvas_data_id(at).endswith("canvas_0")  # the same canvas: Undo keeps its key


def test_clear_starts_a_new_empty_canvas_after_undo():
    at = run_page(DRAW, Studio(), draw_model="mlp")
    at.session_state["canvas_0"] = strokes_value(2)
    at.run()
    at.button(key="undo_stroke").click().run()
    at.button(key="clear_canvas").click().run()
    assert not at.exception
    assert canvas_data(at)["initialDrawing"]["objects"] == []
    assert canvas_data_id(at).endswith("canvas_1")  # a new canvas


def test_the_toolbar_hiding_script_is_on_the_page_and_takes_no_space():
    at = run_page(DRAW, Studio(), draw_model="mlp")
    (html,) = [h for h in at.get("html") if "dc-toolbar" in h.proto.body]
    body = html.proto.body
    assert html.proto.unsafe_allow_javascript
    assert ".dc-toolbar{display:none!important}" in body and "MutationObserver" in body
    assert ".st-key-draw_canvas_box" in body  # only the Draw page's canvas
    assert ".st-key-draw_toolbar_fix{display:none}" in body  # its own box is hidden

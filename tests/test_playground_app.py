"""AppTest of the Playground page run on its own (pages/playground.py with its standalone setup)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "playground.py")
SLOW = "slow motion (2 epochs/s)"


@pytest.fixture
def app():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    yield at
    run = getattr(at.session_state["playground"], "run", None) if "playground" in at.session_state else None
    if run is not None and run.stop():  # never leave a training thread behind
        run.join(10)


def arr(value) -> np.ndarray:
    """A plotly array: a list, or numpy's typed-array encoding {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
    return np.asarray(value)


def live_specs(at) -> list[dict]:
    return [json.loads(e.proto.json_args)["figure"] for e in at.get("component_instance")
            if e.proto.component_name.endswith("plotly_live")]


def thumbnails(at) -> str:
    return "".join(e.proto.body for e in at.get("html") if "pg-grid" in e.proto.body)


def test_untrained_view_renders_heatmap_points_and_neurons(app):
    assert not app.exception
    boundary = live_specs(app)[0]
    heat = boundary["data"][0]
    assert heat["type"] == "heatmap" and arr(heat["z"]).shape == (100, 100)
    assert arr(heat["x"])[0] == -6 and arr(heat["x"])[-1] == 6  # the Playground's square
    names = [d["name"] for d in boundary["data"][1:]]
    assert names == ["train -1", "train +1", "test -1", "test +1"]
    assert sum(len(arr(d["x"])) for d in boundary["data"][1:]) == 500
    test_outline = boundary["data"][3]["marker"]["line"]["color"]
    assert test_outline != boundary["data"][1]["marker"]["line"]["color"]
    hover = boundary["data"][1]["hovertemplate"]
    assert "x1 = " in hover and "x2 = " in hover and "sin(x1)" in hover and "label" in hover and "prediction" in hover
    html = thumbnails(app)
    assert html.count("<img") == 4 + 16  # input features + 8 + 8 hidden units
    assert 'title="Dense 2 · unit 8"' in html and "data:image/png;base64," in html
    assert "Epoch 0" in " ".join(c.value for c in app.caption)


def test_discretize_gives_two_colours(app):
    app.toggle(key="playground_discretize").set_value(True).run()
    z = arr(live_specs(app)[0]["data"][0]["z"])
    assert set(np.unique(z)) <= {-1.0, 1.0}


def test_pick_spiral_train_live_pause_and_stop(app):
    app.selectbox(key="pg_dataset").set_value("circle").run()
    app.selectbox(key="pg_dataset").set_value("spiral").run()
    s = app.session_state["playground"]
    assert s.dataset.name == "spiral"
    # a run long by construction: 100,000 epochs at 2 epochs/s
    app.selectbox(key="pg_speed").set_value(SLOW)
    app.number_input(key="pg_epochs").set_value(100_000)
    app.button(key="pg_start").click().run()
    assert not app.exception
    assert s.run.state == "running"
    assert app.selectbox(key="pg_dataset").disabled  # settings are locked while training
    app.button(key="pg_pause").click().run()  # holds the worker at a batch boundary
    assert s.run.state == "paused"
    assert app.button(key="pg_start").label == "Resume"
    live = live_specs(app)
    assert len(live) == 2  # boundary and loss curves, updated in place while training
    heat = live[0]["data"][0]
    assert heat["type"] == "heatmap" and arr(heat["z"]).shape == (100, 100)
    assert thumbnails(app).count("<img") == 20
    model = s.model
    app.select_slider(key="pg_lr").set_value(0.03).run()  # steerable while training: same model
    assert s.model is model and s.run.state == "paused" and not app.select_slider(key="pg_lr").disabled
    app.button(key="pg_stop").click().run()
    s.run.join(60)
    assert s.run.state == "stopped" and not s.run.active
    assert model.lr == 0.03  # applied when the run ended at the latest
    app.run()
    assert not app.selectbox(key="pg_dataset").disabled


def test_step_trains_one_epoch_and_the_loss_curve_appears(app):
    app.button(key="pg_step").click().run()
    s = app.session_state["playground"]
    assert s.model.epoch == 1
    loss = live_specs(app)[1]
    assert [d["name"] for d in loss["data"]] == ["train loss", "test loss"]
    assert arr(loss["data"][0]["x"]).tolist() == [1]
    assert "Epoch 1" in " ".join(c.value for c in app.caption)


def test_regression_set_colours_points_by_target(app):
    app.selectbox(key="pg_dataset").set_value("reg-gauss").run()
    assert not app.exception
    boundary = live_specs(app)[0]
    assert [d["name"] for d in boundary["data"][1:]] == ["train", "test"]
    assert "target = " in boundary["data"][1]["hovertemplate"]
    assert app.session_state["playground"].model.loss.name == "mse"


def test_bad_settings_are_explained(app):
    app.text_input(key="pg_hidden").set_value("8,x").run()
    assert any("'x' is not a whole number" in e.value for e in app.error)
    app.text_input(key="pg_hidden").set_value("8,8").run()
    for f in ("x1", "x2", "sin(x1)", "sin(x2)"):
        app.checkbox(key=f"pg_f_{f}").uncheck()
    app.run()
    assert any("at least one feature" in e.value for e in app.error)
    assert app.button(key="pg_start").disabled and app.button(key="pg_step").disabled

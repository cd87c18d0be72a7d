"""AppTest of the Playground page (pages/playground.py): the session's model and run on the data the
shared sidebar chooses, drawn as the Playground's view."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "playground.py")
SLOW = "slow motion (2 epochs/s)"


@pytest.fixture
def app():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    yield at
    s = at.session_state["studio"] if "studio" in at.session_state else None
    run = getattr(s, "run", None)
    if run is not None and run.stop():  # never leave a training thread behind
        run.join(10)


def spiral(at: AppTest) -> AppTest:
    at.selectbox(key="cfg_data").set_value("spiral").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


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


def test_with_mnist_the_page_says_what_it_needs_and_offers_the_playground_sets(app):
    assert not app.exception
    info = " ".join(i.value for i in app.info)
    assert "needs 2-D data" in info and "MNIST" in info
    assert not live_specs(app)
    app.button(key="pg_switch_circle").click().run()
    assert app.session_state["cfg_data"] == "circle"
    assert app.session_state["studio"].model.output_size == 2
    assert len(live_specs(app)) == 2


def test_untrained_view_renders_heatmap_points_and_neurons(app):
    spiral(app)
    boundary = live_specs(app)[0]
    heat = boundary["data"][0]
    assert heat["type"] == "heatmap" and arr(heat["z"]).shape == (100, 100)
    assert arr(heat["x"])[0] == -6 and arr(heat["x"])[-1] == 6  # the Playground's square
    names = [d["name"] for d in boundary["data"][1:]]
    assert names == ["train -1", "train +1", "test -1", "test +1"]
    assert sum(len(arr(d["x"])) for d in boundary["data"][1:]) == 500
    hover = boundary["data"][1]["hovertemplate"]
    assert "x1 = " in hover and "sin(x1)" in hover and "label" in hover and "prediction" in hover
    html = thumbnails(app)
    assert html.count("<img") == 4 + 16  # input features + 8 + 8 hidden units (the sidebar's 2-D preset)
    assert 'title="Dense 2 · unit 8"' in html
    assert "Epoch 0" in " ".join(c.value for c in app.caption)


def test_the_features_chosen_in_the_sidebar_reach_the_model_and_the_view(app):
    spiral(app)
    app.checkbox(key="cfg_feat_x1sq").check().run()
    app.checkbox(key="cfg_feat_sinx1").uncheck().run()
    model = app.session_state["studio"].model
    assert list(model.input_transform.features) == ["x1", "x2", "x1^2", "sin(x2)"]
    assert 'alt="input x1^2"' in thumbnails(app) and 'alt="input sin(x1)"' not in thumbnails(app)


def test_discretize_gives_two_colours(app):
    spiral(app)
    app.toggle(key="playground_discretize").set_value(True).run()
    z = arr(live_specs(app)[0]["data"][0]["z"])
    assert set(np.unique(z)) <= {-1.0, 1.0}


def test_train_live_pause_and_stop(app):
    spiral(app)
    s = app.session_state["studio"]
    app.selectbox(key="pg_speed").set_value(SLOW).run()
    app.number_input(key="cfg_epochs").set_value(100).run()  # 100 epochs at 2 epochs/s: long by construction
    app.button(key="pg_start").click().run()
    assert not app.exception
    assert s.run.pace == 2.0 * s.run.batches_per_epoch  # 2 epochs/s, in batches per second
    assert s.run.state == "running"
    assert app.selectbox(key="cfg_data").disabled  # the data is locked while training
    app.button(key="pg_pause").click().run()  # holds the worker at a batch boundary
    assert s.run.state == "paused"
    assert app.button(key="pg_pause").label == "Resume"
    live = live_specs(app)
    assert len(live) == 2 and arr(live[0]["data"][0]["z"]).shape == (100, 100)
    app.selectbox(key="pg_speed").set_value("full speed").run()
    assert s.run.pace is None  # the speed applies to the run at once
    app.button(key="pg_stop").click().run()
    assert s.run.join(60)
    assert s.run.state == "stopped"
    app.run()
    assert not app.selectbox(key="cfg_data").disabled


def test_one_epoch_draws_the_loss_curves(app):
    spiral(app)
    app.button(key="pg_step").click().run()
    s = app.session_state["studio"]
    assert s.run.join(60)
    app.run()
    assert s.model.epoch == 1
    loss = live_specs(app)[1]
    assert [d["name"] for d in loss["data"]] == ["train loss", "validation loss"]
    assert arr(loss["data"][0]["x"]).tolist() == [1]
    assert "Epoch 1" in " ".join(c.value for c in app.caption)


def test_regression_set_colours_points_by_target(app):
    app.selectbox(key="cfg_data").set_value("reg-gauss").run()
    assert not app.exception
    boundary = live_specs(app)[0]
    assert [d["name"] for d in boundary["data"][1:]] == ["train", "test"]
    assert "target = " in boundary["data"][1]["hovertemplate"]
    assert app.session_state["studio"].model.loss.name == "mse"


def test_no_feature_ticked_is_explained_and_the_data_stays(app):
    spiral(app)
    for key in ("x1", "x2", "sinx1", "sinx2"):
        app.checkbox(key=f"cfg_feat_{key}").uncheck()
    app.run()
    assert any("at least one input feature" in e.value for e in app.sidebar.error)
    assert app.session_state["studio"].model.input_size == 4  # still the last usable choice

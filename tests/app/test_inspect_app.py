"""AppTest (headless Streamlit) of the Inspect page."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nncore import datasets
from nncore.studio import data as D
from nncore.studio import run as R
from nncore.studio import spec
from nncore.studio.spec import HiddenLayer
from pages.ui.state import Studio
from tests.app_util import run_page, texts

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "inspect.py")


@pytest.fixture(scope="module")
def data():
    return D.training_split(datasets.get("mnist"), 2000, 0.1, seed=0)


def mnist_model(hidden, seed=0):
    """A dense network on MNIST as the sidebar builds it (raw uint8 images, scaled per batch)."""
    from nncore import datasets

    ds = datasets.get("mnist")
    return spec.build(spec.dense_config(input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs,
                                        hidden=hidden, output_activation="softmax", loss="cse", optimizer="adam",
                                        lr=1e-3, seed=seed))


def _train(data, hidden, epochs=2):
    model = mnist_model(hidden)
    if epochs:
        model.train(data.x, data.y, epochs=epochs, batch_size=64, verbose=0, val_x=data.x_val, val_y=data.y_val)
    return model


@pytest.fixture(scope="module")
def trained(data):
    return _train(data, (HiddenLayer(32, "relu"), HiddenLayer(16, "relu")))


def _studio(model) -> Studio:
    s = Studio()
    s.set_model(model.copy(), "trained by the test")
    return s


def run(studio: Studio | None = None, **state) -> AppTest:
    return run_page(PAGE, studio, **state)


def charts(at: AppTest) -> list[dict]:
    """Every chart's figure: st.plotly_chart's, then the live component's (the saliency maps)."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")] + live_charts(at)


def live_charts(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.json_args)["figure"] for e in at.get("component_instance")
            if e.proto.component_name.endswith("plotly_live")]


def chart_with(at: AppTest, trace_name_part: str) -> dict:
    for spec in charts(at):
        if any(trace_name_part in (t.get("name") or "") for t in spec["data"]):
            return spec
    raise AssertionError(f"no chart with a trace named like {trace_name_part!r}")


def test_every_section_renders_with_its_explanation(trained):
    at = run(_studio(trained))
    assert at.radio(key="inspect_model").value == "session"
    specs = charts(at)
    assert len(specs) == 5  # weights grid, saliency, layer strips, norms, histograms
    # the most active first-layer units: 8 weight pictures (84 px, whole at any width), each captioned
    captions = [c.caption for i in at.get("image") for c in i.proto.imgs if c.caption.startswith("unit ")]
    assert len(captions) == 8 and all(re.fullmatch(r"unit \d+: -?\d+\.\d\d", c) for c in captions), captions
    t = texts(at)
    for phrase in ("What each first-layer unit looks for", "784 incoming weights", "Saliency: which pixels decide",
                   "Every layer's output for this digit", "most active first-layer units",
                   "Weight and gradient size per layer", "try 6 sigmoid layers", "Gradients look healthy"):
        assert phrase in t, phrase
    grid = specs[0]["data"][0]
    assert grid["type"] == "heatmap" and grid["zmid"] == 0  # diverging, centred on 0
    # one strip per dense layer, the last one the ten outputs
    strips = next(s for s in specs if len(s["data"]) == 3 and all(d["type"] == "heatmap" for d in s["data"]))
    assert strips["data"][-1]["x"] == [str(i) for i in range(10)]


def test_the_saliency_maps_stack_on_a_phone(trained):
    """Side by side in one row on a wide page; below charts.STACK_BELOW_PX the browser draws the narrow
    layout: each panel full width, one under another, its title over it, the colour bar lying under them."""
    from pages.ui import charts as C

    at = run(_studio(trained), inspect_source="test", inspect_index=0, inspect_class=3)
    args = next(json.loads(e.proto.json_args) for e in at.get("component_instance")
                if e.proto.component_name.endswith("plotly_live") and "Why" in json.dumps(json.loads(e.proto.json_args)["figure"]["data"]))
    wide, narrow = args["figure"]["layout"], args["narrow"]["layout"]
    assert args["narrow"]["below"] == C.STACK_BELOW_PX and 0 < args["aspect"] < 0.34  # three squares in a row
    axes = ["yaxis", "yaxis2", "yaxis3"]
    assert all(wide[a].get("domain", [0, 1]) == [0, 1] for a in axes)  # one row
    domains = [narrow[a]["domain"] for a in axes]
    assert all(narrow[x]["domain"] == [0, 1] for x in ("xaxis", "xaxis2", "xaxis3"))
    assert domains[0][0] >= domains[1][1] and domains[1][0] >= domains[2][1]  # top to bottom, apart
    titles = [a["y"] for a in narrow["annotations"]]
    assert titles == sorted(titles, reverse=True) and len(titles) == 3
    assert narrow["coloraxis"]["colorbar"]["orientation"] == "h" and narrow["height"] > 3 * 300


def why_names(spec: dict) -> list[str]:
    return [t["name"] for t in spec["data"] if (t.get("name") or "").startswith("Why")]


def test_the_second_saliency_map_waits_for_the_digit_the_user_meant(trained):
    at = run(_studio(trained), inspect_source="test", inspect_index=0)
    assert "test digit 0 (labelled 7)" in texts(at)
    box = at.selectbox(key="inspect_class")
    assert box.value is None and box.placeholder == "Pick a digit"  # no digit chosen for the user
    before = chart_with(at, "Why")
    assert len(why_names(before)) == 1  # the prediction's map only
    assert "Not the digit you meant? Say which one above" in texts(at)
    pred = int(why_names(before)[0].split()[1].rstrip("?"))
    meant = next(c for c in range(10) if c != pred)
    at.selectbox(key="inspect_class").set_value(meant).run()
    assert not at.exception
    after = chart_with(at, "Why")
    assert why_names(after)[1].startswith(f"Why {meant}?")
    assert before["data"][1]["z"] == after["data"][1]["z"]  # the prediction's map did not change
    other = next(c for c in range(10) if c not in (pred, meant))
    at.selectbox(key="inspect_class").set_value(other).run()
    changed = chart_with(at, "Why")
    assert why_names(changed)[1].startswith(f"Why {other}?")
    assert changed["data"][3]["z"] != after["data"][3]["z"]  # the chosen digit's map changed
    at.run()  # the choice stays across reruns of the same digit
    assert at.selectbox(key="inspect_class").value == other and len(why_names(chart_with(at, "Why"))) == 2
    at.number_input(key="inspect_index").set_value(1).run()  # another digit: the user says again
    assert at.selectbox(key="inspect_class").value is None and len(why_names(chart_with(at, "Why"))) == 1


def test_another_test_digit_changes_the_prediction_text(trained):
    at = run(_studio(trained), inspect_source="test", inspect_index=0)
    at.number_input(key="inspect_index").set_value(1).run()
    assert "test digit 1 (labelled 2)" in texts(at)


def test_the_drawing_from_the_draw_page_is_used(trained):
    from nncore.datasets import load_mnist
    from nncore.preprocess import canvas_to_mnist

    _, (x, _) = load_mnist()
    rgba = np.zeros((280, 280, 4), np.uint8)
    big = np.kron(x[0], np.ones((10, 10), np.uint8))
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = big
    rgba[..., 3] = 255
    s = _studio(trained)
    s.canvas = canvas_to_mnist(rgba)
    at = run(s)
    assert at.radio(key="inspect_source").value == "drawing"
    t = texts(at)
    assert "your drawing: the network reads" in t


def test_no_drawing_yet_points_to_the_draw_page(trained):
    at = run(_studio(trained), inspect_source="drawing")
    assert "Draw a digit on the Draw page first" in texts(at)


def test_untrained_model_falls_back_to_pretrained_and_says_so(data, monkeypatch, tmp_path):
    from pages.ui import data as ui_data

    monkeypatch.setattr(ui_data, "PRETRAINED_CNN_PATH", tmp_path / "missing_cnn.json")  # the MLP then
    s = Studio()
    s.set_model(_train(data, (HiddenLayer(8, "relu"),), epochs=0), "built")
    at = run(s)
    assert at.radio(key="inspect_model").value == "mlp"
    t = texts(at)
    assert "Your model is not trained yet, so this page shows the pretrained model" in t
    # the pretrained model was saved without layer statistics
    assert "Train at least one epoch to see how weights and gradients evolve." in t
    assert "784→256" in json.dumps(charts(at), ensure_ascii=False)  # the pretrained model's layers are shown


def test_vanishing_gradients_are_called_out(data):
    model = _train(data, tuple(HiddenLayer(16, "sigmoid") for _ in range(6)), epochs=1)
    at = run(_studio(model))
    warn = "\n".join(w.value for w in at.warning)
    assert "Gradients are vanishing" in warn


def test_network_without_hidden_layer(data):
    at = run(_studio(_train(data, (), epochs=1)))
    t = texts(at)
    assert "What each output unit looks for" in t and "no hidden layer" in t
    assert "most active first-layer units" not in t


def test_histogram_kind_switch(trained):
    at = run(_studio(trained))
    at.radio(key="inspect_hist_kind").set_value("gradients").run()
    assert not at.exception
    assert "How each layer's gradients are spread" in texts(at)


def test_while_training_the_page_uses_a_snapshot(data, trained):
    s = _studio(trained)
    s.run = R.TrainingRun(s.model, data.x, data.y, batch_size=16)
    s.run.start(1_000_000)  # far longer than the test by construction; the test stops it
    try:
        at = run(s)
        assert at.radio(key="inspect_model").value == "session"
        assert "training now, the charts follow its live weights" in texts(at)
        assert "The network is training" in texts(at)
        assert len(charts(at)) == 5  # weights, saliency, strips, norms, histograms
    finally:
        s.run.stop()
        s.run.join(10)


def test_the_default_model_follows_the_session_until_the_user_picks_one(data, trained):
    # first run: an untrained model (e.g. a reload's first run, before the tab's parked work comes back)
    s = Studio()
    s.set_model(_train(data, (HiddenLayer(8, "relu"),), epochs=0), "built")
    at = run(s)
    first = at.radio(key="inspect_model").value
    assert first != "session"  # a pretrained model while the session's is untrained
    # the next run: the trained model is back (restored): the page's default follows
    s.set_model(trained, "restored")
    at.run()
    assert at.radio(key="inspect_model").value == "session"
    # once the user has picked a model, it stays picked
    at.radio(key="inspect_model").set_value(first).run()
    s.set_model(_train(data, (HiddenLayer(8, "relu"),), epochs=1), "trained again")
    at.run()
    assert at.radio(key="inspect_model").value == first

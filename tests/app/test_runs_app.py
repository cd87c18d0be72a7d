"""AppTest (headless Streamlit) of the Runs page and of recording finished runs."""
from __future__ import annotations

import json
from pathlib import Path

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
PAGE = str(ROOT / "pages" / "runs.py")
SETTINGS = {"n_samples": 2000, "val_fraction": 0.1, "batch_size": 64}


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


def _model(data, neurons, act="relu", epochs=2):
    m = mnist_model([HiddenLayer(neurons, act)])
    m.train(data.x, data.y, epochs=epochs, batch_size=64, verbose=0, val_x=data.x_val, val_y=data.y_val)
    return m


@pytest.fixture()
def studio(data) -> Studio:
    """A session with two recorded runs; the second is the active model."""
    s = Studio()
    m1 = _model(data, 16)
    s.runs.record(m1, settings=SETTINGS, test={"loss": 0.6, "accuracy": 0.81})
    m2 = _model(data, 32, "tanh", epochs=3)
    s.runs.record(m2, settings=SETTINGS, test={"loss": 0.5, "accuracy": 0.85})
    s.set_model(m2, "trained by the test")
    return s


def run(studio: Studio | None = None, **state) -> AppTest:
    return run_page(PAGE, studio, **state)


def table(at: AppTest):
    return at.main.dataframe[0].value


def curve_traces(at: AppTest) -> list[str]:
    names = []
    for c in at.get("plotly_chart"):
        names += [t.get("name") for t in json.loads(c.proto.spec)["data"]]
    return names


def test_runs_are_listed_and_overlaid(studio):
    at = run(studio)
    df = table(at)
    assert [n.split(" · ")[0] for n in df["Name"]] == ["Run 1", "Run 2"] and all(" · " in n for n in df["Name"])  # labelled by what differs
    assert list(df["Network"]) == ["784-16-10", "784-32-10"]
    assert list(df["Epochs"]) == [2, 3]
    assert list(df["Test acc"]) == pytest.approx([81.0, 85.0])  # shown as percentages
    assert len(at.get("plotly_chart")) == 2
    labels = list(df["Name"])  # curves carry the same labels as the table
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        traces = [(t.get("name"), t["line"].get("dash"), t.get("showlegend", True)) for t in fig["data"]]
        # a solid train and a dashed validation curve per run, one legend entry per run (its colour)
        assert sorted((n, d) for n, d, _ in traces) == sorted(
            [(label, "solid") for label in labels] + [(label, "dash") for label in labels])
        assert [n for n, _, shown in traces if shown] == labels
        # nothing for the legend below the plot to collide with; the figure grows a line per run
        assert not fig["layout"]["xaxis"].get("title", {}).get("text")
        assert fig["layout"]["height"] == 330 + 22 * len(labels)
    assert "Up to 20 runs are kept" in texts(at)


def test_rename_and_untick_through_the_table(studio):
    at = run(studio)
    at.session_state["runs_editor"] = {
        "edited_rows": {"0": {"Name": "narrow relu"}, "1": {"Show": False}},
        "added_rows": [], "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    assert [r.name for r in studio.runs] == ["narrow relu", "Run 2"]
    names = curve_traces(at)
    assert "narrow relu" in names and not any(n.startswith("Run 2") for n in names)
    assert "narrow relu" in studio.runs.to_csv()
    # an emptied name is refused: the run keeps its name
    at.session_state["runs_editor"] = {"edited_rows": {"0": {"Name": "  "}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert studio.runs.get(1).name == "narrow relu"


def test_nothing_ticked_explains_how_to_compare(studio):
    for r in studio.runs:
        r.shown = False
    at = run(studio)
    assert len(at.get("plotly_chart")) == 0
    assert "Tick **Show** in the table" in texts(at)


def test_delete_a_run(studio):
    at = run(studio)
    at.selectbox(key="runs_selected").set_value(1).run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert studio.runs.ids() == [2]
    assert list(table(at)["Name"]) == ["Run 2"]
    assert "Deleted “Run 1 · " in texts(at)


def test_csv_download_is_offered(studio):
    at = run(studio)
    dl = [b for b in at.get("download_button") if "CSV" in b.proto.label]
    assert len(dl) == 1


def test_make_a_run_the_active_model_again(studio):
    at = run(studio, runs_selected=1)
    at.button(key="runs_activate").click().run()
    assert not at.exception
    m = studio.model
    assert m is not studio.runs.get(1).model  # an independent copy
    assert m.layers[1].neurons == 16  # after Flatten and "restored from “Run 1”" in studio.source
    assert "is the active model again" in texts(at)
    # the sidebar now describes the restored network
    assert at.session_state[f"cfg_L{at.session_state['layer_ids'][0]}_n"] == 16
    assert at.session_state["cfg_batch"] == 64 and at.session_state["cfg_n_samples"] == 2000


def test_unsaved_model_asks_before_being_replaced(studio, data):
    loaded = _model(data, 8, epochs=1)
    studio.set_model(loaded, "loaded from a file", from_file=True)  # learned, but in no run
    at = run(studio, runs_selected=1)
    at.button(key="runs_activate").click().run()
    assert studio.model is loaded
    assert "is not in this table and would be lost" in "\n".join(w.value for w in at.warning)
    at.button(key="runs_confirm_yes").click().run()
    assert studio.model is not loaded and studio.model.layers[1].neurons == 16


def test_no_runs_yet():
    at = run(Studio())
    assert "No runs yet" in texts(at)
    assert len(at.main.dataframe) == 0


def test_a_finished_training_run_is_recorded_once_with_test_metrics(data):
    s = Studio()
    s.set_model(mnist_model([HiddenLayer(16, "relu")], seed=1), "built")
    s.run = R.TrainingRun(s.model, data.x, data.y, val_x=data.x_val, val_y=data.y_val, batch_size=64)
    s.run_key = (2000, 0.1, 1, 64)
    s.run.start(1)
    assert s.run.join(60)
    at = run(s)
    assert len(s.runs) == 1
    rec = s.runs.get(1)
    assert rec.settings == {"n_samples": 2000, "val_fraction": 0.1, "batch_size": 64}
    assert 0.3 < rec.test["accuracy"] <= 1 and rec.status == "finished" and rec.epochs == 1
    at.run()  # recording is idempotent
    assert len(s.runs) == 1
    # training the same model further updates its row
    s.run.start(1)
    assert s.run.join(60)
    at.run()
    assert len(s.runs) == 1 and s.runs.get(1).epochs == 2
    assert list(table(at)["Epochs"]) == [2]
    # building a new model keeps the old one's run
    s.set_model(mnist_model([HiddenLayer(16, "relu")], seed=1), "built again")
    assert len(s.runs) == 1

"""AppTests of the sidebar's data picker (MNIST, the Playground sets, a CSV table) and of what the
Train, Draw and Inspect pages show for the current data."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nncore import datasets

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "examples"


def page(name: str = "train") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def summary_line(at: AppTest) -> str:
    lines = [m.value for m in at.sidebar.markdown if "parameters" in str(m.value)]
    assert lines, "no summary line in the sidebar"
    return lines[0]


def sidebar_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at.sidebar, kind)]
    return "\n".join(parts)


def main_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at.main, kind)]
    return "\n".join(parts)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.selectbox(key="cfg_data").set_value("csv").run()
    at.file_uploader(key="csv_file").set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def refusal(data: bytes, **kw) -> datasets.CSVError:
    """The CSVError nncore raises for ``data`` (what the sidebar must show)."""
    with pytest.raises(datasets.CSVError) as info:
        source = io.BytesIO(data)
        source.name = "t.csv"
        datasets.from_csv(source, test_fraction=0.2, **kw)
    return info.value


def train_to_end(at: AppTest, epochs: int) -> None:
    s = at.session_state["studio"]
    at.number_input(key="cfg_epochs").set_value(epochs).run()
    at.session_state["pg_speed"] = "full speed"  # 2-D runs are paced to be watchable; tests do not watch
    at.button(key="btn_start").click().run()
    assert s.run is not None and s.run.join(120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def table(rows: int = 30, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2)).round(3)
    label = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    return "a,b,label\n" + "\n".join(f"{u},{v},{c}" for (u, v), c in zip(x, label)) + "\n"


# ------------------------------------------------------------------ the picker
def test_mnist_is_the_default_data():
    at = page()
    assert "784-128-64-10" in summary_line(at)
    assert "MNIST" in sidebar_text(at)


def test_choosing_spiral_changes_sizes_and_builds_a_two_output_model():
    at = page()
    at.selectbox(key="cfg_data").set_value("spiral").run()
    assert not at.exception
    assert summary_line(at).startswith("**4-8-8-2**")  # x1, x2, sin x1, sin x2 in; 2 classes out
    s = at.session_state["studio"]
    assert (s.model.input_size, s.model.output_size) == (4, 2)
    assert s.model.get_config()["layers"][-1]["config"]["activation"] == "softmax" and s.model.loss.name == "cse"
    assert type(s.model.input_transform).__name__ == "Features2D"  # the model reads raw (x1, x2) points
    assert at.session_state["cfg_n_samples"] == 250 and at.session_state["cfg_batch"] == 10
    # the Playground's noise and feature settings reach the data and the model
    at.slider(key="cfg_noise").set_value(25).run()
    assert at.session_state["_data_last"].dataset.params["noise"] == 25
    at.checkbox(key="cfg_feat_x1x2").check().run()
    assert summary_line(at).startswith("**5-8-8-2**")
    assert at.session_state["studio"].model.input_size == 5


def test_a_regression_set_gets_a_linear_output_and_mse():
    at = page()
    at.selectbox(key="cfg_data").set_value("reg-plane").run()
    assert at.session_state["cfg_out_act"] == "linear" and at.session_state["cfg_loss"] == "mse"
    assert summary_line(at).startswith("**4-8-8-1**")
    m = at.session_state["studio"].model
    assert m.loss.name == "mse" and m.metrics == ["r2", "mae"]
    # cross-entropy on a numeric target is refused with a sentence, and nothing is built from it
    at.selectbox(key="cfg_out_act").set_value("sigmoid").run()
    m = at.session_state["studio"].model  # an unlearned model follows the sidebar
    at.selectbox(key="cfg_loss").set_value("cse").run()
    assert any("numeric target" in e.value for e in at.sidebar.error)
    assert at.session_state["studio"].model is m and m.loss.name == "mse"


def test_a_learned_model_needs_build_for_other_sizes_and_start_refuses_meanwhile():
    at = page()
    at.selectbox(key="cfg_data").set_value("spiral").run()
    train_to_end(at, 2)
    s = at.session_state["studio"]
    learned = s.model
    at.selectbox(key="cfg_data").set_value("reg-plane").run()
    assert s.model is learned  # kept until the user builds
    assert "does not fit this data" in sidebar_text(at)
    assert "does not fit the current data" in main_text(at)  # the results say why they are not shown
    assert at.button(key="btn_start").disabled and "does not fit" in at.button(key="btn_start").help
    at.button(key="build_new").click().run()
    at.button(key="build_confirm").click().run()
    assert s.model is not learned and s.model.output_size == 1 and s.model.loss.name == "mse"


def test_regression_results_show_r2_mae_and_predicted_against_true():
    at = page()
    at.selectbox(key="cfg_data").set_value("reg-plane").run()
    train_to_end(at, 3)
    labels = [m.label for m in at.metric]
    assert "Test R²" in labels and "Test MAE" in labels and "Test accuracy" not in labels
    assert "Validation R²" in labels
    r2 = float([m.value for m in at.metric if m.label == "Test R²"][0])
    assert r2 > 0.9  # reg-plane is a plane: 3 epochs of 8-8 tanh get it
    fig = at.get("plotly_chart")[0].proto.spec
    assert "true target" in fig and "prediction = true value" in fig


# ------------------------------------------------------------------ CSV
def test_csv_example_iris_shows_preview_task_and_class_balance():
    at = page()
    at.selectbox(key="cfg_data").set_value("csv").run()
    at.button(key="csv_example_iris").click().run()
    assert not at.exception
    frames = [d.value for d in at.sidebar.dataframe]
    preview = frames[0]
    assert list(preview.columns) == ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    assert len(preview) == 6 and preview.iloc[0]["species"] == "setosa"
    text = sidebar_text(at)
    assert "Task: classification" in text and "3 classes" in text
    balance = frames[1]
    assert list(balance["class"]) == ["setosa", "versicolor", "virginica"]
    assert balance["rows"].sum() == 120  # 150 rows, 20 % held out as the test set
    assert at.selectbox(key="csv_target").value == "species"
    assert summary_line(at).startswith("**4-16-16-3**")
    s = at.session_state["studio"]
    assert type(s.model.input_transform).__name__ == "Standardize"
    # the table is this session's: in its session state only
    assert at.session_state["_csv_upload"].name == "iris.csv"


def test_csv_regression_example_and_another_target():
    at = page()
    at.selectbox(key="cfg_data").set_value("csv").run()
    at.button(key="csv_example_housing_like").click().run()
    text = sidebar_text(at)
    assert "Task: regression" in text and "price_100k" in text and "values from" in text
    assert at.session_state["cfg_loss"] == "mse"
    assert summary_line(at).startswith("**4-16-16-1**")
    at.selectbox(key="csv_target").set_value("rooms").run()  # 6 whole numbers: classes
    assert "Task: classification" in sidebar_text(at) and "6 classes" in sidebar_text(at)
    assert summary_line(at).startswith("**4-16-16-6**")
    assert at.session_state["cfg_loss"] == "cse"


def test_csv_upload_trains_and_shows_a_confusion_matrix_with_its_class_names():
    at = page()
    upload(at, "mine.csv", table(60).encode())
    assert "Task: classification" in sidebar_text(at)
    train_to_end(at, 3)
    fig = at.get("plotly_chart")[0].proto.spec
    assert '"no"' in fig and '"yes"' in fig  # the confusion matrix names the table's classes
    per_class = [d.value for d in at.main.dataframe if "class" in d.value.columns][0]
    assert list(per_class["class"]) == ["no", "yes"] and per_class["test samples"].sum() == 12


CASES = {
    "no_header": b"1,2,3\n4,5,6\n" * 6,
    "non_numeric": ("a,b,label\n" + "\n".join(f"{i},x{i},{i % 2}" for i in range(20))).encode(),
    "one_class": ("a,b,label\n" + "\n".join(f"{i},{i},same" for i in range(20))).encode(),
    "too_few_rows": b"a,b,label\n1,2,x\n3,4,y\n",
    "duplicate_columns": ("a,a,label\n" + "\n".join(f"{i},{i},{i % 2}" for i in range(20))).encode(),
    "infinite": ("a,b,label\n" + "\n".join(f"{i},{'inf' if i == 5 else i},{i % 2}" for i in range(20))).encode(),
    "too_many_columns": (",".join(f"c{i}" for i in range(201)) + "\n" + ",".join("1" for _ in range(201)) + "\n").encode(),
    "empty": b"",
}


@pytest.mark.parametrize("reason", list(CASES))
def test_each_csv_refusal_shows_its_sentence(reason):
    data = CASES[reason]
    err = refusal(data)
    assert err.reason == reason
    at = page()
    upload(at, "t.csv", data)
    errors = [e.value for e in at.sidebar.error]
    assert any(str(err) in e for e in errors), (str(err), errors)
    # the studio keeps training on the data it had, and says so
    assert "Training stays on **MNIST**" in sidebar_text(at)
    assert at.session_state["studio"].model.input_size == 784


def test_a_file_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 100)
    at = page()
    upload(at, "big.csv", table(30).encode())
    assert any("over the limit of 100 bytes" in e.value for e in at.sidebar.error)
    assert at.session_state["_csv_upload"].data is None  # not kept


def test_missing_values_offer_to_drop_those_rows():
    lines = table(30).splitlines()
    lines[3] = "0.5,,yes"  # file line 4
    lines[8] = "NA,0.1,no"  # file line 9
    data = ("\n".join(lines) + "\n").encode()
    err = refusal(data)
    assert err.reason == "missing" and err.lines == (4, 9)
    at = page()
    upload(at, "holes.csv", data)
    shown = str(err).replace("or pass drop_missing=True to drop", "or press the button below to drop")
    assert "line 4" in shown and "line 9" in shown
    assert any(shown in e.value for e in at.sidebar.error)
    drop = at.button(key="csv_drop")
    assert drop.label == "Drop those 2 rows and read again"
    drop.click().run()
    assert not at.sidebar.error
    ds = at.session_state["_csv_upload"].dataset
    assert ds.params["dropped_lines"] == [4, 9] and ds.n_samples + ds.n_test == 28
    assert "2 row(s) with missing values were dropped" in sidebar_text(at)


# ------------------------------------------------------------------ MNIST-only parts
def test_draw_says_it_needs_images_and_switches_back_to_mnist():
    at = page("draw")
    at.selectbox(key="cfg_data").set_value("spiral").run()
    info = " ".join(i.value for i in at.info)
    assert "Drawing needs image data; the current data is **spiral" in info
    assert not at.get("component_instance") or all("canvas" not in e.proto.component_name
                                                     for e in at.get("component_instance"))
    at.button(key="draw_to_mnist").click().run()
    assert at.session_state["cfg_data"] == "mnist"
    assert "Drawing needs image data" not in " ".join(i.value for i in at.info)


def test_inspect_shows_feature_weights_for_a_table_and_no_digit_tabs():
    at = page("inspect")
    at.selectbox(key="cfg_data").set_value("csv").run()
    at.button(key="csv_example_iris").click().run()
    at.session_state["inspect_model"] = "session"
    at.run()
    assert not at.exception
    assert "not images" in main_text(at)
    assert [t.label for t in at.tabs] == [":material/grid_view: First-layer weights",
                                         ":material/monitoring: Training dynamics"]
    fig = at.get("plotly_chart")[0].proto.spec
    assert "petal_length" in fig and "sepal_width" in fig

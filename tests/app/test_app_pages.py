"""AppTest (headless Streamlit) tests of each page on its own and of the router.

AppTest does not drive a browser: widgets are set through the test API, the drawable canvas shows
up as an UnknownElement and a drawing is injected through its session-state value.
"""
from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nncore.studio import data as D
from nncore.studio import run as R
from nncore.studio import spec
from pages.ui import data as ui_data
from pages.ui.state import Studio

TIMEOUT = 60
ROOT = Path(__file__).resolve().parents[2]


def _path(p: str) -> str:
    return str(ROOT / p)


def page(path: str, studio: Studio | None = None, **state) -> AppTest:
    """Run ``path`` with ``studio`` and ``state`` in session state; training runs as fast as possible
    (the Train page's speed control) unless ``state`` says otherwise."""
    state.setdefault("_kept_train_speed", "as fast as possible")
    at = AppTest.from_file(_path(path), default_timeout=TIMEOUT)
    if studio is not None:
        at.session_state["studio"] = studio
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def summary_line(at: AppTest) -> str:
    lines = [m.value for m in at.sidebar.markdown if "parameters" in str(m.value)]
    assert lines, "no summary line in the sidebar"
    return lines[0]


def studio_of(at: AppTest) -> Studio:
    return at.session_state["studio"]


def wait_for(pred, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def long_training(at: AppTest) -> AppTest:
    """Settings whose run no machine finishes during a test: 100 epochs of 54,000 one-digit
    batches (5.4 million weight updates). The test stops it itself."""
    at.select_slider(key="cfg_n_samples").set_value(60_000).run()
    at.selectbox(key="cfg_batch").set_value(1).run()
    at.number_input(key="cfg_epochs").set_value(100).run()
    return at


def wait_run(at: AppTest, timeout: float = 60) -> None:
    s = studio_of(at)
    assert s.run is not None, "training did not start"
    assert s.run.join(timeout), "training did not finish in time"


def mnist_config(hidden, **kw) -> dict:
    """A dense network on MNIST as the sidebar describes it (raw uint8 images, scaled per batch)."""
    from nncore import datasets

    ds = datasets.get("mnist")
    settings = dict(output_activation="softmax", loss="cse", optimizer="adam", lr=1e-3, seed=0)
    settings.update(kw)
    return spec.dense_config(input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs,
                             hidden=hidden, **settings)


@pytest.fixture(scope="module")
def trained():
    """A small model trained for real on MNIST (a couple of seconds)."""
    from nncore import datasets

    model = spec.build(mnist_config([spec.HiddenLayer(64, "relu")], lr=7e-4))
    split = D.training_split(datasets.get("mnist"), 6000, 0.1, seed=0)
    model.train(split.x, split.y, epochs=2, batch_size=64, verbose=0)
    return model


def trained_studio(trained) -> Studio:
    s = Studio()
    s.set_model(trained.copy(), "trained by the test")
    return s


# ------------------------------------------------------------------ every page runs
@pytest.mark.parametrize("path", ["app.py", "pages/home.py", "pages/train.py", "pages/draw.py"])
def test_page_runs_without_exception(path):
    at = page(path)
    no_exception(at)
    assert "784-128-64-10" in summary_line(at)


def test_home_has_quick_start_and_mnist_credit():
    at = page("pages/home.py")
    t = texts(at)
    assert "Quick start" in [h.value for h in at.subheader]
    for name in ("Yann LeCun", "Corinna Cortes", "Christopher J.C. Burges", "Attribution-Share Alike 3.0"):
        assert name in t


def test_every_sidebar_widget_has_a_tooltip():
    at = page("pages/train.py")
    widgets = [*at.sidebar.number_input, *at.sidebar.selectbox, *at.sidebar.slider,
               *at.sidebar.select_slider, *at.sidebar.button]
    assert len(widgets) >= 12
    for w in widgets:
        assert w.help, f"widget {w.label!r} ({w.key}) has no tooltip"
    for b in at.main.button:
        assert b.help, f"button {b.label!r} has no tooltip"


# ------------------------------------------------------------------ sidebar edits
def test_sidebar_edits_change_the_summary():
    at = page("pages/train.py")
    before = summary_line(at)
    assert "109,386 parameters" in before
    at.number_input(key="cfg_L0_n").set_value(256).run()
    no_exception(at)
    after = summary_line(at)
    assert "784-256-64-10" in after and "218,058 parameters" in after
    # the untrained model follows the sidebar; the main summary too
    assert studio_of(at).model.total_parameters == 218_058
    df = at.main.dataframe[0].value
    assert list(df["Output shape"]) == ["(784,)", "(256,)", "(64,)", "(10,)"]  # Flatten, Dense 1, Dense 2, Output
    assert list(df["Layer"]) == ["Flatten 1", "Dense 1", "Dense 2", "Output"]


def test_add_and_remove_hidden_layers():
    at = page("pages/train.py")
    at.selectbox(key="cfg_L1_act").set_value("sigmoid").run()
    add = [b for b in at.sidebar.button if b.label == "Add hidden layer"][0]
    add.click().run()
    assert "784-128-64-64-10" in summary_line(at)  # a layer like the last one: same width and activation
    assert at.session_state["cfg_L2_act"] == "sigmoid"
    at.sidebar.button(key="rm_L0").click().run()
    assert "784-64-64-10" in summary_line(at)
    at.sidebar.button(key="rm_L1").click().run()
    at.sidebar.button(key="rm_L2").click().run()
    no_exception(at)
    assert "784-10" in summary_line(at)
    assert "linear classifier" in texts(at)


def test_dropout_adds_a_row_to_the_summary():
    at = page("pages/train.py")
    at.selectbox(key="cfg_L0_drop").set_value(0.2).run()
    df = at.sidebar.table[0].value
    assert any("Dropout" in str(v) for v in df["Layer"])


def test_cse_with_non_softmax_output_is_explained_and_start_disabled():
    at = page("pages/train.py")
    at.selectbox(key="cfg_out_act").set_value("sigmoid").run()
    no_exception(at)
    errs = [e.value for e in at.sidebar.error]
    assert any("softmax" in e and "Cross-entropy" in e for e in errs), errs
    assert not any("ten outputs" in e for e in errs)  # the engine's rule, not a copy of it
    assert at.button(key="btn_start").disabled and at.button(key="btn_plus1").disabled
    # no model is silently replaced by an invalid one; mse makes it valid again
    at.selectbox(key="cfg_loss").set_value("mse").run()
    assert not at.sidebar.error
    assert "784-128-64-10" in summary_line(at)


def test_batch_larger_than_training_set_is_explained_and_start_disabled():
    at = page("pages/train.py")
    at.select_slider(key="cfg_n_samples").set_value(1000).run()
    at.selectbox(key="cfg_batch").set_value(2048).run()
    no_exception(at)
    assert any("larger than the training set" in e.value for e in at.sidebar.error)
    assert at.button(key="btn_start").disabled
    assert at.button(key="btn_plus1").disabled


def test_momentum_only_for_sgd():
    at = page("pages/train.py")
    assert not [s for s in at.sidebar.slider if s.key == "cfg_mr"]
    at.selectbox(key="cfg_opt").set_value("sgd").run()
    assert [s for s in at.sidebar.slider if s.key == "cfg_mr"]
    assert "784-128-64-10" in summary_line(at)


def test_switching_optimizer_offers_its_typical_learning_rate():
    from nncore.optimizers import OPTIMIZERS

    at = page("pages/train.py")
    for name in ("sgd", "adadelta", "adam"):
        at.selectbox(key="cfg_opt").set_value(name).run()
        no_exception(at)
        assert at.selectbox(key="cfg_lr").value == OPTIMIZERS[name].typical_lr
        assert studio_of(at).model.lr == OPTIMIZERS[name].typical_lr  # the untrained model follows


def test_optimizer_settings_apply_to_the_trained_model_without_rebuilding(trained):
    s = trained_studio(trained)
    at = page("pages/train.py", studio=s)
    model = s.model
    weights = model.get_weights()
    at.sidebar.button(key="rm_L0").click().run()  # the sidebar now describes the model's layers: 784-64-10
    assert not [b for b in at.sidebar.button if b.label == "Build new model"]
    at.selectbox(key="cfg_lr").set_value(0.003).run()
    no_exception(at)
    assert studio_of(at).model is model and model.lr == 0.003
    at.selectbox(key="cfg_opt").set_value("sgd").run()
    at.slider(key="cfg_mr").set_value(0.5).run()
    no_exception(at)
    assert studio_of(at).model is model and model.optimizer.name == "sgd"
    assert model.lr == 0.05 and model.mr == 0.5 and model.epoch == 2
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # the weights stay
    assert not any("different network" in i.value for i in at.main.info)


# ------------------------------------------------------------------ training through the page
def small_training(at: AppTest, epochs: int = 1) -> AppTest:
    at.select_slider(key="cfg_n_samples").set_value(2000).run()
    at.number_input(key="cfg_epochs").set_value(epochs).run()
    at.number_input(key="cfg_L0_n").set_value(32).run()
    return at


def test_start_trains_and_shows_results_and_download():
    at = small_training(page("pages/train.py"), epochs=1)
    at.button(key="btn_start").click().run()
    no_exception(at)
    wait_run(at)
    at.run()
    no_exception(at)
    s = studio_of(at)
    assert s.run.state == R.FINISHED
    assert s.epochs_trained == 1
    labels = [m.label for m in at.metric]
    assert "Test accuracy" in labels and "Test loss" in labels
    acc = [m.value for m in at.metric if m.label == "Test accuracy"][0]
    assert float(acc.rstrip("%")) > 20  # above chance after 14 batches
    assert "Most confident mistakes" in texts(at)
    assert [m.value for m in at.metric if m.label == "Epochs trained"] == ["1"]
    # +1 epoch continues the same model
    at.button(key="btn_plus1").click().run()
    wait_run(at)
    at.run()
    assert studio_of(at).epochs_trained == 2
    assert studio_of(at).model is s.model


def test_pause_resume_stop_from_the_page():
    at = long_training(page("pages/train.py"))
    at.button(key="btn_start").click().run()
    s = studio_of(at)
    try:
        assert s.run.state == R.RUNNING and s.run.batches_per_epoch == 54_000
        at.button(key="btn_pause").click().run()
        assert s.run.state == R.PAUSED
        assert at.button(key="btn_pause").label == "Resume"
        step = s.run.progress().step
        time.sleep(0.5)  # a window in which a paused run must not move
        # only the batch in flight when Pause was pressed may still complete
        assert step <= s.run.progress().step <= step + 1, "training continued while paused"
        at.button(key="btn_pause").click().run()
        assert s.run.state == R.RUNNING
        assert wait_for(lambda: s.run.progress().step > step + 1), "training did not continue after Resume"
        at.button(key="btn_stop").click().run()
        assert s.run.join(10)
        at.run()
        no_exception(at)
        assert s.run.state == R.STOPPED
        assert any("kept" in i.value for i in at.info)
        assert s.has_learned
    finally:
        if s.run is not None:
            s.run.stop()
            s.run.join(10)


def test_learning_rate_changes_apply_while_training():
    at = long_training(page("pages/train.py"))
    at.button(key="btn_start").click().run()
    s = studio_of(at)
    model = s.model
    try:
        assert s.run.state == R.RUNNING
        at.selectbox(key="cfg_lr").set_value(0.003).run()
        no_exception(at)
        assert wait_for(lambda: model.lr == 0.003), "the new learning rate was not applied"
        assert studio_of(at).model is model and s.run.active  # same model, same run
        assert wait_for(lambda: 0.003 in model.batch_history["lr"][-5:])  # batches train with it
        at.selectbox(key="cfg_opt").set_value("sgd").run()  # another optimizer waits for the run to end
        assert any("applies when this run ends" in c.value for c in at.sidebar.caption)
        assert model.optimizer.name == "adam"
        at.button(key="btn_stop").click().run()
        assert s.run.join(10)
        at.run()
        assert model.optimizer.name == "sgd" and studio_of(at).model is model
    finally:
        if s.run is not None:
            s.run.stop()
            s.run.join(10)


def test_divergence_shows_advice_and_keeps_finite_weights():
    at = page("pages/train.py")
    at.select_slider(key="cfg_n_samples").set_value(2000).run()
    at.selectbox(key="cfg_opt").set_value("sgd").run()
    at.selectbox(key="cfg_L0_act").set_value("leaky_relu").run()
    at.selectbox(key="cfg_L1_act").set_value("leaky_relu").run()
    at.selectbox(key="cfg_lr").set_value(1.0).run()
    at.slider(key="cfg_mr").set_value(0.99).run()
    at.number_input(key="cfg_epochs").set_value(5).run()
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    no_exception(at)
    s = studio_of(at)
    assert s.run.state == R.DIVERGED, s.run.progress().message
    errs = " ".join(e.value for e in at.error)
    assert "diverged" in errs and "lower learning rate" in errs
    probs = s.model.predict(ui_data.dataset().x_test[:2])
    assert np.all(np.isfinite(probs))


def test_trained_model_is_not_replaced_without_confirmation(trained):
    s = trained_studio(trained)
    at = page("pages/train.py", studio=s)
    old = s.model
    # the sidebar shows the default 784-128-64-10, the model is 784-64-10: nothing is replaced
    assert studio_of(at).model is old
    assert any("differ" in i.value for i in at.sidebar.info)
    build = [b for b in at.sidebar.button if b.label == "Build new model"][0]
    build.click().run()
    assert studio_of(at).model is old
    # the confirmation is in the sidebar where the button was, and says what happens to the model
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "replaces your current model (784-64-10, trained 2 epochs)" in warning
    assert "not on the Runs page" in warning and "discard" not in warning
    assert not [b for b in at.sidebar.button if b.label == "Build new model"]
    at.sidebar.button(key="build_cancel").click().run()
    assert studio_of(at).model is old
    build = [b for b in at.sidebar.button if b.label == "Build new model"][0]
    build.click().run()
    at.sidebar.button(key="build_confirm").click().run()
    no_exception(at)
    new = studio_of(at).model
    assert new is not old and new.epoch == 0
    assert new.total_parameters == 109_386


def test_a_model_on_the_runs_page_is_said_to_stay_there(trained):
    s = trained_studio(trained)
    s.runs.record(s.model, settings={})
    at = page("pages/train.py", studio=s)
    [b for b in at.sidebar.button if b.label == "Build new model"][0].click().run()
    assert any("stays on the Runs page" in w.value for w in at.sidebar.warning)


def test_a_run_that_just_ended_is_on_the_runs_page_before_a_rebuild():
    at = small_training(page("pages/train.py"))
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    s = studio_of(at)
    assert len(s.runs) == 1 and s.runs.find_live(s.model) is not None  # recorded when it ended
    at.number_input(key="cfg_L0_n").set_value(16).run()
    [b for b in at.sidebar.button if b.label == "Build new model"][0].click().run()
    assert any("stays on the Runs page" in w.value for w in at.sidebar.warning)


def test_reset_asks_first(trained):
    s = trained_studio(trained)
    at = page("pages/train.py", studio=s)
    at.button(key="btn_reset").click().run()
    assert studio_of(at).model.epoch == 2
    assert any("Reset replaces what the model has learned" in w.value for w in at.warning)
    at.button(key="btn_reset_yes").click().run()
    no_exception(at)
    m = studio_of(at).model
    assert m.epoch == 0 and m.total_parameters == trained.total_parameters
    assert "784-64-10" in summary_line(at)  # the sidebar follows the reset architecture
    at.run()
    assert studio_of(at).model is m


def test_upload_broken_file_shows_error_and_keeps_model(trained):
    s = trained_studio(trained)
    at = page("pages/train.py", studio=s)
    old = s.model
    at.file_uploader(key="model_upload").upload("broken.json", b'{"format": "nncore.model", "lay', "application/json")
    at.run()
    no_exception(at)
    errs = " ".join(e.value for e in at.error)
    assert "broken.json" in errs and "could not be loaded" in errs and "unchanged" in errs
    assert studio_of(at).model is old


def test_upload_valid_file_loads_it_and_updates_sidebar(trained):
    at = page("pages/train.py")
    at.file_uploader(key="model_upload").upload("mine.json", trained.to_json().encode(), "application/json")
    at.run()
    no_exception(at)
    s = studio_of(at)
    assert s.model.epoch == 2
    assert "mine.json" in s.source
    assert "784-64-10" in summary_line(at)  # the sidebar now describes the loaded model
    assert at.selectbox(key="cfg_lr").value == 7e-4  # its learning rate exactly, not a preset
    assert any("Loaded" in x.value for x in at.success)
    assert not any("different network" in i.value for i in at.main.info)
    assert [m.label for m in at.metric if m.label == "Test accuracy"]
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Train loss (batch)"] != "–" and tiles["Train accuracy (batch)"] != "–"  # from its record
    assert tiles["Validation accuracy"] == "–"  # it was trained without validation data
    at.run()
    assert studio_of(at).model is s.model and s.model.lr == 7e-4  # nothing re-applied


def test_upload_a_format_1_model_like_the_pretrained_one(trained, tmp_path):
    from nncore import FFL, NN

    v1 = NN(seed=0)  # the classic design: FFL(784) first, no input transform
    v1.add(FFL(784, 16, activation="relu"))
    v1.add(FFL(neurons=10, activation="softmax"))
    v1.compile_model(lr=0.01, opt="sgd", loss="cse", mr=0.9, metrics=["accuracy"])
    at = page("pages/train.py")
    at.file_uploader(key="model_upload").upload("v1.json", v1.to_json().encode(), "application/json")
    at.run()
    no_exception(at)
    s = studio_of(at)
    assert "784-16-10" in summary_line(at)
    assert not any("different network" in i.value for i in at.main.info)
    assert s.model.predict(ui_data.dataset().x_test[:2]).shape == (2, 10)  # reads raw images now
    assert at.session_state["cfg_mr"] == 0.9 and at.session_state["cfg_opt"] == "sgd"


def test_upload_wrong_shape_model_is_refused():
    other = spec.build(spec.dense_config(input_shape=(20,), transform=None, outputs=3,
                                         hidden=[spec.HiddenLayer(4)], output_activation="softmax", loss="cse",
                                         optimizer="adam", lr=1e-3))
    at = page("pages/train.py")
    at.file_uploader(key="model_upload").upload("iris.json", other.to_json().encode(), "application/json")
    at.run()
    errs = " ".join(e.value for e in at.error)
    assert "784 inputs" in errs and "20 inputs" in errs


def test_a_run_that_does_not_learn_shows_the_diagnosis(trained):
    s = trained_studio(trained)
    sentence = "The loss has grown to 40, 17× its starting value of 2.3: training is blowing up."
    s.model.diagnosis = lambda: sentence  # the engine's verdict, as if this run had died
    at = small_training(page("pages/train.py", studio=s))
    at.sidebar.button(key="rm_L0").click().run()
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    no_exception(at)
    assert s.run.state == R.FAILED
    warnings = " ".join(w.value for w in at.main.warning)
    assert sentence in warnings and "not learning" in warnings
    assert "Finished, not learning" in at.main.get("progress")[0].proto.text
    assert any("not learning" in c.value for c in at.sidebar.caption)  # the status line says so too


def test_the_readmes_dying_network_is_not_reported_as_finished():
    at = page("pages/train.py")
    at.select_slider(key="cfg_n_samples").set_value(2000).run()
    at.selectbox(key="cfg_opt").set_value("sgd").run()
    at.selectbox(key="cfg_lr").set_value(1.0).run()
    at.slider(key="cfg_mr").set_value(0.9).run()
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    no_exception(at)
    s = studio_of(at)
    assert s.run.state == R.FAILED, s.run.progress().message
    warning = " ".join(w.value for w in at.main.warning)
    assert "not learning" in warning and "learning rate" in warning
    assert "Finished ·" not in at.main.get("progress")[0].proto.text


def test_the_sidebar_status_line_is_current():
    at = small_training(page("pages/train.py"))
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    lines = [c.value for c in at.sidebar.caption if "Training" in c.value]
    assert lines and "finished: 1 of 1 epochs" in lines[0], lines


# ------------------------------------------------------------------ draw page
def rgba_from_digit(img28: np.ndarray, size: int = 280) -> np.ndarray:
    im = Image.fromarray(img28.astype(np.uint8), "L").resize((size, size), Image.BILINEAR)
    a = np.asarray(im)
    return np.dstack([a, a, a, np.full_like(a, 255)])


def canvas_value(rgba: np.ndarray) -> dict:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return {"drawing": {"raw": {"objects": [{"type": "path"}], "background": "#000000"}, "data": url},
            "backgroundFit": None}


def prediction(at: AppTest) -> str | None:
    vals = [m.value for m in at.metric if m.label == "Prediction"]
    return vals[0] if vals else None


def test_draw_without_any_model_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(ui_data, "PRETRAINED_PATH", tmp_path / "missing.json")
    monkeypatch.setattr(ui_data, "PRETRAINED_CNN_PATH", tmp_path / "missing_cnn.json")
    at = AppTest.from_file(_path("pages/draw.py"), default_timeout=TIMEOUT)
    at.session_state["studio"] = Studio()  # the page builds an untrained default model
    at.run()
    no_exception(at)
    # an untrained model can still be chosen, but it says it will guess
    radio = at.radio(key="draw_model")
    assert radio.options == ["Your model"]
    assert any("untrained" in c.value and "it will guess" in c.value for c in at.caption)


def test_draw_empty_canvas_says_draw_a_digit(trained):
    at = page("pages/draw.py", studio=trained_studio(trained))
    no_exception(at)
    assert prediction(at) == "–"
    assert any("Draw a digit" in i.value for i in at.info)
    assert not at.error


def test_draw_injected_digit_is_predicted(trained):
    from nncore.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    probs = trained.predict(x_test[:200])
    ok = np.flatnonzero((probs.argmax(1) == y_test[:200]) & (probs.max(1) > 0.95))
    i = int(ok[0])
    at = page("pages/draw.py", studio=trained_studio(trained))
    at.session_state["canvas_0"] = canvas_value(rgba_from_digit(x_test[i]))
    at.run()
    no_exception(at)
    assert prediction(at) == str(int(y_test[i]))
    m = [m for m in at.metric if m.label == "Prediction"][0]
    assert "confidence" in m.proto.delta
    assert at.radio(key="draw_model").value == "session"


def test_draw_clear_button_empties_the_canvas(trained):
    at = page("pages/draw.py", studio=trained_studio(trained))
    at.session_state["canvas_0"] = canvas_value(rgba_from_digit(np.pad(np.full((20, 6), 255), 4)[:28, :28]))
    at.run()
    assert prediction(at) != "–"
    at.button(key="clear_canvas").click().run()
    no_exception(at)
    assert prediction(at) == "–"


def test_draw_uses_pretrained_when_shipped(trained, monkeypatch, tmp_path):
    path = tmp_path / "mnist_mlp.json"
    path.write_text(trained.to_json())
    monkeypatch.setattr(ui_data, "PRETRAINED_PATH", path)
    monkeypatch.setattr(ui_data, "PRETRAINED_CNN_PATH", tmp_path / "missing_cnn.json")
    at = page("pages/draw.py", studio=Studio())
    no_exception(at)
    radio = at.radio(key="draw_model")
    assert radio.value == "mlp"
    assert radio.options == ["Pretrained MLP", "Your model"]
    # without the CNN the page says so and names the MLP's test accuracy
    caps = "\n".join(c.value for c in at.caption)
    assert "missing_cnn.json is missing" in caps and "Using the pretrained MLP instead" in caps
    acc = trained.evaluate(ui_data.dataset().x_test, ui_data.dataset().y_test)["accuracy"]
    assert f"Pretrained MLP, {100 * acc:.2f} % on MNIST's test set" in caps


def test_the_shipped_format_1_pretrained_model_reads_a_drawing():
    from nncore.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    at = page("pages/draw.py", studio=Studio(), draw_model="mlp")
    at.session_state["canvas_0"] = canvas_value(rgba_from_digit(x_test[0]))
    at.run()
    no_exception(at)
    assert at.radio(key="draw_model").value == "mlp"
    assert prediction(at) == str(int(y_test[0]))


def test_draw_while_training_uses_a_snapshot(trained):
    s = trained_studio(trained)
    at = long_training(page("pages/train.py", studio=s))
    at.button(key="btn_start").click().run()
    try:
        assert s.run.state == R.RUNNING
        d = AppTest.from_file(_path("pages/draw.py"), default_timeout=TIMEOUT)
        d.session_state["studio"] = s
        d.session_state["canvas_0"] = canvas_value(rgba_from_digit(np.pad(np.full((20, 6), 255), 4)[:28, :28]))
        d.run()
        no_exception(d)
        assert d.radio(key="draw_model").value == "session"
        assert any("training now" in c.value for c in d.caption)
        assert any("updates as it learns" in c.value for c in d.caption)
        assert prediction(d) not in (None, "–")
    finally:
        if s.run is not None:
            s.run.stop()
            s.run.join(10)


# ------------------------------------------------------------------ router
def test_router_keeps_sidebar_values_across_pages():
    at = AppTest.from_file(_path("app.py"), default_timeout=TIMEOUT).run()
    no_exception(at)
    at.number_input(key="cfg_L0_n").set_value(200).run()
    at.switch_page("pages/train.py").run()
    no_exception(at)
    assert "784-200-64-10" in summary_line(at)
    assert at.button(key="btn_start")
    at.switch_page("pages/draw.py").run()
    no_exception(at)
    assert "784-200-64-10" in summary_line(at)


# ------------------------------------------------------------------ wording
def test_progress_wording_agrees_everywhere():
    from pages.ui import format as F

    stopped = R.Progress(state=R.STOPPED, run_epochs=5, run_epochs_done=1, batch=37, batches_per_epoch=100,
                         message=R.stop_message(1, 5, 37, 100))
    assert "Epoch 2/5 · batch 37/100" in F.progress_text(stopped)
    assert "during epoch 2 of 5, after 37 of 100 batches" in stopped.message
    assert "stopped in epoch 2 of 5" in F.status_line(stopped)
    running = R.Progress(state=R.RUNNING, run_epochs=5, run_epochs_done=2, batch=20, batches_per_epoch=100)
    assert "epoch 3 of 5, 44% done" in F.status_line(running)
    assert "Epoch 3/5 · batch 20/100" in F.progress_text(running)
    assert F.fmt_number(497768817.3) == "4.978e+08" and F.fmt_number(float("nan")) == "–"


def test_a_model_stopped_in_its_first_epoch_is_not_called_untrained(trained):
    from pages.ui import format as F

    m = trained.copy()
    m.epoch = 0
    m.history = {k: [] for k in m.history}
    assert "trained" in F.trained_text(m) and "untrained" not in F.trained_text(m)
    assert "part of epoch 1" in F.trained_text(m)
    fresh = spec.build(m.get_config())
    assert F.trained_text(fresh) == "untrained"

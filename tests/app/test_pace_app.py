"""AppTest of pace, Step and steering on the Train page, and of the Step page in the router.

No test races a run: a run under test is either paused (Pause, then ``wait_parked``) or advanced
one batch at a time with Step, which waits for its batch; long runs are long by construction.
"""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nncore.callbacks import EarlyStopping, LearningRateScheduler, ReduceLROnPlateau
from nncore.studio import run as R
from tests.app.test_app_pages import ROOT, long_training, no_exception, page, studio_of, texts, wait_run

WAIT = 60  # seconds: safety net only


def small(at: AppTest, epochs: int = 1, fast: bool = True) -> AppTest:
    at.select_slider(key="cfg_n_samples").set_value(2000).run()
    at.number_input(key="cfg_epochs").set_value(epochs).run()
    at.number_input(key="cfg_L0_n").set_value(32).run()
    if fast:
        at.select_slider(key="train_speed").set_value("as fast as possible").run()
    return at


def hold(at: AppTest) -> None:
    """Pause the session's run and wait until the worker is parked."""
    s = studio_of(at)
    at.button(key="btn_pause").click().run()
    assert s.run.state == R.PAUSED
    assert s.run.wait_parked(WAIT)


def test_step_moves_the_batch_counter_by_exactly_one():
    at = small(page("pages/train.py"), epochs=2)
    s = studio_of(at)
    assert not at.button(key="btn_step").disabled
    at.button(key="btn_step").click().run()
    no_exception(at)
    try:
        assert s.run.state == R.PAUSED
        p = s.run.progress()
        assert p.step == 1 and p.batch == 1 and p.run_epochs == 2
        assert "batch 1/15" in at.main.get("progress")[0].proto.text
        for n in (2, 3, 4):
            at.button(key="btn_step").click().run()
            assert s.run.progress().step == n and s.run.state == R.PAUSED
        assert len(s.model.batch_history["loss"]) == 4
        assert [m.value for m in at.metric if m.label == "Epochs trained"] == ["0"]
        assert at.button(key="btn_pause").label == "Resume" and not at.button(key="btn_step").disabled
    finally:
        s.run.stop()
        s.run.join(WAIT)


def test_the_default_pace_is_set_and_a_new_speed_reaches_the_running_run():
    at = long_training(AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=WAIT).run())
    assert at.select_slider(key="train_speed").value == "10 batches/s"
    at.button(key="btn_start").click().run()
    s = studio_of(at)
    try:
        assert s.run.pace == 10.0
        at.select_slider(key="train_speed").set_value("1 batch/s").run()
        assert s.run.pace == 1.0
        at.select_slider(key="train_speed").set_value("as fast as possible").run()
        assert s.run.pace is None and s.run.active
    finally:
        s.run.stop()
        s.run.join(WAIT)


def test_a_learning_rate_change_mid_run_is_marked_on_the_curves():
    at = long_training(page("pages/train.py"))
    at.button(key="btn_start").click().run()
    s = studio_of(at)
    model = s.model
    try:
        hold(at)
        before = s.run.progress().step
        assert not any(label.startswith("lr ") for label in at.session_state["_curve_marks"])
        at.selectbox(key="cfg_lr").set_value(0.003).run()  # queued: applies from the next batch
        at.button(key="btn_step").click().run()  # exactly one batch with the new rate
        no_exception(at)
        assert s.run.progress().step == before + 1 and s.run.state == R.PAUSED
        assert model.batch_history["lr"][-2:] == [0.001, 0.003]
        assert studio_of(at).model is model  # steered, not rebuilt
        marks = at.session_state["_curve_marks"]
        assert "lr 0.001 → 0.003" in marks
        assert any("learning rate changed" in str(c.value) for c in at.main.caption)
        # l2 too: a change is recorded by the engine per batch and marked
        at.selectbox(key="cfg_l2").set_value(0.001).run()
        at.button(key="btn_step").click().run()
        assert model.batch_history["l2"][-2:] == [0.0, 0.001]
        assert all(layer.l2 == 0.001 for layer in model.layers if layer.trainable)
        assert "l2 0 → 0.001" in at.session_state["_curve_marks"]
    finally:
        s.run.stop()
        s.run.join(WAIT)


def test_a_rate_set_by_the_schedule_is_not_undone_by_the_sidebar():
    at = small(page("pages/train.py"))
    model = studio_of(at).model
    model.set_hyperparameters(lr=0.0005)  # as a schedule would
    at.run()
    assert model.lr == 0.0005
    assert any("now trains with learning rate **0.0005**" in str(c.value) for c in at.sidebar.caption)
    at.selectbox(key="cfg_lr").set_value(0.003).run()  # the user's pick wins
    assert model.lr == 0.003


def test_schedule_and_early_stopping_reach_the_models_callbacks_and_history():
    at = small(page("pages/train.py"), epochs=3)
    at.selectbox(key="cfg_schedule").set_value("exponential").run()
    at.selectbox(key="cfg_patience").set_value(2).run()
    assert not at.checkbox(key="cfg_restore").disabled
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    no_exception(at)
    s = studio_of(at)
    sched, stop = s.run.callbacks
    assert isinstance(sched, LearningRateScheduler) and isinstance(stop, EarlyStopping)
    assert stop.patience == 2 and stop.restore_best_weights and stop.monitor == "val_loss"
    assert stop.model is s.model and sched.model is s.model
    lr = s.model.history["lr"]
    assert lr == pytest.approx([0.001, 0.0008, 0.00064][: len(lr)]) and len(lr) >= 3 - 2
    assert "lr 0.001 → 0.0008" in at.session_state["_curve_marks"]
    assert any(m.startswith("best val loss · epoch") for m in at.session_state["_curve_marks"])
    # the plateau rule is a ReduceLROnPlateau on the validation loss; early stopping off: no EarlyStopping
    at.selectbox(key="cfg_schedule").set_value("plateau").run()
    at.selectbox(key="cfg_patience").set_value(0).run()
    assert at.checkbox(key="cfg_restore").disabled
    at.button(key="btn_plus1").click().run()
    wait_run(at)
    (plateau,) = s.run.callbacks
    assert isinstance(plateau, ReduceLROnPlateau) and plateau.monitor == "val_loss"


def test_early_stopping_restores_the_best_and_the_page_says_so():
    at = small(page("pages/train.py"), epochs=6)
    at.selectbox(key="cfg_patience").set_value(1).run()
    s = studio_of(at)
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    no_exception(at)
    stop = s.run.callbacks[0]
    p = s.run.progress()
    assert p.state == R.FINISHED
    if stop.stopped_epoch:  # it stopped early: the sentence says when and what was restored
        assert f"Stopped early after epoch {stop.stopped_epoch}" in p.message
    assert f"weights of epoch {stop.best_epoch}" in p.message and p.restored_epoch == stop.best_epoch
    assert f"best val loss · epoch {stop.best_epoch} · restored" in at.session_state["_curve_marks"]
    best = int(np.nanargmin(s.model.history["val_loss"])) + 1
    assert best == stop.best_epoch


def test_chart_controls_reach_the_figure():
    at = small(page("pages/train.py"))
    at.button(key="btn_start").click().run()
    wait_run(at)
    at.run()
    at.slider(key="curve_smoothing").set_value(0.0).run()
    at.toggle(key="curve_log").set_value(True).run()
    no_exception(at)
    assert at.session_state["_kept_curve_smoothing"] == 0.0 and at.session_state["_kept_curve_log"] is True


def test_the_step_page_is_in_the_router_and_walks_the_current_model():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=WAIT).run()
    no_exception(at)
    at.switch_page("pages/step.py").run()
    no_exception(at)
    assert at.title[0].value == "One step, every number"
    at.session_state["step_mode"] = "Your current model"
    at.run()
    no_exception(at)
    assert at.subheader[-1].value == "The batch"
    assert "4 samples drawn from the 9,000 training samples" in texts(at)
    model = studio_of(at).model
    weights = [w.copy() for w in model.get_weights()]
    for _ in range(12):  # to the update stage
        if at.button(key="step_current_next").disabled:
            break
        at.button(key="step_current_next").click().run()
        no_exception(at)
    assert at.subheader[-1].value.startswith("Update")
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # the model is unchanged

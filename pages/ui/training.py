"""Starting, stepping, pausing and stopping the session's training run (Train and Playground pages).

A run trains the session's model on the current data (:func:`pages.ui.data_picker.current`) with the
sidebar's settings, at the pace of the speed control (TrainingRun's own pace, batches per second).
The Train page's speeds are in batches per second; the Playground's in epochs per second, because
nncore learns its 2-D sets in a fraction of a second and an epoch is what changes the picture.
"""
from __future__ import annotations

import logging

import streamlit as st

from nncore.studio import data as D
from nncore.studio import run as R
from nncore.studio import run_callbacks as RC
from nncore.studio import spec

from . import data as ui_data
from . import data_picker, sessions
from .state import Studio, studio

log = logging.getLogger("nnstudio.training")

ABANDON_SECONDS = 600.0  # a run nobody has polled for 10 minutes (tab closed) stops itself
STEP_WAIT_SECONDS = 30.0  # Step and Pause wait this long at most for the batch before the page shows it

#: the Train page's speed control: name → batches per second (None: as fast as possible)
SPEEDS: dict[str, float | None] = {
    "1 batch/s": 1.0,
    "3 batches/s": 3.0,
    "10 batches/s": 10.0,
    "30 batches/s": 30.0,
    "as fast as possible": None,
}
#: the default pace: the default run (3 epochs of 71 batches) takes about 21 s on any machine
DEFAULT_SPEED = "10 batches/s"
TRAIN_SPEED_KEY = "_kept_train_speed"

#: the Playground's speed menu: name → epochs per second (None: full speed)
POINT_SPEEDS: dict[str, float | None] = {"slow motion (2 epochs/s)": 2.0, "watchable (10 epochs/s)": 10.0,
                                         "fast (50 epochs/s)": 50.0, "full speed": None}
POINT_DEFAULT_SPEED = "watchable (10 epochs/s)"
SPEED_KEY = "pg_speed"


def pace(choice: data_picker.DataChoice | None = None, batches_per_epoch: int | None = None) -> float | None:
    """Batches per second for a run on ``choice`` (the current data by default)."""
    choice = choice or data_picker.current()
    ss = st.session_state
    if choice.family == "points":
        eps = POINT_SPEEDS.get(ss.get(SPEED_KEY, POINT_DEFAULT_SPEED), POINT_SPEEDS[POINT_DEFAULT_SPEED])
        if eps is None:
            return None
        run = studio().run
        per_epoch = batches_per_epoch or (run.batches_per_epoch if run is not None else 1)
        return eps * per_epoch
    return SPEEDS.get(ss.get(TRAIN_SPEED_KEY, DEFAULT_SPEED), SPEEDS[DEFAULT_SPEED])


def speed_changed() -> None:
    """Callback of either speed control: applies at once, also to a run in progress (next batch)."""
    ss = st.session_state
    if "train_speed" in ss:
        ss[TRAIN_SPEED_KEY] = ss["train_speed"]
    run = studio().run
    if run is not None:
        run.set_pace(pace(batches_per_epoch=run.batches_per_epoch))


def prepare_run(s: Studio, settings: spec.TrainSettings, seed: int) -> bool:
    """Make sure the session's run trains the current model on the current data and settings."""
    choice = data_picker.current()
    key = (choice.key, settings.n_samples, settings.val_fraction, seed, settings.batch_size)
    if s.run is not None and s.run.model is s.model and s.run_key == key:
        s.run.set_pace(pace(choice, s.run.batches_per_epoch))
        return True
    try:
        split = ui_data.training_split(choice, settings.n_samples, settings.val_fraction, seed)
        s.run = R.TrainingRun(
            s.model, split.x, split.y,
            val_x=split.x_val if split.n_val else None, val_y=split.y_val if split.n_val else None,
            batch_size=settings.batch_size, abandon_after=ABANDON_SECONDS, **sessions.run_options(),
        )
        s.run.set_pace(pace(choice, s.run.batches_per_epoch))
        s.run_key = key
        return True
    except Exception as exc:
        log.exception("could not prepare training data")
        s.notify("error", f"Training could not start: {exc}")
        return False


def ready_to_train(s: Studio) -> spec.TrainSettings | None:
    """The sidebar's training settings when the current model can train now, else None (with a notice)."""
    from .sidebar import read_sidebar

    config, settings = read_sidebar()
    if s.model is None:
        s.notify("error", "There is no model to train yet. Fix the sidebar settings and build one.")
        return None
    choice = data_picker.current()
    why = D.mismatch(s.model, choice.dataset)
    if why:
        s.notify("error", f"Training did not start: your current model does not fit {choice.label}: {why}. Press "
                          "Build new model in the sidebar.")
        return None
    problems = {**spec.validate(config), **spec.validate_training(settings, choice.dataset.n_samples)}
    if problems:
        s.notify("error", "Training did not start: " + " ".join(problems.values()))
        return None
    if not s.model.compiled:
        s.notify("error", "This model has no training settings (optimizer and loss), so it can only "
                          "predict. Build a new model in the sidebar to train one.")
        return None
    if s.training_active:
        return None
    if not prepare_run(s, settings, int(st.session_state.get("cfg_seed", 0))):
        return None
    return settings


def _callbacks(s: Studio, settings: spec.TrainSettings, epochs: int) -> list:
    """Fresh schedule and early-stopping callbacks for a run of ``epochs`` epochs."""
    validation = s.run is not None and s.run.val_x is not None
    return RC.run_callbacks(settings, s.model, epochs, validation)


def start(epochs: int | None = None) -> None:
    """Button callback: train the session's model ``epochs`` (default: the sidebar's) more epochs."""
    s = studio()
    settings = ready_to_train(s)
    if settings is None:
        return
    epochs = int(epochs or settings.epochs)
    try:
        sessions.admit(s.run, s.run.pace)
        s.run.start(epochs, callbacks=_callbacks(s, settings, epochs))
        st.session_state["_train_seen_active"] = True
    except Exception as exc:
        s.notify("error", f"Training could not start: {exc}")


def step() -> None:
    """Train exactly one mini-batch and pause (a paused run continues by one batch; otherwise a new
    run of the sidebar's epochs starts, paused after its first batch). Waits for that batch, so the
    page shows it."""
    s = studio()
    run = s.run
    if run is not None and run.model is s.model and run.state == R.PAUSED:
        run.step()
    else:
        settings = ready_to_train(s)
        if settings is None:
            return
        try:
            sessions.admit(s.run, s.run.pace)
            s.run.step(settings.epochs, callbacks=_callbacks(s, settings, settings.epochs))
        except Exception as exc:
            s.notify("error", f"Training could not start: {exc}")
            return
    st.session_state["_train_seen_active"] = True
    s.run.wait_parked(STEP_WAIT_SECONDS)


def pause_resume() -> None:
    s = studio()
    if s.run is None:
        return
    if s.run.state == R.PAUSED:
        try:
            s.run.resume()
        except Exception as exc:  # e.g. another training of this session holds its slot
            s.notify("error", f"Training could not resume: {exc}")
    elif s.run.pause():
        s.run.wait_parked(STEP_WAIT_SECONDS)  # the page then shows the batch the run paused after


def stop() -> None:
    s = studio()
    if s.run is not None:
        s.run.stop()
        s.run.join(timeout=5)


#: the live panel polls a running run this often (seconds)
POLL_SECONDS = 1.0
#: a queued run's page polls less often: its place in the queue changes slowly, and on a busy server
#: every poll is a script run that competes with the trainings for the interpreter
QUEUED_POLL_SECONDS = 3.0


#: while trainings wait for a slot (a busy server), every page polls this much less often: each
#: poll is a script run on the server and a redraw in the browser, both taken from the trainings
BUSY_POLL_FACTOR = 2.5


def server_busy() -> bool:
    """True while some training waits for a slot."""
    from nncore.studio.resources import process_slots

    return process_slots().status().queued > 0


def poll_seconds(state: str, busy: bool | None = None) -> float | None:
    """How often a page's live panel polls a run in this state (None: it rests until something
    changes); ``busy`` (default: :func:`server_busy`) stretches the interval by BUSY_POLL_FACTOR."""
    seconds = {R.QUEUED: QUEUED_POLL_SECONDS, R.RUNNING: POLL_SECONDS, R.STOPPING: POLL_SECONDS}.get(state)
    if seconds is None:
        return None
    if busy is None:
        busy = server_busy()
    return seconds * BUSY_POLL_FACTOR if busy else seconds

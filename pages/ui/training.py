"""Starting, pausing and stopping the session's training run (the Train and Playground pages share them).

A run trains the session's model on the current data (:func:`pages.ui.data_picker.current`) with the
sidebar's settings. Runs on the Playground's 2-D points are a :class:`PacedRun`: nncore learns those
in a fraction of a second, so they are held to the Playground page's speed to be watchable.
"""
from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from nncore import playground as P
from nncore.studio import data as D
from nncore.studio import run as R
from nncore.studio import spec

from . import data as ui_data
from . import data_picker
from .state import Studio, studio

log = logging.getLogger("nnstudio.training")

ABANDON_SECONDS = 600.0  # a run nobody has polled for 10 minutes (tab closed) stops itself
SPEED_KEY = "pg_speed"
SPEEDS: dict[str, float | None] = {"slow motion (2 epochs/s)": 2.0, "watchable (10 epochs/s)": 10.0,
                                   "fast (50 epochs/s)": 50.0, "full speed": None}
DEFAULT_SPEED = "watchable (10 epochs/s)"


class PacedRun(R.TrainingRun):
    """A TrainingRun held to ``pace.epochs_per_second`` (nncore's Pace callback after every batch).

    Kept apart on purpose: it goes once TrainingRun has its own pace."""

    def __init__(self, *args: Any, epochs_per_second: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pace = P.Pace(epochs_per_second)

    def start(self, epochs: int) -> None:
        self.pace.reset()
        super().start(epochs)

    def _on_batch_end(self, logs: dict) -> None:
        super()._on_batch_end(logs)
        self.pace.on_batch_end(0, {"batches": self.batches_per_epoch, **logs})


def speed() -> float | None:
    """The session's pace for 2-D runs in epochs per second (None: full speed)."""
    return SPEEDS.get(st.session_state.get(SPEED_KEY, DEFAULT_SPEED), SPEEDS[DEFAULT_SPEED])


def speed_changed() -> None:
    """Callback of the speed menu: applies to the running run from its next batch."""
    run = studio().run
    if isinstance(run, PacedRun):
        run.pace.epochs_per_second = speed()


def prepare_run(s: Studio, settings: spec.TrainSettings, seed: int) -> bool:
    """Make sure the session's run trains the current model on the current data and settings."""
    choice = data_picker.current()
    key = (choice.key, settings.n_samples, settings.val_fraction, seed, settings.batch_size)
    if s.run is not None and s.run.model is s.model and s.run_key == key:
        if isinstance(s.run, PacedRun):
            s.run.pace.epochs_per_second = speed()
        return True
    try:
        split = ui_data.training_split(choice, settings.n_samples, settings.val_fraction, seed)
        paced = choice.family == "points"
        cls = PacedRun if paced else R.TrainingRun
        extra = {"epochs_per_second": speed()} if paced else {}
        s.run = cls(
            s.model, split.x, split.y,
            val_x=split.x_val if split.n_val else None, val_y=split.y_val if split.n_val else None,
            batch_size=settings.batch_size, abandon_after=ABANDON_SECONDS, **extra,
        )
        s.run_key = key
        return True
    except Exception as exc:
        log.exception("could not prepare training data")
        s.notify("error", f"Training could not start: {exc}")
        return False


def start(epochs: int | None = None) -> None:
    """Button callback: train the session's model ``epochs`` (default: the sidebar's) more epochs."""
    from .sidebar import read_sidebar

    s = studio()
    config, settings = read_sidebar()
    if s.model is None:
        s.notify("error", "There is no model to train yet. Fix the sidebar settings and build one.")
        return
    choice = data_picker.current()
    why = D.mismatch(s.model, choice.dataset)
    if why:
        s.notify("error", f"Training did not start: your current model does not fit {choice.label}: {why}. Press "
                          "Build new model in the sidebar.")
        return
    problems = {**spec.validate(config), **spec.validate_training(settings, choice.dataset.n_samples)}
    if problems:
        s.notify("error", "Training did not start: " + " ".join(problems.values()))
        return
    if not s.model.compiled:
        s.notify("error", "This model has no training settings (optimizer and loss), so it can only "
                          "predict. Build a new model in the sidebar to train one.")
        return
    if s.training_active:
        return
    if not prepare_run(s, settings, int(st.session_state.get("cfg_seed", 0))):
        return
    try:
        s.run.start(int(epochs or settings.epochs))
        st.session_state["_train_seen_active"] = True
    except Exception as exc:
        s.notify("error", f"Training could not start: {exc}")


def pause_resume() -> None:
    s = studio()
    if s.run is None:
        return
    if s.run.state == R.PAUSED:
        s.run.resume()
    else:
        s.run.pause()


def stop() -> None:
    s = studio()
    if s.run is not None:
        s.run.stop()
        s.run.join(timeout=5)

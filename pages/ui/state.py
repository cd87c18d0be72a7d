"""The per-session state: one :class:`Studio` object in ``st.session_state["studio"]``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from nncore.studio import run as R
from nncore.studio.runs import RunRegistry

log = logging.getLogger("nnstudio")


@dataclass
class Studio:
    """Everything one browser session owns."""

    model: Any = None
    source: str = ""  # human description of where the model came from
    from_file: bool = False  # loaded from a model file (worth keeping even without a record)
    run: R.TrainingRun | None = None
    run_key: tuple | None = None  # data and settings the run was made with (pages.ui.training.prepare_run)
    evaluation: Any = None  # the test-set Evaluation of the model's current weights
    evaluation_key: tuple | None = None
    notices: list[tuple[str, str, str]] = field(default_factory=list)  # (level, text, where) shown once
    confirm: str | None = None  # "build" / "reset" awaiting confirmation
    runs: RunRegistry = field(default_factory=RunRegistry)  # every training run of this session
    runs_seen: tuple | None = None  # the ended training run recorded last (record_finished_run)
    canvas: Any = None  # the Draw page's latest non-empty drawing (nncore.preprocess.CanvasInput)

    @property
    def training_active(self) -> bool:
        return self.run is not None and self.run.active

    @property
    def epochs_trained(self) -> int:
        return int(getattr(self.model, "epoch", 0) or 0) if self.model is not None else 0

    @property
    def has_learned(self) -> bool:
        """True when the model holds something worth keeping (trained here or loaded)."""
        if self.model is None:
            return False
        return self.from_file or self.epochs_trained > 0 or bool(self.model.batch_history.get("loss"))

    def progress(self) -> R.Progress:
        """The session's run reading, or the model's record when nothing was trained here."""
        if self.run is not None and self.run.model is self.model:
            return self.run.progress()
        return R.model_progress(self.model) if self.model is not None else R.Progress()

    def notify(self, level: str, text: str, where: str = "page") -> None:
        """Leave a message for the next render; ``where`` is "page", "sidebar" or "upload"."""
        self.notices.append((level, text, where))

    def set_model(self, model: Any, source: str, from_file: bool = False) -> None:
        record_finished_run(self)  # keep the outgoing model's last run in the Runs table
        self.model = model
        self.source = source
        self.from_file = from_file
        self.run = None
        self.run_key = None
        self.evaluation = None
        self.evaluation_key = None
        self.confirm = None


def studio() -> Studio:
    s = st.session_state.get("studio")
    if not isinstance(s, Studio):
        s = Studio()
        st.session_state["studio"] = s
    return s


def record_finished_run(s: Studio | None = None) -> None:
    """Add the session's ended training run to ``s.runs`` (or update its row). Idempotent: call it
    on any page run; it does nothing while training or when the run was recorded already."""
    s = s or studio()
    run = s.run
    if run is None or s.model is None or run.model is not s.model or run.active:
        return
    p = run.progress()
    if p.state not in R.TERMINAL_STATES or p.step == 0:
        return
    key = (id(run), p.step, p.epochs_done, p.state)
    if s.runs_seen == key:
        return
    s.runs_seen = key
    # run_key: (data key, n_samples, val_fraction, seed, batch_size), see pages.ui.training.prepare_run
    *data_key, n_samples, val_fraction, _seed, batch_size = s.run_key or (None, None, None, run.batch_size)
    from .data import evaluation

    try:
        ev = evaluation(s)
        s.runs.record(
            s.model,
            settings={"n_samples": n_samples, "val_fraction": val_fraction, "batch_size": batch_size,
                      **({"data": data_key[0][0]} if data_key and data_key[0] else {})},
            test=ev.metrics() if ev is not None else None, status=p.state, message=p.message,
        )
    except Exception:  # the Runs table must never break training or a page
        log.exception("could not record the training run")

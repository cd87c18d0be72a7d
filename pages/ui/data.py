"""Process-wide read-only caches (the dataset, training splits, the pretrained model) and the one
cached test-set evaluation per state of a session's model."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from nncore.studio import data as D
from nncore.studio.evaluation import Evaluation, evaluate

from .state import Studio

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED_PATH = ROOT / "models" / "mnist_mlp.json"
#: the dataset the studio trains on
DATASET = "mnist"


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=2)
def dataset(name: str = DATASET) -> Any:
    """The registered dataset ``name`` (nncore.datasets.Dataset), read-only, one per process."""
    from nncore import datasets

    return datasets.get(name)


@st.cache_resource(show_spinner="Preparing the training set…", max_entries=4)
def training_split(name: str, n_samples: int, val_fraction: float, seed: int) -> D.TrainingSplit:
    """The stratified subset and validation split, read-only arrays shared by every session."""
    return D.training_split(dataset(name), n_samples, val_fraction, seed)


@st.cache_resource(show_spinner="Loading the pretrained model…", max_entries=2)
def _pretrained(path: str) -> tuple[Any, str | None]:
    if not Path(path).is_file():
        return None, f"No pretrained model is shipped yet ({Path(path).name} is missing)."
    try:
        from nncore import load_model

        model = load_model(path)
    except Exception as exc:
        return None, f"The pretrained model could not be loaded: {exc}"
    D.fit_to_dataset(model, dataset())  # a format-1 model reads the dataset's raw samples too
    return model, None


def pretrained() -> tuple[Any, str | None]:
    """The shipped pretrained model (shared, treat as read-only) or (None, reason)."""
    return _pretrained(str(PRETRAINED_PATH))


def evaluation(s: Studio) -> Evaluation | None:
    """The session model's test-set evaluation, computed once per state of its weights."""
    m = s.model
    if m is None or s.training_active or not getattr(m, "compiled", False):
        return None
    key = (id(m), m.epoch, len(m.batch_history.get("loss", [])), m.loss.name)
    if s.evaluation is None or s.evaluation_key != key:
        ds = dataset()
        with st.spinner(f"Evaluating on the {ds.n_test:,} test samples…"):
            s.evaluation = evaluate(m, ds.x_test, ds.y_test, ds.n_classes)
        s.evaluation_key = key
    return s.evaluation

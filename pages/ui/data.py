"""Process-wide read-only caches (MNIST, the Playground sets, training splits, the pretrained model),
the session's current dataset, and the one cached test-set evaluation per state of a session's model.

The session chooses its data in the sidebar (:mod:`pages.ui.data_picker`): :func:`dataset` without a
name is that choice. Public data (MNIST, the generated Playground sets) is shared by every session;
an uploaded CSV table lives in its session's ``st.session_state`` only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from nncore.studio import data as D
from nncore.studio.evaluation import Evaluation, evaluate

from .state import Studio

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED_PATH = ROOT / "models" / "mnist_mlp.json"
#: the dataset a new session starts with (and the pretrained model's dataset)
DATASET = "mnist"


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=2)
def _registered(name: str) -> Any:
    from nncore import datasets

    return datasets.get(name)


@st.cache_resource(show_spinner=False, max_entries=64)
def playground(name: str, noise: float, seed: int, features: tuple[str, ...]) -> Any:
    """A Playground set (public, generated, small), read-only, one per process and settings."""
    from nncore import datasets

    return datasets.get(name, noise=noise, seed=seed, features=features)


def dataset(name: str | None = None) -> Any:
    """The registered dataset ``name`` (read-only, one per process), or without a name the data this
    session trains on (chosen in the sidebar; MNIST outside a session)."""
    if name is not None:
        return _registered(name)
    from .data_picker import current

    return current().dataset


@st.cache_resource(show_spinner="Preparing the training set…", max_entries=8)
def _shared_split(key: tuple, _dataset: Any, n_samples: int, val_fraction: float, seed: int) -> D.TrainingSplit:
    return D.training_split(_dataset, n_samples, val_fraction, seed)


def training_split(name: Any, n_samples: int, val_fraction: float, seed: int) -> D.TrainingSplit:
    """The stratified subset and validation split, read-only arrays. ``name``: a registered dataset's
    name, or a :class:`~pages.ui.data_picker.DataChoice` (shared for public data; an uploaded table's
    split is made for its session and kept there)."""
    if isinstance(name, str):
        return _shared_split((name,), _registered(name), n_samples, val_fraction, seed)
    choice = name
    if choice.shared:
        return _shared_split(choice.key, choice.dataset, n_samples, val_fraction, seed)
    key = (choice.key, n_samples, val_fraction, seed)
    held = st.session_state.get("_session_split")
    if not held or held[0] != key:
        held = (key, D.training_split(choice.dataset, n_samples, val_fraction, seed))
        st.session_state["_session_split"] = held
    return held[1]


@st.cache_resource(show_spinner="Loading the pretrained model…", max_entries=2)
def _pretrained(path: str) -> tuple[Any, str | None]:
    if not Path(path).is_file():
        return None, f"No pretrained model is shipped yet ({Path(path).name} is missing)."
    try:
        from nncore import load_model

        model = load_model(path)
    except Exception as exc:
        return None, f"The pretrained model could not be loaded: {exc}"
    D.fit_to_dataset(model, dataset(DATASET))  # a format-1 model reads the dataset's raw samples too
    return model, None


def pretrained() -> tuple[Any, str | None]:
    """The shipped pretrained MNIST model (shared, treat as read-only) or (None, reason)."""
    return _pretrained(str(PRETRAINED_PATH))


def evaluation(s: Studio) -> Evaluation | None:
    """The session model's evaluation on the current data's test set, computed once per state of its
    weights and data. None while training, without a test set, or when the model does not fit the data."""
    from .data_picker import current

    m = s.model
    if m is None or s.training_active or not getattr(m, "compiled", False):
        return None
    choice = current()
    ds = choice.dataset
    if ds.x_test is None or D.mismatch(m, ds) is not None:
        return None
    key = (id(m), m.epoch, len(m.batch_history.get("loss", [])), m.loss.name, choice.key)
    if s.evaluation is None or s.evaluation_key != key:
        with st.spinner(f"Evaluating on the {ds.n_test:,} test samples…"):
            s.evaluation = evaluate(m, ds.x_test, ds.y_test, ds.n_classes)
        s.evaluation_key = key
    return s.evaluation

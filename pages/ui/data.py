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
#: the shipped pretrained models: a dense network (MLP) and a convolutional one (CNN, the default)
PRETRAINED_PATH = ROOT / "models" / "mnist_mlp.json"
PRETRAINED_CNN_PATH = ROOT / "models" / "mnist_cnn.json"
PRETRAINED_LABELS = {"cnn": "Pretrained CNN", "mlp": "Pretrained MLP"}
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


@st.cache_resource(show_spinner="Loading the pretrained model…", max_entries=4)
def _pretrained(path: str, stamp: float | None = None) -> tuple[Any, str | None]:
    if not Path(path).is_file():
        return None, f"No pretrained model is shipped yet ({Path(path).name} is missing)."
    try:
        from nncore import load_model

        model = load_model(path)
    except Exception as exc:
        return None, f"The pretrained model could not be loaded: {exc}"
    D.fit_to_dataset(model, dataset(DATASET))  # a format-1 model reads the dataset's raw samples too
    return model, None


def _path_of(kind: str) -> Path:
    return PRETRAINED_CNN_PATH if kind == "cnn" else PRETRAINED_PATH


def _stamp(path: Path) -> float | None:
    """The file's modification time (a rebuilt file is loaded again), None when it is missing."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def pretrained(kind: str = "default") -> tuple[Any, str | None]:
    """A shipped pretrained model (shared, treat as read-only) or (None, reason).

    ``kind``: "cnn", "mlp", or "default": the CNN when it loads, else the MLP with a sentence
    saying why (the reason is then not None although a model is returned)."""
    if kind == "default":
        cnn, why = pretrained("cnn")
        if cnn is not None:
            return cnn, None
        mlp, why_mlp = pretrained("mlp")
        if mlp is None:
            return None, why_mlp
        return mlp, f"{why} Using the pretrained MLP instead."
    path = _path_of(kind)
    return _pretrained(str(path), _stamp(path))


def pretrained_choices() -> dict[str, str]:
    """The pretrained models that load: key ("cnn", "mlp") → its stable label, the CNN first."""
    return {k: label for k, label in PRETRAINED_LABELS.items() if pretrained(k)[0] is not None}


@st.cache_resource(show_spinner="Measuring the pretrained model on the test set…", max_entries=4)
def _test_accuracy(path: str, stamp: float | None) -> float | None:
    model, _ = _pretrained(path, stamp)
    if model is None:
        return None
    ds = dataset(DATASET)
    return float(model.evaluate(ds.x_test, ds.y_test)["accuracy"])


def pretrained_accuracy(kind: str) -> float | None:
    """Test-set accuracy of the pretrained model ``kind`` ("cnn", "mlp"), measured once per process."""
    path = _path_of(kind)
    return _test_accuracy(str(path), _stamp(path))


def pretrained_text(kind: str) -> str:
    """E.g. "Pretrained CNN, 99.41 % on MNIST's test set"."""
    acc = pretrained_accuracy(kind)
    label = PRETRAINED_LABELS.get(kind, kind)
    name = DATASET.upper() if DATASET == "mnist" else DATASET
    return label if acc is None else f"{label}, {100 * acc:.2f} % on {name}'s test set"


def current_model(s: Studio, key: str) -> Any:
    """The model a page shows for the choice ``key``: a pretrained one, or the session's (while it
    trains, a snapshot of its live weights — None until ready — and the run learns someone watches)."""
    if key in PRETRAINED_LABELS:
        return pretrained(key)[0]
    if s.training_active and s.run is not None:
        s.run.touch()
        return s.run.snapshot_model(timeout=3.0)
    return s.model


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

"""The data the session trains on: MNIST, one of the TensorFlow Playground's 2-D sets, or the user's
own CSV table; and the sidebar widgets that choose it.

The choice lives in widget state (``cfg_data``, ``cfg_noise``, ``cfg_data_seed``, ``cfg_feat_*``,
``csv_target``) and, for a table, in ``st.session_state[CSV_KEY]`` (the file's bytes and what was
read from them: this session only, never a process-wide cache). :func:`current` resolves it to a
:class:`DataChoice`; while the chosen table is missing or refused, the session keeps training on the
data it had (the sidebar says so).

When the kind of data changes (images, 2-D points, a table) the sidebar is set to a network that
suits it (:data:`PRESETS`); when the task changes, to an output and loss that fit (softmax and
cross-entropy for classes, a linear output and mean squared error for a numeric target).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from nncore import datasets
from nncore import playground as P
from nncore.datasets import CSVError
from nncore.studio import choices
from nncore.studio import data as D
from nncore.studio.spec import HiddenLayer

from . import data as ui_data

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "data" / "examples"
#: "Try an example" files: file name -> button label
EXAMPLES = {"iris.csv": "Iris flowers (classes)", "housing_like.csv": "Housing, synthetic (regression)"}
CSV_KEY = "_csv_upload"
PLAYGROUND_SETS = ("circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss")
SOURCES = ("mnist", *PLAYGROUND_SETS, "csv")
SOURCE_LABELS = {
    "mnist": "MNIST handwritten digits",
    **{n: f"{n} · {datasets.DATASETS[n].summary.removeprefix('Playground: ')}" for n in PLAYGROUND_SETS},
    "csv": "Upload a CSV",
}
#: the Playground's input features, their checkbox labels and widget key stems
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁·x₂",
                  "sin(x1)": "sin x₁", "sin(x2)": "sin x₂"}
FEATURE_KEYS = {"x1": "x1", "x2": "x2", "x1^2": "x1sq", "x2^2": "x2sq", "x1*x2": "x1x2",
                "sin(x1)": "sinx1", "sin(x2)": "sinx2"}
NOISE_STEP = 5
CSV_TEST_FRACTION = 0.2  # rows of a table held out as its test set (the Results)
PREVIEW_ROWS = 6


@dataclass(frozen=True)
class Preset:
    """The sidebar settings a kind of data starts with."""

    hidden: tuple[HiddenLayer, ...]
    batch_size: int
    epochs: int
    lr: float | None  # None: the optimizer's typical rate
    n_samples: int | None  # None: all training samples


PRESETS = {
    "image": Preset((HiddenLayer(128, "relu"), HiddenLayer(64, "relu")), 128, 3, None, 10_000),
    "points": Preset(tuple(HiddenLayer(n, P.DEFAULT_ACTIVATION) for n in P.DEFAULT_HIDDEN), P.DEFAULT_BATCH_SIZE,
                     100, P.DEFAULT_LR, None),
    "table": Preset((HiddenLayer(16, "relu"), HiddenLayer(16, "relu")), 16, 50, 0.01, None),
}
#: output activation and loss that fit each task
TASK_OUTPUT = {"classification": ("softmax", "cse"), "regression": ("linear", "mse")}


# ----------------------------------------------------------------------------------------------
# What the session trains on
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DataChoice:
    """A resolved choice: ``key`` identifies the data (equal keys, same samples), ``dataset`` the
    Dataset, ``label`` a short name for people, ``shared`` True for public data cached per process."""

    key: tuple
    dataset: Any
    label: str
    shared: bool = True

    @property
    def family(self) -> str:
        return D.data_family(self.dataset)


@dataclass
class CSVUpload:
    """An uploaded (or example) table of this session: the file's bytes and what was read from them."""

    name: str
    data: bytes | None  # None when the file is over the size limit (not kept)
    target: str | None = None
    drop_missing: bool = False
    example: bool = False
    dataset: Any = None
    error: CSVError | None = None
    header: list[str] = field(default_factory=list)
    version: int = 0  # changes with every (re)read

    def read(self) -> None:
        """(Re)read the table with the current target and drop_missing; sets ``dataset`` or ``error``."""
        self.version += 1
        self.dataset, self.error = None, None
        if self.data is None:
            return
        source = io.BytesIO(self.data)
        source.name = self.name
        try:
            self.dataset = datasets.from_csv(source, target=self.target, drop_missing=self.drop_missing,
                                             test_fraction=CSV_TEST_FRACTION, seed=0)
        except CSVError as exc:
            self.error = exc
        except ValueError as exc:  # e.g. a test split that leaves no training rows
            self.error = CSVError(str(exc), reason="parse")
        if not self.header:
            self.header = D.csv_header(self.data)

    @property
    def key(self) -> tuple:
        return ("csv", self.name, len(self.data or b""), hash(self.data), self.target, self.drop_missing)


def _in_session() -> bool:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        return get_script_run_ctx() is not None
    except Exception:
        return False


def mnist_choice() -> DataChoice:
    return DataChoice(("mnist",), ui_data.dataset(ui_data.DATASET), "MNIST")


def selected_features() -> tuple[str, ...]:
    ss = st.session_state
    return tuple(f for f in FEATURES if ss.get(f"cfg_feat_{FEATURE_KEYS[f]}", f in P.DEFAULT_FEATURES))


def _resolve() -> DataChoice:
    """The choice the widgets describe; ValueError (a sentence) when it cannot be used."""
    ss = st.session_state
    source = ss.get("cfg_data", "mnist")
    if source == "mnist":
        return mnist_choice()
    if source == "csv":
        up = ss.get(CSV_KEY)
        if not isinstance(up, CSVUpload):
            raise ValueError("No table yet: upload a CSV file or try an example.")
        if up.dataset is None:
            raise ValueError(f"{up.name!r} cannot be used (see above).")
        return DataChoice(up.key, up.dataset, up.name, shared=False)
    if source not in PLAYGROUND_SETS:
        raise ValueError(f"Unknown data {source!r}.")
    noise, seed, features = int(ss.get("cfg_noise", 0)), int(ss.get("cfg_data_seed", 0)), selected_features()
    if not features:
        raise ValueError("Tick at least one input feature.")
    ds = ui_data.playground(source, float(noise), seed, features)
    return DataChoice((source, noise, seed, features), ds, f"{source} (noise {noise}, seed {seed})")


def current() -> DataChoice:
    """The data this session trains on: the sidebar's choice, or (while that cannot be used) the
    data it had; MNIST outside a Streamlit session."""
    if not _in_session():
        return mnist_choice()
    ss = st.session_state
    try:
        choice = _resolve()
    except ValueError:
        last = ss.get("_data_last")
        return last if isinstance(last, DataChoice) else mnist_choice()
    ss["_data_last"] = choice
    return choice


def problem() -> str | None:
    """Why the sidebar's data choice cannot be used right now (None when it can)."""
    try:
        _resolve()
    except ValueError as exc:
        return str(exc)
    return None


# ----------------------------------------------------------------------------------------------
# Widget state and the sidebar's settings that follow the data
# ----------------------------------------------------------------------------------------------
def init_state() -> None:
    """Defaults for the data widgets; keeps their values alive on runs that do not show them."""
    ss = st.session_state
    defaults: dict[str, Any] = {"cfg_data": "mnist", "cfg_noise": 0, "cfg_data_seed": 0}
    defaults.update({f"cfg_feat_{FEATURE_KEYS[f]}": f in P.DEFAULT_FEATURES for f in FEATURES})
    for k, v in defaults.items():
        ss[k] = ss.get(k, v)
    if "csv_target" in ss:
        ss["csv_target"] = ss["csv_target"]


def follow_data(choice: DataChoice) -> str | None:
    """Call before the network widgets render: when the data changed, set the sidebar's layers,
    batch size, epochs, learning rate and sample count for a new kind of data (:data:`PRESETS`) and
    the output and loss for a new task. Returns a sentence saying what changed (None: nothing)."""
    ss = st.session_state
    ds = choice.dataset
    seen = ss.get("_data_seen")
    ss["_data_seen"] = (choice.key, choice.family, ds.kind)
    if seen is None:
        seen = (("mnist",), "image", "classification")  # what the sidebar's defaults are made for
    if seen[0] == choice.key:
        return None
    changed = []
    if seen[1] != choice.family:
        preset = PRESETS[choice.family]
        from .sidebar import _set_layers

        _set_layers(preset.hidden)
        ss["cfg_batch"] = preset.batch_size
        ss["cfg_epochs"] = preset.epochs
        ss["cfg_lr"] = preset.lr if preset.lr is not None else choices.optimizer(ss.get("cfg_opt", "adam")).typical_lr
        changed.append(f"layers {'-'.join(str(h.neurons) for h in preset.hidden)} {preset.hidden[0].activation}, "
                       f"batch {preset.batch_size}, {preset.epochs} epochs, learning rate {ss['cfg_lr']:g}")
    if seen[2] != ds.kind or (ds.kind == "regression" and ss.get("cfg_loss") != "mse"):
        out, loss = TASK_OUTPUT[ds.kind]
        if (ss.get("cfg_out_act"), ss.get("cfg_loss")) != (out, loss):
            ss["cfg_out_act"], ss["cfg_loss"] = out, loss
            changed.append(f"{out} output with {choices.loss_label(loss)}")
    n = ss.get("cfg_n_samples", 0)
    preset_n = PRESETS[choice.family].n_samples
    if seen[1] != choice.family or n > ds.n_samples:
        ss["cfg_n_samples"] = min(preset_n or ds.n_samples, ds.n_samples)
    return ("For this data the sidebar now suggests: " + "; ".join(changed) + ".") if changed else None


# ----------------------------------------------------------------------------------------------
# CSV callbacks
# ----------------------------------------------------------------------------------------------
def _store(up: CSVUpload) -> None:
    up.read()
    st.session_state[CSV_KEY] = up
    if up.dataset is not None:
        st.session_state["csv_target"] = up.dataset.target_name
    elif up.header:
        st.session_state["csv_target"] = up.target if up.target in up.header else up.header[-1]


def _on_upload() -> None:
    f = st.session_state.get("csv_file")
    if f is None:
        return
    data = f.getvalue()
    if len(data) > datasets.MAX_CSV_BYTES:  # refused with nncore's sentence; the bytes are not kept
        up = CSVUpload(f.name, None)
        try:
            datasets.from_csv(data, max_bytes=datasets.MAX_CSV_BYTES)
        except CSVError as exc:
            up.error = exc
        st.session_state[CSV_KEY] = up
        return
    _store(CSVUpload(f.name, data))


def load_example(name: str) -> None:
    """Read one of :data:`EXAMPLES` as if it had been uploaded (also a button callback)."""
    _store(CSVUpload(name, (EXAMPLES_DIR / name).read_bytes(), example=True))
    st.session_state["cfg_data"] = "csv"


def _on_target() -> None:
    up = st.session_state.get(CSV_KEY)
    if isinstance(up, CSVUpload):
        up.target = st.session_state.get("csv_target")
        _store(up)


def _drop_missing() -> None:
    up = st.session_state.get(CSV_KEY)
    if isinstance(up, CSVUpload):
        up.drop_missing = True
        _store(up)


def switch_to(source: str) -> None:
    """Button callback: train on ``source`` (one of :data:`SOURCES`) from now on."""
    st.session_state["cfg_data"] = source


# ----------------------------------------------------------------------------------------------
# Rendering (inside the sidebar)
# ----------------------------------------------------------------------------------------------
#: refusals after which the header is known to be usable, so the target can be changed
_TARGET_FIXABLE = {"missing", "non_numeric", "infinite", "one_class", "too_many_classes", "target_not_found",
                   "too_few_rows"}


def render(s: Any) -> DataChoice:
    """The data picker; returns the data the session trains on."""
    ss = st.session_state
    locked = bool(getattr(s, "training_active", False))
    st.selectbox(
        "Dataset", SOURCES, key="cfg_data", format_func=SOURCE_LABELS.get, disabled=locked,
        help="What the network learns from: MNIST's 28×28 images of digits, one of TensorFlow Playground's "
        "2-D point sets (watch them on the Playground page), or a table of your own."
        + (" Stop training to change the data." if locked else ""),
    )
    source = ss["cfg_data"]
    if source in PLAYGROUND_SETS:
        _playground_settings(locked)
    elif source == "csv":
        _csv_panel(locked)
    why = problem()
    choice = current()
    if why and source != "csv":
        st.error(why, icon=":material/error:")
    if why:
        st.caption(f"Training stays on **{choice.label}** until then.")
    note = follow_data(choice)
    if note:
        st.caption(f":material/tune: {note}")
    _summary(choice)
    _fit_notice(s, choice)
    return choice


def _playground_settings(locked: bool) -> None:
    c1, c2 = st.columns([2, 1])
    c1.slider("Noise", 0, 50, step=NOISE_STEP, key="cfg_noise",
              help="As on the Playground: how far points may stray across the true boundary (0-50).", disabled=locked)
    c2.number_input("Data seed", min_value=0, max_value=1_000_000, step=1, key="cfg_data_seed",
                    help="Chooses the points (the network's weights have their own seed below).", disabled=locked)
    st.markdown("**Input features**", help="What the network's first layer reads of each point (x₁, x₂): the "
                "Playground's feature columns. sin x₁ and sin x₂ help with the spiral; x₁² and x₂² with the circle.")
    row = st.container(horizontal=True, gap="small", key="cfg_features")  # wraps in reading order
    for f in FEATURES:
        row.checkbox(FEATURE_LABELS[f], key=f"cfg_feat_{FEATURE_KEYS[f]}", disabled=locked, width=72)


def _csv_panel(locked: bool) -> None:
    ss = st.session_state
    st.file_uploader(
        "CSV table", type=["csv", "txt"], key="csv_file", on_change=_on_upload, disabled=locked,
        help=f"A header line with a name per column, then rows of numbers (up to {datasets.MAX_CSV_BYTES / 1e6:.0f} "
        "MB). The target column (the last one unless you pick another) may hold class names or numbers. "
        "The table stays in your browser session only.",
    )
    up = ss.get(CSV_KEY)
    err = up.error if isinstance(up, CSVUpload) else None
    if err is not None:  # the refusal right under the uploader
        st.error(f"**{up.name}** cannot be used: {refusal_text(err)}", icon=":material/error:")
        if err.reason == "missing" and err.lines:
            n = len(err.lines)
            st.button(f"Drop {'that row' if n == 1 else f'those {n} rows'} and read again", key="csv_drop",
                      icon=":material/delete_sweep:", on_click=_drop_missing, disabled=locked,
                      help="Read the file again without the rows that have a missing value.")
    st.caption("Or try an example:")
    row = st.container(horizontal=True, gap="small")
    for name, label in EXAMPLES.items():
        row.button(label, key=f"csv_example_{Path(name).stem}", on_click=load_example, args=(name,), disabled=locked,
                   help=f"Load data/examples/{name} as if you had uploaded it.")
    if not isinstance(up, CSVUpload):
        st.info("Upload a table to train on it.", icon=":material/upload_file:")
        return
    if up.header and (err is None or err.reason in _TARGET_FIXABLE):
        options = up.header
        if ss.get("csv_target") not in options:
            ss["csv_target"] = options[-1]
        st.selectbox("Target column", options, key="csv_target", on_change=_on_target, disabled=locked,
                     help="The column the network learns to predict; every other column is an input feature.")
    if up.data is not None:
        preview = D.csv_preview(up.data, PREVIEW_ROWS)
        if preview is not None and len(preview.columns):
            st.caption(f"First rows of **{up.name}**" + (" (an example)" if up.example else ""))
            st.dataframe(preview, hide_index=True, height=36 + 35 * min(len(preview), PREVIEW_ROWS),
                         key=f"csv_preview_{up.version}")
    ds = up.dataset
    if ds is None:
        return
    task = D.task_summary(ds)
    dropped = ds.params.get("dropped_lines") or []
    if dropped:
        st.caption(f"{len(dropped)} row(s) with missing values were dropped.")
    if task.kind == "classification":
        st.markdown(f"**Task: classification** of `{task.target}` into {len(task.class_names)} classes",
                    help="The target holds text or a few whole numbers, so each distinct value is a class.")
        import pandas as pd

        balance = pd.DataFrame([{"class": n, "rows": c, "share": f"{p:.0%}"} for n, c, p in task.balance()])
        st.dataframe(balance, hide_index=True, height=36 + 35 * min(len(balance), 6), key=f"csv_balance_{up.version}")
        st.caption(f"Class balance over the {task.n_samples:,} training rows ({task.n_test:,} more are held out "
                   "as the test set).")
    else:
        st.markdown(f"**Task: regression** of `{task.target}`: values from {task.low:.4g} to {task.high:.4g} "
                    f"(mean {task.mean:.4g})",
                    help="The target holds numbers with many distinct values, so the network predicts a number "
                    "(a linear output trained with mean squared error; scored with R² and mean absolute error).")
        st.caption(f"{task.n_samples:,} training rows, {task.n_test:,} held out as the test set.")


def refusal_text(err: CSVError) -> str:
    """nncore's sentence for a refused table, its advice for programmers said for the page's button."""
    return str(err).replace("or pass drop_missing=True to drop", "or press the button below to drop")


def sample_sizes(available: int) -> list[int]:
    """Training-set sizes to offer: the studio's presets, or for a small dataset a few shares of it."""
    sizes = choices.sample_sizes(available)
    if len(sizes) >= 3:
        return sizes
    return sorted({max(10, int(round(available * f))) for f in (0.2, 0.4, 0.6, 0.8)} | {int(available)})


def _summary(choice: DataChoice) -> None:
    ds = choice.dataset
    if choice.family == "image":
        inputs = "×".join(str(v) for v in ds.input_shape[-2:]) + " pixel images"
    else:
        names = ds.feature_names or ()
        shown = ", ".join(FEATURE_LABELS.get(n, n) for n in names[:6]) + (", …" if len(names) > 6 else "")
        inputs = f"{len(names)} input{'s' if len(names) != 1 else ''} ({shown})"
    task = (f"{ds.n_classes} classes" if ds.is_classification else f"a number to predict ({ds.target_name})")
    st.caption(f"**{choice.label}**: {ds.n_samples:,} training + {ds.n_test:,} test samples · {inputs} · {task}")


def _fit_notice(s: Any, choice: DataChoice) -> None:
    """Say when the session's model cannot take this data (a new model is needed)."""
    m = getattr(s, "model", None)
    if m is None or not getattr(s, "has_learned", False):
        return
    why = D.mismatch(m, choice.dataset)
    if why:
        st.warning(f"Your current model does not fit this data: {why}. Build a new model below to train on it.",
                   icon=":material/swap_horiz:")

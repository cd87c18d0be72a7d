"""Playground page: TensorFlow Playground's view of learning for 2-D data.

The training and test points over the network's output (a heatmap on a 100 × 100 grid, the
Playground's orange-white-blue palette, "discretize" toggle, hover on a point for its features,
label and prediction), beside it a thumbnail for every hidden neuron (what each unit has learned)
and the train/test loss curves. :func:`render_playground_view` draws all that for any model and
2-D dataset; the numbers come from ``nncore.boundary``.

Run on its own (``streamlit run pages/playground.py``), :func:`main` adds a small local setup in
``st.session_state["playground"]``: dataset, noise, seed, features, network, optimizer and
Start / Pause / Stop / Step buttons driving a background training run.
"""
from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from nncore import boundary as B
from nncore import datasets
from nncore import playground as P
from pages import common as C
from nncore.runner import ACTIVE_STATES, PAUSED, RUNNING, STOPPING, TrainingRun  # moves to nncore.studio.run

log = logging.getLogger("nnstudio.playground")

STATE_KEY = "playground"
GRID_RESOLUTION = 100
NEURON_RESOLUTION = 40
REFRESH_SECONDS = 0.5  # the view follows a training run at least this often
ABANDON_SECONDS = 300.0  # a run nobody watches (closed tab) stops itself
ORANGE, MIDDLE, BLUE = B.PLAYGROUND_COLOURS
COLORSCALE = [[0.0, ORANGE], [0.5, MIDDLE], [1.0, BLUE]]
TEST_OUTLINE = "#111827"
TRAIN_OUTLINE_REGRESSION = "#9ca3af"
TRAIN_LOSS_COLOUR = "#374151"
TEST_LOSS_COLOUR = "#0d9488"
BOUNDARY_HEIGHT = 480
CURVES_HEIGHT = 210
THUMB_PX = 54
# Redrawn twice a second: no fading or sliding while an element is recomputed.
STILL_CSS = """<style>
[data-testid="stElementContainer"][data-stale="true"] { opacity: 1 !important; }
[data-testid="stElementContainer"] { transition: none !important; animation: none !important; }
</style>"""
# Stack the two columns when the view itself is narrow (not only on phones): a container query.
VIEW_CSS = """<style>
.st-key-playground_view { container-type: inline-size; }
@container (max-width: 760px) {
  .st-key-playground_view [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
  .st-key-playground_view [data-testid="stColumn"] { flex: 1 1 100% !important; min-width: 100% !important; }
}
</style>"""
THUMB_CSS = f"""<style>
.pg-layer {{ margin: 0 0 0.6rem 0; }}
.pg-title {{ font-size: 0.8rem; color: #4b5563; margin-bottom: 0.2rem; }}
.pg-grid {{ display: grid; grid-template-columns: repeat(8, minmax(0, {THUMB_PX}px)); gap: 5px; }}
.pg-grid figure {{ margin: 0; min-width: 0; }}
.pg-grid img {{ width: 100%; aspect-ratio: 1; display: block; border: 1px solid #d1d5db; border-radius: 3px; }}
.pg-grid figcaption {{ font-size: 0.68rem; line-height: 1.1; text-align: center; color: #6b7280;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
</style>"""


# ----------------------------------------------------------------------------------------------
# Figures (plain plotly specs: cheap to build twice a second)
# ----------------------------------------------------------------------------------------------
def _class_names(dataset: Any) -> np.ndarray:
    return np.asarray([str(c) for c in dataset.class_names], dtype=object)


def _points_customdata(dataset: Any, x: np.ndarray, y: np.ndarray, values: np.ndarray,
                       predicted: np.ndarray | None) -> tuple[list, str]:
    """customdata rows and the hovertemplate lines for points x (n, 2)."""
    cols: list[np.ndarray] = [np.round(x[:, 0].astype(np.float64), 2), np.round(x[:, 1].astype(np.float64), 2)]
    lines = ["x1 = %{customdata[0]}", "x2 = %{customdata[1]}"]
    names = list(getattr(dataset.transform, "features", ()) or ())
    extra = [n for n in names if n not in ("x1", "x2")]
    if extra:
        feats = np.asarray(dataset.transform(x))
        for name in extra:
            lines.append(f"{name} = %{{customdata[{len(cols)}]}}")
            cols.append(np.round(feats[:, names.index(name)].astype(np.float64), 2))
    k = len(cols)
    if predicted is None:  # regression
        cols += [np.round(np.asarray(y, dtype=np.float64).reshape(-1), 3), np.round(values.astype(np.float64), 3)]
        lines += [f"target = %{{customdata[{k}]}}", f"prediction = %{{customdata[{k + 1}]}}"]
    else:
        names_arr = _class_names(dataset)
        cols += [names_arr[np.asarray(y)], names_arr[predicted], np.round((values.astype(np.float64) + 1) / 2, 3)]
        lines += [f"label: %{{customdata[{k}]}}",
                  f"prediction: %{{customdata[{k + 1}]}} (P(+1) = %{{customdata[{k + 2}]}})"]
    data = np.empty((len(x), len(cols)), dtype=object)
    for i, c in enumerate(cols):
        data[:, i] = c
    return data.tolist(), "<br>".join(lines)


def boundary_spec(grid: B.BoundaryGrid, dataset: Any, predictions: dict[str, tuple], *, discrete: bool,
                  value_range: tuple[float, float]) -> dict:
    """The heatmap of ``grid`` with the train and test points on top, as a plotly figure dict.
    ``predictions``: split name ("train"/"test") → (values, predicted class ids or None)."""
    lo, hi = value_range
    mid = (lo + hi) / 2
    z = B.discretize(grid.values, threshold=mid) * ((hi - lo) / 2) + mid if discrete else grid.values
    data: list[dict] = [{
        "type": "heatmap", "x": grid.xs.round(4), "y": grid.ys.round(4), "z": np.round(z, 3),
        "colorscale": COLORSCALE, "zmin": lo, "zmax": hi, "showscale": False, "hoverinfo": "skip",
        "zsmooth": False if discrete else "best", "opacity": 0.85, "name": "network output",
    }]
    splits = [("train", dataset.x, dataset.y, "white", 1.0)]
    if dataset.x_test is not None:
        splits.append(("test", dataset.x_test, dataset.y_test, TEST_OUTLINE, 1.4))
    classification = dataset.kind == "classification"
    for split, x, y, outline, width in splits:
        values, predicted = predictions[split]
        custom, template = _points_customdata(dataset, x, y, values, predicted)
        if not classification and split == "train":  # pale middle values would vanish in a white ring
            outline, width = TRAIN_OUTLINE_REGRESSION, 0.7
        marker = {"size": 7 if len(dataset.x) <= 600 else 5, "line": {"color": outline, "width": width}}
        if classification and dataset.n_classes == 2:
            for cls, colour in ((0, ORANGE), (1, BLUE)):
                rows = np.flatnonzero(np.asarray(y) == cls)
                data.append({
                    "type": "scattergl" if len(x) > 2000 else "scatter", "mode": "markers",
                    "x": x[rows, 0].round(3), "y": x[rows, 1].round(3),
                    "customdata": [custom[r] for r in rows], "hovertemplate": template + f"<extra>{split}</extra>",
                    "marker": {**marker, "color": colour}, "name": f"{split} {dataset.class_names[cls]}",
                })
        else:
            colour_values = np.asarray(y, dtype=np.float64).reshape(-1)
            data.append({
                "type": "scatter", "mode": "markers", "x": x[:, 0].round(3), "y": x[:, 1].round(3),
                "customdata": custom, "hovertemplate": template + f"<extra>{split}</extra>",
                "marker": {**marker, "color": colour_values.round(3), "colorscale": COLORSCALE,
                           "cmin": lo, "cmax": hi},
                "name": split,
            })
    xmin, xmax, ymin, ymax = grid.extent
    layout = {
        "height": BOUNDARY_HEIGHT, "margin": {"l": 36, "r": 10, "t": 46, "b": 36},
        "xaxis": {"range": [xmin, xmax], "constrain": "domain", "showgrid": False, "zeroline": False,
                  "nticks": 7, "title": {"text": "x1", "standoff": 2}},
        "yaxis": {"range": [ymin, ymax], "scaleanchor": "x", "constrain": "domain", "constraintoward": "top",
                  "showgrid": False, "zeroline": False, "nticks": 7, "title": {"text": "x2", "standoff": 2}},
        "legend": {"orientation": "h", "x": 0, "y": 1.01, "yanchor": "bottom", "font": {"size": 11},
                   "bgcolor": "rgba(0,0,0,0)", "itemwidth": 30},
        "plot_bgcolor": "white", "paper_bgcolor": "white", "hovermode": "closest",
        "uirevision": "playground",  # keeps the user's zoom across redraws
    }
    return {"data": data, "layout": layout}


def loss_spec(history: dict[str, list]) -> dict:
    """Train and test loss per epoch (from ``model.history``) as a plotly figure dict."""
    epochs = np.asarray(history.get("epoch", []), dtype=np.float64)
    data = []
    for key, name, colour in (("loss", "train loss", TRAIN_LOSS_COLOUR), ("val_loss", "test loss", TEST_LOSS_COLOUR)):
        values = np.asarray([np.nan if v is None else v for v in history.get(key, [])], dtype=np.float64)
        if values.size and np.isfinite(values).any():
            data.append({"type": "scatter", "mode": "lines", "x": epochs, "y": values, "name": name,
                         "line": {"color": colour, "width": 2}})
    layout = {
        "height": CURVES_HEIGHT, "margin": {"l": 44, "r": 18, "t": 8, "b": 34},
        "xaxis": {"title": {"text": "epoch", "standoff": 4}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "loss", "standoff": 4}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1, "bgcolor": "rgba(255,255,255,0.7)"},
        "plot_bgcolor": "white", "paper_bgcolor": "white", "template": "plotly_white",
    }
    return {"data": data, "layout": layout}


def _png_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnails_html(units: B.NeuronGrids, features: tuple[list[str], np.ndarray] | None) -> str:
    """A wrapping grid of small heatmaps: the input features, then every hidden unit by layer."""
    rows = []
    if features is not None:
        names, grids = features
        limits = np.maximum(np.abs(grids).reshape(len(grids), -1).max(axis=1), 1e-6)[:, None, None]
        images = B.diverging_rgb(grids[:, ::-1], -limits, limits)
        cells = "".join(f'<figure><img src="{_png_uri(img)}" alt="input {n}" title="input {n}">'
                        f"<figcaption>{n}</figcaption></figure>" for n, img in zip(names, images))
        rows.append(f'<div class="pg-layer"><div class="pg-title">Inputs</div><div class="pg-grid">{cells}</div></div>')
    for layer in units.layers:
        limits = layer.colour_limits()[:, None, None]
        images = B.diverging_rgb(layer.values[:, ::-1], -limits, limits)  # row 0 at the top: largest y
        cells = "".join(
            f'<figure><img src="{_png_uri(img)}" alt="{layer.unit_title(u)}" title="{layer.unit_title(u)}">'
            f"<figcaption>{u + 1}</figcaption></figure>"
            for u, img in enumerate(images)
        )
        title = f"{layer.name} · {layer.units} {layer.activation} units"
        rows.append(f'<div class="pg-layer"><div class="pg-title">{title}</div><div class="pg-grid">{cells}</div></div>')
    return THUMB_CSS + "".join(rows)


def _chart(spec: dict, key: str, height: int, label: str) -> None:
    """One place that puts a figure dict on the page: a chart that plotly.js updates in place
    (pages.common.live_plotly_chart), so redraws while training show no blank frame, and starting
    or stopping a run does not swap the chart for another kind."""
    C.live_plotly_chart(spec, key=key, height=height, label=label)


def _summary(model: Any, dataset: Any) -> str:
    h = model.history
    if not h.get("epoch"):
        return "Epoch 0 · untrained: the colours show the network's random starting guess."
    parts = [f"Epoch {h['epoch'][-1]}", f"train loss {h['loss'][-1]:.3f}"]
    if h.get("val_loss") and h["val_loss"][-1] is not None:
        parts.append(f"test loss {h['val_loss'][-1]:.3f}")
    metric = "accuracy" if dataset.kind == "classification" else "r2"
    value = (h.get(f"val_{metric}") or [None])[-1]
    if value is not None:
        parts.append(f"test accuracy {value:.1%}" if metric == "accuracy" else f"test R² {value:.3f}")
    return " · ".join(parts)


# ----------------------------------------------------------------------------------------------
# The view
# ----------------------------------------------------------------------------------------------
def render_playground_view(model: Any, dataset: Any, *, live: bool) -> None:
    """Draw the Playground view of ``model`` (an nncore NN taking raw (x1, x2) points) on a 2-D
    ``dataset``. ``live``: the view is being redrawn while the model trains (no fading while an
    element is recomputed). Charts update in place and keep the user's zoom either way."""
    if dataset.x.ndim != 2 or dataset.x.shape[1] != 2:
        st.info(f"The Playground view shows data with two inputs (x1, x2); {dataset.name!r} has samples of "
                f"shape {tuple(dataset.x.shape[1:])}.", icon=":material/info:")
        return
    if live:
        st.html(STILL_CSS)
    extent = B.data_extent(dataset)
    grid = B.decision_grid(model, extent, GRID_RESOLUTION)
    units = B.neuron_grids(model, extent, NEURON_RESOLUTION)
    features = B.feature_grids(dataset.transform, extent, NEURON_RESOLUTION)
    predictions = {"train": B.point_predictions(model, dataset.x)}
    if dataset.x_test is not None:
        predictions["test"] = B.point_predictions(model, dataset.x_test)

    view = st.container(key="playground_view")
    view.html(VIEW_CSS)
    left, right = view.columns([11, 9], gap="medium")
    with left:
        top = st.container(horizontal=True, vertical_alignment="center")
        discrete = top.toggle("Discretize output", key="playground_discretize",
                              help="Colour each point of the plane by the class the network predicts there "
                                   "(its sign), instead of by how sure it is.")
        top.caption(_summary(model, dataset))
        what = ("the network's output: orange −1, blue +1, pale where it is unsure"
                if dataset.kind == "classification" else "the network's predicted value (orange low, blue high)")
        spec = boundary_spec(grid, dataset, predictions, discrete=discrete, value_range=B.value_range(dataset))
        _chart(spec, key="playground_boundary", height=BOUNDARY_HEIGHT, label="Decision boundary")
        st.caption(f"Background: {what}, on a {GRID_RESOLUTION} × {GRID_RESOLUTION} grid. Test points have a dark "
                   "outline. Hover a point for its features, label and prediction.")
    with right:
        st.markdown("**What each neuron has learned**")
        if units.layers:
            st.html(thumbnails_html(units, features))
            st.caption("Each square is one unit's output over the same plane (orange −1, blue +1).")
        else:
            st.caption("This network has no hidden layer: the output reads the input features directly.")
            st.html(thumbnails_html(units, features))
        st.markdown("**Loss**")
        _chart(loss_spec(model.history), key="playground_loss", height=CURVES_HEIGHT, label="Loss curves")


# ----------------------------------------------------------------------------------------------
# Standalone mode: a small local setup
# ----------------------------------------------------------------------------------------------
DATASET_NAMES = ("circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss")
ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "linear")
OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop", "adagrad", "adamax", "adadelta", "iterative")
LR_CHOICES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
BATCH_CHOICES = (1, 5, 10, 20, 50, 100)
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1^2": "x₁²", "x2^2": "x₂²", "x1*x2": "x₁x₂",
                  "sin(x1)": "sin(x₁)", "sin(x2)": "sin(x₂)"}
WIDGET_DEFAULTS: dict[str, Any] = {
    "pg_dataset": "spiral", "pg_noise": 0, "pg_seed": 0, "pg_hidden": "8,8", "pg_activation": P.DEFAULT_ACTIVATION,
    "pg_optimizer": P.DEFAULT_OPTIMIZER, "pg_lr": P.DEFAULT_LR, "pg_batch": P.DEFAULT_BATCH_SIZE, "pg_epochs": 500,
    "pg_speed": "watchable (10 epochs/s)",
    **{f"pg_f_{f}": f in P.DEFAULT_FEATURES for f in FEATURES},
}


SPEEDS = {"slow motion (2 epochs/s)": 2.0, "watchable (10 epochs/s)": 10.0, "fast (50 epochs/s)": 50.0,
          "full speed": None}


class PacedRun(TrainingRun):
    """A TrainingRun held to ``pace.epochs_per_second`` (nncore's Pace callback after every batch)."""

    def __init__(self, *args: Any, epochs_per_second: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pace = P.Pace(epochs_per_second)

    def start(self, epochs: int) -> None:
        self.pace.reset()
        super().start(epochs)

    def _on_batch_end(self, batch: int, logs: dict) -> None:
        super()._on_batch_end(batch, logs)
        self.pace.on_batch_end(batch, logs)


@dataclass
class PlaygroundState:
    """The standalone page's session: its dataset, model and training run."""

    dataset: Any = None
    data_key: tuple | None = None
    model: Any = None
    model_key: tuple | None = None
    run: PacedRun | None = None
    error: str = ""

    @property
    def training(self) -> bool:
        return self.run is not None and self.run.state in ACTIVE_STATES


def state() -> PlaygroundState:
    """This session's PlaygroundState (created on first use). Checked by its class name: Streamlit
    executes the page file anew on every run, which defines a new class object each time."""
    current = st.session_state.get(STATE_KEY)
    if type(current).__name__ != PlaygroundState.__name__:
        current = st.session_state[STATE_KEY] = PlaygroundState()
    return current


def _settings() -> dict[str, Any]:
    ss = st.session_state
    return {
        "name": ss["pg_dataset"], "noise": int(ss["pg_noise"]), "seed": int(ss["pg_seed"]),
        "features": tuple(f for f in FEATURES if ss[f"pg_f_{f}"]), "hidden": ss["pg_hidden"],
        "activation": ss["pg_activation"], "optimizer": ss["pg_optimizer"], "lr": float(ss["pg_lr"]),
        "batch": int(ss["pg_batch"]), "epochs": int(ss["pg_epochs"]),
    }


def sync(s: PlaygroundState, cfg: dict[str, Any], rebuild: bool = False) -> None:
    """Make the dataset and the model follow the settings: a new learning rate applies at once (from
    the next batch while training, weights kept); other changes build a new model, never while training."""
    if s.model is not None and s.model.lr != cfg["lr"]:
        s.model.set_hyperparameters(lr=cfg["lr"])
    if s.training:
        return
    data_key = (cfg["name"], cfg["noise"], cfg["seed"], cfg["features"])
    model_key = (*data_key, cfg["hidden"], cfg["activation"], cfg["optimizer"])
    try:
        if data_key != s.data_key:
            s.dataset = datasets.get(cfg["name"], noise=cfg["noise"], seed=cfg["seed"], features=cfg["features"])
            s.data_key = data_key
        if rebuild or model_key != s.model_key or s.model is None:
            s.model = P.playground_model(s.dataset, cfg["hidden"], cfg["activation"], cfg["optimizer"], cfg["lr"],
                                         seed=cfg["seed"])
            s.model_key, s.run = model_key, None
        s.error = ""
    except ValueError as exc:
        s.error = str(exc)


def _runner(s: PlaygroundState, batch: int) -> PacedRun:
    if s.run is None or s.run.model is not s.model or s.run.batch_size != batch:
        ds = s.dataset
        s.run = PacedRun(s.model, ds.x, ds.y, val_x=ds.x_test, val_y=ds.y_test, batch_size=batch,
                         abandon_after=ABANDON_SECONDS)
    s.run.pace.epochs_per_second = SPEEDS[st.session_state["pg_speed"]]
    return s.run


def _speed_changed() -> None:
    s = state()
    if s.run is not None:
        s.run.pace.epochs_per_second = SPEEDS[st.session_state["pg_speed"]]


def _start() -> None:
    s, cfg = state(), _settings()
    if s.run is not None and s.run.state == PAUSED:
        s.run.resume()
        return
    sync(s, cfg)
    if s.error or s.training:
        return
    _runner(s, cfg["batch"]).start(cfg["epochs"])


def _pause() -> None:
    s = state()
    if s.run is not None:
        s.run.pause()


def _stop() -> None:
    s = state()
    if s.run is not None and s.run.stop():
        s.run.join(timeout=5.0)


def _step() -> None:
    """Train exactly one epoch and show the result."""
    s, cfg = state(), _settings()
    sync(s, cfg)
    if s.error or s.training:
        return
    run = _runner(s, cfg["batch"])
    run.start(1)
    run.join(timeout=30.0)


def _reset() -> None:
    s = state()
    _stop()
    sync(s, _settings(), rebuild=True)


def _sidebar(locked: bool) -> None:
    with st.sidebar:
        st.header("Playground", anchor=False)
        st.selectbox("Dataset", DATASET_NAMES, key="pg_dataset", disabled=locked,
                     format_func=lambda n: f"{n} — {datasets.DATASETS[n].summary.removeprefix('Playground: ')}")
        st.slider("Noise", 0, 50, step=5, key="pg_noise", disabled=locked,
                  help="As on the Playground: how far points may stray across the true boundary.")
        st.number_input("Seed", 0, 10_000, step=1, key="pg_seed", disabled=locked,
                        help="Chooses the data points and the network's starting weights.")
        st.markdown("**Input features**")
        cols = st.columns(2)
        for i, f in enumerate(FEATURES):
            cols[i % 2].checkbox(FEATURE_LABELS[f], key=f"pg_f_{f}", disabled=locked)
        st.text_input("Hidden layers", key="pg_hidden", disabled=locked,
                      help="Neurons per hidden layer, separated by commas, e.g. 8,8 or 4,4,2.")
        st.selectbox("Activation", ACTIVATIONS, key="pg_activation", disabled=locked)
        st.selectbox("Optimizer", OPTIMIZERS, key="pg_optimizer", disabled=locked)
        st.select_slider("Learning rate", LR_CHOICES, key="pg_lr",
                         help="Can be changed while training: applies from the next batch.")
        st.select_slider("Batch size", BATCH_CHOICES, key="pg_batch", disabled=locked)
        st.number_input("Epochs per Start", 1, 100_000, step=100, key="pg_epochs", disabled=locked)
        st.selectbox("Speed", list(SPEEDS), key="pg_speed", on_change=_speed_changed,
                     help="nncore learns these small problems in a fraction of a second; hold it back to watch.")


def _controls(s: PlaygroundState) -> None:
    state_now = s.run.state if s.run is not None else None
    row = st.container(horizontal=True)
    paused = state_now == PAUSED
    row.button("Resume" if paused else "Start", key="pg_start", on_click=_start, type="primary",
               icon=":material/play_arrow:", disabled=state_now in (RUNNING, STOPPING) or bool(s.error))
    row.button("Pause", key="pg_pause", on_click=_pause, icon=":material/pause:", disabled=state_now != RUNNING)
    row.button("Stop", key="pg_stop", on_click=_stop, icon=":material/stop:", disabled=state_now not in ACTIVE_STATES)
    row.button("Step", key="pg_step", on_click=_step, icon=":material/skip_next:", disabled=s.training or bool(s.error),
               help="Train one epoch.")
    row.button("Reset", key="pg_reset", on_click=_reset, icon=":material/restart_alt:",
               help="Start again from fresh random weights.")


def main() -> None:
    if "_router_sidebar" not in st.session_state:  # run on its own, not under the router
        try:
            st.set_page_config(page_title="Playground · NN Studio", layout="wide")
        except Exception:  # already configured
            pass
    for k, v in WIDGET_DEFAULTS.items():
        st.session_state.setdefault(k, v)
    s = state()
    sync(s, _settings())
    _sidebar(locked=s.training)
    st.title("Playground", anchor=False)
    _controls(s)
    if s.error:
        st.error(s.error, icon=":material/error:")
        return
    run = s.run
    run_every = REFRESH_SECONDS if run is not None and run.state in (RUNNING, STOPPING) else None

    @st.fragment(run_every=run_every)
    def _live() -> None:
        active = s.training
        if run is not None:
            run.touch()
            p = run.progress()
            if p.message and not active:
                st.caption(p.message)
        if active:
            st.session_state["_pg_seen_active"] = True
        elif st.session_state.get("_pg_seen_active"):
            st.session_state["_pg_seen_active"] = False
            st.rerun()  # the run ended: re-enable the settings, stop polling
        model = run.snapshot_model(timeout=3.0) if active and run is not None else s.model
        if model is None:
            st.info("The training snapshot is not ready yet.")
            return
        render_playground_view(model, s.dataset, live=active)

    _live()


if __name__ == "__main__":  # `streamlit run` and st.navigation both run pages as __main__
    main()

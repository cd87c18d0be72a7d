"""Playground page: TensorFlow Playground's view of learning for 2-D data.

The training and test points over the network's output (a heatmap on a 100 × 100 grid, the
Playground's orange-white-blue palette, "discretize" toggle, hover on a point for its features,
label and prediction), beside it a thumbnail for every hidden neuron (what each unit has learned)
and the train/validation loss curves. :func:`render_playground_view` draws all that for any model and
2-D dataset; the numbers come from ``nncore.boundary``.

:func:`main` shows the session's current model and run on the data chosen in the shared sidebar
(a Playground set, its noise, seed and input features), with Start / Pause / Stop / +1 epoch and the
speed a 2-D run is held to. With other data it says what it needs and offers the Playground sets.
"""
from __future__ import annotations

import base64
import io
import logging
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from nncore import boundary as B
from nncore.studio import data as D
from nncore.studio import run as R
from pages.ui import charts, data_picker, training
from pages.ui import format as F
from pages.ui.nav import page_link
from pages.ui.notices import show_notices
from pages.ui.sidebar import sidebar_config
from pages.ui.state import Studio, record_finished_run, studio
from pages.ui.style import stacking_columns_css

log = logging.getLogger("nnstudio.playground")

STATE_KEY = "playground"
GRID_RESOLUTION = 100
NEURON_RESOLUTION = 40
REFRESH_SECONDS = 0.5  # the view follows a training run at least this often
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
VIEW_CSS = "<style>" + stacking_columns_css("playground_view", "760px") + """</style>"""
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


def loss_spec(history: dict[str, list], val_name: str = "test") -> dict:
    """Train and validation (``val_name``: what the validation data is, e.g. "test") loss per epoch
    (from ``model.history``) as a plotly figure dict."""
    epochs = np.asarray(history.get("epoch", []), dtype=np.float64)
    data = []
    for key, name, colour in (("loss", "train loss", TRAIN_LOSS_COLOUR),
                              ("val_loss", f"{val_name} loss", TEST_LOSS_COLOUR)):
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


def _chart(spec: dict, key: str, height: int, label: str, aspect: float | None = None) -> None:
    """One place that puts a figure dict on the page: a chart that plotly.js updates in place
    (pages.ui.charts.live_plotly_chart), so redraws while training show no blank frame, and starting
    or stopping a run does not swap the chart for another kind."""
    charts.live_plotly_chart(spec, key=key, height=height, label=label, aspect=aspect)


def _summary(model: Any, dataset: Any, val_name: str = "test") -> str:
    h = model.history
    if not h.get("epoch"):
        return "Epoch 0 · untrained: the colours show the network's random starting guess."
    parts = [f"Epoch {h['epoch'][-1]}", f"train loss {h['loss'][-1]:.3f}"]
    if h.get("val_loss") and h["val_loss"][-1] is not None:
        parts.append(f"{val_name} loss {h['val_loss'][-1]:.3f}")
    metric = "accuracy" if dataset.kind == "classification" else "r2"
    value = (h.get(f"val_{metric}") or [None])[-1]
    if value is not None:
        parts.append(f"{val_name} accuracy {value:.1%}" if metric == "accuracy" else f"{val_name} R² {value:.3f}")
    return " · ".join(parts)


# ----------------------------------------------------------------------------------------------
# The view
# ----------------------------------------------------------------------------------------------
def render_playground_view(model: Any, dataset: Any, *, live: bool, val_name: str = "test") -> None:
    """Draw the Playground view of ``model`` (an nncore NN taking raw (x1, x2) points) on a 2-D
    ``dataset``. ``live``: the view is being redrawn while the model trains (no fading while an
    element is recomputed). ``val_name``: what the model's validation data is ("test" when it
    validated on the dataset's test points). Charts update in place and keep the user's zoom either way."""
    if dataset.x.ndim != 2 or dataset.x.shape[1] != 2:
        st.info(f"The Playground view shows data with two inputs (x1, x2); {dataset.name!r} has samples of "
                f"shape {tuple(dataset.x.shape[1:])}.", icon=":material/info:")
        return
    if live:
        st.html(STILL_CSS)
    extent = B.data_extent(dataset)
    grid = B.decision_grid(model, extent, GRID_RESOLUTION)
    units = B.neuron_grids(model, extent, NEURON_RESOLUTION)
    features = B.feature_grids(model.input_transform or dataset.transform, extent, NEURON_RESOLUTION)
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
        top.caption(_summary(model, dataset, val_name))
        what = ("the network's output: orange −1, blue +1, pale where it is unsure"
                if dataset.kind == "classification" else "the network's predicted value (orange low, blue high)")
        spec = boundary_spec(grid, dataset, predictions, discrete=discrete, value_range=B.value_range(dataset))
        # x1 and x2 share one scale: on a narrow screen the chart is as short as the map, no empty band below
        xmin, xmax, ymin, ymax = grid.extent
        _chart(spec, key="playground_boundary", height=BOUNDARY_HEIGHT, label="Decision boundary",
               aspect=(ymax - ymin) / (xmax - xmin))
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
        _chart(loss_spec(model.history, val_name), key="playground_loss", height=CURVES_HEIGHT, label="Loss curves")


# ----------------------------------------------------------------------------------------------
# The page: the session's model and run on the sidebar's data
# ----------------------------------------------------------------------------------------------
def _needs_points(choice: Any) -> None:
    ds = choice.dataset
    what = ("28×28 images" if ds.is_image else
            f"a table with {D.task_summary(ds).n_features} input columns")
    st.info(f"The Playground view needs 2-D data, points with two coordinates x₁ and x₂; the current data is "
            f"**{choice.label}** ({what}). Choose one of the Playground sets to watch a network learn them:",
            icon=":material/scatter_plot:")
    row = st.container(horizontal=True, gap="small")
    for name in data_picker.PLAYGROUND_SETS:
        row.button(name, key=f"pg_switch_{name}", on_click=data_picker.switch_to, args=(name,),
                   disabled=studio().training_active,
                   help=f"Train on {data_picker.SOURCE_LABELS[name]} (the sidebar changes to it).")


def _controls(s: Studio, can_train: bool, epochs: int) -> None:
    run = s.run if s.run is not None and s.run.model is s.model else None
    state = run.state if run is not None else R.IDLE
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    paused = state == R.PAUSED
    row.button("Start", key="pg_start", on_click=training.start, type="primary", icon=":material/play_arrow:",
               disabled=not can_train or state in R.ACTIVE_STATES,
               help=f"Train {epochs} epochs (set in the sidebar), continuing from where the model is.")
    row.button("Resume" if paused else "Pause", key="pg_pause", on_click=training.pause_resume,
               icon=":material/play_circle:" if paused else ":material/pause:",
               disabled=state not in (R.RUNNING, R.PAUSED), help="Pause after the current batch, or continue.")
    row.button("Stop", key="pg_stop", on_click=training.stop, icon=":material/stop:",
               disabled=state not in (R.RUNNING, R.PAUSED), help="End this run; everything learned is kept.")
    row.button("+1 epoch", key="pg_step", on_click=training.start, args=(1,), icon=":material/skip_next:",
               disabled=not can_train or state in R.ACTIVE_STATES, help="Train one more epoch.")
    st.session_state.setdefault(training.SPEED_KEY, training.POINT_DEFAULT_SPEED)
    row.selectbox("Speed", list(training.POINT_SPEEDS), key=training.SPEED_KEY, on_change=training.speed_changed,
                  width=230, help="nncore learns these small problems in a fraction of a second; hold training "
                  "back to watch it. Applies at once, also while training.")


def main() -> None:
    sb = sidebar_config()
    s = studio()
    record_finished_run(s)
    st.title("Playground", anchor=False)
    choice = data_picker.current()
    if choice.family != "points":
        _needs_points(choice)
        return
    ds = choice.dataset
    st.caption(f"**{choice.label}**: {ds.n_samples:,} training points (the sidebar's validation split of them "
               f"is held out) and {ds.n_test:,} test points (dark outline).")
    why = D.mismatch(s.model, ds) if s.model is not None else "there is no model yet"
    _controls(s, can_train=s.model is not None and sb.ok and not why, epochs=sb.settings.epochs)
    show_notices()
    if why:
        st.info(f"Your current model does not fit {choice.label}: {why}. Build a new model in the sidebar.",
                icon=":material/swap_horiz:")
        return
    run = s.run if s.run is not None and s.run.model is s.model else None
    streaming = run is not None and run.state in (R.RUNNING, R.STOPPING)

    @st.fragment(run_every=REFRESH_SECONDS if streaming else None)
    def _live() -> None:
        active = s.training_active
        if run is not None:
            run.touch()
            p = run.progress()
            if p.state != R.IDLE:
                st.caption(f"**{F.STATE_LABEL[p.state]}** · {F.progress_text(p)}")
            # the progress line already says "Finished"; a message that adds something is shown as what it is
            if p.message and not active and not (p.state == R.FINISHED and not p.early_stopping):
                if p.state in (R.DIVERGED, R.ERROR):
                    st.error(p.message, icon=":material/warning:")
                elif p.state == R.FAILED:
                    st.warning(p.message, icon=":material/warning:")
                else:
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
        render_playground_view(model, ds, live=active, val_name="validation")

    _live()
    st.caption("The sidebar sets the data (noise, seed, input features) and the network; the Train page has the "
               "model's full results.")
    page_link("pages/train.py", label="Results on the Train page", icon=":material/model_training:")


if __name__ == "__main__":  # `streamlit run` and st.navigation both run pages as __main__
    main()

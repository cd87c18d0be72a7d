"""Inspect page: look inside the network.

First-layer weights as images (live while training), one digit layer by layer (activations, the most
active first-layer units, saliency maps) and the weights and gradients of every layer over the epochs.
For a convolutional network, ConvNetJS-style: every conv layer's filters (live while training) and,
for one digit, each conv and pooling layer's feature maps. All computations live in
``nncore.analysis``; this page reads widgets and draws (PNG tiles, a few plotly charts).
"""
from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from nncore import analysis as I
from nncore.studio import data as D
from nncore.studio import spec
from pages.ui import charts, data_picker
from pages.ui import data as ui_data
from pages.ui.format import model_text, rgb_png
from pages.ui.nav import page_link
from pages.ui.notices import show_notices
from pages.ui.sidebar import sidebar_config
from pages.ui.state import Studio, record_finished_run, studio

log = logging.getLogger("nnstudio.inspect")

POLL_SECONDS = 2.0
MAX_UNITS = 64
N_TOP = 8
DIVERGING = "RdBu_r"  # blue negative, white zero, red positive
SALIENCY_SCALE = [  # transparent where the network does not care, then red to yellow
    [0.0, "rgba(255,40,0,0)"],
    [0.15, "rgba(255,40,0,0.35)"],
    [0.5, "rgba(255,120,0,0.85)"],
    [1.0, "rgba(255,245,110,1)"],
]
PLOT_CONFIG = {"displaylogo": False}
STRIP_ROW_PX = 46

NO_STATS = "Train at least one epoch to see how weights and gradients evolve."
#: session-state flag: the model choice is still the page's default, not the user's
AUTO_CHOICE = "_inspect_model_auto"


# ----------------------------------------------------------------------------------------------
# Which model
# ----------------------------------------------------------------------------------------------
def model_choices(s: Studio) -> dict[str, str]:
    """Available models: key -> a short, stable label (details go in the caption below the choice, so
    the radio keeps its identity when the model's description changes during training)."""
    choices: dict[str, str] = {}
    if s.model is not None:
        choices["session"] = "Your model"
    if ui_data.dataset().is_image:  # MNIST models: shown for image data only
        choices.update(ui_data.pretrained_choices())
    return choices


def model_caption(s: Studio, key: str) -> str:
    if key in ui_data.PRETRAINED_LABELS:
        pre, _ = ui_data.pretrained(key)
        ep = int(getattr(pre, "epoch", 0) or 0)
        return (f"{ui_data.PRETRAINED_LABELS[key]}: {spec.shape_text(pre.get_config())}, {pre.total_parameters:,} "
                f"parameters, trained {ep} epoch{'s' if ep != 1 else ''} on all "
                f"{ui_data.dataset(ui_data.DATASET).n_samples:,} training samples.")
    if s.training_active:
        return f"Your model ({spec.shape_text(s.model.get_config())}): training now, the charts follow its live weights."
    if not s.has_learned:
        return f"Your model ({model_text(s.model)}): its weights are still random."
    return f"Your model ({model_text(s.model)}), {s.source}."


def _polled_model(s: Studio, key: str, live: bool):
    """The model a polling panel shows (None, with a note, until the training snapshot is ready);
    while live, one full rerun when the run ends."""
    if live:
        _watch_run_end(s)
    model = ui_data.current_model(s, key)
    if model is None:
        st.info("The training snapshot is not ready yet; it appears within a few seconds.")
    return model


def _watch_run_end(s: Studio) -> None:
    """While a fragment polls a training run: one full rerun when it ends (records it, stops polling)."""
    if s.training_active:
        st.session_state["_inspect_seen_active"] = True
    elif st.session_state.get("_inspect_seen_active"):
        st.session_state["_inspect_seen_active"] = False
        st.rerun()


# ----------------------------------------------------------------------------------------------
# First-layer weights
# ----------------------------------------------------------------------------------------------
def image_side() -> int:
    """Side of the dataset's (square) images, for laying inputs and weights out as pictures."""
    return int(ui_data.dataset().input_shape[-1])


WEIGHTS_BOX_PX = 480  # the first-layer weights mosaic: about 56 px a 28×28 unit at 8 units a row
WEIGHTS_TEXT_PX = 320  # its explanation: beside it when there is room, else below it
COLORBAR_PX = 58  # the horizontal colour bar under the mosaic, with its tick labels


def weights_figure(model, width: int = WEIGHTS_BOX_PX) -> tuple[go.Figure, str]:
    """The first-layer weights as one heatmap of tiles, sized for a box ``width`` px wide: the mosaic fills
    the width (its height follows), the colour bar lies under it, so the tiles get all the room."""
    w = I.first_layer_weights(model)
    tiles, units = I.weight_tiles(w, max_units=MAX_UNITS, side=image_side())
    k = len(units)
    img, which = I.mosaic(tiles, cols=5 if k == ui_data.dataset().n_outputs else (8 if k > 16 else int(np.ceil(np.sqrt(k)))), pad=2)
    lim = I.symmetric_limit(tiles)
    unit_of = np.where(which >= 0, units[np.clip(which, 0, None)], -1)
    fig = go.Figure(go.Heatmap(
        z=img.astype(np.float32), customdata=unit_of, colorscale=DIVERGING, zmid=0, zmin=-lim, zmax=lim,
        hoverongaps=False, hovertemplate="unit %{customdata}<br>weight %{z:.3f}<extra></extra>",
        colorbar=dict(title=dict(text="weight", side="right"), orientation="h", thickness=10, len=0.7,
                      x=0.5, xanchor="center", y=0, yanchor="top", ypad=8, nticks=7),
    ))
    height = int(round(width * img.shape[0] / img.shape[1])) + COLORBAR_PX
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=4, b=COLORBAR_PX), template="plotly_white",
                      plot_bgcolor="white", uirevision="weights")
    fig.update_xaxes(visible=False, constrain="domain")
    # on a screen narrower than the box the mosaic shrinks: it sits on its colour bar, the room left is above
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain",
                     constraintoward="bottom")
    n = w.shape[1]
    shown = f"all {n} units" if len(units) == n else f"units 0–{len(units) - 1} of {n}"
    return fig, shown


def weights_box_css(fig: go.Figure) -> str:
    """CSS that makes the weights mosaic's frame as tall as its square-tiled plot at the width the page gives
    it, plus the fixed strip of the colour bar; the chart (height "stretch") fills the frame."""
    ratio = (fig.layout.height - COLORBAR_PX - 4) / WEIGHTS_BOX_PX  # the plot area's height per width
    height = f"calc({ratio:.5f} * 100cqw + {COLORBAR_PX + 4}px)"
    return ("<style>.st-key-weights_box { container-type: inline-size; }"
            f".st-key-weights_box > :has(> .st-key-weights_frame), .st-key-weights_frame {{ "
            f"flex: 0 0 {height} !important; height: {height} !important; }}</style>")


def weights_panel(s: Studio, key: str, live: bool) -> None:
    @st.fragment(run_every=POLL_SECONDS if live else None)
    def _panel() -> None:
        model = _polled_model(s, key, live)
        if model is None:
            return
        hidden = len(model.trainable_layers) > 1
        fig, shown = weights_figure(model)
        # a wrapping row: the mosaic keeps its size, the text goes below it when the window is narrow
        if hidden:
            st.markdown(f"**What each first-layer unit looks for** ({shown})")
        else:
            st.markdown(f"**What each output unit looks for** ({shown})")
        row = st.container(horizontal=True, gap="medium", key="weights_row")
        # the mosaic's frame is as tall as the mosaic at the width it gets (a phone gives less than
        # WEIGHTS_BOX_PX): no empty band above it, see weights_box_css
        st.html(weights_box_css(fig))
        box = row.container(width=WEIGHTS_BOX_PX, key="weights_box")
        box.container(key="weights_frame", height=int(fig.layout.height), border=False).plotly_chart(fig, key="weights_grid", config=PLOT_CONFIG, width="stretch",
                                                        height="stretch")
        with row.container(width=WEIGHTS_TEXT_PX, key="weights_text"):
            if hidden:
                side = image_side()
                st.caption(
                    f"Each square holds the {side * side} incoming weights of one unit of the first hidden layer "
                    f"(Dense 1), laid out like the {side}×{side} input: ink on red pixels raises the unit's output, "
                    "ink on blue pixels lowers it. Before training they are noise; stroke-like patterns appear as "
                    "it learns."
                )
            else:
                st.caption(
                    "This network has no hidden layer, so each square is one digit's template: ink on red "
                    "pixels is evidence for that digit, ink on blue pixels against it."
                )
            st.caption("Hover a square to see its unit number and weights. The colour scale is centred on 0 "
                       "and clipped at the largest 1 % of weights so a few extreme ones do not wash out the rest.")
            if live:
                st.caption(":green[●] The network is training: the weights update every few seconds.")

    _panel()


def feature_weights_figure(model, feature_names) -> go.Figure:
    """First-layer weights as a heatmap: one row per unit, one column per input feature."""
    w = I.first_layer_weights(model)  # (inputs, units)
    names = list(feature_names or [f"input {i + 1}" for i in range(w.shape[0])])
    if len(names) != w.shape[0]:
        names = [f"input {i + 1}" for i in range(w.shape[0])]
    units = w.shape[1]
    lim = float(np.abs(w).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=w.T.astype(np.float32), x=names, y=[str(u) for u in range(units)], colorscale=DIVERGING, zmid=0,
        zmin=-lim, zmax=lim, hovertemplate="unit %{y}<br>%{x}: weight %{z:.3f}<extra></extra>",
        colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=0.8),
    ))
    fig.update_layout(height=int(np.clip(80 + 22 * units, 220, 620)), margin=dict(l=0, r=0, t=4, b=4),
                      template="plotly_white", uirevision="feature_weights",
                      xaxis=dict(type="category", side="top"), yaxis=dict(type="category", autorange="reversed",
                                                                         title="unit"))
    return fig


def feature_weights_panel(s: Studio, key: str, live: bool, choice) -> None:
    @st.fragment(run_every=POLL_SECONDS if live else None)
    def _panel() -> None:
        model = _polled_model(s, key, live)
        if model is None:
            return
        hidden = len(model.trainable_layers) > 1
        left, right = st.columns([3, 2], gap="large")
        left.plotly_chart(feature_weights_figure(model, choice.dataset.feature_names), key="feature_weights",
                          config=PLOT_CONFIG)
        with right:
            st.markdown("**What each first-layer unit reads of the inputs**" if hidden else
                        "**How each output reads the inputs**")
            st.caption(f"One row per unit of {'the first hidden layer (Dense 1)' if hidden else 'the output'}, one "
                       f"column per input feature of {choice.label}: red weights raise the unit's output when the "
                       "feature grows, blue ones lower it. The inputs are the features after the data's own "
                       "transform (Playground features, or standardised table columns).")
            if live:
                st.caption(":green[●] The network is training: the weights update every few seconds.")

    _panel()


# ----------------------------------------------------------------------------------------------
# Convolutional layers: filters and feature maps (ConvNetJS-style)
# ----------------------------------------------------------------------------------------------
KERNEL_MODES = {"channels": "each input channel", "mean": "averaged over input channels"}
MAPS_BOX_PX = 480  # widest feature-map mosaic (8 maps of about 56 px)


def kernel_mode_choice() -> bool:
    """True: a deeper conv layer's kernels per input channel; False: averaged over them."""
    mode = st.radio("Deeper layers' kernels", list(KERNEL_MODES), key="inspect_kernel_mode", horizontal=True,
                    format_func=KERNEL_MODES.get,
                    help="A filter of a deeper conv layer has one kernel per input channel (one per map of the "
                    "layer before). Show them all (one row per filter, one column per input channel) or one "
                    "tile per filter with their mean.")
    return mode == "channels"


KERNEL_HELP = ("Each tile is a kernel: the filter responds where the image looks like its red pixels and is "
               "held back by its blue ones (white: weight 0).")


def kernels_block(layer, per_channel: bool, target: int = 40, max_width: int = 720, max_height: int = 560,
                  short: bool = False, max_filters: int = 32) -> None:
    """One conv layer's kernels as one PNG, with what the tiles are."""
    tiles = I.kernel_tiles(layer.weights, per_channel=per_channel, max_filters=max_filters)
    st.image(rgb_png(I.kernels_image(tiles, target=target, max_width=max_width, max_height=max_height)))
    kh, kw = layer.kernel_size
    if short:
        st.caption(f"Filters ({kh}×{kw}): {tiles.text}.")
    else:
        st.caption(f"{tiles.text.capitalize()}, {kh}×{kw} each. {KERNEL_HELP}")


def filters_panel(s: Studio, key: str, live: bool) -> None:
    """Every conv layer's kernels, polling the training snapshot while the model trains."""
    per_channel = kernel_mode_choice() if _deep_conv(ui_data.current_model(s, key)) else True

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def _panel() -> None:
        model = _polled_model(s, key, live)
        if model is None:
            return
        st.caption("What each convolution filter looks for. Before training the kernels are noise; as the "
                   "network learns, the first layer's become small edge and stroke detectors. Colours are "
                   "centred on 0 and clipped at each layer's largest 1 % of weights.")
        if live:
            st.caption(":green[●] The network is training: the filters update every few seconds.")
        labels = I.layer_labels(model)
        for k, (name, layer) in enumerate(I.conv_layers(model)):
            with st.container(key=f"filters_{k}"):
                st.markdown(f"**{labels[name]}**")
                kernels_block(layer, per_channel)

    _panel()


def _deep_conv(model) -> bool:
    return model is not None and any(l.weights.shape[1] > 1 for _, l in I.conv_layers(model))


def feature_maps_section(model, vec: np.ndarray) -> None:
    """For one digit: per conv layer its kernels, its feature maps and the pooled maps after it."""
    layers = I.feature_maps(model, vec)
    convs = dict(I.conv_layers(model))
    st.markdown("**Inside the convolutions: feature maps for this digit**")
    st.caption("Left, each conv layer's filters (red and blue kernels). Then its feature maps: one grey square per "
               "filter, white where that filter found its pattern in this digit, black where it found nothing "
               "(one brightness scale per layer, so dark squares are filters this digit barely excites). Then "
               "the pooled maps: half the size, the same patterns, less tied to their exact place.")
    k = 0
    while k < len(layers):
        conv = layers[k]
        pool = layers[k + 1] if k + 1 < len(layers) and layers[k + 1].kind == "pool" else None
        k += 2 if pool is not None else 1
        if conv.kind != "conv":
            continue
        c, h, w = conv.maps.shape
        zoom = I.tile_scale(h)
        with st.container(key=f"fmaps_{conv.name.replace(' ', '_').lower()}"):
            st.markdown(f"**{conv.label}** → {c} maps of {h}×{w}")
            row = st.container(horizontal=True, gap="medium")
            with row.container(width=190):
                kernels_block(convs[conv.name], per_channel=False, target=20, max_width=180, short=True, max_filters=64)
            img, shown = I.maps_image(conv.maps, zoom=zoom)
            with row.container(width=min(MAPS_BOX_PX, img.shape[1] + 4)):
                st.image(rgb_png(img))
                more = f"the first {shown} of {c}" if shown < c else f"{c}"
                st.caption(f"Feature maps ({more}), filter 0 top left.")
            if pool is not None:
                pimg, _ = I.maps_image(pool.maps, zoom=zoom, max_cols=4)  # 4 a row: the block stays one row at 1440 px
                _, ph, pw = pool.maps.shape
                with row.container(width=min(MAPS_BOX_PX, pimg.shape[1] + 4)):
                    st.image(rgb_png(pimg))
                    st.caption(f"{pool.label}: {ph}×{pw}.")


# ----------------------------------------------------------------------------------------------
# One digit, layer by layer
# ----------------------------------------------------------------------------------------------
# Another page opens a test digit here with a link carrying ?inspect_digit=<its number in the test set>
# (the Train page's mistakes): Inspect shows it with the session's model and says where it came from.
DIGIT_PARAM = "inspect_digit"
ORIGIN_KEY = "inspect_origin"  # {"index", "label", "pred"} of the digit so opened
DIGIT_TAB = ":material/pin: One digit, layer by layer"


def take_request(s: Studio) -> bool:
    """Apply a digit asked for in the URL (before the widgets are drawn): the session's model, that test
    digit on the digit tab, its label as the digit to compare with. The parameter is removed; True if
    it asked for a digit that could be shown."""
    raw = st.query_params.get(DIGIT_PARAM)
    if raw is None:
        return False
    del st.query_params[DIGIT_PARAM]
    ds = ui_data.dataset()
    try:
        i = int(raw)
    except ValueError:
        return False
    if s.model is None or not ds.is_image or ds.x_test is None or not 0 <= i < len(ds.x_test) \
            or D.mismatch(s.model, ds):
        return False
    model = ui_data.current_model(s, "session")
    if model is None:
        return False
    pred, _ = I.predict_one(model, ds.x_test[i])
    true = int(ds.y_test[i])
    st.session_state["inspect_model"] = "session"
    st.session_state[AUTO_CHOICE] = False  # asked for by the link
    st.session_state["inspect_source"] = "test"
    st.session_state["inspect_index"] = i
    st.session_state["inspect_class"] = true
    st.session_state["_inspect_seen"] = None  # set by the digit panel: keep the label as the choice
    st.session_state[ORIGIN_KEY] = {"index": i, "label": str(ds.class_names[true]),
                                    "pred": str(ds.class_names[int(pred)])}
    return True


def _random_digit() -> None:
    st.session_state["inspect_index"] = int(np.random.default_rng().integers(0, ui_data.dataset().n_test))


def choose_input(s: Studio) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """The input chosen by the user: the raw sample (as the dataset stores it, e.g. uint8 grey
    levels), the image in [0, 1] for display and a description."""
    if st.session_state.get("inspect_source") not in ("drawing", "test"):
        st.session_state["inspect_source"] = "drawing" if s.canvas is not None else "test"
    c1, c2, c3 = st.columns([1.2, 1, 0.75], vertical_alignment="bottom")
    source = c1.radio(
        "Digit", ["drawing", "test"], key="inspect_source", horizontal=True,
        format_func={"drawing": "Your drawing (Draw page)", "test": "A test digit"}.get,
        help="Look at the digit you drew on the Draw page, or at one of the MNIST test digits.",
    )
    if source == "drawing":
        if s.canvas is None:
            st.info("Draw a digit on the Draw page first; it shows up here. Meanwhile, pick a test digit.",
                    icon=":material/draw:")
            page_link("pages/draw.py", label="Go to Draw", icon=":material/draw:")
            return None, None, ""
        return D.as_raw_image(s.canvas.image), np.asarray(s.canvas.image), "your drawing"
    ds = ui_data.dataset()
    x_test, y_test = ds.x_test, ds.y_test
    i = c2.number_input("Test digit number", min_value=0, max_value=len(x_test) - 1, step=1,
                        key="inspect_index", help=f"Which of the {len(x_test):,} test digits to look at.")
    c3.button("Random", icon=":material/casino:", key="inspect_random", on_click=_random_digit,
              help="Pick a random test digit.")
    i = int(i)
    origin = st.session_state.get(ORIGIN_KEY)
    if origin and origin.get("index") == i:  # opened from the Train page's mistakes
        st.caption(f":material/model_training: From the Train page: {origin_text(origin)}.")
    elif origin:
        st.session_state.pop(ORIGIN_KEY)
    return x_test[i], D.image_of(x_test[i], ds), f"test digit {i} (labelled {ds.class_names[int(y_test[i])]})"


def origin_text(origin: dict) -> str:
    return f"test digit #{origin['index']}, label {origin['label']}, read as {origin['pred']}"


#: the saliency maps' height side by side, and each panel's height where they stack (a chart narrower
#: than charts.STACK_BELOW_PX: a phone)
SALIENCY_HEIGHT = 330
SALIENCY_PANEL_PX = 320


def saliency_figure(image: np.ndarray, maps: list[tuple[str, np.ndarray]]) -> go.Figure:
    """The digit as the network sees it, then one map per explained digit, side by side; the maps share
    one colour scale (``coloraxis``, so a narrow layout can move its bar, see stacked_saliency_layout)."""
    titles = ["What the network sees"] + [t for t, _ in maps]
    fig = make_subplots(rows=1, cols=1 + len(maps), subplot_titles=titles, horizontal_spacing=0.03)
    fig.add_trace(go.Heatmap(z=image, colorscale="gray", zmin=0, zmax=1, showscale=False,
                             hovertemplate="pixel (%{y}, %{x})<br>ink %{z:.2f}<extra></extra>"), 1, 1)
    for k, (title, sal) in enumerate(maps, start=2):
        fig.add_trace(go.Heatmap(z=sal.reshape(image.shape), coloraxis="coloraxis", name=title,
                                 hovertemplate="pixel (%{y}, %{x})<br>sensitivity %{z:.2f}<extra></extra>"),
                      1, k)
        fig.add_trace(go.Contour(z=image, contours=dict(start=0.5, end=0.5, size=1, coloring="none"),
                                 line=dict(color="#7dd3fc", width=1.5), showscale=False, hoverinfo="skip",
                                 name="outline of the digit", showlegend=False), 1, k)
    for k in range(1, 2 + len(maps)):
        fig.update_xaxes(visible=False, constrain="domain", row=1, col=k)
        fig.update_yaxes(visible=False, autorange="reversed", constrain="domain",
                         scaleanchor=f"x{'' if k == 1 else k}", row=1, col=k)
    fig.update_layout(height=SALIENCY_HEIGHT, margin=dict(l=0, r=0, t=40, b=0), template="plotly_white",
                      plot_bgcolor="black", showlegend=False,
                      coloraxis=dict(colorscale=SALIENCY_SCALE, cmin=0, cmax=1,
                                     colorbar=dict(title=dict(text="sensitivity", side="right"), thickness=12,
                                                   len=0.9, tickvals=[0, 1], ticktext=["none", "most"])))
    fig.update_annotations(font_size=12)  # "What the network sees" whole over a third of 480 px
    return fig


def stacked_saliency_layout(layout: dict, panels: int) -> dict:
    """``layout`` of :func:`saliency_figure` for a narrow chart (a phone): the panels one under another,
    each as wide as the chart allows up to SALIENCY_PANEL_PX tall, its title over it, the colour bar
    lying under the last one. Side by side, three panels were about 100 px each at 390 px."""
    title_px, bar_px, toolbar_px = 34, 56, 28  # plotly's toolbar above the first title, not over it
    height = panels * (SALIENCY_PANEL_PX + title_px) + bar_px + toolbar_px
    out = dict(layout, height=height, margin=dict(l=0, r=0, t=toolbar_px, b=bar_px))
    plot = height - bar_px - toolbar_px  # the paper's height in px: y domains are fractions of it
    annotations = []
    for k in range(panels):
        top = 1 - k * (SALIENCY_PANEL_PX + title_px) / plot
        bottom = top - (SALIENCY_PANEL_PX + title_px) / plot
        suffix = "" if k == 0 else str(k + 1)
        out[f"xaxis{suffix}"] = dict(layout.get(f"xaxis{suffix}", {}), domain=[0, 1])
        out[f"yaxis{suffix}"] = dict(layout.get(f"yaxis{suffix}", {}), domain=[max(0.0, bottom), top - title_px / plot])
        annotations.append(dict(layout["annotations"][k], x=0.5, xanchor="center",  # the panel's title
                                y=top - title_px / plot, yanchor="bottom", font=dict(size=14)))
    out["annotations"] = annotations
    colorbar = dict(layout["coloraxis"]["colorbar"], orientation="h", len=0.8, x=0.5, xanchor="center",
                    y=0, yref="container", yanchor="bottom", thickness=10,
                    title=dict(text="sensitivity", side="top"))
    out["coloraxis"] = dict(layout["coloraxis"], colorbar=colorbar)
    return out


def _fmt_out(v: float, activation: str) -> str:
    return f"{v:.0%}" if activation == "softmax" else f"{v:.2f}"


def strips_figure(outputs: list[I.LayerOutput]) -> go.Figure:
    n = len(outputs)
    fig = make_subplots(rows=n, cols=1, subplot_titles=[o.label + (" → output" if i == n - 1 else "")
                                                        for i, o in enumerate(outputs)],
                        vertical_spacing=min(0.5 / max(n, 1), 0.9 / max(n, 1)))
    for r, o in enumerate(outputs, start=1):
        last = r == n
        units = np.arange(len(o.values))
        fig.add_trace(go.Heatmap(
            z=o.scaled[None, :], x=[str(u) for u in units] if last else units, customdata=o.values[None, :],
            colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1, showscale=False, xgap=1 if len(units) <= 64 else 0,
            text=[[_fmt_out(v, o.activation) for v in o.values]] if last else None,
            texttemplate="%{text}" if last else None, textfont=dict(size=12),
            hovertemplate=("digit %{x}" if last else "unit %{x}") + "<br>output %{customdata:.3f}<extra></extra>",
        ), r, 1)
        fig.update_yaxes(visible=False, row=r, col=1)
        fig.update_xaxes(showticklabels=last, type="category" if last else "linear", row=r, col=1,
                         showgrid=False, zeroline=False)
    fig.update_layout(height=60 + (STRIP_ROW_PX + 28) * n, margin=dict(l=0, r=0, t=28, b=0),
                      template="plotly_white")
    fig.update_annotations(font_size=13, x=0, xanchor="left")
    return fig


TOP_UNIT_ZOOM = 3  # a 28×28 unit's weights at 84 px: one row of 8 at 1440 px, rows of 3 on a phone


def top_units_row(model, outputs: list[I.LayerOutput]) -> None:
    """The most active first-layer units for this digit as a wrapping row of weight pictures, each with
    its unit number and output (fixed-size cells: whole and legible at any window width)."""
    idx, vals = I.top_units(outputs[0].values, N_TOP)
    side = image_side()
    tiles, _ = I.weight_tiles(I.first_layer_weights(model), units=idx, max_units=N_TOP, side=side)
    lim = I.symmetric_limit(tiles)
    pictures = I.upscale_stack(tiles, TOP_UNIT_ZOOM)
    row = st.container(horizontal=True, gap="xsmall", key="top_units")
    for u, v, picture in zip(idx, vals, pictures):
        with row.container(width=side * TOP_UNIT_ZOOM, gap=None):
            st.image(rgb_png(I.diverging_rgb(picture, lim)), caption=f"unit {u}: {v:.2f}", width="stretch")


def digit_panel(s: Studio, key: str, live: bool) -> None:
    @st.fragment(run_every=POLL_SECONDS if live else None)
    def _panel() -> None:
        vec, image, what = choose_input(s)
        if vec is None:
            return
        model = ui_data.current_model(s, key)
        if model is None:
            st.info("The training snapshot is not ready yet; it appears within a few seconds.")
            return
        try:
            pred, probs = I.predict_one(model, vec)
            seen = (what, key, id(s.canvas) if what == "your drawing" else None)
            if st.session_state.get("_inspect_seen") is None:  # the first look (or a digit sent from Train)
                st.session_state["_inspect_seen"] = seen
            elif st.session_state.get("_inspect_seen") != seen:
                st.session_state["inspect_class"] = None  # another digit: the user says again what they meant
                st.session_state["_inspect_seen"] = seen
            outputs = I.layer_outputs(model, vec)
        except Exception as exc:
            log.exception("inspect failed")
            st.error(f"The network could not read this digit: {exc}")
            return

        st.markdown(f"**Saliency: which pixels decide** — {what}: the network reads **{pred}** "
                    f"({probs[pred]:.0%})")
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        c1.caption(
            "Bright pixels are where a small change of ink would change the network's score for that "
            "digit the most (|∂ score / ∂ pixel|, computed by backpropagation to the input; the score is "
            "taken before softmax). Each map is scaled to its own maximum; the blue line outlines the digit."
        )
        cls = c2.selectbox("Why not…?", list(range(len(probs))), index=None, key="inspect_class",
                           placeholder="Pick a digit",
                           help="Pick the digit you meant: a second map shows which pixels would make the "
                           "network read that digit instead.")
        maps = [(f"Why {pred}? (prediction)", I.normalize_map(I.saliency(model, vec, pred)))]
        if cls is not None:
            maps.append((f"Why {cls}? ({probs[cls]:.0%})" if cls != pred else f"Why {cls}? (same)",
                         I.normalize_map(I.saliency(model, vec, int(cls)))))
        figure = saliency_figure(image, maps).to_plotly_json()
        panels = len(maps) + 1  # side by side: a square each, less the gaps and the colour bar
        charts.live_plotly_chart(figure, key="saliency", height=SALIENCY_HEIGHT, label="Saliency maps",
                                 aspect=0.85 * (1 - 0.03 * (panels - 1)) / panels,
                                 narrow=(charts.STACK_BELOW_PX, stacked_saliency_layout(figure["layout"], panels)))
        if cls is None:
            st.caption("Not the digit you meant? Say which one above: a second map shows what would have "
                       "made the network read it.")

        if I.has_conv(model):
            feature_maps_section(model, vec)

        st.markdown("**Every dense layer's output for this digit**" if I.has_conv(model)
                    else "**Every layer's output for this digit**")
        st.caption(
            "One strip per layer, one cell per unit, colours scaled to each layer's largest output "
            "(red positive, blue negative, white zero; hover for values). The last strip holds the "
            "outputs, one per digit: the reddest cell is the prediction."
        )
        st.plotly_chart(strips_figure(outputs), key="strips", config=PLOT_CONFIG)

        if len(outputs) > 1 and not I.has_conv(model):
            st.markdown(f"**The {min(N_TOP, len(outputs[0].values))} most active first-layer units**")
            st.caption(
                "The first-layer units that respond most strongly to this digit, with their output value and "
                "the weights they look through: their red areas overlap the digit's ink."
            )
            top_units_row(model, outputs)

    _panel()


# ----------------------------------------------------------------------------------------------
# Weights and gradients over the epochs
# ----------------------------------------------------------------------------------------------
LEGEND_PX = 64  # the strip under a chart for its legend: two rows of entries on a phone


LAYER_COLORS = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#ea580c", "#dc2626", "#9333ea", "#6b7280"]


def norms_figure(model, df) -> go.Figure:
    labels = I.layer_labels(model)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Typical weight size", "Gradient size (log scale)"],
                        horizontal_spacing=0.1)
    layers = list(dict.fromkeys(df["layer"]))
    for k, layer in enumerate(layers):
        color = LAYER_COLORS[k % len(LAYER_COLORS)]
        for col, kind in ((1, "weights"), (2, "gradients")):
            d = df[(df["layer"] == layer) & (df["kind"] == kind)]
            fig.add_scatter(x=d["epoch"], y=d["rms"], customdata=d["norm"], mode="lines+markers",
                            name=labels.get(layer, layer), legendgroup=layer, showlegend=col == 1,
                            line=dict(color=color, width=2), marker=dict(size=7),
                            hovertemplate=f"{labels.get(layer, layer)}<br>epoch %{{x}}<br>typical size (rms) "
                            "%{y:.3g}<br>norm of the whole layer %{customdata:.3g}<extra></extra>", row=1, col=col)
    fig.update_yaxes(type="log", dtick="D2", exponentformat="e", row=1, col=2)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="epoch")
    if df["epoch"].max() <= 12:
        fig.update_xaxes(dtick=1, range=[0.5, df["epoch"].max() + 0.5])
    # the legend sits in its own strip at the bottom of the figure, below the axis titles (however many rows
    # it wraps into on a narrow screen, the margin under the plots makes room for it)
    fig.update_layout(height=380 + LEGEND_PX, margin=dict(l=10, r=10, t=40, b=LEGEND_PX), template="plotly_white",
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0),
                      uirevision="norms")
    fig.update_annotations(font_size=14)
    return fig


def histograms_figure(model, layer_stats, kind: str) -> go.Figure:
    labels = I.layer_labels(model)
    lines = I.histogram_lines(layer_stats, kind, max_epochs=6)
    names = list(lines)
    cols = min(len(names), 3)
    rows = (len(names) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_two_lines(labels.get(n, n)) for n in names],
                        horizontal_spacing=0.07, vertical_spacing=0.25 / max(rows, 1) + 0.1)
    epochs = sorted({h["epoch"] for hs in lines.values() for h in hs})
    shades = {e: f"rgba(79,70,229,{0.25 + 0.75 * (i + 1) / len(epochs):.2f})" for i, e in enumerate(epochs)}
    for k, name in enumerate(names):
        r, c = divmod(k, cols)
        for h in lines[name]:
            e = h["epoch"]
            fig.add_scatter(x=h["centers"], y=h["share"], mode="lines", line=dict(color=shades[e], width=2,
                            shape="hvh"), name=f"epoch {e}", legendgroup=str(e), showlegend=k == 0,
                            hovertemplate=f"epoch {e}<br>value %{{x:.3g}}<br>share %{{y:.1%}}<extra></extra>",
                            row=r + 1, col=c + 1)
        fig.update_xaxes(exponentformat="e", nticks=4, tickangle=0, row=r + 1, col=c + 1)
        fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=r + 1, col=c + 1)
    fig.update_layout(height=240 * rows + 40 + LEGEND_PX, margin=dict(l=10, r=10, t=50, b=LEGEND_PX),
                      template="plotly_white",
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0))
    fig.update_annotations(font_size=13)
    return fig


def _two_lines(label: str) -> str:
    """"Dense 1 (784→128, relu)" → the name over its shape, so subplot titles fit side by side."""
    name, _, rest = label.partition(" (")
    return f"{name}<br>({rest}" if rest else label


def dynamics_panel(s: Studio, key: str, live: bool) -> None:
    @st.fragment(run_every=POLL_SECONDS * 2 if live else None)
    def _panel() -> None:
        model = ui_data.current_model(s, key)
        if model is None:
            st.info("The training snapshot is not ready yet; it appears within a few seconds.")
            return
        stats = list(getattr(model, "layer_stats", []) or [])
        df = I.stats_frame(stats)
        if df.empty:
            extra = (" The pretrained model was saved without them." if key in ui_data.PRETRAINED_LABELS else "")
            st.info(NO_STATS + extra, icon=":material/monitoring:")
            st.caption("Tip: build a network with 6 sigmoid hidden layers and train one epoch to watch "
                       "gradients vanish; then try relu.")
            return
        health = I.gradient_health(stats)
        if health is not None:
            {"ok": st.success, "vanishing": st.warning, "exploding": st.error, "dead": st.error}.get(
                health.level, st.info)(health.text, icon=":material/stethoscope:")
        st.markdown("**Weight and gradient size per layer, after each epoch**")
        st.caption(
            "The typical size of one weight, and of one weight's gradient on the last batch of each epoch, per "
            "layer (the layer's norm divided by √ its number of weights, so big and small layers compare). "
            "If the first layers' gradients sit orders of magnitude below the last layer's, gradients vanish "
            "on their way back and those layers barely learn: try 6 sigmoid layers, then relu."
        )
        st.plotly_chart(norms_figure(model, df), key="norms", config=PLOT_CONFIG)
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        kind = c2.radio("Histogram of", ["weights", "gradients"], key="inspect_hist_kind", horizontal=True,
                        help="Show how the weights or the gradients of each layer are distributed.")
        c1.markdown(f"**How each layer's {kind} are spread** (light: early epochs, dark: latest)")
        c1.caption(
            "Share of the values in each range. Weights start as a narrow bell and spread as the network "
            "learns; gradients squeezed into a spike at zero (look at the axis values) mean that layer "
            "hardly changes."
        )
        st.plotly_chart(histograms_figure(model, stats, kind), key="histograms", config=PLOT_CONFIG)

    _panel()


# ----------------------------------------------------------------------------------------------
def main() -> None:
    sidebar_config()
    s = studio()
    record_finished_run(s)
    st.title("Inspect", anchor=False)
    choices = model_choices(s)
    if not choices:
        _, why = ui_data.pretrained()
        st.warning("There is no model to look inside. " + (why + " " if why else "")
                   + "Train one on the Train page first.", icon=":material/info:")
        page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    requested = take_request(s)
    keys = list(choices)
    untrained_session = s.model is not None and not (s.has_learned or s.training_active)
    shipped = [k for k in keys if k in ui_data.PRETRAINED_LABELS]
    default = shipped[0] if untrained_session and shipped else keys[0]
    ss = st.session_state
    # the default follows the session (e.g. a model restored after a reload, which arrives one run after
    # the page first showed, or a first model trained) until the user picks a model themselves
    if ss.get("inspect_model") not in keys or (ss.get(AUTO_CHOICE, True) and ss["inspect_model"] != default):
        ss["inspect_model"] = default
        ss[AUTO_CHOICE] = True
    key = st.radio("Model", keys, format_func=choices.get, key="inspect_model", horizontal=True,
                   on_change=lambda: ss.__setitem__(AUTO_CHOICE, False),
                   help="Which network to look inside: the one you trained or loaded in this session, or "
                   "a pretrained model shipped with NN Studio (a convolutional one and a dense one).")
    st.caption(model_caption(s, key))
    if key in ui_data.PRETRAINED_LABELS and untrained_session:
        st.info("Your model is not trained yet, so this page shows the pretrained model shipped with "
                "NN Studio. Train yours on the Train page to look inside it.", icon=":material/info:")
    show_notices()
    live = key == "session" and s.training_active
    choice = data_picker.current()
    if key == "session" and D.mismatch(s.model, choice.dataset):
        st.info(f"Your model does not fit the current data ({choice.label}): "
                f"{D.mismatch(s.model, choice.dataset)}. Its training dynamics are below; build a new model in the "
                "sidebar to look at it on this data.", icon=":material/swap_horiz:")
        dynamics_panel(s, key, live)
        return
    if not choice.dataset.is_image:
        st.caption(f"The current data is **{choice.label}**, not images: this page shows the first-layer weights per "
                   "input feature and the training dynamics. Weights as pictures, one digit layer by layer and "
                   "saliency maps need image data (MNIST).")
        t1, t3 = st.tabs([":material/grid_view: First-layer weights", ":material/monitoring: Training dynamics"])
        with t1:
            feature_weights_panel(s, key, live, choice)
        with t3:
            dynamics_panel(s, key, live)
        return
    shown = s.model if key == "session" else ui_data.current_model(s, key)  # its layers, not its weights
    conv = shown is not None and I.has_conv(shown)
    first = ":material/filter: Filters" if conv else ":material/grid_view: First-layer weights"
    t1, t2, t3 = st.tabs([first, DIGIT_TAB, ":material/monitoring: Training dynamics"], key="inspect_tabs",
                         default=DIGIT_TAB if requested or st.session_state.get(ORIGIN_KEY) else None)
    with t1:
        if conv:
            filters_panel(s, key, live)
        else:
            weights_panel(s, key, live)
    with t2:
        digit_panel(s, key, live)
    with t3:
        dynamics_panel(s, key, live)


main()

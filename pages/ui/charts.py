"""Figures: the Train page's loss/metric curves and confusion matrix, and a plotly chart component
that updates in place."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from nncore.studio.history import Curves, Mark

CURVES_HEIGHT = 320
TRAIN_COLOR = "#4f46e5"
VAL_COLOR = "#f97316"
GRID_COLOR = "#e5e7eb"
AXIS_COLOR = "#6b7280"
#: colour of the vertical lines that mark a change of each kind, and of the best epoch
MARK_COLORS = {"lr": "#7c3aed", "momentum": "#0891b2", "l2": "#b45309", "best": "#16a34a"}
#: labelled marks are at least this share of the x range apart (the lines are all drawn)
MARK_LABEL_GAP = 0.035
#: up to this many batch points, the training curve shows a marker at each one
FEW_POINTS = 40
METRIC_TITLES = {"accuracy": "Accuracy", "r2": "R²", "mae": "MAE"}


def curve_figure(c: Curves, live: bool = False, x_axis: str = "epochs", log_y: bool = False) -> dict:
    """One plotly figure spec, loss (left) and the model's metric, e.g. accuracy (right): per-batch
    points (faint, after training), their smoothed curve, validation per epoch, and a vertical line
    with a label at every mark (a change of learning rate, momentum or l2; the best epoch). While
    training (``live``) it is kept lean, because it is redrawn every second: no raw per-batch trace.
    ``x_axis``: "epochs" (passes over the training data) or "steps" (batches); ``log_y``: log-scale loss."""
    if x_axis not in ("epochs", "steps"):
        raise ValueError(f"x_axis must be 'epochs' or 'steps'; got {x_axis!r}.")
    steps = x_axis == "steps"
    data: list[dict] = []
    empty = c.empty
    fraction = c.metric == "accuracy"
    bx = c.batch_step if steps else c.batch_x
    ex = c.epoch_step if steps else c.epoch_x
    xfmt = "step %{x:,.0f}" if steps else "epoch %{x:.2f}"
    for col, key in ((1, "loss"), (2, "metric")):
        axes = dict(xaxis="x" if col == 1 else "x2", yaxis="y" if col == 1 else "y2")
        by, bys = getattr(c, f"batch_{key}"), getattr(c, f"batch_{key}_smooth")
        name = "loss" if key == "loss" else c.metric
        fmt = ".1%" if key == "metric" and fraction else ".4f"
        first = col == 1
        if len(bx):
            if not live:
                data.append(dict(type="scatter", x=bx, y=by, mode="lines", name="train, per batch",
                                 line=dict(color=TRAIN_COLOR, width=1), opacity=0.25, hoverinfo="skip",
                                 legendgroup="raw", showlegend=first, **axes))
            few = len(bx) <= FEW_POINTS  # stepping batch by batch: every point visible
            data.append(dict(type="scatter", x=bx, y=bys, mode="lines+markers" if few else "lines",
                             name="train, smoothed", marker=dict(size=6, color=TRAIN_COLOR),
                             line=dict(color=TRAIN_COLOR, width=2.5), legendgroup="smooth", showlegend=first,
                             hovertemplate=f"{xfmt}<br>{name} %{{y:{fmt}}}<extra>train</extra>", **axes))
        vy = c.val_loss if key == "loss" else c.val_metric
        if len(ex) and np.isfinite(vy).any():
            data.append(dict(type="scatter", x=ex, y=vy, mode="lines+markers",
                             name="validation, per epoch", line=dict(color=VAL_COLOR, width=2.5),
                             marker=dict(size=8), customdata=c.epoch_number, legendgroup="val",
                             showlegend=first,
                             hovertemplate=f"after epoch %{{customdata}}<br>{name} %{{y:{fmt}}}"
                             "<extra>validation</extra>", **axes))
    xtitle = dict(text="steps (batches)" if steps else "epochs")
    axis_style = dict(gridcolor=GRID_COLOR, zeroline=False, showline=False, ticks="outside", ticklen=4,
                      tickcolor="rgba(0,0,0,0)", automargin=True, title_font=dict(size=12, color=AXIS_COLOR),
                      tickfont=dict(size=11, color=AXIS_COLOR))
    loss_axis = dict(title=dict(text="loss (log scale)" if log_y else "loss"), visible=not empty, **axis_style)
    loss_axis.update(dict(type="log") if log_y else dict(rangemode="tozero"))
    shapes, labels = mark_shapes(c.marks, steps, _x_span(bx, ex))
    layout = dict(
        height=CURVES_HEIGHT,
        font=dict(family="'Source Sans 3', 'Source Sans Pro', sans-serif", size=12, color="#1f2937"),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin=dict(l=10, r=10, t=58, b=10),
        showlegend=not empty and not live,  # the legend is explained in the caption while training
        hovermode=False if live else "closest",
        # the legend at the top of the figure, the plots' headings under it (they touched at 1024 px)
        legend=dict(orientation="h", yref="container", yanchor="top", y=1, xanchor="right", x=1),
        xaxis=dict(domain=[0, 0.46], title=xtitle, rangemode="tozero", visible=not empty, **axis_style),
        xaxis2=dict(domain=[0.54, 1], title=xtitle, rangemode="tozero", visible=not empty, anchor="y2",
                    **axis_style),
        yaxis=loss_axis,
        # no axis title on the right plot: its heading names it, and a title there sat in the gap between the
        # plots, on the loss plot's "best val loss · epoch N" note when the best epoch was the last
        yaxis2=dict(anchor="x2", visible=not empty, **axis_style,
                    **(dict(range=[0, 1.01], tickformat=".0%") if fraction else {})),
        shapes=shapes,
        annotations=[
            dict(text="<b>Loss</b>", x=0, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                 showarrow=False, font=dict(size=15)),
            dict(text=f"<b>{METRIC_TITLES.get(c.metric, c.metric.upper())}</b>", x=0.54, y=1.0, xref="paper", yref="paper", xanchor="left",
                 yanchor="bottom", showarrow=False, font=dict(size=15)),
            *labels,
        ],
        uirevision=f"curves-{x_axis}-{log_y}",  # keep the user's zoom while the curves update
    )
    if empty:
        layout["annotations"].append(dict(text="Press Start to train; the loss and accuracy curves appear here.",
                                          showarrow=False, x=0.5, y=0.45, xref="paper", yref="paper",
                                          font=dict(size=14, color=AXIS_COLOR)))
    return {"data": data, "layout": layout}


def stacked_curve_layout(layout: dict) -> dict:
    """The curve figure's layout with the metric plot under the loss plot (each full width) and the legend
    under both, for a narrow chart (a phone), where side by side both plots were cramped and the legend
    wrapped. Height: STACKED_CURVES_HEIGHT."""
    out = dict(layout)
    out["height"] = STACKED_CURVES_HEIGHT
    out["margin"] = dict(l=10, r=10, t=30, b=10)
    out["xaxis"] = dict(layout["xaxis"], domain=[0, 1])
    out["xaxis2"] = dict(layout["xaxis2"], domain=[0, 1])
    out["yaxis"] = dict(layout["yaxis"], domain=[0.6, 1])
    out["yaxis2"] = dict(layout["yaxis2"], domain=[0, 0.4])
    out["legend"] = dict(orientation="h", yref="container", y=0, yanchor="bottom", xanchor="left", x=0)
    annotations = list(layout.get("annotations", []))
    annotations[1] = dict(annotations[1], x=0, y=0.4)  # the metric plot's heading, over its plot
    out["annotations"] = annotations
    return out


#: the curves' height when the two plots are stacked, and the chart width below which they are
STACKED_CURVES_HEIGHT = 600
STACK_BELOW_PX = 440


def _x_span(*series: np.ndarray) -> float:
    values = [float(np.nanmax(s)) for s in series if len(s) and np.isfinite(s).any()]
    return max(values, default=1.0) or 1.0


def mark_shapes(marks: tuple[Mark, ...], steps: bool, span: float) -> tuple[list[dict], list[dict]]:
    """Plotly shapes (a dashed vertical line per mark, on both charts) and labels (on the loss
    chart, written along the line; a label closer than MARK_LABEL_GAP to the previous one is left
    out, the best epoch always labelled)."""
    shapes: list[dict] = []
    labels: list[dict] = []
    last_labelled = -np.inf
    for m in marks:
        x = m.step if steps else m.x
        color = MARK_COLORS.get(m.kind, AXIS_COLOR)
        dash = "solid" if m.kind == "best" else "dot"
        for xref, yref in (("x", "y domain"), ("x2", "y2 domain")):
            shapes.append(dict(type="line", xref=xref, yref=yref, x0=x, x1=x, y0=0, y1=1, layer="below",
                               line=dict(color=color, width=1.5, dash=dash)))
        if m.kind == "best" or x - last_labelled >= MARK_LABEL_GAP * span:
            labels.append(dict(text=m.label, x=x, y=1, xref="x", yref="y domain", xanchor="right", yanchor="top",
                               textangle=-90, xshift=-2, showarrow=False, font=dict(size=10, color=color),
                               bgcolor="rgba(255,255,255,0.75)"))
            if m.kind != "best":
                last_labelled = x
    return shapes, labels


def confusion_figure(cm: np.ndarray, class_names: list[str]) -> go.Figure:
    """Counts (classes, classes), row = true class, as an heatmap (any number of classes; the counts are
    written in the cells up to 20 classes)."""
    k = len(class_names)
    names = [str(c) for c in class_names]
    if len(set(names)) != k:  # category axes merge equal labels
        names = [f"{i}: {c}" for i, c in enumerate(names)]
    annotate = k <= 20
    fig = go.Figure(go.Heatmap(
        z=cm, x=names, y=names,
        colorscale="Blues", text=cm if annotate else None, texttemplate="%{text}" if annotate else None,
        textfont=dict(size=11 if k <= 12 else 9),
        hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>", showscale=False,
    ))
    fig.update_layout(height=int(np.clip(120 + 30 * k, 260, 640)), margin=dict(l=10, r=10, t=10, b=10),
                      template="plotly_white",
                      xaxis=dict(title="predicted", side="bottom", constrain="domain", type="category"),
                      yaxis=dict(title="true", autorange="reversed", scaleanchor="x", type="category"))
    return fig


def regression_figure(true: np.ndarray, predicted: np.ndarray, target: str = "target") -> go.Figure:
    """Predicted against true values (n,), one dot per sample, with the diagonal where they are equal."""
    t = np.asarray(true, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    finite = p[np.isfinite(p)]
    lo = float(min(t.min(), finite.min() if finite.size else t.min()))
    hi = float(max(t.max(), finite.max() if finite.size else t.max()))
    pad = 0.04 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    fig = go.Figure()
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="prediction = true value",
                    line=dict(color=AXIS_COLOR, dash="dash", width=1.5), hoverinfo="skip")
    fig.add_scatter(x=t, y=p, mode="markers", name="test samples",
                    marker=dict(color=TRAIN_COLOR, size=6 if len(t) <= 2000 else 3, opacity=0.65),
                    hovertemplate="true %{x:.4g}<br>predicted %{y:.4g}<extra></extra>")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
                      xaxis=dict(title=f"true {target}", range=[lo, hi], constrain="domain"),
                      yaxis=dict(title=f"predicted {target}", range=[lo, hi], scaleanchor="x", constrain="domain"))
    return fig


# ----------------------------------------------------------------------------------------------
# A plotly chart that updates in place (the Train page's curves, redrawn every second)
# ----------------------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    """JSON-ready copy of a figure spec: arrays become lists, NaN/inf become None (gaps)."""
    if isinstance(v, np.ndarray):
        return [None if (isinstance(x, float) and not np.isfinite(x)) else x for x in v.tolist()]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def _declare_plotly_live():
    import plotly
    import streamlit.components.v1 as components

    chart = components.declare_component("plotly_live", path=str(Path(__file__).resolve().parent / "plotly_live"))
    # plotly.js as shipped inside the plotly Python package, served by Streamlit (works offline)
    library = components.declare_component("plotly_js", path=str(Path(plotly.__file__).parent / "package_data"))
    return chart, f"../{library.name}/plotly.min.js"


_PLOTLY_LIVE, _PLOTLY_JS_URL = _declare_plotly_live()


def live_plotly_chart(spec: dict, key: str, height: int, static: bool = False, label: str = "",
                      aspect: float | None = None, narrow: tuple[int, dict] | None = None) -> None:
    """Show ``{"data": [...], "layout": {...}}`` with plotly.js and update it in place on reruns.

    ``st.plotly_chart`` gives each new figure a new element id, so the browser rebuilds the chart
    from scratch on every update (about 0.2 s of CPU on the machines we measure). This component
    (``pages/ui/plotly_live/index.html``) keeps one chart and calls ``Plotly.react`` with each new
    figure. ``static`` turns off hover and zoom (cheaper while the figure changes every second).
    ``aspect``: the plot area's height per width (a map with equal axis scales); the chart is then
    no taller than that needs at the width the browser gives it (at most ``height``).
    ``narrow``: (width in px, layout): below that chart width the browser draws this layout instead (its
    own height; ``aspect`` does not apply to it), and switches back and forth when the width changes.
    """
    config = {"displaylogo": False, "staticPlot": bool(static)}
    extra = {} if aspect is None else {"aspect": float(aspect)}  # the same args as before when not fitted
    if narrow is not None:
        extra["narrow"] = {"below": int(narrow[0]), "layout": _plain(narrow[1])}
    _PLOTLY_LIVE(figure=_plain(spec), config=config, height=int(height), label=label,
                 plotly_src=_PLOTLY_JS_URL, key=key, default=None, **extra)

"""One step, every number: walk through one training step (forward, loss, backward, update) of a
tiny network on a batch of four points, every matrix shown beside its formula; or of the session's
current model on a few of its training samples.

The numbers come from the engine (`NN.trace_step` via `nncore.stepdoc`); this page reads widgets,
calls stepdoc and renders. `render_step(model, x_batch, y_batch)` works for any compiled dense model
and can be called from another page (importing this module runs no page code).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run pages/step.py` from anywhere
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from nncore import stepdoc as SD  # noqa: E402
from nncore.errors import NotCompiledError  # noqa: E402
from nncore.studio import choices  # noqa: E402

OPTIMIZERS = tuple(choices.optimizer_names())
#: learning rates that make one step of the tiny model visible in 4 digits without blowing it up
TINY_LR = {"sgd": 0.5, "iterative": 0.5, "momentum": 0.2, "adam": 0.05, "rmsprop": 0.05,
           "adagrad": 0.5, "adamax": 0.1, "adadelta": 1.0}
LR_CHOICES = (0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
SGD_MOMENTUM_CHOICES = (0.0, 0.5, 0.9)
BATCH_SIZE = 4
VIEWS = ("Tables", "Heatmaps")
PLOT_CONFIG = {"displayModeBar": False}
#: a formula wider than a phone scrolls sideways instead of being cut off
KATEX_CSS = "<style>.stLatex .katex-display, .katex-display { overflow-x: auto; overflow-y: hidden; }</style>"

NOTATION = """
- A batch of **n** samples is a matrix **X** with one sample per row; **Y** holds the targets.
- Layer *l* turns its input **A⁽ˡ⁻¹⁾** into **A⁽ˡ⁾** (with **A⁽⁰⁾ = X**). A dense layer first computes
  **Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾·W⁽ˡ⁾ + b⁽ˡ⁾**, then applies its activation *f* to every entry.
- The shape (rows × columns) is written under each symbol. **⊙** multiplies entry by entry; **ᵀ** transposes.
- **∂L/∂M** is the gradient of the loss L with respect to M: same shape as M, one number per entry saying
  how much L would change if that entry grew a little. L is the mean over the batch.
- Under each formula, ✓ marks a check: the formula recomputed with NumPy from the traced numbers gives the traced result.
"""


# ----------------------------------------------------------------------------------------------
# Rendering one documented step (any compiled dense model)
# ----------------------------------------------------------------------------------------------
def _go(state_key: str, keys: list[str], delta: int) -> None:
    """Next/Back: move the stage selector (a callback, so it runs before the selectbox is drawn)."""
    current = st.session_state.get(state_key, keys[0])
    i = keys.index(current) if current in keys else 0
    st.session_state[state_key] = keys[max(0, min(len(keys) - 1, i + delta))]


def _phase_strip(doc: SD.StepDoc, stage: SD.Stage) -> str:
    present = [p for p in SD.PHASES if any(s.phase == p for s in doc.stages)]
    parts = [f":blue-background[**{p}**]" if p == stage.phase else p for p in present]
    number = [s.key for s in doc.stages].index(stage.key) + 1
    return " → ".join(parts) + f" &nbsp;·&nbsp; stage {number} of {len(doc.stages)}"


def _array_width(arr: SD.Array) -> int:
    """Pixel width of one matrix card: enough for its columns, capped so cards wrap on phones."""
    if not arr.is_small:
        return 330
    cols = SD.as_matrix(arr.values).shape[1]
    return int(min(520, max(150, 40 + 64 * cols)))


def _frame(matrix: np.ndarray, row_start: int = 1):
    import pandas as pd

    rows, cols = matrix.shape
    return pd.DataFrame(matrix, index=[str(row_start + i) for i in range(rows)],
                        columns=[str(j + 1) for j in range(cols)])


def _table(matrix: np.ndarray) -> None:
    st.table(_frame(matrix).style.format("{:.4f}"))


def _heatmap(matrix: np.ndarray, key: str) -> None:
    import plotly.graph_objects as go

    rows, cols = matrix.shape
    limit = float(np.max(np.abs(matrix))) or 1.0
    fig = go.Figure(go.Heatmap(
        z=matrix.tolist(), x=[str(j + 1) for j in range(cols)], y=[str(i + 1) for i in range(rows)],
        text=[[f"{v:.3f}" for v in row] for row in matrix], texttemplate="%{text}",
        colorscale="RdBu_r", zmin=-limit, zmax=limit, showscale=False, xgap=1, ygap=1,
        hovertemplate="row %{y}, column %{x}: %{z:.6g}<extra></extra>",
    ))
    fig.update_layout(height=34 + 30 * rows, margin=dict(l=4, r=4, t=4, b=4),
                      yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category", side="top"))
    st.plotly_chart(fig, key=key, config=PLOT_CONFIG)


def render_array(arr: SD.Array, view: str, key: str) -> None:
    """One matrix: its name and shape, then the whole matrix (small) or a summary (large)."""
    tag = ", computed here from traced numbers" if arr.derived else ""
    st.markdown(f"**{arr.label}** :gray[({arr.shape_text}{tag})]")
    if arr.is_small:
        matrix = SD.as_matrix(arr.values).astype(np.float64)
        if view == "Heatmaps":
            _heatmap(matrix, key)
        else:
            _table(matrix)
        return
    s = SD.summarize(arr.values)
    st.caption(f"min {s['min']:.4g} · max {s['max']:.4g} · mean {s['mean']:.4g} · std {s['std']:.4g}; "
               f"the top-left {s['corner'].shape[0]}×{s['corner'].shape[1]} entries:")
    _table(s["corner"])


def render_step(model, x_batch, y_batch, key: str = "step") -> SD.StepDoc | None:
    """Walk through one training step of `model` on (x_batch, y_batch) with Next/Back and a stage
    selector; the model is not changed. Returns the documented step (None when it cannot be traced)."""
    try:
        doc = SD.describe_step(model, x_batch, y_batch)
    except (ValueError, TypeError, NotCompiledError) as exc:  # not compiled, wrong shapes, …: say so
        st.warning(f"This step cannot be shown: {exc}")
        return None
    keys = [s.key for s in doc.stages]
    titles = {s.key: s.title for s in doc.stages}
    state_key = f"{key}_stage"
    if st.session_state.get(state_key) not in keys:
        st.session_state[state_key] = keys[0]
    current = st.session_state[state_key]

    st.html(KATEX_CSS)
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"{key}_nav"):
        st.button("Back", key=f"{key}_back", icon=":material/arrow_back:", on_click=_go,
                  args=(state_key, keys, -1), disabled=current == keys[0])
        st.button("Next", key=f"{key}_next", icon=":material/arrow_forward:", icon_position="right",
                  type="primary", on_click=_go, args=(state_key, keys, 1), disabled=current == keys[-1])
        st.selectbox("Stage", keys, key=state_key, format_func=lambda k: titles[k],
                     label_visibility="collapsed", width=260)
    stage = doc.stage(st.session_state[state_key])
    st.markdown(_phase_strip(doc, stage))

    st.subheader(stage.title, anchor=False)
    st.markdown(stage.text)
    for formula in stage.latex:
        st.latex(formula)
    for check in stage.checks:
        mark = ":green[✓]" if check.ok else ":red[✗]"
        st.caption(f"{mark} {check.text} (largest difference {check.max_diff:.2g})")
    if stage.note:
        st.info(stage.note, icon=":material/history_edu:")

    view = st.radio("Show the numbers as", VIEWS, horizontal=True, key=f"{key}_view")
    with st.container(horizontal=True, gap="medium", key=f"{key}_arrays"):
        for j, arr in enumerate(stage.arrays):
            with st.container(width=_array_width(arr)):
                render_array(arr, view, key=f"{key}_{stage.key}_{j}")
    return doc


# ----------------------------------------------------------------------------------------------
# The page's tiny model
# ----------------------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=16)
def _points(dataset: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return SD.tiny_points(dataset, seed=seed)


def _init_state() -> None:
    ss = st.session_state
    ss.setdefault("step_dataset", "xor")
    ss.setdefault("step_hidden", "tanh")
    ss.setdefault("step_opt", "sgd")
    ss.setdefault("step_lr", TINY_LR["sgd"])
    ss.setdefault("step_momentum", 0.0)
    ss.setdefault("step_seed", 0)
    ss.setdefault("step_draw", 0)
    ss.setdefault("step_losses", [])


def _suggest_lr() -> None:
    st.session_state["step_lr"] = TINY_LR[st.session_state["step_opt"]]


def _tiny_model():
    """The page's model, rebuilt when the data, activation or seed change and recompiled (weights
    kept, optimizer state reset) when the optimizer settings change."""
    ss = st.session_state
    build = (ss["step_dataset"], ss["step_hidden"], int(ss["step_seed"]))
    uses_momentum = choices.optimizer(ss["step_opt"]).uses_momentum_rate
    opt = (ss["step_opt"], float(ss["step_lr"]), float(ss["step_momentum"]) if uses_momentum else None)
    model = ss.get("step_model")
    if model is None or ss.get("step_built") != build:
        model = SD.tiny_model(build[1], opt[0], opt[1], seed=build[2], momentum=opt[2])
        ss["step_model"], ss["step_built"], ss["step_compiled"] = model, build, opt
        ss["step_losses"], ss["step_applied"] = [], 0
    elif ss.get("step_compiled") != opt:
        model.compile_model(lr=opt[1], opt=opt[0], loss="cse", mr=opt[2])
        ss["step_compiled"] = opt
    return model


def _batch() -> tuple[np.ndarray, np.ndarray]:
    ss = st.session_state
    x, y = _points(ss["step_dataset"], int(ss["step_seed"]))
    idx = SD.pick_batch(y, BATCH_SIZE, int(ss["step_draw"]), int(ss["step_seed"]))
    return x[idx], y[idx]


def _apply() -> None:
    model = _tiny_model()
    x, y = _batch()
    before = model.evaluate(x, y)["loss"]
    model.trace_step(x, y, apply=True)
    if not st.session_state["step_losses"]:
        st.session_state["step_losses"] = [float(before)]
    st.session_state["step_losses"] = st.session_state["step_losses"] + [float(model.evaluate(x, y)["loss"])]
    st.session_state["step_applied"] = int(st.session_state.get("step_applied", 0)) + 1


def _new_batch() -> None:
    st.session_state["step_draw"] = int(st.session_state["step_draw"]) + 1
    st.session_state["step_losses"] = []


def _reset_weights() -> None:
    st.session_state.pop("step_model", None)


def _settings() -> None:
    with st.container(horizontal=True, gap="small", key="step_settings"):
        st.selectbox("Data", SD.TINY_DATASETS, key="step_dataset", width=130,
                     help="Four points of one of the Playground's 2-D sets, divided by 6 so they lie in [−1, 1].")
        st.selectbox("Hidden units", SD.TINY_ACTIVATIONS, key="step_hidden", width=130,
                     help="The activation of the 3 hidden units. Changing it draws new weights.")
        st.selectbox("Optimizer", OPTIMIZERS, key="step_opt", on_change=_suggest_lr, width=140,
                     help="The update rule. Changing it keeps the weights and starts the rule's state afresh.")
        st.selectbox("Learning rate η", LR_CHOICES, key="step_lr", width=130, format_func=lambda v: f"{v:g}",
                     help="η, the step size: it scales every weight update (the Update stage shows how). "
                     "Changing the optimizer suggests its typical rate.")
        if choices.optimizer(st.session_state["step_opt"]).uses_momentum_rate:
            st.selectbox("Momentum μ", SGD_MOMENTUM_CHOICES, key="step_momentum", width=120,
                         format_func=lambda v: f"{v:g}",
                         help="Share μ of the previous update added to the next one (0: plain gradient descent). "
                         "Its effect shows from the second applied step on.")
        st.number_input("Seed", min_value=0, max_value=9999, step=1, key="step_seed", width=110,
                        help="Seeds the data and the initial weights.")


MODES = ("A tiny 2-3-2 network", "Your current model")
CURRENT_BATCH_SIZES = (4, 6, 8)
DENSE_LAYERS = ("FFL", "Flatten", "Dropout")


def _current_model_batch(s, k: int, draw: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``k`` samples of the session's training data (the run's, else the sidebar's split), drawn
    reproducibly by ``draw``: (x (k, ...), y (k,), where they come from)."""
    run = s.run if s.run is not None and s.run.model is s.model else None
    if run is not None:
        x, y, where = run.x, run.y, f"the {run.n_train:,} training samples of the current run"
    else:
        from pages.ui import data as ui_data

        ss = st.session_state
        split = ui_data.training_split(ui_data.DATASET, int(ss.get("cfg_n_samples", 10_000)),
                                       float(ss.get("cfg_val", 0.1)), int(ss.get("cfg_seed", 0)))
        x, y, where = split.x, split.y, f"the {len(split.x):,} training samples the sidebar selects"
    rng = np.random.default_rng([int(st.session_state.get("cfg_seed", 0)), int(draw)])
    idx = np.sort(rng.choice(len(x), size=min(k, len(x)), replace=False))
    return x[idx], y[idx], where


def _why_not_dense(model) -> str | None:
    """A sentence when ``model`` cannot be walked through here, else None."""
    if model is None:
        return "There is no current model yet: set up a network in the sidebar (or on the Train page) first."
    if not getattr(model, "compiled", False):
        return ("The current model has no training settings (optimizer and loss), so there is no training step "
                "to show. Build a model in the sidebar.")
    kinds = [type(layer).__name__ for layer in model.layers]
    other = sorted({k for k in kinds if k not in DENSE_LAYERS})
    if other:
        return (f"This page walks through dense networks (Dense, Flatten and Dropout layers); the current model "
                f"also has {', '.join(other)} layers.")
    return None


def _next_draw() -> None:
    st.session_state["step_current_draw"] = int(st.session_state.get("step_current_draw", 0)) + 1


def current_model_view() -> None:
    """One step of the session's current model on 4–8 of its training samples (the model is not changed)."""
    from pages.ui.format import model_text
    from pages.ui.sidebar import sidebar_config
    from pages.ui.state import studio

    sidebar_config()
    s = studio()
    why = _why_not_dense(s.model)
    if why:
        st.info(why, icon=":material/info:")
        return
    ss = st.session_state
    ss.setdefault("step_current_n", CURRENT_BATCH_SIZES[0])
    ss.setdefault("step_current_draw", 0)
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom", key="step_current_settings"):
        st.selectbox("Samples in the batch", CURRENT_BATCH_SIZES, key="step_current_n", width=170,
                     help="A small batch keeps the matrices readable; large ones are summarised by a corner.")
        st.button("New batch", key="step_current_new", icon=":material/shuffle:", on_click=_next_draw,
                  help="Other samples from the training data.")
    x, y, where = _current_model_batch(s, int(ss["step_current_n"]), int(ss["step_current_draw"]))
    model = s.run.snapshot_model() if s.training_active else s.model.copy()  # a still copy, never the live one
    if model is None:
        st.warning("The training run did not reach a batch boundary in time; try again.")
        return
    st.caption(f"**{model_text(model)}**, {len(x)} samples drawn from {where}. The step is computed on a copy: "
               "your model does not change.")
    st.divider()
    render_step(model, x, y, key="step_current")


def tiny_lab() -> None:
    """The tiny 2-3-2 network on four points, with its settings and Apply/New batch/Reset."""
    with st.expander("How to read the formulas"):
        st.markdown(NOTATION)
    _settings()
    model = _tiny_model()
    x, y = _batch()
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key="step_actions"):
        st.button("Apply this step", key="step_apply", icon=":material/play_arrow:", type="primary",
                  on_click=_apply, help="Change the weights by this step's update (one training step on this batch).")
        st.button("New batch", key="step_new_batch", icon=":material/shuffle:", on_click=_new_batch,
                  help="Four other points of the same data.")
        st.button("Reset weights", key="step_reset", icon=":material/restart_alt:", on_click=_reset_weights,
                  help="Start again from the initial weights.")
    losses = st.session_state["step_losses"]
    applied = int(st.session_state.get("step_applied", 0))
    if applied:
        trail = " → ".join(f"{v:.4f}" for v in losses[-6:])
        st.caption(f"Steps applied: {applied}. Loss on this batch, step by step: {trail}")
    else:
        st.caption("No step applied yet: the weights are the initial ones.")
    st.divider()
    render_step(model, x, y, key="step")


def main() -> None:
    from pages.ui.nav import misrouted

    if misrouted():  # a deep link served before the router ran: let the router handle it
        st.rerun()
    _init_state()
    st.title("One step, every number", anchor=False)
    st.markdown(
        "Follow one training step, **forward, loss, backward, update**, with every number shown beside the "
        "formula that produced it. Every number is what nncore computed for this step (`trace_step` runs the "
        "same code as training)."
    )
    st.session_state.setdefault("step_mode", MODES[0])
    st.segmented_control(
        "Network", MODES, key="step_mode",
        help="A tiny network (2 inputs → 3 hidden units → 2 softmax outputs) on a batch of 4 points, small enough "
        "to see every number; or your current model from the sidebar on a few of its training samples.",
    )
    if st.session_state.get("step_mode") == MODES[1]:
        current_model_view()
    else:
        tiny_lab()


if __name__ == "__main__":
    main()

"""The configuration sidebar: a network spec (``NN.get_config()`` format) plus training settings.
The network is dense, or for image data convolutional (conv blocks, Flatten, the same dense head).

The router (``app.py``) renders it once per run *before* the page, so its widgets keep their values
across page switches; a page run on its own (AppTest) renders it itself via :func:`sidebar_config`.

What the sidebar does to the session's model:

* no model yet, or a model that has learned nothing: it follows the sidebar (rebuilt on change);
* same architecture: optimizer, learning rate, momentum and loss apply to the model as it is (the
  weights stay): the same optimizer is steered with ``set_hyperparameters`` (also while training,
  from the next batch), another optimizer or loss re-compiles the model once no run is active;
* another architecture: nothing changes until the user presses Build new model (confirmed in place
  when the current model has learned something).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

from nncore.studio import choices, spec
from nncore.studio.spec import ConvBlock, HiddenLayer, TrainSettings

from . import data as ui_data
from . import data_picker, training
from . import url_config
from .format import model_text, status_line
from .nav import misrouted
from .notices import show_notices
from .state import Studio, record_finished_run, studio

DEFAULT_LAYERS = (HiddenLayer(128, "relu", 0.0), HiddenLayer(64, "relu", 0.0))
DEFAULTS: dict[str, Any] = {
    "cfg_n_samples": 10_000,
    "cfg_val": 0.1,
    "cfg_out_act": "softmax",
    "cfg_loss": "cse",
    "cfg_opt": "adam",
    "cfg_batch": 128,
    "cfg_epochs": 3,
    "cfg_seed": 0,
}
STATUS_SECONDS = 2.0


@dataclass
class SidebarResult:
    config: dict[str, Any]  # the spec the sidebar describes (NN.get_config() format)
    settings: TrainSettings
    net_problems: dict[str, str]
    train_problems: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.net_problems and not self.train_problems

    @property
    def shape_text(self) -> str:
        return spec.shape_text(self.config)


# ----------------------------------------------------------------------------------------------
# Widget state
# ----------------------------------------------------------------------------------------------
def init_widget_state() -> None:
    """Default values for the sidebar widgets (set once; widgets then own them)."""
    ss = st.session_state
    for k, v in DEFAULTS.items():
        if k not in ss:
            ss[k] = v
    if "cfg_lr" not in ss:
        ss["cfg_lr"] = choices.optimizer(ss["cfg_opt"]).typical_lr
    if "cfg_mr" not in ss:
        ss["cfg_mr"] = choices.default_momentum()
    if "layer_ids" not in ss:
        _set_layers(DEFAULT_LAYERS)
    for i in ss["layer_ids"]:  # keep layer widget values alive on runs that do not render them
        for suffix, default in (("n", 64), ("act", "relu"), ("drop", 0.0)):
            key = f"cfg_L{i}_{suffix}"
            ss[key] = ss.get(key, default)


def _set_layers(layers: tuple[HiddenLayer, ...]) -> None:
    ss = st.session_state
    for i in list(ss.get("layer_ids", [])):
        _forget_layer(i)
    start = ss.get("layer_next", 0)
    ids = []
    for k, h in enumerate(layers):
        i = start + k
        ids.append(i)
        ss[f"cfg_L{i}_n"] = int(h.neurons)
        ss[f"cfg_L{i}_act"] = h.activation
        ss[f"cfg_L{i}_drop"] = float(h.dropout)
    ss["layer_ids"] = ids
    ss["layer_next"] = start + len(layers)


def _forget_layer(i: int) -> None:
    for suffix in ("n", "act", "drop"):
        st.session_state.pop(f"cfg_L{i}_{suffix}", None)


def _add_layer() -> None:
    """Append a hidden layer like the last one (same width and activation), without dropout."""
    ss = st.session_state
    if len(ss["layer_ids"]) >= spec.MAX_HIDDEN:
        return
    i = ss["layer_next"]
    ss["layer_next"] = i + 1
    last = ss["layer_ids"][-1] if ss["layer_ids"] else None
    ss[f"cfg_L{i}_n"] = int(ss.get(f"cfg_L{last}_n", 64)) if last is not None else 64
    ss[f"cfg_L{i}_act"] = ss.get(f"cfg_L{last}_act", "relu") if last is not None else "relu"
    ss[f"cfg_L{i}_drop"] = 0.0
    ss["layer_ids"] = [*ss["layer_ids"], i]


def _remove_layer(i: int) -> None:
    ss = st.session_state
    ss["layer_ids"] = [j for j in ss["layer_ids"] if j != i]
    _forget_layer(i)


def _optimizer_changed() -> None:
    """Offer the new optimizer's typical learning rate (and its default momentum)."""
    ss = st.session_state
    ss["cfg_lr"] = choices.optimizer(ss["cfg_opt"]).typical_lr


def show_config(config: dict[str, Any]) -> bool:
    """Make the sidebar show ``config`` exactly (after loading, resetting or restoring a model).
    Call from a callback. False when the sidebar cannot show that network (it then keeps its values)."""
    try:
        v = spec.read_network(config)
    except spec.SpecError:
        return False
    ss = st.session_state
    _show_conv(v)
    _set_layers(v.hidden)
    ss["cfg_out_act"] = v.output_activation
    ss["cfg_loss"] = v.loss
    ss["cfg_opt"] = v.optimizer
    ss["cfg_lr"] = v.lr
    if v.momentum is not None:
        ss["cfg_mr"] = v.momentum
    ss["cfg_l2"] = v.l2
    if v.seed is not None:
        ss["cfg_seed"] = int(v.seed)
    return True


def read_sidebar() -> tuple[dict[str, Any], TrainSettings]:
    """The spec and training settings the sidebar widgets currently hold."""
    ss = st.session_state
    ds = ui_data.dataset()
    hidden = [HiddenLayer(int(ss[f"cfg_L{i}_n"]), str(ss[f"cfg_L{i}_act"]), float(ss[f"cfg_L{i}_drop"]))
              for i in ss["layer_ids"]]
    opt = choices.optimizer(ss["cfg_opt"])
    config = spec.dense_config(
        input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs, hidden=hidden,
        output_activation=ss["cfg_out_act"], loss=ss["cfg_loss"], optimizer=opt.name, lr=float(ss["cfg_lr"]),
        momentum=float(ss["cfg_mr"]) if opt.uses_momentum_rate else None, seed=int(ss["cfg_seed"]),
        metrics=["accuracy"] if ds.is_classification else list(spec.REGRESSION_METRICS),
        l2=float(ss.get("cfg_l2", STEER_DEFAULTS["cfg_l2"])),
    )
    if _network_kind(ds) == "cnn":
        config = spec.with_conv(config, _conv_blocks(), str(ss.get("cfg_conv_act", "relu")),
                                float(ss.get("cfg_flat_drop", 0.0)))
    settings = TrainSettings(n_samples=int(ss["cfg_n_samples"]), val_fraction=float(ss["cfg_val"]),
                             batch_size=int(ss["cfg_batch"]), epochs=int(ss["cfg_epochs"]),
                             schedule=str(ss.get("cfg_schedule", STEER_DEFAULTS["cfg_schedule"])),
                             patience=int(ss.get("cfg_patience", STEER_DEFAULTS["cfg_patience"])),
                             restore_best=bool(ss.get("cfg_restore", STEER_DEFAULTS["cfg_restore"])))
    return config, settings


# ----------------------------------------------------------------------------------------------
# What the sidebar does to the model
# ----------------------------------------------------------------------------------------------
def summary_of(config: dict[str, Any]):
    """Summary DataFrame and parameter count of ``config`` (cached per session and spec)."""
    import json

    key = json.dumps(config, sort_keys=True)
    cache = st.session_state.setdefault("_summary_cache", {})
    if key not in cache:
        model = spec.build(config)
        if len(cache) > 16:
            cache.clear()
        cache[key] = (model.summary(), int(model.total_parameters))
    df, total = cache[key]
    return df.copy(), total


def architecture_differs(s: Studio, config: dict[str, Any]) -> bool:
    """True when ``config`` is another network than the session's model, or reads its input
    another way (other Playground features, another table's standardisation)."""
    if s.model is None:
        return False
    current = s.model.get_config()
    return not spec.same_architecture(config, current) or not spec.same_input(config, current)


def follow_sidebar(s: Studio, config: dict[str, Any], problems: dict[str, str]) -> None:
    """Keep the session's model in line with the sidebar (see the module docstring)."""
    if problems:
        return
    if s.model is None or (not s.has_learned and not s.training_active and (
            architecture_differs(s, config) or s.model.seed != config["seed"])):
        try:
            s.set_model(spec.build(config), f"built from the sidebar ({spec.shape_text(config)})")
        except Exception as exc:
            s.model = None
            s.notify("error", f"The model could not be built: {exc}", "sidebar")
        return


def apply_training_settings(s: Studio, config: dict[str, Any]) -> str | None:
    """Optimizer, learning rate, momentum, l2 and loss of ``config`` → the session's model, weights kept.
    Returns a sentence when a change has to wait for the run to end.

    The rate, momentum and l2 are steered (``set_hyperparameters``: at once, or from the next batch
    while the model trains) when the sidebar's value changes, or on the first look at a model whose
    values differ from the sidebar's. A rate that a schedule or the plateau rule set is left alone
    until the user picks a new one."""
    m = s.model
    if m is None or not m.compiled:
        return None
    name, lr, momentum = spec.optimizer_settings(config)
    loss = config["compile"]["loss"]
    cur_name, cur_lr, cur_momentum = spec.optimizer_settings(m.get_config())
    if (name, loss) != (cur_name, m.loss.name):
        if s.training_active:
            return f"The change to {name} / {choices.loss_label(loss)} applies when this run ends."
        try:
            m.compile_model(lr=lr, opt=name, loss=loss, mr=momentum, metrics=m.metrics)
        except ValueError as exc:
            s.notify("error", f"The model could not use these settings: {exc}", "sidebar")
        return None
    wanted = {"lr": lr, "momentum": momentum, "l2": spec.l2_of(config)}
    last = st.session_state.get("_steered")
    if isinstance(last, tuple) and last[0] is m:
        base = last[1]  # the sidebar's values applied last: only a change in the sidebar steers
    else:
        base = {"lr": cur_lr, "momentum": cur_momentum, "l2": spec.l2_of(m.get_config())}
    changes = {k: v for k, v in wanted.items() if v is not None and v != base.get(k)}
    if "momentum" not in m.optimizer.steerable:
        changes.pop("momentum", None)
    if changes:
        m.set_hyperparameters(**changes)  # at once, or from the next batch while it trains
    st.session_state["_steered"] = (m, wanted)
    return None


def _confirm_build() -> None:
    studio().confirm = "build"


def _cancel_confirm() -> None:
    studio().confirm = None


def _do_build() -> None:
    s = studio()
    config, _ = read_sidebar()
    if s.training_active:
        s.notify("warning", "Stop training before building a new model.", "sidebar")
        return
    problems = spec.validate(config)
    if problems:
        s.notify("error", "The model was not built: " + " ".join(problems.values()), "sidebar")
        return
    try:
        model = spec.build(config)
    except Exception as exc:  # engine refusal, e.g. too many parameters
        s.notify("error", f"The model could not be built: {exc}", "sidebar")
        return
    s.set_model(model, f"built from the sidebar ({spec.shape_text(config)})")
    s.notify("success", f"Built a new model {spec.shape_text(config)} with fresh weights.", "sidebar")


def keeps_in_runs(s: Studio) -> bool:
    """True when the current model is (or continues) a row on the Runs page."""
    return s.model is not None and (s.runs.find_live(s.model) is not None or s.runs.origin_of(s.model) is not None)


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
def _status(s: Studio) -> None:
    """The session's training status, current on every page (it also tells the run someone watches)."""
    if s.run is None:
        return
    active = s.run.active

    every = (STATUS_SECONDS * training.BUSY_POLL_FACTOR if training.server_busy() else STATUS_SECONDS) if active else None

    @st.fragment(run_every=every)
    def _line() -> None:
        run = s.run
        if run is None:
            return
        run.touch()
        p = run.progress()
        line = status_line(p)
        if line:
            st.caption(line)
        if active and not p.active:  # the run just ended: one full rerun stops the polling everywhere
            st.rerun()

    _line()


def render_sidebar() -> SidebarResult:
    """Render the configuration sidebar; returns the spec, the settings and their problems."""
    init_widget_state()
    s = studio()
    ds = ui_data.dataset()
    locked = s.training_active
    with st.sidebar:
        title, share = st.columns([1.6, 1], vertical_alignment="center")
        title.markdown("### :material/neurology: NN Studio")
        with share:
            url_config.share_button()
        _status(s)

        _data_section(ds)
        config, settings, net_problems = _network_section(s, ds, locked)
        _optimizer_section(s, config, net_problems)
        train_problems = _training_section(ds, settings)
        _summary(config, net_problems)
        show_notices("sidebar")
    return SidebarResult(config, settings, net_problems, train_problems)


def _data_section(ds: Any) -> None:
    """Which data to train on (MNIST, a Playground set, a CSV table: :mod:`.data_picker`) and how much of it."""
    ss = st.session_state
    data_picker.init_state()
    st.markdown("**Data**")
    ds = data_picker.render(studio()).dataset
    sizes = data_picker.sample_sizes(ds.n_samples)
    if ss["cfg_n_samples"] not in sizes:
        sizes = sorted({*sizes, int(ss["cfg_n_samples"])})
    st.select_slider(
        "Training samples", options=sizes, key="cfg_n_samples", format_func=lambda v: f"{v:,}",
        help=f"How many of the {ds.n_samples:,} training samples to use, drawn with equal shares of each "
        "class (stratified). More samples learn better but each epoch takes longer.",
    )
    st.slider(
        "Validation split", min_value=0.0, max_value=0.5, step=0.05, key="cfg_val", format="%.2f",
        help="Share of the samples held out to measure accuracy on samples the network does not "
        "train on (the validation curve). 0 disables validation.",
    )



def _network_section(s: Studio, ds: Any, locked: bool) -> tuple[dict[str, Any], TrainSettings, dict[str, str]]:
    """The layers (hidden layers, output, loss), the Build button and its confirmation."""
    ss = st.session_state
    n_in = math.prod(ds.input_shape)
    kind = _kind_choice(ds)
    if kind == "cnn":
        _conv_section(ds)
        st.markdown("**Dense layers** (after Flatten)", help="The conv blocks' maps, flattened into one vector, "
                    f"→ the dense layers below → {ds.n_outputs} outputs, one per class. Each row is one fully "
                    "connected (Dense) layer.")
    else:
        st.markdown("**Hidden layers**", help=f"{n_in:,} inputs → the hidden layers below → {ds.n_outputs} outputs, "
                    "one per class. Each row is one fully connected (Dense) layer.")
    ids = list(ss["layer_ids"])
    if not ids:
        st.caption("No dense hidden layers: the flattened maps go straight to the outputs." if kind == "cnn"
                   else "No hidden layers: a linear classifier on the raw inputs.")
    hidden_acts = choices.hidden_activations()
    for k, i in enumerate(ids):
        first = k == 0
        vis = "visible" if first else "collapsed"
        c1, c2, c3, c4 = st.columns([1.0, 1.25, 1.05, 0.4], vertical_alignment="bottom", gap="small")
        c1.number_input(
            "Neurons" if first else f"Dense {k + 1} neurons", min_value=1, max_value=spec.MAX_NEURONS, step=16,
            key=f"cfg_L{i}_n", label_visibility=vis,
            help="Neurons in each hidden layer (one row per layer, Dense 1 at the top). More neurons can "
            "learn more but train slower.",
        )
        c2.selectbox(
            "Activation" if first else f"Dense {k + 1} activation", hidden_acts, key=f"cfg_L{i}_act",
            label_visibility=vis,
            help="The non-linearity applied after each layer. "
            + " ".join(choices.HIDDEN_ACTIVATION_HELP[a] for a in hidden_acts),
        )
        c3.selectbox(
            "Dropout" if first else f"Dense {k + 1} dropout",
            choices.with_value(choices.DROPOUT_PRESETS, float(ss[f"cfg_L{i}_drop"])),
            key=f"cfg_L{i}_drop", format_func=lambda v: f"{v:g}", label_visibility=vis,
            help="During training, randomly switch off this share of the layer's outputs; "
            "this reduces overfitting. 0 adds no dropout layer.",
        )
        # the label names the layer for screen readers; the global style shows only the icon (style.py)
        c4.button(f"Remove Dense {k + 1}", icon=":material/close:", key=f"rm_L{i}", on_click=_remove_layer,
                  args=(i,), help=f"Remove hidden layer Dense {k + 1}")
    st.button(
        "Add hidden layer", icon=":material/add:", on_click=_add_layer, disabled=len(ids) >= spec.MAX_HIDDEN,
        help=f"Append a hidden layer like the last one (at most {spec.MAX_HIDDEN}).",
    )
    out_acts = choices.output_activations()
    c1, c2 = st.columns(2)
    c1.selectbox(
        "Output activation", out_acts, key="cfg_out_act",
        help=f"Activation of the {ds.n_outputs} output neurons (the Output layer). "
        + " ".join(choices.OUTPUT_ACTIVATION_HELP[a] for a in out_acts),
    )
    c2.selectbox(
        "Loss", choices.loss_names(), key="cfg_loss", format_func=choices.loss_label,
        help="What training minimises. " + " ".join(choices.LOSS_HELP[n] for n in choices.loss_names()),
    )
    config, settings = read_sidebar()
    net_problems = spec.validate(config)
    if "loss" in net_problems:
        st.error(net_problems["loss"], icon=":material/error:")
    for k in range(len(ids)):
        if f"hidden{k}" in net_problems:
            st.error(net_problems[f"hidden{k}"])
    if "size" in net_problems:
        st.error(net_problems["size"], icon=":material/error:")
    follow_sidebar(s, config, net_problems)
    record_finished_run(s)  # an ended run is on the Runs page before anything replaces its model
    _build_section(s, config, net_problems, locked)

    return config, settings, net_problems


# ---- the convolutional part of the network section (image datasets only) ----
DEFAULT_CONV = (ConvBlock(16, 3, "max"), ConvBlock(32, 3, "max"))
KIND_LABELS = {"dense": "Dense (MLP)", "cnn": "Convolutional (CNN)"}
POOLING_LABELS = {"none": "none", "max": "max 2×2", "avg": "avg 2×2"}
KERNEL_PRESETS = (1, 3, 5, 7)


def _init_conv_state() -> None:
    """Defaults for the conv widgets, kept alive on runs that do not render them (dense chosen)."""
    ss = st.session_state
    ss["cfg_kind"] = ss.get("cfg_kind", "dense")
    ss["cfg_conv_act"] = ss.get("cfg_conv_act", "relu")
    ss["cfg_flat_drop"] = ss.get("cfg_flat_drop", 0.0)
    if "conv_ids" not in ss:
        _set_conv_blocks(DEFAULT_CONV)
    for i in ss["conv_ids"]:
        for suffix, default in (("f", 16), ("k", 3), ("pool", "max")):
            key = f"cfg_C{i}_{suffix}"
            ss[key] = ss.get(key, default)


def _network_kind(ds: Any) -> str:
    """"cnn" when the sidebar describes a convolutional network (image data only), else "dense"."""
    return "cnn" if getattr(ds, "is_image", False) and st.session_state.get("cfg_kind") == "cnn" else "dense"


def _conv_blocks() -> list[ConvBlock]:
    ss = st.session_state
    return [ConvBlock(int(ss.get(f"cfg_C{i}_f", 16)), int(ss.get(f"cfg_C{i}_k", 3)), str(ss.get(f"cfg_C{i}_pool", "max")))
            for i in ss.get("conv_ids", [])]


def _set_conv_blocks(blocks: tuple[ConvBlock, ...]) -> None:
    ss = st.session_state
    for i in list(ss.get("conv_ids", [])):
        _forget_conv(i)
    start = ss.get("conv_next", 0)
    ss["conv_ids"] = list(range(start, start + len(blocks)))
    ss["conv_next"] = start + len(blocks)
    for i, b in zip(ss["conv_ids"], blocks):
        ss[f"cfg_C{i}_f"], ss[f"cfg_C{i}_k"], ss[f"cfg_C{i}_pool"] = int(b.filters), int(b.kernel_size), b.pooling


def _forget_conv(i: int) -> None:
    for suffix in ("f", "k", "pool"):
        st.session_state.pop(f"cfg_C{i}_{suffix}", None)


def _add_conv() -> None:
    """Append a conv block with twice the filters of the last one (capped), same kernel and pooling."""
    ss = st.session_state
    if len(ss["conv_ids"]) >= spec.MAX_CONV_BLOCKS:
        return
    last = _conv_blocks()[-1] if ss["conv_ids"] else ConvBlock(8, 3, "max")
    i = ss["conv_next"]
    ss["conv_next"] = i + 1
    ss[f"cfg_C{i}_f"] = min(2 * last.filters, spec.MAX_FILTERS) if ss["conv_ids"] else last.filters
    ss[f"cfg_C{i}_k"], ss[f"cfg_C{i}_pool"] = last.kernel_size, last.pooling
    ss["conv_ids"] = [*ss["conv_ids"], i]


def _remove_conv(i: int) -> None:
    ss = st.session_state
    ss["conv_ids"] = [j for j in ss["conv_ids"] if j != i]
    _forget_conv(i)


def _show_conv(v: spec.DenseValues) -> None:
    """The sidebar shows ``v``'s kind, and its conv blocks when it has some (from a callback)."""
    ss = st.session_state
    ss["cfg_kind"] = v.kind
    if v.conv:
        _set_conv_blocks(v.conv)
        ss["cfg_conv_act"] = v.conv_activation
        ss["cfg_flat_drop"] = float(v.flatten_dropout)


def _kind_choice(ds: Any) -> str:
    """Dense or convolutional (offered for image data only); returns the kind the sidebar builds."""
    _init_conv_state()
    if not getattr(ds, "is_image", False):
        return "dense"
    st.radio(
        "Network", list(KIND_LABELS), key="cfg_kind", format_func=KIND_LABELS.get, horizontal=True,
        help="Dense: every pixel connects to every unit of the first layer. Convolutional: small filters slide "
        "over the image and detect local patterns (strokes, corners) wherever they are; the dense layers "
        "then read those maps. CNNs read digits better but train slower.",
    )
    return _network_kind(ds)


def _conv_section(ds: Any) -> None:
    """Conv block rows (filters, kernel, pooling, remove), Add conv block, one activation for all and
    the dropout after Flatten; a block that cannot take its input shape says why under its row."""
    ss = st.session_state
    c, h, w = (list(ds.input_shape) if len(ds.input_shape) == 3 else [1, *ds.input_shape])
    st.markdown("**Conv blocks**", help=f"The {h}×{w} image ({c} channel{'s' if c != 1 else ''}) goes through "
                "these blocks top to bottom. Each block is a convolution (padding \"same\": the maps keep their "
                "size) with one output map per filter, then optionally a 2×2 pooling that halves the maps.")
    problems = spec.shape_problems(read_sidebar()[0])
    ids = list(ss["conv_ids"])
    if not ids:
        st.caption("No conv blocks: add one, or choose a dense network.")
    acts = choices.hidden_activations()
    for k, i in enumerate(ids):
        first = k == 0
        vis = "visible" if first else "collapsed"
        c1, c2, c3, c4 = st.columns([1.0, 1.0, 1.3, 0.4], vertical_alignment="bottom", gap="small")
        c1.number_input(
            "Filters" if first else f"Conv {k + 1} filters", min_value=1, max_value=spec.MAX_FILTERS, step=8,
            key=f"cfg_C{i}_f", label_visibility=vis,
            help="Filters in each conv block (one row per block, Conv 1 at the top): each filter is a small "
            "pattern detector and makes one feature map. More filters see more patterns but train slower.",
        )
        c2.selectbox(
            "Kernel" if first else f"Conv {k + 1} kernel", choices.with_value(KERNEL_PRESETS, int(ss[f"cfg_C{i}_k"])),
            key=f"cfg_C{i}_k", format_func=lambda v: f"{v}×{v}", label_visibility=vis,
            help="Size of each filter in pixels. 3×3 is the usual choice; larger kernels see more at once.",
        )
        c3.selectbox(
            "Pooling" if first else f"Conv {k + 1} pooling", list(POOLING_LABELS), key=f"cfg_C{i}_pool",
            format_func=POOLING_LABELS.get, label_visibility=vis,
            help="After the convolution: keep the maximum (max) or the mean (avg) of each 2×2 square, halving "
            "the maps' height and width, or no pooling (none).",
        )
        c4.button(f"Remove Conv {k + 1}", icon=":material/close:", key=f"rm_C{i}", on_click=_remove_conv,
                  args=(i,), help=f"Remove conv block Conv {k + 1}")
        if f"conv{k}" in problems:
            st.error(problems[f"conv{k}"], icon=":material/error:")
    st.button(
        "Add conv block", icon=":material/add:", on_click=_add_conv, disabled=len(ids) >= spec.MAX_CONV_BLOCKS,
        help=f"Append a conv block with twice the filters of the last one (at most {spec.MAX_CONV_BLOCKS} blocks).",
    )
    c1, c2 = st.columns(2)
    c1.selectbox(
        "Conv activation", acts, key="cfg_conv_act",
        help="The non-linearity after every convolution. " + " ".join(choices.HIDDEN_ACTIVATION_HELP[a] for a in acts),
    )
    c2.selectbox(
        "Dropout after Flatten", choices.with_value(choices.DROPOUT_PRESETS, float(ss["cfg_flat_drop"])),
        key="cfg_flat_drop", format_func=lambda v: f"{v:g}",
        help="During training, randomly switch off this share of the flattened maps before the dense layers; "
        "this reduces overfitting. 0 adds no dropout layer.",
    )


def _optimizer_section(s: Studio, config: dict[str, Any], net_problems: dict[str, str]) -> None:
    """Optimizer, learning rate, l2 and momentum: they steer the current model without rebuilding it."""
    ss = st.session_state
    _init_steer_state()
    st.markdown("**Optimizer**", help="Optimizer, learning rate, l2 and momentum apply to the current model "
                "as it is (its weights stay). The rate, l2 and momentum also change while it trains, from the "
                "next batch; the curves mark each change.")
    opt = choices.optimizer(ss["cfg_opt"])
    # two to a row: in the sidebar's 320 px three were too narrow for "momentum" and "adadelta"
    c1, c2 = st.columns([1.1, 1], gap="small")
    c1.selectbox(
        "Optimizer", choices.optimizer_names(), key="cfg_opt", on_change=_optimizer_changed,
        help="How the weights are updated from the gradients. "
        + " ".join(f"{n}: {choices.optimizer(n).help}" for n in choices.optimizer_names()),
    )
    c2.selectbox(
        "Learning rate", choices.learning_rates(float(ss["cfg_lr"])), key="cfg_lr", format_func=lambda v: f"{v:g}",
        help="Step size of each weight update. Too high and the loss jumps around or becomes "
        f"NaN (divergence); too low and learning is slow. Typical for {opt.name}: {opt.typical_lr:g}.",
    )
    st.caption(opt.help)
    if "lr" in net_problems:
        st.error(net_problems["lr"])
    c3, c4 = st.columns([1.1, 1], gap="small", vertical_alignment="bottom")
    c3.selectbox(
        "L2", choices.with_value(choices.L2_PRESETS, float(ss["cfg_l2"])), key="cfg_l2",
        format_func=choices.l2_label,
        help="Weight decay on every dense layer: the loss gains l2·ΣW² over the weights (not the biases), "
        "which pulls the weights towards 0 and reduces overfitting. The curves show the total loss.",
    )
    if opt.uses_momentum_rate:
        c4.slider(
            "Momentum rate", min_value=0.0, max_value=0.99, step=0.01, key="cfg_mr",
            help=f"Share of the previous update added to the next one ({opt.name} only). "
            "0 = plain SGD; 0.9 is common.",
        )
        if "momentum" in net_problems:
            st.error(net_problems["momentum"])
    waiting = apply_training_settings(s, config) if not architecture_differs(s, config) and not net_problems else None
    if waiting:
        st.caption(f":orange[●] {waiting}")
    _rate_now(s, config)


#: the steering and stopping widgets' first values (read by read_sidebar before they are drawn)
STEER_DEFAULTS: dict[str, Any] = {"cfg_l2": 0.0, "cfg_schedule": "none", "cfg_patience": 0, "cfg_restore": True}


def _init_steer_state() -> None:
    ss = st.session_state
    for k, v in STEER_DEFAULTS.items():
        if k not in ss:
            ss[k] = v


def _rate_now(s: Studio, config: dict[str, Any]) -> None:
    """Say so when the model's rate is not the sidebar's (a schedule or the plateau rule changed it)."""
    m = s.model
    if m is None or not m.compiled or architecture_differs(s, config):
        return
    from nncore.callbacks import _current_lr  # the rate of the next batch, a queued change included

    name, lr, _ = spec.optimizer_settings(config)
    now = _current_lr(m)
    if name == m.optimizer.name and now != lr:
        st.caption(f":blue[●] The model now trains with learning rate **{now:.3g}** (set by the schedule); "
                   "pick a rate above to set it yourself.")


def _training_section(ds: Any, settings: TrainSettings) -> dict[str, str]:
    """Batch size, epochs, seed, the learning-rate schedule and early stopping; returns the problems
    of the training settings."""
    from nncore.studio import run_callbacks as RC

    ss = st.session_state
    _init_steer_state()
    st.markdown("**Training**")
    c1, c2, c3 = st.columns(3)
    c1.selectbox(
        "Batch size", choices.with_value(choices.BATCH_PRESETS, int(ss["cfg_batch"])), key="cfg_batch",
        help="Samples per weight update. Small batches update more often but each update is "
        "noisier and slower per sample.",
    )
    c2.number_input(
        "Epochs", min_value=1, max_value=100, step=1, key="cfg_epochs",
        help="Passes over the training set when you press Start. Training again continues "
        "from where it stopped.",
    )
    c3.number_input(
        "Seed", min_value=0, max_value=2**31 - 1, step=1, key="cfg_seed",
        help="Random seed for the initial weights, the data subset and shuffling: the same "
        "seed and settings train the same network.",
    )
    watched = "validation loss" if settings.n_val else "training loss (there is no validation split)"
    c1, c2 = st.columns([1.25, 1])
    c1.selectbox(
        "LR schedule", list(RC.SCHEDULES), key="cfg_schedule", format_func=lambda k: RC.SCHEDULES[k].label,
        help="How the learning rate changes from epoch to epoch during a run (from the rate in force, so a "
        "rate you pick meanwhile is kept and scheduled on). Applies from the next Start. "
        + " ".join(c.help for c in RC.SCHEDULES.values()) + " The curves mark every change.",
    )
    c2.selectbox(
        "Early stopping", RC.PATIENCE_CHOICES, key="cfg_patience",
        format_func=lambda n: "off" if n == 0 else f"patience {n}",
        help=f"Stop the run when the {watched} has not improved for this many epochs. Applies from the next "
        "Start; the curves mark the best epoch.",
    )
    st.checkbox(
        "Restore the best epoch's weights", key="cfg_restore", disabled=int(ss["cfg_patience"]) == 0,
        help="When early stopping is on: at the end of the run, go back to the weights of the epoch with the "
        f"best {watched} (Keras's restore_best_weights).",
    )
    train_problems = spec.validate_training(settings, ds.n_samples)
    if "batch_size" in train_problems:
        st.error(train_problems["batch_size"], icon=":material/error:")
    return train_problems


def _build_section(s: Studio, config: dict[str, Any], net_problems: dict, locked: bool) -> None:
    """Build new model (and its confirmation, in the same place) when the architecture differs."""
    if net_problems or s.model is None or not architecture_differs(s, config):
        return
    if s.has_learned:
        st.info(f"These layers differ from your current model ({model_text(s.model)}). It keeps training "
                "as it is until you build a new one.", icon=":material/info:")
    if s.confirm == "build" and s.has_learned:
        kept = ("It stays on the Runs page, where you can make it active again." if keeps_in_runs(s)
                else "It is not on the Runs page: download it on the Train page first if you want to keep it.")
        st.warning(f"A new model with fresh weights replaces your current model ({model_text(s.model)}). {kept}")
        c1, c2 = st.columns(2)
        c1.button("Build it", type="primary", on_click=_do_build, key="build_confirm",
                  help="Replace the current model with a freshly initialised one.")
        c2.button("Cancel", on_click=_cancel_confirm, key="build_cancel", help="Keep the current model.")
        return
    st.button(
        "Build new model", icon=":material/construction:", type="primary", width="stretch", disabled=locked,
        on_click=_confirm_build if s.has_learned else _do_build, key="build_new",
        help="Create a new network with these layers and fresh random weights." + (" Stop training first." if locked else ""),
    )


#: the summary table's activation of a layer without one (Flatten, pooling)
NO_ACTIVATION = "–"


def _summary(config: dict[str, Any], net_problems: dict) -> None:
    st.divider()
    if net_problems:
        st.caption("Fix the settings marked in red to see the network summary.")
        return
    try:
        df, total = summary_of(config)
    except Exception as exc:
        st.error(f"This network cannot be built: {exc}")
        return
    st.markdown(f"**{spec.shape_text(config)}** · {total:,} parameters",
                help="Input size and layer sizes up to the output, and the number of trainable weights and biases.")
    compact = df[[c for c in ("Layer", "Output shape", "Activation", "Parameters") if c in df.columns]].copy()
    if "Activation" in compact.columns:  # st.table reads cells as Markdown: a lone "-" became a bullet "•"
        compact["Activation"] = compact["Activation"].replace({"-": NO_ACTIVATION, "": NO_ACTIVATION})
    st.table(compact, hide_index=True, border="horizontal")


def sidebar_config() -> SidebarResult:
    """The sidebar of this run: rendered by the router already, or now (page run on its own)."""
    res = st.session_state.get("_router_sidebar")
    if isinstance(res, SidebarResult):
        return res
    if misrouted():
        st.rerun()
    return render_sidebar()

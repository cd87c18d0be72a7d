"""Shared UI for every page: per-session state, the configuration sidebar and small render helpers.

With ``st.navigation`` the ``pages/`` folder is not auto-discovered, so helper modules live here.
The router (``app.py``) renders the sidebar once per run *before* the page, so its widgets keep their
values across page switches; a page run on its own (AppTest) renders it itself via
:func:`sidebar_config`.

Per-user state lives in ``st.session_state`` only (the :class:`Studio` object under ``"studio"``).
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from nncore import runner as R
from nncore.runs import RunRegistry

log = logging.getLogger("nnstudio")

ROOT = Path(__file__).resolve().parent.parent
PRETRAINED_PATH = ROOT / "models" / "mnist_mlp.json"

# Page registry: the router builds st.navigation from this list. To add a page, append a row.
# (path relative to the repo root, title, material icon, url path)
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/home.py", "Home", ":material/home:", "home"),
    ("pages/train.py", "Train", ":material/model_training:", "train"),
    ("pages/draw.py", "Draw", ":material/draw:", "draw"),
    ("pages/inspect.py", "Inspect", ":material/biotech:", "inspect"),
    ("pages/runs.py", "Runs", ":material/compare_arrows:", "runs"),
]

SAMPLE_CHOICES = [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000]
LR_CHOICES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]
BATCH_CHOICES = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]
MAX_HIDDEN = 6
DROPOUT_CHOICES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]

ACTIVATION_HELP = {
    "relu": "relu: max(0, x). Fast and the usual first choice.",
    "leaky_relu": "leaky_relu: like relu but lets a little signal through for x < 0.",
    "sigmoid": "sigmoid: squashes to 0..1. Learns slowly in deep networks.",
    "tanh": "tanh: squashes to -1..1.",
    "linear": "linear: no non-linearity; stacked linear layers collapse to one.",
    "softmax": "softmax: turns the ten outputs into probabilities that sum to 1.",
}
OPTIMIZER_HELP = {
    "sgd": "Stochastic gradient descent with an optional momentum rate. Typical learning rate 0.01-0.1.",
    "iterative": "Plain gradient descent step (no momentum). Typical learning rate 0.01-0.1.",
    "momentum": "SGD with Nesterov momentum 0.9. Typical learning rate 0.01-0.03.",
    "rmsprop": "Divides steps by a running average of squared gradients. Typical learning rate 0.001.",
    "adagrad": "Per-weight learning rates that shrink over time. Typical learning rate 0.01-0.1.",
    "adam": "Momentum + RMSprop with bias correction; a robust default. Typical learning rate 0.001.",
    "adamax": "Adam with an infinity norm. Typical learning rate 0.002.",
    "adadelta": "Adapts its own step sizes; the learning rate is a multiplier, typically 1.0.",
}

DEFAULTS: dict[str, Any] = {
    "cfg_n_samples": 10_000,
    "cfg_val": 0.1,
    "cfg_out_act": "softmax",
    "cfg_loss": "cse",
    "cfg_opt": "adam",
    "cfg_lr": 1e-3,
    "cfg_mr": 0.9,
    "cfg_batch": 128,
    "cfg_epochs": 3,
    "cfg_seed": 0,
}
DEFAULT_LAYERS = [(128, "relu", 0.0), (64, "relu", 0.0)]


# ----------------------------------------------------------------------------------------------
# Per-session state
# ----------------------------------------------------------------------------------------------
@dataclass
class Studio:
    """Everything one browser session owns. Lives in ``st.session_state["studio"]``."""

    model: Any = None
    model_cfg: R.NetworkConfig | None = None  # the config the model was built from (None: loaded file)
    source: str = ""  # human description of where the model came from
    run: R.TrainingRun | None = None
    run_key: tuple | None = None  # data settings the runner was made with
    eval: dict | None = None  # cached test-set evaluation
    eval_key: tuple | None = None
    notices: list[tuple] = field(default_factory=list)  # (level, text, where) shown once
    confirm_discard: str | None = None  # "build" / "reset" awaiting confirmation
    upload_done: str | None = None  # file_id of the last processed upload
    pretrained: Any = None
    pretrained_error: str | None = None
    runs: RunRegistry = field(default_factory=RunRegistry)  # every training run of this session
    runs_seen: tuple | None = None  # the finished training run recorded last (record_finished_run)
    canvas: Any = None  # the Draw page's latest non-empty drawing (nncore.preprocess.CanvasInput)

    # -- model facts -------------------------------------------------------------------------
    @property
    def training_active(self) -> bool:
        return self.run is not None and self.run.active

    @property
    def epochs_trained(self) -> int:
        if self.model is None:
            return 0
        return int(getattr(self.model, "epoch", 0) or 0)

    @property
    def has_learned(self) -> bool:
        """True when the model holds something worth keeping (trained or loaded)."""
        if self.model is None:
            return False
        if self.model_cfg is None:  # loaded from a file
            return True
        bh = getattr(self.model, "batch_history", {}) or {}
        return self.epochs_trained > 0 or len(bh.get("step", [])) > 0

    def notify(self, level: str, text: str, where: str = "page") -> None:
        """Leave a message for the next render; ``where`` is "page", "sidebar" or "upload"."""
        self.notices.append((level, text, where))

    def set_model(self, model: Any, cfg: R.NetworkConfig | None, source: str) -> None:
        record_finished_run(self)  # keep the outgoing model's last run in the Runs table
        self.model = model
        self.model_cfg = cfg
        self.source = source
        self.run = None
        self.run_key = None
        self.eval = None
        self.eval_key = None
        self.confirm_discard = None


def record_finished_run(s: Studio | None = None) -> None:
    """Add the session's ended training run to ``s.runs`` (or update its row). Idempotent: call it
    on any page run; it does nothing while training or when the run was recorded already."""
    s = s or studio()
    run = s.run
    if run is None or s.model is None or run.model is not s.model or run.active:
        return
    p = run.progress()
    if p.state not in R.TERMINAL_STATES or p.step == 0:
        return
    key = (id(run), p.step, p.epochs_done, p.state)
    if s.runs_seen == key:
        return
    s.runs_seen = key
    from nncore.datasets import scale
    from nncore.runs import evaluate_on

    n_samples, val_fraction, _seed, batch_size = s.run_key or (None, None, None, run.batch_size)
    try:
        x_test, y_test = mnist_test()
        test = evaluate_on(s.model, scale(x_test), y_test)
        s.runs.record(
            s.model,
            settings={"n_samples": n_samples, "val_fraction": val_fraction, "batch_size": batch_size},
            test=test, status=p.state, message=p.message,
        )
    except Exception:  # the Runs table must never break training or a page
        log.exception("could not record the training run")


def studio() -> Studio:
    s = st.session_state.get("studio")
    if not isinstance(s, Studio):
        s = Studio()
        st.session_state["studio"] = s
    return s


def init_widget_state() -> None:
    """Default values for the sidebar widgets (set once; widgets then own them)."""
    ss = st.session_state
    for k, v in DEFAULTS.items():
        if k not in ss:
            ss[k] = v
    if "layer_ids" not in ss:
        ids = []
        for i, (n, act, drop) in enumerate(DEFAULT_LAYERS):
            ids.append(i)
            ss[f"cfg_L{i}_n"] = n
            ss[f"cfg_L{i}_act"] = act
            ss[f"cfg_L{i}_drop"] = drop
        ss["layer_ids"] = ids
        ss["layer_next"] = len(ids)
    # keep layer widget values alive even on runs that do not render them
    for i in ss["layer_ids"]:
        for suffix, default in (("n", 64), ("act", "relu"), ("drop", 0.0)):
            key = f"cfg_L{i}_{suffix}"
            ss[key] = ss.get(key, default)


def _add_layer() -> None:
    ss = st.session_state
    if len(ss["layer_ids"]) >= MAX_HIDDEN:
        return
    i = ss["layer_next"]
    ss["layer_next"] = i + 1
    last = ss["layer_ids"][-1] if ss["layer_ids"] else None
    n = int(ss.get(f"cfg_L{last}_n", 64)) // 2 if last is not None else 64
    ss[f"cfg_L{i}_n"] = max(8, n)
    ss[f"cfg_L{i}_act"] = ss.get(f"cfg_L{last}_act", "relu") if last is not None else "relu"
    ss[f"cfg_L{i}_drop"] = 0.0
    ss["layer_ids"] = [*ss["layer_ids"], i]


def _remove_layer(i: int) -> None:
    ss = st.session_state
    ss["layer_ids"] = [j for j in ss["layer_ids"] if j != i]
    for suffix in ("n", "act", "drop"):
        ss.pop(f"cfg_L{i}_{suffix}", None)


def apply_config_to_widgets(cfg: R.NetworkConfig) -> None:
    """Make the sidebar show ``cfg`` (used after loading a model file). Call from a callback."""
    ss = st.session_state
    for i in list(ss.get("layer_ids", [])):
        _remove_layer(i)
    start = ss.get("layer_next", 0)
    ids = []
    for k, h in enumerate(cfg.hidden):
        i = start + k
        ids.append(i)
        ss[f"cfg_L{i}_n"] = int(h.neurons)
        ss[f"cfg_L{i}_act"] = h.activation
        ss[f"cfg_L{i}_drop"] = min(DROPOUT_CHOICES, key=lambda v: abs(v - float(h.dropout)))
    ss["layer_ids"] = ids
    ss["layer_next"] = start + len(cfg.hidden)
    ss["cfg_out_act"] = cfg.output_activation
    ss["cfg_loss"] = cfg.loss
    ss["cfg_opt"] = cfg.optimizer
    ss["cfg_lr"] = min(LR_CHOICES, key=lambda v: abs(np.log10(v) - np.log10(max(cfg.lr, 1e-12))))
    ss["cfg_mr"] = float(cfg.mr)
    ss["cfg_seed"] = int(cfg.seed)


def read_config() -> tuple[R.NetworkConfig, R.TrainSettings]:
    """The configuration the sidebar widgets currently hold."""
    ss = st.session_state
    hidden = tuple(
        R.LayerSpec(int(ss[f"cfg_L{i}_n"]), str(ss[f"cfg_L{i}_act"]), float(ss[f"cfg_L{i}_drop"]))
        for i in ss["layer_ids"]
    )
    cfg = R.NetworkConfig(
        hidden=hidden,
        output_activation=ss["cfg_out_act"],
        loss=ss["cfg_loss"],
        optimizer=ss["cfg_opt"],
        lr=float(ss["cfg_lr"]),
        mr=float(ss["cfg_mr"]) if ss["cfg_opt"] in R.MOMENTUM_OPTIMIZERS else 0.9,
        seed=int(ss["cfg_seed"]),
    )
    settings = R.TrainSettings(
        n_samples=int(ss["cfg_n_samples"]),
        val_fraction=float(ss["cfg_val"]),
        batch_size=int(ss["cfg_batch"]),
        epochs=int(ss["cfg_epochs"]),
    )
    return cfg, settings


# ----------------------------------------------------------------------------------------------
# Model building and data
# ----------------------------------------------------------------------------------------------
def summary_for(cfg: R.NetworkConfig):
    """Summary DataFrame and parameter count of ``cfg`` (cached per session and config)."""
    cache = st.session_state.setdefault("_summary_cache", {})
    if cfg not in cache:
        model = R.build_model(cfg)
        df = model.summary()
        if len(cache) > 16:
            cache.clear()
        cache[cfg] = (df, int(model.total_parameters))
    df, total = cache[cfg]
    return df.copy(), total


def build_from_sidebar(cfg: R.NetworkConfig) -> bool:
    """Replace the session's model with a fresh one built from ``cfg``. Returns success."""
    s = studio()
    if s.training_active:
        s.notify("warning", "Stop training before building a new model.", "sidebar")
        return False
    problems = R.validate_network(cfg)
    if problems:
        s.notify("error", "The model was not built: " + " ".join(problems.values()), "sidebar")
        return False
    try:
        model = R.build_model(cfg)
    except Exception as exc:  # engine refusal, e.g. an unsupported combination
        s.notify("error", f"The model could not be built: {exc}", "sidebar")
        return False
    s.set_model(model, cfg, f"built from the sidebar ({cfg.shape_text()})")
    return True


def ensure_model(cfg: R.NetworkConfig, net_problems: dict) -> None:
    """First visit: build the default model. An untrained sidebar-built model follows the sidebar;
    a trained or loaded one is never replaced without an explicit Build new model."""
    s = studio()
    if s.training_active or net_problems:
        return
    if s.model is None or (not s.has_learned and s.model_cfg != cfg):
        try:
            s.set_model(R.build_model(cfg), cfg, f"built from the sidebar ({cfg.shape_text()})")
        except Exception as exc:
            s.model = None
            s.notify("error", f"The model could not be built: {exc}", "sidebar")


@st.cache_data(show_spinner="Loading MNIST…", max_entries=1)
def _mnist_raw():
    from nncore.datasets import load_mnist

    return load_mnist()


@st.cache_data(show_spinner="Loading MNIST test digits…", max_entries=1)
def mnist_test():
    """uint8 test images (10000, 28, 28) and labels."""
    _, (x, y) = _mnist_raw()
    return x, y


@st.cache_data(show_spinner="Preparing the training set…", max_entries=2)
def _training_images(n_samples: int, val_fraction: float, seed: int) -> dict:
    """Stratified and split uint8 images (cached small; a copy per caller)."""
    return R.prepare_mnist(n_samples, val_fraction, seed, loader=_mnist_raw, scaled=False)


def training_data(n_samples: int, val_fraction: float, seed: int) -> dict:
    """Stratified, split and scaled training data for this session."""
    return R.scale_data(_training_images(n_samples, val_fraction, seed))


def load_pretrained() -> tuple[Any, str | None]:
    """The shipped pretrained model (loaded once per session) or (None, reason)."""
    s = studio()
    if s.pretrained is None and s.pretrained_error is None:
        if not PRETRAINED_PATH.is_file():
            s.pretrained_error = "No pretrained model is shipped yet (models/mnist_mlp.json is missing)."
        else:
            try:
                from nncore import load_model

                s.pretrained = load_model(PRETRAINED_PATH)
            except Exception as exc:
                s.pretrained_error = f"The pretrained model could not be loaded: {exc}"
    return s.pretrained, s.pretrained_error


# ----------------------------------------------------------------------------------------------
# Sidebar
# ----------------------------------------------------------------------------------------------
@dataclass
class SidebarResult:
    cfg: R.NetworkConfig
    settings: R.TrainSettings
    net_problems: dict[str, str]
    train_problems: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.net_problems and not self.train_problems


def _fmt_lr(v: float) -> str:
    return f"{v:g}"


def _confirm_build() -> None:
    studio().confirm_discard = "build"


def _cancel_confirm() -> None:
    studio().confirm_discard = None


def _do_build() -> None:
    cfg, _ = read_config()
    if build_from_sidebar(cfg):
        studio().notify("success", f"Built a new model {cfg.shape_text()} with fresh weights.", "sidebar")


BADGE_SECONDS = 5.0


def _status_badge(s: Studio) -> None:
    """A small live training status on every page; it also tells the runner someone is watching."""
    if s.run is None:
        return
    if s.run.state == R.RUNNING:
        run_every = BADGE_SECONDS
    else:
        run_every = None

    @st.fragment(run_every=run_every)
    def _badge() -> None:
        run = s.run
        if run is None:
            return
        run.touch()
        p = run.progress()
        if p.state == R.RUNNING:
            st.caption(f":green[●] Training: epoch {p.run_epochs_done + 1} of {p.run_epochs}, "
                       f"{p.fraction:.0%} of this run done")
        elif p.state == R.PAUSED:
            st.caption(f":orange[●] Training paused in epoch {p.run_epochs_done + 1} of {p.run_epochs}")
        elif p.state == R.STOPPING:
            st.caption(":orange[●] Stopping after the current batch…")
        elif run_every is not None:
            st.caption(f":gray[●] Training ended: {p.state}. See the Train page.")

    _badge()


def render_sidebar() -> SidebarResult:
    """Render the configuration sidebar; returns the configuration and its problems."""
    init_widget_state()
    s = studio()
    ss = st.session_state
    locked = s.training_active
    with st.sidebar:
        st.markdown("### :material/neurology: NN Studio")
        _status_badge(s)

        st.markdown("**Data**")
        st.select_slider(
            "Training samples",
            options=SAMPLE_CHOICES,
            key="cfg_n_samples",
            format_func=lambda v: f"{v:,}",
            help="How many MNIST training digits to use, drawn with equal shares of each digit "
            "(stratified). More samples learn better but each epoch takes longer.",
        )
        st.slider(
            "Validation split",
            min_value=0.0,
            max_value=0.5,
            step=0.05,
            key="cfg_val",
            format="%.2f",
            help="Share of the samples held out to measure accuracy on digits the network does not "
            "train on (the validation curve). 0 disables validation.",
        )

        st.markdown("**Hidden layers**", help="784 pixel inputs → the hidden layers below → 10 outputs, "
                    "one per digit. Each row is one fully connected layer.")
        ids = list(ss["layer_ids"])
        if not ids:
            st.caption("No hidden layers: a linear classifier on the raw pixels.")
        for k, i in enumerate(ids):
            first = k == 0
            vis = "visible" if first else "collapsed"
            c1, c2, c3, c4 = st.columns([1.0, 1.25, 1.05, 0.4], vertical_alignment="bottom", gap="small")
            c1.number_input(
                "Neurons" if first else f"Layer {k + 1} neurons",
                min_value=1,
                max_value=2048,
                step=16,
                key=f"cfg_L{i}_n",
                label_visibility=vis,
                help="Neurons in each hidden layer (one row per layer). More neurons can learn more "
                "but train slower.",
            )
            c2.selectbox(
                "Activation" if first else f"Layer {k + 1} activation",
                R.HIDDEN_ACTIVATIONS,
                key=f"cfg_L{i}_act",
                label_visibility=vis,
                help="The non-linearity applied after each layer. " + " ".join(
                    ACTIVATION_HELP[a] for a in R.HIDDEN_ACTIVATIONS
                ),
            )
            c3.selectbox(
                "Dropout" if first else f"Layer {k + 1} dropout",
                DROPOUT_CHOICES,
                key=f"cfg_L{i}_drop",
                format_func=lambda v: f"{v:g}",
                label_visibility=vis,
                help="During training, randomly switch off this share of the layer's outputs; "
                "this reduces overfitting. 0 adds no dropout layer.",
            )
            c4.button(
                "",
                icon=":material/close:",
                key=f"rm_L{i}",
                on_click=_remove_layer,
                args=(i,),
                help=f"Remove hidden layer {k + 1}",
            )
        st.button(
            "Add hidden layer",
            icon=":material/add:",
            on_click=_add_layer,
            disabled=len(ids) >= MAX_HIDDEN,
            help=f"Append a hidden layer (at most {MAX_HIDDEN}).",
        )
        c1, c2 = st.columns(2)
        c1.selectbox(
            "Output activation",
            R.OUTPUT_ACTIVATIONS,
            key="cfg_out_act",
            help="Activation of the 10 output neurons. " + " ".join(
                ACTIVATION_HELP[a] for a in R.OUTPUT_ACTIVATIONS
            ),
        )
        c2.selectbox(
            "Loss",
            R.LOSSES,
            key="cfg_loss",
            format_func=lambda v: {"cse": "cross-entropy", "mse": "mean squared"}[v],
            help="What training minimises. Cross-entropy (cse) compares the predicted probabilities "
            "with the true digit and needs a softmax output; mean squared error (mse) works with any output.",
        )
        cfg, settings = read_config()
        net_problems = R.validate_network(cfg)
        if "loss" in net_problems:
            st.error(net_problems["loss"], icon=":material/error:")
        for k, i in enumerate(ids):
            if f"hidden{k}" in net_problems:
                st.error(net_problems[f"hidden{k}"])

        st.markdown("**Optimizer**")
        c1, c2 = st.columns(2)
        c1.selectbox(
            "Optimizer",
            R.OPTIMIZERS,
            key="cfg_opt",
            help="How the weights are updated from the gradients. " + " ".join(
                f"{k}: {v}" for k, v in OPTIMIZER_HELP.items()
            ),
        )
        c2.selectbox(
            "Learning rate",
            LR_CHOICES,
            key="cfg_lr",
            format_func=_fmt_lr,
            help="Step size of each weight update. Too high and the loss jumps around or becomes "
            "NaN (divergence); too low and learning is slow.",
        )
        st.caption(OPTIMIZER_HELP[ss["cfg_opt"]])
        if "lr" in net_problems:
            st.error(net_problems["lr"])
        if ss["cfg_opt"] in R.MOMENTUM_OPTIMIZERS:
            st.slider(
                "Momentum rate",
                min_value=0.0,
                max_value=0.99,
                step=0.01,
                key="cfg_mr",
                help="Share of the previous update added to the next one (sgd only). "
                "0 = plain SGD; 0.9 is common.",
            )
            if "mr" in net_problems:
                st.error(net_problems["mr"])

        st.markdown("**Training**")
        c1, c2, c3 = st.columns(3)
        c1.selectbox(
            "Batch size",
            BATCH_CHOICES,
            key="cfg_batch",
            help="Digits per weight update. Small batches update more often but each update is "
            "noisier and slower per sample.",
        )
        c2.number_input(
            "Epochs",
            min_value=1,
            max_value=100,
            step=1,
            key="cfg_epochs",
            help="Passes over the training set when you press Start. Training again continues "
            "from where it stopped.",
        )
        c3.number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            key="cfg_seed",
            help="Random seed for the initial weights, the data subset and shuffling: the same "
            "seed and settings train the same network.",
        )
        train_problems = R.validate_training(settings)
        if "batch_size" in train_problems:
            st.error(train_problems["batch_size"], icon=":material/error:")
        ensure_model(cfg, net_problems)
        _sidebar_summary(s, cfg, net_problems, locked)
        show_notices("sidebar")
    return SidebarResult(cfg, settings, net_problems, train_problems)


def _sidebar_summary(s: Studio, cfg: R.NetworkConfig, net_problems: dict, locked: bool) -> None:
    st.divider()
    if net_problems:
        st.caption("Fix the settings marked in red to see the network summary.")
        return
    try:
        df, total = summary_for(cfg)
    except Exception as exc:
        st.error(f"This network cannot be built: {exc}")
        return
    st.markdown(
        f"**{cfg.shape_text()}** · {total:,} parameters",
        help="Layer sizes from input to output, and the number of trainable weights and biases.",
    )
    compact = df[[c for c in ("Layer", "Output shape", "Activation", "Parameters") if c in df.columns]]
    st.table(compact, hide_index=True, border="horizontal")

    differs = s.model is not None and s.model_cfg != cfg
    if s.model is None or differs:
        if s.model is not None and s.has_learned:
            st.info(
                f"These settings differ from your current model ({describe_model(s)}). "
                "It keeps training as it is until you build a new one.",
                icon=":material/info:",
            )
        if s.confirm_discard == "build" and s.has_learned:
            st.warning(
                f"Building a new model discards the current one ({describe_model(s)}). "
                "Download it on the Train page first if you want to keep it.",
            )
            c1, c2 = st.columns(2)
            c1.button("Discard and build", type="primary", on_click=_do_build, key="build_confirm",
                      help="Replace the trained model with a freshly initialised one.")
            c2.button("Cancel", on_click=_cancel_confirm, key="build_cancel",
                      help="Keep the current model.")
        else:
            st.button(
                "Build new model",
                icon=":material/construction:",
                type="primary",
                width="stretch",
                disabled=locked,
                on_click=_confirm_build if s.has_learned else _do_build,
                help="Create a new network with these settings and fresh random weights."
                + (" Stop training first." if locked else ""),
            )


def describe_model(s: Studio) -> str:
    m = s.model
    if m is None:
        return "no model"
    cfg = s.model_cfg or R.config_from_model(m)
    shape = cfg.shape_text() if cfg else f"{getattr(m, 'total_parameters', 0):,} parameters"
    ep = s.epochs_trained
    trained = f"trained {ep} epoch{'s' if ep != 1 else ''}" if ep else "untrained"
    return f"{shape}, {trained}"


def sidebar_config() -> SidebarResult:
    """The sidebar of this run: rendered by the router already, or now (page run on its own)."""
    res = st.session_state.get("_router_sidebar")
    if isinstance(res, SidebarResult):
        return res
    if _misrouted():
        st.rerun()
    return render_sidebar()


def _misrouted() -> bool:
    """True when Streamlit ran this page without the router (app.py).

    Streamlit's legacy multipage mode ("a pages/ folder next to the main script") is switched off
    only once some session has called st.navigation. If the very first request after a server start
    is a deep link such as /train, Streamlit runs pages/train.py directly. We switch the legacy mode
    off and rerun, so the router handles the request. Pages run on their own by AppTest are fine.
    """
    from streamlit import config

    if config.get_option("global.appTest"):
        return False
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return False
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


def show_notices(where: str = "page") -> None:
    """Show (once) the messages left by callbacks for this place: "page", "sidebar" or "upload"."""
    s = studio()
    keep = []
    for notice in s.notices:
        level, text, place = notice if len(notice) == 3 else (*notice, "page")
        if place != where:
            keep.append(notice)
            continue
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(text)
    s.notices[:] = keep


def has_notices(where: str) -> bool:
    return any((n[2] if len(n) == 3 else "page") == where for n in studio().notices)


# ----------------------------------------------------------------------------------------------
# Small render helpers
# ----------------------------------------------------------------------------------------------
def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def digit_png(img: np.ndarray, scale: int = 4) -> bytes:
    """A 28x28 image (uint8 0..255 or float 0..1) as an upscaled, pixel-sharp PNG."""
    from PIL import Image

    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    im = Image.fromarray(a.reshape(28, 28), mode="L").resize((28 * scale, 28 * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def page_link(path: str, label: str, icon: str | None = None, help: str | None = None) -> None:
    """st.page_link that degrades to text when the page is not registered (page run on its own)."""
    try:
        st.page_link(path, label=label, icon=icon, help=help)
    except Exception:
        st.markdown(f"**{label}**")



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

    chart = components.declare_component("plotly_live", path=str(ROOT / "pages" / "plotly_live"))
    # plotly.js as shipped inside the plotly Python package, served by Streamlit (works offline)
    library = components.declare_component("plotly_js", path=str(Path(plotly.__file__).parent / "package_data"))
    return chart, f"../{library.name}/plotly.min.js"


_PLOTLY_LIVE, _PLOTLY_JS_URL = _declare_plotly_live()


def live_plotly_chart(spec: dict, key: str, height: int, static: bool = False, label: str = "") -> None:
    """Show ``{"data": [...], "layout": {...}}`` with plotly.js and update it in place on reruns.

    ``st.plotly_chart`` gives each new figure a new element id, so the browser rebuilds the chart
    from scratch on every update (about 0.2 s of CPU on the machines we measure). This component
    (``pages/plotly_live/index.html``) keeps one chart and calls ``Plotly.react`` with each new
    figure. ``static`` turns off hover and zoom (cheaper while the figure changes every second).
    """
    config = {"displaylogo": False, "staticPlot": bool(static)}
    _PLOTLY_LIVE(figure=_plain(spec), config=config, height=int(height), label=label,
                 plotly_src=_PLOTLY_JS_URL, key=key, default=None)

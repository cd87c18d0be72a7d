"""The setup in the page's URL: every ``cfg_*`` sidebar setting as a query parameter.

A reload, a bookmark, a typed ``/train?…`` or a shared link therefore starts with the same dataset,
network and training settings. Generic on purpose: every ``st.session_state`` key that starts with
``cfg_`` is written (keys added by new sidebar widgets are included without changes here); values
are read back with the type of the widget's default (int, float, str, bool).

Hidden layers are a list: their widget keys ``cfg_L{id}_{field}`` use per-session ids (``layer_ids``),
so the URL numbers them from 0 in their order (``cfg_L0_n=128&cfg_L0_act=relu…``) and
``cfg_layers`` says how many there are (0 is a valid network).

Values from a URL are checked before any widget sees them (types, the widgets' ranges and options,
then the network/training validation of :mod:`nncore.studio.spec`); what does not pass is ignored
(the default stays) and named in a notice. A widget that still refuses a value (a new widget with
its own range) is caught too: the value is dropped and the run repeated.

Nothing private is ever written: no token, no model, only these settings.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from nncore.studio import choices, spec

PREFIX = "cfg_"
LAYERS_PARAM = "cfg_layers"
LAYER_KEY = re.compile(r"^cfg_L(\d+)_([A-Za-z0-9_]+)$")
LAYER_FIELD_TYPES: dict[str, type] = {"n": int, "act": str, "drop": float}
LAYER_FIELD_DEFAULTS: dict[str, Any] = {"n": 64, "act": "relu", "drop": 0.0}
MAX_VALUE_CHARS = 200

_APPLIED = "_url_applied"  # session flag: the URL was read (once per session)
_REQUESTED = "_url_requested"  # key -> value the URL asked for (checked after the widgets ran)
_PENDING = "_url_pending"  # key -> default to put back before the next run's widgets
_NOTICE = "_url_notice"
_DEFERRED = "_url_deferred"
URL_HAD_SETTINGS = "_url_had_settings"  # the session started from a URL with settings  # cfg_* parameters whose widgets had no default yet on the first run


# ----------------------------------------------------------------------------------------------
# Codec (pure: mappings in, mappings out)
# ----------------------------------------------------------------------------------------------
def _in(options: Callable[[], list]) -> Callable[[Any], str | None]:
    return lambda v: None if v in options() else f"not one of {', '.join(map(str, options()))}"


def _between(lo: float, hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"outside {lo:g}..{hi:g}"


#: what the sidebar's widgets accept (ranges of sliders and number inputs, options of select boxes);
#: keys not listed here are checked by their type only, and by the widget itself (see module doc)
RULES: dict[str, Callable[[Any], str | None]] = {
    "cfg_n_samples": _between(1, 10**9),
    "cfg_val": _between(0.0, 0.5),
    "cfg_out_act": _in(choices.output_activations),
    "cfg_loss": _in(choices.loss_names),
    "cfg_opt": _in(choices.optimizer_names),
    "cfg_lr": _between(1e-12, 1e3),
    "cfg_mr": _between(0.0, 0.99),
    "cfg_batch": _between(1, 10**7),
    "cfg_epochs": _between(1, 100),
    "cfg_seed": _between(0, 2**31 - 1),
}
LAYER_RULES: dict[str, Callable[[Any], str | None]] = {
    "n": _between(1, spec.MAX_NEURONS),
    "act": _in(choices.hidden_activations),
    "drop": lambda v: None if 0.0 <= v < 1.0 else "outside 0..1",
}
#: spec.validate / validate_training problem -> the URL parameters that cause it
PROBLEM_KEYS: dict[str, tuple[str, ...]] = {
    "lr": ("cfg_lr",), "momentum": ("cfg_mr",), "loss": ("cfg_loss", "cfg_out_act"), "optimizer": ("cfg_opt",),
    "n_samples": ("cfg_n_samples",), "val_fraction": ("cfg_val",), "batch_size": ("cfg_batch",),
    "epochs": ("cfg_epochs",),
}


def format_value(v: Any) -> str | None:
    """A setting as URL text (None: not a kind of value a URL holds)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else None
    if isinstance(v, str):
        return v
    return None


def parse_value(text: str, like: Any) -> Any:
    """``text`` read as the type of ``like``; ValueError with a short reason when it is not one."""
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError("too long")
    if isinstance(like, bool):
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise ValueError("not true or false")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
    if isinstance(like, float):
        try:
            v = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(v):
            raise ValueError("not a finite number")
        return v
    if isinstance(like, str):
        return text
    raise ValueError("not a setting a link can hold")


def encode(state: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for the ``cfg_*`` settings in ``state`` (hidden layers numbered from 0)."""
    ids = list(state.get("layer_ids", []))
    layer_of = {int(i): pos for pos, i in enumerate(ids)}
    out: dict[str, str] = {}
    layers: dict[str, str] = {}
    for key in sorted(k for k in state.keys() if isinstance(k, str) and k.startswith(PREFIX)):
        text = format_value(state[key])
        if text is None:
            continue
        m = LAYER_KEY.match(key)
        if m:
            pos = layer_of.get(int(m.group(1)))
            if pos is not None:
                layers[f"cfg_L{pos}_{m.group(2)}"] = text
            continue
        out[key] = text
    if "layer_ids" in state:
        out[LAYERS_PARAM] = str(len(ids))
        out.update(sorted(layers.items(), key=lambda kv: (int(LAYER_KEY.match(kv[0]).group(1)), kv[0])))
    return out


def decode(params: Mapping[str, Any], defaults: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, str]]:
    """Read ``cfg_*`` query parameters against ``defaults`` (the session's values before the URL).

    Returns (settings, layers, refused): settings {key: value} for non-layer keys; layers a list of
    {field: value} (None when the URL does not say); refused {"key=value": reason}.
    """
    settings: dict[str, Any] = {}
    refused: dict[str, str] = {}
    layer_fields: dict[int, dict[str, Any]] = {}
    field_like = dict(LAYER_FIELD_DEFAULTS)
    for i in defaults.get("layer_ids", []):
        for f in list(field_like):
            if f"cfg_L{i}_{f}" in defaults:
                field_like[f] = defaults[f"cfg_L{i}_{f}"]
    n_layers: int | None = None
    for key, raw in params.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) else str(raw)
        shown = f"{key}={text[:40]}"
        if key == LAYERS_PARAM:
            try:
                n_layers = int(text)
            except ValueError:
                refused[shown] = "not a whole number"
                continue
            if not 0 <= n_layers <= spec.MAX_HIDDEN:
                refused[shown] = f"outside 0..{spec.MAX_HIDDEN}"
                n_layers = None
            continue
        m = LAYER_KEY.match(key)
        if m:
            pos, f = int(m.group(1)), m.group(2)
            like = field_like.get(f, LAYER_FIELD_DEFAULTS.get(f))
            if like is None:
                like = text  # a layer field this module does not know: kept as text
            rule = LAYER_RULES.get(f)
        else:
            if key not in defaults:
                refused[shown] = "no such setting"  # apply_from_url retries these after the sidebar ran
                continue
            like, pos, f = defaults[key], None, None
            rule = RULES.get(key)
        try:
            value = parse_value(text, like)
        except ValueError as exc:
            refused[shown] = str(exc)
            continue
        why = rule(value) if rule is not None else None
        if why:
            refused[shown] = why
            continue
        if pos is None:
            settings[key] = value
        else:
            layer_fields.setdefault(pos, {})[f] = value
    layers: list[dict[str, Any]] | None = None
    if n_layers is not None:
        extra = sorted(p for p in layer_fields if p >= n_layers)
        for p in extra:
            refused.update({f"cfg_L{p}_{f}={v}": f"only {n_layers} hidden layer(s)" for f, v in layer_fields[p].items()})
        layers = [{**LAYER_FIELD_DEFAULTS, **layer_fields.get(p, {})} for p in range(n_layers)]
    elif layer_fields:
        refused.update({f"cfg_L{p}_{f}={v}": f"{LAYERS_PARAM} is missing" for p, fs in layer_fields.items()
                        for f, v in fs.items()})
    return settings, layers, refused


def share_query(state: Mapping[str, Any]) -> str:
    """The query string of a link that reproduces the setup (settings only)."""
    return urlencode(encode(state))


# ----------------------------------------------------------------------------------------------
# Streamlit glue (the router calls these around the sidebar)
# ----------------------------------------------------------------------------------------------
def _set_layers(layers: list[dict[str, Any]]) -> None:
    """Replace the sidebar's hidden layers (``layer_ids`` and their ``cfg_L{id}_*`` keys)."""
    ss = st.session_state
    for i in ss.get("layer_ids", []):
        for key in [k for k in ss.keys() if isinstance(k, str) and k.startswith(f"cfg_L{i}_")]:
            del ss[key]
    start = int(ss.get("layer_next", 0))
    ids = []
    for k, fields in enumerate(layers):
        i = start + k
        ids.append(i)
        for f, v in fields.items():
            ss[f"cfg_L{i}_{f}"] = v
    ss["layer_ids"] = ids
    ss["layer_next"] = start + len(layers)


def _problem_keys(problems: Mapping[str, str]) -> set[str]:
    keys: set[str] = set()
    for name in problems:
        if name.startswith("hidden"):
            keys.add(LAYERS_PARAM)
        keys.update(PROBLEM_KEYS.get(name, (name,)))
    return keys


def apply_from_url() -> None:
    """Once per session, before the sidebar: the URL's settings become the widgets' values.
    On later runs: put back the defaults of values a widget refused (see :func:`check_widgets`)."""
    from .sidebar import init_widget_state, read_sidebar

    ss = st.session_state
    init_widget_state()
    pending = ss.pop(_PENDING, None)
    if pending:
        for key, value in pending.items():
            ss[key] = value
    if ss.get(_APPLIED):
        return
    ss[_APPLIED] = True
    params = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    if not any(k.startswith(PREFIX) for k in params):
        return
    ss[URL_HAD_SETTINGS] = True
    defaults = {k: ss[k] for k in ss.keys() if isinstance(k, str) and (k.startswith(PREFIX) or k == "layer_ids")}
    settings, layers, refused = decode(params, defaults)
    # a widget whose default is set while the sidebar renders (e.g. a section's own init): try again
    # once the sidebar has run, see check_widgets
    later = {k: v for k, v in params.items() if k.startswith(PREFIX) and f"{k}={v[-1][:40]}" in refused
             and refused[f"{k}={v[-1][:40]}"] == "no such setting"}
    for k, v in later.items():
        refused.pop(f"{k}={v[-1][:40]}")
    if later:
        ss[_DEFERRED] = later
    for key, value in settings.items():
        ss[key] = value
    if layers is not None:
        _set_layers(layers)
        init_widget_state()  # fills fields a link did not give
    # the network and training rules of the spec, on the combined settings
    try:
        config, train = read_sidebar()
        from . import data as ui_data

        problems = {**spec.validate(config), **spec.validate_training(train, ui_data.dataset().n_samples)}
    except Exception as exc:  # e.g. a value of a setting that read_sidebar cannot use at all
        problems = {"link": str(exc)}
    if problems:
        bad = _problem_keys(problems)
        from_url = set(settings) | ({LAYERS_PARAM} if layers is not None else set())
        undo = (bad & from_url) or (from_url if "link" in problems else set())
        for key in undo:
            if key == LAYERS_PARAM:
                _set_layers([{f: defaults.get(f"cfg_L{i}_{f}") for f in LAYER_FIELD_TYPES}
                             for i in defaults.get("layer_ids", [])])
            elif key in defaults:
                ss[key] = defaults[key]
            refused[f"{key}={params.get(key, [''])[-1]}"] = "; ".join(
                p.rstrip(".") for name, p in problems.items() if key in _problem_keys({name: p})) or "not usable"
        for key in undo:
            settings.pop(key, None)
    ss[_REQUESTED] = {"settings": settings, "defaults": {k: defaults[k] for k in settings if k in defaults}}
    if refused:
        ss[_NOTICE] = refused


def resend_settings() -> None:
    """Every run, just before the sidebar: write each ``cfg_*`` setting back to itself, so that every
    sidebar widget of the run sends its value to the browser.

    Streamlit sends a keyed widget's value only in a run in which its key was written; in any other
    run the browser keeps what it shows, and a widget it mounts for the first time shows the widget's
    own default (a number input: its ``min_value``). A value set in one run (from a link, a parked
    session, a callback) whose widget the browser first mounts from a later run's message therefore
    stayed at that default while the server held the right value. That happened on a cold server: the
    link's first run is slow and is interrupted by the browser (the tab-token component's rerun) after
    it sent the sidebar but before the browser mounted it; the next run sent the widgets as unchanged,
    so Epochs showed 1 instead of the link's 7 (issue 14; ``bench/repro_share_cold.py``). Rewriting the
    same value changes nothing on the server (callbacks are decided before the script runs); in the
    browser every full run re-sends the sidebar's values, as it already did for the layer rows."""
    ss = st.session_state
    for key in [k for k in ss.keys() if isinstance(k, str) and k.startswith(PREFIX)]:
        try:
            ss[key] = ss[key]
        except KeyError:  # a widget state without its metadata yet (Streamlit #7206): nothing to resend
            continue


def undo_after_widget_error(exc: Exception) -> bool:
    """A widget raised on this session's first run: drop the URL's settings, note it, and tell the
    caller to rerun (True). False when the URL is not to blame."""
    ss = st.session_state
    req = ss.pop(_REQUESTED, None)
    if not req or not req.get("settings"):
        return False
    ss[_PENDING] = dict(req["defaults"])
    ss[_NOTICE] = {**ss.get(_NOTICE, {}), **{f"{k}={format_value(v)}": f"refused by the widget ({exc})"
                                            for k, v in req["settings"].items()}}
    return True


def check_widgets() -> bool:
    """After the sidebar ran: a widget that silently replaced a URL value (e.g. an option it does
    not offer, a number below its minimum) gets the default back on a rerun, with a notice; URL
    settings whose widgets had no default on the first run are applied now (and checked on the
    next run). True when a rerun is needed."""
    ss = st.session_state
    rerun = False
    req = ss.pop(_REQUESTED, None)
    if req:
        changed = {k: v for k, v in req["settings"].items() if k in ss and ss[k] != v}
        if changed:
            ss[_PENDING] = {**ss.get(_PENDING, {}),
                            **{k: req["defaults"][k] for k in changed if k in req["defaults"]}}
            ss[_NOTICE] = {**ss.get(_NOTICE, {}), **{f"{k}={format_value(v)}": "not accepted by its widget"
                                                    for k, v in changed.items()}}
            rerun = True
    deferred = ss.pop(_DEFERRED, None)
    if deferred:
        current = {k: ss[k] for k in deferred if k in ss}
        settings, _, refused = decode(deferred, current)
        if settings:
            ss[_PENDING] = {**ss.get(_PENDING, {}), **settings}
            ss[_REQUESTED] = {"settings": settings, "defaults": {k: current[k] for k in settings}}
            rerun = True
        if refused:
            ss[_NOTICE] = {**ss.get(_NOTICE, {}), **refused}
    return rerun


def show_notice() -> None:
    """The settings a link held that were ignored (once)."""
    refused = st.session_state.pop(_NOTICE, None)
    if refused:
        items = "; ".join(f"`{k}` ({why})" for k, why in refused.items())
        st.warning(f"Some settings in this link could not be used and were ignored, so their defaults "
                   f"apply: {items}.", icon=":material/link_off:")


def write_url() -> None:
    """Put the session's current settings into the page's URL (other parameters stay)."""
    wanted = encode(st.session_state)
    qp = st.query_params
    for key in [k for k in qp.keys() if k.startswith(PREFIX) and k not in wanted]:
        del qp[key]
    changed = {k: v for k, v in wanted.items() if qp.get(k) != v}
    if changed:
        qp.update(changed)


def share_link() -> str:
    """An absolute link (relative in tests) that reproduces the setup on the current page."""
    base = ""
    try:
        base = st.context.url or ""
    except Exception:
        base = ""
    return f"{base}?{share_query(st.session_state)}"


def share_button() -> None:
    """The sidebar's Share popover: a link that reproduces the setup, with a copy button."""
    with st.popover("Share", icon=":material/share:", width="stretch", help="A link to this setup (dataset, network and "
                    "training settings) for someone else, or for a bookmark."):
        st.markdown("**Share this setup**")
        st.caption("Whoever opens this link starts with the same dataset, network and training settings. "
                   "It holds nothing of yours: no model, no runs (download the model to share it).")
        st.code(share_link(), language=None, wrap_lines=True)
        st.caption("Copy it with the copy button at the top right of the link (it shows when you point at it).")

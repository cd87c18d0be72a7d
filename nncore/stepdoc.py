"""One training step, documented: turn `NN.trace_step` into stages a person can read.

Every number a stage shows comes from the engine's trace (or, for the optimizer's state, from the
engine's optimizer after that same step). This module only arranges the numbers, writes the formula
of each stage in LaTeX with the matrix shapes, and *checks* the formula against the numbers with
NumPy (a teaching aid: "X·W + b computed here equals the traced Z to 0"). Pure NumPy; no Streamlit.

>>> model, x, y = tiny_setup()                 # 2-3-2 tanh/softmax, 4 points of XOR, sgd
>>> doc = describe_step(model, x, y)
>>> [s.title for s in doc.stages][:3]          # ['The batch', 'Forward · Dense 1', 'Forward · Output']

Notation: layer l (1-based) maps A⁽ˡ⁻¹⁾ to A⁽ˡ⁾ with A⁽⁰⁾ = X; a dense layer computes
Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾·W⁽ˡ⁾ + b⁽ˡ⁾ and A⁽ˡ⁾ = f(Z⁽ˡ⁾). Gradients are of the batch-mean loss.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


#: a matrix with at most this many rows and columns is shown whole; larger ones are summarised
SMALL_ROWS = 12
SMALL_COLS = 12
#: entries of a large matrix shown in its summary (top-left corner)
CORNER = 4
#: the phases of a step, in order
PHASES = ("Batch", "Forward", "Loss", "Backward", "Update")

ORIGINAL_DERIVATIVES_NOTE = (
    "The original from-scratch design (the FFL layer of Q-viper's “… from Scratch on Python” series) "
    "took the derivative from the layer's output a: for ReLU it returned a itself (max(0, a)) instead "
    "of the step 1[z > 0], and for sigmoid it applied the sigmoid to a again, σ(a)(1 − σ(a)) instead "
    "of a(1 − a). The derivatives here are the correct ones (nncore's tests check them against finite "
    "differences)."
)


# ----------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Array:
    """One named matrix of a stage. ``values`` as traced (biases stay 1-D); ``derived`` marks numbers
    computed here from traced ones to explain a formula (e.g. f′(Z)), not taken from the trace."""

    label: str
    symbol: str
    values: np.ndarray
    derived: bool = False

    @property
    def shape_text(self) -> str:
        return shape_text(self.values.shape)

    @property
    def is_small(self) -> bool:
        return is_small(self.values)


@dataclass(frozen=True)
class Check:
    """A formula recomputed with NumPy from traced numbers and compared with the traced result."""

    text: str
    max_diff: float
    ok: bool


@dataclass(frozen=True)
class Stage:
    """One screen of the walk-through."""

    key: str
    phase: str  # one of PHASES
    title: str
    text: str  # one or two sentences
    latex: tuple[str, ...]
    arrays: tuple[Array, ...]
    checks: tuple[Check, ...] = ()
    note: str = ""
    layer: int | None = None  # 0-based layer index, None for batch/loss


@dataclass
class StepDoc:
    """A documented step: the stages plus the trace and facts they were made from."""

    stages: list[Stage]
    trace: dict[str, Any]
    facts: dict[str, Any]
    loss: float
    loss_after: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(f"No stage {key!r}; stages are: {', '.join(s.key for s in self.stages)}.")


# ----------------------------------------------------------------------------------------------
# Small helpers (formatting, shapes, summaries)
# ----------------------------------------------------------------------------------------------
def shape_text(shape: tuple[int, ...]) -> str:
    """(4, 3) → "4×3"; (3,) → "1×3" (a bias is a row added to every sample)."""
    if len(shape) == 1:
        shape = (1, *shape)
    return "×".join(str(int(s)) for s in shape)


def shape_tex(shape: tuple[int, ...]) -> str:
    """(4, 3) → "4\\times 3" for LaTeX."""
    return shape_text(shape).replace("×", r"\times ")


def sized(symbol: str, shape: tuple[int, ...]) -> str:
    """A LaTeX symbol with its shape written underneath."""
    return rf"\underset{{({shape_tex(shape)})}}{{{symbol}}}"


def num(v: float, digits: int = 4, paren: bool = False) -> str:
    """A number for LaTeX with `digits` significant digits; with `paren`, negative numbers and
    powers of ten in parentheses (for products and sums)."""
    v = float(v)
    if not math.isfinite(v):
        return r"\text{" + str(v) + "}"
    text = f"{v:.{digits}g}"
    wrap = paren and v < 0
    if "e" in text:
        mant, exp = text.split("e")
        text = rf"{mant}\cdot 10^{{{int(exp)}}}"
        wrap = paren
    return f"({text})" if wrap else text


def pnum(v: float, digits: int = 4) -> str:
    """`num` in parentheses when negative: a factor or term of a worked example."""
    return num(v, digits, paren=True)


def is_small(values: np.ndarray) -> bool:
    """True when a matrix is small enough to show whole (at most 2-D and SMALL_ROWS × SMALL_COLS)."""
    v = np.asarray(values)
    if v.ndim > 2:
        return False
    rows, cols = (1, v.shape[0]) if v.ndim == 1 else v.shape
    return rows <= SMALL_ROWS and cols <= SMALL_COLS


def as_matrix(values: np.ndarray) -> np.ndarray:
    """A vector as one row; 2-D unchanged; more dimensions flattened per sample (n, rest)."""
    v = np.asarray(values)
    if v.ndim == 1:
        return v.reshape(1, -1)
    if v.ndim > 2:
        return v.reshape(v.shape[0], -1)
    return v


def summarize(values: np.ndarray, corner: int = CORNER) -> dict[str, Any]:
    """Shape, min, max, mean, std and the top-left `corner`×`corner` entries of any array."""
    v = np.asarray(values, dtype=np.float64)
    m = as_matrix(v)
    return {
        "shape": tuple(int(s) for s in v.shape),
        "min": float(v.min()) if v.size else float("nan"),
        "max": float(v.max()) if v.size else float("nan"),
        "mean": float(v.mean()) if v.size else float("nan"),
        "std": float(v.std()) if v.size else float("nan"),
        "corner": m[:corner, :corner].copy(),
    }


def _check(text: str, computed: np.ndarray, traced: np.ndarray, dtype: np.dtype) -> Check:
    computed = np.asarray(computed, dtype=np.float64)
    traced = np.asarray(traced, dtype=np.float64)
    diff = float(np.max(np.abs(computed - traced))) if traced.size else 0.0
    scale = max(1.0, float(np.max(np.abs(traced))) if traced.size else 1.0)
    tol = (1e-4 if np.dtype(dtype) == np.float32 else 1e-9) * scale
    return Check(text, diff, bool(diff <= tol))


def _elide(parts: list[str], limit: int = 4) -> list[str]:
    """At most `limit` terms: the first limit − 1, a \\cdots, and the last."""
    return parts if len(parts) <= limit else [*parts[: limit - 1], r"\cdots", parts[-1]]


def _terms(parts: list[str], limit: int = 4) -> str:
    """Join LaTeX terms with +, eliding the middle when there are more than `limit`."""
    return " + ".join(_elide(parts, limit))


def worked(lhs: str, parts: list[str], result: str, limit: int = 4, per_line: int = 2,
           wrap: tuple[str, str] = ("", "")) -> str:
    """`lhs = t1 + t2 + … = result` with the terms `per_line` to a line (aligned), so that a worked
    example fits a phone's width. `wrap` = (opening, closing) around the sum, e.g. a fraction."""
    items = _elide(parts, limit)
    if len(items) <= per_line:
        return rf"{lhs} = {wrap[0]}{' + '.join(items)}{wrap[1]} = {result}"
    rows = [" + ".join(items[k : k + per_line]) for k in range(0, len(items), per_line)]
    body = rf"{lhs} &= {wrap[0]}{rows[0]}"
    for row in rows[1:-1]:
        body += rf" \\ &\quad + {row}"
    body += rf" \\ &\quad + {rows[-1]}{wrap[1]} \\ &= {result}"
    return rf"\begin{{aligned}}{body}\end{{aligned}}"


# ----------------------------------------------------------------------------------------------
# Activations: formula, derivative formula, NumPy check
# ----------------------------------------------------------------------------------------------
def _act_forward(name: str, z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def _act_derivative(name: str, a: np.ndarray) -> np.ndarray | None:
    """f′(Z) written with the output A (what the engine uses); None for softmax (not elementwise)."""
    a = np.asarray(a, dtype=np.float64)
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "relu":
        return (a > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(a > 0, 1.0, 0.01)
    if name == "linear":
        return np.ones_like(a)
    return None


def _act_tex(name: str, a: str, z: str) -> str:
    """LaTeX of A = f(Z)."""
    return {
        "tanh": rf"{a} = \tanh({z})",
        "sigmoid": rf"{a} = \sigma({z}) = \frac{{1}}{{1 + e^{{-{z}}}}}",
        "relu": rf"{a} = \max(0,\, {z})",
        "leaky_relu": rf"{a} = \max(0.01\,{z},\, {z})",
        "softmax": rf"{a} = \mathrm{{softmax}}({z}),\quad a_{{ik}} = \frac{{e^{{z_{{ik}}}}}}{{\sum_j e^{{z_{{ij}}}}}}",
        "linear": rf"{a} = {z}",
    }.get(name, rf"{a} = f({z})")


def _deriv_tex(name: str, a: str, z: str) -> str:
    """LaTeX of f′(Z) in terms of A (or Z)."""
    return {
        "tanh": rf"f'({z}) = 1 - {a}\odot {a}",
        "sigmoid": rf"f'({z}) = {a}\odot(1 - {a})",
        "relu": rf"f'({z}) = \mathbf{{1}}[{z} > 0]",
        "leaky_relu": rf"f'({z}) = \mathbf{{1}}[{z} > 0] + 0.01\,\mathbf{{1}}[{z} \le 0]",
        "linear": rf"f'({z}) = 1",
    }.get(name, rf"f'({z})")


def _act_apply_text(name: str, value: float) -> str:
    """f(z) for one number, as LaTeX (e.g. \\tanh(0.12))."""
    return {
        "tanh": rf"\tanh({num(value)})",
        "sigmoid": rf"\sigma({num(value)})",
        "relu": rf"\max(0, {num(value)})",
        "leaky_relu": rf"\mathrm{{leaky}}({num(value)})",
        "linear": num(value),
    }.get(name, rf"f({num(value)})")


# ----------------------------------------------------------------------------------------------
# Facts about the model, and the traced step with the optimizer's state
# ----------------------------------------------------------------------------------------------
#: the layer kinds (each layer's declared ``label``) whose formulas this page writes out
KNOWN_KINDS = {"Dense": "dense", "Dropout": "dropout", "Flatten": "flatten"}


def _layer_kind(layer: Any) -> str:
    """"dense", "dropout" or "flatten" from the layer's declared label; "other" for any other layer
    (shown with shapes and summaries only)."""
    kind = KNOWN_KINDS.get(getattr(layer, "label", ""), "other")
    if kind == "dense" and getattr(layer, "params", {}).get("weights", np.zeros((1, 1))).ndim != 2:
        return "other"
    return kind


def model_facts(model: Any) -> dict[str, Any]:
    """What the stages need to know about the model besides the trace (JSON-like dict)."""
    opt = model.optimizer
    return {
        "layers": [
            {
                "kind": _layer_kind(layer),
                "type": type(layer).__name__,
                "activation": layer.activation_name,
                "l2": float(getattr(layer, "l2", 0.0) or 0.0),
                "rate": float(getattr(layer, "rate", 0.0) or 0.0),
                "has_bias": "biases" in layer.params,
            }
            for layer in model.layers
        ],
        "loss": model.loss.name,
        "optimizer": opt.name,
        "optimizer_config": dict(opt.get_config()),
        "dtype": str(model.dtype),
        "transform": None if model.input_transform is None else type(model.input_transform).__name__,
    }


def _state_by_layer(model: Any) -> list[dict[str, dict[str, np.ndarray]]]:
    """The optimizer's flat state buffers cut into per-layer, per-parameter arrays:
    [ {param name: {state name: array shaped like the parameter}} per layer ].

    Adam's scaled buffers are converted to torch's moments m and v (`Adam.moments`)."""
    opt = model.optimizer
    flat = model._params
    if not opt.state or flat is None:
        return [{} for _ in model.layers]
    if hasattr(opt, "moments"):
        m, v = opt.moments()
        buffers = {"m": m, "v": v}
    else:
        buffers = dict(opt.state)
    base = flat.__array_interface__["data"][0]
    out = []
    for layer in model.layers:
        per: dict[str, dict[str, np.ndarray]] = {}
        for name, p in layer.params.items():
            start = (p.__array_interface__["data"][0] - base) // flat.itemsize
            per[name] = {k: b[start : start + p.size].reshape(p.shape).copy() for k, b in buffers.items()}
        out.append(per)
    return out


def _targets(y: Any, n: int, outputs: int, dtype: np.dtype) -> np.ndarray:
    """Labels as the (n, outputs) target matrix the loss sees (class ids → one-hot rows)."""
    y = np.asarray(y)
    if y.ndim == 1 and outputs > 1:
        out = np.zeros((n, outputs), dtype=dtype)
        out[np.arange(n), y.astype(np.int64)] = 1
        return out
    return y.reshape(n, outputs).astype(dtype)


def trace_with_state(model: Any, x: Any, y: Any, apply: bool = False) -> dict[str, Any]:
    """`model.trace_step(x, y)` plus what the update stage needs: the optimizer's state before and
    after the step (per layer), its step count, the targets Y and the batch loss after the step.

    With ``apply=False`` the step runs on a copy (the model is unchanged); with ``apply=True`` it is
    applied to `model` (exactly one `train` step on that batch)."""
    model._require_compiled("trace_step")
    before = _state_by_layer(model)
    step = int(model.optimizer.t) + 1  # (a copy of a stateless optimizer does not keep its count)
    target = model if apply else model.copy()
    trace = target.trace_step(x, y, apply=True)
    trace["state_before"] = before
    trace["state_after"] = _state_by_layer(target)
    trace["t"] = step
    n = len(trace["layers"][0]["input"])
    trace["targets"] = _targets(y, n, model.output_size, model.dtype)
    # the dropout masks this step drew (0/1), so the stages need not guess them from the values
    trace["masks"] = {
        i: (np.asarray(layer._mask) * (1.0 - layer.rate)).round().astype(model.dtype)
        for i, layer in enumerate(target.layers)
        if _layer_kind(layer) == "dropout" and getattr(layer, "_mask", None) is not None
    }
    trace["loss_after"] = float(target.evaluate(x, y)["loss"])
    return trace


def describe_step(model: Any, x: Any, y: Any, apply: bool = False) -> StepDoc:
    """Trace one step of `model` on (x, y) and describe it as stages (see `stages_from_trace`)."""
    trace = trace_with_state(model, x, y, apply=apply)  # raises first for an uncompiled model or bad data
    facts = model_facts(model)
    return StepDoc(
        stages=stages_from_trace(trace, facts),
        trace=trace,
        facts=facts,
        loss=float(trace["loss"]),
        loss_after=trace.get("loss_after"),
        info={"t": trace["t"], "n": len(trace["targets"])},
    )


# ----------------------------------------------------------------------------------------------
# Stages
# ----------------------------------------------------------------------------------------------
def _sym_a(l: int) -> str:
    """A⁽ˡ⁾ with A⁽⁰⁾ = X (l is 1-based; 0 is the input)."""
    return "X" if l == 0 else f"A^{{({l})}}"


def _d(sym: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {sym}}}"


def _plain_a(l: int) -> str:
    return "X" if l == 0 else f"A{_sup(l)}"


def _sup(l: int) -> str:
    digits = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return f"⁽{str(l).translate(digits)}⁾"


def stages_from_trace(trace: dict[str, Any], facts: dict[str, Any]) -> list[Stage]:
    """The stages of one traced step, in reading order: the batch; forward per layer; the loss;
    backward from the output back; the optimizer's update per trainable layer.

    `trace` is `trace_with_state`'s result (a plain `trace_step` result works too, without optimizer
    state); `facts` is `model_facts(model)`."""
    layers = trace["layers"]
    dtype = np.dtype(facts["dtype"])
    y = trace.get("targets")
    stages = [_batch_stage(trace, facts, y)]
    for i in range(len(layers)):
        stages.append(_forward_stage(i, trace, facts, dtype))
    stages.append(_loss_stage(trace, facts, y, dtype))
    for i in range(len(layers) - 1, -1, -1):
        stages.extend(_backward_stages(i, trace, facts, y, dtype))
    for i in range(len(layers)):
        if any(k.startswith("update_") for k in layers[i]):
            stages.append(_update_stage(i, trace, facts, dtype))
    return stages


# -- batch ---------------------------------------------------------------------------------------
def _batch_stage(trace, facts, y) -> Stage:
    x = trace["layers"][0]["input"]
    n = len(x)
    arrays = [Array("X: the batch, one sample per row", "X", x)]
    latex = [rf"{sized('X', x.shape)}\quad\text{{{n} samples}} \times \text{{{int(np.prod(x.shape[1:]))} inputs}}"]
    if y is not None:
        arrays.append(Array("Y: the targets (one-hot rows for classes)", "Y", y))
        latex.append(rf"{sized('Y', y.shape)}\quad y_{{ik}} = 1 \text{{ when sample }} i \text{{ is of class }} k")
    text = (
        f"One mini-batch of {n} samples goes through the network. Each row of X is one sample; "
        "each row of Y says which class it belongs to."
    )
    if facts.get("transform"):
        text += f" X is the input after the model's {facts['transform']} transform."
    return Stage("batch", "Batch", "The batch", text, tuple(latex), tuple(arrays))


def _dropout_mask(i: int, trace, rate: float) -> tuple[np.ndarray, bool]:
    """The 0/1 mask of dropout layer i: from the trace when recorded, else guessed from the values
    (exact where the input is not 0). Returns (mask, guessed)."""
    masks = trace.get("masks") or {}
    if i in masks:
        return masks[i], False
    x, out = trace["layers"][i]["input"], trace["layers"][i]["output"]
    if rate >= 1:
        return np.zeros_like(x), True
    safe = np.where(x != 0, x, 1)
    return np.round(np.where(x != 0, out / safe, 0) * (1 - rate)).astype(x.dtype), True


# -- forward -------------------------------------------------------------------------------------
def _forward_stage(i: int, trace, facts, dtype) -> Stage:
    rec, name, f = trace["layers"][i], trace["names"][i], facts["layers"][i]
    l = i + 1
    kind = f["kind"]
    a_in, a_out = _sym_a(i), _sym_a(l)
    x, out = rec["input"], rec["output"]
    if kind == "dense":
        w = rec["weights"]
        z = rec["z"]
        has_b = "biases" in rec
        rhs = rf"{sized(a_in, x.shape)}\,{sized(f'W^{{({l})}}', w.shape)}"
        if has_b:
            rhs += rf" + {sized(f'b^{{({l})}}', (1, w.shape[1]))}"
        latex = [rf"{sized(f'Z^{{({l})}}', z.shape)} = {rhs}"]
        act = f["activation"]
        latex.append(_act_tex(act, sized(a_out, out.shape), f"Z^{{({l})}}"))
        # one entry worked out with the actual numbers
        d = x.shape[1]
        parts = [rf"{pnum(x[0, k])}\cdot{pnum(w[k, 0])}" for k in range(d)]
        if has_b:
            parts.append(pnum(rec["biases"][0]))
        latex.append(worked(f"z^{{({l})}}_{{11}}", parts, num(z[0, 0])))
        if act != "softmax":
            latex.append(rf"a^{{({l})}}_{{11}} = {_act_apply_text(act, z[0, 0])} = {num(out[0, 0])}")
        else:
            more = r", \ldots" if z.shape[1] > 4 else ""
            row_z = ", ".join(num(v) for v in z[0, :4]) + more
            row_a = ", ".join(num(v) for v in out[0, :4]) + more
            latex.append(rf"a^{{({l})}}_{{1\cdot}} = \mathrm{{softmax}}({row_z}) = ({row_a})")
        arrays = [
            Array(f"{_plain_a(i)}: input of {name}", a_in, x),
            Array(f"W{_sup(l)}: weights", f"W^{{({l})}}", w),
        ]
        if has_b:
            arrays.append(Array(f"b{_sup(l)}: biases", f"b^{{({l})}}", rec["biases"]))
        arrays += [
            Array(f"Z{_sup(l)} = {_plain_a(i)}·W{_sup(l)}" + (f" + b{_sup(l)}" if has_b else ""), f"Z^{{({l})}}", z),
            Array(f"{_plain_a(l)} = {act}(Z{_sup(l)})" + (" = P, the probabilities" if act == "softmax" else ""), a_out, out),
        ]
        computed = x.astype(np.float64) @ w.astype(np.float64) + (rec["biases"] if has_b else 0.0)
        checks = [
            _check(f"{_plain_a(i)}·W{_sup(l)}" + (f" + b{_sup(l)}" if has_b else "") + f" recomputed with NumPy equals Z{_sup(l)}", computed, z, dtype),
            _check(f"{act}(Z{_sup(l)}) recomputed with NumPy equals {_plain_a(l)}", _act_forward(act, z), out, dtype),
        ]
        units = w.shape[1]
        text = (
            f"{name} multiplies its input by its weights and adds its biases (b is added to every row), "
            f"giving {units} pre-activations per sample; then {act} acts on each of them."
        )
        if act == "softmax":
            text = (
                f"{name} computes its {units} scores Z like any dense layer; softmax turns each row into "
                "probabilities P that sum to 1."
            )
        return Stage(f"forward-{l}", "Forward", f"Forward · {name}", text, tuple(latex), tuple(arrays), tuple(checks), layer=i)
    if kind == "dropout":
        rate = f["rate"]
        keep = 1.0 - rate
        mask, guessed = _dropout_mask(i, trace, rate)
        latex = [
            rf"{sized(a_out, out.shape)} = {sized(a_in, x.shape)} \odot \frac{{M}}{{1 - r}},\quad r = {num(rate, 3)}",
            r"m_{ik} \sim \mathrm{Bernoulli}(1 - r)",
        ]
        arrays = [Array(f"{_plain_a(i)}: input", a_in, x), Array("M: kept (1) or dropped (0)", "M", mask, derived=guessed),
                  Array(f"{_plain_a(l)}: output", a_out, out)]
        checks = [_check(f"{_plain_a(i)} ⊙ M / (1 − r) equals {_plain_a(l)}", x.astype(np.float64) * mask / keep, out, dtype)]
        text = (f"While training, {name} silences each value with probability {rate:g} and scales the others by "
                f"1/(1 − {rate:g}) so the expected sum stays the same; at prediction time it does nothing.")
        return Stage(f"forward-{l}", "Forward", f"Forward · {name}", text, tuple(latex), tuple(arrays), tuple(checks), layer=i)
    if kind == "flatten":
        latex = [rf"{sized(a_out, out.shape)} = \mathrm{{reshape}}\big({sized(a_in, x.shape)}\big)"]
        arrays = [Array(f"{_plain_a(i)}: input", a_in, x), Array(f"{_plain_a(l)}: output", a_out, out)]
        text = f"{name} lays each sample out as one row of numbers; no parameters, no arithmetic."
        return Stage(f"forward-{l}", "Forward", f"Forward · {name}", text, tuple(latex), tuple(arrays), layer=i)
    # any other layer (convolution, pooling, …): shapes and summaries, no formula
    arrays = [Array(f"{_plain_a(i)}: input", a_in, x)]
    for p in ("weights", "biases"):
        if p in rec:
            arrays.append(Array(f"{p} of {name}", f"{p[0].upper()}^{{({l})}}", rec[p]))
    if "z" in rec:
        arrays.append(Array(f"Z{_sup(l)}: before the activation", f"Z^{{({l})}}", rec["z"]))
    arrays.append(Array(f"{_plain_a(l)}: output", a_out, out))
    latex = [rf"{sized(a_in, x.shape)}\;\xrightarrow{{\text{{{name}}}}}\;{sized(a_out, out.shape)}"]
    text = f"{name} ({f['type']}): the page shows the shapes and summaries of its numbers, not its formula."
    return Stage(f"forward-{l}", "Forward", f"Forward · {name}", text, tuple(latex), tuple(arrays), layer=i)


# -- loss ----------------------------------------------------------------------------------------
def _loss_stage(trace, facts, y, dtype) -> Stage:
    out = trace["layers"][-1]["output"]
    l_out = len(trace["layers"])
    n, k = out.shape
    loss_name = facts["loss"]
    act = facts["layers"][-1]["activation"]
    data_loss = float(trace["data_loss"])
    p64 = np.asarray(out, dtype=np.float64)
    arrays = [Array("P: the network's output" if loss_name == "cse" else f"{_plain_a(l_out)}: the network's output",
                    "P" if loss_name == "cse" else _sym_a(l_out), out)]
    latex: list[str] = []
    checks: list[Check] = []
    if y is not None:
        arrays.append(Array("Y: the targets", "Y", y))
        y64 = np.asarray(y, dtype=np.float64)
    if loss_name == "cse" and act == "softmax":
        latex.append(r"L = -\frac{1}{n}\sum_{i=1}^{n}\sum_{k} y_{ik}\,\log p_{ik}")
        if y is not None:
            per = -np.sum(y64 * np.log(np.clip(p64, 1e-300, None)), axis=1)
            onehot = np.all((y64 == 0) | (y64 == 1)) and np.all(y64.sum(axis=1) == 1)
            if onehot:
                cls = y64.argmax(axis=1)
                parts = [rf"\log {num(p64[i, cls[i]])}" for i in range(n)]
                latex.append(worked("L", parts, num(data_loss), limit=5, wrap=(rf"-\frac{{1}}{{{n}}}\big(", r"\big)")))
            arrays.append(Array("ℓᵢ = −Σₖ yᵢₖ log pᵢₖ: loss of each sample", r"\ell", per.reshape(n, 1), derived=True))
            checks.append(_check("the mean of ℓᵢ recomputed with NumPy equals the traced loss", per.mean(), data_loss, dtype))
        text = ("Cross-entropy: each sample is charged −log of the probability the network gave its true class, "
                "and L is the mean over the batch. A sure, right answer costs 0; a sure, wrong one costs a lot.")
    elif loss_name == "cse":  # binary cross-entropy on one sigmoid unit
        latex.append(r"L = -\frac{1}{n}\sum_{i=1}^{n}\big[y_i\log p_i + (1-y_i)\log(1-p_i)\big]")
        if y is not None:
            per = -(y64 * np.log(np.clip(p64, 1e-300, None)) + (1 - y64) * np.log(np.clip(1 - p64, 1e-300, None))).sum(axis=1)
            arrays.append(Array("ℓᵢ: loss of each sample", r"\ell", per.reshape(n, 1), derived=True))
            checks.append(_check("the mean of ℓᵢ recomputed with NumPy equals the traced loss", per.mean(), data_loss, dtype))
            latex.append(rf"L = {num(data_loss)}")
        text = "Binary cross-entropy: −log of the probability the network gave the true answer, averaged over the batch."
    else:  # mse
        latex.append(rf"L = \frac{{1}}{{n\,K}}\sum_{{i=1}}^{{n}}\sum_{{k=1}}^{{K}} (a_{{ik}} - y_{{ik}})^2,\quad n = {n},\ K = {k}")
        if y is not None:
            sq = (p64 - y64) ** 2
            per = sq.mean(axis=1)
            parts = [num(v) for v in sq.ravel()]
            latex.append(worked("L", parts, num(data_loss), limit=5, per_line=3, wrap=(rf"\frac{{1}}{{{n * k}}}\big(", r"\big)")))
            arrays.append(Array("(a − y)²: squared error of each output", r"(A-Y)^2", sq, derived=True))
            checks.append(_check("the mean of (A − Y)² recomputed with NumPy equals the traced loss", sq.mean(), data_loss, dtype))
            del per
        text = "Mean squared error: the average of the squared differences between outputs and targets."
    total = float(trace["loss"])
    if abs(total - data_loss) > 0:
        latex.append(rf"L_{{\text{{total}}}} = L + \sum_l \lambda_l \lVert W^{{(l)}}\rVert^2 = {num(data_loss)} + {num(total - data_loss)} = {num(total)}")
        text += " The l2 penalty on the weights is added to give the loss that is minimised."
    return Stage("loss", "Loss", "The loss", text, tuple(latex), tuple(arrays), tuple(checks))


# -- backward ------------------------------------------------------------------------------------
def _param_grad_stage(i: int, trace, facts, dtype) -> Stage:
    rec, name, f = trace["layers"][i], trace["names"][i], facts["layers"][i]
    l = i + 1
    x, gz, w, gw = rec["input"], rec["grad_z"], rec["weights"], rec["grad_weights"]
    has_b = "biases" in rec
    lam = f["l2"]
    dz = _d(f"Z^{{({l})}}")
    a_t = "X^{\\top}" if i == 0 else f"A^{{({i})" + r"\top}"
    top = rf"{sized(_d(f'W^{{({l})}}'), gw.shape)} = {sized(a_t, (x.shape[1], x.shape[0]))}\,{sized(dz, gz.shape)}"
    if lam:
        top += rf" + 2\lambda\,W^{{({l})}},\ \lambda = {num(lam, 3)}"
    latex = [top]
    if has_b:
        latex.append(rf"{sized(_d(f'b^{{({l})}}'), (1, gz.shape[1]))} = \sum_{{i=1}}^{{n}} \Big({dz}\Big)_{{i\,\cdot}}\quad\text{{(sum of the rows)}}")
    parts = [rf"{pnum(x[r, 0])}\cdot{pnum(gz[r, 0])}" for r in range(len(x))]
    if lam:
        parts.append(rf"2\cdot{num(lam, 3)}\cdot{pnum(w[0, 0])}")
    latex.append(worked(rf"\frac{{\partial L}}{{\partial w^{{({l})}}_{{11}}}}", parts, num(gw[0, 0]), limit=5 if lam else 4))
    arrays = [
        Array(f"{_plain_a(i)}: input of {name}", _sym_a(i), x),
        Array(f"∂L/∂Z{_sup(l)}", dz, gz),
        Array(f"∂L/∂W{_sup(l)}: gradient of the weights", _d(f"W^{{({l})}}"), gw),
    ]
    computed = x.astype(np.float64).T @ gz.astype(np.float64) + 2 * lam * w.astype(np.float64)
    checks = [_check(f"{_plain_a(i)}ᵀ·∂L/∂Z{_sup(l)}" + (" + 2λW" if lam else "") + f" recomputed with NumPy equals ∂L/∂W{_sup(l)}", computed, gw, dtype)]
    if has_b:
        arrays.append(Array(f"∂L/∂b{_sup(l)}: gradient of the biases", _d(f"b^{{({l})}}"), rec["grad_biases"]))
        checks.append(_check(f"the column sums of ∂L/∂Z{_sup(l)} equal ∂L/∂b{_sup(l)}", gz.astype(np.float64).sum(axis=0), rec["grad_biases"], dtype))
    text = (f"Weight w_jk of {name} connects input j to unit k, so its gradient adds up, over the batch, input j "
            "times the error ∂L/∂z at unit k; a bias acts like a weight on an input that is always 1, so its "
            "gradient is the column sum.")
    return Stage(f"backward-{l}-params", "Backward", f"Backward · {name}: ∂L/∂W, ∂L/∂b", text, tuple(latex), tuple(arrays), tuple(checks), layer=i)


def _incoming_grad(i: int, trace, facts, dtype) -> tuple[list[str], list[Array], list[Check]]:
    """How ∂L/∂A⁽ˡ⁾ of layer i arrives from layer i + 1 (formula, arrays, check)."""
    l = i + 1
    rec = trace["layers"][i]
    nxt, nf = trace["layers"][i + 1], facts["layers"][i + 1]
    ga = rec["grad_output"]
    da = _d(_sym_a(l))
    if nf["kind"] == "dense":
        w2, gz2 = nxt["weights"], nxt["grad_z"]
        w_t = f"W^{{({l + 1})" + r"\top}"
        latex = [rf"{sized(da, ga.shape)} = {sized(_d(f'Z^{{({l + 1})}}'), gz2.shape)}\,{sized(w_t, (w2.shape[1], w2.shape[0]))}"]
        arrays = [Array(f"∂L/∂Z{_sup(l + 1)} (from the previous stage)", _d(f"Z^{{({l + 1})}}"), gz2),
                  Array(f"W{_sup(l + 1)}: weights of {trace['names'][i + 1]}", f"W^{{({l + 1})}}", w2)]
        checks = [_check(f"∂L/∂Z{_sup(l + 1)}·W{_sup(l + 1)}ᵀ recomputed with NumPy equals ∂L/∂{_plain_a(l)}",
                         gz2.astype(np.float64) @ w2.astype(np.float64).T, ga, dtype)]
        return latex, arrays, checks
    latex = [rf"{sized(da, ga.shape)}\ \text{{comes back through {trace['names'][i + 1]} (previous stage)}}"]
    return latex, [], []


def _delta_stage(i: int, trace, facts, y, dtype) -> Stage:
    """∂L/∂Z of layer i: fused softmax/sigmoid + cross-entropy at the output, chain rule elsewhere."""
    rec, name, f = trace["layers"][i], trace["names"][i], facts["layers"][i]
    l = i + 1
    last = i == len(trace["layers"]) - 1
    gz, a = rec["grad_z"], rec["output"]
    act = f["activation"]
    dz = _d(f"Z^{{({l})}}")
    n = len(gz)
    latex: list[str] = []
    arrays: list[Array] = []
    checks: list[Check] = []
    note = ""
    if last and facts["loss"] == "cse":
        latex.append(rf"{sized(dz, gz.shape)} = \frac{{1}}{{n}}\big({sized('P', a.shape)} - {sized('Y', a.shape)}\big),\quad n = {n}")
        arrays += [Array("P: the probabilities", "P", a)]
        if y is not None:
            arrays.append(Array("Y: the targets", "Y", y))
            computed = (a.astype(np.float64) - np.asarray(y, dtype=np.float64)) / n
            checks.append(_check(f"(P − Y)/n recomputed with NumPy equals ∂L/∂Z{_sup(l)}", computed, gz, dtype))
            latex.append(rf"\frac{{\partial L}}{{\partial z^{{({l})}}_{{11}}}} = \frac{{{num(a[0, 0])} - {pnum(y[0, 0], 3)}}}{{{n}}} = {num(gz[0, 0])}")
        arrays.append(Array(f"∂L/∂Z{_sup(l)}: the error at each output", dz, gz))
        what = "softmax" if act == "softmax" else "sigmoid"
        text = (f"Going backwards starts at the output. {what.capitalize()} and cross-entropy are differentiated "
                "together, and everything cancels to a simple rule: the error of each output is the probability "
                "minus the target, divided by the batch size (L is a mean over the batch).")
    elif last:  # mse
        k = gz.shape[1]
        latex.append(rf"{sized(_d(_sym_a(l)), a.shape)} = \frac{{2}}{{n\,K}}\big({_sym_a(l)} - Y\big),\quad n = {n},\ K = {k}")
        latex.append(rf"{sized(dz, gz.shape)} = {_d(_sym_a(l))} \odot f'(Z^{{({l})}})")
        latex.append(_deriv_tex(act, _sym_a(l), f"Z^{{({l})}}"))
        arrays.append(Array(f"{_plain_a(l)}: the output", _sym_a(l), a))
        if y is not None:
            ga = 2.0 * (a.astype(np.float64) - np.asarray(y, dtype=np.float64)) / (n * k)
            arrays += [Array("Y: the targets", "Y", y), Array(f"∂L/∂{_plain_a(l)} = 2(A − Y)/(nK)", _d(_sym_a(l)), ga, derived=True)]
            fp = _act_derivative(act, a)
            if fp is not None:
                checks.append(_check(f"2(A − Y)/(nK) ⊙ f′(Z) recomputed with NumPy equals ∂L/∂Z{_sup(l)}", ga * fp, gz, dtype))
        arrays.append(Array(f"∂L/∂Z{_sup(l)}", dz, gz))
        text = "Going backwards starts at the output: the derivative of the squared error, times the derivative of the output's activation."
        if act in ("sigmoid", "relu"):
            note = ORIGINAL_DERIVATIVES_NOTE
    else:
        latex_in, arrays_in, checks_in = _incoming_grad(i, trace, facts, dtype)
        latex += latex_in
        arrays += arrays_in
        checks += checks_in
        ga = rec["grad_output"]
        arrays.append(Array(f"∂L/∂{_plain_a(l)}", _d(_sym_a(l)), ga))
        fp = _act_derivative(act, a)
        if fp is not None:
            latex.append(rf"{sized(dz, gz.shape)} = {_d(_sym_a(l))} \odot f'(Z^{{({l})}})")
            latex.append(_deriv_tex(act, _sym_a(l), f"Z^{{({l})}}"))
            arrays += [Array(f"{_plain_a(l)}: output of {name}", _sym_a(l), a),
                       Array(f"f′(Z{_sup(l)}) for {act}", f"f'(Z^{{({l})}})", fp, derived=True)]
            checks.append(_check(f"∂L/∂{_plain_a(l)} ⊙ f′(Z{_sup(l)}) recomputed with NumPy equals ∂L/∂Z{_sup(l)}", ga * fp, gz, dtype))
            latex.append(rf"\frac{{\partial L}}{{\partial z^{{({l})}}_{{11}}}} = {pnum(ga[0, 0])}\cdot{pnum(fp[0, 0])} = {num(gz[0, 0])}")
        else:  # softmax in a hidden layer: the Jacobian-vector product
            latex.append(rf"{sized(dz, gz.shape)} = A^{{({l})}} \odot \Big({_d(_sym_a(l))} - \big(\textstyle\sum_k {_d(_sym_a(l))}\odot A^{{({l})}}\big)\Big)")
        arrays.append(Array(f"∂L/∂Z{_sup(l)}: the error at each unit", dz, gz))
        text = (f"The error flows back: ∂L/∂{_plain_a(l)} gathers, for every unit of {name}, the errors of the units "
                f"it feeds, weighted by the connecting weights; multiplying by the slope of {act} at each unit gives ∂L/∂Z{_sup(l)}.")
        if act in ("sigmoid", "relu"):
            note = ORIGINAL_DERIVATIVES_NOTE
    return Stage(f"backward-{l}-delta", "Backward", f"Backward · {name}: ∂L/∂Z", text, tuple(latex), tuple(arrays), tuple(checks), note, layer=i)


def _backward_stages(i: int, trace, facts, y, dtype) -> list[Stage]:
    rec, name, f = trace["layers"][i], trace["names"][i], facts["layers"][i]
    l = i + 1
    kind = f["kind"]
    if kind == "dense":
        return [_delta_stage(i, trace, facts, y, dtype), _param_grad_stage(i, trace, facts, dtype)]
    ga = rec.get("grad_output")
    back = trace["layers"][i - 1].get("grad_output") if i > 0 else None  # nothing flows back into X
    da_out, da_in = _d(_sym_a(l)), _d(_sym_a(i))
    if kind == "other":
        return _other_backward_stage(i, trace, facts, ga, back)
    if ga is None or back is None:
        return []
    if kind == "dropout":
        rate = f["rate"]
        mask, guessed = _dropout_mask(i, trace, rate)
        latex = [rf"{sized(da_in, back.shape)} = {sized(da_out, ga.shape)} \odot \frac{{M}}{{1 - r}}"]
        arrays = [Array(f"∂L/∂{_plain_a(l)}", da_out, ga), Array("M: the same mask as forward", "M", mask, derived=guessed),
                  Array(f"∂L/∂{_plain_a(i)}", da_in, back)]
        checks = [_check(f"∂L/∂{_plain_a(l)} ⊙ M/(1 − r) equals ∂L/∂{_plain_a(i)}", ga.astype(np.float64) * mask / (1 - rate), back, dtype)]
        text = f"{name} passes the error back only through the values it kept, scaled like in the forward pass."
        return [Stage(f"backward-{l}", "Backward", f"Backward · {name}", text, tuple(latex), tuple(arrays), tuple(checks), layer=i)]
    if kind == "flatten":
        latex = [rf"{sized(da_in, back.shape)} = \mathrm{{reshape}}\big({sized(da_out, ga.shape)}\big)"]
        arrays = [Array(f"∂L/∂{_plain_a(l)}", da_out, ga), Array(f"∂L/∂{_plain_a(i)}", da_in, back)]
        text = f"{name} hands the error back in the shape of its input."
        return [Stage(f"backward-{l}", "Backward", f"Backward · {name}", text, tuple(latex), tuple(arrays), layer=i)]
    return []


def _other_backward_stage(i: int, trace, facts, ga, back) -> list[Stage]:
    """A layer type without a written formula (convolution, pooling, …): its gradients, summarised."""
    rec, name, f = trace["layers"][i], trace["names"][i], facts["layers"][i]
    l = i + 1
    da_out, da_in = _d(_sym_a(l)), _d(_sym_a(i))
    arrays, latex = [], []
    if ga is not None:
        arrays.append(Array(f"∂L/∂{_plain_a(l)}", da_out, ga))
    if "grad_z" in rec:
        arrays.append(Array(f"∂L/∂Z{_sup(l)}", _d(f"Z^{{({l})}}"), rec["grad_z"]))
    for p in ("weights", "biases"):
        if f"grad_{p}" in rec:
            sym = _d(f"{p[0].upper()}^{{({l})}}")
            arrays.append(Array(f"∂L/∂{p} of {name}", sym, rec[f"grad_{p}"]))
            latex.append(rf"{sized(sym, rec[f'grad_{p}'].shape)}\quad\text{{(summarised below)}}")
    if back is not None:
        arrays.append(Array(f"∂L/∂{_plain_a(i)}", da_in, back))
        if ga is not None:
            latex.insert(0, rf"{sized(da_out, ga.shape)}\;\xrightarrow{{\text{{{name}}}}}\;{sized(da_in, back.shape)}")
    if not arrays:
        return []
    text = f"{name} ({f['type']}): its gradients, summarised (the page shows no formula for this layer type)."
    return [Stage(f"backward-{l}", "Backward", f"Backward · {name}", text, tuple(latex or [rf"\text{{{name}}}"]),
                  tuple(arrays), layer=i)]


# -- update --------------------------------------------------------------------------------------
def _rule(opt: str, cfg: dict[str, Any], P: str, G: str, t: int) -> tuple[list[str], str]:
    """LaTeX lines of the optimizer's rule for parameter symbol P with gradient G, and a sentence."""
    lr = num(cfg.get("lr", 0.0), 3)
    if opt == "iterative" or (opt == "sgd" and not cfg.get("momentum")):
        return [rf"\Delta {P} = -\eta\,{G},\quad \eta = {lr}"], "Gradient descent moves every weight a little against its gradient."
    if opt in ("sgd", "momentum"):
        mu = num(cfg.get("momentum", 0.0), 3)
        lines = [rf"B \leftarrow \mu B + {G},\quad \mu = {mu}"]
        if cfg.get("nesterov"):
            lines.append(rf"\Delta {P} = -\eta\,\big({G} + \mu B\big),\quad \eta = {lr}")
            return lines, ("Nesterov momentum: B remembers past gradients; the step looks ahead along B. "
                           "B starts at zero, so the first steps are like plain gradient descent.")
        lines.append(rf"\Delta {P} = -\eta\,B,\quad \eta = {lr}")
        return lines, "Momentum: B is a running sum of past gradients (decayed by μ), and the step follows B."
    if opt == "rmsprop":
        return [rf"V \leftarrow \alpha V + (1-\alpha)\,{G}\odot {G},\quad \alpha = {num(cfg['alpha'], 3)}",
                rf"\Delta {P} = -\eta\,\frac{{{G}}}{{\sqrt{{V}} + \epsilon}},\quad \eta = {lr},\ \epsilon = {num(cfg['eps'], 2)}"], \
            "RMSprop divides each gradient by a running average of its size, so every weight takes steps of similar size."
    if opt == "adagrad":
        return [rf"S \leftarrow S + {G}\odot {G}",
                rf"\Delta {P} = -\eta\,\frac{{{G}}}{{\sqrt{{S}} + \epsilon}},\quad \eta = {lr},\ \epsilon = {num(cfg['eps'], 2)}"], \
            "Adagrad divides by the root of the sum of all past squared gradients: steps shrink over time."
    if opt == "adam":
        return [rf"m \leftarrow \beta_1 m + (1-\beta_1)\,{G}",
                rf"v \leftarrow \beta_2 v + (1-\beta_2)\,{G}\odot {G}",
                r"\hat m = \frac{m}{1-\beta_1^{t}},\quad \hat v = \frac{v}{1-\beta_2^{t}}",
                rf"t = {t},\ \beta_1 = {num(cfg['beta1'], 3)},\ \beta_2 = {num(cfg['beta2'], 4)},\ \epsilon = {num(cfg['eps'], 2)}",
                rf"\Delta {P} = -\eta\,\frac{{\hat m}}{{\sqrt{{\hat v}} + \epsilon}},\quad \eta = {lr}"], \
            ("Adam keeps running averages of the gradient (m) and of its square (v), corrects them for starting at "
             "zero, and steps by their ratio: about η per weight, whatever the gradient's scale.")
    if opt == "adamax":
        return [rf"m \leftarrow \beta_1 m + (1-\beta_1)\,{G}",
                rf"u \leftarrow \max\big(\beta_2 u,\ |{G}| + \epsilon\big)",
                rf"\Delta {P} = -\frac{{\eta}}{{1-\beta_1^{{t}}}}\,\frac{{m}}{{u}},\quad \eta = {lr},\ t = {t}"], \
            "Adamax: Adam with the largest recent gradient size (u) in place of the average square."
    if opt == "adadelta":
        return [rf"V \leftarrow \rho V + (1-\rho)\,{G}\odot {G},\quad \rho = {num(cfg['rho'], 3)}",
                rf"D = \frac{{\sqrt{{U + \epsilon}}}}{{\sqrt{{V + \epsilon}}}}\odot {G}",
                r"U \leftarrow \rho U + (1-\rho)\,D\odot D",
                rf"\Delta {P} = -\eta\,D,\quad \eta = {lr}"], \
            "Adadelta scales each step by the ratio of past step sizes (U) to past gradient sizes (V)."
    return [rf"\Delta {P} = \mathrm{{{opt}}}({G})"], f"The {opt} rule."


#: optimizer state names as shown, per optimizer (Adam's via moments())
_STATE_SYMBOLS = {
    "momentum_buffer": "B",
    "square_avg": "V",
    "sum": "S",
    "m": "m",
    "v": "v",
    "exp_avg": "m",
    "exp_inf": "u",
    "acc_delta": "U",
}


def _rule_check(opt: str, cfg: dict[str, Any], g, before: dict, after: dict, t: int) -> np.ndarray | None:
    """The update recomputed with NumPy from the gradient and the optimizer state (None if unknown)."""
    g = np.asarray(g, dtype=np.float64)
    lr = float(cfg.get("lr", 0.0))
    s = {k: np.asarray(v, dtype=np.float64) for k, v in after.items()}
    s0 = {k: np.asarray(v, dtype=np.float64) for k, v in before.items()}
    if opt == "iterative" or (opt == "sgd" and not cfg.get("momentum")):
        return -lr * g
    if opt in ("sgd", "momentum"):
        b = s["momentum_buffer"]
        return -lr * (g + cfg["momentum"] * b) if cfg.get("nesterov") else -lr * b
    if opt == "rmsprop":
        return -lr * g / (np.sqrt(s["square_avg"]) + cfg["eps"])
    if opt == "adagrad":
        return -lr * g / (np.sqrt(s["sum"]) + cfg["eps"])
    if opt == "adam":
        mhat = s["m"] / (1 - cfg["beta1"] ** t)
        vhat = s["v"] / (1 - cfg["beta2"] ** t)
        return -lr * mhat / (np.sqrt(vhat) + cfg["eps"])
    if opt == "adamax":
        return -lr / (1 - cfg["beta1"] ** t) * s["exp_avg"] / s["exp_inf"]
    if opt == "adadelta":
        u0 = s0.get("acc_delta", np.zeros_like(g))
        d = np.sqrt(u0 + cfg["eps"]) / np.sqrt(s["square_avg"] + cfg["eps"]) * g
        return -lr * d
    return None


def _update_stage(i: int, trace, facts, dtype) -> Stage:
    rec, name = trace["layers"][i], trace["names"][i]
    l = i + 1
    opt, cfg = facts["optimizer"], facts["optimizer_config"]
    t = int(trace.get("t", 1))
    before_all = trace.get("state_before") or [{} for _ in trace["layers"]]
    after_all = trace.get("state_after") or [{} for _ in trace["layers"]]
    params = [p for p in ("weights", "biases") if p in rec] or [k for k in rec if f"update_{k}" in rec and not k.startswith(("grad_", "update_", "new_"))]
    latex: list[str] = []
    arrays: list[Array] = []
    checks: list[Check] = []
    sentence = ""
    for p in params:
        letter = {"weights": "W", "biases": "b"}.get(p, p)
        P = f"{letter}^{{({l})}}"
        G = _d(P)
        value, grad, upd, new = rec[p], rec[f"grad_{p}"], rec[f"update_{p}"], rec[f"new_{p}"]
        lines, sentence = _rule(opt, cfg, P, G, t)
        if p == params[0]:
            latex += lines
        p_new = P + r"_{\text{new}}"
        latex.append(rf"{sized(p_new, value.shape)} = {P} + \Delta {P}")
        idx = (0,) * value.ndim
        latex.append(rf"{letter}^{{({l})}}_{{{'1' * min(2, value.ndim)}}}:\ {num(value[idx])} + {pnum(upd[idx])} = {num(new[idx])}")
        plain = f"{letter}{_sup(l)}"
        arrays += [Array(f"{plain}: before", P, value), Array(f"∂L/∂{plain}", G, grad)]
        stateless = opt == "iterative" or (opt == "sgd" and not cfg.get("momentum"))
        before = {} if stateless else (before_all[i] if i < len(before_all) else {}).get(p, {})
        after = {} if stateless else (after_all[i] if i < len(after_all) else {}).get(p, {})
        for sname, arr in after.items():
            sym = _STATE_SYMBOLS.get(sname, sname)
            arrays.append(Array(f"{sym} for {plain} after this step (optimizer state)", sym, arr))
        arrays += [Array(f"Δ{plain}: the update", rf"\Delta {P}", upd), Array(f"{plain} new = {plain} + Δ{plain}", P + r"_{\text{new}}", new)]
        expected = _rule_check(opt, cfg, grad, before, after, t)
        if expected is not None and (after or stateless):
            checks.append(_check(f"the rule recomputed with NumPy equals Δ{plain}", expected, upd, dtype))
        checks.append(_check(f"{plain} + Δ{plain} equals the new {plain}", value.astype(np.float64) + upd.astype(np.float64), new, dtype))
    text = f"{sentence} This is step {t} of the optimizer ({opt})."
    if len(params) > 1:
        text += " The same rule updates the biases."
    if trace.get("loss_after") is not None and i == len(trace["layers"]) - 1:
        text += f" With all layers updated, the loss on this batch goes from {trace['loss']:.4g} to {trace['loss_after']:.4g}."
    return Stage(f"update-{l}", "Update", f"Update · {name}", text, tuple(latex), tuple(arrays), tuple(checks), layer=i)


# ----------------------------------------------------------------------------------------------
# The page's tiny model
# ----------------------------------------------------------------------------------------------
TINY_DATASETS = ("xor", "circle", "gauss", "spiral")
TINY_ACTIVATIONS = ("tanh", "sigmoid", "relu")
#: Playground points lie in [-6, 6]; the tiny model sees them divided by this (so in [-1, 1])
TINY_SCALE = 6.0


def tiny_model(hidden: str = "tanh", optimizer: str = "sgd", lr: float = 0.1, seed: int = 0,
               units: int = 3, momentum: float | None = None) -> Any:
    """A 2-`units`-2 classifier: `hidden` units, softmax output, cross-entropy, float64 (so the
    checks read 0), compiled with `optimizer` at learning rate `lr`."""
    from .layers import FFL
    from .model import NN

    model = NN(seed=seed, dtype="float64")
    model.add(FFL(2, units, activation=hidden))
    model.add(FFL(neurons=2, activation="softmax"))
    model.compile_model(lr=lr, opt=optimizer, loss="cse", mr=momentum)
    return model


def tiny_points(dataset: str = "xor", n_samples: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points of a Playground set, divided by TINY_SCALE and rounded to 2 decimals (easy to read):
    x (n, 2) float64 in [-1, 1], y (n,) class ids 0/1."""
    from . import datasets

    if dataset not in TINY_DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(map(repr, TINY_DATASETS))}; got {dataset!r}.")
    ds = datasets.get(dataset, n_samples=n_samples, seed=seed, test_fraction=0.0)
    return np.round(ds.x.astype(np.float64) / TINY_SCALE, 2), ds.y.astype(np.int64)


def pick_batch(y: np.ndarray, size: int = 4, draw: int = 0, seed: int = 0) -> np.ndarray:
    """Indices of a batch with the classes as balanced as possible; `draw` numbers the batches."""
    y = np.asarray(y)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= len(y):
        raise ValueError(f"size must be an integer from 1 to {len(y)}; got {size!r}.")
    rng = np.random.default_rng([int(seed), int(draw)])
    classes = np.unique(y)
    pools = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    picked: list[int] = []
    k = 0
    while len(picked) < size:
        pool = pools[k % len(pools)]
        taken = sum(1 for j in picked if y[j] == classes[k % len(pools)])
        if taken < len(pool):
            picked.append(int(pool[taken]))
        k += 1
    return np.array(picked[:size])


def tiny_setup(dataset: str = "xor", hidden: str = "tanh", optimizer: str = "sgd", lr: float = 0.1,
               seed: int = 0, batch_size: int = 4, draw: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """The page's default: (tiny model, x batch (batch_size, 2), y class ids (batch_size,))."""
    x, y = tiny_points(dataset, seed=seed)
    idx = pick_batch(y, batch_size, draw, seed)
    return tiny_model(hidden, optimizer, lr, seed), x[idx], y[idx]

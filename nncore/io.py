"""Model files: one JSON document, data only (no pickle, nothing is executed on load).

Format "nncore.model", version 2 (version 1 files, dense-only, still load)::

    {"format": "nncore.model", "version": 2, "dtype": "float32", "seed": 0,
     "input_transform": {"type": "Rescale", "config": {...}} | null,
     "layers": [{"type": "<Layer class>", "config": {...}, "params": {"weights": ARRAY, ...}}, ...],
     "compile": ..., "optimizer_state": ..., "epoch": 5, "history": {...}, "batch_history": {...}}

Version 1::

    {"format": "nncore.model", "version": 1, "dtype": "float32", "seed": 0,
     "layers": [{"type": "FFL", "config": {...}, "weights": ARRAY, "biases": ARRAY | null},
                {"type": "Dropout", "config": {"rate": 0.2}}],
     "compile": {"optimizer": {"name": "adam", "config": {...}}, "loss": "cse", "lr": .., "mr": ..,
                 "metrics": ["accuracy"]} | null,
     "optimizer_state": {"t": 3, "buffers": {"<state name>": ARRAY, ...}} | null,
     "epoch": 5, "history": {...}, "batch_history": {...}}

ARRAY is {"dtype": "float32" | "float64", "shape": [..], "data": base64 of the little-endian bytes},
so a loaded model predicts bit for bit like the saved one.

Limits. Every limit is checked before the work it bounds, so a hostile file costs little:

- **File size: at most 128 MiB** (``MAX_FILE_BYTES``), checked against the file's size before it is
  read. That holds about 25 million float32 parameters without optimizer state (the shipped MNIST
  model is 1.5 MB). Loading a 125 MiB file (a 784-4096-5200-10 network, 24.6 million parameters)
  peaks at about 610 MB, most of it the layers' initial weights, which the file's then replace.
- **At most 5,000,000 JSON values** (``MAX_JSON_VALUES``, counted as commas in one fast pass before
  parsing): room for a batch history of some 700,000 training steps, while a file of nothing but
  numbers cannot make the parser build hundreds of megabytes of Python objects.
- **Parameters: at most 50 million, and no more than the file's bytes can encode** (3/16 of its size
  for float32 in base64), known from the layer configs before anything is allocated; every array's
  shape is compared with the layer's and its base64 length with the shape before it is decoded.
- **Integers of more than 20 digits, NaN, Infinity and float literals beyond float64** are refused
  where they stand (the message names the field, e.g. ``history.loss[3]``).

Sanity bounds. A file is accepted only if the model it describes can be used: predict and train
without overflowing. nncore refuses to *save* a model outside these bounds too, so every file it
writes loads again.

- **Parameters: |w| ≤ 1e6** after the cast to the model's dtype (``MAX_PARAMETER_MAGNITUDE``).
  Trained weights are of order 1 (He/Glorot initial weights are ~0.01–0.5); a weight of 1e6 means a
  run blew up. The bound keeps float32 usable: four 256-unit layers of weights at 1e6 on inputs of
  size 1 reach (256·1e6)^4 ≈ 4e33, still below float32's 3.4e38, whereas a single weight at float32's
  maximum overflows the first forward pass.
- **Optimizer state: finite, shaped (n_parameters,), |m| ≤ 1e15 for first moments and momentum
  (``momentum_buffer``, Adam's and Adamax's ``exp_avg``, ``exp_inf``) and 0 ≤ v ≤ 1e30 for
  accumulated squares** (``square_avg``, ``sum``, ``exp_avg_sq``, ``acc_delta``; ``exp_inf`` is
  non-negative as well). Gradients of unnormalised regressions reach ~1e10, so these leave room for
  real runs, and 1e30 leaves float32 eight orders of magnitude for the next ``v·β + g²``.
  ``t`` (steps taken) is an integer in [0, 1e12]; t = 0 exactly when there are no buffers.
- **Hyper-parameters: 0 < lr ≤ 1e3** (no update rule here is useful above ~10), layer ``l2`` ≤ 1e3,
  1e-30 ≤ ``eps`` ≤ 1e3 (smaller values become 0 in float32 and turn a 0/0 into NaN; the usual
  values are 1e-10 to 1e-6).
- **History: ``epoch`` equals the number of recorded epochs**, numbered 1, 2, …; all lists of one
  history have the same length; losses are finite and ≥ 0, accuracies in [0, 1], mae ≥ 0, r2 ≤ 1,
  seconds ≥ 0, learning rates > 0; batch steps are numbered 1, 2, … and their epochs never decrease.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import os
from pathlib import Path
from typing import Any, BinaryIO, Iterable

import numpy as np

from . import losses as _losses
from . import optimizers as _optimizers
from . import transforms as _transforms
from .errors import ModelFileError
from .layers.base import LAYERS
from .metrics import check_metrics
from .model import NN

FORMAT = "nncore.model"
VERSION = 2
READABLE_VERSIONS = (1, 2)
# The limits and bounds below are explained in the module docstring.
#: largest file load_model reads (checked before reading)
MAX_FILE_BYTES = 128 * 1024 * 1024
#: most JSON values (commas) a file may hold (checked before parsing)
MAX_JSON_VALUES = 5_000_000
#: most parameters a file may declare (and never more than its bytes can encode)
MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 1000
#: integers with more digits are refused where they stand (seeds are below 2**63: 19 digits)
MAX_INT_DIGITS = 20
#: largest optimizer step count
MAX_STEPS = 10**12
#: |weight| bound after the cast to the model's dtype
MAX_PARAMETER_MAGNITUDE = 1e6
#: |state| bound of first-moment / momentum buffers
MAX_MOMENT_MAGNITUDE = 1e15
#: bound of accumulated squares
MAX_SQUARE_MAGNITUDE = 1e30
MAX_L2 = 1e3
#: no update rule here is useful above ~10; larger rates only overflow (compile_model accepts them, files do not)
MAX_LEARNING_RATE = 1e3
MIN_EPS = 1e-30
MAX_EPS = 1e3
#: optimizer buffers that hold accumulated squares (non-negative, bounded by MAX_SQUARE_MAGNITUDE)
SQUARE_BUFFERS = ("square_avg", "sum", "exp_avg_sq/(1-beta2)", "acc_delta")
#: optimizer buffers of the gradient's own scale (bounded by MAX_MOMENT_MAGNITUDE)
MOMENT_BUFFERS = ("momentum_buffer", "exp_avg/(1-beta1)", "exp_avg", "exp_inf")
#: buffers that the update rule keeps ≥ 0
NON_NEGATIVE_BUFFERS = (*SQUARE_BUFFERS, "exp_inf")
#: tolerated rounding below 0 in a recorded loss
LOSS_ROUNDING = 1e-7


# ---------------------------------------------------------------------- writing
def _encode(arr: np.ndarray) -> dict[str, Any]:
    arr = np.ascontiguousarray(arr)
    le = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "data": base64.b64encode(le.tobytes()).decode("ascii")}


def model_to_dict(model: NN, include_optimizer: bool = True) -> dict[str, Any]:
    """The model as a JSON-ready document; ValueError when the model is outside what a file may hold."""
    try:
        _check_model_for_saving(model, include_optimizer)
    except ModelFileError as exc:
        raise ValueError(str(exc).replace("Invalid model file:", "Cannot save the model:", 1)) from None
    cfg = model.get_config()
    layers = []
    for spec, layer in zip(cfg["layers"], model.layers):
        entry = dict(spec)
        entry["params"] = {k: _encode(v) for k, v in layer.params.items()}
        layers.append(entry)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "dtype": cfg["dtype"],
        "seed": cfg["seed"],
        "input_transform": cfg["input_transform"],
        "layers": layers,
        "compile": cfg["compile"],
        "optimizer_state": None,
        "epoch": model.epoch,
        "history": model.history,
        "batch_history": model.batch_history,
    }
    if include_optimizer and model.compiled and (model.optimizer.state or model.optimizer.t):
        st = model.optimizer.state_dict()
        doc["optimizer_state"] = {"t": st["t"], "buffers": {k: _encode(v) for k, v in st["buffers"].items()}}
    return doc


def model_to_json(model: NN, include_optimizer: bool = True) -> str:
    """The model file's text. ValueError (a sentence naming the field) when the model is outside the
    limits and bounds of the module docstring, so that every file written loads again."""
    text = json.dumps(model_to_dict(model, include_optimizer), allow_nan=False, separators=(",", ":"))
    size = len(text)
    if size > MAX_FILE_BYTES:
        hint = " Save without optimizer state (include_optimizer=False) or use a smaller model." if include_optimizer else " Use a smaller model."
        raise ValueError(
            f"Cannot save the model: the file would be {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,} "
            f"bytes that load_model accepts.{hint}"
        )
    values = text.count(",")
    if values > MAX_JSON_VALUES:
        raise ValueError(
            f"Cannot save the model: the file would hold {values:,} JSON values, more than the limit of "
            f"{MAX_JSON_VALUES:,} that load_model accepts (batch_history has {len(model.batch_history.get('step', [])):,} "
            "steps); clear model.batch_history or save a model trained in fewer, larger batches."
        )
    return text


def save_model(model: NN, path: str | os.PathLike, include_optimizer: bool = True) -> None:
    """Write `model` to `path` atomically (a temporary file renamed into place)."""
    text = model_to_json(model, include_optimizer)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _check_model_for_saving(model: NN, include_optimizer: bool) -> None:
    """Apply the loader's checks to a model in memory (raises ModelFileError naming the field)."""
    if not model.layers:
        raise _fail("layers", "is empty; a model needs at least one layer.")
    for i, layer in enumerate(model.layers):
        _check_l2(layer, f"layers[{i}].config.l2")
        for name, arr in layer.params.items():
            _check_values(arr, f"layers[{i}].params.{name}", MAX_PARAMETER_MAGNITUDE, non_negative=False, dtype=model.dtype)
    if model.compiled:
        _check_optimizer(model.optimizer, "compile.optimizer.config")
        if include_optimizer and (model.optimizer.state or model.optimizer.t):
            st = model.optimizer.state_dict()
            _check_steps(st["t"], "optimizer_state.t")
            for name, arr in st["buffers"].items():
                _check_buffer(name, arr, f"optimizer_state.buffers.{name}", model.dtype)
    _history(model.history, "history", model.epoch_keys, epochs=model.epoch)
    _batch_history(model.batch_history, "batch_history", model.batch_keys, epochs=model.epoch)


# ---------------------------------------------------------------------- reading: helpers
def _fail(field: str, message: str) -> ModelFileError:
    return ModelFileError(f"Invalid model file: {field}: {message}")


class _BadNumber:
    """A JSON number nncore never writes (NaN, ±Infinity, a float literal beyond float64 or an integer
    of more than MAX_INT_DIGITS digits), kept in place of the value so the error can name its field."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def describe(self) -> str:
        if self.text in ("NaN", "Infinity", "-Infinity"):
            return f"is {self.text}, which is not a finite number."
        digits = self.text.lstrip("-")
        if digits.isdigit():
            return f"is an integer of {len(digits)} digits; no field of a model file holds a number that large."
        return f"is the number {_clip(self.text)}, beyond the range of a float (it would be infinite)."

    def __repr__(self) -> str:
        return _short(self.text)


def _check_numbers(doc: Any) -> None:
    """Raise ModelFileError naming the first non-finite float or oversized integer anywhere in `doc`."""
    limit = 10**MAX_INT_DIGITS
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, path = stack.pop()
        for key, v in (node.items() if isinstance(node, dict) else enumerate(node)):
            if type(v) is float:
                if v - v == 0:
                    continue
            elif type(v) is int:
                if -limit < v < limit:
                    continue
            elif isinstance(v, (dict, list)):
                stack.append((v, _join(path, key)))
                continue
            elif isinstance(v, _BadNumber):
                raise _fail(_join(path, key), v.describe())
            elif isinstance(v, (float, np.floating)):
                if math.isfinite(v):
                    continue
            else:
                continue  # strings, null, booleans; other objects are named by the field's own type check
            field = _join(path, key)
            if isinstance(v, int):
                raise _fail(field, f"is an integer of {len(str(abs(v)))} digits; no field of a model file holds a number that large.")
            raise _fail(field, f"is {v!r}, which is not a finite number.")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _get(doc: dict, key: str, types: type | tuple, field: str, optional: bool = False) -> Any:
    name = _join(field, key)
    if key not in doc:
        if optional:
            return None
        raise _fail(name, "is missing.")
    value = doc[key]
    if optional and value is None:
        return None
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        raise _fail(name, f"expected {_tname(types)}, got a boolean ({value!r}).")
    if not isinstance(value, types):
        raise _fail(name, f"expected {_tname(types)}, got {_kind(value)}.")
    return value


def _tname(types: tuple) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _kind(value: Any) -> str:
    """What a JSON value is, for messages: 'a string ('abc')', 'null', 'a list', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, (int, float)):
        return f"the number {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any) -> str:
    """repr(value), clipped to 60 characters for messages."""
    return _clip(value.text if isinstance(value, _BadNumber) else repr(value))


def _clip(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        got = _kind(value) if not isinstance(value, int) or isinstance(value, bool) else str(value)
        raise _fail(field, f"expected an integer from {lo:,} to {hi:,}, got {got}.")
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_steps(t: Any, field: str) -> int:
    return _integer(t, field, 0, MAX_STEPS)


# ---------------------------------------------------------------------- arrays
def _decode(obj: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
    """An ARRAY object of the given shape → its array (float32/float64 as stored); shape and length
    are checked before the base64 is decoded."""
    if not isinstance(obj, dict):
        raise _fail(field, f"expected an array object with dtype, shape and data, got {_kind(obj)}.")
    dtype = _get(obj, "dtype", str, field)
    if dtype not in ("float32", "float64"):
        raise _fail(f"{field}.dtype", f"must be 'float32' or 'float64', got {_short(dtype)}.")
    dims = _get(obj, "shape", list, field)
    if [d for d in dims if isinstance(d, bool) or not isinstance(d, int)] or tuple(dims) != tuple(shape):
        raise _fail(f"{field}.shape", f"expected {list(shape)}, got {_short(dims)}.")
    data = _get(obj, "data", str, field)
    itemsize = np.dtype(dtype).itemsize
    n_bytes = math.prod(shape) * itemsize
    n_chars = 4 * ((n_bytes + 2) // 3)
    if len(data) != n_chars:
        raise _fail(
            f"{field}.data",
            f"holds {len(data):,} base64 characters (about {len(data) * 3 // 4:,} bytes) but shape {list(shape)} "
            f"of {dtype} needs {n_chars:,} ({n_bytes:,} bytes); truncated?",
        )
    try:  # straight from the str's ASCII buffer (no copy); strict: only the alphabet, padding at the end
        raw = binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        raise _fail(f"{field}.data", "is not valid base64.") from None
    if len(raw) != n_bytes:  # padding characters in the middle, etc.
        raise _fail(f"{field}.data", f"decodes to {len(raw):,} bytes but shape {list(shape)} of {dtype} needs {n_bytes:,}.")
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def _check_values(arr: np.ndarray, field: str, bound: float, non_negative: bool, dtype: np.dtype, source: np.ndarray | None = None) -> None:
    """Finite, |x| ≤ bound and (if asked) ≥ 0; `arr` is already in the model dtype, `source` as stored."""
    if arr.size == 0:
        return
    lo, hi = float(arr.min()), float(arr.max())
    if -bound <= lo and hi <= bound and (lo >= 0 or not non_negative):
        return
    if not (math.isfinite(lo) and math.isfinite(hi)):
        if source is not None and not np.all(np.isfinite(source)):
            raise _fail(field, "contains NaN or infinite values.")
        if source is not None:
            top = float(np.max(np.abs(source)))
            raise _fail(field, f"holds values up to {top:.3g} in magnitude, beyond the {dtype} range (they would become infinite).")
        raise _fail(field, "contains NaN or infinite values.")
    if non_negative and lo < 0:
        raise _fail(field, f"holds negative values (down to {lo:.3g}); this optimizer state is a sum of squares, never negative.")
    top = max(-lo, hi)
    raise _fail(field, f"holds values up to {top:.3g} in magnitude; the limit is ±{bound:g} (larger values overflow "
                       "training; a run that produced them has diverged).")


def _buffer_bound(name: str) -> tuple[float, bool]:
    """(magnitude bound, non-negative) of the optimizer buffer called `name`."""
    if name in SQUARE_BUFFERS:
        return MAX_SQUARE_MAGNITUDE, True
    return (MAX_MOMENT_MAGNITUDE if name in MOMENT_BUFFERS else MAX_SQUARE_MAGNITUDE), name in NON_NEGATIVE_BUFFERS


def _check_buffer(name: str, arr: np.ndarray, field: str, dtype: np.dtype, source: np.ndarray | None = None) -> None:
    bound, non_negative = _buffer_bound(name)
    _check_values(arr, field, bound, non_negative, dtype, source)


def _cast(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`arr` in `dtype`, without a copy when it already is (the caller copies it into the model)."""
    if arr.dtype == dtype:
        return arr
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(dtype)


# ---------------------------------------------------------------------- hyper-parameters
def _check_optimizer(opt: _optimizers.Optimizer, field: str) -> None:
    if not opt.lr <= MAX_LEARNING_RATE:
        raise _fail(f"{field}.lr", f"is {opt.lr:g}; the learning rate must be at most {MAX_LEARNING_RATE:g}.")
    eps = getattr(opt, "eps", None)
    if eps is not None and not MIN_EPS <= eps <= MAX_EPS:
        raise _fail(f"{field}.eps", f"is {eps:g}; eps must be from {MIN_EPS:g} to {MAX_EPS:g} (outside, float32 turns "
                                     "it into 0 or makes the update's ratios overflow).")


def _check_l2(layer: Any, field: str) -> None:
    l2 = getattr(layer, "l2", 0.0) or 0.0
    if not l2 <= MAX_L2:
        raise _fail(field, f"is {l2:g}; l2 must be at most {MAX_L2:g}.")


# ---------------------------------------------------------------------- histories
#: value rules of history keys: (lowest, highest, may be null)
_INF = math.inf


def _rule(key: str) -> tuple[float, float, bool, str]:
    """(lo, hi, nullable, words) for history key `key`."""
    base = key[4:] if key.startswith("val_") else key
    if key == "loss":
        return -LOSS_ROUNDING, _INF, False, "a finite number ≥ 0"
    if base in ("loss", "data_loss"):
        return -LOSS_ROUNDING, _INF, True, "a finite number ≥ 0 or null"
    if base == "accuracy":
        return 0.0, 1.0, True, "a number in [0, 1] or null"
    if base == "mae" or key == "seconds":
        return 0.0, _INF, True, "a finite number ≥ 0 or null"
    if base == "r2":
        return -_INF, 1.0, True, "a finite number ≤ 1 or null"
    if key == "lr":
        return 1e-300, _INF, True, "a finite number > 0 or null"
    return -_INF, _INF, True, "a finite number or null"


def _number_list(values: Any, field: str, key: str) -> list:
    if not isinstance(values, list):
        raise _fail(field, f"expected a list, got {_kind(values)}.")
    lo, hi, nullable, words = _rule(key)
    for i, v in enumerate(values):
        if v is None and nullable:
            continue
        if not (_is_number(v) and lo <= v <= hi):
            raise _fail(f"{field}[{i}]", f"expected {words}, got {_kind(v)}.")
    return values


def _count_list(values: Any, field: str) -> list:
    if not isinstance(values, list):
        raise _fail(field, f"expected a list, got {_kind(values)}.")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise _fail(f"{field}[{i}]", f"expected an integer ≥ 1, got {_kind(v)}.")
    return values


def _lists(h: Any, field: str, keys: Iterable[str], counters: tuple[str, ...]) -> dict[str, list]:
    """Validated lists for `keys` (missing keys padded with null), all of one length."""
    if not isinstance(h, dict):
        raise _fail(field, f"expected an object, got {_kind(h)}.")
    if h and "epoch" not in h:
        raise _fail(f"{field}.epoch", "is missing.")
    n = len(h["epoch"]) if isinstance(h.get("epoch"), list) else 0
    out: dict[str, list] = {}
    for k in keys:
        if k not in h:  # a key added by a later version (e.g. lr) or metric: unknown for old records
            if k in counters or k == "loss":
                if n:
                    raise _fail(f"{field}.{k}", "is missing.")
            out[k] = [None] * n
            continue
        values = _count_list(h[k], f"{field}.{k}") if k in counters else _number_list(h[k], f"{field}.{k}", k)
        if len(values) != n:
            raise _fail(f"{field}.{k}", f"has {_entries(len(values))} but {field}.epoch has {n}; all lists must have the same length.")
        out[k] = list(values)
    return out


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _history(h: Any, field: str, keys: Iterable[str], epochs: int) -> dict[str, list]:
    out = _lists(h, field, keys, counters=("epoch",))
    numbers = out["epoch"]
    if len(numbers) != epochs:
        raise _fail("epoch", f"is {epochs} but {field} records {len(numbers)} epochs; they must agree.")
    for i, e in enumerate(numbers):
        if e != i + 1:
            raise _fail(f"{field}.epoch[{i}]", f"expected {i + 1} (epochs are numbered 1, 2, …), got {e}.")
    return out


def _batch_history(h: Any, field: str, keys: Iterable[str], epochs: int) -> dict[str, list]:
    out = _lists(h, field, keys, counters=("epoch", "batch", "step"))
    previous = 1
    for i, e in enumerate(out["epoch"]):
        if e < previous or e > epochs + 1:
            raise _fail(f"{field}.epoch[{i}]", f"expected an epoch from {previous} to {epochs + 1} (never decreasing), got {e}.")
        previous = e
    for i, s in enumerate(out["step"]):
        if s != i + 1:
            raise _fail(f"{field}.step[{i}]", f"expected {i + 1} (steps are numbered 1, 2, …), got {s}.")
    return out


# ---------------------------------------------------------------------- reading: the document
def model_from_dict(doc: Any, max_parameters: int = MAX_PARAMETERS) -> NN:
    """Build a model from a parsed model document, validating every field (see the module docstring).

    Raises ModelFileError naming the first bad field. `max_parameters` caps the model's size (known
    from the layer configs before anything is allocated).
    """
    if not isinstance(doc, dict):
        raise _fail("document", f"expected a JSON object at the top level, got {_kind(doc)}.")
    _check_numbers(doc)
    return _build(doc, max_parameters)


def _build(doc: dict, max_parameters: int) -> NN:
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise _fail("format", f"expected {FORMAT!r}, got {_short(fmt)}. Is this an NN Studio model file?")
    version = _get(doc, "version", int, "")
    if version not in READABLE_VERSIONS:
        raise _fail("version", f"this nncore reads versions {list(READABLE_VERSIONS)}, the file is version {version}.")
    dtype = _get(doc, "dtype", str, "")
    if dtype not in ("float32", "float64"):
        raise _fail("dtype", f"must be 'float32' or 'float64', got {_short(dtype)}.")
    seed = doc.get("seed")
    if seed is not None:
        _integer(seed, "seed", 0, 2**63 - 1)
    layers = _get(doc, "layers", list, "")
    if not layers:
        raise _fail("layers", "is empty; a model needs at least one layer.")
    if len(layers) > MAX_LAYERS:
        raise _fail("layers", f"has {len(layers)} entries, more than the limit of {MAX_LAYERS}.")
    epoch = doc.get("epoch", 0)
    epoch = _integer(epoch, "epoch", 0, MAX_STEPS)
    transform = None
    if doc.get("input_transform") is not None:
        try:
            transform = _transforms.from_config(doc["input_transform"])
        except Exception as exc:  # any failure to rebuild the transform is the file's fault
            raise _fail("input_transform", str(exc) or type(exc).__name__) from None

    model = NN(seed=seed, dtype=dtype, input_transform=transform)
    for i, spec in enumerate(layers):
        _add_layer(model, spec, f"layers[{i}]", version, max_parameters)

    comp = _get(doc, "compile", dict, "", optional=True)
    if comp is not None:
        _compile(model, comp)
    state = _get(doc, "optimizer_state", dict, "", optional=True)
    if state is not None:
        if comp is None:
            raise _fail("optimizer_state", "is given but the model is not compiled (compile is null).")
        _load_state(model, state)

    if doc.get("history") is None:
        if epoch:
            raise _fail("history", f"is missing, but epoch is {epoch}; the history records every epoch.")
    else:
        model.history = _history(doc["history"], "history", model.epoch_keys, epochs=epoch)
    if doc.get("batch_history") is not None:
        model.batch_history = _batch_history(doc["batch_history"], "batch_history", model.batch_keys, epochs=epoch)
    model.epoch = epoch
    return model


def _add_layer(model: NN, spec: Any, field: str, version: int, max_parameters: int) -> None:
    if not isinstance(spec, dict):
        raise _fail(field, f"expected an object, got {_kind(spec)}.")
    kind = _get(spec, "type", str, field)
    config = _get(spec, "config", dict, field)
    if kind not in LAYERS:
        raise _fail(f"{field}.type", f"unknown layer type {_short(kind)}; expected one of {sorted(LAYERS)}.")
    if version == 1:
        arrays = {"weights": spec.get("weights"), "biases": spec.get("biases")} if kind == "FFL" else {}
        arrays = {k: v for k, v in arrays.items() if v is not None}
        prefix = field
    else:
        arrays = _get(spec, "params", dict, field, optional=True) or {}
        prefix = f"{field}.params"
    try:
        layer = LAYERS[kind].from_config(dict(config))
        shape_in = layer.input_shape if not model.layers else model.layers[-1].output_shape
        if shape_in is not None:
            planned = model.total_parameters + int(layer.planned_parameters(shape_in))
            if planned > max_parameters:
                raise _fail(field, f"the model would have {planned:,} parameters, more than the limit of "
                                   f"{max_parameters:,} (for a file of this size).")
        model.add(layer)
    except ModelFileError:
        raise
    except Exception as exc:  # a layer's config is data: whatever it breaks is the file's fault
        raise _fail(f"{field}.config", str(exc) or type(exc).__name__) from None
    if model.total_parameters > max_parameters:
        raise _fail(field, f"the model would have more than {max_parameters:,} parameters.")
    _check_l2(layer, f"{field}.config.l2")
    expected = layer.param_shapes()
    if set(arrays) != set(expected):
        raise _fail(prefix, f"expected arrays {sorted(expected)}, got {sorted(arrays)}.")
    for name, shape in expected.items():
        name_field = f"{prefix}.{name}"
        stored = _decode(arrays[name], name_field, tuple(shape))
        cast = _cast(stored, model.dtype)
        _check_values(cast, name_field, MAX_PARAMETER_MAGNITUDE, non_negative=False, dtype=model.dtype, source=stored)
        layer.params[name][...] = cast


def _compile(model: NN, comp: dict) -> None:
    opt = _get(comp, "optimizer", dict, "compile")
    name = _get(opt, "name", str, "compile.optimizer")
    oconf = _get(opt, "config", dict, "compile.optimizer")
    for k, v in oconf.items():
        if k == "nesterov":
            if not isinstance(v, bool):
                raise _fail(f"compile.optimizer.config.{k}", f"expected true/false, got {_kind(v)}.")
        elif not _is_number(v):
            raise _fail(f"compile.optimizer.config.{k}", f"expected a finite number, got {_kind(v)}.")
    if not isinstance(name, str) or name.lower() not in _optimizers.OPTIMIZERS:
        raise _fail("compile.optimizer.name", f"unknown optimizer {_short(name)}; expected one of {sorted(_optimizers.OPTIMIZERS)}.")
    try:
        optimizer = _optimizers.from_config(name, oconf)
    except Exception as exc:
        raise _fail("compile.optimizer.config", str(exc) or type(exc).__name__) from None
    _check_optimizer(optimizer, "compile.optimizer.config")
    loss = _get(comp, "loss", str, "compile")
    if loss.lower() not in _losses.LOSSES:
        raise _fail("compile.loss", f"unknown loss {_short(loss)}; expected one of {sorted(_losses.LOSSES)}.")
    for key, hi in (("lr", MAX_LEARNING_RATE), ("mr", 1.0)):
        v = comp.get(key)
        if v is not None and not (_is_number(v) and 0 <= v <= hi):
            raise _fail(f"compile.{key}", f"expected a number from 0 to {hi:g} or null, got {_kind(v)}.")
    metrics = comp.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise _fail("compile.metrics", f"expected a list of metric names, got {_short(metrics)}.")
        try:
            check_metrics(metrics, default="accuracy")
        except ValueError as exc:
            raise _fail("compile.metrics", str(exc)) from None
    try:
        model.compile_model(lr=optimizer.lr, opt=optimizer, loss=loss, metrics=metrics or None)
    except Exception as exc:  # e.g. a loss that does not fit the output layer
        raise _fail("compile", str(exc) or type(exc).__name__) from None


def _load_state(model: NN, state: dict) -> None:
    t = _check_steps(_get(state, "t", int, "optimizer_state"), "optimizer_state.t")
    buffers = _get(state, "buffers", dict, "optimizer_state")
    names = model.optimizer.state_names
    if t == 0:
        if buffers:
            raise _fail("optimizer_state.buffers", "must be empty when t is 0 (no step has been taken).")
        return
    if set(buffers) != set(names):
        raise _fail("optimizer_state.buffers", f"expected {sorted(names)} after {t} steps, got {sorted(buffers)}.")
    size = model._params.size
    decoded = {}
    for name in names:
        field = f"optimizer_state.buffers.{name}"
        stored = _decode(buffers[name], field, (size,))
        cast = _cast(stored, model.dtype)
        _check_buffer(name, cast, field, model.dtype, source=stored)
        decoded[name] = cast  # load_state_dict copies
    model.optimizer.load_state_dict({"t": t, "buffers": decoded})


# ---------------------------------------------------------------------- reading: the file
def load_model(source: str | os.PathLike | bytes | BinaryIO) -> NN:
    """Load a model from a path, the file's bytes, or a binary file object.

    Raises ModelFileError (a ValueError) naming the bad field for anything malformed, truncated,
    oversized, non-finite or out of bounds (see the module docstring for the limits);
    FileNotFoundError when a path does not exist.
    """
    raw = _read(source)
    if not raw.strip():
        raise _fail("file", "is empty.")
    values = raw.count(b",")
    if values > MAX_JSON_VALUES:
        raise _fail("file", f"holds about {values:,} JSON values, more than the limit of {MAX_JSON_VALUES:,}.")
    # a file of B bytes encodes at most B·3/4 bytes of arrays: B·3/16 float32 numbers
    budget = min(MAX_PARAMETERS, len(raw) * 3 // 16)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("file", "is not UTF-8 text; an nncore model file is JSON.") from None
    del raw
    found: list[bool] = []

    def bad(text: str) -> _BadNumber:
        found.append(True)
        return _BadNumber(text)

    def parse_int(s: str) -> int | _BadNumber:
        return int(s) if len(s) <= MAX_INT_DIGITS + 1 else bad(s)

    def parse_float(s: str) -> float | _BadNumber:
        v = float(s)
        return v if v - v == 0 else bad(s)

    try:
        doc = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=bad)
    except json.JSONDecodeError as exc:
        raise _fail("file", f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); truncated?") from None
    except RecursionError:
        raise _fail("file", "is nested too deeply.") from None
    del text
    if not isinstance(doc, dict):
        raise _fail("document", f"expected a JSON object at the top level, got {_kind(doc)}.")
    if found:
        _check_numbers(doc)
    return _build(doc, budget)


def _read(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_FILE_BYTES:
            raise _fail("file", f"is {len(source):,} bytes, more than the limit of {MAX_FILE_BYTES:,}.")
        return bytes(source)
    if hasattr(source, "read"):
        raw = source.read(MAX_FILE_BYTES + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError(f"load_model: the file object's read() returned {type(raw).__name__}, not bytes.")
        if len(raw) > MAX_FILE_BYTES:
            raise _fail("file", f"is larger than the limit of {MAX_FILE_BYTES:,} bytes.")
        return bytes(raw)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_model takes a path, bytes or a binary file object; got {type(source).__name__}.")
    path = Path(source)
    if not path.is_file():
        hint = " (to load a model from its JSON text, pass text.encode())" if str(source).lstrip().startswith("{") else ""
        raise FileNotFoundError(f"No model file at {_short(str(path))}{hint}.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail("file", f"{path.name} is {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}.")
    return path.read_bytes()


#: The pretrained MNIST model shipped with NN Studio (trained by models/train_default.py).
PRETRAINED_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "mnist_mlp.json"


def load_pretrained() -> NN:
    """The shipped 784-256-128-10 MNIST model (≥ 98 % test accuracy)."""
    if not PRETRAINED_MODEL_PATH.is_file():
        raise FileNotFoundError(
            f"The pretrained model {PRETRAINED_MODEL_PATH} is missing; restore it with "
            "`git checkout -- models/mnist_mlp.json` or rebuild it with `python models/train_default.py`."
        )
    return load_model(PRETRAINED_MODEL_PATH)

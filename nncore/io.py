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
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import optimizers as _optimizers
from . import transforms as _transforms
from .errors import ModelFileError
from .layers.base import LAYERS
from .metrics import METRICS
from .model import NN

FORMAT = "nncore.model"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_FILE_BYTES = 200 * 1024 * 1024  # a 784-4096-4096-10 float64 model is ~190 MB of base64
MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 1000


# ---------------------------------------------------------------------- writing
def _encode(arr: np.ndarray) -> dict[str, Any]:
    arr = np.ascontiguousarray(arr)
    le = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "data": base64.b64encode(le.tobytes()).decode("ascii")}


def model_to_dict(model: NN, include_optimizer: bool = True) -> dict[str, Any]:
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
    if include_optimizer and model.compiled and model.optimizer.state:
        st = model.optimizer.state_dict()
        doc["optimizer_state"] = {"t": st["t"], "buffers": {k: _encode(v) for k, v in st["buffers"].items()}}
    return doc


def model_to_json(model: NN, include_optimizer: bool = True) -> str:
    return json.dumps(model_to_dict(model, include_optimizer), allow_nan=False, separators=(",", ":"))


def save_model(model: NN, path: str | os.PathLike, include_optimizer: bool = True) -> None:
    """Write `model` to `path` atomically (a temporary file renamed into place)."""
    text = model_to_json(model, include_optimizer)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------- reading
def _fail(field: str, message: str) -> ModelFileError:
    return ModelFileError(f"Invalid model file: {field}: {message}")


def _get(doc: dict, key: str, types: type | tuple, field: str, optional: bool = False) -> Any:
    if key not in doc:
        if optional:
            return None
        raise _fail(f"{field}.{key}" if field else key, "is missing.")
    value = doc[key]
    if optional and value is None:
        return None
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise _fail(f"{field}.{key}" if field else key, f"expected {_tname(types)}, got a boolean.")
    if not isinstance(value, types):
        raise _fail(f"{field}.{key}" if field else key, f"expected {_tname(types)}, got {type(value).__name__}.")
    return value


def _tname(types: type | tuple) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _decode(obj: Any, field: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    if not isinstance(obj, dict):
        raise _fail(field, "expected an array object with dtype, shape and data.")
    dtype = _get(obj, "dtype", str, field)
    if dtype not in ("float32", "float64"):
        raise _fail(f"{field}.dtype", f"must be 'float32' or 'float64', got {dtype!r}.")
    dims = _get(obj, "shape", list, field)
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_PARAMETERS for d in dims) or len(dims) > 4:
        raise _fail(f"{field}.shape", f"must be a list of up to 4 non-negative integers, got {dims!r}.")
    if shape is not None and tuple(dims) != shape:
        raise _fail(f"{field}.shape", f"expected {list(shape)}, got {dims}.")
    count = math.prod(dims)
    if count > MAX_PARAMETERS:
        raise _fail(field, f"holds {count} numbers, more than the limit of {MAX_PARAMETERS}.")
    data = _get(obj, "data", str, field)
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _fail(f"{field}.data", "is not valid base64.") from None
    dt = np.dtype(dtype).newbyteorder("<")
    if len(raw) != count * dt.itemsize:
        raise _fail(f"{field}.data", f"holds {len(raw)} bytes but shape {dims} of {dtype} needs {count * dt.itemsize} (truncated?).")
    arr = np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype)).reshape(dims)
    if not np.all(np.isfinite(arr)):
        raise _fail(field, "contains NaN or infinite values.")
    return arr


def _number_list(values: Any, field: str, allow_none: bool) -> list:
    if not isinstance(values, list):
        raise _fail(field, "expected a list.")
    for v in values:
        if v is None and allow_none:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _fail(field, f"expected finite numbers, found {v!r}.")
    return values


def _history(doc: dict, key: str, keys: tuple[str, ...]) -> dict[str, list] | None:
    h = _get(doc, key, dict, "", optional=True)
    if h is None:
        return None
    n = len(h.get("epoch", h.get("loss", [])) or [])
    out = {}
    for k in keys:
        if k not in h:  # a key added by a later version (e.g. lr): unknown for old records
            out[k] = [None] * n
            continue
        out[k] = list(_number_list(h[k], f"{key}.{k}", allow_none=k.startswith("val_") or k in ("lr", "data_loss")))
    if len({len(v) for v in out.values()}) > 1:
        raise _fail(key, "its lists have different lengths.")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def model_from_dict(doc: Any) -> NN:
    """Build a model from a parsed model document, validating every field."""
    if not isinstance(doc, dict):
        raise _fail("document", "expected a JSON object at the top level.")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise _fail("format", f"expected {FORMAT!r}, got {fmt!r}. Is this an NN Studio model file?")
    version = _get(doc, "version", int, "")
    if version not in READABLE_VERSIONS:
        raise _fail("version", f"this nncore reads versions {list(READABLE_VERSIONS)}, the file is version {version}.")
    dtype = _get(doc, "dtype", str, "")
    if dtype not in ("float32", "float64"):
        raise _fail("dtype", f"must be 'float32' or 'float64', got {dtype!r}.")
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise _fail("seed", f"must be a non-negative integer below 2**63 or null, got {_short(seed)}.")
    layers = _get(doc, "layers", list, "")
    if not layers:
        raise _fail("layers", "is empty; a model needs at least one layer.")
    if len(layers) > MAX_LAYERS:
        raise _fail("layers", f"has {len(layers)} entries, more than the limit of {MAX_LAYERS}.")
    transform = None
    if doc.get("input_transform") is not None:
        try:
            transform = _transforms.from_config(doc["input_transform"])
        except (ValueError, TypeError, KeyError) as exc:
            raise _fail("input_transform", str(exc)) from None

    model = NN(seed=seed, dtype=dtype, input_transform=transform)
    for i, spec in enumerate(layers):
        field = f"layers[{i}]"
        if not isinstance(spec, dict):
            raise _fail(field, "expected an object.")
        kind = _get(spec, "type", str, field)
        config = _get(spec, "config", dict, field)
        if kind not in LAYERS:
            raise _fail(f"{field}.type", f"unknown layer type {_short(kind)}; expected one of {sorted(LAYERS)}.")
        if version == 1:
            arrays = {"weights": spec.get("weights"), "biases": spec.get("biases")} if kind == "FFL" else {}
            arrays = {k: v for k, v in arrays.items() if v is not None}
        else:
            arrays = _get(spec, "params", dict, field, optional=True) or {}
        try:
            layer = LAYERS[kind].from_config(dict(config))
            shape_in = layer.input_shape if not model.layers else model.layers[-1].output_shape
            if shape_in is not None and model.total_parameters + layer.planned_parameters(shape_in) > MAX_PARAMETERS:
                raise _fail(field, f"the model would have more than {MAX_PARAMETERS} parameters.")
            model.add(layer)
        except ModelFileError:
            raise
        except (ValueError, TypeError) as exc:
            raise _fail(f"{field}.config", str(exc)) from None
        if model.total_parameters > MAX_PARAMETERS:
            raise _fail(field, f"the model would have more than {MAX_PARAMETERS} parameters.")
        expected = layer.param_shapes()
        if set(arrays) != set(expected):
            raise _fail(f"{field}.params", f"expected arrays {sorted(expected)}, got {sorted(arrays)}.")
        for name, shape in expected.items():
            arr = _decode(arrays[name], f"{field}.params.{name}" if version > 1 else f"{field}.{name}", tuple(shape))
            with np.errstate(over="ignore", invalid="ignore"):
                cast = arr.astype(model.dtype)
            if not np.all(np.isfinite(cast)):
                raise _fail(f"{field}.params.{name}", f"holds values beyond the {dtype} range (they would become infinite).")
            layer.params[name][...] = cast

    comp = _get(doc, "compile", dict, "", optional=True)
    if comp is not None:
        try:
            opt = _get(comp, "optimizer", dict, "compile")
            name = _get(opt, "name", str, "compile.optimizer")
            oconf = _get(opt, "config", dict, "compile.optimizer")
            for k, v in oconf.items():
                if isinstance(v, bool) and k == "nesterov":
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise _fail(f"compile.optimizer.config.{k}", f"expected a finite number, got {v!r}.")
            optimizer = _optimizers.from_config(name, oconf)
            loss = _get(comp, "loss", str, "compile")
            mr = comp.get("mr", 0.001)
            metrics = comp.get("metrics") or []
            if not isinstance(metrics, list):
                raise _fail("compile.metrics", "expected a list.")
            model.compile_model(lr=optimizer.lr, opt=optimizer, loss=loss, mr=mr, metrics=metrics)
        except ModelFileError:
            raise
        except (ValueError, TypeError) as exc:
            raise _fail("compile", str(exc)) from None
        state = _get(doc, "optimizer_state", dict, "", optional=True)
        if state is not None:
            t = _get(state, "t", int, "optimizer_state")
            buffers = _get(state, "buffers", dict, "optimizer_state")
            size = model._params.size
            if set(buffers) != set(model.optimizer.state_names):
                raise _fail("optimizer_state.buffers", f"expected {sorted(model.optimizer.state_names)}, got {sorted(buffers)}.")
            decoded = {k: _decode(v, f"optimizer_state.buffers.{k}", (size,)) for k, v in buffers.items()}
            if t < 0:
                raise _fail("optimizer_state.t", "must be ≥ 0.")
            model.optimizer.load_state_dict({"t": t, "buffers": {k: v.astype(model.dtype) for k, v in decoded.items()}})

    epoch = doc.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise _fail("epoch", f"must be a non-negative integer, got {epoch!r}.")
    model.epoch = epoch
    hist = _history(doc, "history", model.epoch_keys)
    if hist is not None:
        model.history = hist
    bhist = _history(doc, "batch_history", model.batch_keys)
    if bhist is not None:
        model.batch_history = bhist
    return model


def load_model(source: str | os.PathLike | bytes | BinaryIO) -> NN:
    """Load a model from a path, the file's bytes, or a binary file object.

    Raises ModelFileError (a ValueError) naming the bad field for anything malformed, truncated,
    oversized or non-finite; FileNotFoundError when a path does not exist.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        if len(raw) > MAX_FILE_BYTES:
            raise _fail("file", f"is {len(raw)} bytes, more than the limit of {MAX_FILE_BYTES}.")
    elif hasattr(source, "read"):
        raw = source.read(MAX_FILE_BYTES + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if len(raw) > MAX_FILE_BYTES:
            raise _fail("file", f"is larger than the limit of {MAX_FILE_BYTES} bytes.")
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"No model file at {str(path)!r}.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail("file", f"{path.name} is {size} bytes, more than the limit of {MAX_FILE_BYTES}.")
        raw = path.read_bytes()
    if not raw.strip():
        raise _fail("file", "is empty.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("file", "is not UTF-8 text; an nncore model file is JSON.") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _fail("file", f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); truncated?") from None
    except RecursionError:
        raise _fail("file", "is nested too deeply.") from None
    return model_from_dict(doc)


def _reject_constant(name: str) -> float:
    raise ModelFileError(f"Invalid model file: contains {name}, which is not a finite number.")


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

"""Fuzz `load_model` with seeded mutants of real saved model files.

    python bench/fuzz_model_files.py [N=12000] [SEED=0]

Each mutant must either be refused with ModelFileError, or load into a usable model: its predictions
on sample inputs are finite, it saves and loads again with identical predictions, and one training
step keeps the loss and the weights finite. Prints the counts (refused cleanly / loaded and usable /
anything else, which must be 0) and the first few failures. tests/test_io_fuzz.py runs a few hundred.

Base files: small dense models (Adam, RMSprop, SGD with momentum, Adagrad, Adamax, Adadelta,
Iterative; cross-entropy, binary and regression heads; float32 and float64; a Flatten front; an
uncompiled model; a version-1 file) trained for a few epochs so they carry optimizer state and
history. Mutations: numbers (huge and 401-/5000-digit integers, NaN/Infinity tokens, negatives,
overflowing literals), arrays (float64 beyond float32 re-encoded in base64, NaN bits, float32's
maximum, negative square averages, wrong shapes and dtypes, truncated or padded data), histories
(epoch counts, lengths, accuracies), names (other valid layer/optimizer/loss/activation names), type
swaps, deleted keys, removed/duplicated layers, truncated text and flipped bytes; up to three at once.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nncore import FFL, NN, Dropout, Flatten, ModelFileError, load_model  # noqa: E402
from nncore.errors import DivergenceError  # noqa: E402


# ---------------------------------------------------------------------- base files
def _fit(model: NN, x: np.ndarray, y: np.ndarray, epochs: int = 2, **kw: Any) -> NN:
    model.train(x, y, epochs=epochs, batch_size=10, verbose=0, **kw)
    return model


def base_files(include_pretrained: bool = False) -> list[tuple[str, str]]:
    """(name, JSON text) of the real files the mutants start from (with the shipped 1.5 MB MNIST
    model, a version-1 file, when `include_pretrained`)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    classes = rng.integers(0, 4, 40)
    files = []

    def classifier(opt: str, dtype: str = "float32", **compile_kw: Any) -> NN:
        m = NN(seed=3, dtype=dtype)
        m.add(FFL(6, 12, activation="tanh"))
        m.add(Dropout(0.25))
        m.add(FFL(neurons=8, activation="relu", is_bias=False, l2=1e-4))
        m.add(FFL(neurons=4, activation="softmax"))
        m.compile_model(lr=0.01, opt=opt, loss="cse", **compile_kw)
        return m

    files.append(("adam", _fit(classifier("adam"), x, classes, val_split=0.25).to_json()))
    files.append(("rmsprop", _fit(classifier("rmsprop"), x, classes).to_json()))
    files.append(("sgd-momentum", _fit(classifier("sgd", mr=0.9), x, classes).to_json()))
    files.append(("adagrad-f64", _fit(classifier("adagrad", dtype="float64"), x.astype(np.float64), classes).to_json()))
    files.append(("adamax", _fit(classifier("adamax"), x, classes).to_json()))
    files.append(("adadelta", _fit(classifier("adadelta"), x, classes).to_json()))
    files.append(("iterative", _fit(classifier("iterative"), x, classes).to_json()))

    binary = NN(seed=1)
    binary.add(FFL(6, 5, activation="relu"))
    binary.add(FFL(neurons=1, activation="sigmoid"))
    binary.compile_model(lr=0.01, opt="momentum", loss="cse")
    files.append(("binary-nesterov", _fit(binary, x, classes % 2).to_json()))

    regression = NN(seed=2)
    regression.add(FFL(6, 7, activation="leaky_relu"))
    regression.add(FFL(neurons=2, activation="linear"))
    regression.compile_model(lr=0.01, opt="adam", loss="mse", metrics=["mae", "r2"])
    files.append(("regression", _fit(regression, x, rng.normal(size=(40, 2)), val_split=0.25).to_json()))

    flat = NN(seed=4)
    flat.add(Flatten(input_shape=(2, 3)))
    flat.add(FFL(neurons=5, activation="sigmoid"))
    flat.add(FFL(neurons=3, activation="softmax"))
    flat.compile_model(lr=0.01, opt="adam", loss="cse")
    files.append(("flatten", _fit(flat, x.reshape(40, 2, 3), classes % 3).to_json()))

    fresh = NN(seed=5)
    fresh.add(FFL(6, 4, activation="relu"))
    fresh.add(FFL(neurons=3, activation="softmax"))
    files.append(("uncompiled", fresh.to_json()))

    files.append(("version-1", _as_version_1(json.loads(files[1][1]))))
    if include_pretrained:
        from nncore import PRETRAINED_MODEL_PATH

        files.append(("pretrained-mnist-v1", PRETRAINED_MODEL_PATH.read_text()))
    return files


def _as_version_1(doc: dict) -> str:
    """A version-2 document of a dense model rewritten in the version-1 layout."""
    doc["version"] = 1
    doc.pop("input_transform", None)
    for spec in doc["layers"]:
        params = spec.pop("params")
        if spec["type"] == "FFL":
            spec["weights"] = params["weights"]
            spec["biases"] = params.get("biases")
    return json.dumps(doc)


# ---------------------------------------------------------------------- writing mutants
class Raw:
    """A JSON token written as is (NaN, Infinity, 401-digit integers): json.dumps cannot write them."""

    def __init__(self, text: str):
        self.text = text


def dumps(doc: Any) -> str:
    raws: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(node.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    text = json.dumps(walk(doc), separators=(",", ":"))
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0000RAW{i}\\u0000"', raw, 1)
    return text


# ---------------------------------------------------------------------- locating things in a document
def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) in the document, containers included."""
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, path + (i,))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _is_array(node: Any) -> bool:
    return isinstance(node, dict) and set(node) == {"dtype", "shape", "data"}


def _leaf_paths(doc: Any, kind: Callable[[Any], bool]) -> list[tuple]:
    return [p for p in _paths(doc) if p and kind(_get(doc, p)) and not any(_is_array(_get(doc, p[:i])) and p[i] == "data" for i in range(len(p)))]


# ---------------------------------------------------------------------- mutations
HUGE = [10**12, 10**15, 10**18, 2**63, 2**64, 10**19, 10**30]
NAMES = ["FFL", "Dropout", "Flatten", "adam", "sgd", "rmsprop", "adamax", "adadelta", "adagrad", "momentum",
         "iterative", "mse", "cse", "relu", "tanh", "sigmoid", "softmax", "linear", "leaky_relu", "accuracy",
         "mae", "r2", "float32", "float64", "nncore.model", "", "x" * 300]


def mutate_number(doc: dict, rng: np.random.Generator) -> str:
    paths = _leaf_paths(doc, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    if not paths:
        return "no number"
    path = paths[rng.integers(len(paths))]
    old = _get(doc, path)
    choice = rng.integers(17)
    new: Any = {
        0: lambda: Raw("9" * 401),
        1: lambda: Raw("-" + "7" * 5000),
        2: lambda: Raw("NaN"),
        3: lambda: Raw("Infinity"),
        4: lambda: Raw("-Infinity"),
        5: lambda: -old if old else -1,
        6: lambda: int(HUGE[rng.integers(len(HUGE))]),
        7: lambda: Raw("1e400"),
        8: lambda: 1e300,
        9: lambda: 1e-300,
        10: lambda: old * 1e6,
        11: lambda: float(old),
        12: lambda: old + 1,
        13: lambda: 0,
        14: lambda: 3.4e38,
        15: lambda: Raw("1" + "0" * 500 + ".5"),
        16: lambda: -1e-9,
    }[int(choice)]()
    _set(doc, path, new)
    return f"number {'.'.join(map(str, path))}"


def _decode(arr: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(arr["data"]), dtype=np.dtype(arr["dtype"]).newbyteorder("<")).copy()


def _encode_into(arr: dict, values: np.ndarray, dtype: str) -> None:
    arr["dtype"] = dtype
    arr["data"] = base64.b64encode(values.astype(np.dtype(dtype).newbyteorder("<")).tobytes()).decode("ascii")


def mutate_array(doc: dict, rng: np.random.Generator) -> str:
    paths = [p for p in _paths(doc) if _is_array(_get(doc, p))]
    if not paths:
        return "no array"
    path = paths[rng.integers(len(paths))]
    arr = _get(doc, path)
    values = _decode(arr).astype(np.float64)
    choice = int(rng.integers(13))
    idx = rng.integers(max(1, values.size)) if values.size else None
    if choice <= 5 and values.size:
        special = [1e39, -1e300, np.nan, np.inf, float(np.finfo(np.float32).max), -1.0][choice]
        values[idx] = special
        _encode_into(arr, values, "float64" if choice in (0, 1) or rng.random() < 0.5 else "float32")
    elif choice == 6:  # legitimately stored as float64: must load
        _encode_into(arr, values, "float64")
    elif choice == 7:  # magnitude just inside / outside the bound
        if values.size:
            values[idx] = [9e5, 2e6, 1e15, 2e15, 1e30, 1e31][rng.integers(6)] * (1 if rng.random() < 0.5 else -1)
        _encode_into(arr, values, arr["dtype"])
    elif choice == 8:
        shape = list(arr["shape"])
        op = rng.integers(4)
        if op == 0 and shape:
            shape[rng.integers(len(shape))] += 1
        elif op == 1 and shape:
            shape.pop()
        elif op == 2:
            shape.append(1)
        else:
            shape = [int(np.prod(shape))] if shape else [0]
        arr["shape"] = shape
    elif choice == 9:
        cut = int(rng.integers(0, len(arr["data"]) + 1))
        arr["data"] = arr["data"][:cut]
    elif choice == 10:
        arr["data"] = arr["data"] + ["AAAA", "A", "====", "AA=="][rng.integers(4)]
    elif choice == 11:
        arr["dtype"] = ["float64", "float32", "int8", "float16", "object"][rng.integers(5)]
    else:
        arr["data"] = base64.b64encode(rng.bytes(len(base64.b64decode(arr["data"])))).decode("ascii")  # random bits
    return f"array {'.'.join(map(str, path))}"


def mutate_type(doc: dict, rng: np.random.Generator) -> str:
    paths = _leaf_paths(doc, lambda v: True)
    path = paths[rng.integers(len(paths))]
    replacements = ["text", 5, 2.5, [], {}, None, True, [1, 2], {"a": 1}, -3]
    _set(doc, path, copy.deepcopy(replacements[rng.integers(len(replacements))]))
    return f"type {'.'.join(map(str, path))}"


def mutate_delete(doc: dict, rng: np.random.Generator) -> str:
    paths = [p for p in _paths(doc) if p and isinstance(_get(doc, p[:-1]), dict)]
    path = paths[rng.integers(len(paths))]
    del _get(doc, path[:-1])[path[-1]]
    return f"delete {'.'.join(map(str, path))}"


def mutate_name(doc: dict, rng: np.random.Generator) -> str:
    paths = _leaf_paths(doc, lambda v: isinstance(v, str))
    if not paths:
        return "no string"
    path = paths[rng.integers(len(paths))]
    _set(doc, path, NAMES[rng.integers(len(NAMES))])
    return f"name {'.'.join(map(str, path))}"


def mutate_history(doc: dict, rng: np.random.Generator) -> str:
    key = "history" if rng.random() < 0.6 else "batch_history"
    h = doc.get(key)
    choice = int(rng.integers(7))
    if choice == 0:
        doc["epoch"] = doc.get("epoch", 0) + int(rng.choice([-1, 1, 5]))
        return "epoch count"
    if not isinstance(h, dict) or not h:
        return "no history"
    k = list(h)[rng.integers(len(h))]
    values = h[k]
    if not isinstance(values, list):
        return "no list"
    if choice == 1:
        values.append(values[-1] if values else 1)
    elif choice == 2 and values:
        values.pop(int(rng.integers(len(values))))
    elif choice == 3 and values:
        values[int(rng.integers(len(values)))] = [1.5, -0.1, -1.12, 7, 0, None, 1e308][rng.integers(7)]
    elif choice == 4:
        for v in h.values():
            if isinstance(v, list) and v:
                v.pop()
        if key == "history":
            doc["epoch"] = max(0, doc.get("epoch", 0) - 1)
    elif choice == 5 and values:
        values.reverse()
    else:
        h[k] = values[: len(values) // 2]
    return f"{key}.{k}"


def mutate_layers(doc: dict, rng: np.random.Generator) -> str:
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        return "no layers"
    i = int(rng.integers(len(layers)))
    op = rng.integers(3)
    if op == 0:
        layers.pop(i)
    elif op == 1:
        layers.insert(i, copy.deepcopy(layers[i]))
    else:
        j = int(rng.integers(len(layers)))
        layers[i], layers[j] = layers[j], layers[i]
    return "layers"


def mutate_benign(doc: dict, rng: np.random.Generator) -> str:
    """A change that keeps the file valid (the loader must not refuse it)."""
    choice = int(rng.integers(7))
    layers = doc.get("layers") if isinstance(doc.get("layers"), list) else []
    hidden = [s for s in layers[:-1] if isinstance(s, dict) and isinstance(s.get("config"), dict) and "activation" in s["config"]]
    if choice == 0:
        doc["seed"] = int(rng.integers(0, 2**62))
    elif choice == 1 and hidden:
        hidden[rng.integers(len(hidden))]["config"]["activation"] = ["relu", "tanh", "sigmoid", "linear", "leaky_relu"][rng.integers(5)]
    elif choice == 2:
        for p in _paths(doc):
            node = _get(doc, p)
            if _is_array(node):
                _encode_into(node, _decode(node), "float64")
    elif choice == 3:
        doc["optimizer_state"] = None
    elif choice == 4:
        doc["batch_history"] = None
    elif choice == 5 and isinstance(doc.get("compile"), dict):
        config = doc["compile"]["optimizer"]["config"]
        config["lr"] = float(rng.choice([1e-4, 0.1, 1.0, 999.0]))
    elif choice == 6:
        for spec in layers:
            if isinstance(spec, dict) and isinstance(spec.get("config"), dict) and "rate" in spec["config"]:
                spec["config"]["rate"] = float(rng.choice([0.0, 0.5, 0.9]))
    return f"benign {choice}"


DOC_MUTATIONS = [mutate_benign] * 2 + [mutate_number] * 4 + [mutate_array] * 4 + [mutate_type, mutate_delete, mutate_name, mutate_history, mutate_history, mutate_layers]


def mutant(text: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """One mutant of a model file's text → (bytes, description)."""
    kind = rng.random()
    if kind < 0.07:  # truncated text
        cut = int(rng.integers(0, len(text)))
        return text[:cut].encode(), f"truncate at {cut}"
    if kind < 0.12:  # flipped bytes
        raw = bytearray(text.encode())
        for _ in range(int(rng.integers(1, 4))):
            raw[int(rng.integers(len(raw)))] = int(rng.integers(256))
        return bytes(raw), "flip bytes"
    doc = json.loads(text)
    done: list[str] = []
    for _ in range(int(rng.integers(1, 4))):
        mutation = DOC_MUTATIONS[rng.integers(len(DOC_MUTATIONS))]
        try:
            with np.errstate(all="ignore"):
                done.append(mutation(doc, rng))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, binascii.Error):
            done.append(f"{mutation.__name__} skipped (an earlier mutation broke its target)")
    return dumps(doc).encode(), "; ".join(done)


# ---------------------------------------------------------------------- judging a mutant
def sample_data(model: NN, rng: np.random.Generator, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of the loaded model's shape and targets its output layer and loss accept."""
    x = rng.normal(size=(n, *model.input_shape)).astype(model.dtype)
    k, act = model.output_size, model.layers[-1].activation_name
    if act == "softmax":
        y = rng.integers(0, k, n) if k > 1 else np.ones((n, 1))
    elif act == "sigmoid":
        y = rng.integers(0, 2, (n, k)).astype(float)
    elif act == "tanh":
        y = rng.uniform(-1, 1, (n, k))
    elif act == "relu":
        y = rng.uniform(0, 1, (n, k))
    else:
        y = rng.normal(size=(n, k))
    return x, y


def usable(model: NN, rng: np.random.Generator) -> str | None:
    """None when the loaded model works; otherwise what broke."""
    x, y = sample_data(model, rng)
    out = model.predict(x)
    if not np.all(np.isfinite(out)):
        return "predict gave non-finite outputs"
    again = load_model(model.to_json().encode())
    if not np.array_equal(again.predict(x), out):
        return "save/load changed the predictions"
    if not model.compiled:
        model.compile_model(lr=0.01, opt="sgd", loss="mse")
    model.train(x, y, epochs=1, batch_size=len(x), verbose=0)
    if not np.isfinite(model.history["loss"][-1]):
        return "training step gave a non-finite loss"
    if not all(np.all(np.isfinite(w)) for w in model.get_weights()):
        return "training step gave non-finite weights"
    return None


def judge(raw: bytes, rng: np.random.Generator) -> tuple[str, str]:
    """("refused" | "usable" | "other", detail)."""
    try:
        model = load_model(raw)
    except ModelFileError as exc:
        return "refused", str(exc)
    except Exception as exc:  # noqa: BLE001 - every other exception is a finding
        return "other", f"load raised {type(exc).__name__}: {exc}"
    try:
        with np.errstate(all="ignore"):
            problem = usable(model, rng)
    except DivergenceError as exc:
        return "other", f"training diverged: {exc}"
    except Exception as exc:  # noqa: BLE001
        return "other", f"use raised {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return ("other", problem) if problem else ("usable", "")


def run(n: int, seed: int = 0, bases: list[tuple[str, str]] | None = None) -> tuple[dict[str, int], list[str]]:
    """Judge `n` seeded mutants; returns the counts and descriptions of the 'other' cases."""
    bases = bases if bases is not None else base_files()
    rng = np.random.default_rng(seed)
    counts = {"refused": 0, "usable": 0, "other": 0}
    failures: list[str] = []
    for i in range(n):
        name, text = bases[i % len(bases)]
        raw, what = mutant(text, rng)
        verdict, detail = judge(raw, np.random.default_rng(i))
        counts[verdict] += 1
        if verdict == "other":
            failures.append(f"#{i} {name} [{what}]: {detail}")
    return counts, failures


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    started = time.perf_counter()
    bases = base_files(include_pretrained=True)
    counts, failures = run(n, seed, bases)
    print(f"{n} mutants of {len(bases)} real model files (seed {seed}) in {time.perf_counter() - started:.0f} s")
    print(f"refused cleanly (ModelFileError): {counts['refused']}")
    print(f"loaded and usable:                {counts['usable']}")
    print(f"anything else (must be 0):        {counts['other']}")
    for line in failures[:20]:
        print(line)


if __name__ == "__main__":
    main()

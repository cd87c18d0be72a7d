"""Model files: bit-identical round trips, continued training, and clear errors for bad files."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from nncore import FFL, NN, Dropout, ModelFileError, load_model


def trained(dtype="float32", opt="adam"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)).astype(dtype)
    y = rng.integers(0, 4, 50)
    m = NN(seed=3, dtype=dtype)
    m.add(FFL(6, 12, activation="tanh"))
    m.add(Dropout(0.25))
    m.add(FFL(neurons=8, activation="relu", is_bias=False))
    m.add(FFL(neurons=4, activation="softmax"))
    m.compile_model(lr=0.01, opt=opt, loss="cse", metrics=["accuracy"])
    m.train(x, y, epochs=2, batch_size=10, val_split=0.2, verbose=0)
    return m, x, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_predicts_bit_for_bit(tmp_path, dtype):
    m, x, _ = trained(dtype)
    path = tmp_path / "model.json"
    m.save_model(str(path))
    m2 = load_model(str(path))
    assert np.array_equal(m.predict(x), m2.predict(x))
    assert m2.get_config() == m.get_config()
    assert m2.history == m.history and m2.batch_history == m.batch_history and m2.epoch == 2
    assert m2.summary().equals(m.summary())
    doc = json.loads(path.read_text())
    assert doc["format"] == "nncore.model" and doc["version"] == 2


def test_loaded_model_continues_training_exactly(tmp_path):
    m, x, y = trained()
    m.save_model(tmp_path / "m.json")
    m2 = load_model(tmp_path / "m.json")
    m2.rng = np.random.default_rng(11)
    m.rng = np.random.default_rng(11)
    for layer in m.layers + m2.layers:
        if isinstance(layer, Dropout):
            layer.rng = m.rng if layer in m.layers else m2.rng
    m.train(x, y, epochs=1, batch_size=10, verbose=0)
    m2.train(x, y, epochs=1, batch_size=10, verbose=0)
    assert m2.epoch == 3 and m2.optimizer.t == m.optimizer.t
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_from_bytes_and_file_objects(tmp_path):
    m, x, _ = trained(opt="sgd")
    text = m.to_json()
    assert np.array_equal(load_model(text.encode()).predict(x), m.predict(x))
    with open(tmp_path / "m.json", "w") as fh:
        fh.write(text)
    with open(tmp_path / "m.json", "rb") as fh:
        assert np.array_equal(load_model(fh).predict(x), m.predict(x))


def _doc():
    m, _, _ = trained()
    return json.loads(m.to_json())


def _corrupt(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "path,value,message",
    [
        (["format"], "keras", "format: expected 'nncore.model'"),
        (["version"], 99, r"version: this nncore reads versions \[1, 2\]"),
        (["layers"], [], "layers: is empty"),
        (["layers", 0, "type"], "Conv2D", r"layers\[0\].type: unknown layer type 'Conv2D'"),
        (["layers", 0, "config", "neurons"], 13, r"layers\[0\].params.weights.shape: expected \[6, 13\]"),
        (["layers", 0, "config", "neurons"], -1, r"layers\[0\].config: neurons must be a positive integer"),
        (["layers", 0, "config", "activation"], "swish", r"layers\[0\].config: Unknown activation 'swish'"),
        (["layers", 0, "params", "weights", "data"], "!" * 384, r"layers\[0\].params.weights.data: is not valid base64"),
        (["layers", 0, "params", "weights", "data"], base64.b64encode(b"\0" * 12).decode(), r"layers\[0\].params.weights.data: holds 16 base64 characters.*needs 384 \(288 bytes\); truncated"),
        (["layers", 0, "params", "weights", "dtype"], "object", r"layers\[0\].params.weights.dtype: must be 'float32' or 'float64'"),
        (["layers", 0, "params", "weights"], KeyError, r"layers\[0\].params: expected arrays"),
        (["layers", 0, "config", "input_shape"], 100000000, r"layers\[0\]: the model would have 1,200,000,012 parameters, more than the limit"),
        (["layers", 1, "config", "rate"], 1.5, r"layers\[1\].config: Dropout rate must be in"),
        (["compile", "optimizer", "name"], "nadam", "compile.optimizer.name: unknown optimizer 'nadam'; expected one of .*'adam'"),
        (["compile", "loss"], "hinge", r"compile.loss: unknown loss 'hinge'; expected one of \['cse', 'mse'\]"),
        (["optimizer_state", "buffers", "exp_avg/(1-beta1)", "shape"], [3], r"optimizer_state.buffers.exp_avg/\(1-beta1\).shape: expected"),
        (["epoch"], -2, "epoch: expected an integer from 0 to 1,000,000,000,000, got -2"),
        (["history", "loss"], [1.0, "x"], r"history.loss\[1\]: expected a finite number ≥ 0, got a string \('x'\)"),
    ],
)
def test_malformed_fields_are_named(path, value, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(_corrupt(_doc(), path, value))


def test_non_finite_weights_are_rejected():
    doc = _doc()
    w = np.frombuffer(base64.b64decode(doc["layers"][0]["params"]["weights"]["data"]), dtype="<f4").copy()
    w[5] = np.nan
    doc["layers"][0]["params"]["weights"]["data"] = base64.b64encode(w.tobytes()).decode()
    with pytest.raises(ModelFileError, match=r"layers\[0\].params.weights: contains NaN or infinite"):
        load_model(json.dumps(doc).encode())
    with pytest.raises(ModelFileError, match="NaN, which is not a finite number"):
        load_model(b'{"format": "nncore.model", "version": NaN}')


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"", "file: is empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"format": "nncore.model", "version": 1, "layers": [', "not valid JSON.*truncated"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b"\x80\x04\x95pickle", "not UTF-8"),
    ],
)
def test_garbage_and_truncated_files(raw, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(raw)


def test_truncated_real_file(tmp_path):
    m, _, _ = trained()
    text = m.to_json()
    for cut in (10, len(text) // 2, len(text) - 3):
        with pytest.raises(ModelFileError):
            load_model(text[:cut].encode())


def test_oversized_file_is_refused(monkeypatch):
    import nncore.io

    m, _, _ = trained()
    text = m.to_json()
    monkeypatch.setattr(nncore.io, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ModelFileError, match="more than the limit"):
        load_model(text.encode())
    with pytest.raises(ValueError, match="Cannot save the model: the file would be .* bytes, more than the limit of 1,000"):
        m.to_json()


def test_missing_path():
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model("/nonexistent/model.json")

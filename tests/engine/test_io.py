"""Model files: bit-identical round trips, continued training, and clear errors for bad files."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from nncore import FFL, NN, Dropout, ModelFileError, load_model, model_from_dict


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


# ---------------------------------------------------------------------- issue 9: accepted files that broke on use
def _set_array(doc, path, values, dtype="float32"):
    node = doc
    for key in path:
        node = node[key]
    arr = np.asarray(values, dtype=dtype)
    node["dtype"] = dtype
    node["shape"] = list(arr.shape)
    node["data"] = base64.b64encode(arr.astype(np.dtype(dtype).newbyteorder("<")).tobytes()).decode()


def _array(doc, path):
    node = doc
    for key in path:
        node = node[key]
    return np.frombuffer(base64.b64decode(node["data"]), dtype=np.dtype(node["dtype"]).newbyteorder("<")).reshape(node["shape"]).copy()


def _trained_doc(opt="adam"):
    m, _, _ = trained(opt=opt)
    return json.loads(m.to_json())


@pytest.mark.parametrize(
    "value,dtype,message",
    [
        (1e39, "float64", r"holds values up to 1e\+39 in magnitude, beyond the float32 range"),
        (-1e300, "float64", r"holds values up to 1e\+300 in magnitude, beyond the float32 range"),
        (float(np.finfo(np.float32).max), "float32", r"holds values up to 3.4e\+38 in magnitude; the limit is ±1e\+06"),
        (2e6, "float32", r"holds values up to 2e\+06 in magnitude; the limit is ±1e\+06"),
        (np.inf, "float32", "contains NaN or infinite values"),
    ],
)
def test_weights_that_break_the_forward_pass_are_refused(value, dtype, message):
    doc = _trained_doc()
    w = _array(doc, ["layers", 2, "params", "weights"]).astype(dtype)
    w[1, 3] = value
    _set_array(doc, ["layers", 2, "params", "weights"], w, dtype)
    with pytest.raises(ModelFileError, match=r"layers\[2\].params.weights: " + message):
        load_model(json.dumps(doc).encode())


def test_weights_within_the_bound_and_float64_storage_load():
    doc = _trained_doc()
    w = _array(doc, ["layers", 0, "params", "weights"]).astype("float64")
    w[0, 0] = -9.9e5
    _set_array(doc, ["layers", 0, "params", "weights"], w, "float64")
    m = load_model(json.dumps(doc).encode())
    assert m.layers[0].params["weights"].dtype == np.float32 and m.layers[0].params["weights"][0, 0] == np.float32(-9.9e5)


@pytest.mark.parametrize(
    "opt,buffer,value,message",
    [
        ("rmsprop", "square_avg", -1.0, "holds negative values .*never negative"),
        ("adam", "exp_avg_sq/(1-beta2)", -0.5, "holds negative values"),
        ("adamax", "exp_inf", -1e-3, "holds negative values"),
        ("adadelta", "acc_delta", -2.0, "holds negative values"),
        ("adagrad", "sum", 2e30, r"holds values up to 2e\+30 in magnitude; the limit is ±1e\+30"),
        ("sgd", "momentum_buffer", 2e15, r"holds values up to 2e\+15 in magnitude; the limit is ±1e\+15"),
        ("adam", "exp_avg/(1-beta1)", np.nan, "contains NaN or infinite values"),
    ],
)
def test_invalid_optimizer_buffers_are_refused(opt, buffer, value, message):
    kw = {}
    m, x, y = trained(opt=opt)
    if opt == "sgd":  # momentum so that the rule keeps a buffer worth checking
        m = NN(seed=3)
        m.add(FFL(6, 4, activation="softmax"))
        m.compile_model(lr=0.01, opt="sgd", mr=0.9, loss="cse", **kw)
        m.train(x, y, epochs=1, batch_size=10, verbose=0)
    doc = json.loads(m.to_json())
    path = ["optimizer_state", "buffers", buffer]
    v = _array(doc, path)
    v[2] = value
    _set_array(doc, path, v)
    field = re.escape(f"optimizer_state.buffers.{buffer}")
    with pytest.raises(ModelFileError, match=f"{field}: {message}"):
        load_model(json.dumps(doc).encode())


def test_optimizer_step_counter_must_be_a_sane_integer():
    text = json.dumps(_trained_doc(), separators=(",", ":"))
    t = json.loads(text)["optimizer_state"]["t"]
    cases = {
        "9" * 401: "optimizer_state.t: is an integer of 401 digits",
        "1" + "0" * 400: "optimizer_state.t: is an integer of 401 digits",
        "10000000000000": r"optimizer_state.t: expected an integer from 0 to 1,000,000,000,000, got 10000000000000",
        "-1": "optimizer_state.t: expected an integer from 0",
        "2.5": "optimizer_state.t: expected an integer, got the number 2.5",
        "0": r"optimizer_state.buffers: must be empty when t is 0",
    }
    for token, message in cases.items():
        bad = text.replace(f'"t":{t},', f'"t":{token},')
        assert bad != text
        with pytest.raises(ModelFileError, match=message):
            load_model(bad.encode())


def test_optimizer_state_without_compile_or_with_missing_buffers_is_refused():
    doc = _trained_doc()
    del doc["optimizer_state"]["buffers"]["exp_avg/(1-beta1)"]
    with pytest.raises(ModelFileError, match=r"optimizer_state.buffers: expected \['exp_avg/\(1-beta1\)', 'exp_avg_sq/\(1-beta2\)'\] after \d+ steps"):
        load_model(json.dumps(doc).encode())
    doc = _trained_doc()
    doc["compile"] = None
    with pytest.raises(ModelFileError, match="optimizer_state: is given but the model is not compiled"):
        load_model(json.dumps(doc).encode())


@pytest.mark.parametrize(
    "path,value,message",
    [
        (["epoch"], 3, "epoch: is 3 but history records 2 epochs; they must agree"),
        (["epoch"], 1, "epoch: is 1 but history records 2 epochs"),
        (["history", "accuracy", 1], 1.5, r"history.accuracy\[1\]: expected a number in \[0, 1\] or null, got the number 1.5"),
        (["history", "val_accuracy", 0], -0.25, r"history.val_accuracy\[0\]: expected a number in \[0, 1\]"),
        (["history", "loss", 1], -1.12, r"history.loss\[1\]: expected a finite number ≥ 0, got the number -1.12"),
        (["history", "loss", 0], None, r"history.loss\[0\]: expected a finite number ≥ 0, got null"),
        (["history", "seconds", 0], -1, r"history.seconds\[0\]: expected a finite number ≥ 0 or null"),
        (["history", "lr", 0], 0, r"history.lr\[0\]: expected a finite number > 0 or null"),
        (["history", "epoch", 1], 5, r"history.epoch\[1\]: expected 2 \(epochs are numbered 1, 2, …\), got 5"),
        (["history", "epoch", 0], 1.0, r"history.epoch\[0\]: expected an integer ≥ 1, got the number 1.0"),
        (["history", "val_loss"], [0.5], r"history.val_loss: has 1 entry but history.epoch has 2; all lists must have the same length"),
        (["history"], None, "history: is missing, but epoch is 2"),
        (["history", "epoch"], KeyError, "history.epoch: is missing"),
        (["batch_history", "step", 2], 7, r"batch_history.step\[2\]: expected 3 \(steps are numbered 1, 2, …\), got 7"),
        (["batch_history", "epoch", 5], 1, r"batch_history.epoch\[5\]: expected an epoch from 2 to 3 \(never decreasing\), got 1"),
        (["batch_history", "epoch", 0], 9, r"batch_history.epoch\[0\]: expected an epoch from 1 to 3"),
        (["batch_history", "batch", 0], 0, r"batch_history.batch\[0\]: expected an integer ≥ 1, got the number 0"),
        (["batch_history", "accuracy", 3], 2, r"batch_history.accuracy\[3\]: expected a number in \[0, 1\]"),
        (["batch_history", "loss"], [0.1], r"batch_history.loss: has 1 entry but batch_history.epoch has 8"),
    ],
)
def test_inconsistent_histories_are_refused(path, value, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(_corrupt(_doc(), path, value))


def test_history_keys_missing_from_older_files_are_padded():
    doc = _doc()
    del doc["history"]["lr"], doc["history"]["data_loss"], doc["batch_history"]["lr"]
    m = load_model(json.dumps(doc).encode())
    assert m.history["lr"] == [None, None] and m.history["data_loss"] == [None, None]
    assert m.batch_history["lr"] == [None] * len(m.batch_history["step"])


@pytest.mark.parametrize(
    "token,where,message",
    [
        ("NaN", "history.loss", r"history.loss\[1\]: is NaN, which is not a finite number"),
        ("Infinity", "history.loss", r"history.loss\[1\]: is Infinity, which is not a finite number"),
        ("-Infinity", "history.loss", r"history.loss\[1\]: is -Infinity"),
        ("1e400", "history.loss", r"history.loss\[1\]: is the number 1e400, beyond the range of a float"),
        ("9" * 401, "history.loss", r"history.loss\[1\]: is an integer of 401 digits"),
        ("-" + "9" * 5000, "history.loss", r"history.loss\[1\]: is an integer of 5000 digits"),
        ("NaN", "compile.optimizer.config.lr", r"compile.optimizer.config.lr: is NaN"),
        ("9" * 5000, "layers[0].config.neurons", r"layers\[0\].config.neurons: is an integer of 5000 digits"),
        ("Infinity", "layers[1].config.rate", r"layers\[1\].config.rate: is Infinity"),
    ],
)
def test_non_finite_tokens_and_huge_integers_name_their_field(token, where, message):
    """No OverflowError, no 'use sys.set_int_max_str_digits' ValueError: a ModelFileError naming the field."""
    doc = _doc()
    marker = "__TOKEN__"
    if where == "history.loss":
        doc["history"]["loss"][1] = marker
    elif where == "compile.optimizer.config.lr":
        doc["compile"]["optimizer"]["config"]["lr"] = marker
    elif where == "layers[0].config.neurons":
        doc["layers"][0]["config"]["neurons"] = marker
    else:
        doc["layers"][1]["config"]["rate"] = marker
    text = json.dumps(doc).replace(f'"{marker}"', token)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(text.encode())
    assert type(info.value) is ModelFileError


def test_model_from_dict_names_non_finite_python_values():
    doc = _doc()
    doc["history"]["val_loss"][0] = float("nan")
    with pytest.raises(ModelFileError, match=r"history.val_loss\[0\]: is nan, which is not a finite number"):
        model_from_dict(doc)
    doc = _doc()
    doc["batch_history"]["loss"][2] = 10**400
    with pytest.raises(ModelFileError, match=r"batch_history.loss\[2\]: is an integer of 401 digits"):
        model_from_dict(doc)


@pytest.mark.parametrize(
    "path,value,message",
    [
        (["compile", "optimizer", "config", "lr"], 5000.0, "compile.optimizer.config.lr: is 5000; the learning rate must be at most 1000"),
        (["compile", "optimizer", "config", "eps"], 1e-45, "compile.optimizer.config.eps: is 1e-45; eps must be from 1e-30 to 1000"),
        (["compile", "optimizer", "config", "eps"], 1e300, "compile.optimizer.config.eps: is 1e\\+300; eps must be from"),
        (["compile", "optimizer", "config", "beta1"], 1.0, r"compile.optimizer.config: beta1 must be in \[0, 1\)"),
        (["compile", "optimizer", "config", "lr"], True, "compile.optimizer.config.lr: expected a finite number, got a boolean"),
        (["compile", "optimizer", "config", "momentum"], 0.5, "compile.optimizer.config: .*unexpected keyword argument 'momentum'"),
        (["compile", "mr"], 7, "compile.mr: expected a number from 0 to 1 or null, got the number 7"),
        (["compile", "metrics"], ["f1"], "compile.metrics: Unknown metric 'f1'"),
        (["compile", "metrics"], "accuracy", "compile.metrics: expected a list of metric names"),
        (["layers", 2, "config", "l2"], 1e4, r"layers\[2\].config.l2: is 10000; l2 must be at most 1000"),
        (["layers", 0, "config", "activation"], "sigmoid", None),
        (["layers", 3, "config", "activation"], "relu", "compile: Loss 'cse' .*needs a 'softmax' output layer"),
        (["seed"], -1, "seed: expected an integer from 0 to 9,223,372,036,854,775,807, got -1"),
        (["seed"], "0", "seed: expected an integer .*got a string"),
        (["dtype"], "float16", "dtype: must be 'float32' or 'float64', got 'float16'"),
        (["input_transform"], {"type": "Nope"}, "input_transform: Unknown transform type"),
    ],
)
def test_hyper_parameters_in_files_are_checked(path, value, message):
    raw = _corrupt(_doc(), path, value)
    if message is None:  # a valid change: loads
        assert load_model(raw).layers[0].activation_name == "sigmoid"
        return
    with pytest.raises(ModelFileError, match=message):
        load_model(raw)


# ---------------------------------------------------------------------- bounded work
def test_size_limit_is_documented_and_checked_before_reading(tmp_path, monkeypatch):
    import pathlib

    import nncore.io

    assert nncore.io.MAX_FILE_BYTES == 128 * 1024 * 1024 and "128 MiB" in nncore.io.__doc__
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:  # sparse: no disk space, and it must not be read
        fh.truncate(nncore.io.MAX_FILE_BYTES + 1)

    def no_reading(self):
        raise AssertionError("the oversized file was read")

    monkeypatch.setattr(pathlib.Path, "read_bytes", no_reading)
    with pytest.raises(ModelFileError, match=r"file: big.json is 134,217,729 bytes, more than the limit of 134,217,728"):
        load_model(big)
    with open(big, "rb") as fh:
        with pytest.raises(ModelFileError, match="file: is larger than the limit"):
            load_model(fh)


def test_value_count_is_checked_before_parsing(monkeypatch):
    import nncore.io

    flood = b"[" + b"0," * (nncore.io.MAX_JSON_VALUES + 1) + b"0]"

    def no_parsing(*args, **kwargs):
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(nncore.io.json, "loads", no_parsing)
    with pytest.raises(ModelFileError, match=r"file: holds about 5,000,001 JSON values, more than the limit of 5,000,000"):
        load_model(flood)


def test_array_length_is_checked_before_decoding(monkeypatch):
    import nncore.io

    raw = _corrupt(_doc(), ["layers", 0, "params", "weights", "data"], "AAAA" * 2000)

    def no_decoding(*args, **kwargs):
        raise AssertionError("base64 was decoded")

    monkeypatch.setattr(nncore.io.binascii, "a2b_base64", no_decoding)
    with pytest.raises(ModelFileError, match=r"layers\[0\].params.weights.data: holds 8,000 base64 characters"):
        load_model(raw)


def test_a_small_file_cannot_declare_a_huge_model():
    """Parameters are bounded by what the file's bytes can encode, before anything is allocated."""
    raw = _corrupt(_doc(), ["layers", 0, "config", "neurons"], 3_000_000)
    with pytest.raises(ModelFileError, match=r"layers\[0\]: the model would have .* parameters, more than the limit of .* \(for a file of this size\)"):
        load_model(raw)


# ---------------------------------------------------------------------- saving: every file written loads again
@pytest.mark.parametrize("opt", ["sgd", "momentum", "iterative", "rmsprop", "adagrad", "adam", "adamax", "adadelta"])
def test_every_optimizer_round_trips_with_its_state(opt):
    m, x, _ = trained(opt=opt)
    m2 = load_model(m.to_json().encode())
    assert np.array_equal(m.predict(x), m2.predict(x))
    assert m2.optimizer.t == m.optimizer.t
    assert set(m2.optimizer.state) == set(m.optimizer.state)
    for k, v in m.optimizer.state.items():
        np.testing.assert_array_equal(m2.optimizer.state[k], v)


def test_saving_refuses_what_loading_would_refuse():
    m, x, y = trained()
    w = m.layers[0].weights.copy()
    w[0, 0] = 2e6
    m.layers[0].weights = w
    with pytest.raises(ValueError, match=r"Cannot save the model: layers\[0\].params.weights: holds values up to 2e\+06") as info:
        m.to_json()
    assert not isinstance(info.value, ModelFileError)
    m, _, _ = trained()
    m.history["val_loss"][0] = float("nan")
    with pytest.raises(ValueError, match=r"Cannot save the model: history.val_loss\[0\]: expected a finite number ≥ 0 or null, got the number nan"):
        m.to_json()
    m, _, _ = trained()
    m.epoch = 5
    with pytest.raises(ValueError, match="Cannot save the model: epoch: is 5 but history records 2 epochs"):
        m.to_json()


def test_load_model_rejects_wrong_source_types():
    with pytest.raises(TypeError, match="load_model takes a path, bytes or a binary file object; got int"):
        load_model(5)

"""Every bad call of the training API is refused with a sentence that names the argument, says what
was expected and what was received, and leaves the model exactly as it was (weights, history,
epoch, optimizer state, compile settings, random generator)."""
from __future__ import annotations

import copy
import re
from typing import Any, Callable

import numpy as np
import pytest

from nncore import FFL, NN, Dropout, Flatten, Layer, NotCompiledError, ShapeError
from nncore.optimizers import Adam

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 4)).astype(np.float32)
Y = np.arange(10) % 3
ONE_HOT = np.eye(3)[Y]


def classifier() -> NN:
    """4 → 5 relu → Dropout → 3 softmax, Adam, cross-entropy, trained one epoch (so it has state)."""
    m = NN(seed=0)
    m.add(FFL(4, 5, activation="relu"))
    m.add(Dropout(0.2))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.01, opt="adam", loss="cse", metrics=["accuracy"])
    m.train(X, Y, epochs=1, batch_size=5, verbose=0)
    return m


def binary(loss: str = "cse") -> NN:
    m = NN(seed=1)
    m.add(FFL(4, 3, activation="tanh"))
    m.add(FFL(neurons=1, activation="sigmoid"))
    m.compile_model(lr=0.01, opt="sgd", mr=0.9, loss=loss)
    m.train(X, Y % 2, epochs=1, batch_size=5, verbose=0)
    return m


def tanh_regressor() -> NN:
    m = NN(seed=2)
    m.add(FFL(4, 2, activation="tanh"))
    m.compile_model(lr=0.01, opt="rmsprop", loss="mse")
    m.train(X, np.zeros((10, 2)), epochs=1, batch_size=5, verbose=0)
    return m


def uncompiled() -> NN:
    m = NN(seed=3)
    m.add(FFL(4, 3, activation="softmax"))
    return m


MODELS: dict[str, Callable[[], NN]] = {
    "clf": classifier,
    "bin": binary,
    "bin-mse": lambda: binary("mse"),
    "tanh": tanh_regressor,
    "raw": uncompiled,
}


def snapshot(m: NN) -> dict[str, Any]:
    opt = m.optimizer
    return {
        "weights": [w.copy() for w in m.get_weights()],
        "history": copy.deepcopy(m.history),
        "batch_history": copy.deepcopy(m.batch_history),
        "epoch": m.epoch,
        "layers": list(m.layers),
        "compiled": m.compiled,
        "loss": getattr(m.loss, "name", None),
        "metrics": list(m.metrics),
        "optimizer": None if opt is None else (opt, opt.get_config(), opt.t, {k: v.copy() for k, v in opt.state.items()}),
        "rng": copy.deepcopy(m.rng.bit_generator.state),
        "layer_stats": len(m.layer_stats),
        "pending": dict(m._pending),
    }


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert len(before["weights"]) == len(after["weights"])
    for a, b in zip(before["weights"], after["weights"]):
        np.testing.assert_array_equal(a, b)
    for key in ("history", "batch_history", "epoch", "compiled", "loss", "metrics", "rng", "layer_stats", "pending"):
        assert before[key] == after[key], key
    assert [id(l) for l in before["layers"]] == [id(l) for l in after["layers"]]
    if before["optimizer"] is None:
        assert after["optimizer"] is None
    else:
        (o1, c1, t1, s1), (o2, c2, t2, s2) = before["optimizer"], after["optimizer"]
        assert o1 is o2 and c1 == c2 and t1 == t2 and s1.keys() == s2.keys()
        for k in s1:
            np.testing.assert_array_equal(s1[k], s2[k])


# (id, model, call, exception, argument named in the message, regex: expectation and value received)
Case = tuple[str, str, Callable[[NN], Any], type, str, str]
E = ValueError

CASES: list[Case] = [
    # ------------------------------------------------------------------ predict: x
    ("predict x=None", "clf", lambda m: m.predict(None), E, "x", r"must be an array of numbers .*; got None"),
    ("predict x=dict", "clf", lambda m: m.predict({"a": 1}), E, "x", r"must be an array of numbers .*; got a dict"),
    ("predict x=str", "clf", lambda m: m.predict("abc"), E, "x", r"must be an array of numbers .*; got a str"),
    ("predict x ragged", "clf", lambda m: m.predict([[1, 2, 3, 4], [1, 2]]), E, "x", r"rectangular array .*; row 1 has 2 values but row 0 has 4 values"),
    ("predict x ragged deep", "clf", lambda m: m.predict([[[1, 2], [3]], [[1, 2], [3, 4]]]), E, "x", r"row \[0\]\[1\] has 1 value but row \[0\]\[0\] has 2 values"),
    ("predict x wrong width", "clf", lambda m: m.predict(np.ones((2, 3))), ShapeError, "x", r"samples of shape \(3,\), but the model expects \(4,\)"),
    ("predict x single sample", "clf", lambda m: m.predict(np.ones(4)), ShapeError, "x", r"batch of samples \(n, 4\); got a single sample of shape \(4,\)"),
    ("predict x scalar", "clf", lambda m: m.predict(5.0), ShapeError, "x", r"batch of samples \(n, 4\); got the single number 5.0"),
    ("predict x empty", "clf", lambda m: m.predict(np.ones((0, 4))), E, "x", r"is empty: it has 0 samples"),
    ("predict x complex", "clf", lambda m: m.predict(X.astype(complex)), E, "x", r"complex numbers \(dtype complex128\); the model takes real numbers"),
    ("predict x NaN", "clf", lambda m: m.predict(np.where(X > 1, np.nan, X)), E, "x", r"contains \d+ NaN or infinite value"),
    ("predict x inf", "clf", lambda m: m.predict(np.full((2, 4), np.inf)), E, "x", r"contains 8 NaN or infinite value"),
    ("predict x beyond float32", "clf", lambda m: m.predict(np.full((2, 4), 1e39)), E, "x", r"values up to 1e\+39, beyond the model's float32 range"),
    ("predict x objects", "clf", lambda m: m.predict(np.array([[1, 2, 3, None]])), E, "x", r"must be numeric .*dtype object"),
    ("predict x strings", "clf", lambda m: m.predict([["1", "2", "3", "4"]]), E, "x", r"must be numeric .*dtype <U1 \(text\)"),
    ("predict x 401-digit ints", "clf", lambda m: m.predict([[10**400] * 4]), E, "x", r"must be numeric .*dtype object"),
    ("predict x images for dense", "clf", lambda m: m.predict(np.ones((2, 2, 2))), ShapeError, "x", r"samples of shape \(2, 2\), but the model expects \(4,\).*reshape"),
    # ------------------------------------------------------------------ predict / evaluate: batch_size
    ("predict batch_size=0", "clf", lambda m: m.predict(X, batch_size=0), E, "batch_size", r"an integer ≥ 1; got 0"),
    ("predict batch_size=-3", "clf", lambda m: m.predict(X, batch_size=-3), E, "batch_size", r"an integer ≥ 1; got -3"),
    ("predict batch_size=1.5", "clf", lambda m: m.predict(X, batch_size=1.5), E, "batch_size", r"an integer ≥ 1; got 1.5"),
    ("predict batch_size='8'", "clf", lambda m: m.predict(X, batch_size="8"), E, "batch_size", r"an integer ≥ 1; got '8'"),
    ("predict batch_size=True", "clf", lambda m: m.predict(X, batch_size=True), E, "batch_size", r"an integer ≥ 1; got True"),
    ("predict batch_size=nan", "clf", lambda m: m.predict(X, batch_size=float("nan")), E, "batch_size", r"an integer ≥ 1; got nan"),
    ("predict batch_size=[4]", "clf", lambda m: m.predict(X, batch_size=[4]), E, "batch_size", r"an integer ≥ 1; got \[4\]"),
    ("evaluate batch_size=-1", "clf", lambda m: m.evaluate(X, Y, batch_size=-1), E, "batch_size", r"an integer ≥ 1; got -1"),
    ("evaluate batch_size=0", "clf", lambda m: m.evaluate(X, Y, batch_size=0), E, "batch_size", r"an integer ≥ 1; got 0"),
    ("evaluate batch_size=2.5", "clf", lambda m: m.evaluate(X, Y, batch_size=2.5), E, "batch_size", r"an integer ≥ 1; got 2.5"),
    # ------------------------------------------------------------------ evaluate: x, y
    ("evaluate x=None", "clf", lambda m: m.evaluate(None, Y), E, "x", r"got None"),
    ("evaluate y=None", "clf", lambda m: m.evaluate(X, None), E, "y", r"must be an array of numbers .*; got None"),
    ("evaluate y=dict", "clf", lambda m: m.evaluate(X, {"y": Y}), E, "y", r"got a dict"),
    ("evaluate y ragged", "clf", lambda m: m.evaluate(X, [[1, 0, 0]] * 9 + [[1]]), E, "y", r"row 9 has 1 value but row 0 has 3 values"),
    ("evaluate y wrong length", "clf", lambda m: m.evaluate(X, Y[:7]), ShapeError, "y", r"x has 10 samples but y has 7"),
    ("evaluate y scalar", "clf", lambda m: m.evaluate(X, 2), ShapeError, "y", r"one label or target row per sample \(10\); got the single number 2"),
    ("evaluate y class 3 of 3", "clf", lambda m: m.evaluate(X, np.full(10, 3)), E, "y", r"class id 3, but the output layer has 3 units \(ids 0..2\)"),
    ("evaluate y class -1", "clf", lambda m: m.evaluate(X, np.full(10, -1)), E, "y", r"class id -1"),
    ("evaluate y fractional ids", "clf", lambda m: m.evaluate(X, Y + 0.5), E, "y", r"integer class ids 0..2; found fractions"),
    ("evaluate y 4 columns", "clf", lambda m: m.evaluate(X, np.ones((10, 4))), ShapeError, "y", r"has 4 columns but the output layer has 3 units"),
    ("evaluate y 3-D", "clf", lambda m: m.evaluate(X, np.ones((10, 3, 1))), ShapeError, "y", r"1-D class ids or 2-D rows .*; got shape \(10, 3, 1\)"),
    ("evaluate y complex", "clf", lambda m: m.evaluate(X, Y.astype(complex)), E, "y", r"complex numbers"),
    ("evaluate y strings", "clf", lambda m: m.evaluate(X, ["a"] * 10), E, "y", r"must be numeric .*\(text\)"),
    ("evaluate y NaN", "clf", lambda m: m.evaluate(X, np.where(ONE_HOT > 0, np.nan, 0)), E, "y", r"contains 10 NaN or infinite value"),
    ("evaluate uncompiled", "raw", lambda m: m.evaluate(X, Y), NotCompiledError, "compile_model", r"not compiled: call model.compile_model\(.*\) before evaluate\(\)"),
    # ------------------------------------------------------------------ train: counts and switches
    ("train epochs='3'", "clf", lambda m: m.train(X, Y, epochs="3", verbose=0), E, "epochs", r"an integer ≥ 0; got '3'"),
    ("train epochs=-1", "clf", lambda m: m.train(X, Y, epochs=-1, verbose=0), E, "epochs", r"an integer ≥ 0; got -1"),
    ("train epochs=2.5", "clf", lambda m: m.train(X, Y, epochs=2.5, verbose=0), E, "epochs", r"an integer ≥ 0; got 2.5"),
    ("train epochs=None", "clf", lambda m: m.train(X, Y, epochs=None, verbose=0), E, "epochs", r"an integer ≥ 0; got None"),
    ("train epochs=inf", "clf", lambda m: m.train(X, Y, epochs=float("inf"), verbose=0), E, "epochs", r"an integer ≥ 0; got inf"),
    ("train epochs=10**400", "clf", lambda m: m.train(X, Y, epochs=10**400, verbose=0), E, "epochs", r"an integer from 0 to 1,000,000; got an integer of about 401 digits"),
    ("train epochs=-10**5000", "clf", lambda m: m.train(X, Y, epochs=-(10**5000), verbose=0), E, "epochs", r"an integer ≥ 0; got an integer of about 5001 digits"),
    ("compile lr=10**5000", "clf", lambda m: m.compile_model(lr=10**5000, opt="adam", loss="cse"), E, "lr", r"must be a number; got an integer of about 5001 digits"),
    ("Dropout rate=-10**5000", "clf", lambda m: Dropout(-(10**5000)), E, "rate", r"must be a number; got an integer of about 5001 digits"),
    ("NN seed=2**64", "clf", lambda m: NN(seed=2**64), E, "seed", r"non-negative integer below 2\*\*63 or None; got 18446744073709551616"),
    ("train epochs=10**7", "clf", lambda m: m.train(X, Y, epochs=10**7, verbose=0), E, "epochs", r"an integer from 0 to 1,000,000; got 10000000"),
    ("train epochs=True", "clf", lambda m: m.train(X, Y, epochs=True, verbose=0), E, "epochs", r"an integer ≥ 0; got True"),
    ("train batch_size=1.5", "clf", lambda m: m.train(X, Y, batch_size=1.5, verbose=0), E, "batch_size", r"an integer ≥ 1; got 1.5"),
    ("train batch_size=0", "clf", lambda m: m.train(X, Y, batch_size=0, verbose=0), E, "batch_size", r"an integer ≥ 1; got 0"),
    ("train batch_size=-1", "clf", lambda m: m.train(X, Y, batch_size=-1, verbose=0), E, "batch_size", r"an integer ≥ 1; got -1"),
    ("train batch_size='32'", "clf", lambda m: m.train(X, Y, batch_size="32", verbose=0), E, "batch_size", r"an integer ≥ 1; got '32'"),
    ("train batch_size=None", "clf", lambda m: m.train(X, Y, batch_size=None, verbose=0), E, "batch_size", r"an integer ≥ 1; got None"),
    ("train show_every=0", "clf", lambda m: m.train(X, Y, show_every=0, verbose=0), E, "show_every", r"an integer ≥ 1; got 0"),
    ("train shuffle='yes'", "clf", lambda m: m.train(X, Y, shuffle="yes", verbose=0), E, "shuffle", r"True or False; got 'yes'"),
    ("train shuffle=1", "clf", lambda m: m.train(X, Y, shuffle=1, verbose=0), E, "shuffle", r"True or False; got 1"),
    ("train verbose='loud'", "clf", lambda m: m.train(X, Y, verbose="loud"), E, "verbose", r"an integer ≥ 0; got 'loud'"),
    ("train verbose=3", "clf", lambda m: m.train(X, Y, verbose=3), E, "verbose", r"an integer from 0 to 2; got 3"),
    ("train callbacks=3", "clf", lambda m: m.train(X, Y, callbacks=3, verbose=0), E, "callbacks", r"a list of Callback objects; got 3"),
    ("train callbacks='cb'", "clf", lambda m: m.train(X, Y, callbacks="cb", verbose=0), E, "callbacks", r"a list of Callback objects; got 'cb'"),
    ("train augment=5", "clf", lambda m: m.train(X, Y, augment=5, verbose=0), E, "augment", r"callable on a batch .*; got 5"),
    # ------------------------------------------------------------------ train: validation data
    ("train val_split=2", "clf", lambda m: m.train(X, Y, val_split=2, verbose=0), E, "val_split", r"in \[0, 1\); got 2"),
    ("train val_split=1.0", "clf", lambda m: m.train(X, Y, val_split=1.0, verbose=0), E, "val_split", r"in \[0, 1\); got 1.0"),
    ("train val_split=-0.1", "clf", lambda m: m.train(X, Y, val_split=-0.1, verbose=0), E, "val_split", r"≥ 0; got -0.1"),
    ("train val_split='0.2'", "clf", lambda m: m.train(X, Y, val_split="0.2", verbose=0), E, "val_split", r"must be a number; got '0.2'"),
    ("train val_split=nan", "clf", lambda m: m.train(X, Y, val_split=float("nan"), verbose=0), E, "val_split", r"finite number ≥ 0; got nan"),
    ("train val_split=True", "clf", lambda m: m.train(X, Y, val_split=True, verbose=0), E, "val_split", r"must be a number; got True"),
    ("train val_split leaves nothing", "clf", lambda m: m.train(X, Y, val_split=0.99, verbose=0), E, "val_split", r"leaves 0 training and 10 validation samples"),
    ("train val_x without val_y", "clf", lambda m: m.train(X, Y, val_x=X, verbose=0), E, "val_y", r"Pass both val_x and val_y, or neither"),
    ("train val_x and val_split", "clf", lambda m: m.train(X, Y, val_x=X, val_y=Y, val_split=0.2, verbose=0), E, "val_split", r"either val_split or val_x/val_y, not both"),
    ("train val_x wrong width", "clf", lambda m: m.train(X, Y, val_x=np.ones((3, 5)), val_y=Y[:3], verbose=0), ShapeError, "val_x", r"samples of shape \(5,\), but the model expects \(4,\)"),
    ("train val_y wrong length", "clf", lambda m: m.train(X, Y, val_x=X, val_y=Y[:4], verbose=0), ShapeError, "val_y", r"x has 10 samples but val_y has 4"),
    ("train val_y class 9", "clf", lambda m: m.train(X, Y, val_x=X, val_y=np.full(10, 9), verbose=0), E, "val_y", r"class id 9"),
    # ------------------------------------------------------------------ train: x and y
    ("train x=None", "clf", lambda m: m.train(None, Y, verbose=0), E, "x", r"got None"),
    ("train x=dict", "clf", lambda m: m.train({"pixels": X}, Y, verbose=0), E, "x", r"got a dict"),
    ("train x ragged", "clf", lambda m: m.train([[1, 2, 3, 4]] * 9 + [[1, 2]], Y, verbose=0), E, "x", r"row 9 has 2 values but row 0 has 4 values"),
    ("train x complex", "clf", lambda m: m.train(X + 1j, Y, verbose=0), E, "x", r"complex numbers"),
    ("train x float64 beyond float32", "clf", lambda m: m.train(X.astype(np.float64) * 1e39, Y, verbose=0), E, "x", r"beyond the model's float32 range"),
    ("train y=None", "clf", lambda m: m.train(X, None, verbose=0), E, "y", r"got None"),
    ("train y ragged", "clf", lambda m: m.train(X, [[0, 1, 0]] * 9 + [[1, 0]], verbose=0), E, "y", r"row 9 has 2 values but row 0 has 3 values"),
    ("train y complex", "clf", lambda m: m.train(X, ONE_HOT + 1j, verbose=0), E, "y", r"complex numbers"),
    ("train y negative one-hot", "clf", lambda m: m.train(X, -ONE_HOT, verbose=0), E, "y", r"one-hot or probabilities in \[0, 1\] for cross-entropy; found values from -1 to 0"),
    ("train y one-hot of 2s", "clf", lambda m: m.train(X, 2 * ONE_HOT, verbose=0), E, "y", r"found values from 0 to 2"),
    ("train y wrong length", "clf", lambda m: m.train(X, Y[:-1], verbose=0), ShapeError, "y", r"x has 10 samples but y has 9"),
    ("train binary labels 7/-3 (cse)", "bin", lambda m: m.train(X, np.array([7, -3] * 5), verbose=0), E, "y", r"Binary labels in y must be 0 or 1 .*; found 7"),
    ("train binary labels 0.5 (cse)", "bin", lambda m: m.train(X, np.full(10, 0.5), verbose=0), E, "y", r"must be 0 or 1 .*; found 0.5"),
    ("train binary labels 7/-3 (mse)", "bin-mse", lambda m: m.train(X, np.array([7, -3] * 5), verbose=0), E, "y", r"target -3, but the output layer's sigmoid only gives values in \[0, 1\]"),
    ("train tanh targets 5", "tanh", lambda m: m.train(X, np.full((10, 2), 5.0), verbose=0), E, "y", r"target 5, but the output layer's tanh only gives values in \[-1, 1\]"),
    ("evaluate sigmoid targets 2", "bin-mse", lambda m: m.evaluate(X, np.full((10, 1), 2.0)), E, "y", r"target 2, but the output layer's sigmoid"),
    ("train uncompiled", "raw", lambda m: m.train(X, Y, verbose=0), NotCompiledError, "compile_model", r"before train\(\)"),
    # ------------------------------------------------------------------ compile_model
    ("compile lr=-1", "clf", lambda m: m.compile_model(lr=-1, opt="adam", loss="cse"), E, "lr", r"finite number > 0; got -1"),
    ("compile lr=0", "clf", lambda m: m.compile_model(lr=0, opt="adam", loss="cse"), E, "lr", r"finite number > 0; got 0"),
    ("compile lr='fast'", "clf", lambda m: m.compile_model(lr="fast", opt="adam", loss="cse"), E, "lr", r"must be a number; got 'fast'"),
    ("compile lr=nan", "clf", lambda m: m.compile_model(lr=float("nan"), opt="adam", loss="cse"), E, "lr", r"finite number > 0; got nan"),
    ("compile lr=inf", "clf", lambda m: m.compile_model(lr=float("inf"), opt="adam", loss="cse"), E, "lr", r"finite number > 0; got inf"),
    ("compile lr=True", "clf", lambda m: m.compile_model(lr=True, opt="adam", loss="cse"), E, "lr", r"must be a number; got True"),
    ("compile lr='0.01'", "clf", lambda m: m.compile_model(lr="0.01", opt="adam", loss="cse"), E, "lr", r"must be a number; got '0.01'"),
    ("compile lr=[0.1]", "clf", lambda m: m.compile_model(lr=[0.1], opt="adam", loss="cse"), E, "lr", r"must be a number; got \[0.1\]"),
    ("compile opt='nadam'", "clf", lambda m: m.compile_model(opt="nadam", loss="cse"), E, "optimizer", r"Unknown optimizer 'nadam'. Valid optimizers are: 'sgd', .*'adam'"),
    ("compile opt=3", "clf", lambda m: m.compile_model(opt=3, loss="cse"), E, "opt", r"an optimizer name \('sgd', .*\) or an Optimizer; got 3"),
    ("compile opt=None", "clf", lambda m: m.compile_model(opt=None, loss="cse"), E, "opt", r"an optimizer name .*; got None"),
    ("compile loss='hinge'", "clf", lambda m: m.compile_model(opt="adam", loss="hinge"), E, "loss", r"Unknown loss 'hinge'. Valid losses are: 'mse', 'cse'"),
    ("compile loss=None", "clf", lambda m: m.compile_model(opt="adam", loss=None), E, "loss", r"A loss is required. Valid losses are: 'mse', 'cse'"),
    ("compile loss=3", "clf", lambda m: m.compile_model(opt="adam", loss=3), E, "loss", r"Unknown loss 3"),
    ("compile cse on tanh output", "tanh", lambda m: m.compile_model(opt="adam", loss="cse"), E, "loss", r"Loss 'cse' \(cross-entropy\) needs a 'softmax' output layer.*activation 'tanh'"),
    ("compile mr=2 (sgd)", "clf", lambda m: m.compile_model(opt="sgd", loss="cse", mr=2), E, "mr", r"in \[0, 1\); got 2"),
    ("compile mr='x'", "clf", lambda m: m.compile_model(opt="sgd", loss="cse", mr="x"), E, "mr", r"must be a number; got 'x'"),
    ("compile mr=-0.5 (adam)", "clf", lambda m: m.compile_model(opt="adam", loss="cse", mr=-0.5), E, "mr", r"finite number ≥ 0; got -0.5"),
    ("compile metrics='f1'", "clf", lambda m: m.compile_model(opt="adam", loss="cse", metrics="f1"), E, "metric", r"Unknown metric 'f1'. Valid metrics are: 'accuracy', 'mae', 'r2'"),
    ("compile metrics=3", "clf", lambda m: m.compile_model(opt="adam", loss="cse", metrics=3), E, "metrics", r"a list of names such as \['accuracy'\]; got 3"),
    ("compile metrics=[accuracy, 5]", "clf", lambda m: m.compile_model(opt="adam", loss="cse", metrics=["accuracy", 5]), E, "metric", r"Unknown metric 5"),
    ("compile Adam(beta1=1)", "clf", lambda m: m.compile_model(opt=Adam(beta1=1.0), loss="cse"), E, "beta1", r"in \[0, 1\); got 1.0"),
    ("compile no layers", "empty", lambda m: m.compile_model(), E, "layers", r"no layers: add layers with model.add\(...\) first"),
    # ------------------------------------------------------------------ steering
    ("set_hyperparameters lr=-1", "clf", lambda m: m.set_hyperparameters(lr=-1), E, "lr", r"finite number > 0; got -1"),
    ("set_hyperparameters momentum on adam", "clf", lambda m: m.set_hyperparameters(momentum=0.9), E, "momentum", r"Cannot change 'momentum' of optimizer 'adam'; adjustable: lr, l2"),
    ("set_hyperparameters l2='x'", "clf", lambda m: m.set_hyperparameters(l2="x"), E, "l2", r"must be a number; got 'x'"),
    # ------------------------------------------------------------------ NN(...)
    ("NN dtype='int8'", "clf", lambda m: NN(dtype="int8"), E, "dtype", r"one of \('float32', 'float64'\); got 'int8'"),
    ("NN dtype=object", "clf", lambda m: NN(dtype=object), E, "dtype", r"one of .*; got <class 'object'>"),
    ("NN dtype='float16'", "clf", lambda m: NN(dtype="float16"), E, "dtype", r"one of .*; got 'float16'"),
    ("NN dtype=[1]", "clf", lambda m: NN(dtype=[1]), E, "dtype", r"one of .*; got \[1\]"),
    ("NN dtype='banana'", "clf", lambda m: NN(dtype="banana"), E, "dtype", r"one of .*; got 'banana'"),
    ("NN seed=-1", "clf", lambda m: NN(seed=-1), E, "seed", r"non-negative integer below 2\*\*63 or None; got -1"),
    ("NN seed='a'", "clf", lambda m: NN(seed="a"), E, "seed", r"non-negative integer below 2\*\*63 or None; got 'a'"),
    ("NN seed=1.5", "clf", lambda m: NN(seed=1.5), E, "seed", r"non-negative integer below 2\*\*63 or None; got 1.5"),
    ("NN seed=True", "clf", lambda m: NN(seed=True), E, "seed", r"non-negative integer below 2\*\*63 or None; got True"),
    ("NN seed=[1]", "clf", lambda m: NN(seed=[1]), E, "seed", r"non-negative integer below 2\*\*63 or None; got \[1\]"),
    ("NN input_transform=5", "clf", lambda m: NN(input_transform=5), E, "input_transform", r"None or a transform from nncore.transforms; got int"),
    # ------------------------------------------------------------------ layers
    ("FFL neurons=0", "clf", lambda m: FFL(4, 0), E, "neurons", r"positive integer .*; got 0"),
    ("FFL neurons=2.5", "clf", lambda m: FFL(4, 2.5), E, "neurons", r"positive integer .*; got 2.5"),
    ("FFL neurons='10'", "clf", lambda m: FFL(4, "10"), E, "neurons", r"positive integer .*; got '10'"),
    ("FFL neurons=-3", "clf", lambda m: FFL(4, -3), E, "neurons", r"positive integer .*; got -3"),
    ("FFL neurons=True", "clf", lambda m: FFL(4, True), E, "neurons", r"positive integer .*; got True"),
    ("FFL neurons=(2, 3)", "clf", lambda m: FFL(4, (2, 3)), E, "neurons", r"a positive integer; got \(2, 3\)"),
    ("FFL input_shape=0", "clf", lambda m: FFL(0, 3), E, "input_shape", r"positive integer or a tuple of them; got 0"),
    ("FFL input_shape='784'", "clf", lambda m: FFL("784", 3), E, "input_shape", r"got '784'"),
    ("FFL input_shape=2.5", "clf", lambda m: FFL(2.5, 3), E, "input_shape", r"got 2.5"),
    ("FFL input_shape=[]", "clf", lambda m: FFL([], 3), E, "input_shape", r"got \[\]"),
    ("FFL activation='swish'", "clf", lambda m: FFL(4, 3, activation="swish"), E, "activation", r"Unknown activation 'swish'. Valid activations are: 'linear', 'relu'"),
    ("FFL activation=5", "clf", lambda m: FFL(4, 3, activation=5), E, "activation", r"Unknown activation 5"),
    ("FFL l2=-1", "clf", lambda m: FFL(4, 3, l2=-1), E, "l2", r"finite number ≥ 0; got -1"),
    ("FFL l2='x'", "clf", lambda m: FFL(4, 3, l2="x"), E, "l2", r"must be a number; got 'x'"),
    ("FFL l2=nan", "clf", lambda m: FFL(4, 3, l2=float("nan")), E, "l2", r"finite number ≥ 0; got nan"),
    ("FFL bias with is_bias=False", "clf", lambda m: FFL(4, 3, bias=np.zeros(3), is_bias=False), E, "is_bias", r"bias was given but is_bias=False"),
    ("add FFL(784, 10**9)", "clf", lambda m: m.add(FFL(neurons=10**9)), E, "neurons", r"4,000,000,043 parameters, more than the limit of 100,000,000 .*Use fewer neurons"),
    ("add FFL(784, 10**9) first", "empty", lambda m: m.add(FFL(784, 10**9)), E, "neurons", r"785,000,000,000 parameters, more than the limit"),
    ("add weights of wrong shape", "clf", lambda m: m.add(FFL(neurons=2, weights=np.ones((4, 2)))), E, "weights", r"must have shape \(3, 2\); got \(4, 2\)"),
    ("add a string", "clf", lambda m: m.add("FFL"), TypeError, "add", r"takes a layer \(.*FFL.*\); got str"),
    ("add the same layer twice", "clf", lambda m: m.add(m.layers[0]), E, "layer", r"already in the model; create a new one"),
    ("add first layer without input_shape", "empty", lambda m: m.add(FFL(neurons=3)), E, "input shape", r"first layer needs its input shape, e.g. FFL\(input_shape=..."),
    ("add mismatched input_shape", "clf", lambda m: m.add(FFL(7, 2)), ShapeError, "input_shape", r"declares input_shape=\(7,\) but receives \(3,\)"),
    ("add Flatten-less dense after images", "img", lambda m: m.add(FFL(neurons=2)), ShapeError, "Flatten", r"FFL takes flat inputs .*gives \(2, 3\)\. Add Flatten\(\)"),
    ("Dropout rate=1", "clf", lambda m: Dropout(1), E, "rate", r"in \[0, 1\); got 1"),
    ("Dropout rate=1.5", "clf", lambda m: Dropout(1.5), E, "rate", r"in \[0, 1\); got 1.5"),
    ("Dropout rate=-0.1", "clf", lambda m: Dropout(-0.1), E, "rate", r"≥ 0; got -0.1"),
    ("Dropout rate='a'", "clf", lambda m: Dropout("a"), E, "rate", r"must be a number; got 'a'"),
    ("Dropout rate=nan", "clf", lambda m: Dropout(float("nan")), E, "rate", r"finite number ≥ 0; got nan"),
    ("Dropout rate=None", "clf", lambda m: Dropout(None), E, "rate", r"must be a number; got None"),
    ("Dropout rate=True", "clf", lambda m: Dropout(True), E, "rate", r"must be a number; got True"),
    ("Flatten input_shape=-2", "clf", lambda m: Flatten(input_shape=-2), E, "input_shape", r"got -2"),
    # ------------------------------------------------------------------ looking inside
    ("input_gradient class_index=3", "clf", lambda m: m.input_gradient(X, 3), E, "class_index", r"an integer in 0..2; got 3"),
    ("input_gradient class_index='1'", "clf", lambda m: m.input_gradient(X, "1"), E, "class_index", r"got '1'"),
    ("set_weights wrong count", "clf", lambda m: m.set_weights([np.ones((4, 5))]), E, "set_weights", r"expects 4 arrays; got 1"),
    ("set_weights wrong shape", "clf", lambda m: m.set_weights([np.ones((5, 4)), np.zeros(5), np.ones((5, 3)), np.zeros(3)]), E, "weights", r"must have shape \(4, 5\); got \(5, 4\)"),
    ("set_weights NaN", "clf", lambda m: m.set_weights([np.full((4, 5), np.nan), np.zeros(5), np.ones((5, 3)), np.zeros(3)]), E, "weights", r"must be finite numbers"),
]


class KeepShape(Layer):
    """A parameter-free layer that passes (2, 3) samples through, so a dense layer can follow an image shape."""

    def __init__(self, input_shape=None):
        super().__init__(input_shape)

    def forward_z(self, x, training):
        return x

    def backward_z(self, grad_z, need_input_grad=True):
        return grad_z

    def apply_z(self, x):
        return x

    def get_config(self):
        return {"input_shape": None if self.input_shape is None else list(self.input_shape)}


def image_model() -> NN:
    m = NN(seed=4)
    m.add(KeepShape(input_shape=(2, 3)))
    return m


MODELS["empty"] = lambda: NN(seed=5)
MODELS["img"] = image_model


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_call_is_refused_clearly_and_changes_nothing(case: Case):
    name, kind, call, exc_type, argument, expected = case
    model = MODELS[kind]()
    before = snapshot(model)
    with pytest.raises(exc_type) as info:
        call(model)
    message = str(info.value)
    assert argument.lower() in message.lower(), f"the message does not name {argument!r}: {message}"
    assert re.search(expected, message), f"expected /{expected}/ in: {message}"
    assert message.rstrip().endswith((".", ")", "]")) and len(message) < 600, message
    assert_unchanged(before, snapshot(model))


def test_the_model_still_trains_after_refusals():
    """Refusals leave a working model: the next good call trains from where it was."""
    m = classifier()
    for bad in (lambda: m.train(X, Y, batch_size=1.5), lambda: m.train(X, -ONE_HOT), lambda: m.compile_model(lr="fast")):
        with pytest.raises(ValueError):
            bad()
    epoch, t = m.epoch, m.optimizer.t
    m.train(X, Y, epochs=1, batch_size=5, verbose=0)
    assert m.epoch == epoch + 1 and m.optimizer.t == t + 2 and len(m.history["epoch"]) == epoch + 1


def test_metrics_accepts_one_name_as_a_string():
    m = uncompiled()
    m.compile_model(opt="adam", loss="cse", metrics="accuracy")
    assert m.metrics == ["accuracy"]
    m.compile_model(opt="adam", loss="mse", metrics="mae")
    assert m.metrics == ["mae"]


def test_valid_edge_calls_are_accepted():
    """The checks are not over-eager: edge values that make sense still work."""
    m = classifier()
    assert m.predict(X, batch_size=3.0).shape == (10, 3)  # a float with an integer value
    assert m.predict(X.astype(np.float64) * 1e3).shape == (10, 3)  # finite and within float32
    assert m.predict(np.ones((2, 4), dtype=bool)).shape == (2, 3)
    m.train(X, ONE_HOT * 0.5 + 1 / 6, epochs=0, verbose=0)  # probability rows
    m.train(X, Y, epochs=0, verbose=False)
    b = binary("mse")
    b.train(X, np.linspace(0, 1, 10), epochs=1, verbose=0)  # targets inside the sigmoid's range
    NN(seed=np.uint32(7), dtype=np.float64)


def test_summary_of_refusals():
    """How many bad calls are refused with a clear message (printed with -s; asserted by the cases above)."""
    assert len(CASES) >= 150
    assert len({c[0] for c in CASES}) == len(CASES)

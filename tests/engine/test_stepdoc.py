"""nncore.stepdoc: the stages of one documented training step — their order, the shapes in their
formulas, and that every number they show is the traced one (and satisfies the formula)."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN, Dropout, Flatten
from nncore import stepdoc as S

TINY_KEYS = [
    "batch", "forward-1", "forward-2", "loss",
    "backward-2-delta", "backward-2-params", "backward-1-delta", "backward-1-params",
    "update-1", "update-2",
]


@pytest.fixture
def tiny():
    model, x, y = S.tiny_setup(dataset="xor", hidden="tanh", optimizer="sgd", lr=0.5, seed=0)
    return model, x, y


def _arrays(stage: S.Stage) -> dict[str, np.ndarray]:
    return {a.symbol: a.values for a in stage.arrays}


def test_tiny_setup_is_a_2_3_2_softmax_classifier_on_four_points(tiny):
    model, x, y = tiny
    assert [l.params["weights"].shape for l in model.layers] == [(2, 3), (3, 2)]
    assert [l.activation_name for l in model.layers] == ["tanh", "softmax"]
    assert model.loss.name == "cse" and model.optimizer.name == "sgd"
    assert x.shape == (4, 2) and y.shape == (4,)
    assert np.all(np.abs(x) <= 1) and np.array_equal(x, np.round(x, 2))
    assert sorted(y.tolist()) == [0, 0, 1, 1]  # balanced batch


def test_stage_list_of_the_tiny_model(tiny):
    doc = S.describe_step(*tiny)
    assert [s.key for s in doc.stages] == TINY_KEYS
    assert [s.phase for s in doc.stages] == ["Batch", "Forward", "Forward", "Loss"] + ["Backward"] * 4 + ["Update"] * 2
    assert [s.title for s in doc.stages][:3] == ["The batch", "Forward · Dense 1", "Forward · Output"]
    for stage in doc.stages:
        assert stage.latex and stage.arrays and stage.text
        assert all(c.ok for c in stage.checks), [(c.text, c.max_diff) for c in stage.checks if not c.ok]
    # every stage but the batch proves its formula with at least one check
    assert all(s.checks for s in doc.stages if s.key != "batch")


def test_shapes_appear_in_the_formulas(tiny):
    doc = S.describe_step(*tiny)
    fwd1 = doc.stage("forward-1").latex[0]
    for part in (r"(4\times 3)}{Z^{(1)}}", r"(4\times 2)}{X}", r"(2\times 3)}{W^{(1)}}", r"(1\times 3)}{b^{(1)}}"):
        assert part in fwd1
    fwd2 = doc.stage("forward-2").latex[0]
    assert r"(4\times 3)}{A^{(1)}}" in fwd2 and r"(3\times 2)}{W^{(2)}}" in fwd2
    dw1 = doc.stage("backward-1-params").latex[0]
    assert r"(2\times 3)}{\frac{\partial L}{\partial W^{(1)}}}" in dw1 and r"(2\times 4)}{X^{\top}}" in dw1
    dw2 = doc.stage("backward-2-params").latex[0]
    assert r"(3\times 4)}{A^{(1)\top}}" in dw2  # a transposed activation, not a double superscript
    da1 = doc.stage("backward-1-delta").latex[0]
    assert r"(2\times 3)}{W^{(2)\top}}" in da1
    assert r"\frac{1}{n}" in doc.stage("backward-2-delta").latex[0]
    assert r"(3\times 2)}{W^{(2)}_{\text{new}}}" in " ".join(doc.stage("update-2").latex)


def test_numbers_are_the_traced_ones(tiny):
    model, x, y = tiny
    trace = model.trace_step(x, y)  # an independent trace of the same step
    doc = S.describe_step(model, x, y)
    hidden, out = trace["layers"]
    np.testing.assert_array_equal(_arrays(doc.stage("batch"))["X"], x)
    np.testing.assert_array_equal(_arrays(doc.stage("batch"))["Y"], np.eye(2)[y])
    f1 = _arrays(doc.stage("forward-1"))
    for sym, key in (("W^{(1)}", "weights"), ("b^{(1)}", "biases"), ("Z^{(1)}", "z"), ("A^{(1)}", "output")):
        np.testing.assert_array_equal(f1[sym], hidden[key])
    f2 = _arrays(doc.stage("forward-2"))
    np.testing.assert_array_equal(f2["A^{(2)}"], out["output"])
    assert doc.loss == trace["loss"]
    d2 = _arrays(doc.stage("backward-2-delta"))
    np.testing.assert_array_equal(d2[S._d("Z^{(2)}")], out["grad_z"])
    d1 = _arrays(doc.stage("backward-1-delta"))
    np.testing.assert_array_equal(d1[S._d("A^{(1)}")], hidden["grad_output"])
    np.testing.assert_array_equal(d1[S._d("Z^{(1)}")], hidden["grad_z"])
    # the derivative shown is tanh's, 1 − a², computed from the traced output
    np.testing.assert_allclose(d1["f'(Z^{(1)})"], 1 - hidden["output"] ** 2)
    assert [a.derived for a in doc.stage("backward-1-delta").arrays if a.symbol == "f'(Z^{(1)})"] == [True]
    p1 = _arrays(doc.stage("backward-1-params"))
    np.testing.assert_array_equal(p1[S._d("W^{(1)}")], hidden["grad_weights"])
    np.testing.assert_array_equal(p1[S._d("b^{(1)}")], hidden["grad_biases"])
    u1 = _arrays(doc.stage("update-1"))
    np.testing.assert_array_equal(u1[r"\Delta W^{(1)}"], hidden["update_weights"])
    np.testing.assert_array_equal(u1[r"W^{(1)}_{\text{new}}"], hidden["new_weights"])
    np.testing.assert_allclose(u1[r"\Delta W^{(1)}"], -0.5 * hidden["grad_weights"])  # sgd, lr 0.5


def test_describe_leaves_the_model_alone_unless_applied(tiny):
    model, x, y = tiny
    before = model.get_weights()
    doc = S.describe_step(model, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.t == 0
    applied = S.describe_step(model, x, y, apply=True)
    np.testing.assert_array_equal(model.layers[0].params["weights"], doc.trace["layers"][0]["new_weights"])
    assert applied.info["t"] == model.optimizer.t == 1
    assert applied.loss_after < applied.loss  # one step of gradient descent lowers the batch loss
    assert applied.loss_after == pytest.approx(model.evaluate(x, y)["loss"])


def test_worked_entries_use_the_actual_numbers(tiny):
    doc = S.describe_step(*tiny)
    rec = doc.trace["layers"][0]
    worked = doc.stage("forward-1").latex[2]
    assert worked.startswith(r"\begin{aligned}z^{(1)}_{11} &= ")  # two terms to a line: fits a phone
    assert worked.endswith("&= " + S.num(rec["z"][0, 0]) + r"\end{aligned}")
    assert S.pnum(rec["input"][0, 0]) in worked and S.pnum(rec["weights"][0, 0]) in worked
    loss_line = doc.stage("loss").latex[1]
    assert loss_line.count(r"\log") == 4 and loss_line.endswith(S.num(doc.loss) + r"\end{aligned}")
    assert S.worked("y", ["1", "2"], "3") == "y = 1 + 2 = 3"  # short sums stay on one line


@pytest.mark.parametrize("opt,state", [("momentum", ["B"]), ("adam", ["m", "v"]), ("rmsprop", ["V"]),
                                       ("adagrad", ["S"]), ("adamax", ["m", "u"]), ("adadelta", ["V", "U"]),
                                       ("sgd", []), ("iterative", [])])
def test_update_rule_and_state_match_the_optimizer(opt, state):
    model, x, y = S.tiny_setup(optimizer=opt, lr=0.05)
    for _ in range(3):  # non-trivial optimizer state
        model.trace_step(x, y, apply=True)
    doc = S.describe_step(model, x, y)
    stage = doc.stage("update-2")
    shown = [a.symbol for a in stage.arrays if "optimizer state" in a.label]
    assert shown == state * 2  # for the weights and for the biases
    assert len(stage.checks) == 4 and all(c.ok for c in stage.checks), [(c.text, c.max_diff) for c in stage.checks]
    assert f"step 4 of the optimizer ({opt})" in stage.text
    if opt == "adam":
        assert r"\hat m" in " ".join(stage.latex) and "t = 4" in " ".join(stage.latex)
        twin = model.copy()  # the stage shows torch's moments after the step
        twin.trace_step(x, y, apply=True)
        m_after, _ = twin.optimizer.moments()
        w = model.layers[1].params["weights"]
        start = w.ctypes.data - model._params.ctypes.data
        expected = m_after[start // 8 : start // 8 + w.size].reshape(w.shape)
        shown_m = [a.values for a in stage.arrays if a.symbol == "m"][0]  # the weights' (then the biases')
        np.testing.assert_array_equal(shown_m, expected)


def test_a_wrong_derivative_would_fail_its_check(tiny):
    """The checks really test the numbers: feed the stages a trace whose grad_z used the original
    design's derivative and the check of that stage fails."""
    model, x, y = S.tiny_setup(hidden="sigmoid")
    trace = S.trace_with_state(model, x, y)
    hidden = trace["layers"][0]
    a = hidden["output"]
    sig = 1 / (1 + np.exp(-a))
    hidden["grad_z"] = hidden["grad_output"] * sig * (1 - sig)  # σ(a)(1 − σ(a)): sigmoid applied twice
    stages = {s.key: s for s in S.stages_from_trace(trace, S.model_facts(model))}
    delta = stages["backward-1-delta"]
    assert [c.ok for c in delta.checks] == [True, False]
    assert "original" in delta.note and "a(1 − a)" in delta.note


def test_relu_and_sigmoid_stages_carry_the_note_on_the_original_derivatives():
    for hidden, deriv in (("relu", r"\mathbf{1}[Z^{(1)} > 0]"), ("sigmoid", r"A^{(1)}\odot(1 - A^{(1)})")):
        doc = S.describe_step(*S.tiny_setup(hidden=hidden))
        stage = doc.stage("backward-1-delta")
        assert deriv in " ".join(stage.latex)
        assert stage.note == S.ORIGINAL_DERIVATIVES_NOTE
    assert S.describe_step(*S.tiny_setup(hidden="tanh")).stage("backward-1-delta").note == ""


def test_dropout_l2_and_float32_model():
    rng = np.random.default_rng(0)
    m = NN(seed=0)
    m.add(FFL(5, 6, activation="relu", l2=0.01))
    m.add(Dropout(0.5))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="sgd", mr=0.9, loss="cse")
    x, y = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)
    m.train(x, y, epochs=1, batch_size=3, verbose=0)
    doc = S.describe_step(m, x, y)
    keys = [s.key for s in doc.stages]
    assert keys == ["batch", "forward-1", "forward-2", "forward-3", "loss", "backward-3-delta", "backward-3-params",
                    "backward-2", "backward-1-delta", "backward-1-params", "update-1", "update-3"]
    assert all(c.ok for s in doc.stages for c in s.checks), [(s.key, c.text) for s in doc.stages for c in s.checks if not c.ok]
    mask = _arrays(doc.stage("forward-2"))["M"]
    assert set(np.unique(mask)) <= {0.0, 1.0} and 0 < mask.sum() < mask.size
    np.testing.assert_array_equal(doc.trace["layers"][1]["output"], doc.trace["layers"][1]["input"] * mask * 2)
    assert r"\lVert W^{(l)}\rVert^2" in doc.stage("loss").latex[-1]  # the l2 penalty is part of the loss
    assert r"2\lambda\,W^{(1)}" in doc.stage("backward-1-params").latex[0]


def test_large_matrices_are_summarised():
    rng = np.random.default_rng(1)
    m = NN(seed=0)
    m.add(Flatten(input_shape=(1, 28, 28)))
    m.add(FFL(neurons=32, activation="sigmoid"))
    m.add(FFL(neurons=10, activation="linear"))
    m.compile_model(lr=0.01, opt="adam", loss="mse")
    doc = S.describe_step(m, rng.random((4, 1, 28, 28)), rng.normal(size=(4, 10)))
    assert all(c.ok for s in doc.stages for c in s.checks)
    w = _arrays(doc.stage("forward-2"))["W^{(2)}"]
    assert w.shape == (784, 32) and not S.is_small(w)
    summary = S.summarize(w)
    assert summary["shape"] == (784, 32) and summary["corner"].shape == (S.CORNER, S.CORNER)
    assert summary["min"] == pytest.approx(float(w.min())) and summary["mean"] == pytest.approx(float(w.mean()))
    assert S.is_small(np.zeros((4, 3))) and S.is_small(np.zeros(10)) and not S.is_small(np.zeros((2, 2, 2)))


def test_helpers_format_shapes_and_numbers():
    assert S.shape_text((4, 3)) == "4×3" and S.shape_text((3,)) == "1×3"
    assert S.sized("W", (2, 3)) == r"\underset{(2\times 3)}{W}"
    assert S.num(-0.123456) == "-0.1235" and S.pnum(-0.5) == "(-0.5)" and S.pnum(0.5) == "0.5"
    assert S.num(1.5e-7) == r"1.5\cdot 10^{-7}"


def test_pick_batch_balances_classes_and_rejects_bad_sizes():
    y = np.array([0] * 10 + [1] * 3)
    idx = S.pick_batch(y, 4, draw=0)
    assert len(set(idx.tolist())) == 4 and sorted(y[idx].tolist()) == [0, 0, 1, 1]
    assert any(not np.array_equal(S.pick_batch(y, 4, draw=d), idx) for d in range(1, 5))  # New batch draws anew
    assert sorted(y[S.pick_batch(y, 13)].tolist()) == sorted(y.tolist())
    with pytest.raises(ValueError, match="size must be an integer from 1 to 13"):
        S.pick_batch(y, 0)
    with pytest.raises(ValueError, match="dataset must be one of"):
        S.tiny_points("mnist")


class ChannelScale(__import__("nncore").Layer):
    """A stand-in for the coming Conv2d: 4-D weights (C, 1, 1, 1) that scale each channel."""

    label = "Scale"

    def __init__(self, input_shape=None, activation=None):
        super().__init__(input_shape, activation)

    def init_params(self, rng, dtype):
        return {"weights": rng.uniform(0.5, 1.5, size=(self.input_shape[0], 1, 1, 1))}

    def forward_z(self, x, training):
        self._x = x
        return self.apply_z(x)

    def apply_z(self, x):
        return x * self.params["weights"].reshape(1, -1, 1, 1)

    def backward_z(self, grad_z, need_input_grad=True):
        self.grads["weights"][...] = np.sum(grad_z * self._x, axis=(0, 2, 3)).reshape(self.grads["weights"].shape)
        return grad_z * self.params["weights"].reshape(1, -1, 1, 1) if need_input_grad else None

    def get_config(self):
        return {"input_shape": list(self.input_shape), "activation": self.activation_name}


def test_other_layer_types_get_summaries_not_formulas():
    rng = np.random.default_rng(2)
    m = NN(seed=0, dtype="float64")
    m.add(ChannelScale(input_shape=(2, 3, 3), activation="relu"))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="adam", loss="cse")
    doc = S.describe_step(m, rng.normal(size=(4, 2, 3, 3)), np.array([0, 1, 2, 0]))
    keys = [s.key for s in doc.stages]
    assert keys == ["batch", "forward-1", "forward-2", "forward-3", "loss", "backward-3-delta", "backward-3-params",
                    "backward-2", "backward-1", "update-1", "update-3"]
    conv = doc.stage("forward-1")
    assert "not its formula" in conv.text and r"\xrightarrow{\text{Scale 1}}" in conv.latex[0]
    w = _arrays(conv)["W^{(1)}"]
    assert w.shape == (2, 1, 1, 1) and not S.is_small(w)  # 4-D: summarised
    assert r"\underset{(4\times 2\times 3\times 3)}{X}" in conv.latex[0]
    flat = _arrays(doc.stage("backward-2"))
    np.testing.assert_array_equal(flat[S._d("A^{(1)}")], doc.trace["layers"][0]["grad_output"])
    back = doc.stage("backward-1")  # the first layer: its parameter gradients, nothing flows into X
    np.testing.assert_array_equal(_arrays(back)[S._d("W^{(1)}")], doc.trace["layers"][0]["grad_weights"])
    assert S._d("X") not in _arrays(back) and "summarised below" in back.latex[0]
    update = doc.stage("update-1")
    assert r"(2\times 1\times 1\times 1)}{W^{(1)}_{\text{new}}}" in " ".join(update.latex)
    assert all(c.ok for c in update.checks) and len(update.checks) == 2
    np.testing.assert_array_equal(_arrays(update)[r"\Delta W^{(1)}"], doc.trace["layers"][0]["update_weights"])

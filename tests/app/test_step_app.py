"""AppTest (headless Streamlit) of the "One step, every number" page (pages/step.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from nncore import stepdoc as SD
from tests.app_util import run_page, texts

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "step.py")
STAGES = [
    ("batch", "The batch"),
    ("forward-1", "Forward · Dense 1"),
    ("forward-2", "Forward · Output"),
    ("loss", "The loss"),
    ("backward-2-delta", "Backward · Output: ∂L/∂Z"),
    ("backward-2-params", "Backward · Output: ∂L/∂W, ∂L/∂b"),
    ("backward-1-delta", "Backward · Dense 1: ∂L/∂Z"),
    ("backward-1-params", "Backward · Dense 1: ∂L/∂W, ∂L/∂b"),
    ("update-1", "Update · Dense 1"),
    ("update-2", "Update · Output"),
]


def _title(at: AppTest) -> str:
    return at.subheader[-1].value


def _latex(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.latex)


def _next(at: AppTest) -> AppTest:
    at.button(key="step_next").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_first_stage_shows_the_batch_with_formula_and_tables():
    at = run_page(PAGE)
    assert at.title[0].value == "One step, every number"
    assert at.session_state["step_stage"] == "batch" and _title(at) == "The batch"
    assert r"\underset{(4\times 2)}{X}" in _latex(at)
    assert len(at.table) == 2  # X and Y, whole
    assert at.button(key="step_back").disabled and not at.button(key="step_next").disabled
    assert "stage 1 of 10" in texts(at)


def test_next_walks_every_stage_to_the_update_and_back_returns():
    at = run_page(PAGE)
    model = at.session_state["step_model"]
    for key, title in STAGES[1:]:
        _next(at)
        assert at.session_state["step_stage"] == key
        assert _title(at) == title
        assert len(at.latex) >= 1 and len(at.table) >= 2, key
        captions = "\n".join(c.value for c in at.caption)
        assert ":red[✗]" not in captions and ":green[✓]" in captions, key  # every check of the stage holds
    latex = _latex(at)
    assert r"\Delta W^{(2)} = -\eta\,\frac{\partial L}{\partial W^{(2)}},\quad \eta = 0.5" in latex
    assert r"\underset{(3\times 2)}{W^{(2)}_{\text{new}}}" in latex
    assert at.button(key="step_next").disabled
    assert "stage 10 of 10" in texts(at)
    at.button(key="step_back").click().run()
    assert at.session_state["step_stage"] == "update-1" and _title(at) == "Update · Dense 1"
    # walking does not train: the page's model still has its initial weights
    assert at.session_state["step_model"] is model and model.optimizer.t == 0


def test_forward_and_backward_stages_show_shapes_and_the_correct_derivative():
    at = run_page(PAGE, step_stage="forward-1")
    latex = _latex(at)
    assert r"\underset{(4\times 3)}{Z^{(1)}} = \underset{(4\times 2)}{X}\,\underset{(2\times 3)}{W^{(1)}} + \underset{(1\times 3)}{b^{(1)}}" in latex
    assert r"\tanh(Z^{(1)})" in latex
    at.selectbox(key="step_stage").set_value("backward-1-delta").run()
    assert _title(at) == "Backward · Dense 1: ∂L/∂Z"
    assert r"f'(Z^{(1)}) = 1 - A^{(1)}\odot A^{(1)}" in _latex(at)
    assert not at.info  # tanh's derivative was right in the original
    at.selectbox(key="step_hidden").set_value("sigmoid").run()
    assert r"f'(Z^{(1)}) = A^{(1)}\odot(1 - A^{(1)})" in _latex(at)
    assert "original" in at.info[0].value and "a(1 − a)" in at.info[0].value


def test_apply_changes_the_weights_by_the_shown_update():
    at = run_page(PAGE, step_stage="update-1")
    model = at.session_state["step_model"]
    x, y = SD.tiny_setup()[1:]
    expected = model.trace_step(x, y)["layers"][0]["new_weights"]
    before = model.layers[0].params["weights"].copy()
    at.button(key="step_apply").click().run()
    assert not at.exception
    after = at.session_state["step_model"].layers[0].params["weights"]
    assert not np.array_equal(after, before)
    np.testing.assert_array_equal(after, expected)
    assert at.session_state["step_stage"] == "update-1"  # the walk stays where it was
    assert "Steps applied: 1" in texts(at)
    assert "step 2 of the optimizer (sgd)" in texts(at)  # the page now shows the next step
    losses = at.session_state["step_losses"]
    assert len(losses) == 2 and losses[1] < losses[0]
    at.button(key="step_apply").click().run()
    assert "Steps applied: 2" in texts(at)


def test_new_batch_and_reset():
    at = run_page(PAGE)
    first = at.table[0].value.to_numpy(dtype=float)
    at.button(key="step_new_batch").click().run()
    assert at.session_state["step_draw"] == 1
    second = at.table[0].value.to_numpy(dtype=float)
    assert second.shape == first.shape == (4, 2) and not np.array_equal(first, second)
    at.button(key="step_apply").click().run()
    assert at.session_state["step_model"].optimizer.t == 1
    at.button(key="step_reset").click().run()
    assert at.session_state["step_model"].optimizer.t == 0
    assert "No step applied yet" in texts(at)


def test_adam_shows_its_moments_and_suggests_a_learning_rate():
    at = run_page(PAGE, step_stage="update-2")
    at.selectbox(key="step_opt").set_value("adam").run()
    assert at.session_state["step_lr"] == 0.05
    assert at.session_state["step_model"].optimizer.name == "adam"
    latex = _latex(at)
    assert r"\hat m = \frac{m}{1-\beta_1^{t}}" in latex and "t = 1" in latex
    labels = texts(at)
    assert "m for W⁽²⁾ after this step (optimizer state)" in labels
    assert "v for W⁽²⁾ after this step (optimizer state)" in labels
    at.button(key="step_apply").click().run()
    assert "t = 2" in _latex(at)


def test_heatmaps_view_draws_plotly_heatmaps():
    at = run_page(PAGE, step_stage="forward-1")
    at.radio(key="step_view").set_value("Heatmaps").run()
    assert not at.exception
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 5 and not at.table  # X, W, b, Z, A
    assert all(c["data"][0]["type"] == "heatmap" for c in charts)
    z = np.array(charts[0]["data"][0]["z"])
    assert z.shape == (4, 2)


def _render_bigger_model():
    import numpy as np

    from nncore import FFL, NN, Flatten
    from pages.step import render_step

    m = NN(seed=0)
    m.add(Flatten(input_shape=(1, 28, 28)))
    m.add(FFL(neurons=32, activation="relu"))
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=0.01, opt="momentum", loss="cse")
    rng = np.random.default_rng(0)
    render_step(m, rng.random((4, 1, 28, 28)).astype("float32"), np.array([3, 1, 4, 1]), key="big")


def test_render_step_summarises_a_larger_model():
    at = AppTest.from_function(_render_bigger_model, default_timeout=60)
    at.session_state["big_stage"] = "forward-2"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert _title(at) == "Forward · Dense 1"
    assert r"\underset{(784\times 32)}{W^{(2)}}" in _latex(at)
    captions = "\n".join(c.value for c in at.caption)
    assert "min " in captions and "the top-left 4×4 entries" in captions
    assert ":red[✗]" not in captions  # float32 checks hold within float32 rounding
    at.selectbox(key="big_stage").set_value("backward-2-delta").run()
    assert r"\mathbf{1}[Z^{(2)} > 0]" in _latex(at) and "original" in at.info[0].value


def test_render_step_explains_a_model_it_cannot_trace():
    def page():
        from nncore import FFL, NN
        from pages.step import render_step

        m = NN(seed=0)
        m.add(FFL(2, 2, activation="softmax"))  # not compiled
        render_step(m, [[0.0, 1.0]], [1])

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    assert "cannot be shown" in at.warning[0].value and "compile_model" in at.warning[0].value


def test_importing_the_page_runs_no_page_code():
    import pages.step as page

    assert callable(page.render_step) and callable(page.main)
    assert page.TINY_LR["sgd"] in page.LR_CHOICES and all(v in page.LR_CHOICES for v in page.TINY_LR.values())

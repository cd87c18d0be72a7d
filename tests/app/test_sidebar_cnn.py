"""AppTest of the sidebar's CNN builder: conv blocks added and removed, the summary following,
impossible shapes explained next to the block with Start disabled, and a CNN spec read back exactly."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from streamlit.testing.v1 import AppTest

from nncore import Conv2d, Pool2d, datasets
from nncore.studio import spec
from nncore.studio.spec import ConvBlock, HiddenLayer
from tests.app_util import run_page

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "pages" / "train.py")


def summary_line(at: AppTest) -> str:
    return [m.value for m in at.sidebar.markdown if "parameters" in str(m.value)][0]


def _in_order(node) -> list:
    """Values and labels of every element under ``node``, top to bottom."""
    out = []
    children = getattr(node, "children", None)
    for child in (children.values() if isinstance(children, dict) else children or []):
        if getattr(child, "children", None):
            out += _in_order(child)
        else:
            out.append(getattr(child, "label", None) or getattr(child, "value", None))
    return out


def add_conv(at: AppTest) -> None:
    [b for b in at.sidebar.button if b.label == "Add conv block"][0].click().run()


def cnn_page() -> AppTest:
    at = run_page(TRAIN)
    at.radio(key="cfg_kind").set_value("cnn").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_switching_to_a_cnn_builds_conv_blocks_then_the_dense_head():
    at = cnn_page()
    assert "784-conv16-maxpool-conv32-maxpool-128-64-10" in summary_line(at)
    df = at.sidebar.table[0].value
    assert list(df["Output shape"]) == ["(16, 28, 28)", "(16, 14, 14)", "(32, 14, 14)", "(32, 7, 7)", "(1568,)",
                                        "(128,)", "(64,)", "(10,)"]
    model = at.session_state["studio"].model  # the untrained model follows the sidebar
    assert isinstance(model.layers[0], Conv2d) and isinstance(model.layers[1], Pool2d)
    assert f"{model.total_parameters:,} parameters" in summary_line(at)
    assert model.layers[0].weights.shape == (16, 1, 3, 3)
    # back to dense: the dense network again, the conv blocks kept for later
    at.radio(key="cfg_kind").set_value("dense").run()
    assert "784-128-64-10" in summary_line(at) and at.session_state["cfg_C1_f"] == 32


def test_adding_and_removing_conv_blocks_changes_shapes_and_parameters():
    at = cnn_page()
    before = at.session_state["studio"].model.total_parameters
    add_conv(at)  # twice the filters of the last block, same kernel and pooling
    assert "conv32-maxpool-conv64-maxpool-128" in summary_line(at)
    df = at.sidebar.table[0].value
    assert "(64, 3, 3)" in list(df["Output shape"]) and "(576,)" in list(df["Output shape"])
    after = at.session_state["studio"].model.total_parameters
    assert after != before and f"{after:,} parameters" in summary_line(at)
    at.selectbox(key="cfg_C2_k").set_value(5).run()
    at.selectbox(key="cfg_C2_pool").set_value("avg").run()
    assert "conv64-avgpool" in summary_line(at)
    assert at.session_state["studio"].model.layers[4].kernel_size == (5, 5)
    at.sidebar.button(key="rm_C0").click().run()  # the first block goes: 32 filters now see the image
    assert "784-conv32-maxpool-conv64-avgpool-128-64-10" in summary_line(at)
    assert at.session_state["studio"].model.layers[0].weights.shape == (32, 1, 3, 3)
    at.number_input(key="cfg_C1_f").set_value(8).run()
    assert "784-conv8-maxpool" in summary_line(at)


def test_too_many_poolings_are_explained_next_to_the_block_and_start_is_disabled():
    at = cnn_page()
    for _ in range(2):
        add_conv(at)
    assert not at.sidebar.error and not at.button(key="btn_start").disabled  # 28 → 14 → 7 → 3 → 1
    add_conv(at)  # a fifth 2×2 pooling on 1×1 maps
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and errors[0].startswith("Conv block 5: its 2×2 pooling needs maps of at least 2×2")
    assert "28 → 14 → 7 → 3 → 1" in errors[0]
    assert at.button(key="btn_start").disabled
    assert "Fix the settings marked in red" in " ".join(c.value for c in at.sidebar.caption)
    # the error sits right under block 5's row, before the Add conv block button
    texts = _in_order(at.sidebar)
    assert texts.index("Conv 5 pooling") < texts.index(errors[0]) < texts.index("Add conv block")
    at.selectbox(key="cfg_C4_pool").set_value("none").run()
    assert not at.sidebar.error and not at.button(key="btn_start").disabled
    assert "conv256-128" in summary_line(at)


def _pretrained_cnn_config() -> dict:
    """The architecture of the shipped CNN, as models/train_cnn.py builds it (no training needed)."""
    path = ROOT / "models" / "train_cnn.py"
    mod_spec = importlib.util.spec_from_file_location("train_cnn", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    from nncore import load_model

    return load_model(mod.build().to_json().encode()).get_config()  # through a model file, as an upload


def _show_then_render(config: dict) -> None:
    """An app that shows ``config`` in the sidebar once (as loading a model file does), then renders it."""
    import streamlit as st

    from pages.ui import sidebar

    if "shown" not in st.session_state:
        sidebar.init_widget_state()
        st.session_state["shown"] = sidebar.show_config(config)
    st.session_state["result"] = sidebar.render_sidebar().config


def test_a_cnn_read_from_a_file_shows_in_the_sidebar_exactly():
    config = _pretrained_cnn_config()
    v = spec.read_network(config)
    convs = [l["config"] for l in config["layers"] if l["type"] == "Conv2d"]  # whatever train_cnn.py builds
    assert len(convs) == 2 and v.conv == tuple(ConvBlock(c["filters"], 3, "max") for c in convs)
    assert v.flatten_dropout == 0.3 and v.hidden == (HiddenLayer(128, "relu", 0.3),)
    at = AppTest.from_function(_show_then_render, args=(config,), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["shown"] is True
    assert at.radio(key="cfg_kind").value == "cnn"
    shown = at.session_state["result"]
    assert spec.same_architecture(shown, config)
    assert spec.read_network(shown) == v  # every value, the learning rate and seed included
    assert [at.session_state[f"cfg_C{i}_f"] for i in at.session_state["conv_ids"]] == [c["filters"] for c in convs]
    assert at.selectbox(key="cfg_flat_drop").value == 0.3


def test_cnn_spec_round_trip_and_what_the_sidebar_cannot_show():
    ds = datasets.get("mnist")
    cfg = spec.cnn_config(blocks=[ConvBlock(4, 5, "avg"), ConvBlock(6, 1, "none")], conv_activation="tanh",
                          flatten_dropout=0.1, input_shape=ds.input_shape, transform=ds.transform, outputs=10,
                          hidden=[], output_activation="softmax", loss="cse", optimizer="sgd", lr=0.02,
                          momentum=0.8, seed=5, l2=0.001)
    model = spec.build(cfg)
    assert [l.l2 for l in model.layers if l.trainable] == [0.001] * 3  # the conv kernels too
    back = model.get_config()
    assert spec.same_architecture(cfg, back) and spec.validate(cfg) == {}
    v = spec.read_cnn(back)
    assert (v.conv, v.conv_activation, v.flatten_dropout, v.hidden) == (
        (ConvBlock(4, 5, "avg"), ConvBlock(6, 1, "none")), "tanh", 0.1, ())
    assert (v.optimizer, v.lr, v.momentum, v.seed, v.kind, v.l2) == ("sgd", 0.02, 0.8, 5, "cnn", 0.001)
    strided = spec.build(cfg)
    other = strided.get_config()
    other["layers"][0]["config"]["stride"] = [2, 2]
    import pytest

    with pytest.raises(spec.SpecError, match="stride 1"):
        spec.read_network(other)

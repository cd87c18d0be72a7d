"""AppTest: a CNN built in the sidebar trains from the Train page like a dense one (start, pause,
resume, stop, +1 epoch, results), and its live filters show on the Inspect page while it trains."""
from __future__ import annotations

import time
from pathlib import Path

from nncore import Conv2d
from nncore.studio import run as R
from tests.app_util import run_page, texts

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "pages" / "train.py")
INSPECT = str(ROOT / "pages" / "inspect.py")


def wait_for(pred, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def small_cnn_page():
    """The Train page with a small CNN in the sidebar: one block of 4 filters, one dense layer of 16."""
    at = run_page(TRAIN)
    at.radio(key="cfg_kind").set_value("cnn").run()
    at.sidebar.button(key="rm_C1").click().run()
    at.number_input(key="cfg_C0_f").set_value(4).run()
    at.sidebar.button(key="rm_L1").click().run()
    at.number_input(key="cfg_L0_n").set_value(16).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_cnn_trains_pauses_stops_and_continues_like_a_dense_one():
    at = small_cnn_page()
    s = at.session_state["studio"]
    assert isinstance(s.model.layers[0], Conv2d)
    # a run no machine finishes during the test (100 epochs of one-image batches); the test stops it
    at.select_slider(key="cfg_n_samples").set_value(60_000).run()
    at.selectbox(key="cfg_batch").set_value(1).run()
    at.number_input(key="cfg_epochs").set_value(100).run()
    at.button(key="btn_start").click().run()
    try:
        assert s.run.state == R.RUNNING
        assert wait_for(lambda: s.run.progress().step > 3), "the CNN did not train"
        at.button(key="btn_pause").click().run()
        assert s.run.state == R.PAUSED and at.button(key="btn_pause").label == "Resume"
        # the Inspect page shows the live filters of the paused run's snapshot
        ins = run_page(INSPECT, s)
        assert ins.radio(key="inspect_model").value == "session"
        t = texts(ins)
        assert "training now" in t and "Conv 1 (4 filters 3×3, relu)" in t
        assert "The network is training: the filters update every few seconds." in t
        assert len(ins.get("image")) >= 1
        at.button(key="btn_pause").click().run()
        assert s.run.state == R.RUNNING
        at.button(key="btn_stop").click().run()
        assert s.run.join(10)
        at.run()
        assert s.run.state == R.STOPPED and s.has_learned
        assert any("kept" in i.value for i in at.info)
    finally:
        if s.run is not None:
            s.run.stop()
            s.run.join(10)
    # +1 epoch on a small set: the run ends and the results show
    at.select_slider(key="cfg_n_samples").set_value(1_000).run()
    at.selectbox(key="cfg_batch").set_value(64).run()
    steps = len(s.model.batch_history["loss"])
    at.button(key="btn_plus1").click().run()
    assert s.run.join(120), "one epoch of 900 images did not finish"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert s.run.state == R.FINISHED and len(s.model.batch_history["loss"]) == steps + 15  # 900 / 64 → 15 batches
    assert "Results on the test set" in [h.value for h in at.subheader]
    acc = [m for m in at.metric if m.label == "Test accuracy"][0].value
    assert acc.endswith("%")
    assert "784-conv4-maxpool-16-10" in texts(at)
    # the trained CNN on the other pages: its layers named in the training dynamics, its run listed
    ins = run_page(INSPECT, s)
    assert "Weight and gradient size per layer" in texts(ins)
    import json

    dynamics = json.dumps([json.loads(c.proto.spec) for c in ins.get("plotly_chart")], ensure_ascii=False)
    assert "Conv 1 (4 filters 3×3, relu)" in dynamics
    runs = run_page(str(ROOT / "pages" / "runs.py"), s)
    table = "\n".join(str(d.value.to_dict()) for d in runs.dataframe)
    assert "784-conv4-maxpool-16-10" in table and "conv 4 3×3 + max pool" in table

"""AppTest of the Draw and Inspect pages with a pretrained CNN shipped (a small one trained here
stands in for models/mnist_cnn.json): the CNN is the default, says its test accuracy, reads a
drawing; the MLP stays selectable; Inspect offers both."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nncore import NN, Conv2d, FFL, Flatten, Pool2d, datasets
from pages.ui import data as ui_data
from pages.ui.state import Studio
from tests.app_util import run_page, texts
from tests.app.test_app_pages import canvas_value, rgba_from_digit

ROOT = Path(__file__).resolve().parents[2]
DRAW = str(ROOT / "pages" / "draw.py")
INSPECT = str(ROOT / "pages" / "inspect.py")


@pytest.fixture(scope="module")
def small_cnn():
    ds = datasets.get("mnist")
    m = NN(seed=0, input_transform=ds.transform)
    m.add(Conv2d(input_shape=ds.input_shape, filters=4, kernel_size=3, padding="same", activation="relu"))
    m.add(Pool2d(2))
    m.add(Flatten())
    m.add(FFL(neurons=10, activation="softmax"))
    m.compile_model(lr=3e-3, opt="adam", loss="cse", metrics=["accuracy"])
    m.train(ds.x[:3000], ds.y[:3000], epochs=1, batch_size=32, verbose=0)
    return m


@pytest.fixture()
def shipped(small_cnn, tmp_path, monkeypatch):
    path = tmp_path / "mnist_cnn.json"
    small_cnn.save_model(path, include_optimizer=False)
    monkeypatch.setattr(ui_data, "PRETRAINED_CNN_PATH", path)
    return small_cnn


def test_draw_uses_the_pretrained_cnn_by_default_and_says_so(shipped):
    ds = datasets.get("mnist")
    acc = shipped.evaluate(ds.x_test, ds.y_test)["accuracy"]
    probs = shipped.predict(ds.x_test[:200])
    i = int(np.flatnonzero((probs.argmax(1) == ds.y_test[:200]) & (probs.max(1) > 0.9))[0])
    at = run_page(DRAW, Studio())
    radio = at.radio(key="draw_model")
    assert radio.value == "cnn" and radio.options == ["Pretrained CNN", "Pretrained MLP", "Your model"]
    assert f"Pretrained CNN, {100 * acc:.2f} % on MNIST's test set." in [c.value for c in at.caption]
    at.session_state["canvas_0"] = canvas_value(rgba_from_digit(ds.x_test[i]))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [m.value for m in at.metric if m.label == "Prediction"] == [str(int(ds.y_test[i]))]
    # the MLP stays selectable, with a stable label
    at.radio(key="draw_model").set_value("mlp").run()
    assert not at.exception
    assert any(c.value.startswith("Pretrained MLP, ") for c in at.caption)
    assert not any("is missing" in c.value for c in at.caption)


def test_inspect_offers_the_pretrained_cnn_with_its_filters_and_feature_maps(shipped):
    at = run_page(INSPECT, Studio(), inspect_source="test")
    radio = at.radio(key="inspect_model")
    assert radio.value == "cnn"  # the untrained session model is not the default
    assert radio.options == ["Your model", "Pretrained CNN", "Pretrained MLP"]
    t = texts(at)
    assert "Pretrained CNN: 784-conv4-maxpool-10" in t
    assert "Inside the convolutions: feature maps for this digit" in t
    assert "all 4 filters, one tile each (the input has one channel)" in t.lower()
    assert len(at.get("image")) == 4  # Filters tab: 1; the digit: kernels, feature maps, pooled maps
    assert "most active first-layer units" not in t  # dense-only view
    at.radio(key="inspect_model").set_value("mlp").run()
    assert not at.exception
    assert "What each first-layer unit looks for" in texts(at)
    assert not [i for i in at.get("image") if not i.proto.imgs[0].caption.startswith("unit ")]  # no CNN pictures

"""The shipped pretrained models (the MLP and the CNN): accuracy, size, and reading MNIST digits drawn
on a canvas. The CNN's tests skip until models/mnist_cnn.json is built (python models/train_cnn.py)."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import PRETRAINED_MODEL_PATH, load_model, load_pretrained
from nncore.datasets import load_mnist, scale
from nncore.preprocess import canvas_to_mnist
from nncore.studio.data import as_raw_image
from tests.engine.test_preprocess import synth  # the synthetic-drawing generator shared with the preprocessing tests

N_DRAWINGS = 1000
CNN_PATH = PRETRAINED_MODEL_PATH.parent / "mnist_cnn.json"


@pytest.fixture(scope="module")
def model():
    return load_pretrained()


@pytest.fixture(scope="module")
def test_set():
    _, (x_test, y_test) = load_mnist(verify=False)
    return x_test, y_test


@pytest.fixture(scope="module")
def cnn():
    if not CNN_PATH.is_file():
        pytest.skip(f"{CNN_PATH.name} is not built yet: python models/train_cnn.py")
    return load_model(CNN_PATH)


@pytest.fixture(scope="module")
def drawings(test_set):
    """MNIST test digits drawn ×5–×12 into a 280×280 canvas at random offsets, with thicker or
    thinner strokes, through canvas_to_mnist: (indices, preprocessed drawings)."""
    x, _ = test_set
    rng = np.random.default_rng(1)
    idx = rng.choice(len(x), N_DRAWINGS, replace=False)
    return idx, [canvas_to_mnist(synth(d, rng)) for d in x[idx]]


def test_pretrained_file_is_small_and_accurate(model, test_set):
    assert PRETRAINED_MODEL_PATH.stat().st_size <= 5 * 1024 * 1024
    x, y = test_set
    assert model.evaluate(scale(x), y)["accuracy"] >= 0.980


def test_canvas_drawings_are_read_nearly_as_well_as_the_originals(model, test_set, drawings):
    """The drawings must be read within 1.5 points of the model's accuracy on the same original digits."""
    x, y = test_set
    idx, prepared = drawings
    originals = scale(x[idx])
    drawn = np.stack([p.vector for p in prepared])
    acc_original = float(np.mean(model.predict(originals).argmax(1) == y[idx]))
    acc_drawn = float(np.mean(model.predict(drawn).argmax(1) == y[idx]))
    print(f"pretrained accuracy: original {acc_original:.4f}, drawn on canvas {acc_drawn:.4f}")
    assert acc_drawn >= acc_original - 0.015
    assert drawn.dtype == originals.dtype and drawn.min() >= 0 and drawn.max() <= 1


def test_pretrained_cnn_is_small_and_accurate(cnn, test_set):
    """≥ 99.3 % on MNIST's test set, ≤ 5 MB (its load time is printed by bench/load_mnist.py)."""
    assert CNN_PATH.stat().st_size <= 5 * 1024 * 1024
    assert type(cnn.layers[0]).__name__ == "Conv2d"
    x, y = test_set
    acc = cnn.evaluate(x, y)["accuracy"]  # raw uint8 images: the model carries MNIST's input transform
    print(f"pretrained CNN test accuracy {acc:.4f}, {CNN_PATH.stat().st_size / 1e6:.2f} MB")
    assert acc >= 0.993


def test_pretrained_cnn_reads_canvas_drawings_at_least_as_well_as_the_mlp(cnn, model, test_set, drawings):
    """The same 1000 synthetic drawings, each model fed as the Draw page feeds it (the CNN the
    drawing as grey levels 0-255, like MNIST's images)."""
    _, y = test_set
    idx, prepared = drawings
    acc_mlp = float(np.mean(model.predict(np.stack([p.vector for p in prepared])).argmax(1) == y[idx]))
    raw = np.stack([as_raw_image(p.image) for p in prepared])
    acc_cnn = float(np.mean(cnn.predict(raw).argmax(1) == y[idx]))
    print(f"drawn on canvas: MLP {acc_mlp:.4f}, CNN {acc_cnn:.4f}")
    assert acc_cnn >= acc_mlp

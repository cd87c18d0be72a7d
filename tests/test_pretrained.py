"""The shipped pretrained model: accuracy, size, and reading MNIST digits drawn on a canvas."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import PRETRAINED_MODEL_PATH, load_pretrained
from nncore.datasets import load_mnist, scale
from nncore.preprocess import canvas_to_mnist
from test_preprocess import synth  # the synthetic-drawing generator shared with the preprocessing tests

N_DRAWINGS = 1000


@pytest.fixture(scope="module")
def model():
    return load_pretrained()


@pytest.fixture(scope="module")
def test_set():
    _, (x_test, y_test) = load_mnist(verify=False)
    return x_test, y_test


def test_pretrained_file_is_small_and_accurate(model, test_set):
    assert PRETRAINED_MODEL_PATH.stat().st_size <= 5 * 1024 * 1024
    x, y = test_set
    assert model.evaluate(scale(x), y)["accuracy"] >= 0.980


def test_canvas_drawings_are_read_nearly_as_well_as_the_originals(model, test_set):
    """MNIST test digits drawn ×5–×12 into a 280×280 canvas at random offsets, with thicker or
    thinner strokes, go through canvas_to_mnist and must be read within 1.5 points of the
    model's accuracy on the same original digits."""
    x, y = test_set
    rng = np.random.default_rng(1)
    idx = rng.choice(len(x), N_DRAWINGS, replace=False)
    originals = scale(x[idx])
    drawn = np.stack([canvas_to_mnist(synth(d, rng)).vector for d in x[idx]])
    acc_original = float(np.mean(model.predict(originals).argmax(1) == y[idx]))
    acc_drawn = float(np.mean(model.predict(drawn).argmax(1) == y[idx]))
    print(f"pretrained accuracy: original {acc_original:.4f}, drawn on canvas {acc_drawn:.4f}")
    assert acc_drawn >= acc_original - 0.015
    assert drawn.dtype == originals.dtype and drawn.min() >= 0 and drawn.max() <= 1

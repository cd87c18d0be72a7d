"""nncore.studio.swap: a parked model's arrays on disk and back, exactly."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nncore import FFL, NN, Conv2d, Flatten, Pool2d
from nncore.studio import swap

ROOT = Path(__file__).resolve().parents[2]


def cnn() -> NN:
    m = NN(seed=3)
    m.add(Conv2d(input_shape=(1, 8, 8), filters=2, kernel_size=3, padding="same", activation="relu"))
    m.add(Pool2d(2))
    m.add(Flatten())
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=1e-2, opt="adam", loss="cse", metrics=["accuracy"])
    return m


def data():
    rng = np.random.default_rng(0)
    return rng.random((64, 1, 8, 8), dtype=np.float32), rng.integers(0, 3, 64)


def test_swap_out_and_in_restores_weights_and_optimizer_state_exactly(tmp_path):
    m = cnn()
    x, y = data()
    m.train(x, y, epochs=1, batch_size=16, verbose=0)
    weights = [w.copy() for w in m.get_weights()]
    state = {k: v.copy() for k, v in m.optimizer.state.items()}
    t = m.optimizer.t
    path = swap.swap_out(m, tmp_path)
    assert path is not None and path.exists() and swap.swapped(m)
    assert m._params is None and all(v is None for layer in m.layers for v in layer.params.values())
    assert swap.swap_out(m, tmp_path) is None  # once
    assert swap.swap_in(m) and not swap.swapped(m) and not path.exists()
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))
    assert set(state) == set(m.optimizer.state) and all(np.array_equal(state[k], m.optimizer.state[k]) for k in state)
    assert m.optimizer.t == t
    assert not swap.swap_in(m)  # nothing to read back
    # the layers are views of the model's flat buffer again: training continues from exactly there
    twin = cnn()
    twin.set_weights(weights)
    twin.optimizer.load_state_dict({"t": t, "buffers": state})
    twin.rng.bit_generator.state = m.rng.bit_generator.state
    m.train(x, y, epochs=1, batch_size=16, verbose=0)
    twin.train(x, y, epochs=1, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), m.get_weights()))


def test_a_model_that_never_trained_swaps_too(tmp_path):
    m = cnn()
    weights = [w.copy() for w in m.get_weights()]
    assert swap.swap_out(m, tmp_path) is not None
    assert swap.swap_in(m)
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))
    assert m.optimizer.state == {}


def test_the_file_goes_when_the_parked_model_is_dropped(tmp_path):
    m = cnn()
    path = swap.swap_out(m, tmp_path)
    assert path.exists()
    del m
    gc.collect()
    assert not path.exists()


def test_the_default_folder_is_private():
    assert oct(swap.folder().stat().st_mode & 0o777) == "0o700"


def test_the_folder_goes_when_the_server_exits(tmp_path):
    """A server that swapped work out and then exits leaves no folder behind in the temporary directory."""
    code = (
        "import sys; from nncore.studio import swap; from tests.studio.test_swap import cnn\n"
        "m = cnn(); swap.swap_out(m); print(swap.folder())\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    made = Path(out.stdout.strip())
    assert made.parent == tmp_path and made.name.startswith("nnstudio-parked-")
    assert not made.exists() and list(tmp_path.iterdir()) == []


def test_the_file_holds_numbers_only(tmp_path):
    m = cnn()
    path = swap.swap_out(m, tmp_path)
    with np.load(path, allow_pickle=False) as data:  # would raise on an object array
        assert {"params"} <= set(data.files) and all(data[k].dtype == np.float32 for k in data.files)
    swap.swap_in(m)


@pytest.mark.parametrize("opt", ["sgd", "momentum", "rmsprop", "adagrad", "adam", "adamax", "adadelta", "iterative"])
def test_every_optimizers_state_comes_back(tmp_path, opt):
    m = NN(seed=1)
    m.add(FFL(6, 4, activation="tanh"))
    m.add(FFL(neurons=2, activation="softmax"))
    m.compile_model(lr=1e-2, opt=opt, loss="cse", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    m.train(rng.random((32, 6), dtype=np.float32), rng.integers(0, 2, 32), epochs=1, batch_size=8, verbose=0)
    before = m.optimizer.state_dict()
    swap.swap_out(m, tmp_path)
    swap.swap_in(m)
    after = m.optimizer.state_dict()
    assert before["t"] == after["t"] and set(before["buffers"]) == set(after["buffers"])
    assert all(np.array_equal(before["buffers"][k], after["buffers"][k]) for k in before["buffers"])

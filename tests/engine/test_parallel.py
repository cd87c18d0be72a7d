"""Data-parallel training steps (nncore.parallel): batches split across worker threads."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN, Conv2d, Dropout, Flatten, Pool2d
from nncore import blas as _blas
from nncore import parallel
from nncore.errors import DivergenceError


def cnn(seed: int = 0, dropout: float = 0.0, l2: float = 0.0, opt: str = "adam", lr: float = 1e-3) -> NN:
    m = NN(seed=seed)
    m.add(Conv2d(input_shape=(1, 12, 12), filters=4, kernel_size=3, padding="same", activation="relu", l2=l2))
    m.add(Pool2d(2))
    m.add(Conv2d(filters=6, kernel_size=3, activation="relu"))
    m.add(Flatten())
    if dropout:
        m.add(Dropout(dropout))
    m.add(FFL(neurons=16, activation="relu", l2=l2))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=lr, opt=opt, loss="cse", metrics=["accuracy"])
    return m


def data(n: int = 96, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 12, 12), dtype=np.float32)
    y = (x[:, 0, :6].mean(axis=(1, 2)) * 3).astype(int) % 3
    return x, y


def trained(workers, **kw) -> NN:
    x, y = data()
    m = cnn(**kw)
    m.train(x, y, epochs=2, batch_size=32, verbose=0, workers=workers)
    return m


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_split_step_equals_the_serial_step_up_to_rounding(workers):
    serial, split = trained(1, opt="sgd", lr=0.1), trained(workers, opt="sgd", lr=0.1)
    assert serial.epoch == split.epoch == 2
    np.testing.assert_allclose(split._params, serial._params, rtol=0, atol=2e-5)
    # the histories (whole-batch losses and metrics) agree too
    np.testing.assert_allclose(split.batch_history["loss"], serial.batch_history["loss"], rtol=1e-5)
    assert split.batch_history["accuracy"] == serial.batch_history["accuracy"]


def test_one_split_step_gives_the_whole_batch_gradient():
    x, y = data(40)
    a, b = cnn(), cnn()
    yb = a._check_y(y, len(y))
    a._train_batch(a._prepare(x), yb)
    with parallel.DataParallelStep(b, 3) as step:
        b._step = step
        b._train_batch(b._prepare(x), yb)
        b._step = None
    scale = np.abs(a._grads).max()
    assert scale > 0
    np.testing.assert_allclose(b._grads, a._grads, rtol=0, atol=1e-5 * scale)


def test_split_training_is_deterministic_for_a_given_worker_count():
    assert np.array_equal(trained(2)._params, trained(2)._params)


def test_l2_gradient_is_added_once_not_per_worker():
    serial, split = trained(1, l2=0.05, opt="sgd", lr=0.1), trained(2, l2=0.05, opt="sgd", lr=0.1)
    np.testing.assert_allclose(split._params, serial._params, rtol=0, atol=2e-5)


def test_dropout_draws_a_different_mask_per_worker_deterministically():
    x, y = data(64)
    m = cnn(dropout=0.5)
    with parallel.DataParallelStep(m, 2) as step:
        m._step = step
        m._train_batch(m._prepare(x), m._check_y(y, len(y)))
        m._step = None
        masks = [next(l for l in replica if l.stochastic)._mask for replica in step.replicas]
    assert masks[0].shape == masks[1].shape == (32, 6 * 4 * 4)
    assert not np.array_equal(masks[0], masks[1])  # each worker has its own generator
    assert np.array_equal(trained(2, dropout=0.5)._params, trained(2, dropout=0.5)._params)


def test_divergence_rolls_back_the_shared_weights():
    x, y = data()
    m = cnn(opt="sgd", lr=1e30)
    before = m._params.copy()
    with pytest.raises(DivergenceError):
        m.train(x, y, epochs=1, batch_size=32, verbose=0, workers=2)
    assert np.array_equal(m._params, before)
    assert m._step is None


def test_a_batch_smaller_than_the_workers_is_not_split_further():
    x, y = data(33)  # the last batch holds one sample
    m = cnn()
    m.train(x, y, epochs=1, batch_size=16, verbose=0, workers=4)
    assert m.epoch == 1 and np.all(np.isfinite(m._params))
    assert parallel.resolve_workers(m, 8, batch_size=3) == 3


def test_an_error_in_a_worker_reaches_the_caller_and_training_cleans_up(monkeypatch):
    x, y = data()
    m = cnn()

    def broken(self, x, training):
        raise RuntimeError("boom in a worker")

    monkeypatch.setattr(Pool2d, "forward_z", broken)
    with pytest.raises(RuntimeError, match="boom in a worker"):
        m.train(x, y, epochs=1, batch_size=32, verbose=0, workers=2)
    assert m._step is None and not m._training


def test_blas_threads_are_one_while_split_and_restored_after():
    control = _blas.shared_control()
    if control is None:
        pytest.skip("no controllable OpenBLAS in this NumPy build")
    x, y = data()
    seen = []

    class Spy:
        def on_batch_end(self, batch, logs=None):
            seen.append(control.get())

    before = control.get()
    control.set(2)
    try:
        m = cnn()
        m.train(x, y, epochs=1, batch_size=32, verbose=0, workers=2, callbacks=[Spy()])
        assert seen and set(seen) == {1}
        assert control.get() == 2
    finally:
        control.set(before)


def test_auto_uses_the_cores_for_cnns_and_one_thread_for_mlps(monkeypatch):
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "shared_control", lambda: object())
    mlp = NN(seed=0)
    mlp.add(FFL(input_shape=784, neurons=256, activation="relu"))
    mlp.add(FFL(neurons=10, activation="softmax"))
    assert parallel.auto_workers(mlp, 128) == 1
    big = NN(seed=0)
    big.add(Conv2d(input_shape=(1, 28, 28), filters=16, kernel_size=3, padding="same", activation="relu"))
    big.add(Flatten())
    big.add(FFL(neurons=10, activation="softmax"))
    assert parallel.auto_workers(big, 64) == 2
    assert parallel.auto_workers(big, 16) == 1  # too few samples to share
    monkeypatch.setattr(parallel, "shared_control", lambda: None)
    assert parallel.auto_workers(big, 64) == 1  # BLAS threads cannot be limited: stay serial


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, parallel.MAX_WORKERS + 1])
def test_bad_workers_are_refused_with_a_sentence(bad):
    x, y = data()
    m = cnn()
    before = m._params.copy()
    with pytest.raises(ValueError, match=r"workers must be 'auto' or an integer from 1 to \d+; got"):
        m.train(x, y, epochs=1, verbose=0, workers=bad)
    assert np.array_equal(m._params, before) and m.epoch == 0


@pytest.mark.parametrize("name", ["iterative", "sgd", "momentum", "rmsprop", "adagrad", "adam", "adamax", "adadelta"])
def test_the_optimizer_step_in_slices_equals_the_whole_step_bit_for_bit(name):
    from nncore import optimizers

    rng = np.random.default_rng(0)
    whole, sliced = optimizers.get(name), optimizers.get(name)
    p1 = rng.standard_normal(1001).astype(np.float32)
    p2 = p1.copy()
    for _ in range(3):
        g = rng.standard_normal(1001).astype(np.float32)
        whole.step(p1, g)
        sliced.begin_step(p2)
        for lo, hi in [(0, 300), (300, 301), (301, 1001)]:
            sliced.update_slice(p2, g, lo, hi)
    assert whole.t == sliced.t == 3
    assert np.array_equal(p1, p2)
    for k in whole.state:
        assert np.array_equal(whole.state[k], sliced.state[k])

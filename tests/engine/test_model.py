"""NN behaviour: learning, determinism, batching, history, callbacks, errors and divergence."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN, Callback, DivergenceError, Dropout, NotCompiledError, ShapeError

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def small(seed=0, dtype="float32", opt="adam", lr=0.01, dropout=0.0):
    m = NN(seed=seed, dtype=dtype)
    m.add(FFL(4, 16, activation="relu"))
    if dropout:
        m.add(Dropout(dropout))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=lr, opt=opt, loss="cse", metrics=["accuracy"])
    return m


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None]
    return x, y


def test_learns_xor():
    m = NN(seed=1)
    m.add(FFL(2, 8, activation="tanh"))
    m.add(FFL(neurons=2, activation="softmax"))
    m.compile_model(lr=0.05, opt="adam", loss="cse", metrics=["accuracy"])
    m.train(XOR_X, XOR_Y, epochs=300, batch_size=4, verbose=0)
    assert list(m.predict(XOR_X).argmax(1)) == list(XOR_Y)
    assert m.evaluate(XOR_X, XOR_Y)["loss"] < 0.05


def test_learns_xor_with_one_sigmoid_unit_and_mse():
    for loss, act in (("cse", "sigmoid"), ("mse", "sigmoid")):
        m = NN(seed=3)
        m.add(FFL(2, 8, activation="tanh"))
        m.add(FFL(neurons=1, activation=act))
        m.compile_model(lr=0.05, opt="adam", loss=loss, metrics=["accuracy"])
        m.train(XOR_X, XOR_Y, epochs=400, batch_size=4, verbose=0)
        assert m.evaluate(XOR_X, XOR_Y)["accuracy"] == 1.0, loss


def test_overfits_twenty_samples():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    m = NN(seed=0)
    m.add(FFL(4, 64, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.01, opt="adam", loss="cse", metrics=["accuracy"])
    m.train(x, y, epochs=500, batch_size=20, verbose=0)
    res = m.evaluate(x, y)
    assert res["accuracy"] == 1.0 and res["loss"] < 0.05


@pytest.mark.parametrize("opt", ["sgd", "iterative", "momentum", "rmsprop", "adagrad", "adam", "adamax", "adadelta"])
def test_every_optimizer_reduces_the_loss(opt):
    x, y = blobs()
    m = small(opt=opt, lr=1.0 if opt == "adadelta" else 0.05)
    before = m.evaluate(x, y)["loss"]
    m.train(x, y, epochs=20, batch_size=16, verbose=0)
    assert m.evaluate(x, y)["loss"] < 0.8 * before


def test_same_seed_gives_identical_weights_and_history():
    x, y = blobs()
    runs = []
    for _ in range(2):
        m = small(seed=7, dropout=0.3)
        m.train(x, y, epochs=3, batch_size=8, val_split=0.2, verbose=0)
        runs.append(m)
    a, b = runs
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert a.history[key] == b.history[key]
    assert a.batch_history == b.batch_history
    c = small(seed=8)
    assert not np.array_equal(c.get_weights()[0], small(seed=7).get_weights()[0])


def test_global_numpy_rng_is_untouched():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    x, y = blobs()
    m = small(dropout=0.2)
    m.train(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.random.random() == expected


def test_initialisation_he_for_relu_glorot_otherwise():
    m = NN(seed=0)
    m.add(FFL(1000, 400, activation="relu"))
    m.add(FFL(neurons=300, activation="tanh"))
    W1, W2 = m.layers[0].weights, m.layers[1].weights
    assert W1.dtype == np.float32 and W1.shape == (1000, 400)
    assert W1.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    limit = np.sqrt(6 / (400 + 300))
    assert np.abs(W2).max() <= limit and W2.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    assert np.all(m.layers[0].biases == 0)


def test_given_weights_and_bias_are_used_as_given():
    W = np.arange(6, dtype=np.float32).reshape(3, 2)
    b = np.array([1.0, -1.0], dtype=np.float32)
    m = NN()
    m.add(FFL(3, 2, weights=W, bias=b))
    np.testing.assert_array_equal(m.predict(np.ones((1, 3))), [[1 + 0 + 2 + 4, -1 + 1 + 3 + 5]])


def test_batches_follow_data_order_and_last_batch_is_partial():
    seen = []

    class Spy(FFL):
        def forward_z(self, x, training=True):
            seen.append(x[:, 0].copy())
            return super().forward_z(x, training)

    m = NN(seed=0)
    m.add(Spy(1, 2, activation="softmax"))
    m.compile_model(lr=0.1, opt="sgd", loss="cse")
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    m.train(x, np.zeros(10, int), epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert [list(s) for s in seen] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert m.batch_history["batch"] == [1, 2, 3]


def test_training_continues_and_history_appends():
    x, y = blobs()
    m = small()
    h1 = m.train(x, y, epochs=2, batch_size=16, verbose=0)
    t = m.optimizer.t
    h2 = m.train(x, y, epochs=3, batch_size=16, val_split=0.25, verbose=0)
    assert h1.history["epoch"] == [1, 2] and h2.history["epoch"] == [3, 4, 5]
    assert m.history["epoch"] == [1, 2, 3, 4, 5] and m.epoch == 5
    assert m.optimizer.t > t
    assert m.history["val_loss"][:2] == [None, None] and all(v is not None for v in m.history["val_loss"][2:])
    assert len(m.batch_history["loss"]) == 2 * 4 + 3 * 3
    assert set(m.history) == {"epoch", "loss", "data_loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr"}


def test_val_split_zero_means_no_validation_and_explicit_validation_works():
    x, y = blobs()
    m = small()
    h = m.train(x, y, epochs=1, batch_size=16, val_split=0, verbose=0)
    assert h.history["val_loss"] == [None]
    h = m.train(x[:40], y[:40], epochs=1, batch_size=16, val_x=x[40:], val_y=y[40:], verbose=0)
    assert h.history["val_accuracy"][0] == pytest.approx(m.evaluate(x[40:], y[40:])["accuracy"])


def test_integer_and_one_hot_labels_train_identically():
    x, y = blobs()
    a, b = small(seed=1), small(seed=1)
    a.train(x, y, epochs=2, batch_size=16, verbose=0)
    b.train(x, np.eye(3)[y], epochs=2, batch_size=16, verbose=0)
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])


def test_float64_models_stay_float64():
    x, y = blobs()
    m = small(dtype="float64")
    m.train(x, y, epochs=1, batch_size=16, verbose=0)
    assert m._params.dtype == np.float64 and m.predict(x).dtype == np.float64


def test_callbacks_are_called_and_can_stop_training():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs=None):
            events.append(("batch", batch, round(logs["loss"], 6) == round(logs["loss"], 6)))
            if logs["epoch"] == 2 and batch == 2:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append("end")

    x, y = blobs()
    m = small()
    m.train(x, y, epochs=5, batch_size=20, callbacks=[Recorder()], verbose=0)
    assert events[0] == "begin" and events[-1] == "end"
    assert ("epoch_end", 1, ["accuracy", "data_loss", "epoch", "loss", "lr", "seconds", "val_accuracy", "val_loss"]) in events
    assert ("batch", 2, True) in events and not any(e[:2] == ("epoch_end", 2) for e in events if isinstance(e, tuple))
    # stopped after batch 2 of epoch 2: the epoch is not recorded, the batches are, weights are finite
    assert m.epoch == 1 and m.history["epoch"] == [1]
    assert m.batch_history["epoch"] == [1, 1, 1, 2, 2]
    assert all(np.all(np.isfinite(w)) for w in m.get_weights())


def test_summary_is_stable_and_names_each_layer_by_kind():
    m = NN()
    m.add(FFL(784, 256, activation="relu"))
    m.add(Dropout(0.2))
    m.add(FFL(neurons=128, activation="relu"))
    m.add(FFL(neurons=10, activation="softmax"))
    df1, df2 = m.summary(), m.summary()
    assert list(df1["Layer"]) == ["Dense 1", "Dropout 1", "Dense 2", "Output"]
    assert list(df1["Output shape"]) == ["(256,)", "(256,)", "(128,)", "(10,)"]
    assert list(df1["Parameters"]) == [784 * 256 + 256, 0, 256 * 128 + 128, 1290]
    assert df1.equals(df2)
    assert m.total_parameters == df2.attrs["total_parameters"] == 784 * 256 + 256 + 256 * 128 + 128 + 1290
    assert list(df1.columns) == ["Layer", "Type", "Output shape", "Activation", "Parameters"]


def test_visualize_returns_plotly_figures_with_train_and_validation():
    x, y = blobs()
    m = small()
    m.train(x, y, epochs=2, batch_size=16, val_split=0.2, verbose=0)
    loss_fig, acc_fig = m.visualize()
    assert [t.name for t in loss_fig.data] == ["train loss", "validation loss"]
    assert list(acc_fig.data[0].y) == m.history["accuracy"]


def test_feedforward_returns_every_layer_and_leaves_training_state_alone():
    x, y = blobs()
    m = small(dropout=0.5)
    m.train(x, y, epochs=1, batch_size=16, verbose=0)
    cached = m.layers[0]._x
    outs = m.feedforward(x[:5])
    assert [o.shape for o in outs] == [(5, 16), (5, 16), (5, 3)]
    np.testing.assert_array_equal(outs[0], outs[1])  # dropout is the identity at inference
    np.testing.assert_allclose(outs[-1], m.predict(x[:5]))
    assert m.layers[0]._x is cached


def test_layer_statistics_recorded_each_epoch():
    x, y = blobs()
    m = small()
    m.train(x, y, epochs=2, batch_size=16, verbose=0)
    stats = m.layer_stats
    assert len(stats) == 2 * 2 * 2  # epochs × dense layers × (weights, gradients)
    w = [s for s in stats if s["epoch"] == 2 and s["layer"] == "Dense 1" and s["kind"] == "weights"][0]
    W = m.layers[0].weights
    assert w["norm"] == pytest.approx(float(np.linalg.norm(W)), rel=1e-5)
    assert sum(w["hist_counts"]) == W.size


def test_copy_is_independent():
    x, y = blobs()
    m = small()
    m.train(x, y, epochs=1, batch_size=16, verbose=0)
    c = m.copy()
    np.testing.assert_array_equal(c.predict(x), m.predict(x))
    c.train(x, y, epochs=1, batch_size=16, verbose=0)
    assert m.epoch == 1 and c.epoch == 2
    assert not np.array_equal(c.get_weights()[0], m.get_weights()[0])


# ------------------------------------------------------------------------------ errors
def test_errors_of_the_original_design():
    x, y = blobs()
    m = NN()
    m.add(FFL(4, 8, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    with pytest.raises(NotCompiledError, match="not compiled.*compile_model"):
        m.train(x, y)
    m.compile_model(lr=0.01, opt="adam", loss="cse")
    with pytest.raises(ShapeError, match="x has 60 samples but y has 59"):
        m.train(x, y[:-1])
    with pytest.raises(ShapeError, match=r"x has samples of shape \(5,\), but the model expects \(4,\)"):
        m.train(np.ones((60, 5)), y)
    with pytest.raises(ShapeError, match="y has 4 columns but the output layer has 3 units"):
        m.train(x, np.ones((60, 4)))
    with pytest.raises(ShapeError, match=r"Layer 3 \(FFL\): FFL declares input_shape=\(7,\) but receives \(3,\)"):
        m.add(FFL(7, 2))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"batch_size": 0}, "batch_size must be an integer ≥ 1; got 0"),
        ({"epochs": -1}, "epochs must be an integer ≥ 0; got -1"),
        ({"val_split": 1.0}, r"val_split must be in \[0, 1\)"),
        ({"val_split": 0.001}, "leaves 60 training and 0 validation samples"),
    ],
)
def test_bad_training_parameters(kwargs, message):
    x, y = blobs()
    with pytest.raises(ValueError, match=message):
        small().train(x, y, **kwargs)


def test_bad_data_is_rejected_with_clear_messages():
    x, y = blobs()
    m = small()
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains 1 NaN or infinite value"):
        m.train(bad, y)
    with pytest.raises(ValueError, match="x is empty"):
        m.train(np.zeros((0, 4)), np.zeros(0, int))
    with pytest.raises(ShapeError, match=r"x has samples of shape \(2, 2\).*expects \(4,\).*reshape"):
        m.train(x.reshape(60, 2, 2), y)
    with pytest.raises(ValueError, match="y holds class id 3, but the output layer has 3 units"):
        m.train(x, y + 1)
    with pytest.raises(ValueError, match="y contains 1 NaN"):
        yy = np.eye(3)[y]
        yy[0, 0] = np.inf
        m.train(x, yy)
    with pytest.raises(ShapeError, match="single sample"):
        m.predict(x[0])
    with pytest.raises(ValueError, match="must be numeric"):
        m.predict(np.array([["a"] * 4]))
    assert m.epoch == 0 and m.history["epoch"] == []


def test_configuration_errors_list_valid_names():
    with pytest.raises(ValueError, match="Unknown activation 'swish'.*'relu'.*'softmax'"):
        FFL(2, 2, activation="swish")
    m = NN()
    m.add(FFL(2, 3, activation="relu"))
    with pytest.raises(ValueError, match="Unknown loss 'hinge'.*'mse', 'cse'"):
        m.compile_model(loss="hinge")
    with pytest.raises(ValueError, match="'cse'.*needs a 'softmax' output layer"):
        m.compile_model(loss="cse")
    with pytest.raises(ValueError, match="first layer needs its input shape"):
        NN().add(FFL(neurons=3))
    with pytest.raises(ValueError, match="Dropout rate must be in"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="dtype must be one of"):
        NN(dtype="int8")


def test_divergence_raises_and_restores_finite_weights():
    x, y = blobs()
    m = small(opt="sgd", lr=1e12)
    m.train(x, y, epochs=0)
    before = [w.copy() for w in m.get_weights()]
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+, batch \d+.*lower learning rate") as info:
        m.train(x * 1e3, y, epochs=5, batch_size=8, verbose=0)
    assert isinstance(info.value, ArithmeticError) and info.value.epoch >= 1 and info.value.batch >= 1
    weights = m.get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)
    for w, b in zip(weights, before):  # rolled back to the start of the failing epoch
        np.testing.assert_array_equal(w, b)
    assert all(np.all(np.isfinite(v)) for v in m.optimizer.state.values())
    assert all(np.isfinite(l) for l in m.batch_history["loss"])
    assert len(m.history["epoch"]) == info.value.epoch - 1
    # training can go on from the restored weights with a sane learning rate
    m.optimizer.lr = 0.01
    m.train(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.all(np.isfinite(m.get_weights()[0]))
    assert not all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))

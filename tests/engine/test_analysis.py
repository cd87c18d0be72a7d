"""nncore.analysis: pure helpers behind the Inspect page."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nncore import FFL, NN, Dropout
from nncore import analysis as I
from nncore.studio import spec
from nncore.studio.spec import HiddenLayer


def _tiny(out_act="softmax", loss="cse", dtype="float64", hidden="tanh"):
    m = NN(seed=3, dtype=dtype)
    m.add(FFL(6, 5, activation=hidden))
    m.add(Dropout(0.3))
    m.add(FFL(neurons=4, activation="sigmoid"))
    m.add(FFL(neurons=3, activation=out_act))
    m.compile_model(lr=0.1, opt="sgd", loss=loss)
    return m


def _score(m, x, c, logit):
    """The class score by a plain forward pass written here (not the engine's backward pass)."""
    h = x.reshape(1, -1)
    for layer in m.layers:
        if isinstance(layer, Dropout):
            continue
        z = h @ layer.weights + layer.biases
        h = z if (logit and layer is m.layers[-1]) else layer.apply(h)
    return float(h[0, c])


@pytest.mark.parametrize("logit", [True, False])
@pytest.mark.parametrize("out_act,loss", [("softmax", "cse"), ("sigmoid", "mse"), ("linear", "mse")])
def test_saliency_equals_finite_differences(logit, out_act, loss):
    m = _tiny(out_act, loss)
    rng = np.random.default_rng(0)
    x = rng.normal(size=6)
    eps = 1e-6
    for c in range(3):
        fd = np.empty(6)
        for i in range(6):
            e = np.zeros(6)
            e[i] = eps
            fd[i] = (_score(m, x + e, c, logit) - _score(m, x - e, c, logit)) / (2 * eps)
        s = I.saliency(m, x, c, logit=logit)
        np.testing.assert_allclose(s, np.abs(fd), rtol=1e-5, atol=1e-9)
        assert (s >= 0).all()


def test_saliency_depends_on_the_class_and_normalises_to_unit_max():
    m = _tiny()
    x = np.random.default_rng(1).normal(size=6)
    a, b = I.saliency(m, x, 0), I.saliency(m, x, 2)
    assert not np.allclose(a, b)
    na = I.normalize_map(a)
    assert na.max() == pytest.approx(1.0) and na.min() >= 0
    np.testing.assert_allclose(na, a / a.max())
    assert (I.normalize_map(np.zeros(5)) == 0).all()
    assert (I.normalize_map(np.array([np.nan, 2.0])) == [0.0, 1.0]).all()


def test_weight_tiles_are_the_columns_as_images():
    w = np.arange(784 * 70, dtype=np.float64).reshape(784, 70)
    tiles, idx = I.weight_tiles(w)
    assert tiles.shape == (64, 28, 28) and list(idx) == list(range(64))
    np.testing.assert_array_equal(tiles[5], w[:, 5].reshape(28, 28))
    tiles, idx = I.weight_tiles(w, units=[69, 3])
    assert list(idx) == [69, 3]
    np.testing.assert_array_equal(tiles[0], w[:, 69].reshape(28, 28))
    small, idx = I.weight_tiles(w[:, :10])
    assert small.shape == (10, 28, 28)
    with pytest.raises(ValueError):
        I.weight_tiles(w, units=[70])
    with pytest.raises(ValueError):
        I.weight_tiles(np.zeros((100, 3)))


def test_mosaic_layout_with_gaps():
    tiles = np.stack([np.full((2, 3), float(i)) for i in range(5)])
    img, which = I.mosaic(tiles, cols=3, pad=1)
    assert img.shape == (2 * 2 + 1, 3 * 3 + 2)
    assert img[0, 0] == 0 and img[0, 4] == 1 and img[0, 8] == 2 and img[3, 0] == 3 and img[3, 4] == 4
    assert math.isnan(img[2, 0]) and math.isnan(img[0, 3])  # padding
    assert math.isnan(img[3, 8])  # unused sixth cell
    assert which[0, 4] == 1 and which[3, 4] == 4 and which[2, 0] == -1 and which[3, 8] == -1
    img, _ = I.mosaic(np.zeros((64, 28, 28)))
    assert img.shape == (8 * 28 + 7, 8 * 28 + 7)  # 8x8 by default


def test_symmetric_limit_ignores_outliers_and_nans():
    a = np.concatenate([np.linspace(-1, 1, 999), [50.0], [np.nan]])
    lim = I.symmetric_limit(a, 99)
    assert 0.9 < lim < 1.01
    assert I.symmetric_limit(np.zeros(4)) == 1.0
    assert I.symmetric_limit(np.array([np.nan])) == 1.0


def test_top_units_largest_first():
    idx, vals = I.top_units(np.array([0.5, 3.0, -1.0, 3.0, np.nan, 2.0]), k=3)
    assert list(idx) == [1, 3, 5] and list(vals) == [3.0, 3.0, 2.0]
    idx, _ = I.top_units(np.array([1.0, 2.0]), k=10)
    assert list(idx) == [1, 0]


def test_layer_outputs_skip_dropout_and_match_feedforward():
    m = _tiny()
    x = np.random.default_rng(2).normal(size=6)
    outs = I.layer_outputs(m, x)
    assert [o.name for o in outs] == ["Dense 1", "Dense 2", "Output"]
    assert [o.label for o in outs] == ["Dense 1 (6→5, tanh)", "Dense 2 (5→4, sigmoid)", "Output (4→3, softmax)"]
    np.testing.assert_allclose(outs[-1].values, m.predict(x[None])[0])
    assert outs[-1].values.sum() == pytest.approx(1.0)
    assert np.abs(outs[0].scaled).max() == pytest.approx(1.0)
    c, probs = I.predict_one(m, x)
    assert c == int(np.argmax(probs))


def _dense(hidden, optimizer="adam", lr=1e-3):
    return spec.build(spec.dense_config(input_shape=(784,), transform=None, outputs=10, hidden=hidden,
                                        output_activation="softmax", loss="cse", optimizer=optimizer, lr=lr))


def _trained(hidden, opt="adam", lr=1e-3, epochs=2, n=600):
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = (x[:, :392].sum(1) > x[:, 392:].sum(1)).astype(int)  # a learnable rule
    m = _dense(hidden, optimizer=opt, lr=lr)
    m.train(x, y, epochs=epochs, batch_size=32, verbose=0)
    return m


def test_stats_frame_and_histograms_from_training():
    m = _trained((HiddenLayer(16, "relu"),), epochs=8)
    df = I.stats_frame(m.layer_stats)
    assert set(df["kind"]) == {"weights", "gradients"}
    assert sorted(set(df["epoch"])) == list(range(1, 9))
    w1 = df[(df.kind == "weights") & (df.layer == "Dense 1")].iloc[-1]
    assert w1["count"] == 784 * 16
    assert w1["norm"] == pytest.approx(np.linalg.norm(m.layers[0].weights), rel=1e-5)
    assert w1["rms"] == pytest.approx(w1["norm"] / math.sqrt(784 * 16))
    lines = I.histogram_lines(m.layer_stats, "gradients", max_epochs=3)
    assert list(lines) == ["Dense 1", "Output"]
    assert [h["epoch"] for h in lines["Dense 1"]] == [1, 5, 8]
    h = lines["Output"][0]
    assert len(h["centers"]) == 30 and h["share"].sum() == pytest.approx(1.0)
    assert I.stats_frame([]).empty and I.gradient_health([]) is None


def test_pick_epochs_keeps_first_and_last():
    assert I.pick_epochs([3, 1, 2]) == [1, 2, 3]
    e = I.pick_epochs(list(range(1, 21)), 5)
    assert e[0] == 1 and e[-1] == 20 and len(e) == 5


def test_gradient_health_sees_vanishing_gradients_in_a_deep_sigmoid_network():
    deep = _trained(tuple(HiddenLayer(32, "sigmoid") for _ in range(6)), epochs=1)
    h = I.gradient_health(deep.layer_stats)
    assert h.level == "vanishing" and h.ratio < 0.01 and "vanishing" in h.text
    shallow = _trained((HiddenLayer(32, "relu"),), epochs=1)
    h = I.gradient_health(shallow.layer_stats)
    assert h.level == "ok" and 0.01 <= h.ratio <= 100


def _stats(rms_by_layer, epoch=1):
    out = []
    for name, rms in rms_by_layer:
        for kind in ("weights", "gradients"):
            out.append({"epoch": epoch, "layer": name, "kind": kind, "mean": 0.0, "std": rms,
                        "norm": rms * 10.0, "hist_counts": [100], "hist_edges": [-1.0, 1.0]})
    return out


def test_gradient_health_levels():
    assert I.gradient_health(_stats([("a", 1e-3), ("b", 1e-3)])).level == "ok"
    assert I.gradient_health(_stats([("a", 1e-6), ("b", 1e-3)])).level == "vanishing"
    assert I.gradient_health(_stats([("a", 1.0), ("b", 1e-3)])).level == "exploding"
    assert I.gradient_health(_stats([("a", 50.0), ("b", 40.0)])).level == "exploding"
    assert I.gradient_health(_stats([("a", float("nan")), ("b", 1.0)])).level == "exploding"
    assert I.gradient_health(_stats([("a", 0.0), ("b", 0.0)])).level == "dead"
    # only the latest epoch counts
    older = _stats([("a", 1e-6), ("b", 1e-3)], epoch=1) + _stats([("a", 1e-3), ("b", 1e-3)], epoch=2)
    assert I.gradient_health(older).level == "ok"


def test_dense_layer_labels():
    m = _dense((HiddenLayer(32, "relu", 0.2), HiddenLayer(16, "tanh")))
    assert I.dense_layer_labels(m) == {
        "Dense 1": "Dense 1 (784→32, relu)",
        "Dense 2": "Dense 2 (32→16, tanh)",
        "Output": "Output (16→10, softmax)",
    }
    assert I.first_layer_weights(m).shape == (784, 32)

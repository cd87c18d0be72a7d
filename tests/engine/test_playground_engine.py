"""nncore.boundary (decision and neuron grids) and nncore.playground (default network, Pace)."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN, Dropout, datasets
from nncore import boundary as B
from nncore import playground as P

EXTENT = (-6.0, 6.0, -5.0, 7.0)


@pytest.fixture(scope="module")
def spiral():
    return datasets.get("spiral", features=P.DEFAULT_FEATURES)


@pytest.fixture(scope="module")
def model(spiral):
    m = P.playground_model(spiral, seed=1)
    m.train(spiral.x, spiral.y, epochs=3, batch_size=10, verbose=0)
    return m


# ----------------------------------------------------------------------------------------------
# Extent and grid
# ----------------------------------------------------------------------------------------------
def test_data_extent_of_a_playground_set_is_its_square(spiral):
    assert B.data_extent(spiral) == (-6.0, 6.0, -6.0, 6.0)
    assert B.data_extent(datasets.get("gauss", noise=50, seed=3)) == (-6.0, 6.0, -6.0, 6.0)


def test_data_extent_of_points_is_a_square_with_margin():
    x = np.array([[0.0, 0.0], [4.0, 1.0], [2.0, -1.0]])
    xmin, xmax, ymin, ymax = B.data_extent(x, margin=0.1)
    assert xmax - xmin == pytest.approx(ymax - ymin) == pytest.approx(4.0 * 1.2)
    assert (xmin, xmax) == pytest.approx((-0.4, 4.4))
    assert (ymin + ymax) / 2 == pytest.approx(0.0)
    assert xmin < x[:, 0].min() and xmax > x[:, 0].max() and ymin < x[:, 1].min() and ymax > x[:, 1].max()
    # one point: still a proper square
    assert B.data_extent(np.array([[1.0, 2.0]])) == (0.0, 2.0, 1.0, 3.0)


def test_data_extent_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        B.data_extent(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="margin"):
        B.data_extent(np.zeros((5, 2)), margin=-0.1)
    with pytest.raises(ValueError, match="finite point"):
        B.data_extent(np.full((3, 2), np.nan))


def test_grid_points_order_and_edges():
    xs, ys, pts = B.grid_points(EXTENT, 5)
    assert xs.shape == ys.shape == (5,) and pts.shape == (25, 2) and pts.dtype == np.float32
    assert (xs[0], xs[-1], ys[0], ys[-1]) == EXTENT
    i, j = 3, 1
    assert tuple(pts[i * 5 + j]) == pytest.approx((xs[j], ys[i]))


@pytest.mark.parametrize("extent", [(0, 1, 0), (1, 0, 0, 1), (0, 1, 0, np.inf), "abcd"])
def test_bad_extent(extent):
    with pytest.raises(ValueError, match="extent"):
        B.grid_axes(extent, 10)


@pytest.mark.parametrize("resolution", [1, 0, 2.5, True, 5000])
def test_bad_resolution(resolution):
    with pytest.raises(ValueError, match="resolution"):
        B.grid_axes(EXTENT, resolution)


# ----------------------------------------------------------------------------------------------
# Decision grid
# ----------------------------------------------------------------------------------------------
def test_decision_grid_shape_extent_and_values_match_predict(model):
    grid = B.decision_grid(model, EXTENT, resolution=100)
    assert grid.values.shape == (100, 100) and grid.values.dtype == np.float32
    assert grid.extent == EXTENT and grid.task == "classification" and grid.n_classes == 2
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 100, 20), rng.integers(0, 100, 20)
    points = np.stack([grid.xs[cols], grid.ys[rows]], axis=1).astype(np.float32)
    p = model.predict(points)  # softmax probabilities of classes 0 (-1) and 1 (+1)
    np.testing.assert_allclose(grid.values[rows, cols], 2 * p[:, 1] - 1, atol=1e-5)
    assert -1 <= grid.values.min() and grid.values.max() <= 1
    assert grid.values.min() < 0 < grid.values.max()  # a boundary crosses the plane


def test_decision_grid_does_not_change_the_model(model):
    before = model.get_weights()
    rng_state = model.rng.bit_generator.state
    B.decision_grid(model, EXTENT, 30)
    B.neuron_grids(model, EXTENT, 30)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.rng.bit_generator.state == rng_state


def test_single_sigmoid_output_maps_to_minus_one_plus_one():
    m = NN(seed=0)
    m.add(FFL(2, 3, activation="tanh"))
    m.add(FFL(neurons=1, activation="sigmoid"))
    m.compile_model(loss="cse")
    grid = B.decision_grid(m, EXTENT, 7)
    _, _, pts = B.grid_points(EXTENT, 7)
    np.testing.assert_allclose(grid.values.reshape(-1), 2 * m.predict(pts)[:, 0] - 1, atol=1e-6)
    values, classes = B.point_predictions(m, pts)
    np.testing.assert_array_equal(classes, (m.predict(pts)[:, 0] > 0.5).astype(np.int64))


def test_regression_grid_is_the_predicted_value():
    ds = datasets.get("reg-plane")
    m = P.playground_model(ds, hidden=(4,))
    grid = B.decision_grid(m, B.data_extent(ds), 11)
    assert grid.task == "regression" and grid.n_classes == 0
    _, _, pts = B.grid_points(B.data_extent(ds), 11)
    np.testing.assert_allclose(grid.values.reshape(-1), m.predict(pts)[:, 0], rtol=1e-6, atol=1e-7)
    values, classes = B.point_predictions(m, ds.x)
    assert classes is None and values.shape == (len(ds.x),)


def test_more_than_two_classes_give_the_class_id():
    m = NN(seed=0)
    m.add(FFL(2, 3, activation="softmax"))
    m.compile_model(loss="cse")
    grid = B.decision_grid(m, EXTENT, 9)
    _, _, pts = B.grid_points(EXTENT, 9)
    np.testing.assert_array_equal(grid.values.reshape(-1), m.predict(pts).argmax(axis=1))
    assert grid.n_classes == 3


# ----------------------------------------------------------------------------------------------
# Neuron grids
# ----------------------------------------------------------------------------------------------
def test_neuron_grids_match_feedforward(model):
    units = B.neuron_grids(model, EXTENT, resolution=40)
    assert [l.name for l in units.layers] == ["Dense 1", "Dense 2"]  # the output layer is not a hidden layer
    assert [l.values.shape for l in units.layers] == [(8, 40, 40), (8, 40, 40)]
    assert units.total_units == 16 and units.layers[0].activation == "tanh"
    _, _, pts = B.grid_points(EXTENT, 40)
    outs = model.feedforward(pts)
    for layer, out in zip(units.layers, outs[:2]):
        for u in (0, 5):
            np.testing.assert_allclose(layer.values[u], out[:, u].reshape(40, 40), atol=1e-6)
    i, j = 7, 30  # orientation: row i at ys[i], column j at xs[j]
    one = model.feedforward(np.array([[units.xs[j], units.ys[i]]], dtype=np.float32))[0]
    np.testing.assert_allclose(units.layers[0].values[:, i, j], one[0], atol=1e-6)
    assert units.layers[1].unit_title(2) == "Dense 2 · unit 3"


def test_neuron_grids_skip_dropout_and_scale_unbounded_units():
    m = NN(seed=0)
    m.add(FFL(2, 5, activation="relu"))
    m.add(Dropout(0.5))
    m.add(FFL(neurons=3, activation="tanh"))
    m.add(FFL(neurons=2, activation="softmax"))
    m.compile_model(loss="cse")
    units = B.neuron_grids(m, EXTENT, 12)
    assert [(l.name, l.units) for l in units.layers] == [("Dense 1", 5), ("Dense 2", 3)]
    relu, tanh = units.layers
    peaks = relu.values.reshape(5, -1).max(axis=1)  # relu outputs are >= 0: the largest |value|
    np.testing.assert_allclose(relu.colour_limits(), np.where(peaks > 0, peaks, 1.0))
    np.testing.assert_array_equal(tanh.colour_limits(), np.ones(3))


def test_feature_grids_are_the_transform_on_the_grid(spiral):
    names, grids = B.feature_grids(spiral.transform, EXTENT, 20)
    assert names == list(P.DEFAULT_FEATURES) and grids.shape == (4, 20, 20)
    xs, ys, _ = B.grid_points(EXTENT, 20)
    np.testing.assert_allclose(grids[2], np.sin(np.broadcast_to(xs, (20, 20))), atol=1e-6)  # sin(x1)
    np.testing.assert_allclose(grids[1], np.broadcast_to(ys[:, None], (20, 20)), atol=1e-6)  # x2
    names, raw = B.feature_grids(None, EXTENT, 5)
    assert names == ["x1", "x2"] and raw.shape == (2, 5, 5)


# ----------------------------------------------------------------------------------------------
# Colours
# ----------------------------------------------------------------------------------------------
def test_discretize_and_value_range():
    np.testing.assert_array_equal(B.discretize(np.array([-0.2, 0.0, 0.7])), [-1, 1, 1])
    np.testing.assert_array_equal(B.discretize(np.array([0.2, 0.5]), threshold=0.4), [-1, 1])
    assert B.value_range(datasets.get("xor")) == (-1.0, 1.0)
    ds = datasets.get("reg-plane")
    lo, hi = B.value_range(ds)
    assert lo == pytest.approx(min(ds.y.min(), ds.y_test.min())) and hi == pytest.approx(max(ds.y.max(), ds.y_test.max()))


def test_diverging_rgb_endpoints_and_broadcast_limits():
    rgb = B.diverging_rgb(np.array([-1.0, 0.0, 1.0, np.nan, -5.0]))
    assert rgb.dtype == np.uint8 and rgb.shape == (5, 3)
    assert [tuple(c) for c in rgb] == [(0xF5, 0x93, 0x22), (0xE8, 0xEA, 0xEB), (0x08, 0x77, 0xBD),
                                       (0xE8, 0xEA, 0xEB), (0xF5, 0x93, 0x22)]
    values = np.array([[[2.0]], [[2.0]]])
    limits = np.array([2.0, 4.0])[:, None, None]
    out = B.diverging_rgb(values, -limits, limits)
    assert tuple(out[0, 0, 0]) == (0x08, 0x77, 0xBD)  # at its limit: full blue
    assert tuple(out[1, 0, 0]) != tuple(out[0, 0, 0])  # half way: paler
    with pytest.raises(ValueError, match="high > low"):
        B.diverging_rgb(values, 1.0, 1.0)


# ----------------------------------------------------------------------------------------------
# The default network learns the Playground sets
# ----------------------------------------------------------------------------------------------
def test_default_network_learns_spiral_to_95_percent():
    """2-layer 8-8 tanh, features x1, x2, sin(x1), sin(x2), adam lr 0.01, batch 10, softmax + cse:
    >= 95 % test accuracy on spiral with noise 0 (this seed needs about 20 epochs; 100 are given)."""
    ds = datasets.get("spiral", noise=0, seed=0, features=P.DEFAULT_FEATURES)
    m = P.playground_model(ds, hidden=(8, 8), activation="tanh", optimizer="adam", lr=0.01, seed=0)
    assert [l.neurons for l in m.layers] == [8, 8, 2] and m.layers[0].activation_name == "tanh"
    m.train(ds.x, ds.y, epochs=100, batch_size=P.DEFAULT_BATCH_SIZE, verbose=0, val_x=ds.x_test, val_y=ds.y_test)
    assert m.evaluate(ds.x_test, ds.y_test)["accuracy"] >= 0.95


def test_raw_features_alone_do_not_learn_spiral_as_fast():
    """Why the default adds sin(x1), sin(x2): with x1, x2 only, 30 epochs stay well below 95 %."""
    ds = datasets.get("spiral", features=("x1", "x2"))
    m = P.playground_model(ds, seed=0)
    m.train(ds.x, ds.y, epochs=30, batch_size=P.DEFAULT_BATCH_SIZE, verbose=0)
    assert m.evaluate(ds.x_test, ds.y_test)["accuracy"] < 0.9


def test_regression_reaches_r2_095_on_reg_plane():
    ds = datasets.get("reg-plane", features=P.DEFAULT_FEATURES)
    m = P.playground_model(ds)
    assert m.loss.name == "mse" and m.layers[-1].activation_name == "linear" and m.metrics == ["r2", "mae"]
    m.train(ds.x, ds.y, epochs=10, batch_size=P.DEFAULT_BATCH_SIZE, verbose=0, val_x=ds.x_test, val_y=ds.y_test)
    assert m.history["val_r2"][-1] >= 0.95
    assert m.evaluate(ds.x_test, ds.y_test)["r2"] >= 0.95


def test_epochs_to_learn_counts_epochs():
    ds = datasets.get("gauss", features=("x1", "x2"))
    m = P.playground_model(ds, seed=0)
    n = P.epochs_to_learn(m, ds, max_epochs=20)
    assert n is not None and m.epoch == n
    assert m.evaluate(ds.x_test, ds.y_test)["accuracy"] >= 0.95
    never = P.playground_model(datasets.get("spiral", features=("x1",)), hidden=(1,), seed=0)
    assert P.epochs_to_learn(never, datasets.get("spiral", features=("x1",)), max_epochs=2) is None


def test_playground_model_shapes_and_errors(spiral):
    m = P.playground_model(spiral, hidden="4, 3", activation="relu", optimizer="sgd", lr=0.1)
    assert [l.neurons for l in m.layers] == [4, 3, 2] and m.input_transform is spiral.transform
    assert m.predict(spiral.x[:3]).shape == (3, 2)  # takes raw (x1, x2)
    assert [l.neurons for l in P.playground_model(spiral, hidden="").layers] == [2]
    assert P.parse_hidden("8,8") == P.parse_hidden("8 8") == P.parse_hidden([8, 8]) == (8, 8)
    with pytest.raises(ValueError, match="'x' is not a whole number"):
        P.parse_hidden("8,x")
    with pytest.raises(ValueError, match="1 to 64 neurons"):
        P.parse_hidden("8,0")
    with pytest.raises(ValueError, match="at most 6 layers"):
        P.parse_hidden("1,1,1,1,1,1,1")


# ----------------------------------------------------------------------------------------------
# Pace
# ----------------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pace_holds_the_epoch_rate():
    clock = FakeClock()
    pace = P.Pace(10.0, clock=clock, sleep=clock.sleep)
    for b in range(1 + 25 * 3):  # the first batch starts the clock, then 3 epochs of 25 batches
        pace.on_batch_end(b, {"batches": 25})
    assert clock.now - 100.0 == pytest.approx(0.3)  # 3 epochs at 10 epochs/s
    pace.epochs_per_second = None  # full speed: never sleeps
    n = len(clock.sleeps)
    for b in range(50):
        pace.on_batch_end(b, {"batches": 25})
    assert len(clock.sleeps) == n


def test_pace_does_not_catch_up_after_a_pause():
    clock = FakeClock()
    pace = P.Pace(10.0, clock=clock, sleep=clock.sleep)
    pace.on_batch_end(0, {"batches": 10})
    clock.now += 5.0  # paused for 5 s
    pace.on_batch_end(1, {"batches": 10})  # far behind: the schedule restarts
    for b in range(10):
        pace.on_batch_end(b, {"batches": 10})
    assert clock.now - 105.0 == pytest.approx(0.1)  # then one epoch takes 0.1 s again


def test_pace_refuses_a_bad_rate():
    with pytest.raises(ValueError, match="epochs_per_second"):
        P.Pace(0)
    pace = P.Pace(5)
    with pytest.raises(ValueError, match="epochs_per_second"):
        pace.epochs_per_second = -1
    assert pace.epochs_per_second == 5

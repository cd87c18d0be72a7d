"""The studio's data helpers for any dataset: evaluation of classifiers with any class count and of
regressions, the input-transform comparison, regression validation, task summaries and CSV previews."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import datasets, transforms
from nncore import playground as P
from nncore.metrics import metric_value
from nncore.studio import data as D
from nncore.studio import spec
from nncore.studio.evaluation import evaluate


@pytest.fixture(scope="module")
def plane():
    ds = datasets.get("reg-plane", features=("x1", "x2"))
    model = P.playground_model(ds, seed=0)
    model.train(ds.x, ds.y, epochs=2, batch_size=10, verbose=0)
    return ds, model


def test_regression_evaluation_has_r2_mae_and_the_values_to_plot(plane):
    ds, model = plane
    ev = evaluate(model, ds.x_test, ds.y_test, ds.n_classes)
    predicted = np.asarray(model.predict(ds.x_test), dtype=np.float64)
    assert ev.is_regression and ev.accuracy is None and ev.confusion.shape == (0, 0)
    assert ev.r2 == pytest.approx(metric_value("r2", predicted, ds.y_test.astype(np.float64)))
    assert ev.mae == pytest.approx(float(np.mean(np.abs(predicted - ds.y_test))), rel=1e-6)
    np.testing.assert_allclose(ev.true, ds.y_test[:, 0])
    np.testing.assert_allclose(ev.predicted, predicted[:, 0])
    assert set(ev.metrics()) == {"loss", "accuracy", "r2", "mae"} and ev.metrics()["r2"] == pytest.approx(ev.r2)


def test_classification_evaluation_works_for_three_classes():
    ds = datasets.from_csv("data/examples/iris.csv", test_fraction=0.2)
    config = spec.dense_config(input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs,
                               hidden=[spec.HiddenLayer(8, "relu")], output_activation="softmax", loss="cse",
                               optimizer="adam", lr=0.01)
    model = spec.build(config)
    ev = evaluate(model, ds.x_test, ds.y_test, ds.n_classes)
    assert ev.confusion.shape == (3, 3) and ev.confusion.sum() == ds.n_test == 30
    assert not ev.is_regression


def test_same_input_compares_transforms_but_not_reshapes():
    def cfg(t):
        return {"input_transform": None if t is None else transforms.get_config(t)}

    features = transforms.Features2D(("x1", "x2", "sin(x1)", "sin(x2)"))
    assert spec.same_input(cfg(features), cfg(transforms.Features2D(("x1", "x2", "sin(x1)", "sin(x2)"))))
    # as many inputs, other features: another model
    assert not spec.same_input(cfg(features), cfg(transforms.Features2D(("x1", "x2", "x1^2", "x2^2"))))
    assert not spec.same_input(cfg(transforms.Standardize([0.0, 1.0], [1.0, 2.0])),
                               cfg(transforms.Standardize([0.0, 1.5], [1.0, 2.0])))
    scale = transforms.Rescale(1 / 255)
    assert spec.same_input(cfg(scale), cfg(transforms.Chain([scale, transforms.Reshape((784,))])))
    assert spec.same_input(cfg(None), cfg(None)) and not spec.same_input(cfg(None), cfg(scale))


def test_cross_entropy_on_a_numeric_target_is_a_problem_with_a_sentence():
    ds = datasets.get("reg-plane")

    def problems(out, loss, metrics):
        return spec.validate(spec.dense_config(
            input_shape=ds.input_shape, transform=ds.transform, outputs=1, hidden=[spec.HiddenLayer(4, "tanh")],
            output_activation=out, loss=loss, optimizer="adam", lr=0.01, metrics=metrics))

    assert problems("linear", "mse", ["r2", "mae"]) == {}
    bad = problems("sigmoid", "cse", ["r2", "mae"])
    assert "numeric target" in bad["loss"] and "mean squared error" in bad["loss"]
    assert "loss" not in problems("sigmoid", "cse", ["accuracy"])  # a one-unit classifier may use it


def test_task_summary_counts_classes_and_ranges_targets():
    iris = datasets.from_csv("data/examples/iris.csv", test_fraction=0.2)
    t = D.task_summary(iris)
    assert t.class_names == ("setosa", "versicolor", "virginica") and sum(t.counts) == 120
    assert [c for _, c, _ in t.balance()] == list(np.bincount(iris.y))
    assert t.sentence() == "classification of 'species' into 3 classes"
    plane = datasets.get("reg-plane")
    r = D.task_summary(plane)
    assert r.kind == "regression" and r.low == pytest.approx(float(plane.y.min()))
    assert r.high == pytest.approx(float(plane.y.max())) and "regression of 'target'" in r.sentence()


def test_data_family():
    assert D.data_family(datasets.get("spiral")) == "points"
    assert D.data_family(datasets.from_csv("data/examples/housing_like.csv")) == "table"


def test_csv_preview_shows_the_file_as_text_also_with_holes():
    frame = D.csv_preview(b"a;b;label\n1;;x\n3;4;y\n5;6;z\n", rows=2)
    assert list(frame.columns) == ["a", "b", "label"] and len(frame) == 2
    assert frame.iloc[0].tolist() == ["1", "", "x"]
    assert D.csv_header(b"width, height ,colour\n1,2,red\n") == ["width", "height", "colour"]
    assert D.csv_preview(b"") is None

"""nncore.studio.runs: the per-session run registry behind the Runs page."""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from nncore.studio import spec
from nncore.studio.evaluation import evaluate
from nncore.studio.runs import RunRegistry, describe_model


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def _model(neurons=8, act="relu", lr=1e-3, opt="adam", seed=0, epochs=1, val=True, momentum=None):
    m = spec.build(spec.dense_config(input_shape=(784,), transform=None, outputs=10,
                                     hidden=[spec.HiddenLayer(neurons, act)], output_activation="softmax",
                                     loss="cse", optimizer=opt, lr=lr, momentum=momentum, seed=seed))
    if epochs:
        x, y = _data()
        kw = dict(val_x=x[:20], val_y=y[:20]) if val else {}
        m.train(x, y, epochs=epochs, batch_size=32, verbose=0, **kw)
    return m


SETTINGS = {"n_samples": 2000, "val_fraction": 0.1, "batch_size": 32}


def test_record_adds_a_run_with_an_independent_copy():
    reg = RunRegistry()
    m = _model()
    run = reg.record(m, settings=SETTINGS, test={"loss": 2.0, "accuracy": 0.2})
    assert len(reg) == 1 and run.id == 1 and run.name == "Run 1"
    assert run.model is not m
    np.testing.assert_array_equal(run.model.layers[0].weights, m.layers[0].weights)
    m.layers[0].weights[:] = 0  # the live model keeps changing; the stored run must not
    assert np.abs(run.model.layers[0].weights).sum() > 0
    assert run.epochs == 1 and run.history["loss"] == m.history["loss"]


def test_training_the_same_model_again_updates_its_run():
    reg = RunRegistry()
    m = _model()
    reg.record(m, settings=SETTINGS)
    x, y = _data()
    m.train(x, y, epochs=2, batch_size=32, verbose=0)
    run = reg.record(m, settings=SETTINGS, status="stopped")
    assert len(reg) == 1
    assert run.epochs == 3 and run.status == "stopped"
    other = _model(seed=1)
    reg.record(other, settings=SETTINGS)
    assert len(reg) == 2 and reg.ids() == [1, 2]


def test_restored_model_continues_as_a_new_run():
    reg = RunRegistry()
    m = _model()
    first = reg.record(m, settings=SETTINGS)
    clone = reg.restore(first.id)
    assert clone is not first.model
    x, y = _data()
    clone.train(x, y, epochs=1, batch_size=32, verbose=0)
    cont = reg.record(clone, settings=SETTINGS)
    assert cont.id == 2 and cont.parent == 1
    assert "continues Run 1" in cont.name
    assert first.epochs == 1 and cont.epochs == 2  # the stored run did not change
    assert first.history is first.model.history  # rows read the model's own record


def test_rename_delete_and_unknown_ids():
    reg = RunRegistry()
    reg.record(_model(), settings=SETTINGS)
    reg.record(_model(seed=1), settings=SETTINGS)
    assert reg.rename(1, "  wide   relu  ") and reg.get(1).name == "wide relu"
    assert not reg.rename(1, "   ")  # an empty name is refused
    assert reg.get(1).name == "wide relu"
    assert not reg.rename(99, "x")
    assert reg.rename(2, "y" * 200) and len(reg.get(2).name) == 60
    assert reg.delete(1) and reg.ids() == [2]
    assert not reg.delete(1)
    with pytest.raises(KeyError):
        reg.restore(1)


def test_at_most_max_runs_are_kept_oldest_dropped_first():
    reg = RunRegistry(max_runs=3)
    for s in range(5):
        reg.record(_model(seed=s, epochs=0))
    assert reg.ids() == [3, 4, 5]
    assert len(reg.dropped) == 2 and "at most 3 runs" in reg.dropped[0]


def test_models_of_old_runs_are_released_beyond_the_parameter_budget():
    one = _model(epochs=0).total_parameters
    reg = RunRegistry(max_kept_parameters=2 * one)
    for s in range(3):
        reg.record(_model(seed=s, epochs=0))
    kept = [r.model_kept for r in reg]
    assert kept == [False, True, True]
    assert reg.kept_parameters == 2 * one
    with pytest.raises(ValueError, match="released"):
        reg.restore(1)
    assert reg.get(1).history["epoch"] == []  # the record outlives the released model (untrained here)
    assert "Run 1" in reg.dropped[-1]


def test_table_columns_and_values():
    reg = RunRegistry()
    m = _model(neurons=8, act="tanh", lr=0.01, opt="sgd", momentum=0.9)
    reg.record(m, settings=SETTINGS, test={"loss": 1.5, "accuracy": 0.42})
    reg.record(_model(val=False), settings=SETTINGS)
    df = reg.table()
    assert list(df.index) == [1, 2]
    row = df.loc[1]
    assert row["Name"] == "Run 1" and bool(row["Show"])
    assert row["Network"] == "784-8-10"
    assert row["Hidden layers"] == "8 tanh"
    assert row["Optimizer"] == "sgd, lr 0.01, momentum 0.9"
    assert row["Batch"] == 32 and row["Samples"] == 2000 and row["Epochs"] == 1
    assert row["Test acc"] == pytest.approx(0.42) and row["Test loss"] == pytest.approx(1.5)
    assert row["Train acc"] == pytest.approx(m.history["accuracy"][-1])
    assert math.isnan(df.loc[2, "Val acc"]) and math.isnan(df.loc[2, "Test acc"])
    pct = reg.table(percent=True)
    assert pct.loc[1, "Test acc"] == pytest.approx(42.0) and pct.loc[1, "Test loss"] == pytest.approx(1.5)


def test_csv_round_trips_and_has_reproduction_settings():
    reg = RunRegistry()
    reg.record(_model(), settings=SETTINGS, test={"loss": 1.0, "accuracy": 0.5})
    reg.rename(1, "baseline, with comma")
    df = pd.read_csv(io.StringIO(reg.to_csv()))
    assert df.loc[0, "Name"] == "baseline, with comma"
    for col in ("Run", "Seed", "Validation split", "Parameters", "Test acc", "Epochs"):
        assert col in df.columns
    assert "Show" not in df.columns
    assert df.loc[0, "Test acc"] == pytest.approx(0.5)


def test_curves_long_form_follows_ticks():
    reg = RunRegistry()
    reg.record(_model(epochs=2), settings=SETTINGS)
    reg.record(_model(epochs=3, val=False, seed=1), settings=SETTINGS)
    c = reg.curves()
    assert set(c["run"]) == {1, 2}
    assert len(c[(c.run == 1) & (c.split == "train")]) == 2
    assert len(c[(c.run == 1) & (c.split == "validation")]) == 2
    assert len(c[(c.run == 2) & (c.split == "validation")]) == 0  # no validation data
    assert list(c[(c.run == 2) & (c.split == "train")]["epoch"]) == [1, 2, 3]
    reg.set_shown(1, False)
    assert set(reg.curves()["run"]) == {2}
    assert reg.curves([1])["loss"].notna().all()


def test_describe_and_evaluate():
    m = _model(neurons=8)
    facts = describe_model(m)
    assert facts["network"] == "784-8-10" and facts["parameters"] == m.total_parameters
    x, y = _data(50, seed=3)
    ev = evaluate(m, x, y, n_classes=10)
    assert 0 <= ev.accuracy <= 1 and ev.loss > 0 and ev.n == 50
    assert ev.confusion.sum() == 50 and ev.n_wrong == len(ev.mistakes["index"]) or ev.n_wrong > 24
    assert ev.accuracy == pytest.approx(m.evaluate(x, y)["accuracy"])
    assert ev.metrics() == {"loss": ev.loss, "accuracy": ev.accuracy}

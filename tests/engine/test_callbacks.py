"""Callbacks (EarlyStopping, ReduceLROnPlateau, LearningRateScheduler) and learning-rate schedules.

Runs are deterministic by construction: one linear unit y = w·x (w starts at 0) trained by full-batch
gradient descent towards w = 2 while the validation targets say w = 1. With x = ±1 and lr = 0.1 the
weight after epoch t is w_t = 2·(1 − 0.8^t) = 0.4, 0.72, 0.976, 1.181, 1.345, ... so the validation
loss (w − 1)² falls for three epochs and then rises for ever: the best epoch is 3.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import nncore.model
from nncore import FFL, NN
from nncore import callbacks as cbs
from nncore import schedules
from nncore.callbacks import Callback, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau
from nncore.schedules import CosineDecay, ExponentialDecay, StepDecay

X = np.array([[1.0], [-1.0], [1.0], [-1.0]])
Y, VAL_Y = 2 * X, X


def _line(lr=0.1, opt="iterative"):
    m = NN(seed=0, dtype="float64")
    m.add(FFL(1, 1, weights=np.zeros((1, 1)), is_bias=False, activation="linear"))
    m.compile_model(lr=lr, opt=opt, loss="mse")
    return m


def _fit(m, epochs, callbacks=(), **kw):
    return m.train(X, Y, epochs=epochs, batch_size=len(X), shuffle=False, val_x=X, val_y=VAL_Y,
                   callbacks=list(callbacks), verbose=0, **kw)


def _w(m):
    return float(m.layers[0].weights[0, 0])


def test_the_construction_has_its_best_validation_loss_at_epoch_3():
    m = _line()
    h = _fit(m, 6).history
    np.testing.assert_allclose([_w(m)], [2 * (1 - 0.8**6)], rtol=1e-12)
    expected = [(2 * (1 - 0.8**t) - 1) ** 2 for t in range(1, 7)]
    np.testing.assert_allclose(h["val_loss"], expected, rtol=1e-10)
    assert int(np.argmin(h["val_loss"])) + 1 == 3


# ---------------------------------------------------------------------- EarlyStopping
def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    m = _line()
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = _fit(m, 50, [stop]).history
    assert h["epoch"] == [1, 2, 3, 4, 5]  # epochs 4 and 5 did not improve on epoch 3
    assert (stop.best_epoch, stop.stopped_epoch) == (3, 5)
    assert stop.best == h["val_loss"][2]
    assert m.stop_training
    reference = _line()
    _fit(reference, 3)
    assert np.array_equal(m.get_weights()[0], reference.get_weights()[0])  # epoch-3 weights, bit for bit
    assert m.epoch == 5  # the epochs ran; only the weights went back


def test_early_stopping_patience_zero_stops_at_the_first_epoch_without_improvement():
    m = _line()
    stop = EarlyStopping(patience=0)
    h = _fit(m, 50, [stop]).history
    assert h["epoch"] == [1, 2, 3, 4]
    assert (stop.best_epoch, stop.stopped_epoch) == (3, 4)
    np.testing.assert_allclose([_w(m)], [2 * (1 - 0.8**4)], rtol=1e-12)  # not restored


def test_early_stopping_min_delta_counts_small_gains_as_no_improvement():
    m = _line()
    # val_loss: 0.36, 0.078, 0.00058, 0.033: the gain at epoch 3 (0.078) is below min_delta 0.1
    stop = EarlyStopping(patience=2, min_delta=0.1, restore_best_weights=True)
    h = _fit(m, 50, [stop]).history
    assert (stop.best_epoch, stop.stopped_epoch, len(h["epoch"])) == (2, 4, 4)
    np.testing.assert_allclose([_w(m)], [2 * (1 - 0.8**2)], rtol=1e-12)


def test_early_stopping_restores_at_train_end_even_without_stopping():
    m = _line()
    stop = EarlyStopping(patience=10, restore_best_weights=True)
    h = _fit(m, 6, [stop]).history
    assert len(h["epoch"]) == 6 and stop.stopped_epoch == 0 and stop.best_epoch == 3
    np.testing.assert_allclose([_w(m)], [2 * (1 - 0.8**3)], rtol=1e-12)


def test_early_stopping_mode_max_and_auto():
    m = _line()
    stop = EarlyStopping(monitor="val_loss", patience=0, mode="max")  # rising val_loss is "better"
    _fit(m, 6, [stop])
    assert stop.best_epoch == 1 and stop.stopped_epoch == 2
    assert cbs.resolve_mode("val_accuracy", "auto") == "max"
    assert cbs.resolve_mode("r2", "auto") == "max"
    assert cbs.resolve_mode("val_mae", "auto") == "min"
    assert cbs.resolve_mode("loss", "auto") == "min"


def test_early_stopping_state_resets_for_each_train_call():
    m = _line()
    stop = EarlyStopping(patience=0)
    _fit(m, 50, [stop])
    assert stop.stopped_epoch == 4
    _fit(m, 50, [stop])  # a new call: the first epoch is an improvement over nothing
    assert m.epoch == 6 and stop.best_epoch == 5 and stop.stopped_epoch == 6


@pytest.mark.parametrize("monitor,missing", [("val_loss", "no validation data"), ("val_acc", "does not record")])
def test_missing_monitor_fails_at_train_begin_naming_the_available_keys(monitor, missing):
    m = _line()
    weights = m.get_weights()
    for cb in (EarlyStopping(monitor=monitor), ReduceLROnPlateau(monitor=monitor)):
        with pytest.raises(ValueError, match=missing) as info:
            m.train(X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[cb], **(
                {"val_x": X, "val_y": VAL_Y} if monitor == "val_acc" else {}))
        assert "'loss', 'data_loss', 'mae'" in str(info.value)
        assert type(cb).__name__ in str(info.value)
    assert m.epoch == 0 and m.history["epoch"] == [] and m.batch_history["step"] == []
    assert np.array_equal(m.get_weights()[0], weights[0])


@pytest.mark.parametrize(
    "kwargs,words",
    [({"patience": -1}, "patience"), ({"patience": 1.5}, "patience"), ({"min_delta": -0.1}, "min_delta"),
     ({"mode": "up"}, "mode"), ({"monitor": 3}, "monitor"), ({"monitor": ""}, "monitor"),
     ({"restore_best_weights": "yes"}, "restore_best_weights")],
)
def test_early_stopping_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        EarlyStopping(**kwargs)


# ---------------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_lr_on_plateau_lowers_the_rate_in_the_history():
    m = _line()
    reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.04)
    h = _fit(m, 8, [reduce]).history
    # epoch 4 is the first without improvement → 0.05 from epoch 5; epoch 5 → max(0.025, 0.04) = 0.04;
    # then the rate is at min_lr and stays
    assert h["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.04, 0.04, 0.04])
    assert reduce.reductions == [(4, pytest.approx(0.05)), (5, pytest.approx(0.04))]
    # the new rate applies from the first batch of the next epoch
    assert m.batch_history["lr"] == h["lr"]  # one batch per epoch here
    assert m.lr == pytest.approx(0.04)


def test_reduce_lr_on_plateau_patience_and_cooldown():
    # Keras semantics: the cooldown counter is decremented before an epoch is judged, so cooldown=1
    # only resets the wait; with cooldown=2 one epoch after a reduction is not counted
    expected = {0: [5, 7, 9], 1: [5, 7, 9], 2: [5, 8]}
    for cooldown, epochs in expected.items():
        m = _line()
        reduce = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=cooldown, min_delta=0.0)
        h = _fit(m, 9, [reduce]).history
        assert [e for e, _ in reduce.reductions] == epochs, cooldown
    assert h["lr"] == pytest.approx([0.1] * 5 + [0.05] * 3 + [0.025])


def test_reduce_lr_on_plateau_with_batches_switches_at_the_first_batch_of_the_next_epoch():
    x = np.array([[1.0], [-1.0]] * 4)  # 4 batches of 2: each step multiplies (w − 2) by 1 − 2·lr = 0.9
    m = _line(lr=0.05)
    reduce = ReduceLROnPlateau(factor=0.1, patience=1)
    h = m.train(x, 2 * x, epochs=5, batch_size=2, shuffle=False, val_x=x, val_y=x, callbacks=[reduce], verbose=0).history
    # w after epoch t is 2·(1 − 0.9^(4t)) = 0.69, 1.14, 1.44: the validation loss (w − 1)² rises at epoch 3
    np.testing.assert_allclose(h["val_loss"][:3], [(1 - 2 * 0.9 ** (4 * t)) ** 2 for t in (1, 2, 3)], rtol=1e-10)
    assert reduce.reductions[0] == (3, pytest.approx(0.005))
    lrs = np.array(m.batch_history["lr"]).reshape(5, 4)
    assert np.all(lrs[:3] == 0.05) and np.all(lrs[3] == pytest.approx(0.005))
    assert h["lr"][:4] == pytest.approx([0.05, 0.05, 0.05, 0.005])


@pytest.mark.parametrize(
    "kwargs,words",
    [({"factor": 1.0}, "factor"), ({"factor": 0}, "factor"), ({"patience": -2}, "patience"),
     ({"min_lr": -1}, "min_lr"), ({"cooldown": "1"}, "cooldown"), ({"min_delta": float("nan")}, "min_delta"),
     ({"mode": None}, "mode")],
)
def test_reduce_lr_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ReduceLROnPlateau(**kwargs)


# ---------------------------------------------------------------------- LearningRateScheduler
def _batched_model():
    m = NN(seed=0)
    m.add(FFL(3, 4, activation="tanh"))
    m.add(FFL(neurons=2, activation="softmax"))
    m.compile_model(lr=0.5, opt="sgd", loss="cse")
    rng = np.random.default_rng(0)
    return m, rng.normal(size=(30, 3)), rng.integers(0, 2, 30)


@pytest.mark.parametrize(
    "schedule,expected",
    [(StepDecay(0.1, drop=0.5, every=2), [0.1, 0.1, 0.05, 0.05, 0.025]),
     (lambda epoch: 0.01 * epoch, [0.01, 0.02, 0.03, 0.04, 0.05]),
     (lambda epoch, lr: lr * 0.5, [0.25, 0.125, 0.0625, 0.03125, 0.015625]),
     ({"name": "exponential", "config": {"initial_lr": 0.2, "rate": 0.5}}, [0.2, 0.1, 0.05, 0.025, 0.0125])],
)
def test_scheduler_sets_each_epoch_rate_from_its_first_batch(schedule, expected):
    m, x, y = _batched_model()
    h = m.train(x, y, epochs=5, batch_size=10, callbacks=[LearningRateScheduler(schedule)], verbose=0).history
    assert h["lr"] == pytest.approx(expected)
    assert m.batch_history["lr"] == pytest.approx(np.repeat(expected, 3).tolist())  # 3 batches per epoch


def test_scheduler_counts_epochs_on_over_train_calls():
    m, x, y = _batched_model()
    sched = LearningRateScheduler(StepDecay(0.1, drop=0.1, every=2))
    m.train(x, y, epochs=2, batch_size=10, callbacks=[sched], verbose=0)
    h = m.train(x, y, epochs=2, batch_size=10, callbacks=[sched], verbose=0).history
    assert h["epoch"] == [3, 4] and h["lr"] == pytest.approx([0.01, 0.01])


def test_scheduler_rejects_a_non_positive_rate_before_training():
    m, x, y = _batched_model()
    sched = LearningRateScheduler(CosineDecay(0.1, epochs=3))  # reaches 0 at epoch 4
    with pytest.raises(ValueError, match="epoch 4"):
        m.train(x, y, epochs=5, batch_size=10, callbacks=[sched], verbose=0)
    assert m.epoch == 0 and m.batch_history["step"] == [] and m.lr == 0.5
    with pytest.raises(ValueError, match="returned nan for epoch 1"):
        m.train(x, y, epochs=1, batch_size=10, callbacks=[LearningRateScheduler(lambda e, lr: math.nan)], verbose=0)
    with pytest.raises(ValueError, match="returned 'fast'"):
        m.train(x, y, epochs=1, callbacks=[LearningRateScheduler(lambda e: "fast")], verbose=0)


def test_scheduler_bad_arguments():
    with pytest.raises(ValueError, match="schedule must be a function"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="3 required arguments"):
        LearningRateScheduler(lambda a, b, c: 0.1)
    with pytest.raises(ValueError, match="Unknown schedule 'linear'"):
        LearningRateScheduler({"name": "linear", "config": {}})


# ---------------------------------------------------------------------- configs and registry
def test_callback_configs_round_trip():
    items = [
        EarlyStopping(monitor="val_accuracy", patience=3, min_delta=0.01, restore_best_weights=True, mode="max"),
        ReduceLROnPlateau(monitor="loss", factor=0.2, patience=4, min_delta=0.0, min_lr=1e-5, cooldown=2),
        LearningRateScheduler(CosineDecay(0.1, epochs=20, min_lr=0.001)),
    ]
    for cb in items:
        config = cbs.get_config(cb)
        again = cbs.from_config(config)
        assert type(again) is type(cb) and again.get_config() == cb.get_config()
    assert items[0].get_config() == {"monitor": "val_accuracy", "patience": 3, "min_delta": 0.01,
                                     "restore_best_weights": True, "mode": "max"}
    assert items[2].get_config() == {"schedule": {"name": "cosine", "config": {"initial_lr": 0.1, "epochs": 20, "min_lr": 0.001}}}


def test_function_schedule_is_named_but_cannot_be_rebuilt():
    def halve(epoch):
        return 0.1 / epoch

    sched = LearningRateScheduler(halve)
    assert sched.get_config() == {"schedule": "halve"}
    with pytest.raises(ValueError, match="functions cannot be restored"):
        LearningRateScheduler.from_config(sched.get_config())


def test_callback_registry():
    assert isinstance(cbs.get("early_stopping", patience=2), EarlyStopping)
    assert isinstance(cbs.get("reduce_lr_on_plateau"), ReduceLROnPlateau)
    assert isinstance(cbs.get("lr_scheduler", schedule=StepDecay(0.1)), LearningRateScheduler)
    with pytest.raises(ValueError, match="'early_stopping', 'reduce_lr_on_plateau', 'lr_scheduler'"):
        cbs.get("checkpoint")
    with pytest.raises(ValueError, match="Bad arguments for callback 'early_stopping'"):
        cbs.get("early_stopping", patients=2)
    with pytest.raises(ValueError, match="built-in callbacks"):
        cbs.get_config(Callback())


def test_callback_base_is_the_models():
    assert Callback is nncore.model.Callback
    assert issubclass(EarlyStopping, Callback) and issubclass(LearningRateScheduler, Callback)


# ---------------------------------------------------------------------- schedules
def test_schedule_values():
    step = StepDecay(0.1, drop=0.5, every=10)
    assert [step(e) for e in (1, 10, 11, 20, 21)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    exp = ExponentialDecay(1.0, rate=0.9)
    assert [exp(e) for e in (1, 2, 3)] == pytest.approx([1.0, 0.9, 0.81])
    cos = CosineDecay(0.1, epochs=4, min_lr=0.02)
    assert [cos(e) for e in (1, 3, 5, 9)] == pytest.approx([0.1, 0.06, 0.02, 0.02])
    assert cos(2) == pytest.approx(0.02 + 0.08 * (1 + math.cos(math.pi / 4)) / 2)
    assert all(cos(e) >= cos(e + 1) for e in range(1, 8))


@pytest.mark.parametrize("epoch", [0, -1, 1.0, True, "1"])
def test_schedule_epochs_count_from_one(epoch):
    with pytest.raises(ValueError, match="epoch must be an integer ≥ 1"):
        StepDecay(0.1)(epoch)


@pytest.mark.parametrize(
    "make,words",
    [(lambda: StepDecay(0.0), "initial_lr"), (lambda: StepDecay(0.1, drop=1.5), "drop"),
     (lambda: StepDecay(0.1, every=0), "every"), (lambda: ExponentialDecay(0.1, rate=0), "rate"),
     (lambda: ExponentialDecay(0.1, rate=2), "rate"), (lambda: CosineDecay(0.1, epochs=0), "epochs"),
     (lambda: CosineDecay(0.1, epochs=5, min_lr=0.2), "min_lr"), (lambda: CosineDecay(-0.1, epochs=5), "initial_lr")],
)
def test_schedule_bad_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_schedule_registry_and_configs():
    for s in (StepDecay(0.1, drop=0.3, every=4), ExponentialDecay(0.05, rate=0.8), CosineDecay(0.1, epochs=7, min_lr=0.01)):
        again = schedules.from_config(schedules.get_config(s))
        assert type(again) is type(s) and again.get_config() == s.get_config()
        assert type(s).from_config(s.get_config()).get_config() == s.get_config()
        assert [again(e) for e in range(1, 12)] == [s(e) for e in range(1, 12)]
    assert isinstance(schedules.get("step", initial_lr=0.1), StepDecay)
    assert isinstance(schedules.get("COSINE", initial_lr=0.1, epochs=3), CosineDecay)
    with pytest.raises(ValueError, match="Valid schedules are: 'step', 'exponential', 'cosine'"):
        schedules.get("linear")
    with pytest.raises(ValueError, match="Bad arguments for schedule 'exponential'"):
        schedules.get("exponential", initial_lr=0.1)

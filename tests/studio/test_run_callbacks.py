"""nncore.studio.run_callbacks (the sidebar's schedule and early stopping as engine callbacks) and
l2 in the sidebar's network spec."""
from __future__ import annotations

import numpy as np
import pytest

from nncore import FFL, NN
from nncore.callbacks import EarlyStopping, LearningRateScheduler, ReduceLROnPlateau
from nncore.studio import run_callbacks as RC
from nncore.studio import spec
from nncore.studio.spec import HiddenLayer, TrainSettings


class Model:
    epoch = 4


def test_no_settings_no_callbacks_and_unknown_names_are_refused():
    assert RC.run_callbacks(TrainSettings(), Model(), 3, True) == []
    with pytest.raises(ValueError, match="Unknown learning-rate schedule 'warp'; choose one of none, step"):
        RC.schedule_callback("warp", 1, 3, True)
    assert "schedule" in spec.validate_training(TrainSettings(schedule="warp"))
    assert "patience" in spec.validate_training(TrainSettings(patience=-1))


@pytest.mark.parametrize("name, factors", [
    ("step", [1.0, 1.0, 0.5, 1.0, 0.5]),        # halve every 2 epochs of the run
    ("exponential", [1.0, 0.8, 0.8, 0.8, 0.8]),
])
def test_schedules_scale_the_rate_in_force_from_the_runs_first_epoch(name, factors):
    cb = RC.run_callbacks(TrainSettings(schedule=name), Model(), 5, True)[0]
    assert isinstance(cb, LearningRateScheduler)
    rate = cb.schedule
    lr = 0.1
    for epoch, factor in zip(range(5, 10), factors):  # the model has 4 epochs: this run starts at 5
        new = rate(epoch, lr)
        assert new == pytest.approx(lr * factor)
        lr = new


def test_cosine_reaches_one_percent_at_the_last_epoch_and_keeps_a_users_change():
    rate = RC.run_callbacks(TrainSettings(schedule="cosine"), Model(), 5, True)[0].schedule
    lr = 0.1
    for epoch in range(5, 10):
        lr = rate(epoch, lr)
    assert lr == pytest.approx(0.001)
    # a rate the user set meanwhile is scheduled on from there: the same ratio applies
    assert rate(7, 0.5) / 0.5 == pytest.approx(rate(7, 0.1) / 0.1)


def test_plateau_and_early_stopping_watch_the_validation_loss_else_the_training_loss():
    cbs = RC.run_callbacks(TrainSettings(schedule="plateau", patience=3, restore_best=False), Model(), 5, True)
    plateau, stop = cbs
    assert isinstance(plateau, ReduceLROnPlateau) and plateau.monitor == "val_loss"
    assert plateau.factor == RC.PLATEAU_FACTOR and plateau.patience == RC.PLATEAU_PATIENCE
    assert isinstance(stop, EarlyStopping) and stop.patience == 3 and not stop.restore_best_weights
    (stop,) = RC.run_callbacks(TrainSettings(patience=1), Model(), 5, False)
    assert stop.monitor == "loss" and stop.restore_best_weights


def test_a_schedule_changes_the_recorded_rate_in_a_real_run():
    m = NN(seed=0)
    m.add(FFL(4, 6, activation="relu"))
    m.add(FFL(neurons=3, activation="softmax"))
    m.compile_model(lr=0.1, opt="sgd", loss="cse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)), rng.integers(0, 3, 32)
    m.train(x, y, epochs=4, batch_size=16, verbose=0,
            callbacks=RC.run_callbacks(TrainSettings(schedule="step"), m, 4, False))
    assert m.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def _config(l2: float):
    return spec.dense_config(input_shape=(4,), transform=None, outputs=3, hidden=[HiddenLayer(6, "relu")],
                             output_activation="softmax", loss="cse", optimizer="adam", lr=1e-3, l2=l2)


def test_l2_is_in_every_dense_layer_of_the_spec_reads_back_and_is_not_architecture():
    cfg = _config(0.001)
    model = spec.build(cfg)
    assert [layer.l2 for layer in model.layers] == [0.001, 0.001]
    back = model.get_config()
    assert spec.read_dense(back).l2 == 0.001 and spec.l2_of(back) == 0.001
    assert spec.same_architecture(back, _config(0.0))  # l2 can change while training: not architecture
    assert "l2 0.001" in spec.describe(back)["optimizer"]
    mixed = NN(seed=0)
    mixed.add(FFL(4, 3, activation="relu", l2=0.01))
    mixed.add(FFL(neurons=2, activation="softmax"))
    assert spec.l2_of(mixed.get_config()) is None
    with pytest.raises(spec.SpecError, match="one l2 value for all dense layers"):
        spec.read_dense(mixed.get_config())


def test_l2_menu_labels_are_short_and_exact():
    from nncore.studio.choices import L2_PRESETS, l2_label

    assert [l2_label(v) for v in L2_PRESETS] == ["off", "1e-5", "1e-4", "3e-4", "0.001", "0.003", "0.01", "0.03"]
    assert l2_label(2.5e-4) == "2.5e-4"

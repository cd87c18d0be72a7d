"""nncore.studio: the spec (config format, read back, validation), the UI choices and data preparation."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nncore import FFL, NN, activations, datasets, losses, metrics, optimizers
from nncore.studio import choices, data, spec
from nncore.studio.spec import HiddenLayer


def _config(**kw):
    ds = datasets.get("mnist")
    settings = dict(hidden=[HiddenLayer(32, "tanh", 0.25), HiddenLayer(16, "relu")], output_activation="softmax",
                    loss="cse", optimizer="sgd", lr=0.0007, momentum=0.5, seed=3)
    settings.update(kw)
    return spec.dense_config(input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs, **settings)


def test_the_spec_is_the_models_config_and_reads_back_exactly():
    cfg = _config()
    model = spec.build(cfg)
    back = model.get_config()
    assert spec.same_architecture(cfg, back)
    v = spec.read_dense(back)
    assert v.hidden == (HiddenLayer(32, "tanh", 0.25), HiddenLayer(16, "relu", 0.0))
    assert (v.output_activation, v.loss, v.optimizer, v.lr, v.momentum, v.seed) == ("softmax", "cse", "sgd", 0.0007, 0.5, 3)
    assert model.input_transform == datasets.get("mnist").transform  # trains on the raw uint8 images
    assert [type(l).__name__ for l in model.layers] == ["Flatten", "FFL", "Dropout", "FFL", "FFL"]
    assert spec.shape_text(back) == "784-32-16-10"
    assert spec.describe(back)["optimizer"] == "sgd, lr 0.0007, momentum 0.5"


def test_architecture_ignores_how_the_input_is_flattened_but_not_the_layers():
    v1 = NN(seed=0)  # the classic design: FFL(784) first, no Flatten, no transform
    v1.add(FFL(784, 32, activation="tanh"))
    v1.add(FFL(neurons=10, activation="softmax"))
    v1.compile_model(lr=0.01, opt="adam", loss="cse")
    same = _config(hidden=[HiddenLayer(32, "tanh")], optimizer="adam", lr=0.5)
    assert spec.same_architecture(v1.get_config(), same)  # compile settings are not architecture
    assert not spec.same_architecture(v1.get_config(), _config(hidden=[HiddenLayer(33, "tanh")]))
    assert not spec.same_architecture(v1.get_config(), _config(hidden=[HiddenLayer(32, "relu")]))
    assert not spec.same_architecture(v1.get_config(), _config(hidden=[HiddenLayer(32, "tanh", 0.1)]))


def test_read_dense_names_what_the_sidebar_cannot_show():
    m = NN(seed=0)
    m.add(FFL(4, 3, activation="relu", l2=0.01))
    m.add(FFL(neurons=2, activation="softmax"))
    with pytest.raises(spec.SpecError, match="l2"):
        spec.read_dense(m.get_config())


def test_validation_uses_the_engines_loss_rule():
    problems = spec.validate(_config(output_activation="sigmoid"))
    with pytest.raises(ValueError) as engine:
        losses.get("cse").check(activations.get("sigmoid"), 10)
    assert str(engine.value) in problems["loss"] and problems["loss"].startswith("Cross-entropy")
    assert spec.validate(_config(output_activation="sigmoid", loss="mse")) == {}
    # a single sigmoid unit with cross-entropy is fine for the engine, so for the studio too
    one = spec.dense_config(input_shape=(2,), transform=None, outputs=1, hidden=[], output_activation="sigmoid",
                            loss="cse", optimizer="adam", lr=1e-3)
    assert spec.validate(one) == {}
    assert "lr" in spec.validate(_config(lr=5.0))
    assert "momentum" in spec.validate(_config(momentum=1.0))
    assert "hidden1" in spec.validate(_config(hidden=[HiddenLayer(8), HiddenLayer(0)]))
    assert spec.validate(_config()) == {}


def test_validate_training_batch_larger_than_set():
    s = spec.TrainSettings(n_samples=1000, val_fraction=0.5, batch_size=512)
    msg = spec.validate_training(s)["batch_size"]
    assert "larger than the training set" in msg and "500" in msg
    assert spec.validate_training(spec.TrainSettings()) == {}
    assert "n_samples" in spec.validate_training(spec.TrainSettings(n_samples=70_000), available=60_000)


def test_choices_come_from_the_registries_with_a_sentence_each():
    assert set(choices.hidden_activations()) | {"softmax"} == set(activations.ACTIVATIONS)
    assert set(choices.output_activations()) == set(activations.ACTIVATIONS)
    assert choices.output_activations()[0] == "softmax"
    for a in activations.ACTIVATIONS:
        assert choices.HIDDEN_ACTIVATION_HELP[a] and choices.OUTPUT_ACTIVATION_HELP[a]
        assert choices.HIDDEN_ACTIVATION_HELP[a] != choices.OUTPUT_ACTIVATION_HELP[a]
    assert set(choices.LOSS_LABELS) == set(losses.LOSSES) == set(choices.LOSS_HELP)
    assert choices.optimizer_names() == list(optimizers.OPTIMIZERS)
    assert choices.metric_names() == list(metrics.METRICS)
    assert {"FFL", "Dropout", "Flatten"} <= set(choices.layer_types())
    assert "mnist" in choices.dataset_names()
    for name, cls in optimizers.OPTIMIZERS.items():
        o = choices.optimizer(name)
        assert (o.help, o.typical_lr, o.steerable) == (cls.help, cls.typical_lr, cls.steerable)
        assert o.uses_momentum_rate == optimizers.uses_momentum_rate(name)
        assert o.typical_lr in choices.learning_rates()
    assert choices.optimizer("sgd").default_momentum == optimizers.SGD().momentum  # the engine's default
    assert choices.default_momentum() == optimizers.SGD().momentum
    with pytest.raises(ValueError, match="Valid optimizers"):
        choices.optimizer("nope")


def test_a_loaded_value_shows_as_it_is():
    assert 0.0007 in choices.learning_rates(0.0007)
    assert 0.25 in choices.with_value(choices.DROPOUT_PRESETS, 0.25)
    assert choices.sample_sizes(60_000)[-1] == 60_000 and choices.sample_sizes(1500) == [1000, 1500]


def test_training_split_shares_read_only_raw_samples():
    ds = datasets.get("mnist")
    split = data.training_split(ds, 2000, 0.1, seed=0)
    assert split.x.dtype == ds.x.dtype == np.uint8  # no float copy: the model's transform scales per batch
    assert (split.n_train, split.n_val) == (1800, 200)
    assert not split.x.flags.writeable and not split.y.flags.writeable
    np.testing.assert_array_equal(split.x, ds.x[split.train_index])
    # the same samples as stratified_subset + train_val_split on the images themselves
    xs, ys = datasets.stratified_subset(ds.x, ds.y, 2000, seed=0)
    (xt, yt), (xv, yv) = datasets.train_val_split(xs, ys, 0.1, seed=0)
    np.testing.assert_array_equal(split.x, xt)
    np.testing.assert_array_equal(split.y_val, yv)
    assert np.bincount(split.y, minlength=10).min() > 150  # stratified


def test_a_format_1_model_is_fitted_to_the_dataset():
    ds = datasets.get("mnist")
    v1 = NN(seed=0)
    v1.add(FFL(784, 8, activation="relu"))
    v1.add(FFL(neurons=10, activation="softmax"))
    v1.compile_model(lr=0.01, opt="adam", loss="cse")
    scaled = datasets.scale(ds.x_test[:5])
    before = v1.predict(scaled)
    assert data.fit_to_dataset(v1, ds)
    np.testing.assert_allclose(v1.predict(ds.x_test[:5]), before, rtol=1e-6)  # raw images, same answers
    np.testing.assert_allclose(v1.predict(data.raw_input(v1, ds.x_test[0])), before[:1], rtol=1e-6)
    assert not data.fit_to_dataset(v1, ds)  # once is enough
    other = NN(seed=0)
    other.add(FFL(20, 3, activation="softmax"))
    assert "784 inputs" in data.mismatch(other, ds) and not data.fit_to_dataset(other, ds)


def test_studio_services_do_not_import_streamlit():
    code = ("import sys, nncore.studio.run, nncore.studio.runs, nncore.studio.spec, nncore.studio.choices, "
            "nncore.studio.data, nncore.studio.evaluation, nncore.studio.history; "
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

"""The network spec: the model's own config (``NN.get_config()`` format), made from the sidebar's
values, read back into them exactly, compared and validated with messages for people.

A spec is a plain dict ``{"dtype", "seed", "input_transform", "layers": [{"type", "config"}, ...],
"compile": {"optimizer": {"name", "config"}, "loss", "lr", "mr", "metrics"}}``; ``NN.from_config``
builds it. The sidebar edits a dense network (an optional Flatten, FFL layers with optional
Dropout, an FFL output): :func:`dense_config` writes one and :func:`read_dense` reads one back.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

from nncore import activations, losses, optimizers, transforms

from . import choices

#: most neurons one sidebar layer may have (the engine's parameter limit applies on top)
MAX_NEURONS = 4096
MAX_HIDDEN = 6


class SpecError(ValueError):
    """A config the sidebar cannot show (e.g. a layer type it does not edit)."""


@dataclass(frozen=True)
class HiddenLayer:
    """One hidden row of the sidebar: an FFL with this many neurons and activation, then Dropout(rate) if rate > 0."""

    neurons: int = 128
    activation: str = "relu"
    dropout: float = 0.0


@dataclass(frozen=True)
class DenseValues:
    """What the sidebar shows of a dense network spec (all read back exactly from a config)."""

    hidden: tuple[HiddenLayer, ...]
    output_activation: str
    loss: str
    optimizer: str
    lr: float
    momentum: float | None  # None when the optimizer has no momentum rate
    seed: int | None
    l2: float = 0.0  # the l2 coefficient of every dense layer


@dataclass(frozen=True)
class TrainSettings:
    """What can change between runs without touching the model."""

    n_samples: int = 10_000
    val_fraction: float = 0.1
    batch_size: int = 128
    epochs: int = 3
    #: learning-rate schedule: one of nncore.studio.run_callbacks.SCHEDULES ("none", "step", …)
    schedule: str = "none"
    #: early stopping: epochs without improvement before stopping (0 = off)
    patience: int = 0
    restore_best: bool = True

    @property
    def n_val(self) -> int:
        return int(round(self.n_samples * self.val_fraction))

    @property
    def n_train(self) -> int:
        return self.n_samples - self.n_val


# ----------------------------------------------------------------------------------------------
# Writing and reading
# ----------------------------------------------------------------------------------------------
def dense_config(
    *,
    input_shape: Sequence[int],
    transform: Any,
    outputs: int,
    hidden: Sequence[HiddenLayer],
    output_activation: str,
    loss: str,
    optimizer: str,
    lr: float,
    momentum: float | None = None,
    seed: int | None = 0,
    metrics: Sequence[str] | None = ("accuracy",),
    l2: float = 0.0,
) -> dict[str, Any]:
    """The config of a dense network on inputs of ``input_shape`` (after ``transform``): Flatten
    first when a sample is not flat, the hidden rows, an FFL output of ``outputs`` units; ``l2`` on
    the weights of every dense layer."""
    input_shape = [int(s) for s in input_shape]
    layers: list[dict[str, Any]] = []
    if len(input_shape) > 1:
        layers.append({"type": "Flatten", "config": {"input_shape": input_shape}})
        first_shape = None
    else:
        first_shape = input_shape
    for h in hidden:
        layers.append(_dense(first_shape, h.neurons, h.activation, l2))
        first_shape = None
        if h.dropout:
            layers.append({"type": "Dropout", "config": {"rate": float(h.dropout)}})
    layers.append(_dense(first_shape, outputs, output_activation, l2))
    opt_config: dict[str, Any] = {"lr": float(lr)}
    uses_momentum = optimizers.uses_momentum_rate(optimizer) if optimizer in optimizers.OPTIMIZERS else False
    if uses_momentum and momentum is not None:
        opt_config["momentum"] = float(momentum)
    return {
        "dtype": "float32",
        "seed": None if seed is None else int(seed),
        "input_transform": None if transform is None else transforms.get_config(transform),
        "layers": layers,
        "compile": {
            "optimizer": {"name": optimizer, "config": opt_config},
            "loss": loss,
            "lr": float(lr),
            "mr": float(momentum) if uses_momentum and momentum is not None else None,
            "metrics": None if metrics is None else list(metrics),
        },
    }


def _dense(input_shape: list[int] | None, neurons: int, activation: str, l2: float = 0.0) -> dict[str, Any]:
    return {"type": "FFL", "config": {"input_shape": input_shape, "neurons": int(neurons), "activation": activation,
                                      "is_bias": True, "l2": float(l2)}}


def l2_of(config: dict[str, Any]) -> float | None:
    """The l2 coefficient shared by all dense layers of ``config`` (None when they differ)."""
    values = {float((l.get("config") or {}).get("l2") or 0.0) for l in config.get("layers") or [] if l["type"] == "FFL"}
    return values.pop() if len(values) == 1 else (0.0 if not values else None)


def read_dense(config: dict[str, Any]) -> DenseValues:
    """The sidebar's values for ``config``, exactly (the learning rate as it is). SpecError names
    what the sidebar cannot show (another layer type, l2 that differs between layers, a layer
    without bias...)."""
    layers = list(config.get("layers") or [])
    if layers and layers[0]["type"] == "Flatten":
        layers = layers[1:]
    dense_idx = [i for i, l in enumerate(layers) if l["type"] == "FFL"]
    if not dense_idx or dense_idx[-1] != len(layers) - 1:
        raise SpecError("The sidebar edits networks that end with a dense (FFL) output layer.")
    hidden: list[HiddenLayer] = []
    for i, layer in enumerate(layers):
        kind, c = layer["type"], layer.get("config") or {}
        if kind == "Dropout":
            if not hidden or i == 0 or layers[i - 1]["type"] != "FFL":
                raise SpecError("The sidebar shows Dropout only right after a hidden dense layer.")
            last = hidden[-1]
            hidden[-1] = HiddenLayer(last.neurons, last.activation, float(c.get("rate", 0.0)))
            continue
        if kind != "FFL":
            raise SpecError(f"The sidebar does not edit {kind} layers.")
        if not c.get("is_bias", True):
            raise SpecError("The sidebar does not edit dense layers without bias.")
        if i != len(layers) - 1:
            hidden.append(HiddenLayer(int(c["neurons"]), c.get("activation") or "linear", 0.0))
    l2 = l2_of(config)
    if l2 is None:
        raise SpecError("The sidebar shows one l2 value for all dense layers; this network's layers have different ones.")
    out = layers[-1]["config"]
    name, lr, momentum = optimizer_settings(config)
    comp = config.get("compile") or {}
    return DenseValues(
        hidden=tuple(hidden),
        output_activation=out.get("activation") or "linear",
        loss=comp.get("loss") or "mse",
        optimizer=name,
        lr=lr,
        momentum=momentum,
        seed=config.get("seed"),
        l2=l2,
    )


def optimizer_settings(config: dict[str, Any]) -> tuple[str, float, float | None]:
    """(optimizer name, learning rate, momentum rate or None) of a config's compile settings."""
    comp = config.get("compile") or {}
    opt = comp.get("optimizer") or {}
    name = opt.get("name") or "sgd"
    opt_cfg = opt.get("config") or {}
    lr = float(opt_cfg.get("lr", comp.get("lr") or 0.01))
    momentum = None
    if name in optimizers.OPTIMIZERS and optimizers.uses_momentum_rate(name):
        momentum = float(opt_cfg.get("momentum", comp.get("mr") or 0.0))
    return name, lr, momentum


# ----------------------------------------------------------------------------------------------
# Comparing and describing
# ----------------------------------------------------------------------------------------------
def architecture(config: dict[str, Any]) -> str:
    """A key that is equal for two configs exactly when they compute the same function of the same
    input size: layer types and settings in order (a leading Flatten, where a layer's input shape
    is written and l2, a training setting that can change while training, do not count), and the
    number of input values."""
    layers = list(config.get("layers") or [])
    if not layers:
        return "[]"
    first = (layers[0].get("config") or {}).get("input_shape") or []
    size = math.prod(int(s) for s in first) if first else None
    if layers[0]["type"] == "Flatten":
        layers = layers[1:]
    body = [[l["type"], {k: _plain(v) for k, v in (l.get("config") or {}).items() if k not in ("input_shape", "l2")}]
            for l in layers]
    return json.dumps([size, body], sort_keys=True)


def _plain(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def same_architecture(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return a is not None and b is not None and architecture(a) == architecture(b)


def input_size(config: dict[str, Any]) -> int | None:
    layers = config.get("layers") or []
    shape = (layers[0].get("config") or {}).get("input_shape") if layers else None
    return math.prod(int(s) for s in shape) if shape else None


def shape_text(config: dict[str, Any]) -> str:
    """Input size and the units of every dense layer, e.g. ``784-128-64-10``."""
    sizes = [str(input_size(config) or "?")]
    for layer in config.get("layers") or []:
        if layer["type"] == "FFL":
            sizes.append(str(layer["config"]["neurons"]))
        elif layer["type"] not in ("Flatten", "Dropout"):
            sizes.append(choices.layer_types().get(layer["type"], layer["type"]))
    return "-".join(sizes)


def optimizer_text(config: dict[str, Any]) -> str:
    name, lr, momentum = optimizer_settings(config)
    l2 = l2_of(config)
    return (f"{name}, lr {lr:g}" + (f", momentum {momentum:g}" if momentum is not None else "")
            + (f", l2 {l2:g}" if l2 else ", l2 per layer" if l2 is None else ""))


def describe(config: dict[str, Any]) -> dict[str, Any]:
    """Plain facts for a table of runs: network, hidden, output, optimizer, seed."""
    try:
        v = read_dense(config)
        hidden = ", ".join(f"{h.neurons} {h.activation}" + (f" (dropout {h.dropout:g})" if h.dropout else "")
                           for h in v.hidden) or "none (linear classifier)"
        output = f"{v.output_activation} / {v.loss}"
    except SpecError:
        labels = choices.layer_types()
        hidden = ", ".join(labels.get(l["type"], l["type"]) for l in (config.get("layers") or [])[:-1])
        last = (config.get("layers") or [{}])[-1].get("config") or {}
        output = f"{last.get('activation', '?')} / {(config.get('compile') or {}).get('loss', '?')}"
    return {
        "network": shape_text(config),
        "hidden": hidden,
        "output": output,
        "optimizer": optimizer_text(config) if config.get("compile") else "not compiled",
        "seed": config.get("seed"),
    }


# ----------------------------------------------------------------------------------------------
# Validation: problems keyed by the setting they belong to, in sentences for people
# ----------------------------------------------------------------------------------------------
def validate(config: dict[str, Any]) -> dict[str, str]:
    """Problems with a dense spec, keyed "hidden<k>", "loss", "optimizer", "lr", "momentum"."""
    problems: dict[str, str] = {}
    k = -1
    layers = config.get("layers") or []
    dense = [l for l in layers if l["type"] == "FFL"]
    for layer in layers:
        c = layer.get("config") or {}
        if layer["type"] == "FFL" and layer is not dense[-1]:
            k += 1
            n = c.get("neurons")
            if not isinstance(n, int) or not 1 <= n <= MAX_NEURONS:
                problems[f"hidden{k}"] = f"Hidden layer {k + 1} needs between 1 and {MAX_NEURONS:,} neurons; it has {n}."
        elif layer["type"] == "Dropout" and not 0.0 <= float(c.get("rate", 0.0)) < 1.0:
            problems[f"hidden{k}"] = f"Hidden layer {k + 1}: dropout must be at least 0 and below 1."
    comp = config.get("compile") or {}
    name, lr, momentum = optimizer_settings(config)
    if name not in optimizers.OPTIMIZERS:
        problems["optimizer"] = f"Unknown optimizer {name!r}; choose one of {', '.join(optimizers.OPTIMIZERS)}."
    if not (lr > 0 and math.isfinite(lr)):
        problems["lr"] = "The learning rate must be a positive number."
    elif lr > 1.0:
        problems["lr"] = "A learning rate above 1 almost always diverges; use 1 or less."
    if momentum is not None and not 0.0 <= momentum < 1.0:
        problems["momentum"] = "The momentum rate must be at least 0 and below 1."
    if dense:
        out = dense[-1]["config"]
        loss = comp.get("loss")
        try:
            losses.get(loss).check(activations.get(out.get("activation")), int(out["neurons"]))
        except ValueError as exc:  # the engine's rule, said in the sidebar's words
            problems["loss"] = f"{choices.loss_label(loss).capitalize()} loss does not fit this output layer. {exc}"
    return problems


def validate_training(settings: TrainSettings, available: int | None = None) -> dict[str, str]:
    """Problems with the data/run settings, keyed "n_samples", "val_fraction", "batch_size", "epochs"."""
    problems: dict[str, str] = {}
    if settings.n_samples < 10:
        problems["n_samples"] = "Use at least 10 training samples."
    elif available is not None and settings.n_samples > available:
        problems["n_samples"] = f"The dataset has {available:,} samples; use at most that many."
    if not 0.0 <= settings.val_fraction < 0.9:
        problems["val_fraction"] = "The validation split must be between 0 and 0.9."
    if settings.batch_size < 1:
        problems["batch_size"] = "The batch size must be at least 1."
    elif settings.batch_size > settings.n_train:
        problems["batch_size"] = (
            f"The batch size ({settings.batch_size:,}) is larger than the training set "
            f"({settings.n_train:,} samples after the validation split). Lower the batch size or use "
            "more samples."
        )
    if settings.epochs < 1:
        problems["epochs"] = "Train at least one epoch."
    from .run_callbacks import SCHEDULES

    if settings.schedule not in SCHEDULES:
        problems["schedule"] = f"Unknown learning-rate schedule {settings.schedule!r}; choose one of {', '.join(SCHEDULES)}."
    if settings.patience < 0:
        problems["patience"] = "The early-stopping patience must be 0 (off) or more epochs."
    return problems


def build(config: dict[str, Any]) -> Any:
    """A new compiled model from ``config`` (``NN.from_config``)."""
    from nncore.model import NN

    return NN.from_config(config)

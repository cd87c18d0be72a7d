"""The options the UI offers and their help texts, derived from the engine's registries.

Lists come from the registries themselves (activations, optimizers, losses, metrics, layer types,
datasets), so a new entry there shows up here; the few sentences written for people live in this
one place, and a test checks that every registry entry has one.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from nncore import activations, losses, metrics, optimizers
from nncore.layers import LAYERS

#: one sentence per activation for a hidden layer
HIDDEN_ACTIVATION_HELP = {
    "linear": "linear: no non-linearity; stacked linear layers collapse to one.",
    "relu": "relu: max(0, x). Fast and the usual first choice.",
    "leaky_relu": "leaky_relu: like relu but lets a little signal through for x < 0.",
    "sigmoid": "sigmoid: squashes to 0..1. Learns slowly in deep networks.",
    "tanh": "tanh: squashes to -1..1.",
    "softmax": "softmax: turns the layer's outputs into probabilities that sum to 1.",
}
#: one sentence per activation in the role of the output layer
OUTPUT_ACTIVATION_HELP = {
    "softmax": "softmax: one probability per class, summing to 1 (pairs with cross-entropy).",
    "sigmoid": "sigmoid: each output between 0 and 1 on its own (one unit: binary cross-entropy).",
    "linear": "linear: raw scores, unbounded (pairs with mean squared error; regression).",
    "relu": "relu: scores clipped at 0 from below (mean squared error only).",
    "leaky_relu": "leaky_relu: scores, slightly negative below 0 (mean squared error only).",
    "tanh": "tanh: outputs between -1 and 1 (mean squared error only).",
}
#: what the loss menu shows for each registry name, and one sentence on it
LOSS_LABELS = {"cse": "cross-entropy", "mse": "mean squared"}
LOSS_HELP = {
    "cse": "Cross-entropy compares the predicted probabilities with the true class; it needs a softmax "
    "output (or one sigmoid unit for two classes).",
    "mse": "Mean squared error: the average squared difference between outputs and targets; works with any output.",
}
#: activations not offered for hidden layers (softmax couples the units of a layer)
_OUTPUT_ONLY = ("softmax",)
#: learning rates the menu always offers (the optimizers' typical rates and the current value join them)
LR_PRESETS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
DROPOUT_PRESETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
#: l2 coefficients the menu offers (weight decay on every dense layer; 0 = off)
L2_PRESETS = (0.0, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03)


def l2_label(value: float) -> str:
    """Short menu text of an l2 coefficient: "off", "1e-4", "0.003"."""
    if value == 0:
        return "off"
    if value >= 1e-3:
        return f"{value:g}"
    return f"{value:.1e}".replace(".0e", "e").replace("e-0", "e-")
BATCH_PRESETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
SAMPLE_PRESETS = (1_000, 2_000, 5_000, 10_000, 20_000, 30_000)


@dataclass(frozen=True)
class OptimizerChoice:
    name: str
    help: str
    typical_lr: float
    #: hyper-parameters besides lr that can change while training runs (e.g. ("momentum",))
    steerable: tuple[str, ...]
    uses_momentum_rate: bool
    default_momentum: float


def hidden_activations() -> list[str]:
    return [a for a in activations.ACTIVATIONS if a not in _OUTPUT_ONLY]


def output_activations() -> list[str]:
    """Every activation; the usual output choices first."""
    first = [a for a in ("softmax", "sigmoid", "linear") if a in activations.ACTIVATIONS]
    return first + [a for a in activations.ACTIVATIONS if a not in first]


def loss_names() -> list[str]:
    return list(losses.LOSSES)


def loss_label(name: str) -> str:
    return LOSS_LABELS.get(name, name)


def metric_names() -> list[str]:
    return list(metrics.METRICS)


def layer_types() -> dict[str, str]:
    """Registered layer class name → its short label ("FFL" → "Dense")."""
    return {name: cls.label for name, cls in LAYERS.items()}


def optimizer_names() -> list[str]:
    return list(optimizers.OPTIMIZERS)


def optimizer(name: str) -> OptimizerChoice:
    """Facts about optimizer ``name`` as its class declares them; ValueError for an unknown name."""
    cls = optimizers.OPTIMIZERS.get(name)
    if cls is None:
        valid = ", ".join(repr(k) for k in optimizers.OPTIMIZERS)
        raise ValueError(f"Unknown optimizer {name!r}. Valid optimizers are: {valid}.")
    uses = optimizers.uses_momentum_rate(name)
    default = inspect.signature(cls.__init__).parameters.get("momentum")
    momentum = float(default.default) if uses and default is not None else 0.0
    return OptimizerChoice(name, cls.help, float(cls.typical_lr), tuple(cls.steerable), uses, momentum)


def default_momentum() -> float:
    """The engine's default momentum rate (of the first optimizer that has one), for a fresh sidebar."""
    for name in optimizers.OPTIMIZERS:
        o = optimizer(name)
        if o.uses_momentum_rate:
            return o.default_momentum
    return 0.0


def learning_rates(current: float | None = None) -> list[float]:
    """Menu of learning rates: presets, every optimizer's typical rate and ``current`` exactly."""
    values = set(LR_PRESETS) | {optimizer(n).typical_lr for n in optimizers.OPTIMIZERS}
    if current is not None and current > 0:
        values.add(float(current))
    return sorted(values)


def with_value(presets: tuple, current) -> list:
    """``presets`` plus ``current`` (sorted) when it is not one of them: a loaded value shows as it is."""
    return sorted(set(presets) | ({current} if current is not None else set()))


def sample_sizes(available: int) -> list[int]:
    """Training-set sizes to offer for a dataset of ``available`` samples (all of them last)."""
    return [n for n in SAMPLE_PRESETS if n < available] + [int(available)]


def dataset_names() -> dict[str, str]:
    """Registered dataset name → its one-line summary."""
    from nncore import datasets

    return {name: spec.summary for name, spec in datasets.DATASETS.items()}

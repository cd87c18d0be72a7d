"""The network spec: the model's own config (``NN.get_config()`` format), made from the sidebar's
values, read back into them exactly, compared and validated with messages for people.

A spec is a plain dict ``{"dtype", "seed", "input_transform", "layers": [{"type", "config"}, ...],
"compile": {"optimizer": {"name", "config"}, "loss", "lr", "mr", "metrics"}}``; ``NN.from_config``
builds it. The sidebar edits a dense network (an optional Flatten, FFL layers with optional
Dropout, an FFL output): :func:`dense_config` writes one and :func:`read_dense` reads one back; and a
convolutional one (conv blocks: Conv2d "same" stride 1, optionally a 2×2 pooling; Flatten, optional
Dropout, the same dense head): :func:`cnn_config` / :func:`with_conv` write one and :func:`read_cnn`
reads one back. :func:`read_network` reads either.
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
#: conv blocks and filters per block the sidebar offers
MAX_CONV_BLOCKS = 6
MAX_FILTERS = 256
#: pooling choices of a conv block: none, or a 2×2 window with stride 2
POOLINGS = ("none", "max", "avg")
POOL_SIZE = 2
#: metrics that mark a config as a regression (numeric target); losses that fit one
REGRESSION_METRICS = ("r2", "mae")
REGRESSION_LOSSES = ("mse",)


class SpecError(ValueError):
    """A config the sidebar cannot show (e.g. a layer type it does not edit)."""


@dataclass(frozen=True)
class HiddenLayer:
    """One hidden row of the sidebar: an FFL with this many neurons and activation, then Dropout(rate) if rate > 0."""

    neurons: int = 128
    activation: str = "relu"
    dropout: float = 0.0


@dataclass(frozen=True)
class ConvBlock:
    """One conv row of the sidebar: Conv2d(filters, kernel_size×kernel_size, padding "same", stride 1),
    then a 2×2 pooling of ``pooling`` ("max", "avg") unless it is "none"."""

    filters: int = 16
    kernel_size: int = 3
    pooling: str = "max"


@dataclass(frozen=True)
class DenseValues:
    """What the sidebar shows of a network spec (all read back exactly from a config). A dense
    network has no ``conv`` blocks; a convolutional one has them, one activation for all of them,
    and ``flatten_dropout`` (the Dropout right after Flatten, 0 for none) before the dense head."""

    hidden: tuple[HiddenLayer, ...]
    output_activation: str
    loss: str
    optimizer: str
    lr: float
    momentum: float | None  # None when the optimizer has no momentum rate
    seed: int | None
    l2: float = 0.0  # the l2 coefficient of every dense (and conv) layer
    conv: tuple[ConvBlock, ...] = ()
    conv_activation: str = "relu"
    flatten_dropout: float = 0.0

    @property
    def kind(self) -> str:
        """"cnn" with conv blocks, else "dense"."""
        return "cnn" if self.conv else "dense"


NetworkValues = DenseValues


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
    """The l2 coefficient shared by all dense and conv layers of ``config`` (None when they differ)."""
    values = {float((l.get("config") or {}).get("l2") or 0.0) for l in config.get("layers") or []
              if l["type"] in ("FFL", "Conv2d")}
    return values.pop() if len(values) == 1 else (0.0 if not values else None)


def conv_layers(input_shape: Sequence[int], blocks: Sequence[ConvBlock], activation: str = "relu",
                l2: float = 0.0) -> list[dict[str, Any]]:
    """Layer configs of conv ``blocks`` on images of ``input_shape`` (C, H, W) or (H, W), as
    ``NN.get_config()`` writes them (so that a built model has the same architecture key); ``l2``
    regularises every kernel."""
    shape = [int(s) for s in input_shape]
    if len(shape) == 2:
        shape = [1, *shape]
    layers: list[dict[str, Any]] = []
    for k, b in enumerate(blocks):
        layers.append({"type": "Conv2d", "config": {
            "input_shape": shape if k == 0 else None, "filters": int(b.filters),
            "kernel_size": [int(b.kernel_size)] * 2, "stride": [1, 1], "padding": "same",
            "activation": activation, "is_bias": True, "l2": float(l2)}})
        if b.pooling != "none":
            layers.append({"type": "Pool2d", "config": {
                "kernel_size": [POOL_SIZE, POOL_SIZE], "stride": [POOL_SIZE, POOL_SIZE], "padding": "valid",
                "kind": b.pooling, "input_shape": None}})
    return layers


def with_conv(config: dict[str, Any], blocks: Sequence[ConvBlock], activation: str = "relu",
              flatten_dropout: float = 0.0) -> dict[str, Any]:
    """A dense spec on images (Flatten first, see :func:`dense_config`) turned convolutional: the
    conv ``blocks`` before its Flatten, and Dropout(``flatten_dropout``) right after it when > 0.
    The dense head, output and compile settings stay as they are; the conv layers take the dense
    layers' l2."""
    layers = list(config.get("layers") or [])
    if not layers or layers[0]["type"] != "Flatten":
        raise SpecError("Conv blocks go on image inputs: the dense spec must start with Flatten.")
    image = (layers[0].get("config") or {}).get("input_shape")
    front = conv_layers(image, blocks, activation, l2_of(config) or 0.0)
    flatten = {"type": "Flatten", "config": {"input_shape": None}} if front else layers[0]
    tail = [{"type": "Dropout", "config": {"rate": float(flatten_dropout)}}] if front and flatten_dropout else []
    return {**config, "layers": [*front, flatten, *tail, *layers[1:]]}


def cnn_config(*, blocks: Sequence[ConvBlock], conv_activation: str = "relu", flatten_dropout: float = 0.0,
               **dense: Any) -> dict[str, Any]:
    """The config of a convolutional network: :func:`dense_config` (same arguments) with conv
    ``blocks`` in front (see :func:`with_conv`)."""
    return with_conv(dense_config(**dense), blocks, conv_activation, flatten_dropout)


def read_dense(config: dict[str, Any]) -> DenseValues:
    """The sidebar's values for ``config``, exactly (the learning rate as it is). SpecError names
    what the sidebar cannot show (another layer type, l2 that differs between layers, a layer
    without bias...)."""
    layers = list(config.get("layers") or [])
    if layers and layers[0]["type"] == "Flatten":
        layers = layers[1:]
    return _read_head(config, layers)


def read_cnn(config: dict[str, Any]) -> DenseValues:
    """The sidebar's values for a convolutional ``config`` (conv blocks, Flatten, optional Dropout,
    dense head), exactly. SpecError names what the sidebar cannot show (a stride, a padding other
    than "same", a pooling other than 2×2, mixed conv activations, ...)."""
    layers = list(config.get("layers") or [])
    blocks: list[ConvBlock] = []
    activations_seen: set[str] = set()
    i = 0
    while i < len(layers) and layers[i]["type"] == "Conv2d":
        c = layers[i].get("config") or {}
        kh, kw = _pair(c.get("kernel_size"))
        if kh != kw:
            raise SpecError(f"The sidebar edits square kernels; conv layer {len(blocks) + 1} has {kh}×{kw}.")
        if _pair(c.get("stride", 1)) != (1, 1) or c.get("padding") != "same":
            raise SpecError("The sidebar edits conv layers with stride 1 and padding \"same\".")
        if not c.get("is_bias", True):
            raise SpecError("The sidebar does not edit conv layers without bias.")
        activations_seen.add(c.get("activation") or "linear")
        pooling = "none"
        if i + 1 < len(layers) and layers[i + 1]["type"] == "Pool2d":
            p = layers[i + 1].get("config") or {}
            if (_pair(p.get("kernel_size")) != (POOL_SIZE, POOL_SIZE)
                    or _pair(p.get("stride") or p.get("kernel_size")) != (POOL_SIZE, POOL_SIZE)
                    or p.get("padding", "valid") not in ("valid", None)):
                raise SpecError("The sidebar edits 2×2 pooling with stride 2 and no padding.")
            pooling = p.get("kind", "max")
            i += 1
        blocks.append(ConvBlock(int(c["filters"]), kh, pooling))
        i += 1
    if not blocks:
        raise SpecError("A convolutional network starts with a Conv2d layer.")
    if len(activations_seen) > 1:
        raise SpecError("The sidebar uses one activation for every conv layer; this network mixes "
                        + ", ".join(sorted(activations_seen)) + ".")
    if i >= len(layers) or layers[i]["type"] != "Flatten":
        kind = layers[i]["type"] if i < len(layers) else "nothing"
        raise SpecError(f"The sidebar expects Flatten after the conv blocks; this network has {kind} there.")
    i += 1
    flatten_dropout = 0.0
    if i < len(layers) and layers[i]["type"] == "Dropout":
        flatten_dropout = float((layers[i].get("config") or {}).get("rate", 0.0))
        i += 1
    head = _read_head(config, layers[i:])
    return DenseValues(**{**head.__dict__, "conv": tuple(blocks), "conv_activation": activations_seen.pop(),
                          "flatten_dropout": flatten_dropout})


def read_network(config: dict[str, Any]) -> DenseValues:
    """:func:`read_cnn` when ``config`` starts with a Conv2d, else :func:`read_dense`."""
    layers = config.get("layers") or []
    if layers and layers[0]["type"] == "Conv2d":
        return read_cnn(config)
    return read_dense(config)


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _read_head(config: dict[str, Any], layers: list[dict[str, Any]]) -> DenseValues:
    """The dense head (hidden FFL rows with their Dropout, FFL output) and the compile settings."""
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
        raise SpecError("The sidebar shows one l2 value for all dense layers (and conv layers); this network's layers have different ones.")
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


def same_input(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """True when two configs read their raw input the same way: equal ``input_transform`` (e.g. the
    same Playground features, the same CSV standardisation), None on both sides included."""
    if a is None or b is None:
        return False
    return _reading(a.get("input_transform")) == _reading(b.get("input_transform"))


def _reading(transform: dict[str, Any] | None) -> str:
    """A transform config as a key, reshapes left out (where a model puts its input values does not
    change what they are: a file saved with FFL(784) first reads images as a Flatten model does)."""
    steps = [transform] if transform else []
    if transform and transform.get("type") == "Chain":
        steps = list((transform.get("config") or {}).get("transforms") or [])
    steps = [s for s in steps if s.get("type") != "Reshape"]
    return json.dumps(_plain(steps), sort_keys=True)


def is_regression(config: dict[str, Any]) -> bool:
    """True when a config is set up for a numeric target: its metrics are regression metrics (R², MAE)."""
    metrics = (config.get("compile") or {}).get("metrics") or []
    return bool(metrics) and all(m in REGRESSION_METRICS for m in metrics)


def input_size(config: dict[str, Any]) -> int | None:
    layers = config.get("layers") or []
    shape = (layers[0].get("config") or {}).get("input_shape") if layers else None
    return math.prod(int(s) for s in shape) if shape else None


def shape_text(config: dict[str, Any]) -> str:
    """Input size and every layer that shapes the data, e.g. ``784-128-64-10`` or
    ``784-conv16-maxpool-conv32-maxpool-128-10``."""
    sizes = [str(input_size(config) or "?")]
    for layer in config.get("layers") or []:
        c = layer.get("config") or {}
        if layer["type"] == "FFL":
            sizes.append(str(c["neurons"]))
        elif layer["type"] == "Conv2d":
            sizes.append(f"conv{c.get('filters', '?')}")
        elif layer["type"] == "Pool2d":
            sizes.append(f"{c.get('kind', 'max')}pool")
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
        v = read_network(config)
        hidden = ", ".join(f"{h.neurons} {h.activation}" + (f" (dropout {h.dropout:g})" if h.dropout else "")
                           for h in v.hidden) or ("none" if v.conv else "none (linear classifier)")
        if v.conv:
            blocks = ", ".join(f"conv {b.filters} {b.kernel_size}×{b.kernel_size}"
                               + ("" if b.pooling == "none" else f" + {b.pooling} pool") for b in v.conv)
            drop = f", dropout {v.flatten_dropout:g}" if v.flatten_dropout else ""
            hidden = f"{blocks} ({v.conv_activation}), flatten{drop}; dense: {hidden}"
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
    """Problems with a spec, keyed "conv<k>" (conv block k: filters, or a shape it cannot take),
    "flatten_dropout", "hidden<k>", "size" (too many parameters), "loss", "optimizer", "lr", "momentum"."""
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
            where = "flatten_dropout" if k < 0 else f"hidden{k}"
            what = "The dropout after Flatten" if k < 0 else f"Hidden layer {k + 1}: dropout"
            problems[where] = f"{what} must be at least 0 and below 1."
    problems.update(shape_problems(config))
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
        if "loss" not in problems and is_regression(config) and loss not in REGRESSION_LOSSES:
            problems["loss"] = (
                f"{choices.loss_label(loss).capitalize()} loss needs class labels, but this data has a numeric "
                "target (a regression): use mean squared error (mse) with a linear output."
            )
    return problems


def shape_problems(config: dict[str, Any]) -> dict[str, str]:
    """Conv blocks that cannot work on the shape they receive (keyed "conv<k>", k from 0) and a
    network with more parameters than the engine allows ("size"), in sentences for people."""
    from nncore.errors import ShapeError
    from nncore.layers import LAYERS
    from nncore.model import MAX_PARAMETERS

    problems: dict[str, str] = {}
    layers = config.get("layers") or []
    first = (layers[0].get("config") or {}).get("input_shape") if layers else None
    if not first:
        return problems
    shape = tuple(int(s) for s in first)
    block, total = -1, 0
    for layer in layers:
        kind, c = layer["type"], dict(layer.get("config") or {})
        if kind == "Conv2d":
            block += 1
            f = c.get("filters")
            if not isinstance(f, int) or not 1 <= f <= MAX_FILTERS:
                problems[f"conv{block}"] = f"Conv block {block + 1} needs between 1 and {MAX_FILTERS} filters; it has {f}."
                return problems
        c.pop("input_shape", None)
        try:
            obj = LAYERS[kind].from_config(c)
            total += obj.planned_parameters(shape) if hasattr(obj, "planned_parameters") else 0
            out = tuple(obj.compute_output_shape(shape))
        except (ShapeError, ValueError, KeyError, TypeError) as exc:
            where = f"conv{max(block, 0)}"
            if kind == "Pool2d" and len(shape) == 3:
                h, w = shape[1:]
                problems[where] = (
                    f"Conv block {block + 1}: its {POOL_SIZE}×{POOL_SIZE} pooling needs maps of at least "
                    f"{POOL_SIZE}×{POOL_SIZE} pixels, but they are {h}×{w} here (each pooling halves them: "
                    f"{_halvings(first)}). Set this block's pooling to none or remove a block."
                )
            elif kind == "Conv2d":
                problems[where] = f"Conv block {block + 1} cannot take maps of shape {shape}: {exc}"
            else:
                problems["size"] = f"The network cannot be built: {exc}"
            return problems
        shape = out
    if total > MAX_PARAMETERS:
        problems["size"] = (
            f"This network would have {total:,} parameters, more than the limit of {MAX_PARAMETERS:,}. "
            "Use fewer filters or neurons, or more pooling before Flatten."
        )
    return problems


def _halvings(image_shape: Sequence[int]) -> str:
    """E.g. "28 → 14 → 7 → 3 → 1" for 28×28 images."""
    side = int(image_shape[-1])
    steps = [side]
    while side >= POOL_SIZE:
        side //= POOL_SIZE
        steps.append(side)
    return " → ".join(str(v) for v in steps)


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

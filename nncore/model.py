"""NN: the stacking model with the classic from-scratch API, vectorised over mini-batches.

The model knows its layers only through the `Layer` interface (nncore.layers.base): shapes are
tuples, parameters are named arrays that the model packs into one flat buffer (views), and the
output layer's activation is fused with the loss through ``forward_z``/``backward_z``.
"""
from __future__ import annotations

import contextlib
import copy as _copy
import math
import sys
import threading
import time
from typing import Any, Iterable, Sequence

import numpy as np

from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from . import parallel as _parallel
from .blas import blas_threads_limited
from .diagnosis import diagnose
from .errors import DivergenceError, NotCompiledError, ShapeError
from .layers.base import LAYERS, Layer, shape_text
from .registry import fraction, positive, shown

VALID_DTYPES = ("float32", "float64")
EVAL_CHUNK = 4096  # rows per forward pass in predict/evaluate: bounds memory
#: ... and at most this many values in one layer's output per pass (convolution outputs are large)
EVAL_VALUES = 8 * 1024 * 1024
#: refuse networks beyond this many parameters before allocating anything
MAX_PARAMETERS = 100_000_000
#: more epochs than anyone can wait for is a mistake (e.g. a sample count passed as epochs)
MAX_EPOCHS = 1_000_000
#: ranges of the output activations: targets outside them can never be reached
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0)}


class History:
    """What `train` returns: `.history` is a dict of lists (this call's epochs only) and
    `.diagnosis` a sentence when the run looks dead or exploding (else None)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.history: dict[str, list] = {k: [] for k in keys}
        self.diagnosis: str | None = None

    def __repr__(self) -> str:
        return f"History(epochs={len(self.history['epoch'])})"


class Callback:
    """Keras-style callback base; override any hook. `self.model` is set by `train`."""

    model: "NN"

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...


def _call(callbacks: Sequence[Any], hook: str, *args: Any) -> None:
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(*args)


class NN:
    """A stack of layers trained by mini-batch gradient descent.

    >>> m = NN(seed=0)
    >>> m.add(FFL(784, 128, activation="relu")); m.add(FFL(neurons=10, activation="softmax"))
    >>> m.compile_model(lr=1e-3, opt="adam", loss="cse", metrics=["accuracy"])

    ``input_transform`` (nncore.transforms) is applied to raw inputs batch by batch in train,
    predict and evaluate (e.g. uint8 images → float32 in [0, 1], or 2-D points → Playground
    features) and is saved with the model.
    """

    def __init__(self, seed: int | None = None, dtype: str = "float32", input_transform: Any = None):
        try:
            ok = str(np.dtype(dtype)) in VALID_DTYPES
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtype must be one of {VALID_DTYPES}; got {dtype!r}.")
        if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63):
            raise ValueError(f"seed must be a non-negative integer below 2**63 or None; got {shown(seed)}.")
        if input_transform is not None and not callable(input_transform):
            raise ValueError(
                f"input_transform must be None or a transform from nncore.transforms; got {type(input_transform).__name__}."
            )
        self.dtype = np.dtype(dtype)
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.input_transform = input_transform
        self.layers: list[Layer] = []
        self.compiled = False
        self.optimizer: _optimizers.Optimizer | None = None
        self.loss: _losses.Loss | None = None
        self.metrics: list[str] = []
        self.stop_training = False
        self.epoch = 0  # epochs completed over all train calls
        self.history: dict[str, list] = {k: [] for k in self.epoch_keys}
        self.batch_history: dict[str, list] = {k: [] for k in self.batch_keys}
        #: per-epoch weight/gradient statistics, one dict per (epoch, layer); see `_record_stats`
        self.layer_stats: list[dict[str, Any]] = []
        self.record_stats = True
        self._params: np.ndarray | None = None
        self._grads: np.ndarray | None = None
        self._pending: dict[str, float] = {}
        self._pending_lock = threading.Lock()
        self._step: _parallel.DataParallelStep | None = None  # while train() splits batches across threads
        self._training = False  # True while train() runs: changes then wait for the next batch

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> "NN":
        """Append a layer; its input shape is inferred from the previous layer when not given."""
        if not isinstance(layer, Layer):
            names = ", ".join(sorted(LAYERS))
            raise TypeError(f"add() takes a layer ({names}); got {type(layer).__name__}.")
        if any(l is layer for l in self.layers):
            raise ValueError("This layer object is already in the model; create a new one.")
        if not self.layers:
            if layer.input_shape is None:
                raise ValueError(
                    f"The first layer needs its input shape, e.g. {type(layer).__name__}(input_shape=..., ...)."
                )
            input_shape = layer.input_shape
        else:
            input_shape = self.layers[-1].output_shape
        count = self.total_parameters + _planned_parameters(layer, input_shape)
        if count > MAX_PARAMETERS:
            raise ValueError(
                f"Adding {type(layer).__name__} would give the model {count:,} parameters, more than the "
                f"limit of {MAX_PARAMETERS:,} (about {count * self.dtype.itemsize * 4 / 1e9:.1f} GB with "
                "gradients and optimizer state). Use fewer neurons or filters."
            )
        try:
            layer.build(input_shape, self.rng, self.dtype)
        except ShapeError as exc:
            raise ShapeError(f"Layer {len(self.layers) + 1} ({type(layer).__name__}): {exc}") from None
        self.layers.append(layer)
        self.compiled = False
        self._params = self._grads = None
        return self

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample as the first layer sees it (after `input_transform`)."""
        self._require_layers()
        return self.layers[0].input_shape

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def output_shape(self) -> tuple[int, ...]:
        self._require_layers()
        return self.layers[-1].output_shape

    @property
    def output_size(self) -> int:
        self._require_layers()
        return self.layers[-1].output_size

    @property
    def output_layer(self) -> Layer:
        self._require_layers()
        return self.layers[-1]

    @property
    def trainable_layers(self) -> list[Layer]:
        return [l for l in self.layers if l.trainable]

    @property
    def total_parameters(self) -> int:
        """Number of trainable numbers (weights and biases); computed, never accumulated."""
        return sum(l.parameter_count for l in self.layers)

    @property
    def lr(self) -> float | None:
        return None if self.optimizer is None else self.optimizer.lr

    @property
    def mr(self) -> float | None:
        return getattr(self.optimizer, "momentum", None)

    def _require_layers(self) -> None:
        if not self.layers:
            raise ValueError("The model has no layers: add layers with model.add(...) first.")

    def layer_names(self) -> list[str]:
        """One name per layer: each kind numbered ("Dense 1", "Conv 2", "Dropout 1"), the last "Output".

        (The classic design called the first dense layer "Input Layer" because it reads the input;
        here every layer is named by what it is, and the input itself is not a layer.)
        """
        counts: dict[str, int] = {}
        names = []
        for i, layer in enumerate(self.layers):
            counts[layer.label] = counts.get(layer.label, 0) + 1
            names.append("Output" if i == len(self.layers) - 1 else f"{layer.label} {counts[layer.label]}")
        return names

    def summary(self):
        """One row per layer: Layer, Type, Output shape, Activation, Parameters (pandas DataFrame).

        The total is in ``df.attrs["total_parameters"]`` and ``model.total_parameters``.
        """
        import pandas as pd

        rows = [
            (name, type(l).__name__, shape_text(l.output_shape), l.activation_name if l.trainable or l is self.layers[-1] else "-", l.parameter_count)
            for name, l in zip(self.layer_names(), self.layers)
        ]
        df = pd.DataFrame(rows, columns=["Layer", "Type", "Output shape", "Activation", "Parameters"])
        df.attrs["total_parameters"] = self.total_parameters
        return df

    # ------------------------------------------------------------------ compiling
    def compile_model(
        self,
        lr: float = 0.01,
        opt: str | _optimizers.Optimizer = "sgd",
        loss: str | _losses.Loss = "mse",
        mr: float | None = None,
        metrics: Iterable[str] | str | None = None,
    ) -> None:
        """Choose the optimizer (by name with learning rate `lr` and, where the rule has one, momentum
        rate `mr`; or an Optimizer object) and the loss. `metrics`: "accuracy", "mae" or "r2"
        (default: accuracy for a classifier, mae for a linear output)."""
        self._require_layers()
        loss_obj = _losses.get(loss)
        out = self.layers[-1]
        if len(out.output_shape) != 1:
            raise ValueError(
                f"The last layer gives {shape_text(out.output_shape)} per sample; end the model with "
                "Flatten() and an FFL output layer."
            )
        loss_obj.check(out.activation, out.output_size)
        if mr is not None:
            fraction("mr", mr)
        if not isinstance(opt, (str, _optimizers.Optimizer)):
            valid = ", ".join(repr(k) for k in _optimizers.OPTIMIZERS)
            raise ValueError(f"opt must be an optimizer name ({valid}) or an Optimizer; got {shown(opt)}.")
        optimizer = _optimizers.get(opt, lr=lr, mr=mr)
        metric_names = _metrics.check_metrics(metrics, default=_metrics.default_metric(out.activation.name))
        self.optimizer, self.loss, self.metrics = optimizer, loss_obj, metric_names
        self.history = _rekey(self.history, self.epoch_keys)
        self.batch_history = _rekey(self.batch_history, self.batch_keys)
        self._pack()
        self.compiled = True

    @property
    def epoch_keys(self) -> tuple[str, ...]:
        ms = tuple(getattr(self, "metrics", None) or ("accuracy",))
        return ("epoch", "loss", "data_loss", *ms, "val_loss", *(f"val_{m}" for m in ms), "seconds", "lr")

    @property
    def batch_keys(self) -> tuple[str, ...]:
        ms = tuple(getattr(self, "metrics", None) or ("accuracy",))
        return ("epoch", "batch", "step", "loss", *ms, "lr", "momentum", "l2")

    def _pack(self, params: np.ndarray | None = None) -> None:
        """Move all parameters into one flat buffer (and gradients into another) as views.
        ``params``: the flat buffer to use (e.g. memory shared with a child process), else a new one."""
        total = self.total_parameters
        if params is None:
            params = np.empty(total, dtype=self.dtype)
        elif params.shape != (total,) or params.dtype != self.dtype:
            raise ValueError(f"The parameter buffer must be ({total},) {self.dtype}; got {params.shape} {params.dtype}.")
        grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer in self.layers:
            p_views, g_views = {}, {}
            for name, shape in layer.param_shapes().items():
                size = int(np.prod(shape))
                p_views[name] = params[offset : offset + size].reshape(shape)
                g_views[name] = grads[offset : offset + size].reshape(shape)
                offset += size
            layer.bind(p_views, g_views)
        self._params, self._grads = params, grads

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"The model is not compiled: call model.compile_model(lr=..., opt=..., loss=...) before {what}()."
            )

    # ------------------------------------------------------------------ steering
    def set_hyperparameters(self, **values: float) -> None:
        """Change `lr`, `momentum` (where the optimizer has it) or `l2` (all layers that have it).

        Thread-safe: while `train` runs in another thread the change takes effect from the next
        batch; otherwise at once. Each value is validated here, so a bad one raises immediately.
        """
        self._require_compiled("set_hyperparameters")
        for name, value in values.items():
            if name == "lr":
                positive("lr", value)
            elif name == "l2":
                positive("l2", value, allow_zero=True)
            elif name in self.optimizer.steerable:
                fraction(name, value)
            else:
                valid = ", ".join(("lr", *self.optimizer.steerable, "l2"))
                raise ValueError(f"Cannot change {name!r} of optimizer {self.optimizer.name!r}; adjustable: {valid}.")
        with self._pending_lock:
            self._pending.update({k: float(v) for k, v in values.items()})
        if not getattr(self, "_training", False):
            self._apply_pending()

    def _apply_pending(self) -> dict[str, float]:
        """Apply the queued hyper-parameter changes; returns them."""
        if not self._pending:
            return {}
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for name, value in pending.items():
            if name == "l2":
                for layer in self.layers:
                    if layer.trainable:
                        layer.l2 = value
            else:
                self.optimizer.set_hyperparameter(name, value)
        return pending

    # ------------------------------------------------------------------ data checks
    def _check_x(self, x: Any, name: str = "x") -> np.ndarray:
        """Raw inputs (n, *sample shape) as an array; the transform and first layer must accept them."""
        self._require_layers()
        x = _as_array(x, name)
        _check_real(x, name)
        expected = self._raw_sample_shape()
        if x.ndim == 0:
            raise ShapeError(f"{name} must be a batch of samples (n, {', '.join(map(str, expected))}); got the single number {x.item()!r}.")
        if x.ndim == len(expected) and x.shape == expected and name in ("x", "val_x"):
            raise ShapeError(
                f"{name} must hold a batch of samples (n, {', '.join(map(str, expected))}); got a single sample of "
                f"shape {x.shape}. Use {name}[None] or {name}.reshape(1, -1)."
            )
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"{name} is empty: it has 0 samples.")
        if not self._sample_shape_ok(x.shape[1:]):
            hint = ""
            if len(self.input_shape) == 1 and x.ndim > 2 and int(np.prod(x.shape[1:])) == self.input_size:
                hint = f" Flatten it with {name}.reshape(len({name}), -1), or start the model with Flatten()."
            elif len(expected) > 1 and x.ndim >= 2 and int(np.prod(x.shape[1:])) == int(np.prod(expected)):
                hint = f" Reshape it with {name}.reshape(len({name}), {', '.join(map(str, expected))})."
            raise ShapeError(
                f"{name} has samples of shape {tuple(x.shape[1:])}, but the model expects "
                f"{shape_text(expected)}.{hint}"
            )
        _check_finite(x, name, self.dtype)
        return x

    def _raw_sample_shape(self) -> tuple[int, ...]:
        t = self.input_transform
        return tuple(getattr(t, "input_shape", None) or self.input_shape) if t is not None else self.input_shape

    def _sample_shape_ok(self, shape: tuple[int, ...]) -> bool:
        if self.input_transform is not None:
            try:
                shape = tuple(self.input_transform.output_shape(tuple(shape)))
            except ValueError:
                return False
        want = self.input_shape
        return shape == want or (len(want) == len(shape) + 1 and want[0] == 1 and shape == want[1:])

    def _prepare(self, xb: np.ndarray) -> np.ndarray:
        """A raw batch → the first layer's input: transform, dtype, channel axis."""
        if self.input_transform is not None:
            xb = self.input_transform(xb)
        xb = xb.astype(self.dtype, copy=False)
        if xb.shape[1:] != self.input_shape:
            xb = xb.reshape((len(xb), *self.input_shape))
        return xb

    def _check_y(self, y: Any, n: int, name: str = "y") -> np.ndarray:
        """Labels → (n, outputs) targets in the model dtype. Accepts one-hot rows or integer class ids."""
        y = _as_array(y, name)
        outputs = self.output_size
        _check_real(y, name)
        if y.ndim == 0:
            raise ShapeError(f"{name} must hold one label or target row per sample ({n}); got the single number {y.item()!r}.")
        if y.shape[0] != n:
            raise ShapeError(f"x has {n} samples but {name} has {y.shape[0]}; they must have the same length.")
        _check_finite(y, name, self.dtype)
        classifier = self.loss is None or self.loss.name == "cse" or "accuracy" in self.metrics
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and outputs == 1):
            y1 = y.reshape(n)
            if outputs == 1:
                if self.loss is not None and self.loss.name == "cse" and not np.all((y1 == 0) | (y1 == 1)):
                    bad = y1[(y1 != 0) & (y1 != 1)][0].item()
                    raise ValueError(f"Binary labels in {name} must be 0 or 1 for cross-entropy on one sigmoid unit; found {bad!r}.")
                self._check_target_range(y1, name)
                return y1.reshape(n, 1).astype(self.dtype)
            if not np.all(np.mod(y1, 1) == 0):
                raise ValueError(f"1-D {name} must hold integer class ids 0..{outputs - 1}; found fractions.")
            lo, hi = float(y1.min()), float(y1.max())
            if lo < 0 or hi >= outputs:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"{name} holds class id {bad:g}, but the output layer has {outputs} units (ids 0..{outputs - 1})."
                )
            onehot = np.zeros((n, outputs), dtype=self.dtype)
            onehot[np.arange(n), y1.astype(np.int64)] = 1
            return onehot
        if y.ndim != 2:
            raise ShapeError(f"{name} must be 1-D class ids or 2-D rows (samples, outputs); got shape {y.shape}.")
        if y.shape[1] != outputs:
            raise ShapeError(f"{name} has {y.shape[1]} columns but the output layer has {outputs} units.")
        if classifier and self.loss is not None and self.loss.name == "cse" and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"{name} rows must be one-hot or probabilities in [0, 1] for cross-entropy; found values from "
                f"{float(y.min()) + 0.0:g} to {float(y.max()) + 0.0:g}."
            )
        self._check_target_range(y, name)
        return y.astype(self.dtype, copy=False)

    def _check_target_range(self, y: np.ndarray, name: str) -> None:
        """ValueError when targets lie outside what the output activation can produce (e.g. 7 for a sigmoid)."""
        act = self.layers[-1].activation_name
        if act not in OUTPUT_RANGES or y.size == 0:
            return
        lo, hi = OUTPUT_RANGES[act]
        y_lo, y_hi = float(y.min()) + 0.0, float(y.max()) + 0.0
        if y_lo < lo or y_hi > hi:
            bad = y_lo if y_lo < lo else y_hi
            raise ValueError(
                f"{name} holds the target {bad:g}, but the output layer's {act} only gives values in [{lo:g}, {hi:g}]; "
                f"a target outside that range can never be reached. Scale {name} into [{lo:g}, {hi:g}] or use a linear output."
            )

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, x: np.ndarray, training: bool, layers: Sequence[Layer] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Training forward pass → (z, a) of the output layer (z before its activation); through
        ``layers`` (a data-parallel worker's replicas) instead of the model's own when given."""
        layers = self.layers if layers is None else layers
        for layer in layers[:-1]:
            x = layer.forward(x, training)
        out = layers[-1]
        if out._trace is not None:
            out._trace["input"] = x.copy()
        z = out.forward_z(x, training)
        if out._trace is not None:
            out._trace["z"] = z.copy()
        a = out.activation.forward(z, inplace=False)
        out._a = a
        return z, a

    def _backward(self, grad_z: np.ndarray, layers: Sequence[Layer] | None = None) -> None:
        """Backpropagate dL/dz of the output layer; fills the flat gradient buffer (with the l2 terms).
        Through ``layers`` (a worker's replicas) it fills their gradients only, without l2."""
        own = layers is None
        layers = self.layers if own else layers
        out = layers[-1]
        if out._trace is not None:
            out._trace["grad_z"] = grad_z.copy()
        grad = out.backward_z(grad_z, need_input_grad=len(layers) > 1)
        for i in range(len(layers) - 2, -1, -1):
            grad = layers[i].backward(grad, need_input_grad=i > 0)
        if own:
            self._add_l2_gradients()

    def _add_l2_gradients(self) -> None:
        for layer in self.layers:
            layer.add_l2_gradient()

    def _l2_coefficient(self) -> float:
        """The l2 coefficient in force (the largest of the layers'; one value unless set per layer)."""
        return max((float(getattr(l, "l2", 0.0) or 0.0) for l in self.layers), default=0.0)

    def _l2_penalty(self) -> float:
        return sum(l.l2_penalty() for l in self.layers)

    def _infer(self, x: np.ndarray, logits: bool = False) -> np.ndarray:
        """Pure forward pass of one raw chunk; caches nothing (safe while another thread trains)."""
        x = self._prepare(x)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer.apply(x, logits=logits and i == last)
        return x

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """(n, *sample shape) → (n, outputs) model outputs (probabilities for softmax)."""
        x = self._check_x(x)
        chunk = self._eval_chunk() if batch_size is None else _int_param("batch_size", batch_size, minimum=1)
        return np.concatenate([self._infer(x[i : i + chunk]) for i in range(0, len(x), chunk)])

    def evaluate(self, x: Any, y: Any, batch_size: int | None = None) -> dict[str, float]:
        """Mean loss and metrics over (x, y): {"loss": float, "accuracy"/"mae"/"r2": float}."""
        self._require_compiled("evaluate")
        chunk = self._eval_chunk() if batch_size is None else _int_param("batch_size", batch_size, minimum=1)
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._evaluate(x, y, chunk)

    def _eval_chunk(self) -> int:
        """Rows per inference pass: EVAL_CHUNK, fewer when a layer's outputs are large (CNNs)."""
        widest = max(max(l.output_size for l in self.layers), self.input_size)
        return max(1, min(EVAL_CHUNK, EVAL_VALUES // widest))

    def _evaluate(self, x: np.ndarray, y: np.ndarray, chunk: int) -> dict[str, float]:
        total_loss = 0.0
        out = self.layers[-1]
        preds = []
        for i in range(0, len(x), chunk):
            xb, yb = x[i : i + chunk], y[i : i + chunk]
            z = self._infer(xb, logits=True)
            a = out.activation.forward(z, inplace=False)
            total_loss += self.loss.value(z, a, yb, out.activation) * len(xb)
            preds.append(a)
        a = np.concatenate(preds)
        result = {"loss": total_loss / len(x) + self._l2_penalty()}
        for m in self.metrics:
            result[m] = _metrics.metric_value(m, a, y)
        return result

    # ------------------------------------------------------------------ training
    def train(
        self,
        x: Any,
        y: Any,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        val_split: float = 0.0,
        val_x: Any = None,
        val_y: Any = None,
        callbacks: Sequence[Any] | None = None,
        show_every: int = 1,
        verbose: int = 1,
        augment: Any = None,
        workers: int | str = "auto",
    ) -> History:
        """Train for `epochs` more epochs on mini-batches of (x, y).

        x: (n, *sample shape); y: (n, outputs) one-hot/targets or (n,) class ids. `val_split` holds
        out the last fraction of the data for validation (as Keras), or pass `val_x`, `val_y`.
        `augment` (e.g. nncore.augment.ImageAugment) changes each training batch. Calling train
        again continues: epochs count on, optimizer state is kept, history appends.
        `workers` splits every batch across that many threads (nncore.parallel); "auto" uses the
        cores for networks with much elementwise work per sample (CNNs) and 1 otherwise.
        Raises DivergenceError (weights restored) when the loss becomes NaN or infinite.
        """
        self._require_compiled("train")
        epochs = _int_param("epochs", epochs, minimum=0, maximum=MAX_EPOCHS)
        batch_size = _int_param("batch_size", batch_size, minimum=1)
        show_every = _int_param("show_every", show_every, minimum=1)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False; got {shown(shuffle)}.")
        verbose = _int_param("verbose", verbose, minimum=0, maximum=2) if not isinstance(verbose, (bool, np.bool_)) else int(verbose)
        if callbacks is not None and (not isinstance(callbacks, (list, tuple)) or any(isinstance(cb, (str, bytes)) for cb in callbacks)):
            raise ValueError(f"callbacks must be a list of Callback objects; got {shown(callbacks)}.")
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        val_split = fraction("val_split", val_split)
        workers = _parallel.check_workers(workers)
        if augment is not None and not callable(augment):
            raise ValueError(f"augment must be callable on a batch (e.g. nncore.augment.ImageAugment()); got {augment!r}.")
        if val_x is not None or val_y is not None:
            if val_x is None or val_y is None:
                raise ValueError("Pass both val_x and val_y, or neither.")
            if val_split:
                raise ValueError("Pass either val_split or val_x/val_y, not both.")
            vx = self._check_x(val_x, "val_x")
            vy = self._check_y(val_y, len(vx), "val_y")
        elif val_split:
            n_val = int(round(len(x) * val_split))
            if n_val == 0 or n_val >= len(x):
                raise ValueError(
                    f"val_split={val_split} leaves {len(x) - n_val} training and {n_val} validation samples "
                    f"out of {len(x)}; both must be at least 1."
                )
            x, vx = x[:-n_val], x[-n_val:]
            y, vy = y[:-n_val], y[-n_val:]
        else:
            vx = vy = None

        callbacks = list(callbacks or [])
        for cb in callbacks:
            try:
                cb.model = self
            except AttributeError:
                pass
        result = History(self.epoch_keys)
        self.stop_training = False
        n_batches = math.ceil(len(x) / batch_size)
        train_logs = {"epochs": epochs, "batches": n_batches, "samples": len(x), "batch_size": batch_size,
                      "validation": vx is not None}
        n_workers = _parallel.resolve_workers(self, workers, batch_size)
        self._training = True
        try:
            _call(callbacks, "on_train_begin", train_logs)
            with contextlib.ExitStack() as stack:
                stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"))
                if n_workers > 1:
                    stack.enter_context(blas_threads_limited(1))
                    self._step = stack.enter_context(_parallel.DataParallelStep(self, n_workers))
                self._run_epochs(x, y, vx, vy, epochs, batch_size, shuffle, callbacks, show_every, verbose, result, augment)
        finally:  # a change queued during the last epoch (or while stopping) applies now
            self._step = None
            self._training = False
            self._apply_pending()
        result.diagnosis = self.diagnosis()
        if verbose and result.diagnosis:
            print(f"Warning: {result.diagnosis}", file=sys.stdout, flush=True)
        _call(callbacks, "on_train_end", {"epoch": self.epoch, "stopped": self.stop_training})
        return result

    def _train_batch(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, float, np.ndarray]:
        """One optimisation step on a prepared batch → (total loss, data loss, output activations).

        Returns before touching the weights when the loss is not finite (the caller rolls back).
        """
        step = self._step
        z, a = self._forward(xb, training=True) if step is None else step.forward(xb)
        out = self.layers[-1]
        data_loss, grad_z = self.loss.value_and_grad(z, a, yb, out.activation)
        loss = data_loss + self._l2_penalty()
        if not math.isfinite(loss):
            return loss, data_loss, a
        if step is None:
            self._backward(grad_z)
        else:
            step.backward(grad_z)
            self._add_l2_gradients()
        if step is None:
            self.optimizer.step(self._params, self._grads)
        else:
            step.optimize(self.optimizer, self._params, self._grads)
        return loss, data_loss, a

    def _run_epochs(self, x, y, vx, vy, epochs, batch_size, shuffle, callbacks, show_every, verbose, result, augment):
        n = len(x)
        n_batches = math.ceil(n / batch_size)
        bh = self.batch_history
        for _ in range(epochs):
            if self.stop_training:
                break
            epoch = self.epoch + 1
            snapshot = self._snapshot()
            _call(callbacks, "on_epoch_begin", epoch, {"batches": n_batches})
            started = time.perf_counter()
            order = self.rng.permutation(n) if shuffle else None
            sums = dict.fromkeys(("loss", "data_loss", *self.metrics), 0.0)
            seen = 0
            for b in range(n_batches):
                if self.stop_training:
                    break
                self._apply_pending()
                lo, hi = b * batch_size, min(n, (b + 1) * batch_size)
                idx = slice(lo, hi) if order is None else order[lo:hi]
                xb = self._prepare(x[idx])
                if augment is not None:
                    xb = augment(xb, self.rng)
                yb = y[idx]
                loss, data_loss, a = self._train_batch(xb, yb)
                if not math.isfinite(loss):
                    self._diverged(snapshot, epoch, b + 1, loss)
                size = hi - lo
                values = {m: _metrics.metric_value(m, a, yb) for m in self.metrics}
                sums["loss"] += loss * size
                sums["data_loss"] += data_loss * size
                for m, v in values.items():
                    sums[m] += v * size
                seen += size
                bh["epoch"].append(epoch)
                bh["batch"].append(b + 1)
                bh["step"].append(len(bh["step"]) + 1)
                bh["loss"].append(loss)
                for m, v in values.items():
                    bh[m].append(v)
                bh["lr"].append(self.optimizer.lr)
                bh["momentum"].append(getattr(self.optimizer, "momentum", None))
                bh["l2"].append(self._l2_coefficient())
                if callbacks:
                    _call(callbacks, "on_batch_end", b + 1, {"epoch": epoch, "loss": loss, **values, "size": size, "batches": n_batches})
            if seen < n:  # stopped mid-epoch: batches are recorded, the epoch is not
                break
            if not np.all(np.isfinite(self._params)):
                self._diverged(snapshot, epoch, n_batches, float("nan"))
            logs: dict[str, Any] = {"epoch": epoch, "loss": sums["loss"] / seen, "data_loss": sums["data_loss"] / seen}
            for m in self.metrics:
                logs[m] = sums[m] / seen
            v = self._evaluate(vx, vy, self._eval_chunk()) if vx is not None else {}
            logs["val_loss"] = v.get("loss")
            for m in self.metrics:
                logs[f"val_{m}"] = v.get(m)
            logs["seconds"] = time.perf_counter() - started
            logs["lr"] = self.optimizer.lr
            if self.record_stats:
                self._record_stats(epoch)
            self.epoch = epoch
            for k in self.epoch_keys:
                self.history[k].append(logs.get(k))
                result.history[k].append(logs.get(k))
            if verbose and (epoch % show_every == 0):
                _print_epoch(logs, self.metrics)
            _call(callbacks, "on_epoch_end", epoch, dict(logs))

    def diagnosis(self) -> str | None:
        """A sentence when the recorded training looks dead or exploding without NaN (else None)."""
        n_classes = self.output_size if self.output_size > 1 else 2
        if not self.compiled:
            return None
        return diagnose(self.history, self.batch_history, n_classes if "accuracy" in self.metrics else None,
                        self.lr, self.optimizer.typical_lr)

    # ------------------------------------------------------------------ one step, every number
    def trace_step(self, x: Any, y: Any, apply: bool = False) -> dict[str, Any]:
        """Run one training step on the batch (x, y) and return every number it used.

        Returns {"loss", "data_loss", "names", "layers"}: per layer a dict with "input", "z"
        (pre-activation), "output", "grad_output" (dL/d output; absent for the output layer, whose
        activation is fused with the loss), "grad_z", and for each parameter p: "p" (before),
        "grad_p", "update_p" (what the optimizer added) and "new_p". The step runs through the same
        code as `train` (on a copy of the model unless `apply=True`), so applying it equals one
        `train(workers=1)` step on that batch bit for bit (split across threads, up to rounding).
        """
        self._require_compiled("trace_step")
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        model = self if apply else self.copy()
        before = [{k: v.copy() for k, v in l.params.items()} for l in model.layers]
        for layer in model.layers:
            layer._trace = {}
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                model._apply_pending()
                loss, data_loss, _ = model._train_batch(model._prepare(x), y)
            records = []
            for layer, old in zip(model.layers, before):
                rec = dict(layer._trace)
                rec["output"] = layer._a.copy()
                for k, v in old.items():
                    new = layer.params[k].copy()
                    rec[k], rec[f"grad_{k}"] = v, layer.grads[k].copy()
                    rec[f"update_{k}"], rec[f"new_{k}"] = new - v, new
                records.append(rec)
        finally:
            for layer in model.layers:
                layer._trace = None
        return {"loss": loss, "data_loss": data_loss, "names": model.layer_names(), "layers": records}

    # ------------------------------------------------------------------ divergence
    def _snapshot(self) -> dict[str, Any]:
        return {
            "params": self._params.copy(),
            "optimizer": self.optimizer.state_dict(),
            "batches": len(self.batch_history["step"]),
        }

    def _diverged(self, snapshot: dict[str, Any], epoch: int, batch: int, loss: float) -> None:
        """Roll weights, optimizer state and batch history back to the start of the failing epoch."""
        self._params[...] = snapshot["params"]
        self.optimizer.load_state_dict(snapshot["optimizer"])
        for values in self.batch_history.values():
            del values[snapshot["batches"] :]
        what = "NaN" if math.isnan(loss) else "infinite" if math.isinf(loss) else "non-finite weights"
        raise DivergenceError(
            f"Training diverged at epoch {epoch}, batch {batch}: the loss became {what}. "
            f"The weights were restored to their last finite values (from the start of epoch {epoch}). "
            f"Try a lower learning rate (it is {self.optimizer.lr:g}).",
            epoch=epoch,
            batch=batch,
        )

    # ------------------------------------------------------------------ statistics
    def _record_stats(self, epoch: int, bins: int = 30) -> None:
        """Per-layer weight and last-batch gradient statistics (mean, std, norm, histogram)."""
        for name, layer in zip(self.layer_names(), self.layers):
            if "weights" not in layer.params:
                continue
            for kind, arr in (("weights", layer.params["weights"]), ("gradients", layer.grads["weights"])):
                counts, edges = np.histogram(arr, bins=bins)
                self.layer_stats.append(
                    {
                        "epoch": epoch,
                        "layer": name,
                        "kind": kind,
                        "mean": float(arr.mean()),
                        "std": float(arr.std()),
                        "norm": float(np.linalg.norm(arr)),
                        "hist_counts": counts.tolist(),
                        "hist_edges": edges.tolist(),
                    }
                )

    # ------------------------------------------------------------------ looking inside
    def feedforward(self, x: Any) -> list[np.ndarray]:
        """Outputs of every layer for raw input x, at inference (no dropout, no caching)."""
        h = self._prepare(self._check_x(x))
        outs = []
        for layer in self.layers:
            h = layer.apply(h)
            outs.append(h)
        return outs

    def input_gradient(self, x: Any, class_index: int, logit: bool = False) -> np.ndarray:
        """d(score of class `class_index`)/d(input) → same shape as the model's input (n, *input_shape).

        The score is the model's output for that class (its probability with softmax), or the
        output layer's pre-activation when `logit=True`. Uses nncore's own backward pass on shallow
        copies of the layers (their caches are private; parameter gradients are not computed), so it
        does not touch training state.
        """
        h = self._prepare(self._check_x(x))
        if isinstance(class_index, (bool, np.bool_)) or not isinstance(class_index, (int, np.integer)) or not 0 <= class_index < self.output_size:
            raise ValueError(f"class_index must be an integer in 0..{self.output_size - 1}; got {class_index!r}.")
        layers = [_copy.copy(l) for l in self.layers]
        for l in layers:
            l._trace = None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for l in layers[:-1]:
                h = l.forward(h, training=False)
            out = layers[-1]
            z = out.forward_z(h, False)
            a = out.activation.forward(z, inplace=False)
            out._a = a
            grad = np.zeros_like(a)
            grad[:, int(class_index)] = 1
            if not logit:
                grad = out.activation.backward(grad, None, a)
            grad = _input_grad(out, grad)
            for l in reversed(layers[:-1]):
                grad = l.activation.backward(grad, None, l._a)
                grad = _input_grad(l, grad)
        return grad

    # ------------------------------------------------------------------ weights, copies, config
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter, layer by layer in declaration order ([W1, b1, W2, b2, ...])."""
        return [v.copy() for l in self.layers for v in l.params.values()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        slots = [(l, k) for l in self.layers for k in l.params]
        if len(weights) != len(slots):
            raise ValueError(f"set_weights expects {len(slots)} arrays; got {len(weights)}.")
        for (layer, k), w in zip(slots, weights):  # check all first: nothing changes on error
            if np.shape(w) != layer.params[k].shape:
                raise ValueError(f"{type(layer).__name__} {k} must have shape {layer.params[k].shape}; got {np.shape(w)}.")
        for (layer, k), w in zip(slots, weights):
            layer.set_param(k, w)

    def get_config(self) -> dict[str, Any]:
        """The spec of this network: architecture, compile settings and input transform (no weights)."""
        from . import transforms

        cfg: dict[str, Any] = {
            "dtype": str(self.dtype),
            "seed": self.seed,
            "input_transform": None if self.input_transform is None else transforms.get_config(self.input_transform),
            "layers": [{"type": type(l).__name__, "config": l.get_config()} for l in self.layers],
            "compile": None,
        }
        if self.compiled:
            cfg["compile"] = {
                "optimizer": {"name": self.optimizer.name, "config": self.optimizer.get_config()},
                "loss": self.loss.name,
                "lr": self.lr,
                "mr": self.mr,
                "metrics": list(self.metrics),
            }
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "NN":
        """A new (untrained) model from `get_config()` output."""
        from . import transforms
        from .layers.base import get as layer_class

        t = config.get("input_transform")
        model = cls(seed=config.get("seed"), dtype=config.get("dtype", "float32"),
                    input_transform=None if t is None else transforms.from_config(t))
        for spec in config["layers"]:
            model.add(layer_class(spec["type"]).from_config(spec["config"]))
        comp = config.get("compile")
        if comp:
            opt = _optimizers.from_config(comp["optimizer"]["name"], comp["optimizer"]["config"])
            model.compile_model(lr=opt.lr, opt=opt, loss=comp["loss"], metrics=comp.get("metrics"))
        return model

    def copy(self) -> "NN":
        """An independent deep copy: weights, optimizer state, histories, RNG state."""
        clone = NN.from_config(self.get_config())
        clone.rng.bit_generator.state = self.rng.bit_generator.state
        clone.set_weights(self.get_weights())
        if self.compiled:
            clone.optimizer.load_state_dict(self.optimizer.state_dict())
        clone.epoch = self.epoch
        clone.history = {k: list(v) for k, v in self.history.items()}
        clone.batch_history = {k: list(v) for k, v in self.batch_history.items()}
        clone.layer_stats = [dict(s) for s in self.layer_stats]
        with self._pending_lock:
            clone._pending = dict(self._pending)
        return clone

    def save_model(self, path: str, include_optimizer: bool = True) -> None:
        """Write the model as one JSON file (format "nncore.model"); see nncore.io."""
        from .io import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    def to_json(self, include_optimizer: bool = True) -> str:
        from .io import model_to_json

        return model_to_json(self, include_optimizer=include_optimizer)

    def visualize(self):
        """Plotly figures (loss, first metric) of train and validation curves per epoch."""
        import plotly.graph_objects as go

        h = self.history
        figs = []
        metric = (self.metrics or ["accuracy"])[0]
        for key, title in (("loss", "Loss"), (metric, metric.capitalize())):
            fig = go.Figure()
            fig.add_scatter(x=h["epoch"], y=h.get(key, []), mode="lines+markers", name=f"train {key}")
            if any(v is not None for v in h.get(f"val_{key}", [])):
                fig.add_scatter(x=h["epoch"], y=h[f"val_{key}"], mode="lines+markers", name=f"validation {key}")
            fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=key, template="plotly_white")
            figs.append(fig)
        return figs[0], figs[1]

    def __repr__(self) -> str:
        return f"NN(layers={len(self.layers)}, parameters={self.total_parameters}, compiled={self.compiled})"


def _input_grad(layer: Layer, grad_z: np.ndarray) -> np.ndarray:
    """dL/dx of a (shallow-copied) layer given dL/dz, without computing parameter gradients."""
    saved = layer.grads
    layer.grads = {k: np.empty_like(v) for k, v in saved.items()}  # private scratch: shared grads stay untouched
    try:
        return layer.backward_z(grad_z, need_input_grad=True)
    finally:
        layer.grads = saved


def _planned_parameters(layer: Layer, input_shape: tuple[int, ...]) -> int:
    """Parameters `layer` would create for `input_shape`, computed without allocating (0 if unknown)."""
    fn = getattr(layer, "planned_parameters", None)
    if fn is not None:
        return int(fn(input_shape))
    return 0


def _rekey(history: dict[str, list], keys: Sequence[str]) -> dict[str, list]:
    """History with exactly `keys`: existing lists kept, new keys padded with None."""
    n = len(history.get("epoch", []))
    return {k: list(history[k]) if k in history else [None] * n for k in keys}


def _as_array(value: Any, name: str) -> np.ndarray:
    """`value` as an array; ValueError naming `name` for None, dicts, strings and ragged nested lists."""
    if value is None or isinstance(value, (dict, str, bytes, set)):
        got = "None" if value is None else f"a {type(value).__name__}"
        raise ValueError(f"{name} must be an array of numbers (a NumPy array or a list of rows); got {got}.")
    try:
        return np.asarray(value)
    except (ValueError, TypeError):
        where = _ragged_where(value)
        raise ValueError(
            f"{name} must be a rectangular array of numbers (every row the same length); {where or 'it is not one'}."
        ) from None


def _ragged_where(value: Any, path: str = "") -> str | None:
    """Where a nested list stops being rectangular, e.g. "row 3 has 2 values but row 0 has 4"."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    lengths = [len(v) if isinstance(v, (list, tuple, np.ndarray)) else None for v in value]
    for i, n in enumerate(lengths):
        if n != lengths[0]:
            return f"{_row(path, i)} has {_count(n)} but {_row(path, 0)} has {_count(lengths[0])}"
    for i, v in enumerate(value):
        inner = _ragged_where(v, f"{path}[{i}]")
        if inner:
            return inner
    return None


def _row(path: str, i: int) -> str:
    return f"row {path}[{i}]" if path else f"row {i}"


def _count(n: int | None) -> str:
    return "a single number" if n is None else f"{n} value{'s' if n != 1 else ''}"


def _check_real(a: np.ndarray, name: str) -> None:
    """ValueError naming `name` unless `a` holds real numbers (integers, floats or booleans)."""
    if np.iscomplexobj(a):
        raise ValueError(
            f"{name} holds complex numbers (dtype {a.dtype}); the model takes real numbers. Pass {name}.real "
            "if the imaginary parts are meant to be dropped."
        )
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        why = {"U": " (text)", "S": " (bytes)", "O": " (None, text, or integers too large for NumPy?)"}.get(a.dtype.kind, "")
        raise ValueError(f"{name} must be numeric (an array of real numbers); got an array of dtype {a.dtype}{why}.")


def _check_finite(a: np.ndarray, name: str, dtype: np.dtype | None = None) -> None:
    """Raise ValueError when a float array holds NaN/inf, or values that overflow `dtype`.

    No temporary the size of `a` is made (a buffered float64 sum, then min/max only when `a`'s type
    can hold values beyond `dtype`'s range)."""
    if not np.issubdtype(a.dtype, np.floating):
        return
    with np.errstate(over="ignore", invalid="ignore"):
        finite = bool(np.isfinite(a.sum(dtype=np.float64)))
    if not finite:
        bad = a.size - int(np.count_nonzero(np.isfinite(a)))
        if bad:
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s); remove or replace them first.")
    if dtype is None or np.finfo(a.dtype).max <= np.finfo(dtype).max:
        return
    largest = max(float(a.max()), -float(a.min()))
    if largest > np.finfo(dtype).max:
        raise ValueError(
            f"{name} holds values up to {largest:.3g}, beyond the model's {dtype} range "
            f"(±{float(np.finfo(dtype).max):.3g}); scale the data first."
        )


def _int_param(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """`value` as an int in [minimum, maximum] (a float with an integer value is accepted), else ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer ≥ {minimum}; got {shown(value)}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {shown(value)}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer from {minimum} to {maximum:,}; got {shown(value)}.")
    return int(value)


def _print_epoch(logs: dict[str, Any], metrics: Sequence[str]) -> None:
    parts = [f"Epoch {logs['epoch']}", f"{logs['seconds']:.2f}s", f"loss: {logs['loss']:.4f}"]
    parts += [f"{m}: {logs[m]:.4f}" for m in metrics]
    if logs.get("val_loss") is not None:
        parts.append(f"val_loss: {logs['val_loss']:.4f}")
        parts += [f"val_{m}: {logs[f'val_{m}']:.4f}" for m in metrics]
    print(" - ".join(parts), file=sys.stdout, flush=True)

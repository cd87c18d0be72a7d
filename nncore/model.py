"""NN: the stacking model with the classic from-scratch API, vectorised over mini-batches."""
from __future__ import annotations

import copy as _copy
import math
import sys
import time
from typing import Any, Iterable, Sequence

import numpy as np

from . import losses as _losses
from . import optimizers as _optimizers
from .errors import DivergenceError, NotCompiledError, ShapeError
from .layers import FFL, Dropout, Layer
from .registry import fraction

EPOCH_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")
BATCH_KEYS = ("epoch", "batch", "step", "loss", "accuracy")
VALID_DTYPES = ("float32", "float64")
EVAL_CHUNK = 4096  # rows per forward pass in predict/evaluate: bounds memory


class History:
    """What `train` returns: `.history` is a dict of lists keyed by EPOCH_KEYS (this call only)."""

    def __init__(self) -> None:
        self.history: dict[str, list] = {k: [] for k in EPOCH_KEYS}

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
    """

    def __init__(self, seed: int | None = None, dtype: str = "float32"):
        try:
            ok = str(np.dtype(dtype)) in VALID_DTYPES
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"dtype must be one of {VALID_DTYPES}; got {dtype!r}.")
        self.dtype = np.dtype(dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.layers: list[Layer] = []
        self.compiled = False
        self.optimizer: _optimizers.Optimizer | None = None
        self.loss: _losses.Loss | None = None
        self.lr: float | None = None
        self.mr: float | None = None
        self.metrics: list[str] = []
        self.stop_training = False
        self.epoch = 0  # epochs completed over all train calls
        self.history: dict[str, list] = {k: [] for k in EPOCH_KEYS}
        self.batch_history: dict[str, list] = {k: [] for k in BATCH_KEYS}
        #: per-epoch weight/gradient statistics, one dict per (epoch, layer); see `layer_statistics`
        self.layer_stats: list[dict[str, Any]] = []
        self.record_stats = True
        self._params: np.ndarray | None = None
        self._grads: np.ndarray | None = None

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> "NN":
        """Append a layer; its input size is inferred from the previous layer when not given."""
        if not isinstance(layer, Layer):
            raise TypeError(f"add() takes an FFL or Dropout layer; got {type(layer).__name__}.")
        if not self.layers:
            if isinstance(layer, Dropout):
                raise ValueError("The first layer cannot be Dropout: start with an FFL(input_shape, neurons).")
            if layer.input_shape is None:
                raise ValueError("The first layer needs its input size: FFL(input_shape=784, neurons=...).")
            input_size = layer.input_shape
        else:
            input_size = self.layers[-1].output_size
            if layer.input_shape is not None and layer.input_shape != input_size and isinstance(layer, FFL):
                raise ShapeError(
                    f"Layer {len(self.layers) + 1} declares input_shape={layer.input_shape}, but the "
                    f"previous layer has {input_size} neurons. Use input_shape={input_size} or omit it."
                )
        layer.build(input_size, self.rng, self.dtype)
        self.layers.append(layer)
        self.compiled = False
        self._params = self._grads = None
        return self

    @property
    def dense_layers(self) -> list[FFL]:
        return [l for l in self.layers if isinstance(l, FFL)]

    @property
    def input_size(self) -> int:
        self._require_layers()
        return self.layers[0].input_shape

    @property
    def output_size(self) -> int:
        self._require_layers()
        return self.layers[-1].output_size

    @property
    def output_layer(self) -> FFL:
        dense = self.dense_layers
        if not dense:
            raise ValueError("The model has no FFL layer yet.")
        return dense[-1]

    @property
    def total_parameters(self) -> int:
        """Number of trainable numbers (weights and biases); computed, never accumulated."""
        return sum(l.parameter_count for l in self.dense_layers)

    def _require_layers(self) -> None:
        if not self.layers:
            raise ValueError("The model has no layers: add FFL layers with model.add(...) first.")

    def layer_names(self) -> list[str]:
        """Input Layer / Hidden Layer N / Output Layer as in the original design; Dropout (rate)."""
        dense = self.dense_layers
        names, hidden = [], 0
        for layer in self.layers:
            if isinstance(layer, Dropout):
                names.append(f"Dropout ({layer.rate:g})")
            elif layer is dense[-1]:
                names.append("Output Layer")
            elif layer is dense[0]:
                names.append("Input Layer")
            else:
                hidden += 1
                names.append(f"Hidden Layer {hidden}")
        return names

    def summary(self):
        """One row per layer: Layer, Input, Neurons, Activation, Bias, Parameters (pandas DataFrame).

        The total is in ``df.attrs["total_parameters"]`` and ``model.total_parameters``.
        """
        import pandas as pd

        rows = []
        for name, layer in zip(self.layer_names(), self.layers):
            if isinstance(layer, FFL):
                rows.append((name, layer.input_shape, layer.neurons, layer.activation_name, layer.is_bias, layer.parameter_count))
            else:
                rows.append((name, layer.input_shape, layer.output_size, "-", False, 0))
        df = pd.DataFrame(rows, columns=["Layer", "Input", "Neurons", "Activation", "Bias", "Parameters"])
        df.attrs["total_parameters"] = self.total_parameters
        return df

    # ------------------------------------------------------------------ compiling
    def compile_model(
        self,
        lr: float = 0.01,
        opt: str | _optimizers.Optimizer = "sgd",
        loss: str | _losses.Loss = "mse",
        mr: float = 0.001,
        metrics: Iterable[str] | None = None,
    ) -> None:
        """Choose optimizer (by name, with `lr` and momentum rate `mr`, or as an object) and loss."""
        self._require_layers()
        if not isinstance(self.layers[-1], FFL):
            raise ValueError("The last layer must be an FFL (the output layer), not Dropout.")
        loss_obj = _losses.get(loss)
        loss_obj.check(self.output_layer.activation, self.output_layer.neurons)
        optimizer = _optimizers.get(opt, lr=lr, mr=mr)
        metrics = list(metrics or [])
        for m in metrics:
            if m not in ("accuracy", "acc"):
                raise ValueError(f"Unknown metric {m!r}. Valid metrics are: 'accuracy'.")
        self.optimizer, self.loss = optimizer, loss_obj
        self.lr, self.mr = optimizer.lr, mr
        self.metrics = ["accuracy" for _ in metrics[:1]]
        for layer in self.dense_layers:
            layer.keep_z = layer is self.output_layer
        self._pack()
        self.compiled = True

    def _pack(self) -> None:
        """Move all parameters into one flat buffer (and gradients into another) as views."""
        shapes = [s for l in self.dense_layers for s in l.param_shapes()]
        total = sum(int(np.prod(s)) for s in shapes)
        params = np.empty(total, dtype=self.dtype)
        grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer in self.dense_layers:
            p_views, g_views = [], []
            for shape in layer.param_shapes():
                size = int(np.prod(shape))
                p_views.append(params[offset : offset + size].reshape(shape))
                g_views.append(grads[offset : offset + size].reshape(shape))
                offset += size
            layer.bind(p_views, g_views)
        self._params, self._grads = params, grads

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"The model is not compiled: call model.compile_model(lr=..., opt=..., loss=...) before {what}()."
            )

    # ------------------------------------------------------------------ data checks
    def _check_x(self, x: Any, name: str = "x") -> np.ndarray:
        self._require_layers()
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise ValueError(f"{name} must be numeric; got an array of dtype {x.dtype}.")
        if x.ndim == 1 and x.shape[0] == self.input_size and name == "x":
            raise ShapeError(
                f"{name} must be 2-D (samples, features); got a single sample of shape {x.shape}. "
                f"Use {name}.reshape(1, -1)."
            )
        if x.ndim != 2:
            hint = f" Flatten it with {name}.reshape(len({name}), -1)." if x.ndim > 2 else ""
            raise ShapeError(f"{name} must be 2-D (samples, features); got shape {x.shape}.{hint}")
        if x.shape[0] == 0:
            raise ValueError(f"{name} is empty: it has 0 samples.")
        if x.shape[1] != self.input_size:
            raise ShapeError(
                f"{name} has {x.shape[1]} features per sample but the first layer expects {self.input_size}."
            )
        _check_finite(x, name)
        return x

    def _check_y(self, y: Any, n: int, name: str = "y") -> np.ndarray:
        """Labels → (n, outputs) targets in the model dtype. Accepts one-hot or integer class ids."""
        y = np.asarray(y)
        outputs = self.output_size
        if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            raise ValueError(f"{name} must be numeric; got an array of dtype {y.dtype}.")
        if y.ndim == 0 or y.shape[0] != n:
            got = 0 if y.ndim == 0 else y.shape[0]
            raise ShapeError(f"x has {n} samples but {name} has {got}; they must have the same length.")
        _check_finite(y, name)
        if y.ndim == 1:
            if outputs == 1:
                return y.reshape(n, 1).astype(self.dtype)
            if not np.all(np.mod(y, 1) == 0):
                raise ValueError(f"1-D {name} must hold integer class ids 0..{outputs - 1}.")
            ids = y.astype(np.int64)
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= outputs:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"{name} holds class id {bad}, but the output layer has {outputs} neurons (ids 0..{outputs - 1})."
                )
            onehot = np.zeros((n, outputs), dtype=self.dtype)
            onehot[np.arange(n), ids] = 1
            return onehot
        if y.ndim != 2:
            raise ShapeError(f"{name} must be 1-D class ids or 2-D one-hot (samples, classes); got shape {y.shape}.")
        if y.shape[1] != outputs:
            raise ShapeError(f"{name} has {y.shape[1]} columns but the output layer has {outputs} neurons.")
        return y.astype(self.dtype, copy=False)

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, grad_z: np.ndarray) -> None:
        """Backpropagate dL/dz of the output layer; fills the flat gradient buffer."""
        grad, is_z = grad_z, True
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            grad = self.layers[i].backward(grad, grad_is_z=is_z, need_input_grad=i > 0)
            is_z = False

    def _infer(self, x: np.ndarray, logits: bool = False) -> np.ndarray:
        """Pure forward pass of one chunk; caches nothing (safe while another thread trains)."""
        x = x.astype(self.dtype, copy=False)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer.apply(x, logits=logits and i == last)
        return x

    def _batch_accuracy(self, a: np.ndarray, y: np.ndarray) -> float:
        if a.shape[1] == 1:
            return float(np.mean((a[:, 0] > 0.5) == (y[:, 0] > 0.5)))
        return float(np.mean(a.argmax(axis=1) == y.argmax(axis=1)))

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """(n, inputs) → (n, outputs) model outputs (probabilities for softmax)."""
        x = self._check_x(x)
        chunk = batch_size or EVAL_CHUNK
        return np.concatenate([self._infer(x[i : i + chunk]) for i in range(0, len(x), chunk)])

    def evaluate(self, x: Any, y: Any, batch_size: int | None = None) -> dict[str, float]:
        """Mean loss and accuracy over (x, y): {"loss": float, "accuracy": float}."""
        self._require_compiled("evaluate")
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        return self._evaluate(x, y, batch_size or EVAL_CHUNK)

    def _evaluate(self, x: np.ndarray, y: np.ndarray, chunk: int) -> dict[str, float]:
        total_loss = correct = 0.0
        out = self.output_layer
        for i in range(0, len(x), chunk):
            xb, yb = x[i : i + chunk], y[i : i + chunk]
            z = self._infer(xb, logits=True)
            a = out.activation.forward(z, inplace=False)
            total_loss += self.loss.value(z, a, yb, out.activation) * len(xb)
            correct += self._batch_accuracy(a, yb) * len(xb)
        return {"loss": total_loss / len(x), "accuracy": correct / len(x)}

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
    ) -> History:
        """Train for `epochs` more epochs on mini-batches of (x, y).

        x: (n, inputs); y: (n, outputs) one-hot/targets or (n,) class ids. `val_split` holds out the
        last fraction of the data for validation (as Keras), or pass `val_x`, `val_y`. Calling
        train again continues: epochs count on, optimizer state is kept, history appends.
        Raises DivergenceError (weights restored) when the loss becomes NaN or infinite.
        """
        self._require_compiled("train")
        epochs = _int_param("epochs", epochs, minimum=0)
        batch_size = _int_param("batch_size", batch_size, minimum=1)
        show_every = _int_param("show_every", show_every, minimum=1)
        x = self._check_x(x)
        y = self._check_y(y, len(x))
        val_split = fraction("val_split", val_split)
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
        result = History()
        self.stop_training = False
        n_batches = math.ceil(len(x) / batch_size)
        train_logs = {"epochs": epochs, "batches": n_batches, "samples": len(x), "batch_size": batch_size}
        _call(callbacks, "on_train_begin", train_logs)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._run_epochs(x, y, vx, vy, epochs, batch_size, shuffle, callbacks, show_every, verbose, result)
        _call(callbacks, "on_train_end", {"epoch": self.epoch, "stopped": self.stop_training})
        return result

    def _run_epochs(self, x, y, vx, vy, epochs, batch_size, shuffle, callbacks, show_every, verbose, result):
        n = len(x)
        n_batches = math.ceil(n / batch_size)
        out = self.output_layer
        for _ in range(epochs):
            if self.stop_training:
                break
            epoch = self.epoch + 1
            snapshot = self._snapshot()
            _call(callbacks, "on_epoch_begin", epoch, {"batches": n_batches})
            started = time.perf_counter()
            order = self.rng.permutation(n) if shuffle else None
            loss_sum = acc_sum = 0.0
            seen = 0
            for b in range(n_batches):
                lo, hi = b * batch_size, min(n, (b + 1) * batch_size)
                if order is None:
                    xb, yb = x[lo:hi], y[lo:hi]
                else:
                    idx = order[lo:hi]
                    xb, yb = x[idx], y[idx]
                xb = xb.astype(self.dtype, copy=False)
                a = self._forward(xb, training=True)
                loss, grad_z = self.loss.value_and_grad(out._z, a, yb, out.activation)
                if not math.isfinite(loss):
                    self._diverged(snapshot, epoch, b + 1, loss)
                self._backward(grad_z)
                self.optimizer.step(self._params, self._grads)
                acc = self._batch_accuracy(a, yb)
                size = hi - lo
                loss_sum += loss * size
                acc_sum += acc * size
                seen += size
                bh = self.batch_history
                bh["epoch"].append(epoch)
                bh["batch"].append(b + 1)
                bh["step"].append(len(bh["step"]) + 1)
                bh["loss"].append(loss)
                bh["accuracy"].append(acc)
                if callbacks:
                    _call(callbacks, "on_batch_end", b + 1, {"epoch": epoch, "loss": loss, "accuracy": acc, "size": size, "batches": n_batches})
                if self.stop_training:
                    break
            if seen < n:  # stopped mid-epoch: batches are recorded, the epoch is not
                break
            if not np.all(np.isfinite(self._params)):
                self._diverged(snapshot, epoch, n_batches, float("nan"))
            logs = {"epoch": epoch, "loss": loss_sum / seen, "accuracy": acc_sum / seen}
            if vx is not None:
                v = self._evaluate(vx, vy, EVAL_CHUNK)
                logs["val_loss"], logs["val_accuracy"] = v["loss"], v["accuracy"]
            else:
                logs["val_loss"] = logs["val_accuracy"] = None
            logs["seconds"] = time.perf_counter() - started
            if self.record_stats:
                self._record_stats(epoch)
            self.epoch = epoch
            for k in EPOCH_KEYS:
                self.history[k].append(logs[k])
                result.history[k].append(logs[k])
            if verbose and (epoch % show_every == 0):
                _print_epoch(logs)
            _call(callbacks, "on_epoch_end", epoch, dict(logs))

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
            if not isinstance(layer, FFL):
                continue
            for kind, arr in (("weights", layer.weights), ("gradients", layer.grad_weights)):
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
        """Outputs of every layer for input x (n, inputs), at inference (no dropout, no caching)."""
        x = self._check_x(x).astype(self.dtype, copy=False)
        outs = []
        for layer in self.layers:
            x = layer.apply(x)
            outs.append(x)
        return outs

    def input_gradient(self, x: Any, class_index: int, logit: bool = False) -> np.ndarray:
        """d(score of class `class_index`)/d(x) for x (n, inputs) → (n, inputs).

        The score is the model's output for that class (its probability with softmax), or the
        output layer's pre-activation when `logit=True`. Uses nncore's own backward pass and
        does not touch training state.
        """
        x = self._check_x(x).astype(self.dtype, copy=False)
        if not 0 <= int(class_index) < self.output_size:
            raise ValueError(f"class_index must be in 0..{self.output_size - 1}; got {class_index!r}.")
        last = len(self.layers) - 1
        outputs, h = [], x
        for i, layer in enumerate(self.layers):
            h = layer.apply(h, logits=logit and i == last)
            outputs.append(h)
        grad = np.zeros_like(h)
        grad[:, int(class_index)] = 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            if isinstance(layer, Dropout):
                continue
            if not (logit and i == last):
                grad = layer.activation.backward(grad, None, outputs[i])
            grad = grad @ layer.weights.T
        return grad

    # ------------------------------------------------------------------ weights, copies, config
    def get_weights(self) -> list[np.ndarray]:
        """Copies of [W1, b1, W2, b2, ...] (biases only for layers that have them)."""
        out = []
        for layer in self.dense_layers:
            out.append(layer.weights.copy())
            if layer.is_bias:
                out.append(layer.biases.copy())
        return out

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        expected = [s for l in self.dense_layers for s in l.param_shapes()]
        if len(weights) != len(expected):
            raise ValueError(f"set_weights expects {len(expected)} arrays; got {len(weights)}.")
        it = iter(weights)
        for layer in self.dense_layers:
            layer.weights = next(it)
            if layer.is_bias:
                layer.biases = next(it)

    def get_config(self) -> dict[str, Any]:
        """Architecture and compile settings (no weights), JSON-serialisable."""
        cfg: dict[str, Any] = {
            "dtype": str(self.dtype),
            "seed": self.seed,
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
        from .layers import LAYERS

        model = cls(seed=config.get("seed"), dtype=config.get("dtype", "float32"))
        for spec in config["layers"]:
            model.add(LAYERS[spec["type"]](**spec["config"]))
        comp = config.get("compile")
        if comp:
            opt = _optimizers.from_config(comp["optimizer"]["name"], comp["optimizer"]["config"])
            model.compile_model(lr=opt.lr, opt=opt, loss=comp["loss"], mr=comp.get("mr", 0.001), metrics=comp.get("metrics"))
        return model

    def copy(self) -> "NN":
        """An independent deep copy: weights, optimizer state, histories, RNG state."""
        clone = NN.from_config(self.get_config())
        clone.rng = _copy.deepcopy(self.rng)
        for l in clone.layers:
            if isinstance(l, Dropout):
                l.rng = clone.rng
        clone.set_weights(self.get_weights())
        if self.compiled and self.optimizer.state:
            clone.optimizer.load_state_dict(self.optimizer.state_dict())
        clone.epoch = self.epoch
        clone.history = {k: list(v) for k, v in self.history.items()}
        clone.batch_history = {k: list(v) for k, v in self.batch_history.items()}
        clone.layer_stats = [dict(s) for s in self.layer_stats]
        return clone

    def save_model(self, path: str, include_optimizer: bool = True) -> None:
        """Write the model as one JSON file (format "nncore.model"); see nncore.io."""
        from .io import save_model

        save_model(self, path, include_optimizer=include_optimizer)

    def to_json(self, include_optimizer: bool = True) -> str:
        from .io import model_to_json

        return model_to_json(self, include_optimizer=include_optimizer)

    def visualize(self):
        """Plotly figures (loss, accuracy) of train and validation curves per epoch."""
        import plotly.graph_objects as go

        h = self.history
        figs = []
        for key, title in (("loss", "Loss"), ("accuracy", "Accuracy")):
            fig = go.Figure()
            fig.add_scatter(x=h["epoch"], y=h[key], mode="lines+markers", name=f"train {key}")
            if any(v is not None for v in h[f"val_{key}"]):
                fig.add_scatter(x=h["epoch"], y=h[f"val_{key}"], mode="lines+markers", name=f"validation {key}")
            fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=key, template="plotly_white")
            figs.append(fig)
        return figs[0], figs[1]

    def __repr__(self) -> str:
        return f"NN(layers={len(self.layers)}, parameters={self.total_parameters}, compiled={self.compiled})"


def _check_finite(a: np.ndarray, name: str) -> None:
    """Raise ValueError when a float array holds NaN or inf (a cheap sum first, exact count on failure)."""
    if not np.issubdtype(a.dtype, np.floating) or np.isfinite(a.sum()):
        return
    bad = a.size - int(np.count_nonzero(np.isfinite(a)))
    if bad:
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); remove or replace them first.")


def _int_param(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}.")
    return int(value)


def _print_epoch(logs: dict[str, Any]) -> None:
    parts = [f"Epoch {logs['epoch']}", f"{logs['seconds']:.2f}s", f"loss: {logs['loss']:.4f}", f"accuracy: {logs['accuracy']:.4f}"]
    if logs.get("val_loss") is not None:
        parts += [f"val_loss: {logs['val_loss']:.4f}", f"val_accuracy: {logs['val_accuracy']:.4f}"]
    print(" - ".join(parts), file=sys.stdout, flush=True)

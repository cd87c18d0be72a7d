"""The one interface every layer implements.

A layer maps a batch ``x`` of shape (batch, *input_shape) to (batch, *output_shape). It may own named
parameters (``params``, e.g. ``{"weights": ..., "biases": ...}``) with gradients of the same shapes
(``grads``), and an activation applied after its own computation. Subclasses write three small
pieces and inherit the rest:

- ``compute_output_shape(input_shape)`` → output shape (raise ``ShapeError`` when impossible);
- ``init_params(rng, dtype)`` → the initial named arrays (none for parameter-free layers);
- ``forward_z(x, training)`` → pre-activation ``z`` (caching what the backward pass needs),
  ``backward_z(grad_z, need_input_grad)`` → dL/dx (filling ``grads``), and
  ``apply_z(x)`` → ``z`` at inference, caching nothing (safe while another thread trains).

The model packs every layer's parameters into one flat buffer and hands each layer views of it
(``bind``), so optimizers update all parameters in a few vectorised passes. Every subclass is
registered by its class name (``LAYERS``), which is how model files find it again: a new layer
type is one file.
"""
from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np

from .. import activations
from ..errors import ShapeError
from ..registry import lookup, positive

#: every Layer subclass by class name (filled automatically), for model files and configs
LAYERS: dict[str, type["Layer"]] = {}

Shape = tuple[int, ...]


def as_shape(value: Any, name: str = "input_shape") -> Shape:
    """A shape from an int or a sequence of positive ints; ValueError otherwise."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    if not items:
        raise ValueError(f"{name} must be a positive integer or a tuple of them; got {value!r}.")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer or a tuple of them; got {value!r}.")
        out.append(int(v))
    return tuple(out)


def shape_text(shape: Shape | None) -> str:
    """(16, 28, 28) → "(16, 28, 28)"; (10,) → "(10,)"."""
    return "?" if shape is None else str(tuple(shape))


class Layer:
    """Base class of all layers; see the module docstring for the interface."""

    #: short name used to label layers ("Dense 1", "Conv 2", ...)
    label: ClassVar[str] = "Layer"
    #: names of the parameters that l2 regularisation applies to
    regularized: ClassVar[tuple[str, ...]] = ("weights",)
    #: True when training draws random numbers from ``rng`` (Dropout); a data-parallel step then
    #: gives each worker's replica its own generator, seeded from the model's
    stochastic: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        LAYERS[cls.__name__] = cls

    def __init__(self, input_shape: Any = None, activation: str | None = None, l2: float = 0.0):
        self.input_shape: Shape | None = None if input_shape is None else as_shape(input_shape)
        self.output_shape: Shape | None = None
        self.activation = activations.get(activation)
        self.l2 = positive("l2", l2, allow_zero=True)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.rng: np.random.Generator | None = None
        self._a: np.ndarray | None = None
        #: set by NN.trace_step: forward/backward then record z, grad_output and grad_z here
        self._trace: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ to implement
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def init_params(self, rng: np.random.Generator, dtype: np.dtype) -> dict[str, np.ndarray]:
        return {}

    def planned_parameters(self, input_shape: Shape) -> int:
        """How many parameters `build(input_shape)` would create, computed without allocating."""
        return 0

    def forward_z(self, x: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward_z(self, grad_z: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def apply_z(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable) that rebuild this layer without its weights."""
        raise NotImplementedError

    # ------------------------------------------------------------------ generic
    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    @property
    def activation_name(self) -> str:
        return self.activation.name

    @property
    def trainable(self) -> bool:
        return bool(self.params)

    @property
    def input_size(self) -> int:
        """Number of input values per sample."""
        return int(np.prod(self.input_shape))

    @property
    def output_size(self) -> int:
        """Number of output values per sample."""
        if self.output_shape is None:
            raise ValueError(f"{type(self).__name__} has no size until it is added to a model.")
        return int(np.prod(self.output_shape))

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: np.dtype) -> None:
        """Fix the input shape (checking a declared one), compute the output shape, create parameters."""
        input_shape = as_shape(input_shape)
        if self.input_shape is not None and self.input_shape != input_shape:
            raise ShapeError(
                f"{type(self).__name__} declares input_shape={shape_text(self.input_shape)} but receives "
                f"{shape_text(input_shape)} from the previous layer. Use input_shape={shape_text(input_shape)} or omit it."
            )
        output_shape = as_shape(self.compute_output_shape(input_shape), "output shape")
        previous = (self.input_shape, self.output_shape, self.rng)
        self.input_shape, self.output_shape, self.rng = input_shape, output_shape, rng
        try:
            initial = self.init_params(rng, dtype)
            self.params = {k: np.zeros(np.shape(v), dtype=dtype) for k, v in initial.items()}
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
            for k, v in initial.items():
                self.set_param(k, v)
        except Exception:
            self.input_shape, self.output_shape, self.rng = previous
            self.params, self.grads = {}, {}
            raise

    def param_shapes(self) -> dict[str, Shape]:
        return {k: v.shape for k, v in self.params.items()}

    @property
    def parameter_count(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Move the parameters into the given views of the model's flat buffers."""
        for k, view in params.items():
            view[...] = self.params[k]
        self.params, self.grads = dict(params), dict(grads)

    def set_param(self, name: str, value: Any) -> None:
        """Overwrite parameter `name` in place (shape and finiteness checked)."""
        if name not in self.params:
            raise ValueError(f"{type(self).__name__} has no parameter {name!r}; it has {sorted(self.params)}.")
        arr = np.asarray(value)
        target = self.params[name]
        if arr.shape != target.shape:
            raise ValueError(f"{name} must have shape {target.shape}; got {arr.shape}.")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
            raise ValueError(f"{name} must be real numbers; got dtype {arr.dtype}.")
        cast = arr.astype(target.dtype)
        if not np.all(np.isfinite(cast)):
            raise ValueError(f"{name} must be finite numbers (after conversion to {target.dtype}).")
        target[...] = cast

    def l2_penalty(self) -> float:
        """l2 · Σ w² over the regularised parameters (0 without l2)."""
        if not self.l2:
            return 0.0
        return float(self.l2 * sum(np.vdot(self.params[k], self.params[k]) for k in self.regularized if k in self.params))

    def add_l2_gradient(self) -> None:
        """grads += 2 · l2 · w for the regularised parameters (after backward)."""
        if self.l2:
            for k in self.regularized:
                if k in self.params:
                    self.grads[k] += (2.0 * self.l2) * self.params[k]

    # ------------------------------------------------------------------ data-parallel replicas
    def replicate(self, grads: dict[str, np.ndarray]) -> "Layer":
        """A copy for one worker thread of a data-parallel training step (nncore.parallel): the
        same parameter arrays (read-only during the step), its own gradient arrays ``grads`` and
        its own per-batch caches."""
        clone = copy.copy(self)
        clone.grads = dict(grads)
        clone._a = None
        clone._trace = None
        clone._reset_caches()
        return clone

    def _reset_caches(self) -> None:
        """Forget per-batch caches held in mutable containers (layers with scratch buffers override)."""

    # ------------------------------------------------------------------ computation
    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """(batch, *input_shape) → (batch, *output_shape); caches what backward needs."""
        if self._trace is not None:
            self._trace["input"] = x.copy()
        z = self.forward_z(x, training)
        if self._trace is not None:
            self._trace["z"] = z.copy()
        self._a = self.activation.forward(z, inplace=True)
        return self._a

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """dL/d(output) → dL/dx; fills ``grads``."""
        if self._trace is not None:
            self._trace["grad_output"] = grad_out.copy()
        grad_z = self.activation.backward(grad_out, None, self._a)
        if self._trace is not None:
            self._trace["grad_z"] = grad_z.copy()
        return self.backward_z(grad_z, need_input_grad)

    def apply(self, x: np.ndarray, logits: bool = False) -> np.ndarray:
        """Inference (no dropout, no caching); the pre-activation when ``logits``."""
        z = self.apply_z(x)
        return z if logits else self.activation.forward(z, inplace=True)

    # ------------------------------------------------------------------ display
    def describe(self) -> str:
        """A few words on this layer's settings for summaries, e.g. "128 units" or "rate 0.2"."""
        return ""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class WeightsAndBiases:
    """Properties for layers with parameters named "weights" and (unless is_bias=False) "biases":
    views into the model's flat buffer; assigning copies in place (shape and finiteness checked)."""

    is_bias: bool
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    set_param: Any

    @property
    def weights(self) -> np.ndarray | None:
        return self.params.get("weights")

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        self.set_param("weights", value)

    @property
    def biases(self) -> np.ndarray | None:
        return self.params.get("biases")

    @biases.setter
    def biases(self, value: np.ndarray) -> None:
        if not self.is_bias:
            raise ValueError("This layer has no bias (is_bias=False).")
        self.set_param("biases", value)

    @property
    def grad_weights(self) -> np.ndarray | None:
        return self.grads.get("weights")

    @property
    def grad_biases(self) -> np.ndarray | None:
        return self.grads.get("biases")


def get(name: str) -> type[Layer]:
    """The layer class called `name` (e.g. "FFL", "Conv2d"); ValueError lists the valid names."""
    if isinstance(name, str) and name in LAYERS:
        return LAYERS[name]
    return lookup("layer type", name, {k.lower(): v for k, v in LAYERS.items()})

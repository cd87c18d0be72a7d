"""Layers with a uniform interface.

``forward(x, training)`` maps (batch, inputs) → (batch, outputs) and caches what ``backward``
needs; ``backward(grad_out)`` writes parameter gradients into the layer's gradient views and returns
dL/dx (batch, inputs). ``apply(x)`` is the pure inference path: it caches nothing, so it can run
while another thread trains.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import activations
from .registry import fraction


def _size(value: Any, name: str) -> int:
    """A layer size from an int or a 1-tuple; clear error otherwise."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


class Layer:
    """Base class: a layer has an output size and, once added to a model, an input size."""

    trainable = False
    input_shape: int | None = None

    @property
    def output_size(self) -> int:
        raise NotImplementedError

    def build(self, input_size: int, rng: np.random.Generator, dtype: np.dtype) -> None:
        self.input_shape = input_size

    def param_shapes(self) -> list[tuple[int, ...]]:
        return []

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError


class FFL(Layer):
    """Fully connected layer: output = activation(X @ W + b).

    ``weights`` has shape (inputs, neurons) and ``biases`` shape (neurons,). When they are not
    given, weights are drawn He-normal (relu, leaky_relu) or Glorot-uniform (others) from the
    model's own generator, and biases are zero.
    """

    trainable = True

    def __init__(
        self,
        input_shape: int | None = None,
        neurons: int = 1,
        bias: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        activation: str | None = None,
        is_bias: bool = True,
    ):
        self.input_shape = None if input_shape is None else _size(input_shape, "input_shape")
        self.neurons = _size(neurons, "neurons")
        self.activation = activations.get(activation)
        self.activation_name = self.activation.name
        self.is_bias = bool(is_bias)
        if bias is not None and not self.is_bias:
            raise ValueError("bias was given but is_bias=False; pass one or the other.")
        self._init_weights = None if weights is None else np.asarray(weights)
        self._init_bias = None if bias is None else np.asarray(bias)
        self._W: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self.grad_weights: np.ndarray | None = None
        self.grad_biases: np.ndarray | None = None
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None
        self.keep_z = False  # the model sets this on the output layer (the loss needs logits)

    # -- parameters -------------------------------------------------------------------------
    @property
    def output_size(self) -> int:
        return self.neurons

    @property
    def weights(self) -> np.ndarray | None:
        """(inputs, neurons) weight matrix (a view into the model's flat parameter buffer)."""
        return self._W

    @weights.setter
    def weights(self, value: np.ndarray) -> None:
        self._W = self._assign(self._W, value, (self.input_shape, self.neurons), "weights")

    @property
    def biases(self) -> np.ndarray | None:
        """(neurons,) bias vector, or None when is_bias=False."""
        return self._b

    @biases.setter
    def biases(self, value: np.ndarray) -> None:
        if not self.is_bias:
            raise ValueError("This layer has no bias (is_bias=False).")
        self._b = self._assign(self._b, value, (self.neurons,), "biases")

    def _assign(self, current, value, shape, name):
        arr = np.asarray(value)
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}; got {arr.shape}.")
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite numbers.")
        if current is None:
            return np.array(arr, dtype=np.result_type(arr.dtype, np.float32))
        current[...] = arr  # keep the view into the flat buffer
        return current

    def build(self, input_size, rng, dtype):
        if self.input_shape is not None and self.input_shape != input_size:
            raise ValueError(
                f"This layer declares input_shape={self.input_shape} but receives {input_size} "
                "inputs from the previous layer."
            )
        self.input_shape = input_size
        shape = (input_size, self.neurons)
        if self._init_weights is not None:
            if self._init_weights.shape != shape:
                raise ValueError(f"weights must have shape {shape}; got {self._init_weights.shape}.")
            W = self._init_weights
        elif self.activation_name in ("relu", "leaky_relu"):
            W = rng.standard_normal(shape, dtype=np.float64) * np.sqrt(2.0 / input_size)
        else:
            limit = np.sqrt(6.0 / (input_size + self.neurons))
            W = rng.uniform(-limit, limit, size=shape)
        self._W = None
        self.weights = W
        self._W = self._W.astype(dtype)
        if self.is_bias:
            b = self._init_bias if self._init_bias is not None else np.zeros(self.neurons)
            self._b = None
            self.biases = b
            self._b = self._b.astype(dtype)
        self._init_weights = self._init_bias = None

    def param_shapes(self):
        return [(self.input_shape, self.neurons)] + ([(self.neurons,)] if self.is_bias else [])

    def bind(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Move parameters into views of the model's flat buffers."""
        params[0][...] = self._W
        self._W, self.grad_weights = params[0], grads[0]
        if self.is_bias:
            params[1][...] = self._b
            self._b, self.grad_biases = params[1], grads[1]

    @property
    def parameter_count(self) -> int:
        return sum(int(np.prod(s)) for s in self.param_shapes())

    # -- computation ------------------------------------------------------------------------
    def _pre(self, x: np.ndarray) -> np.ndarray:
        z = x @ self._W
        if self.is_bias:
            z += self._b
        return z

    def apply(self, x: np.ndarray, logits: bool = False) -> np.ndarray:
        """Inference: (batch, inputs) → (batch, neurons); caches nothing."""
        z = self._pre(x)
        return z if logits else self.activation.forward(z, inplace=True)

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        self._x = x
        z = self._pre(x)
        if self.keep_z:
            self._z = z
            self._a = self.activation.forward(z, inplace=False)
        else:
            self._a = self.activation.forward(z, inplace=True)
        return self._a

    def backward(self, grad_out: np.ndarray, grad_is_z: bool = False, need_input_grad: bool = True):
        """dL/d(output) (or dL/dz when grad_is_z) → dL/dx; fills grad_weights and grad_biases."""
        gz = grad_out if grad_is_z else self.activation.backward(grad_out, self._z, self._a)
        np.matmul(self._x.T, gz, out=self.grad_weights)
        if self.is_bias:
            np.sum(gz, axis=0, out=self.grad_biases)
        return gz @ self._W.T if need_input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": self.input_shape,
            "neurons": self.neurons,
            "activation": self.activation_name,
            "is_bias": self.is_bias,
        }

    def __repr__(self) -> str:
        return f"FFL(input_shape={self.input_shape}, neurons={self.neurons}, activation={self.activation_name!r})"


class Dropout(Layer):
    """Inverted dropout: while training, zero each input with probability `rate` and scale the rest
    by 1/(1-rate); identity at inference. Masks come from the model's generator."""

    def __init__(self, rate: float = 0.5):
        self.rate = fraction("Dropout rate", rate)
        self.rng: np.random.Generator | None = None
        self._mask: np.ndarray | None = None

    @property
    def output_size(self) -> int:
        if self.input_shape is None:
            raise ValueError("Dropout has no size until it follows another layer.")
        return self.input_shape

    def build(self, input_size, rng, dtype):
        self.input_shape = input_size
        self.rng = rng

    def apply(self, x: np.ndarray, logits: bool = False) -> np.ndarray:
        return x

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        mask = self.rng.random(x.shape, dtype=np.float32) < keep
        self._mask = mask.astype(x.dtype)
        self._mask *= 1.0 / keep
        return x * self._mask

    def backward(self, grad_out: np.ndarray, grad_is_z: bool = False, need_input_grad: bool = True):
        return grad_out if self._mask is None else grad_out * self._mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


LAYERS: dict[str, type[Layer]] = {"FFL": FFL, "Dropout": Dropout}

"""FFL: the fully connected ("feed-forward") layer of the classic from-scratch design."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from .base import Layer, Shape, WeightsAndBiases, as_shape, shape_text

#: activations whose weights are drawn He-normal; the others get Glorot-uniform
RELU_FAMILY = ("relu", "leaky_relu")


def initial_weights(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int, activation: str) -> np.ndarray:
    """He-normal for relu-family activations, Glorot-uniform otherwise (float64, cast by the caller)."""
    if activation in RELU_FAMILY:
        return rng.standard_normal(shape, dtype=np.float64) * np.sqrt(2.0 / fan_in)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


class FFL(WeightsAndBiases, Layer):
    """Fully connected layer: output = activation(x @ W + b) for x of shape (batch, inputs).

    ``weights`` has shape (inputs, neurons) and ``biases`` (neurons,). Without given arrays, weights
    are He-normal (relu, leaky_relu) or Glorot-uniform (others) from the model's generator and
    biases are zero. ``l2`` adds l2·ΣW² to the loss (Keras semantics; biases are not regularised).
    """

    label = "Dense"

    def __init__(
        self,
        input_shape: Any = None,
        neurons: int = 1,
        bias: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        activation: str | None = None,
        is_bias: bool = True,
        l2: float = 0.0,
    ):
        super().__init__(input_shape, activation, l2)
        self.neurons = as_shape(neurons, "neurons")
        if len(self.neurons) != 1:
            raise ValueError(f"neurons must be a positive integer; got {neurons!r}.")
        self.neurons = self.neurons[0]
        self.is_bias = bool(is_bias)
        if bias is not None and not self.is_bias:
            raise ValueError("bias was given but is_bias=False; pass one or the other.")
        self._init_weights = None if weights is None else np.asarray(weights)
        self._init_bias = None if bias is None else np.asarray(bias)
        self._x: np.ndarray | None = None

    # ------------------------------------------------------------------ shapes and parameters
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ShapeError(
                f"FFL takes flat inputs (features,), but the previous layer gives {shape_text(input_shape)}. "
                "Add Flatten() before the first FFL."
            )
        return (self.neurons,)

    def planned_parameters(self, input_shape):
        return int(np.prod(input_shape)) * self.neurons + (self.neurons if self.is_bias else 0)

    def init_params(self, rng, dtype):
        (n_in,) = self.input_shape
        shape = (n_in, self.neurons)
        if self._init_weights is not None:
            if self._init_weights.shape != shape:
                raise ValueError(f"weights must have shape {shape}; got {self._init_weights.shape}.")
            params = {"weights": self._init_weights}
        else:
            params = {"weights": initial_weights(rng, shape, n_in, self.neurons, self.activation_name)}
        if self.is_bias:
            b = np.zeros(self.neurons) if self._init_bias is None else self._init_bias
            if b.shape != (self.neurons,):
                raise ValueError(f"bias must have shape {(self.neurons,)}; got {b.shape}.")
            params["biases"] = b
        return params

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self._init_weights = self._init_bias = None  # the arrays now live in params

    # ------------------------------------------------------------------ computation
    def apply_z(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.params["weights"]
        if self.is_bias:
            z += self.params["biases"]
        return z

    def forward_z(self, x, training):
        self._x = x
        return self.apply_z(x)

    def backward_z(self, grad_z, need_input_grad=True):
        np.matmul(self._x.T, grad_z, out=self.grads["weights"])
        if self.is_bias:
            np.sum(grad_z, axis=0, out=self.grads["biases"])
        return grad_z @ self.params["weights"].T if need_input_grad else None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "neurons": self.neurons,
            "activation": self.activation_name,
            "is_bias": self.is_bias,
            "l2": self.l2,
        }

    def describe(self) -> str:
        return f"{self.neurons} units" + ("" if self.is_bias else ", no bias")

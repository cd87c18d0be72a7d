"""Activation functions with exact derivatives.

Each activation maps pre-activations ``z`` of shape (batch, units) to outputs ``a`` of the same
shape, and ``backward(grad_a, z, a)`` returns dL/dz given dL/da. Functions may work in place on
``z`` when ``inplace=True`` (the caller then keeps only ``a``); derivatives are written in terms of
``a`` wherever possible so ``z`` need not be stored.
"""
from __future__ import annotations

import numpy as np

from .registry import lookup


class Activation:
    name = "linear"
    #: True when backward needs only the output ``a`` (so ``z`` may be overwritten).
    needs_only_output = True

    def forward(self, z: np.ndarray, inplace: bool = False) -> np.ndarray:
        return z

    def backward(self, grad_a: np.ndarray, z: np.ndarray | None, a: np.ndarray) -> np.ndarray:
        return grad_a

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Activation):
    name = "linear"


class ReLU(Activation):
    name = "relu"

    def forward(self, z, inplace=False):
        return np.maximum(z, 0, out=z if inplace else None)

    def backward(self, grad_a, z, a):
        # a > 0 exactly where z > 0, so the mask is taken from the output.
        return np.multiply(grad_a, a > 0, out=grad_a)


class LeakyReLU(Activation):
    name = "leaky_relu"
    alpha = 0.01

    def forward(self, z, inplace=False):
        return np.where(z > 0, z, z * self.alpha).astype(z.dtype, copy=False)

    def backward(self, grad_a, z, a):
        return np.where(a > 0, grad_a, grad_a * self.alpha).astype(grad_a.dtype, copy=False)


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, z, inplace=False):
        # Stable for large |z|: exp(-|z|) never overflows.
        e = np.exp(-np.abs(z))
        pos = z >= 0
        out = z if inplace else np.empty_like(z)
        np.divide(np.where(pos, 1.0, e), 1.0 + e, out=out)
        return out

    def backward(self, grad_a, z, a):
        return grad_a * a * (1 - a)


class Tanh(Activation):
    name = "tanh"

    def forward(self, z, inplace=False):
        return np.tanh(z, out=z if inplace else None)

    def backward(self, grad_a, z, a):
        return grad_a * (1 - a * a)


class Softmax(Activation):
    name = "softmax"

    def forward(self, z, inplace=False):
        out = z if inplace else z.copy()
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def backward(self, grad_a, z, a):
        # Jacobian-vector product of softmax: a * (g - sum(g * a)).
        return a * (grad_a - np.sum(grad_a * a, axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}


def get(name: str | None | Activation) -> Activation:
    """Return the activation called `name` (None means linear); ValueError lists valid names."""
    if isinstance(name, Activation):
        return name
    return lookup("activation", name, ACTIVATIONS)()

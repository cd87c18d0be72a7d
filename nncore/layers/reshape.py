"""Flatten: (batch, C, H, W) → (batch, C·H·W), features in C, H, W order (as PyTorch)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer


class Flatten(Layer):
    """Reshape each sample to one flat vector; no parameters."""

    label = "Flatten"

    def __init__(self, input_shape: Any = None):
        super().__init__(input_shape)

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward_z(self, x, training):
        return self.apply_z(x)

    def backward_z(self, grad_z, need_input_grad=True):
        return grad_z.reshape((len(grad_z), *self.input_shape)) if need_input_grad else None

    def apply_z(self, x):
        return x.reshape(len(x), -1)

    def get_config(self) -> dict[str, Any]:
        return {"input_shape": None if self.input_shape is None else list(self.input_shape)}

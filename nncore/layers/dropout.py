"""Dropout: randomly silence inputs while training (inverted dropout)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import fraction
from .base import Layer


class Dropout(Layer):
    """While training, zero each input with probability `rate` and scale the rest by 1/(1-rate);
    identity at inference. Works on any shape; masks come from the model's generator."""

    label = "Dropout"
    stochastic = True

    def __init__(self, rate: float = 0.5):
        super().__init__()
        self.rate = fraction("Dropout rate", rate)
        self._mask: np.ndarray | None = None

    def forward_z(self, x, training):
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        mask = self.rng.random(x.shape, dtype=np.float32) < keep
        self._mask = mask.astype(x.dtype)
        self._mask *= 1.0 / keep
        return x * self._mask

    def backward_z(self, grad_z, need_input_grad=True):
        return grad_z if self._mask is None else grad_z * self._mask

    def apply_z(self, x):
        return x

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def describe(self) -> str:
        return f"rate {self.rate:g}"

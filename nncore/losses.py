"""Losses. Each returns the batch-mean loss and its gradient with respect to the output layer's
pre-activations ``z`` (batch, outputs), fusing the activation where that is exact and stable.

- "mse": mean over all elements of (a - y)².
- "cse": categorical cross-entropy, mean over the batch of −Σ y·log p, with a softmax output
  (fused gradient p − y, loss by log-sum-exp); binary cross-entropy when the output is a single
  sigmoid unit (fused gradient p − y, loss from logits).
"""
from __future__ import annotations

import numpy as np

from .activations import Activation, Sigmoid, Softmax
from .registry import lookup


class Loss:
    name = "loss"

    def check(self, activation: Activation, outputs: int) -> None:
        """Raise ValueError when this loss cannot be used with that output layer."""

    def value_and_grad(
        self, z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: Activation, need_grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """Return (batch-mean loss, dL/dz or None). z, a, y: (batch, outputs)."""
        raise NotImplementedError

    def value(self, z: np.ndarray, a: np.ndarray, y: np.ndarray, activation: Activation) -> float:
        return self.value_and_grad(z, a, y, activation, need_grad=False)[0]


class MSE(Loss):
    name = "mse"

    def value_and_grad(self, z, a, y, activation, need_grad=True):
        diff = a - y
        loss = float(np.mean(np.square(diff), dtype=np.float64))
        if not need_grad:
            return loss, None
        diff *= 2.0 / diff.size
        return loss, activation.backward(diff, z, a)


class CrossEntropy(Loss):
    name = "cse"

    def check(self, activation, outputs):
        if isinstance(activation, Softmax):
            return
        if isinstance(activation, Sigmoid) and outputs == 1:
            return
        raise ValueError(
            "Loss 'cse' (cross-entropy) needs a 'softmax' output layer, or a single 'sigmoid' unit "
            f"for binary cross-entropy; the output layer has {outputs} unit(s) with activation "
            f"{activation.name!r}. Use activation='softmax' on the output layer or loss='mse'."
        )

    def value_and_grad(self, z, a, y, activation, need_grad=True):
        n = z.shape[0]
        if isinstance(activation, Softmax):
            # −Σ y·log softmax(z) = Σy·logsumexp(z) − Σ y·z, exact and stable.
            zmax = z.max(axis=1, keepdims=True)
            lse = np.log(np.sum(np.exp(z - zmax), axis=1, keepdims=True)) + zmax
            ysum = y.sum(axis=1, keepdims=True)
            loss = float((np.sum(ysum * lse, dtype=np.float64) - np.sum(y * z, dtype=np.float64)) / n)
            if not need_grad:
                return loss, None
            grad = a * ysum if not np.all(ysum == 1) else a.copy()
            grad -= y
        else:  # binary cross-entropy on one sigmoid unit, from logits
            per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
            loss = float(np.sum(per, dtype=np.float64) / n)
            if not need_grad:
                return loss, None
            grad = a - y
        grad /= n
        return loss, grad


LOSSES: dict[str, type[Loss]] = {"mse": MSE, "cse": CrossEntropy}


def get(name: str | Loss) -> Loss:
    """Loss by name ("mse", "cse"); ValueError lists the valid names."""
    if isinstance(name, Loss):
        return name
    if name is None:
        raise ValueError(f"A loss is required. Valid losses are: {', '.join(map(repr, LOSSES))}.")
    return lookup("loss", name, LOSSES)()

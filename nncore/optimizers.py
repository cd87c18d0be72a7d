"""Optimizers that follow the update rules of the matching `torch.optim` algorithms exactly.

All parameters of a model live in one flat buffer and so do their gradients; every optimizer keeps
its per-parameter state as flat buffers of the same size and updates the parameters in place
(`out=` arithmetic, one scratch buffer), so a step allocates nothing.

Gradients are of the batch-mean loss.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from .registry import fraction, lookup, positive


class Optimizer:
    """Base class. `step(params, grads)` updates the flat float array `params` in place."""

    name = "optimizer"
    #: names of the flat state buffers, each shaped like the parameters
    state_names: tuple[str, ...] = ()
    #: scratch buffers a step needs, each shaped like the parameters
    n_scratch = 1
    #: a learning rate that usually works for this rule (what a UI offers first)
    typical_lr: float = 0.01
    #: one sentence for people: what the rule does and when to use it
    help: str = ""
    #: hyper-parameters that can be changed while training runs (besides lr)
    steerable: tuple[str, ...] = ()

    def __init__(self, lr: float = 0.01):
        self.lr = positive("lr", lr)
        self.t = 0
        self.state: dict[str, np.ndarray] = {}
        self._scratch: list[np.ndarray] = []

    # -- state ------------------------------------------------------------------------------
    def _ensure(self, params: np.ndarray) -> None:
        """Zeroed state on the first step (or for other parameters); matching scratch buffers."""
        if set(self.state) != set(self.state_names) or any(v.shape != params.shape for v in self.state.values()):
            self.state = {k: np.zeros_like(params) for k in self.state_names}
            self.t = 0
        elif any(v.dtype != params.dtype for v in self.state.values()):
            self.state = {k: v.astype(params.dtype) for k, v in self.state.items()}
        if not self._scratch or self._scratch[0].shape != params.shape or self._scratch[0].dtype != params.dtype:
            self._scratch = [np.empty_like(params) for _ in range(self.n_scratch)]

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        self.begin_step(params)
        self._update(params, grads, *self._scratch)

    def begin_step(self, params: np.ndarray) -> None:
        """Count a step (and size the state); then `update_slice` over all of the buffers."""
        self._ensure(params)
        self.t += 1

    def update_slice(self, params: np.ndarray, grads: np.ndarray, lo: int, hi: int) -> None:
        """The update of `step` on params[lo:hi] only. Every rule is elementwise, so slices updated
        by different threads (nncore.parallel) give exactly the result of one whole `step`."""
        view = copy.copy(self)
        view.state = {k: v[lo:hi] for k, v in self.state.items()}
        view._update(params[lo:hi], grads[lo:hi], *(s[lo:hi] for s in self._scratch))

    def _update(self, p: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
        raise NotImplementedError

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def set_hyperparameter(self, name: str, value: float) -> None:
        """Change `lr` or a steerable hyper-parameter (e.g. SGD's momentum); validated like __init__."""
        if name == "lr":
            self.lr = positive("lr", value)
        elif name in self.steerable:
            setattr(self, name, fraction(name, value))
        else:
            valid = ", ".join(("lr",) + self.steerable)
            raise ValueError(f"{self.name} has no adjustable hyper-parameter {name!r}; adjustable: {valid}.")

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "buffers": {k: v.copy() for k, v in self.state.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])
        self.state = {k: np.array(v) for k, v in state["buffers"].items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Iterative(Optimizer):
    """Plain gradient descent: w -= lr * g."""

    name = "iterative"
    typical_lr = 0.05
    help = "Plain gradient descent: every step moves the weights by −lr × gradient."

    def _update(self, p, g, tmp):
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class SGD(Optimizer):
    """torch.optim.SGD with momentum (dampening 0): b = m*b + g; w -= lr * (g + m*b if nesterov else b)."""

    name = "sgd"
    state_names = ("momentum_buffer",)
    typical_lr = 0.05
    help = "Stochastic gradient descent with optional momentum (torch.optim.SGD); momentum 0 is plain SGD."
    steerable = ("momentum",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(lr)
        self.momentum = fraction("momentum", momentum)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0.")

    def _update(self, p, g, tmp):
        if self.momentum == 0:
            np.multiply(g, self.lr, out=tmp)
            p -= tmp
            return
        buf = self.state["momentum_buffer"]
        # torch: buf = g on the first step, else buf = m * buf + g; identical since buf starts at 0.
        buf *= self.momentum
        buf += g
        if self.nesterov:
            np.multiply(buf, self.momentum, out=tmp)
            tmp += g
        else:
            tmp[...] = buf
        tmp *= self.lr
        p -= tmp

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    """SGD with Nesterov momentum 0.9 (torch SGD, nesterov=True)."""

    name = "momentum"
    help = "SGD with Nesterov momentum 0.9: steps keep part of their previous direction."
    steerable = ()

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, nesterov: bool = True):
        super().__init__(lr, momentum, nesterov)


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = a*v + (1-a)*g²; w -= lr * g / (sqrt(v) + eps)."""

    name = "rmsprop"
    state_names = ("square_avg",)
    typical_lr = 0.001
    help = "RMSprop: divides each step by a running average of the gradient's size."

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(lr)
        self.alpha = fraction("alpha", alpha)
        self.eps = positive("eps", eps)

    def _update(self, p, g, tmp):
        v = self.state["square_avg"]
        v *= self.alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.alpha
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp

    def get_config(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps}


class Adagrad(Optimizer):
    """torch.optim.Adagrad (no lr decay): s += g²; w -= lr * g / (sqrt(s) + eps)."""

    name = "adagrad"
    state_names = ("sum",)
    typical_lr = 0.01
    help = "Adagrad: each weight's step shrinks with the sum of its past squared gradients."

    def __init__(self, lr: float = 0.01, eps: float = 1e-10):
        super().__init__(lr)
        self.eps = positive("eps", eps)

    def _update(self, p, g, tmp):
        s = self.state["sum"]
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp

    def get_config(self):
        return {"lr": self.lr, "eps": self.eps}


class Adam(Optimizer):
    """torch.optim.Adam: m, v moving averages; w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).

    To save passes over memory the state is kept divided by (1 - beta): M = m/(1-b1) and
    V = v/(1-b2), so M = b1*M + g and V = b2*V + g² need no scaling of g, and the constants fold
    into the step: w -= [lr*(1-b1)/(bc1*k)] * M / (sqrt(V) + eps/k) with k = sqrt((1-b2)/bc2).
    """

    name = "adam"
    typical_lr = 0.001
    help = "Adam: momentum plus per-weight step sizes; a robust default (lr 0.001)."
    state_names = ("exp_avg/(1-beta1)", "exp_avg_sq/(1-beta2)")

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1 = fraction("beta1", beta1)
        self.beta2 = fraction("beta2", beta2)
        self.eps = positive("eps", eps)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """torch's (exp_avg, exp_avg_sq), computed from the scaled state."""
        M, V = (self.state[k] for k in self.state_names)
        return M * (1 - self.beta1), V * (1 - self.beta2)

    def _update(self, p, g, tmp):
        M, V = (self.state[k] for k in self.state_names)
        b1, b2 = self.beta1, self.beta2
        M *= b1
        M += g
        V *= b2
        np.multiply(g, g, out=tmp)
        V += tmp
        k = math.sqrt((1 - b2) / (1 - b2**self.t))
        np.sqrt(V, out=tmp)
        tmp += self.eps / k
        np.divide(M, tmp, out=tmp)
        tmp *= self.lr * (1 - b1) / ((1 - b1**self.t) * k)
        p -= tmp

    def get_config(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class Adamax(Optimizer):
    """torch.optim.Adamax: m = b1*m + (1-b1)*g; u = max(b2*u, |g| + eps); w -= lr/(1-b1^t) * m/u."""

    name = "adamax"
    state_names = ("exp_avg", "exp_inf")
    typical_lr = 0.002
    help = "Adamax: Adam with the infinity norm of past gradients."

    def __init__(self, lr: float = 0.002, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1 = fraction("beta1", beta1)
        self.beta2 = fraction("beta2", beta2)
        self.eps = positive("eps", eps)

    def _update(self, p, g, tmp):
        m, u = self.state["exp_avg"], self.state["exp_inf"]
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=tmp)
        m += tmp
        u *= self.beta2
        np.abs(g, out=tmp)
        tmp += self.eps
        np.maximum(u, tmp, out=u)
        np.divide(m, u, out=tmp)
        tmp *= self.lr / (1 - self.beta1**self.t)
        p -= tmp

    def get_config(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class Adadelta(Optimizer):
    """torch.optim.Adadelta: v = r*v + (1-r)*g²; d = sqrt(a+eps)/sqrt(v+eps)*g; a = r*a + (1-r)*d²; w -= lr*d."""

    name = "adadelta"
    state_names = ("square_avg", "acc_delta")
    typical_lr = 1.0
    help = "Adadelta: adapts its own step size; lr 1.0 is the usual setting."
    n_scratch = 2

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6):
        super().__init__(lr)
        self.rho = fraction("rho", rho)
        self.eps = positive("eps", eps)

    def _update(self, p, g, tmp, tmp2):
        v, acc = self.state["square_avg"], self.state["acc_delta"]
        r = self.rho
        v *= r
        np.multiply(g, g, out=tmp)
        tmp *= 1 - r
        v += tmp
        np.add(v, self.eps, out=tmp)
        np.sqrt(tmp, out=tmp)  # std
        np.add(acc, self.eps, out=tmp2)
        np.sqrt(tmp2, out=tmp2)
        np.divide(tmp2, tmp, out=tmp)
        tmp *= g  # delta
        np.multiply(tmp, tmp, out=tmp2)
        tmp2 *= 1 - r
        acc *= r
        acc += tmp2
        tmp *= self.lr
        p -= tmp

    def get_config(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "iterative": Iterative,
    "momentum": Momentum,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "adam": Adam,
    "adamax": Adamax,
    "adadelta": Adadelta,
}


def uses_momentum_rate(name: str) -> bool:
    """True when compile_model's momentum rate `mr` applies to this optimizer (the one place this rule lives)."""
    return "momentum" in lookup("optimizer", name, OPTIMIZERS).steerable


def get(name: str | Optimizer, lr: float | None = None, mr: float | None = None) -> Optimizer:
    """Optimizer by name (lr from compile_model; `mr` is the momentum rate where the rule has one)
    or as given. Unknown names raise ValueError listing the valid ones."""
    if isinstance(name, Optimizer):
        return name
    cls = lookup("optimizer", name, OPTIMIZERS)
    kwargs: dict[str, float] = {}
    if lr is not None:
        kwargs["lr"] = lr
    if mr is not None and "momentum" in cls.steerable:
        kwargs["momentum"] = mr
    return cls(**kwargs)


def from_config(name: str, config: dict[str, Any]) -> Optimizer:
    cls = lookup("optimizer", name, OPTIMIZERS)
    return cls(**config)

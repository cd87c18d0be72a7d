"""The Playground's default network for 2-D data, and how long it takes to learn each set.

>>> ds = datasets.get("spiral", features=DEFAULT_FEATURES)
>>> model = playground_model(ds)                 # 8-8 tanh, adam lr 0.01 (softmax + cse here)
>>> model.train(ds.x, ds.y, epochs=100, batch_size=DEFAULT_BATCH_SIZE, val_x=ds.x_test, val_y=ds.y_test)

Classification sets get a softmax output over their classes, cross-entropy and the accuracy
metric; regression sets a linear output, mse, and the R² and mean-absolute-error metrics.
The defaults were chosen so that a 2-layer 8-8 tanh network reaches >= 95 % test accuracy on
"spiral" with noise 0 (about 10-30 epochs, depending on the weight seed).
"""
from __future__ import annotations

import numbers
import time
from typing import Any, Sequence

import numpy as np

__all__ = [
    "DEFAULT_FEATURES",
    "DEFAULT_HIDDEN",
    "DEFAULT_ACTIVATION",
    "DEFAULT_OPTIMIZER",
    "DEFAULT_LR",
    "DEFAULT_BATCH_SIZE",
    "LEARNED",
    "playground_model",
    "parse_hidden",
    "epochs_to_learn",
    "Pace",
]

#: Input features of the default setup (what spiral needs to be learnt by 8-8 tanh units).
DEFAULT_FEATURES = ("x1", "x2", "sin(x1)", "sin(x2)")
DEFAULT_HIDDEN = (8, 8)
DEFAULT_ACTIVATION = "tanh"
DEFAULT_OPTIMIZER = "adam"
DEFAULT_LR = 0.01
DEFAULT_BATCH_SIZE = 10  # the Playground's default batch size
#: A set counts as learnt when the test metric reaches this: accuracy (classification), R² (regression).
LEARNED = {"classification": ("accuracy", 0.95), "regression": ("r2", 0.95)}
MAX_UNITS = 64
MAX_LAYERS = 6


def parse_hidden(text: Any) -> tuple[int, ...]:
    """Hidden layer sizes from text such as "8,8" or "8 4" (or a sequence of ints); "" means none.
    ValueError with a sentence when a size is not a whole number from 1 to 64 or there are more
    than 6 layers."""
    if isinstance(text, str):
        parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
        sizes = []
        for p in parts:
            try:
                sizes.append(int(p))
            except ValueError:
                raise ValueError(
                    f"Hidden layers: {p.strip()!r} is not a whole number; write sizes separated by commas, e.g. 8,8."
                ) from None
    else:
        sizes = list(text)
    for s in sizes:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or not 1 <= s <= MAX_UNITS:
            raise ValueError(f"Hidden layers: each layer needs 1 to {MAX_UNITS} neurons; got {s!r}.")
    if len(sizes) > MAX_LAYERS:
        raise ValueError(f"Hidden layers: at most {MAX_LAYERS} layers; got {len(sizes)}.")
    return tuple(int(s) for s in sizes)


def playground_model(
    dataset: Any,
    hidden: Sequence[int] | str = DEFAULT_HIDDEN,
    activation: str = DEFAULT_ACTIVATION,
    optimizer: str = DEFAULT_OPTIMIZER,
    lr: float = DEFAULT_LR,
    seed: int = 0,
    l2: float = 0.0,
) -> Any:
    """A compiled NN for a 2-D ``dataset`` that takes raw (x1, x2) points: the dataset's
    transform, ``hidden`` dense layers of ``activation``, and the output the task needs."""
    from . import FFL, NN

    sizes = parse_hidden(hidden)
    model = NN(seed=seed, input_transform=dataset.transform)
    shape = tuple(dataset.input_shape)
    for i, n in enumerate(sizes):
        model.add(FFL(shape if i == 0 else None, n, activation=activation, l2=l2))
    first = None if sizes else shape
    if dataset.kind == "regression":
        model.add(FFL(first, dataset.n_outputs, activation="linear", l2=l2))
        model.compile_model(lr=lr, opt=optimizer, loss="mse", metrics=["r2", "mae"])
    else:
        model.add(FFL(first, dataset.n_classes, activation="softmax", l2=l2))
        model.compile_model(lr=lr, opt=optimizer, loss="cse", metrics=["accuracy"])
    return model


def epochs_to_learn(model: Any, dataset: Any, max_epochs: int = 300, batch_size: int = DEFAULT_BATCH_SIZE) -> int | None:
    """Train ``model`` epoch by epoch on ``dataset`` until its test metric reaches :data:`LEARNED`
    (accuracy >= 0.95, or R² >= 0.95); the number of epochs that took, or None within ``max_epochs``."""
    metric, target = LEARNED[dataset.kind]
    for epoch in range(1, int(max_epochs) + 1):
        model.train(dataset.x, dataset.y, epochs=1, batch_size=batch_size, verbose=0)
        if model.evaluate(dataset.x_test, dataset.y_test)[metric] >= target:
            return epoch
    return None


class Pace:
    """A training callback that holds training to at most ``epochs_per_second`` (None: full speed),
    so that a small 2-D problem, which nncore learns in a fraction of a second, can be watched.

    It sleeps after a batch when training runs ahead of the pace; a pause or a slow spell is not
    caught up afterwards (the schedule restarts when training falls more than ``slack`` seconds
    behind). ``epochs_per_second`` may be changed at any time (from another thread too)."""

    def __init__(self, epochs_per_second: float | None = None, slack: float = 0.25,
                 clock: Any = time.monotonic, sleep: Any = time.sleep):
        self.epochs_per_second = _pace_value(epochs_per_second)
        self.slack = float(slack)
        self._clock, self._sleep = clock, sleep
        self.reset()

    @property
    def epochs_per_second(self) -> float | None:
        return self._rate

    @epochs_per_second.setter
    def epochs_per_second(self, value: float | None) -> None:
        self._rate = _pace_value(value)

    def reset(self) -> None:
        self._start: float | None = None
        self._epochs = 0.0  # epochs' worth of batches since _start

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.reset()

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        rate = self.epochs_per_second
        now = self._clock()
        if rate is None or self._start is None:
            self._start, self._epochs = now, 0.0
            return
        batches = (logs or {}).get("batches") or 1
        self._epochs += 1.0 / float(batches)
        due = self._start + self._epochs / rate
        if due > now:
            self._sleep(due - now)
        elif now - due > self.slack:
            self._start, self._epochs = now, 0.0


def _pace_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"epochs_per_second must be a positive number or None (full speed); got {value!r}.")
    return float(value)

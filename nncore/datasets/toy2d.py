"""The TensorFlow Playground's 2-D datasets, ported to vectorised NumPy.

Classification (labels -1 / +1 stored as class ids 0 / 1, class names "-1" and "+1"; the
Playground draws -1 orange and +1 blue): "circle", "xor", "gauss", "spiral".
Regression (a float target, roughly in [-1, 1]): "reg-plane", "reg-gauss".

Each generator is a faithful port of ``src/dataset.ts`` in github.com/tensorflow/playground
(Daniel Smilkov and Shan Carter, Apache License 2.0): same shapes, same distributions, same
labelling rule, same noise model (``noise`` 0-50 as on the Playground's slider, used as
``noise / 100``), then, as ``generateData`` does, the points are shuffled and split into train and
test sets.  Differences, all deliberate:

- Random numbers come from ``np.random.default_rng(seed)`` (an int seed, deterministic), not
  seedrandom, so the points differ from the Playground's for the "same" seed.  Positions are drawn
  independently of ``noise`` wherever the Playground's noise only moves the labelling point
  (circle, xor, reg-*), so with one seed a noise change flips labels, not positions.
- An odd ``n_samples`` gives exactly ``n_samples`` points (the first class gets the extra one);
  the Playground's ``i < n / 2`` loops make one more.
- "gauss" points outside the plotted square [-6, 6]² (possible at high noise, a variance of up
  to 4) are redrawn from the same Gaussian, so every x lies in [-6, 6] (a truncated normal).
- The test split is ``round(n_samples * test_fraction)`` points, default 0.5 like the
  Playground's "ratio of training to test data" of 50 %.

The default number of samples is the Playground's: 500 for classification, 1200 for regression.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from nncore import transforms
from nncore.datasets.base import Dataset, register

__all__ = [
    "PLAYGROUND_CREDIT",
    "DOMAIN",
    "NOISE_RANGE",
    "N_SAMPLES_RANGE",
    "CLASS_NAMES",
    "DEFAULT_TEST_FRACTION",
    "generate",
    "make_toy_dataset",
    "CLASSIFICATION_SETS",
    "REGRESSION_SETS",
]

PLAYGROUND_CREDIT = (
    "Data generators of TensorFlow Playground by Daniel Smilkov and Shan Carter (Google); "
    "Apache License 2.0; ported to NumPy"
)
#: Every coordinate lies in [-DOMAIN, DOMAIN] (the Playground's plotted square).
DOMAIN = 6.0
#: ``noise`` as on the Playground's slider (percent).
NOISE_RANGE = (0.0, 50.0)
#: Accepted ``n_samples`` (inclusive).
N_SAMPLES_RANGE = (10, 100_000)
#: Class id 0 is the Playground's label -1 (orange), class id 1 its label +1 (blue).
CLASS_NAMES = ("-1", "+1")
DEFAULT_TEST_FRACTION = 0.5
_DEFAULT_N_CLASSIFY = 500
_DEFAULT_N_REGRESS = 1200

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------------------------
# Generators: (n, noise in [0, 0.5], rng) -> points (n, 2) float64, labels (n,) float64
# (classification labels are -1.0 / +1.0, in generation order, not yet shuffled).
# ----------------------------------------------------------------------------------------------


def _class_sizes(n: int) -> tuple[int, int]:
    """(first class, second class): n // 2 each, the first one gets an odd point."""
    return n - n // 2, n // 2


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    n_in, n_out = _class_sizes(n)
    r = np.concatenate([rng.uniform(0.0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)])
    angle = rng.uniform(0.0, 2 * math.pi, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    shifted = points + rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.where(np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5, 1.0, -1.0)
    return points, labels


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, padding, -padding)
    shifted = points + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    labels = np.where(shifted[:, 0] * shifted[:, 1] >= 0, 1.0, -1.0)
    return points, labels


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5  # d3 linear scale [0, .5] -> [0.5, 4]
    std = math.sqrt(variance)
    n_pos, n_neg = _class_sizes(n)
    centres = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [n_pos, n_neg], axis=0)
    points = rng.normal(centres, std)
    outside = np.abs(points) > DOMAIN
    while outside.any():  # redraw the coordinates outside the square (a truncated normal)
        points[outside] = rng.normal(centres[outside], std)
        outside = np.abs(points) > DOMAIN
    labels = np.repeat([1.0, -1.0], [n_pos, n_neg])
    return points, labels


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for count, delta_t in zip(_class_sizes(n), (0.0, math.pi)):
        i = np.arange(count, dtype=np.float64)
        r = i / count * 5
        t = 1.75 * i / count * 2 * math.pi + delta_t
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    points = np.concatenate(parts) + rng.uniform(-1.0, 1.0, (n, 2)) * noise
    labels = np.repeat([1.0, -1.0], _class_sizes(n))
    return points, labels


def _plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 6.0
    points = rng.uniform(-radius, radius, (n, 2))
    shifted = points + rng.uniform(-radius, radius, (n, 2)) * noise
    labels = (shifted[:, 0] + shifted[:, 1]) / 10.0  # d3 linear [-10, 10] -> [-1, 1], not clamped
    return points, labels


_GAUSSIANS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=np.float64
)


def _regress_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 6.0
    points = rng.uniform(-radius, radius, (n, 2))
    shifted = points + rng.uniform(-radius, radius, (n, 2)) * noise
    distance = np.hypot(shifted[:, None, 0] - _GAUSSIANS[:, 0], shifted[:, None, 1] - _GAUSSIANS[:, 1])
    values = _GAUSSIANS[:, 2] * np.clip(1.0 - distance / 2.0, 0.0, 1.0)  # (n, 6); d3 [0, 2] -> [1, 0] clamped
    # The Playground keeps the first value of largest magnitude (strict >, starting from 0).
    strongest = np.argmax(np.abs(values), axis=1)
    labels = values[np.arange(n), strongest] + 0.0  # + 0.0 turns -0.0 into 0.0
    return points, labels


CLASSIFICATION_SETS: dict[str, Generator] = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}
REGRESSION_SETS: dict[str, Generator] = {"reg-plane": _plane, "reg-gauss": _regress_gauss}
_SUMMARIES = {
    "circle": "Playground: a disc of one class inside a ring of the other",
    "xor": "Playground: the four quadrants, opposite ones alike (exclusive or)",
    "gauss": "Playground: two Gaussian clouds",
    "spiral": "Playground: two interleaved spirals",
    "reg-plane": "Playground: a tilted plane, target (x1 + x2) / 10",
    "reg-gauss": "Playground: six Gaussian bumps of either sign",
}


# ----------------------------------------------------------------------------------------------
# Parameters, Dataset
# ----------------------------------------------------------------------------------------------


def _int_param(name: str, value: object, low: int, high: int | None) -> int:
    bad = isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)
    if not bad:
        bad = value < low or (high is not None and value > high)  # type: ignore[operator]
    if bad:
        expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
        raise ValueError(f"{name} must be {expected}; got {value!r}.")
    return int(value)  # type: ignore[arg-type]


def _real_param(name: str, value: object, low: float, high: float, high_open: bool = False) -> float:
    bad = isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
    if not bad:
        v = float(value)  # type: ignore[arg-type]
        bad = not (low <= v <= high) or (high_open and v == high)  # NaN fails too
    if bad:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}{bracket}; got {value!r}.")
    return float(value)  # type: ignore[arg-type]


def generate(name: str, n_samples: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The raw Playground data, unshuffled: points float64 (n_samples, 2) and labels float64
    (n_samples,) (-1.0 / +1.0 for classification, the target for regression).
    ``noise`` is on the Playground's 0-50 scale.  ValueError naming a bad argument."""
    table = {**CLASSIFICATION_SETS, **REGRESSION_SETS}
    if name not in table:
        raise ValueError(f"Unknown Playground dataset {name!r}. Valid names are: {', '.join(map(repr, table))}.")
    n = _int_param("n_samples", n_samples, *N_SAMPLES_RANGE)
    level = _real_param("noise", noise, *NOISE_RANGE)
    rng = np.random.default_rng(_int_param("seed", seed, 0, None))
    return table[name](n, level / 100.0, rng)


def make_toy_dataset(
    name: str,
    n_samples: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    features: Sequence[str] = ("x1", "x2"),
) -> Dataset:
    """A Playground dataset as a read-only :class:`Dataset`.

    ``n_samples``: points in all, train + test, from 10 to 100,000 (default 500 for
    classification, 1200 for regression, like the Playground); ``noise``: 0-50;
    ``seed``: int >= 0; ``test_fraction``: in [0, 1), the share held out as ``x_test`` (None when
    it rounds to 0 points); ``features``: the Playground input features the model sees
    (:data:`nncore.transforms.FEATURES_2D`).

    ``x``: float32 (n_train, 2) points (x1, x2) in [-6, 6]; ``y``: int64 class ids (0 = -1,
    1 = +1) or float32 (n_train, 1) targets; ``transform``: ``Features2D(features)``;
    ``input_shape``: (len(features),).  ValueError naming a bad parameter, its range and value.
    """
    regression = name in REGRESSION_SETS
    if n_samples is None:
        n_samples = _DEFAULT_N_REGRESS if regression else _DEFAULT_N_CLASSIFY
    fraction = _real_param("test_fraction", test_fraction, 0.0, 1.0, high_open=True)
    try:
        transform = transforms.Features2D(features)
    except ValueError as exc:
        raise ValueError(str(exc).replace("Features2D: ", "", 1)) from None
    points, labels = generate(name, n_samples, noise, seed)
    n = len(points)
    n_test = int(round(n * fraction))
    if n - n_test < 1:
        raise ValueError(f"test_fraction={test_fraction!r} of {n} points leaves no training points.")
    # Shuffle then split, as the Playground does; a separate stream so the split never changes
    # the generated points.
    order = np.random.default_rng([int(seed), 1]).permutation(n)
    points = points[order].astype(np.float32)
    if regression:
        targets = labels[order].astype(np.float32).reshape(n, 1)
        label_info: dict[str, Any] = dict(kind="regression", n_classes=0, class_names=(), target_name="target")
    else:
        targets = (labels[order] > 0).astype(np.int64)
        label_info = dict(kind="classification", n_classes=2, class_names=CLASS_NAMES, target_name="label")
    split = n - n_test
    return Dataset(
        name=name,
        x=points[:split],
        y=targets[:split],
        x_test=points[split:] if n_test else None,
        y_test=targets[split:] if n_test else None,
        input_shape=transform.output_shape((2,)),
        feature_names=transform.features,
        credit=PLAYGROUND_CREDIT,
        description=_SUMMARIES[name],
        transform=transform,
        params=dict(
            n_samples=int(n_samples),
            noise=float(noise),
            seed=int(seed),
            test_fraction=fraction,
            features=list(transform.features),
        ),
        **label_info,
    )


def _register(name: str) -> None:
    kind = "regression" if name in REGRESSION_SETS else "classification"
    default_n = _DEFAULT_N_REGRESS if kind == "regression" else _DEFAULT_N_CLASSIFY

    def loader(
        n_samples: int = default_n,
        noise: float = 0.0,
        seed: int = 0,
        test_fraction: float = DEFAULT_TEST_FRACTION,
        features: Sequence[str] = ("x1", "x2"),
    ) -> Dataset:
        return make_toy_dataset(name, n_samples, noise, seed, test_fraction, features)

    loader.__name__ = loader.__qualname__ = f"load_{name.replace('-', '_')}"
    loader.__doc__ = f"{_SUMMARIES[name]}.  See :func:`make_toy_dataset`."
    register(name, kind=kind, summary=_SUMMARIES[name])(loader)


for _name in (*CLASSIFICATION_SETS, *REGRESSION_SETS):
    _register(_name)

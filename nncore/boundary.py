"""The Playground view's numbers: a model's output and every hidden unit's activation over a grid
of 2-D points (decision boundary and "what each neuron has learned"), in one vectorised forward
pass each. No Streamlit; the dashboard turns these arrays into pictures.

>>> ds = datasets.get("spiral", features=("x1", "x2", "sin(x1)", "sin(x2)"))
>>> extent = data_extent(ds)                       # (xmin, xmax, ymin, ymax) with a margin
>>> grid = decision_grid(model, extent, 100)       # grid.values (100, 100) in [-1, 1]
>>> units = neuron_grids(model, extent, 40)        # units.layers[0].values (8, 40, 40)

Grids are indexed ``values[row, column]`` with row ``i`` at ``y = ys[i]`` and column ``j`` at
``x = xs[j]`` (the orientation of a plotly heatmap drawn with ``x=xs, y=ys``).

Value of a classifier: the Playground colours each point by the network's output in [-1, 1]
(-1 orange, +1 blue). Here that is ``2 P(class 1) - 1`` for a binary classifier (softmax over two
classes, a single sigmoid unit, or any single output read with the 0.5 threshold the accuracy
metric uses), so 0 is the decision boundary. With more than two classes the value is the predicted
class id. A regression's value is its (first) predicted output.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = [
    "Extent",
    "BoundaryGrid",
    "LayerGrids",
    "NeuronGrids",
    "data_extent",
    "grid_axes",
    "grid_points",
    "task_of",
    "output_values",
    "point_predictions",
    "decision_grid",
    "neuron_grids",
    "feature_grids",
    "discretize",
    "value_range",
    "diverging_rgb",
    "PLAYGROUND_COLOURS",
]

Extent = tuple[float, float, float, float]  # (xmin, xmax, ymin, ymax)

#: The Playground's diverging palette: -1 orange, 0 light grey, +1 blue.
PLAYGROUND_COLOURS = ("#f59322", "#e8eaeb", "#0877bd")

#: activations whose outputs lie in [-1, 1]: drawn on a fixed scale
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid")
MAX_RESOLUTION = 1000  # grid side; 10^6 points is already ~100 MB of activations for wide layers


# ----------------------------------------------------------------------------------------------
# Grids
# ----------------------------------------------------------------------------------------------
def _check_extent(extent: Any) -> Extent:
    try:
        values = tuple(float(v) for v in extent)
    except (TypeError, ValueError):
        raise ValueError(f"extent must be four numbers (xmin, xmax, ymin, ymax); got {extent!r}.") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"extent must be four finite numbers (xmin, xmax, ymin, ymax); got {extent!r}.")
    xmin, xmax, ymin, ymax = values
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"extent must have xmin < xmax and ymin < ymax; got {extent!r}.")
    return values  # type: ignore[return-value]


def _check_resolution(resolution: Any) -> int:
    if isinstance(resolution, (bool, np.bool_)) or not isinstance(resolution, numbers.Integral) or not (
        2 <= resolution <= MAX_RESOLUTION
    ):
        raise ValueError(f"resolution must be an integer from 2 to {MAX_RESOLUTION}; got {resolution!r}.")
    return int(resolution)


def data_extent(dataset: Any, margin: float = 0.05) -> Extent:
    """A square (xmin, xmax, ymin, ymax) covering the training and test points of a 2-D
    ``dataset`` (or an (n, 2) array): centred on the points, each side the larger of their two
    spans widened by ``margin`` × that span on both ends. A Playground set gets the Playground's
    plotted square [-6, 6]² (every point lies in it), so the axes stay put when noise changes."""
    from .datasets import toy2d

    if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, numbers.Real) or not 0 <= margin <= 1:
        raise ValueError(f"margin must be a number from 0 to 1; got {margin!r}.")
    if isinstance(dataset, (np.ndarray, list, tuple)):
        parts = [np.asarray(dataset)]
    else:
        parts = [np.asarray(dataset.x)]
        if getattr(dataset, "x_test", None) is not None:
            parts.append(np.asarray(dataset.x_test))
    for p in parts:
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"data_extent needs 2-D points of shape (n, 2); got samples of shape {p.shape}.")
    points = np.concatenate(parts).astype(np.float64)
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        raise ValueError("data_extent needs at least one finite point; got none.")
    d = toy2d.DOMAIN
    if getattr(dataset, "credit", None) == toy2d.PLAYGROUND_CREDIT and np.all(np.abs(points) <= d):
        return (-d, d, -d, d)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2
    span = float(max(hi - lo))
    half = span / 2 + (margin * span if span > 0 else 1.0)
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def grid_axes(extent: Any, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The grid's x and y coordinates: two float64 arrays (resolution,), edges included."""
    xmin, xmax, ymin, ymax = _check_extent(extent)
    n = _check_resolution(resolution)
    return np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)


def grid_points(extent: Any, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs (r,), ys (r,) and the grid points float32 (r*r, 2), row by row (point ``i*r + j`` is
    ``(xs[j], ys[i])``), ready for ``model.predict``."""
    xs, ys = grid_axes(extent, resolution)
    r = len(xs)
    points = np.empty((r * r, 2), dtype=np.float32)
    points[:, 0] = np.tile(xs, r)
    points[:, 1] = np.repeat(ys, r)
    return xs, ys, points


# ----------------------------------------------------------------------------------------------
# The model's output as one value per point
# ----------------------------------------------------------------------------------------------
def task_of(model: Any) -> str:
    """"classification" when the model is compiled as a classifier (accuracy metric, cross-entropy
    or a softmax output), else "regression"."""
    out = model.layers[-1].activation_name
    loss = getattr(getattr(model, "loss", None), "name", None)
    if "accuracy" in (getattr(model, "metrics", None) or []) or loss == "cse" or out == "softmax":
        return "classification"
    return "regression"


def output_values(model: Any, outputs: np.ndarray) -> np.ndarray:
    """Model outputs (n, k) → one float32 value per point (n,): 2·P(class 1) − 1 in [-1, 1] for a
    binary classifier, the class id for more classes, the first output for a regression."""
    a = np.asarray(outputs)
    if a.ndim != 2:
        raise ValueError(f"outputs must have shape (n, outputs); got {a.shape}.")
    if task_of(model) == "regression":
        return a[:, 0].astype(np.float32)
    if a.shape[1] == 1:  # one unit read with the accuracy metric's 0.5 threshold
        return np.clip(2.0 * a[:, 0] - 1.0, -1.0, 1.0).astype(np.float32)
    if a.shape[1] == 2:  # softmax: p1 - p0 = 2 p1 - 1
        return np.clip(a[:, 1] - a[:, 0], -1.0, 1.0).astype(np.float32)
    return a.argmax(axis=1).astype(np.float32)


def point_predictions(model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """For raw points x (n, 2): their values (n,) as in :func:`output_values` and, for a
    classifier, the predicted class ids int64 (n,) (None for a regression)."""
    a = np.asarray(model.predict(x))
    values = output_values(model, a)
    if task_of(model) == "regression":
        return values, None
    if a.shape[1] == 1:
        return values, (a[:, 0] > 0.5).astype(np.int64)
    return values, a.argmax(axis=1).astype(np.int64)


@dataclass(frozen=True)
class BoundaryGrid:
    """The model's value over a grid: ``values`` float32 (len(ys), len(xs)), ``values[i, j]`` at
    (xs[j], ys[i]); ``task`` "classification" or "regression"; ``n_classes`` (0 for regression)."""

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    task: str
    n_classes: int

    @property
    def extent(self) -> Extent:
        return (float(self.xs[0]), float(self.xs[-1]), float(self.ys[0]), float(self.ys[-1]))


def decision_grid(model: Any, extent: Any, resolution: int = 100) -> BoundaryGrid:
    """The model's output over a ``resolution`` × ``resolution`` grid covering ``extent``
    (one forward pass over all grid points; the model is not changed)."""
    xs, ys, points = grid_points(extent, resolution)
    outputs = model.predict(points, batch_size=len(points))
    values = output_values(model, outputs).reshape(len(ys), len(xs))
    task = task_of(model)
    n_classes = 0 if task == "regression" else max(2, int(np.asarray(outputs).shape[1]))
    return BoundaryGrid(xs=xs, ys=ys, values=values, task=task, n_classes=n_classes)


# ----------------------------------------------------------------------------------------------
# What every hidden unit has learned
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerGrids:
    """One hidden dense layer over the grid: ``values`` float32 (units, rows, columns)."""

    name: str  # engine name, e.g. "Dense 1"
    activation: str
    values: np.ndarray

    @property
    def units(self) -> int:
        return int(self.values.shape[0])

    def colour_limits(self) -> np.ndarray:
        """A colour limit L per unit (units,) for a [-L, L] scale: 1 for the bounded activations
        (tanh, sigmoid, as the Playground draws them), else the unit's largest |value| (1 when 0)."""
        if self.activation in BOUNDED_ACTIVATIONS:
            return np.ones(self.units, dtype=np.float32)
        peak = np.nan_to_num(np.abs(self.values), nan=0.0).reshape(self.units, -1).max(axis=1)
        return np.where(peak > 0, peak, 1.0).astype(np.float32)

    def unit_title(self, unit: int) -> str:
        """E.g. "Dense 1 · unit 3" (units counted from 1, as people count)."""
        return f"{self.name} · unit {unit + 1}"


@dataclass(frozen=True)
class NeuronGrids:
    xs: np.ndarray
    ys: np.ndarray
    layers: list[LayerGrids]

    @property
    def total_units(self) -> int:
        return sum(l.units for l in self.layers)


def _is_dense(layer: Any) -> bool:
    w = getattr(layer, "params", {}).get("weights")
    return w is not None and w.ndim == 2 and len(layer.output_shape) == 1


def neuron_grids(model: Any, extent: Any, resolution: int = 40) -> NeuronGrids:
    """Every hidden unit of every dense layer (all but the output layer) over a grid: one
    ``model.feedforward`` pass over all grid points; ``layers[l].values[u]`` is unit u's
    activation, shape (resolution, resolution), oriented as in :class:`BoundaryGrid`."""
    xs, ys, points = grid_points(extent, resolution)
    outs = model.feedforward(points)
    layers = []
    names = model.layer_names()
    for name, layer, out in list(zip(names, model.layers, outs))[:-1]:
        if not _is_dense(layer):
            continue
        units = np.ascontiguousarray(np.asarray(out, dtype=np.float32).T).reshape(-1, len(ys), len(xs))
        layers.append(LayerGrids(name=name, activation=layer.activation_name, values=units))
    return NeuronGrids(xs=xs, ys=ys, layers=layers)


def feature_grids(transform: Any, extent: Any, resolution: int = 40) -> tuple[list[str], np.ndarray]:
    """The model's input features over a grid (the Playground's input nodes): their names and
    float32 (features, resolution, resolution). ``transform`` maps raw (n, 2) points to (n, k)
    features (e.g. ``Features2D``); None means the raw (x1, x2)."""
    xs, ys, points = grid_points(extent, resolution)
    if transform is None:
        feats, names = points, ["x1", "x2"]
    else:
        feats = np.asarray(transform(points))
        if feats.ndim != 2:
            raise ValueError(f"feature_grids needs a transform giving (n, features); it gave shape {feats.shape}.")
        names = list(getattr(transform, "features", None) or [f"feature {i + 1}" for i in range(feats.shape[1])])
    grids = np.ascontiguousarray(feats.T.astype(np.float32)).reshape(-1, len(ys), len(xs))
    return names, grids


# ----------------------------------------------------------------------------------------------
# Colours
# ----------------------------------------------------------------------------------------------
def discretize(values: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """The Playground's "discretize output": -1 below ``threshold``, +1 at or above it (float32)."""
    v = np.asarray(values)
    return np.where(v >= threshold, np.float32(1), np.float32(-1)).astype(np.float32)


def value_range(dataset: Any) -> tuple[float, float]:
    """The colour range of a model's values on ``dataset``: (-1, 1) for a classifier, the
    targets' range (train and test, symmetric about their midpoint, never empty) for a regression."""
    if getattr(dataset, "kind", "classification") != "regression":
        return (-1.0, 1.0)
    ys = [np.asarray(dataset.y, dtype=np.float64)[:, 0]]
    if getattr(dataset, "y_test", None) is not None:
        ys.append(np.asarray(dataset.y_test, dtype=np.float64)[:, 0])
    y = np.concatenate(ys)
    lo, hi = float(y.min()), float(y.max())
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


def _hex_rgb(colour: str) -> np.ndarray:
    c = colour.lstrip("#")
    return np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def diverging_rgb(values: np.ndarray, low: Any = -1.0, high: Any = 1.0, colours: Sequence[str] = PLAYGROUND_COLOURS) -> np.ndarray:
    """Values (...) → uint8 RGB (..., 3) on a three-colour diverging scale: ``low`` → colours[0],
    the midpoint → colours[1], ``high`` → colours[2], clamped; NaN → the middle colour.
    ``low``/``high`` are numbers or arrays that broadcast against ``values`` (e.g. (units, 1, 1))."""
    lo = np.asarray(low, dtype=np.float32)
    hi = np.asarray(high, dtype=np.float32)
    if not np.all(hi > lo):
        raise ValueError(f"diverging_rgb needs high > low everywhere; got low={low!r}, high={high!r}.")
    v = np.asarray(values, dtype=np.float32)
    v = np.where(np.isnan(v), (lo + hi) / 2, v)
    t = np.clip((v - lo) / (hi - lo) * 2.0 - 1.0, -1.0, 1.0)[..., None]
    c_low, c_mid, c_high = (_hex_rgb(c) for c in colours)
    rgb = np.where(t < 0, c_mid + (c_low - c_mid) * -t, c_mid + (c_high - c_mid) * t)
    return np.rint(rgb).astype(np.uint8)

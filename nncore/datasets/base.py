"""The :class:`Dataset` record every data source returns, and the ``get(name, **params)`` registry.

A Dataset holds raw samples (as stored: e.g. uint8 images, float table values) plus the
:mod:`nncore.transforms` object a model trained on it should apply per batch, so one read-only
copy per process can be shared by every session.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from nncore import transforms as _transforms

__all__ = ["Dataset", "DatasetSpec", "DATASETS", "KINDS", "get", "names", "register"]

#: The two kinds of learning problem a Dataset can pose.
KINDS = ("classification", "regression")


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (the caller's array itself keeps its flags)."""
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False, kw_only=True)
class Dataset:
    """A labelled dataset, immutable, its arrays read-only.

    ``x``: training samples, shape (n, *sample_shape) as stored (e.g. uint8 (n, H, W) images,
    float32 (n, 2) points, float64 (n, d) table values); ``transform(x)`` gives the model's float32
    input of shape (n, *input_shape).
    ``y``: classification: int64 class ids (n,) in [0, n_classes); regression: float32 (n, k)
    targets (k = 1 for every built-in dataset; a 1-D float y is stored as (n, 1)).
    ``x_test``/``y_test``: a held-out test set of the same kinds, or both None.
    ``input_shape``: the shape of ONE sample as the model sees it (after ``transform``).
    ``class_names``: one name per class (empty for regression); ``feature_names``: one name per
    model input feature for tabular data (length ``input_shape[0]``), None for images.
    ``params``: the parameters that rebuild it with :func:`get` (JSON-serialisable).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    kind: str
    input_shape: tuple[int, ...]
    transform: _transforms.Transform
    n_classes: int = 0
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    target_name: str = "label"
    credit: str = ""
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def put(attr: str, value: Any) -> None:
            object.__setattr__(self, attr, value)

        if self.kind not in KINDS:
            raise ValueError(f"Dataset: kind must be one of {', '.join(map(repr, KINDS))}; got {self.kind!r}.")
        if not isinstance(self.transform, _transforms.Transform):
            raise ValueError(
                f"Dataset: transform must be an nncore.transforms.Transform; got {type(self.transform).__name__}."
            )
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("Dataset: x_test and y_test must be given together (or both None).")
        put("input_shape", tuple(int(s) for s in self.input_shape))
        put("class_names", tuple(str(c) for c in self.class_names))
        if self.feature_names is not None:
            put("feature_names", tuple(str(f) for f in self.feature_names))
        put("params", MappingProxyType(dict(self.params)))

        splits = [("x", "y")] + ([("x_test", "y_test")] if self.x_test is not None else [])
        for x_attr, y_attr in splits:
            x = np.asarray(getattr(self, x_attr))
            y = self._checked_labels(y_attr, np.asarray(getattr(self, y_attr)))
            if x.ndim < 1 or x.dtype.kind not in "biuf":
                raise ValueError(f"Dataset: {x_attr} must be a numeric array (n, ...); got {x.dtype} {x.shape}.")
            if len(x) != len(y):
                raise ValueError(
                    f"Dataset: {x_attr} and {y_attr} must hold the same number of samples; got {len(x)} and {len(y)}."
                )
            put(x_attr, _read_only(x))
            put(y_attr, _read_only(y))
        if self.x_test is not None and self.x_test.shape[1:] != self.x.shape[1:]:
            raise ValueError(
                f"Dataset: x_test samples must have x's sample shape {self.x.shape[1:]}; got {self.x_test.shape[1:]}."
            )
        if self.kind == "regression" and self.y_test is not None and self.y_test.shape[1:] != self.y.shape[1:]:
            raise ValueError(
                f"Dataset: y_test must have y's target shape {self.y.shape[1:]}; got {self.y_test.shape[1:]}."
            )
        seen = self.transform.output_shape(tuple(self.x.shape[1:]))
        if seen != self.input_shape:
            raise ValueError(
                f"Dataset: input_shape {self.input_shape} does not match what the transform makes of a "
                f"sample of shape {tuple(self.x.shape[1:])}: {seen}."
            )
        if self.feature_names is not None and (len(self.input_shape) != 1 or len(self.feature_names) != self.input_shape[0]):
            raise ValueError(
                f"Dataset: feature_names must name each of the {self.input_shape} model inputs; "
                f"got {len(self.feature_names)} name(s)."
            )

    def _checked_labels(self, attr: str, y: np.ndarray) -> np.ndarray:
        if self.kind == "classification":
            n = self.n_classes
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
                raise ValueError(f"Dataset: a classification dataset needs n_classes >= 2; got {n!r}.")
            if len(self.class_names) != n:
                raise ValueError(
                    f"Dataset: class_names must hold one name per class ({n}); got {len(self.class_names)}."
                )
            if y.ndim != 1 or y.dtype.kind not in "iu":
                raise ValueError(f"Dataset: {attr} must hold integer class ids of shape (n,); got {y.dtype} {y.shape}.")
            if y.size and (y.min() < 0 or y.max() >= n):
                raise ValueError(
                    f"Dataset: {attr} holds class ids from {y.min()} to {y.max()}; expected 0 <= id < {n}."
                )
            return y.astype(np.int64, copy=False)
        if self.n_classes != 0 or self.class_names:
            raise ValueError("Dataset: a regression dataset has n_classes 0 and no class_names.")
        if y.dtype.kind not in "iuf" or y.ndim not in (1, 2):
            raise ValueError(f"Dataset: {attr} must hold float targets of shape (n,) or (n, k); got {y.dtype} {y.shape}.")
        y = y.astype(np.float32, copy=False)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"Dataset: {attr} holds non-finite targets (NaN or inf).")
        return y.reshape(len(y), -1)

    # ------------------------------------------------------------------ derived properties
    @property
    def is_image(self) -> bool:
        """True when one model input is an image: ``input_shape`` is (channels, height, width)."""
        return len(self.input_shape) == 3

    @property
    def is_classification(self) -> bool:
        return self.kind == "classification"

    @property
    def n_samples(self) -> int:
        """Number of training samples, ``len(x)``."""
        return len(self.x)

    @property
    def n_test(self) -> int:
        """Number of test samples (0 without a test set)."""
        return 0 if self.x_test is None else len(self.x_test)

    @property
    def n_outputs(self) -> int:
        """Units of a model's output layer: n_classes (classification) or k of y (n, k) (regression)."""
        return self.n_classes if self.kind == "classification" else int(self.y.shape[1])

    def __repr__(self) -> str:
        test = f", x_test={self.x_test.shape}" if self.x_test is not None else ""
        return (
            f"Dataset(name={self.name!r}, kind={self.kind!r}, x={self.x.shape} {self.x.dtype}{test}, "
            f"input_shape={self.input_shape}, n_classes={self.n_classes}, transform={self.transform!r})"
        )


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its name, kind, one-line summary, parameters with their defaults
    (``{}`` when it takes none) and the loader ``get`` calls."""

    name: str
    kind: str
    summary: str
    defaults: Mapping[str, Any]
    loader: Callable[..., Dataset]


_REGISTRY: dict[str, DatasetSpec] = {}
#: name -> :class:`DatasetSpec`, read-only, in registration order.
DATASETS: Mapping[str, DatasetSpec] = MappingProxyType(_REGISTRY)


def register(name: str, *, kind: str, summary: str) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Decorator: make ``loader(**params) -> Dataset`` available as ``get(name, **params)``.
    Its keyword parameters (all with defaults) are the dataset's parameters."""

    def decorate(loader: Callable[..., Dataset]) -> Callable[..., Dataset]:
        params = inspect.signature(loader).parameters.values()
        defaults = {p.name: p.default for p in params}
        if any(d is inspect.Parameter.empty for d in defaults.values()):
            raise TypeError(f"register({name!r}): every loader parameter needs a default.")
        _REGISTRY[name] = DatasetSpec(name, kind, summary, MappingProxyType(defaults), loader)
        return loader

    return decorate


def names() -> list[str]:
    """The valid names for :func:`get`, in registration order."""
    return list(_REGISTRY)


def get(name: str, **params: Any) -> Dataset:
    """The dataset ``name`` built with ``params`` (see ``DATASETS[name].defaults`` for each one's
    parameters).  ValueError listing the valid names for an unknown name, naming the parameter
    for an unknown or out-of-range parameter."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(f"Unknown dataset {name!r}. Valid datasets are: {', '.join(map(repr, _REGISTRY))}.")
    spec = _REGISTRY[key]
    for param in params:
        if param not in spec.defaults:
            valid = ", ".join(spec.defaults) or "none"
            raise ValueError(
                f"Dataset {spec.name!r} has no parameter {param!r}; its parameters are: {valid}."
            )
    return spec.loader(**params)

"""Input transforms: what a model applies to its raw input, batch by batch, before its first layer.

A dataset hands out raw samples (e.g. uint8 grey-level images, a CSV table as its file values)
together with the transform a model trained on it should carry, so the model turns raw inputs into
what its layers expect the same way at training and at prediction time, and saves that recipe
with its weights (as JSON: ``get_config`` holds plain lists and floats, never arrays).

>>> from nncore import transforms
>>> t = transforms.Chain([transforms.Rescale(1 / 255), transforms.Reshape((1, 32, 32))])
>>> t(images_uint8).shape, t.output_shape((32, 32))          # (n, 1, 32, 32), (1, 32, 32)
>>> same = transforms.from_config(transforms.get_config(t))  # bit-identical outputs

Every transform maps a batch ``x`` of shape (n, *sample_shape) to a new float32 array of shape
(n, *output_shape(sample_shape)), vectorised over the batch, and never modifies ``x``.
Subclasses register themselves by class name in :data:`TRANSFORMS`.
"""
from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "Transform",
    "Rescale",
    "Standardize",
    "Features2D",
    "Reshape",
    "Chain",
    "TRANSFORMS",
    "FEATURES_2D",
    "get_config",
    "from_config",
    "get",
]

#: class name -> Transform subclass; filled in by ``Transform.__init_subclass__``.
TRANSFORMS: dict[str, type["Transform"]] = {}

#: Elements per float64 chunk in the transforms that compute in float64 (bounds temporary memory
#: to ~8 MB whatever the batch size).
_CHUNK_ELEMENTS = 1 << 20


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def _finite_number(owner: str, field: str, value: object) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {field} must be a finite number; got {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{owner}: {field} must be a finite number; got {value!r}.")
    return v


def _sample_shape(owner: str, input_shape: object) -> tuple[int, ...]:
    """``input_shape`` (the shape of ONE sample) as a tuple of positive ints, else ValueError."""
    try:
        shape = tuple(input_shape)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(
            f"{owner}.output_shape: input_shape must be a tuple of positive integers; got {input_shape!r}."
        ) from None
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_)) and s > 0 for s in shape):
        raise ValueError(
            f"{owner}.output_shape: input_shape must be a tuple of positive integers; got {input_shape!r}."
        )
    return tuple(int(s) for s in shape)


def _batch(owner: str, x: object) -> np.ndarray:
    """``x`` as a numeric array with a leading sample axis, else ValueError."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{owner}: expected a numeric array, got dtype {arr.dtype}.")
    if arr.ndim < 1:
        raise ValueError(f"{owner}: expected a batch with a leading sample axis, got a scalar.")
    return arr


def _rows_per_chunk(sample_size: int) -> int:
    return max(1, _CHUNK_ELEMENTS // max(1, sample_size))


# ----------------------------------------------------------------------------------------------
# Base class and registry
# ----------------------------------------------------------------------------------------------


class Transform:
    """A per-batch input transform.  Subclasses implement ``__call__``, ``output_shape`` and
    ``get_config``; ``from_config`` (``cls(**config)`` after checking the field names) and
    equality (same class and same config) come for free."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            TRANSFORMS[cls.__name__] = cls

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(n, *sample_shape) -> new float32 array (n, *output_shape(sample_shape))."""
        raise NotImplementedError

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one output sample for one input sample of shape ``input_shape``."""
        raise NotImplementedError

    def _call_owned(self, x: np.ndarray) -> np.ndarray:
        """Like ``__call__`` for an ``x`` nobody else holds (a Chain's intermediate result), so
        the result may share its memory (e.g. Reshape returns a view)."""
        return self(x)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-serialisable values (lists, floats, ints, strings)."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Transform":
        """Rebuild from :meth:`get_config`; ValueError naming an unknown or missing field."""
        name = cls.__name__
        if not isinstance(config, Mapping):
            raise ValueError(f"{name} config must be a dict of fields; got {type(config).__name__}.")
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        params = [
            p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self" and p.kind in named
        ]
        valid = [p.name for p in params]
        for key in config:
            if key not in valid:
                raise ValueError(
                    f"{name} config has an unknown field {key!r}; valid fields are: {', '.join(valid)}."
                )
        for p in params:
            if p.default is inspect.Parameter.empty and p.name not in config:
                raise ValueError(f"{name} config is missing the field {p.name!r}.")
        return cls(**dict(config))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def get_config(transform: Transform) -> dict[str, Any]:
    """``{"type": class name, "config": transform.get_config()}``, JSON-serialisable."""
    if not isinstance(transform, Transform):
        raise ValueError(
            f"get_config expects an nncore.transforms.Transform; got {type(transform).__name__}."
        )
    return {"type": type(transform).__name__, "config": transform.get_config()}


def from_config(data: Mapping[str, Any]) -> Transform:
    """Rebuild a transform from :func:`get_config`'s dict; ValueError naming the bad field."""
    if not isinstance(data, Mapping):
        raise ValueError(
            f"A transform config must be a dict with fields 'type' and 'config'; got {type(data).__name__}."
        )
    for key in data:
        if key not in ("type", "config"):
            raise ValueError(
                f"A transform config has an unknown field {key!r}; valid fields are: type, config."
            )
    if "type" not in data:
        raise ValueError("A transform config is missing the field 'type'.")
    kind = data["type"]
    if not isinstance(kind, str) or kind not in TRANSFORMS:
        valid = ", ".join(repr(k) for k in TRANSFORMS)
        raise ValueError(f"Unknown transform type {kind!r} in field 'type'. Valid types are: {valid}.")
    config = data.get("config", {})
    if not isinstance(config, Mapping):
        raise ValueError(
            f"The field 'config' of a {kind} transform must be a dict; got {type(config).__name__}."
        )
    return TRANSFORMS[kind].from_config(config)


def get(identifier: Transform | Mapping[str, Any] | str | None) -> Transform:
    """Keras-style lookup: a Transform is returned as is, a dict goes through :func:`from_config`,
    a class name builds that transform with its default arguments, ``None`` gives the identity
    (``Chain([])``).  ValueError for anything else, listing the valid names."""
    if identifier is None:
        return Chain([])
    if isinstance(identifier, Transform):
        return identifier
    if isinstance(identifier, Mapping):
        return from_config(identifier)
    if isinstance(identifier, str) and identifier in TRANSFORMS:
        cls = TRANSFORMS[identifier]
        try:
            return cls()
        except TypeError:
            raise ValueError(
                f"Transform {identifier!r} needs arguments; pass {{'type': {identifier!r}, 'config': {{...}}}} "
                "or an instance."
            ) from None
    valid = ", ".join(repr(k) for k in TRANSFORMS)
    raise ValueError(f"Unknown transform {identifier!r}. Valid transforms are: {valid}.")


# ----------------------------------------------------------------------------------------------
# Transforms
# ----------------------------------------------------------------------------------------------


class Rescale(Transform):
    """``x * scale + offset`` as float32, e.g. ``Rescale(1 / 255)``: uint8 grey levels -> [0, 1].

    Computed in float64 and rounded once to float32, so ``Rescale(1 / 255)`` gives exactly
    ``nncore.datasets.scale``'s values (the correctly rounded ``k / 255``).  Fast path, same bits:
    when ``offset`` is 0 and ``scale`` is ``1 / d`` for a whole number ``d``, integer inputs of at
    most 16 bits are divided by ``d`` in float32, once checked at construction to give exactly
    the float64 result for every 16-bit value.
    """

    def __init__(self, scale: float, offset: float = 0.0):
        self.scale = _finite_number("Rescale", "scale", scale)
        self.offset = _finite_number("Rescale", "offset", offset)
        self._divisor = self._exact_divisor()

    def _affine64(self, x64: np.ndarray) -> np.ndarray:
        x64 *= self.scale
        if self.offset:
            x64 += self.offset
        return x64.astype(np.float32)

    def _exact_divisor(self) -> np.float32 | None:
        """``d`` as float32 when ``x / d`` in float32 equals the float64 route for all 16-bit x."""
        if self.offset or not self.scale:
            return None
        d = 1.0 / self.scale
        if d != round(d) or abs(d) >= 2**24 or 1.0 / d != self.scale:
            return None
        every = np.arange(-(2**15), 2**16, dtype=np.float64)
        divisor = np.float32(d)
        same = np.array_equal(every.astype(np.float32) / divisor, self._affine64(every.copy()))
        return divisor if same else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _batch("Rescale", x)
        if self._divisor is not None and (x.dtype.kind in "iub" and x.dtype.itemsize <= 2):
            out = x.astype(np.float32)
            out /= self._divisor
            return out
        out = np.empty(x.shape, dtype=np.float32)
        flat_in, flat_out = x.reshape(-1), out.reshape(-1)
        for start in range(0, flat_in.size, _CHUNK_ELEMENTS):
            stop = start + _CHUNK_ELEMENTS
            flat_out[start:stop] = self._affine64(flat_in[start:stop].astype(np.float64))
        return out

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return _sample_shape("Rescale", input_shape)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "offset": self.offset}


def _float_array(owner: str, field: str, value: object) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {field} must be a number or a (nested) list of numbers; got {value!r}.") from None
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.reshape(-1)))
        raise ValueError(
            f"{owner}: {field} must hold finite numbers; element {int(bad[0])} is {arr.reshape(-1)[bad[0]]}."
        )
    return arr


class Standardize(Transform):
    """``(x - mean) / std`` per feature, as float32 (computed in float64, rounded once).

    ``mean`` and ``std``: numbers or (nested) lists broadcastable to one sample's shape, e.g.
    shape (d,) for samples of shape (d,).  A ``std`` of 0 (a constant feature) is replaced by 1,
    so that feature becomes ``x - mean``.  Negative or non-finite values raise ValueError.
    """

    def __init__(self, mean: float | Sequence[Any], std: float | Sequence[Any]):
        mean_arr = _float_array("Standardize", "mean", mean)
        std_arr = _float_array("Standardize", "std", std)
        if np.any(std_arr < 0):
            bad = int(np.flatnonzero(std_arr.reshape(-1) < 0)[0])
            raise ValueError(
                f"Standardize: std must be >= 0 (0 is treated as 1); element {bad} is {std_arr.reshape(-1)[bad]}."
            )
        try:
            shape = np.broadcast_shapes(mean_arr.shape, std_arr.shape)
        except ValueError:
            raise ValueError(
                f"Standardize: mean and std must have the same shape; got {mean_arr.shape} and {std_arr.shape}."
            ) from None
        self.mean = np.broadcast_to(mean_arr, shape).copy()
        self.std = np.where(np.broadcast_to(std_arr, shape) == 0, 1.0, std_arr)
        self.mean.flags.writeable = False
        self.std.flags.writeable = False

    def _check(self, sample_shape: tuple[int, ...]) -> None:
        try:
            fits = np.broadcast_shapes(self.mean.shape, sample_shape) == sample_shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"Standardize: mean and std of shape {self.mean.shape} do not fit samples of shape "
                f"{sample_shape}; expected statistics of shape {sample_shape} (or broadcastable to it)."
            )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _batch("Standardize", x)
        self._check(tuple(x.shape[1:]))
        out = np.empty(x.shape, dtype=np.float32)
        step = _rows_per_chunk(int(np.prod(x.shape[1:], dtype=np.int64)))
        for start in range(0, len(x), step):
            chunk = x[start : start + step].astype(np.float64)
            chunk -= self.mean
            chunk /= self.std
            out[start : start + step] = chunk
        return out

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = _sample_shape("Standardize", input_shape)
        self._check(shape)
        return shape

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


#: TensorFlow Playground's input features of a 2-D point (x1, x2), in Playground's order.
FEATURES_2D: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


class Features2D(Transform):
    """2-D points (n, 2) -> the chosen Playground features (n, k) as float32 (computed in float64).

    ``features``: names from :data:`FEATURES_2D` ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)",
    "sin(x2)"), at least one, no repeats; the output columns follow this order.
    """

    def __init__(self, features: Sequence[str] = ("x1", "x2")):
        if isinstance(features, str) or not isinstance(features, Iterable):
            raise ValueError(
                f"Features2D: features must be a list of feature names such as ['x1', 'x2']; got {features!r}."
            )
        names = list(features)
        valid = ", ".join(repr(k) for k in FEATURES_2D)
        if not names:
            raise ValueError(f"Features2D: features must name at least one feature; valid features are: {valid}.")
        for name in names:
            if not isinstance(name, str) or name not in FEATURES_2D:
                raise ValueError(f"Features2D: unknown feature {name!r} in features; valid features are: {valid}.")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"Features2D: feature {dup!r} appears more than once in features.")
        self.features: tuple[str, ...] = tuple(names)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _batch("Features2D", x)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(
                f"Features2D: expected 2-D points of shape (n, 2) holding (x1, x2); got shape {x.shape}."
            )
        x1 = x[:, 0].astype(np.float64)
        x2 = x[:, 1].astype(np.float64)
        out = np.empty((len(x), len(self.features)), dtype=np.float32)
        for column, name in enumerate(self.features):
            out[:, column] = FEATURES_2D[name](x1, x2)
        return out

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = _sample_shape("Features2D", input_shape)
        if shape != (2,):
            raise ValueError(f"Features2D.output_shape: expected input_shape (2,) (x1, x2); got {shape}.")
        return (len(self.features),)

    def get_config(self) -> dict[str, Any]:
        return {"features": list(self.features)}


class Reshape(Transform):
    """Reshape each sample to ``target_shape`` (same number of values) and cast to float32,
    e.g. ``Reshape((1, H, W))`` adds a channel axis to (n, H, W) images."""

    def __init__(self, target_shape: Sequence[int]):
        try:
            shape = tuple(target_shape)
        except TypeError:
            shape = None
        if not shape or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_)) and s > 0 for s in shape
        ):
            raise ValueError(
                f"Reshape: target_shape must be a non-empty list of positive integers; got {target_shape!r}."
            )
        self.target_shape: tuple[int, ...] = tuple(int(s) for s in shape)

    def _check(self, sample_shape: tuple[int, ...]) -> None:
        if math.prod(sample_shape) != math.prod(self.target_shape):
            raise ValueError(
                f"Reshape: cannot reshape samples of shape {sample_shape} ({math.prod(sample_shape)} values) "
                f"to target_shape {self.target_shape} ({math.prod(self.target_shape)} values)."
            )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _batch("Reshape", x)
        self._check(tuple(x.shape[1:]))
        return x.astype(np.float32).reshape((len(x),) + self.target_shape)

    def _call_owned(self, x: np.ndarray) -> np.ndarray:
        x = _batch("Reshape", x)
        self._check(tuple(x.shape[1:]))
        return x.astype(np.float32, copy=False).reshape((len(x),) + self.target_shape)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = _sample_shape("Reshape", input_shape)
        self._check(shape)
        return self.target_shape

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape)}


class Chain(Transform):
    """Apply ``transforms`` in order; ``Chain([])`` is the identity (a float32 copy).

    The items are Transform instances (dicts from :func:`get_config` are accepted too)."""

    def __init__(self, transforms: Sequence[Transform | Mapping[str, Any]] = ()):
        if isinstance(transforms, (str, Mapping, Transform)) or not isinstance(transforms, Iterable):
            raise ValueError(f"Chain: transforms must be a list of transforms; got {transforms!r}.")
        items: list[Transform] = []
        for i, item in enumerate(transforms):
            if isinstance(item, Transform):
                items.append(item)
            elif isinstance(item, Mapping):
                try:
                    items.append(from_config(item))
                except ValueError as exc:
                    raise ValueError(f"Chain: transforms[{i}]: {exc}") from None
            else:
                raise ValueError(
                    f"Chain: transforms[{i}] must be a Transform (or its get_config dict); got {type(item).__name__}."
                )
        self.transforms: tuple[Transform, ...] = tuple(items)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _batch("Chain", x)
        if not self.transforms:
            return x.astype(np.float32)
        x = self.transforms[0](x)
        for t in self.transforms[1:]:
            x = t._call_owned(x)
        return x

    def _call_owned(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t._call_owned(x)
        return x.astype(np.float32, copy=False)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = _sample_shape("Chain", input_shape)
        for t in self.transforms:
            shape = t.output_shape(shape)
        return shape

    def get_config(self) -> dict[str, Any]:
        return {"transforms": [get_config(t) for t in self.transforms]}

    def __repr__(self) -> str:
        return f"Chain([{', '.join(repr(t) for t in self.transforms)}])"

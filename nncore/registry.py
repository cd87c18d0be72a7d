"""Keras-style string registries (`get(name)` with an error that lists the valid names) and the
checks of numeric hyper-parameters shared by optimizers, layers and training."""
from __future__ import annotations

import math
from typing import Mapping, TypeVar

import numpy as np

T = TypeVar("T")


def lookup(kind: str, name: object, table: Mapping[str, T]) -> T:
    """Return `table[name]` (case-insensitive) or raise ValueError naming the valid choices."""
    key = "linear" if name is None else name
    if isinstance(key, str) and key.lower() in table:
        return table[key.lower()]
    valid = ", ".join(repr(k) for k in table)
    kinds = kind + ("es" if kind.endswith("s") else "s")
    raise ValueError(f"Unknown {kind} {shown(name)}. Valid {kinds} are: {valid}.")


def shown(value: object) -> str:
    """repr(value) for messages, clipped; integers too long for repr are described by their size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def positive(name: str, value: float, allow_zero: bool = False) -> float:
    """`value` as a finite float > 0 (≥ 0 with allow_zero), else ValueError naming `name`."""
    try:
        if isinstance(value, (bool, np.bool_, str, bytes)):  # True and "0.1" are not learning rates
            raise TypeError
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number; got {shown(value)}.") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {shown(value)}.")
    return v


def fraction(name: str, value: float) -> float:
    """`value` as a float in [0, 1), else ValueError naming `name`."""
    v = positive(name, value, allow_zero=True)
    if v >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {shown(value)}.")
    return v

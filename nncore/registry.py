"""Keras-style string registries: `get(name)` with an error that lists the valid names."""
from __future__ import annotations

from typing import Mapping, TypeVar

T = TypeVar("T")


def lookup(kind: str, name: object, table: Mapping[str, T]) -> T:
    """Return `table[name]` (case-insensitive) or raise ValueError naming the valid choices."""
    key = "linear" if name is None else name
    if isinstance(key, str) and key.lower() in table:
        return table[key.lower()]
    valid = ", ".join(repr(k) for k in table)
    raise ValueError(f"Unknown {kind} {name!r}. Valid {kind}s are: {valid}.")

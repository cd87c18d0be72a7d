"""Input transforms (placeholder until the datasets branch lands; replaced by its full version)."""
from __future__ import annotations

from typing import Any

TRANSFORMS: dict[str, type] = {}


class Transform:
    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        TRANSFORMS[cls.__name__] = cls


def get_config(t: Any) -> dict[str, Any]:
    return {"type": type(t).__name__, "config": t.get_config()}


def from_config(d: dict[str, Any]) -> Any:
    if not isinstance(d, dict) or d.get("type") not in TRANSFORMS:
        raise ValueError(f"unknown transform {d!r}")
    return TRANSFORMS[d["type"]].from_config(d.get("config", {}))

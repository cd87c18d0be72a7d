"""Helpers shared by the AppTest modules."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def texts(at: AppTest) -> str:
    """All text the main area shows: markdown, captions and alerts, one per line."""
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at.main, kind)]
    return "\n".join(parts)

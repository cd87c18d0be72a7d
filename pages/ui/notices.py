"""Messages that callbacks leave for the next render, shown once where they belong."""
from __future__ import annotations

import streamlit as st

from .state import studio


def show_notices(where: str = "page") -> None:
    """Show (once) the messages left for this place: "page", "sidebar" or "upload"."""
    s = studio()
    keep = []
    for level, text, place in s.notices:
        if place != where:
            keep.append((level, text, place))
            continue
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(text)
    s.notices[:] = keep


def has_notices(where: str) -> bool:
    return any(n[2] == where for n in studio().notices)

"""Helpers shared by the AppTest modules."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def run_page(page: str, studio=None, **state) -> AppTest:
    """Run one page file with `studio` (and any other keys) in session state; fail on exceptions."""
    at = AppTest.from_file(page, default_timeout=60)
    if studio is not None:
        at.session_state["studio"] = studio
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """All text the main area shows: markdown, captions and alerts, one per line."""
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        parts += [str(e.value) for e in getattr(at.main, kind)]
    return "\n".join(parts)

"""The page list of the router, links between pages, and the legacy multipage guard."""
from __future__ import annotations

import streamlit as st

# Page registry: the router builds st.navigation from this list. To add a page, append a row.
# (path relative to the repo root, title, material icon, url path)
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/home.py", "Home", ":material/home:", "home"),
    ("pages/train.py", "Train", ":material/model_training:", "train"),
    ("pages/playground.py", "Playground", ":material/scatter_plot:", "playground"),
    ("pages/draw.py", "Draw", ":material/draw:", "draw"),
    ("pages/inspect.py", "Inspect", ":material/biotech:", "inspect"),
    ("pages/runs.py", "Runs", ":material/compare_arrows:", "runs"),
    ("pages/step.py", "Step", ":material/footprint:", "step"),
]


def page_link(path: str, label: str, icon: str | None = None, help: str | None = None,
              query_params: dict[str, str] | None = None) -> None:
    """st.page_link that degrades to text when the page is not registered (page run on its own).
    ``query_params`` go into the target's URL (a link keeps the sidebar's widget values; st.switch_page
    would reset every widget, the sidebar's included)."""
    try:
        st.page_link(path, label=label, icon=icon, help=help, query_params=query_params)
    except Exception:
        st.markdown(f"**{label}**")


def misrouted() -> bool:
    """True when Streamlit ran this page without the router (app.py).

    Streamlit's legacy multipage mode ("a pages/ folder next to the main script") is switched off
    only once some session has called st.navigation. If the very first request after a server start
    is a deep link such as /train, Streamlit runs pages/train.py directly. We switch the legacy mode
    off and rerun, so the router handles the request. Pages run on their own by AppTest are fine.
    """
    from streamlit import config

    if config.get_option("global.appTest"):
        return False
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return False
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False

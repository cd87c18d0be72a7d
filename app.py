"""NN Studio: the router. Configures the page, renders the shared sidebar, runs the chosen page.

Run with ``streamlit run app.py``. Pages live in ``pages/`` and are listed in ``pages.ui.nav.PAGES``.
"""
from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="NN Studio",
    page_icon=":material/neurology:",
    layout="wide",
    initial_sidebar_state=380,  # px; AUTO state: expanded on desktop
    menu_items={"About": "NN Studio: watch a from-scratch NumPy neural network learn MNIST."},
)

from pages.ui.nav import PAGES  # noqa: E402  (after set_page_config)
from pages.ui.sidebar import render_sidebar  # noqa: E402

pages = [
    st.Page(path, title=title, icon=icon, url_path=url, default=(i == 0))
    for i, (path, title, icon, url) in enumerate(PAGES)
]
page = st.navigation(pages, position="top")

# The sidebar belongs to the router so its widgets keep their values when the user switches pages.
st.session_state["_router_sidebar"] = render_sidebar()
try:
    page.run()
finally:
    st.session_state.pop("_router_sidebar", None)

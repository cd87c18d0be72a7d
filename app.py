"""NN Studio: the router. Configures the page, renders the shared sidebar, runs the chosen page.

Run with ``streamlit run app.py``. Pages live in ``pages/`` and are listed in ``pages.ui.nav.PAGES``.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

st.set_page_config(
    page_title="NN Studio",
    page_icon=str(Path(__file__).resolve().parent / "pages" / "ui" / "favicon.png"),  # shipped: works offline
    layout="wide",
    initial_sidebar_state=380,  # px; AUTO state: expanded on desktop
    menu_items={"About": "NN Studio: watch a from-scratch NumPy neural network learn MNIST."},
)

from streamlit.errors import StreamlitAPIException  # noqa: E402

from pages.ui import sessions, url_config  # noqa: E402  (after set_page_config)
from pages.ui.nav import PAGES  # noqa: E402
from pages.ui.sidebar import render_sidebar  # noqa: E402
from pages.ui.style import apply_global_style  # noqa: E402

sessions.configure_logging()
pages = [
    st.Page(path, title=title, icon=icon, url_path=url, default=(i == 0))
    for i, (path, title, icon, url) in enumerate(PAGES)
]
page = st.navigation(pages, position="top")
apply_global_style()

# The setup comes from the URL (once per session), the tab's parked work from its token (a reload).
url_config.apply_from_url()
sessions.restore(url_had_settings=bool(st.session_state.get(url_config.URL_HAD_SETTINGS)))
url_config.resend_settings()  # every widget tells the browser its value (a cold start's first run may be cut short)
# The sidebar belongs to the router so its widgets keep their values when the user switches pages.
try:
    st.session_state["_router_sidebar"] = render_sidebar()
except StreamlitAPIException as exc:  # a widget refused a value from the URL: drop those and rerun
    if url_config.undo_after_widget_error(exc):
        st.rerun()
    raise
if url_config.check_widgets():
    st.rerun()
url_config.write_url()
url_config.show_notice()
try:
    page.run()
finally:
    st.session_state.pop("_router_sidebar", None)
    url_config.write_url()
    sessions.keep()

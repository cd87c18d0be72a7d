"""Issue 14's cold-start share-link bug, where it was decided: every run of the router sends each
sidebar widget's value to the browser (``set_value`` in the widget's message), not only the run that
set it.

On a cold server a link's first run is cut short by the browser (the tab-token component's rerun)
after the sidebar was sent but before the browser mounted it; the widgets the browser then mounts come
from the next run's messages, and a message without ``set_value`` opens at the widget's own default (a
number input at ``min_value``, a slider at its minimum) although the server holds the link's value.
The browser side: tests/browser/test_browser_classroom.py and bench/repro_share_cold.py.
"""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

import pages.ui.sidebar as sidebar_module
import pages.ui.url_config as url_config
from tests.app.test_app_pages import TIMEOUT, no_exception
from tests.app.test_classroom_app import router


def _script(resend: bool) -> None:
    """Run 1 sets a setting and shows its widget (a link's first run); run 2 shows it again (the run a
    browser that had not mounted run 1's widget mounts it from)."""
    import streamlit as st

    from pages.ui import url_config

    ss = st.session_state
    if "cfg_epochs" not in ss:
        ss["cfg_epochs"] = 7
    if resend:
        url_config.resend_settings()
    st.number_input("Epochs", min_value=1, max_value=100, key="cfg_epochs")


def _second_run(resend: bool):
    at = AppTest.from_function(_script, args=(resend,), default_timeout=TIMEOUT).run()
    return at.run()


def test_resend_makes_every_run_send_a_value_set_in_an_earlier_run():
    at = _second_run(resend=True)
    no_exception(at)
    proto = at.number_input(key="cfg_epochs").proto
    assert proto.set_value and proto.value == 7


def test_without_resend_the_second_run_sends_only_the_widgets_default():
    """The mechanism the fix works around: the second run's message has no value, only the default
    (fails if Streamlit starts sending such values itself; then resend_settings could go)."""
    at = _second_run(resend=False)
    no_exception(at)
    proto = at.number_input(key="cfg_epochs").proto
    assert at.session_state["cfg_epochs"] == 7 and not proto.set_value and proto.default == 1


def test_the_router_resends_the_settings_before_every_sidebar(monkeypatch):
    calls: list[str] = []
    resend, render = url_config.resend_settings, sidebar_module.render_sidebar
    monkeypatch.setattr(url_config, "resend_settings", lambda: (calls.append("resend"), resend())[1])
    monkeypatch.setattr(sidebar_module, "render_sidebar", lambda: (calls.append("sidebar"), render())[1])
    at = router(cfg_layers="1", cfg_L0_n="48", cfg_epochs="7", cfg_l2="0.001").run()  # cfg_l2: the router reruns
    no_exception(at)
    assert calls == ["resend", "sidebar", "resend", "sidebar"], calls
    proto = at.number_input(key="cfg_epochs").proto
    assert proto.set_value and proto.value == 7

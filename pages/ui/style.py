"""The app's global CSS, injected once per script run by the router (app.py).

Only rules that hold on every page live here; a page's own rules stay with the page.
"""
from __future__ import annotations

import streamlit as st

#: Remove-layer buttons ("rm_L…" dense rows, "rm_C…" conv blocks) carry a label naming their layer
#: ("Remove Dense 2") for screen readers and tests, but show only their close icon: the label text is
#: visually hidden (still in the accessibility tree), so the row stays compact. Below 641 px Streamlit
#: stacks each row's fields (the later rows' labels are collapsed): there the button shows its label, so
#: that a lone × says which layer it removes.
REMOVE_BUTTON_CSS = """
@media (min-width: 641px) {
  [class*="st-key-rm_L"] button [data-testid="stMarkdownContainer"],
  [class*="st-key-rm_C"] button [data-testid="stMarkdownContainer"] {
    position: absolute !important; width: 1px !important; height: 1px !important; overflow: hidden !important;
    clip-path: inset(50%) !important; white-space: nowrap !important; margin: 0 !important; padding: 0 !important;
  }
  [class*="st-key-rm_L"] button, [class*="st-key-rm_C"] button { gap: 0 !important; }
  [class*="st-key-rm_L"] button [data-testid="stIconMaterial"],
  [class*="st-key-rm_C"] button [data-testid="stIconMaterial"] { margin: 0 !important; }
}
"""

#: Streamlit's own status widget (top right) shows a running man and a "Stop" button while a script run
#: takes longer than half a second. That Stop only interrupts the page's rerun, yet it reads like the
#: training's Stop button: keep the running man as the "busy" hint, hide its button.
STATUS_WIDGET_CSS = """
[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"] ~ * { display: none !important; }
"""

#: The sidebar's layer rows (dense "cfg_L…", conv "cfg_C…") label their fields once, in the first row; the
#: later rows' labels ("Dense 2 neurons") are collapsed. Below 641 px Streamlit stacks each row's fields
#: one under another, and a lone "64" or "relu" would not say what it is: there every label shows.
STACKED_ROW_LABELS_CSS = """
@media (max-width: 640px) {
  [class*="st-key-cfg_L"] [data-testid="stWidgetLabel"],
  [class*="st-key-cfg_C"] [data-testid="stWidgetLabel"] { display: flex !important; }
}
"""

GLOBAL_CSS = f"<style>{REMOVE_BUTTON_CSS}{STACKED_ROW_LABELS_CSS}{STATUS_WIDGET_CSS}</style>"


def apply_global_style() -> None:
    """Inject :data:`GLOBAL_CSS` (a style-only st.html takes no space on the page)."""
    st.html(GLOBAL_CSS)


def stacking_columns_css(key: str, max_width: str) -> str:
    """CSS rules (no <style> tag) that stack the st.columns inside the container keyed ``key``, each
    full width, whenever that container is at most ``max_width`` wide (a container query: it follows
    the page's own width, sidebar open or not, where Streamlit stacks columns only below 640 px)."""
    scope = f".st-key-{key}"
    return (f"{scope} {{ container-type: inline-size; }}\n"
            f"@container (max-width: {max_width}) {{\n"
            f"  {scope} [data-testid=\"stHorizontalBlock\"] {{ flex-wrap: wrap; }}\n"
            f"  {scope} [data-testid=\"stColumn\"] {{ flex: 1 1 100% !important; min-width: 100% !important; }}\n"
            "}\n")

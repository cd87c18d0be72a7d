"""AppTest: the sidebar's remove buttons carry a label naming their layer ("Remove Dense 2", "Remove Conv 1"),
following the rows as layers come and go; the page's global style only hides that text visually."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from pages.ui.style import GLOBAL_CSS
from tests.app_util import run_page

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "pages" / "train.py")


def remove_labels(at: AppTest, prefix: str) -> dict[str, str]:
    """Key → label of the sidebar's remove buttons whose key starts with ``prefix`` ("rm_L", "rm_C")."""
    return {b.key: b.label for b in at.sidebar.button if (b.key or "").startswith(prefix)}


def test_each_remove_button_names_its_dense_layer_and_follows_removals():
    at = run_page(TRAIN)
    assert remove_labels(at, "rm_L") == {"rm_L0": "Remove Dense 1", "rm_L1": "Remove Dense 2"}
    [b for b in at.sidebar.button if b.label == "Add hidden layer"][0].click().run()
    assert remove_labels(at, "rm_L")["rm_L2"] == "Remove Dense 3"
    at.sidebar.button(key="rm_L0").click().run()  # the old Dense 2 is now the first layer: Dense 1
    assert remove_labels(at, "rm_L") == {"rm_L1": "Remove Dense 1", "rm_L2": "Remove Dense 2"}
    assert all(b.label.strip() for b in at.sidebar.button), "a sidebar button has no label"


def test_each_remove_button_names_its_conv_block():
    at = run_page(TRAIN)
    at.radio(key="cfg_kind").set_value("cnn").run()
    assert not at.exception, [e.message for e in at.exception]
    assert remove_labels(at, "rm_C") == {"rm_C0": "Remove Conv 1", "rm_C1": "Remove Conv 2"}
    assert remove_labels(at, "rm_L") == {"rm_L0": "Remove Dense 1", "rm_L1": "Remove Dense 2"}


def test_the_global_style_hides_the_label_text_not_the_button():
    for key in ("rm_L", "rm_C"):
        rule = f'[class*="st-key-{key}"] button [data-testid="stMarkdownContainer"]'
        assert rule in GLOBAL_CSS
    assert "clip-path: inset(50%)" in GLOBAL_CSS and "display: none" not in GLOBAL_CSS.split("stStatusWidget")[0]

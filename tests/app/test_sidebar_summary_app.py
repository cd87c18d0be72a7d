"""AppTest of the sidebar's network summary: layers without an activation (Flatten, pooling) show "–",
not a Markdown bullet ("•" is what st.table made of the summary's "-"), for a dense network and a CNN."""
from __future__ import annotations

from pathlib import Path

from pages.ui.sidebar import NO_ACTIVATION
from tests.app_util import run_page

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "pages" / "train.py")


def activations(at) -> dict[str, str]:
    df = at.sidebar.table[0].value
    return dict(zip(df["Layer"], df["Activation"]))


def test_flatten_shows_a_dash_not_a_bullet():
    at = run_page(TRAIN)
    acts = activations(at)
    assert NO_ACTIVATION == "–"
    assert acts["Flatten 1"] == "–", acts
    assert acts["Dense 1"] == "relu" and acts["Output"] == "softmax", acts
    assert "-" not in acts.values()  # a lone hyphen is a Markdown list item in st.table


def test_pooling_layers_show_a_dash_too():
    at = run_page(TRAIN)
    at.radio(key="cfg_kind").set_value("cnn").run()
    assert not at.exception, [e.message for e in at.exception]
    acts = activations(at)
    pools = [name for name in acts if "Pool" in name or "pool" in name]
    assert pools, acts
    assert all(acts[name] == "–" for name in pools), acts
    assert "-" not in acts.values() and "" not in acts.values(), acts

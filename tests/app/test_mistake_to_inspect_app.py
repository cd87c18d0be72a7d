"""AppTest through the router (app.py): a misclassified test digit on the Train page opens in Inspect,
which shows that digit with the session's model and says where it came from."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nncore import datasets
from nncore.studio import data as D
from nncore.studio import spec
from nncore.studio.spec import HiddenLayer
from pages.ui.state import Studio
from tests.app_util import texts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def weak_model():
    """A small MLP trained briefly: it gets plenty of test digits wrong."""
    ds = datasets.get("mnist")
    split = D.training_split(ds, 1000, 0.1, seed=0)
    model = spec.build(spec.dense_config(input_shape=ds.input_shape, transform=ds.transform, outputs=ds.n_outputs,
                                         hidden=(HiddenLayer(16, "relu"),), output_activation="softmax", loss="cse",
                                         optimizer="adam", lr=1e-3, seed=0))
    model.train(split.x, split.y, epochs=1, batch_size=64, verbose=0)
    return model


def test_a_mistake_on_the_train_page_opens_in_inspect_with_its_origin(weak_model):
    s = Studio()
    s.set_model(weak_model.copy(), "trained by the test")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["studio"] = s
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.message for e in at.exception]
    ev = s.evaluation
    links = [e for e in at.get("page_link") if e.proto.label == "Inspect"]
    assert len(links) == len(ev.mistakes["index"]) > 3  # one per digit shown
    i, true, pred = (int(ev.mistakes[k][2]) for k in ("index", "true", "pred"))  # the third mistake shown
    assert true != pred
    link = links[2].proto
    assert link.page == "inspect" and link.query_string == f"inspect_digit={i}"
    assert f"#{i}" in link.help and f"label {true}, read as {pred}" in link.help

    # following the link: Inspect with its query parameter (AppTest cannot click a link; that the sidebar
    # keeps its values on the way is tested in tests/browser/test_browser_mistakes.py)
    at.query_params["inspect_digit"] = str(i)
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "inspect_digit" not in at.query_params  # used once: a reload does not force it again
    assert at.radio(key="inspect_model").value == "session"
    assert at.radio(key="inspect_source").value == "test"
    assert at.number_input(key="inspect_index").value == i
    t = texts(at)
    assert f"From the Train page: test digit #{i}, label {true}, read as {pred}." in t
    assert f"test digit {i} (labelled {true}): the network reads **{pred}**" in t
    # the second saliency map explains the label: what would have made the network read it
    assert at.selectbox(key="inspect_class").value == true
    figures = [json.loads(e.proto.json_args)["figure"] for e in at.get("component_instance")
               if e.proto.component_name.endswith("plotly_live")]  # the saliency maps: the live chart
    saliency = next(f for f in figures if any((d.get("name") or "").startswith("Why") for d in f["data"]))
    names = [d["name"] for d in saliency["data"] if (d.get("name") or "").startswith("Why")]
    assert names[0].startswith(f"Why {pred}?") and names[1].startswith(f"Why {true}?")

    at.run()  # a rerun keeps the digit, its origin and the chosen digit
    assert at.number_input(key="inspect_index").value == i and at.selectbox(key="inspect_class").value == true
    assert f"From the Train page: test digit #{i}, label {true}, read as {pred}." in texts(at)

    # another digit: the origin note goes, and the user says again which digit they meant
    at.number_input(key="inspect_index").set_value(i + 1 if i + 1 < 10_000 else i - 1).run()
    assert not at.exception
    assert "From the Train page" not in texts(at)
    assert at.selectbox(key="inspect_class").value is None


@pytest.mark.parametrize("value", ["abc", "-1", "10000"])
def test_a_bad_digit_in_the_url_is_ignored(weak_model, value):
    s = Studio()
    s.set_model(weak_model.copy(), "trained by the test")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["studio"] = s
    at.query_params["inspect_digit"] = value
    at.switch_page("pages/inspect.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "From the Train page" not in texts(at)
    assert "inspect_digit" not in at.query_params

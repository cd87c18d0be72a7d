"""Home page: what NN Studio is, how to start, and where the data comes from."""
from __future__ import annotations

import math

import streamlit as st

from nncore.studio import spec
from pages.ui import data as ui_data
from pages.ui import data_picker, sessions, training
from pages.ui.format import model_text
from pages.ui.nav import page_link
from pages.ui.sidebar import DEFAULTS, sidebar_config
from pages.ui.state import studio
from pages.ui.style import stacking_columns_css

# Quick start and Tips side by side only where both columns have room (not at 1024 px with the sidebar
# open, where Tips was a thin column of two-word lines): a container query on the page's width.
COLUMNS_CSS = "<style>" + stacking_columns_css("home_columns", "48rem") + """</style>"""


def default_run_seconds() -> float:
    """How long a first run with the sidebar's defaults takes at the Train page's default speed."""
    settings = spec.TrainSettings(n_samples=DEFAULTS["cfg_n_samples"], val_fraction=DEFAULTS["cfg_val"],
                                  batch_size=DEFAULTS["cfg_batch"], epochs=DEFAULTS["cfg_epochs"])
    batches = math.ceil(settings.n_train / settings.batch_size) * settings.epochs
    return batches / training.SPEEDS[training.DEFAULT_SPEED]


sb = sidebar_config()
s = studio()
name, lr, _ = spec.optimizer_settings(sb.config)

st.title("NN Studio", anchor=False)
st.markdown(
    "NN Studio lets you build a small neural network, train it on handwritten digits and watch it learn. "
    "Every number is computed by **nncore**, a neural-network library written from scratch in NumPy, "
    "so nothing is hidden behind a big framework. "
    "When it has learned, draw a digit yourself and see what the network thinks it is."
)

st.html(COLUMNS_CSS)
left, right = st.container(key="home_columns").columns([3, 2], gap="large")
with left:
    st.subheader("Quick start", anchor=False)
    st.markdown(
        f"""
1. **Configure** the network in the sidebar, or keep what it shows now: a {sb.shape_text} network,
   {name} with learning rate {lr:g}, {sb.settings.n_samples:,} training samples of {data_picker.current().label}.
   Hover over the small question-mark icons for an explanation of each setting.
2. **Train**: press **Start** and watch the loss fall and the accuracy rise. Pause, stop or add an
   epoch at any time; you can leave the page while it trains.
3. **Draw** a digit with your mouse (or finger) and read the network's prediction and its confidence.
"""
    )
    with st.container(horizontal=True, gap="medium"):  # wraps instead of cutting the labels
        page_link("pages/train.py", label="Train a network", icon=":material/model_training:",
                  help="Configure, train and evaluate a network on MNIST.")
        page_link("pages/draw.py", label="Draw a digit", icon=":material/draw:",
                  help="Let the network read your handwriting.")
    st.caption(f"Your current model: {model_text(s.model)}.")
    st.caption(sessions.server_status_text())

    st.subheader("Other data", anchor=False)
    st.markdown(
        "The sidebar's **Dataset** menu also offers TensorFlow Playground's six 2-D sets (circle, xor, gauss, "
        "spiral and two regressions, with noise, seed and the Playground's input features): watch the decision "
        "boundary bend on the **Playground** page. Or choose **Upload a CSV** to train on a table of your own "
        "(two examples are one click away)."
    )
    page_link("pages/playground.py", label="Open the Playground", icon=":material/scatter_plot:",
              help="The decision boundary and every neuron, live while the network trains on 2-D points.")

with right:
    st.subheader("Tips", anchor=False)
    st.markdown(
        f"""
- A first run with the defaults trains for about {default_run_seconds():.0f} s at the Train page's default
  speed ({training.DEFAULT_SPEED}: slow enough to watch; the **Speed** slider goes up to as fast as possible)
  and reaches about 93 % accuracy.
- Try *sgd* with learning rate 1: the loss jumps instead of falling. With *leaky_relu* layers and
  momentum 0.99 the network even **diverges**, and NN Studio keeps its last good weights.
- A wider network or more training digits usually helps; watch the gap between the
  train and validation curves to spot **overfitting**.
- Download a trained model as JSON and load it again later on the Train page.
"""
    )

st.divider()
choice = data_picker.current()
if choice.key != ("mnist",):
    ds = choice.dataset
    st.caption(f"**Current data:** {choice.label}. {ds.description.rstrip('.')}. {ds.credit}.")
st.caption(
    "**Data:** the MNIST database of handwritten digits by Yann LeCun, Corinna Cortes and "
    "Christopher J.C. Burges, used under the "
    "[Creative Commons Attribution-Share Alike 3.0](https://creativecommons.org/licenses/by-sa/3.0/) "
    f"license. {ui_data.dataset(ui_data.DATASET).description}"
)

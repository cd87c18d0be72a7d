"""Draw page: draw a digit and see what the network reads, with the input it sees and all ten probabilities."""
from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from nncore.studio import data as D
from pages.ui import data as ui_data
from pages.ui import data_picker
from pages.ui.format import image_png, model_text
from pages.ui.nav import page_link
from pages.ui.notices import show_notices
from pages.ui.sidebar import sidebar_config
from pages.ui.state import Studio, studio

log = logging.getLogger("nnstudio.draw")

CANVAS_SIZE = 280
PROBABILITY_WIDTH = 340
LIVE_SECONDS = 1.5


# streamlit-drawable-canvas 0.13 draws its own toolbar (upload, undo, redo, edit, bring forward/send
# backward, delete) inside the component's open shadow root, invisible at the canvas's top-right corner
# until hovered: it swallows strokes there and offers actions that mean nothing here, and the library has
# no option to hide it. This script puts one style rule into the shadow root of every canvas inside the
# canvas box, now and whenever a canvas is (re)created (Clear makes a new one). Our Clear and Undo
# buttons replace it.
HIDE_TOOLBAR_CSS = ".dc-toolbar{display:none!important}"
HIDE_TOOLBAR_HTML = """<style>.st-key-draw_toolbar_fix{display:none}</style>
<script>
(() => {
  if (window.__nnHideCanvasToolbar) { window.__nnHideCanvasToolbar(); return; }
  const CSS = %r;
  const patch = () => {
    for (const box of document.querySelectorAll(".st-key-draw_canvas_box")) {
      for (const el of box.querySelectorAll("*")) {
        const root = el.shadowRoot;
        if (!root || root.querySelector("style[data-nn-hide-toolbar]")) continue;
        const style = document.createElement("style");
        style.dataset.nnHideToolbar = "1";
        style.textContent = CSS;
        root.appendChild(style);
        new MutationObserver(patch).observe(root, {childList: true});  // its content replaced
      }
    }
  };
  let queued = false;
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; patch(); }); }
  }).observe(document.body, {childList: true, subtree: true});
  window.__nnHideCanvasToolbar = patch;
  patch();
})();
</script>""" % HIDE_TOOLBAR_CSS


def hide_canvas_toolbar() -> None:
    """The script above, in a keyed container its own style rule hides (it takes no space)."""
    with st.container(key="draw_toolbar_fix"):
        st.html(HIDE_TOOLBAR_HTML, unsafe_allow_javascript=True)


def _canvas_key() -> str:
    return f"canvas_{st.session_state.get('canvas_n', 0)}"


def _clear() -> None:
    st.session_state["canvas_n"] = st.session_state.get("canvas_n", 0) + 1
    st.session_state.pop("canvas_initial", None)
    st.session_state.pop("canvas_strokes", None)


def _undo() -> None:
    """Redraw the canvas without its last stroke: the same canvas gets the earlier strokes as its
    initial drawing (a new ``undo_step`` each time, so the canvas reloads even when the strokes
    equal an earlier initial drawing) and sends the result back."""
    strokes = list(st.session_state.get("canvas_strokes") or [])
    if not strokes:
        return
    step = int((st.session_state.get("canvas_initial") or {}).get("undo_step", 0)) + 1
    st.session_state["canvas_initial"] = {"objects": strokes[:-1], "undo_step": step}


def model_choices(s: Studio) -> dict[str, str]:
    """Available models: key -> a stable label (details go in the caption below the choice, so the
    radio keeps its identity while the model trains). The pretrained CNN first, then the MLP, then
    the session's model."""
    choices = dict(ui_data.pretrained_choices())
    if s.model is not None and D.mismatch(s.model, ui_data.dataset(ui_data.DATASET)) is None:
        choices["session"] = "Your model"
    return choices


def model_caption(s: Studio, key: str) -> str:
    if key in ui_data.PRETRAINED_LABELS:
        return ui_data.pretrained_text(key) + "."
    if s.training_active:
        return f"Your model ({model_text(s.model)}), training now: it reads your drawing with its live weights."
    if not s.has_learned:
        return f"Your model ({model_text(s.model)}) has not learned yet: it will guess."
    return f"Your model ({model_text(s.model)})."


def probability_chart(probs: np.ndarray | None, class_names: list[str]) -> go.Figure:
    k = len(class_names)
    p = np.zeros(k) if probs is None else np.asarray(probs, dtype=float)
    best = int(p.argmax()) if probs is not None else -1
    colors = ["#4f46e5" if i == best else "#c7d2fe" for i in range(k)]
    fig = go.Figure(go.Bar(
        x=list(class_names), y=p, marker_color=colors,
        text=[f"{v:.0%}" if v >= 0.005 else "" for v in p], textposition="outside",
        hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
    ))
    fig.update_layout(
        height=300, margin=dict(l=10, r=10, t=30, b=10), template="plotly_white",
        title=dict(text="Probability of each digit", x=0.01, y=0.98, font=dict(size=14)),
        xaxis=dict(title="digit", type="category"),
        yaxis=dict(range=[0, 1.12], tickformat=".0%", title=None),
    )
    return fig


def draw_panel(s: Studio, key: str) -> None:
    live = key == "session" and s.training_active

    @st.fragment(run_every=LIVE_SECONDS if live else None)
    def _panel() -> None:
        from streamlit_drawable_canvas import st_canvas

        from nncore.preprocess import canvas_to_mnist

        # a wrapping row: the canvas keeps its full size and the other boxes move below it when the
        # window (with the sidebar open) is too narrow for all three side by side
        row = st.container(horizontal=True, gap="medium", key="draw_row")
        left = row.container(width=CANVAS_SIZE + 16, key="draw_canvas_box")
        mid = row.container(width=190, key="draw_prediction_box")
        right = row.container(width=PROBABILITY_WIDTH, key="draw_probability_box")
        if _canvas_key() not in st.session_state:  # a canvas mounting afresh (first visit, back from
            st.session_state.pop("canvas_initial", None)  # another page) starts empty, as it always did
        with left:
            st.markdown("**Your drawing**", help="Draw one digit with the mouse or a finger, large and centred "
                        "like on paper. The network was trained on white digits on black.")
            res = st_canvas(
                stroke_width=20, stroke_color="#FFFFFF", background_color="#000000",
                width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
                return_image_data=True, update_streamlit=True,
                initial_drawing=st.session_state.get("canvas_initial"), key=_canvas_key(),
            )
            strokes = list((res.json_data or {}).get("objects") or [])
            st.session_state["canvas_strokes"] = strokes  # what Undo removes the last of
            buttons = st.container(horizontal=True, gap="small")
            buttons.button("Undo", icon=":material/undo:", on_click=_undo, key="undo_stroke",
                           disabled=not strokes, help="Remove the last stroke.")
            buttons.button("Clear", icon=":material/ink_eraser:", on_click=_clear, key="clear_canvas",
                           help="Erase the drawing and start again.")
        model = ui_data.current_model(s, key)
        try:
            img = res.image_data
            prep = canvas_to_mnist(img) if img is not None else None
        except Exception as exc:
            log.exception("preprocessing failed")
            with mid:
                st.error(f"The drawing could not be read: {exc}")
            return
        if img is not None:  # the Inspect page looks at the latest drawing
            s.canvas = prep if prep is not None and not prep.empty else None
        probs = None
        if prep is not None and not prep.empty and model is not None:
            try:  # the drawing as the model's raw input (grey levels 0-255, like the dataset's images)
                probs = np.asarray(model.predict(D.raw_input(model, D.as_raw_image(prep.image))))[0]
                if not np.all(np.isfinite(probs)):
                    probs = None
            except Exception as exc:
                log.exception("prediction failed")
                with mid:
                    st.error(f"The model could not make a prediction: {exc}")
                return
        with mid:
            if probs is not None:
                d = int(probs.argmax())
                st.metric("Prediction", str(d), f"{probs[d]:.0%} confidence", delta_color="off",
                          delta_arrow="off",
                          help="The digit with the highest probability, and that probability.")
            else:
                reason = prep.reason if prep is not None and prep.reason else "Draw a digit"
                st.metric("Prediction", "–", help="The digit with the highest probability.")
                st.info(f"{reason} in the black square.", icon=":material/draw:")
            h, w = prep.image.shape if prep is not None else ds_shape().shape
            st.markdown("**What the network sees**", help="Your drawing cropped, scaled and centred like the "
                        f"MNIST digits in {h}×{w} pixels: this is the network's input.")
            if prep is not None and not prep.empty:
                st.image(image_png(prep.image, 5), width=140)
            else:
                st.image(image_png(np.zeros_like(prep.image if prep is not None else ds_shape()), 5), width=140)
        with right:
            st.plotly_chart(probability_chart(probs, list(ui_data.dataset().class_names)), key="probs", config={"displaylogo": False,
                                                                           "staticPlot": True})
            if live:
                st.caption(":green[●] The network is training: the prediction updates as it learns.")

    _panel()


def ds_shape() -> np.ndarray:
    """A blank image of the dataset's image size (for the empty "what the network sees" box)."""
    return np.zeros(ui_data.dataset().input_shape[-2:], np.float32)


def needs_images(choice) -> None:
    """What the page says when the session's data is not images, with a way back to MNIST."""
    ds = choice.dataset
    what = ("2-D points" if choice.family == "points" else
            f"a table of {D.task_summary(ds).n_features} columns")
    st.info(f"Drawing needs image data; the current data is **{choice.label}** ({what}), so there is nothing to "
            "draw for it. Switch to MNIST to draw digits" + (", or watch this data on the Playground page."
                                                             if choice.family == "points" else "."),
            icon=":material/draw:")
    row = st.container(horizontal=True, gap="small")
    row.button("Switch to MNIST", key="draw_to_mnist", icon=":material/swap_horiz:", on_click=data_picker.switch_to,
               args=("mnist",), disabled=studio().training_active,
               help="Train on MNIST's handwritten digits again (the sidebar changes to it).")
    if choice.family == "points":
        with row:
            page_link("pages/playground.py", label="Go to the Playground", icon=":material/scatter_plot:")


def main() -> None:
    sidebar_config()
    s = studio()
    st.title("Draw", anchor=False)
    choice = data_picker.current()
    if not choice.dataset.is_image:
        needs_images(choice)
        return
    choices = model_choices(s)
    if not choices:
        _, why = ui_data.pretrained()
        st.warning(
            "No model is available to read your digit. "
            + (why + " " if why else "")
            + "Train one on the Train page first: the defaults take a few seconds.",
            icon=":material/info:",
        )
        page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    keys = list(choices)
    shipped = [k for k in keys if k in ui_data.PRETRAINED_LABELS]
    trained = "session" in choices and (s.has_learned or s.training_active)
    default = "session" if trained or not shipped else shipped[0]
    if st.session_state.get("draw_model") not in keys:
        st.session_state["draw_model"] = default
    key = st.radio(
        "Model", keys, format_func=choices.get, key="draw_model", horizontal=True,
        help="Which network reads your drawing: the pretrained convolutional network (the default), the "
        "pretrained dense network (MLP) shipped with NN Studio, or the one you trained or loaded in this session.",
    )
    st.caption(model_caption(s, key))
    if key == "mlp" and "cnn" not in choices:
        _, why = ui_data.pretrained("default")
        if why:
            st.caption(f":orange[●] {why}")
    show_notices()
    draw_panel(s, key)
    hide_canvas_toolbar()


main()

"""Train page: start/pause/stop training, live curves and progress, then test results and downloads."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import streamlit as st

from nncore.studio import data as D
from nncore.studio import history as H
from nncore.studio import run as R
from nncore.studio import spec
from pages.ui import charts, data_picker, sessions, training
from pages.ui import data as ui_data
from pages.ui import format as F
from pages.ui.nav import page_link
from pages.ui.notices import has_notices, show_notices
from pages.ui.sidebar import SidebarResult, show_config, sidebar_config
from pages.ui.state import Studio, studio
from pages.ui.style import stacking_columns_css

log = logging.getLogger("nnstudio.train")

MAX_CURVE_POINTS = 400
MAX_LIVE_POINTS = 120
CURVE_DEFAULTS = {"curve_smoothing": 0.8, "curve_log": False, "curve_x": "epochs"}
# The live panel is redrawn every second. Streamlit fades elements that are being recomputed and
# slides the progress bar; in a browser without a GPU each of those animations repaints the page
# every frame, on the same CPU cores that train the network. Updates here are instant instead.
STILL_CSS = """<style>
[data-testid="stElementContainer"][data-stale="true"] { opacity: 1 !important; }
[data-testid="stElementContainer"], [data-testid="stProgress"] *, [data-testid="stMetric"] * {
  transition: none !important; animation: none !important;
}
</style>"""
# The metric tiles' labels ("Train accuracy (batch)") need about 10.75rem each: four tiles to a row when the
# main column is wide enough for that, else two, else one. Container queries: the sidebar decides the width.
# The test results' row is two tiles and the download buttons (two tiles wide).
METRICS_CSS = """<style>
.st-key-train_metrics_box, .st-key-results_metrics_box { container-type: inline-size; }
.st-key-train_metrics, .st-key-results_metrics {
  display: grid !important; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 0.75rem; }
.st-key-train_metrics > *, .st-key-results_metrics > * { width: auto !important; min-width: 0 !important; }
.st-key-results_metrics > :nth-child(3) { grid-column: span 2; }
@container (max-width: 45.5rem) {
  .st-key-train_metrics, .st-key-results_metrics { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
@container (max-width: 21.75rem) {
  .st-key-train_metrics, .st-key-results_metrics { grid-template-columns: minmax(0, 1fr); }
  .st-key-results_metrics > :nth-child(3) { grid-column: auto; } }
</style>"""
# The confusion matrix beside the gallery of mistakes only where the matrix gets at least about 22rem (its
# ten columns of counts stay readable); in a narrower main column (1024 px with the sidebar open, a phone)
# it stacks above the gallery, full width. The gallery's captions ("7 → 2 (98%)") and Inspect links fit
# the 80 px cells: smaller text on one line.
RESULTS_CSS = "<style>" + stacking_columns_css("results_columns", "50rem") + """.st-key-mistakes [data-testid="stImageCaption"], .st-key-mistakes [data-testid="stCaptionContainer"] {
  font-size: 0.75rem !important; line-height: 1.25 !important; white-space: nowrap; letter-spacing: -0.01em; }
.st-key-mistakes [data-testid="stPageLink"] a { padding-left: 0.125rem !important; padding-right: 0.125rem !important;
  gap: 0.25rem !important; }
.st-key-mistakes [data-testid="stPageLink"] a p { font-size: 0.8125rem !important; }
</style>"""


# ----------------------------------------------------------------------------------------------
# Actions (button callbacks: run before the page renders, so the page shows their result)
# ----------------------------------------------------------------------------------------------
_start = training.start
_step = training.step
_pause_resume = training.pause_resume
_stop = training.stop
_speed_changed = training.speed_changed


def _ask_reset() -> None:
    s = studio()
    if s.has_learned:
        s.confirm = "reset"
    else:
        _reset()


def _cancel_reset() -> None:
    studio().confirm = None


def _reset() -> None:
    """Fresh weights for the current architecture (same settings), history cleared."""
    s = studio()
    if s.model is None or s.training_active:
        return
    try:
        fresh = spec.build(s.model.get_config())
        show_config(fresh.get_config())  # the sidebar shows the architecture that was reset
        s.set_model(fresh, "reset: same architecture, fresh weights")
        s.notify("success", "The model was reset to fresh random weights; its history was cleared.")
    except Exception as exc:
        s.notify("error", f"The model could not be reset: {exc}")
    s.confirm = None


def _on_upload() -> None:
    s = studio()
    f = st.session_state.get("model_upload")
    if f is None:
        return
    if s.training_active:
        s.notify("warning", "Stop training before loading a model file; your current model is unchanged.", "upload")
        return
    from nncore import load_model

    try:
        model = load_model(f.getvalue())
    except Exception as exc:  # ModelFileError and anything unexpected
        s.notify("error", f"“{f.name}” could not be loaded: {exc} Your current model is unchanged.", "upload")
        return
    ds = ui_data.dataset()
    why = D.mismatch(model, ds)
    if why:
        s.notify("error", f"“{f.name}” is a valid model but {why}. Your current model is unchanged.", "upload")
        return
    D.fit_to_dataset(model, ds)
    shown = show_config(model.get_config())
    s.set_model(model, f"loaded from {f.name}", from_file=True)
    note = "" if shown else " The sidebar cannot show this network's layers; it keeps its settings for a new model."
    s.notify("success", f"Loaded “{f.name}” ({F.model_text(model)}).{note}", "upload")


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
def live_panel(s: Studio, sb: SidebarResult) -> None:
    """Progress, metrics and curves. Polls the run every second while training."""
    state = s.run.state if s.run is not None else R.IDLE
    # poll while the worker runs; a paused run changes nothing, so the page rests until Resume
    run_every = training.poll_seconds(state)

    @st.fragment(run_every=run_every)
    def _panel() -> None:
        run = s.run if s.run is not None and s.run.model is s.model else None
        if run is not None:
            run.touch()
        p = s.progress()
        if p.active and run is not None:
            n_val = len(run.val_x) if run.val_x is not None else 0
            pace = "as fast as possible" if p.pace is None else f"{p.pace:g} batches/s"
            data = f"training on {run.n_train:,} samples, validating on {n_val:,}, {pace}"
        else:
            data = (f"Start trains on {sb.settings.n_train:,} samples and validates on "
                    f"{sb.settings.n_val:,}")
        what = F.model_text(s.model)
        if p.active:
            what += {R.PAUSED: ", paused", R.QUEUED: ", waiting for a training slot"}.get(p.state, ", training now")
        st.caption(f"Model: **{what}** · {s.source or 'not built'} · {data}")
        if state == R.QUEUED and p.state != R.QUEUED and p.active:
            st.rerun()  # the run left the queue: one full rerun polls at the running pace
        if p.active:
            st.session_state["_train_seen_active"] = True
        elif st.session_state.get("_train_seen_active"):
            # the run just ended: one full rerun to show the results and stop polling
            st.session_state["_train_seen_active"] = False
            st.rerun()

        if run is not None and p.state != R.IDLE:
            st.progress(p.fraction, text=f"**{F.STATE_LABEL[p.state]}** · {F.progress_text(p)}")
        if p.state == R.QUEUED:
            st.info(sessions.queue_text(p), icon=":material/hourglass_top:")
        if p.state == R.DIVERGED:
            st.error(p.message, icon=":material/warning:")
        elif p.state == R.ERROR:
            st.error(p.message + " Your model keeps what it had learned before the error.",
                     icon=":material/error:")
        elif p.state == R.FAILED:
            st.warning(p.message, icon=":material/warning:")
        elif p.state == R.FINISHED and p.early_stopping:
            st.info(p.message, icon=":material/flag:")
        elif p.state == R.STOPPED:
            st.info(p.message, icon=":material/stop_circle:")
            if p.diagnosis:
                st.warning(p.diagnosis, icon=":material/warning:")

        last = p.last_epoch
        m1, m2, m3, m4 = metric_tiles()
        m1.metric("Epochs trained", f"{p.epochs_done}",
                  help="Completed passes over the training set, over all runs of this model.")
        m2.metric("Train loss (batch)", F.fmt_number(p.last_loss),
                  help="Loss of the most recent training batch.")
        if "r2" in (getattr(s.model, "metrics", None) or []):  # a regression: R² instead of accuracy
            m3.metric("Train R² (epoch)", F.fmt_number(last.get("r2"), ".3f"),
                      help="R² of the predictions on the training samples over the last epoch: 1 is perfect, "
                      "0 is no better than always predicting the mean.")
            m4.metric("Validation R²", F.fmt_number(last.get("val_r2"), ".3f"),
                      help="R² on the held-out validation samples after the last full epoch.")
        else:
            m3.metric("Train accuracy (batch)", "–" if p.last_accuracy is None else f"{p.last_accuracy:.1%}",
                      help="Share of the most recent training batch classified correctly.")
            va = last.get("val_accuracy")
            m4.metric("Validation accuracy", "–" if va is None or not np.isfinite(va) else f"{va:.1%}",
                      help="Accuracy on the held-out validation samples after the last full epoch.")

        # while the curves move they are drawn lean and static; paused or done, hover and zoom work
        streaming = p.state in (R.RUNNING, R.STOPPING)
        points = MAX_LIVE_POINTS if streaming else MAX_CURVE_POINTS
        smoothing, log_y, x_axis = curve_controls()
        if run is not None:
            c = run.curves(points, smoothing=smoothing)
        else:
            c = H.curves(s.model, points, smoothing=smoothing) if s.model is not None else None
        if c is not None:
            figure = charts.curve_figure(c, live=streaming, x_axis=x_axis, log_y=log_y)
            charts.live_plotly_chart(figure, key="curves", height=charts.CURVES_HEIGHT, static=streaming,
                                     label="Loss and accuracy curves",  # stacked on a phone
                                     narrow=(charts.STACK_BELOW_PX, charts.stacked_curve_layout(figure["layout"])))
            st.session_state["_curve_marks"] = [m.label for m in c.marks]  # what the chart marks (for tests)
        legend = []
        if streaming:
            legend.append(":blue[**━**] training loss/accuracy, smoothed · :orange[**━●**] validation after each "
                          "epoch. Zoom and hover when the run ends or is paused.")
        if c is not None and c.marks:
            kinds = {m.kind for m in c.marks}
            legend.append(" · ".join(text for kind, text in (
                ("lr", ":violet[**┆**] learning rate changed"), ("momentum", ":blue[**┆**] momentum changed"),
                ("l2", ":orange[**┆**] l2 changed"), ("best", ":green[**│**] best epoch")) if kind in kinds))
        if legend:
            st.caption(" ".join(legend))

    _panel()


def metric_tiles(key: str = "train_metrics", n: int = 4) -> list[Any]:
    """``n`` containers for metric tiles, in one row of four where each label fits whole, else two
    rows of two (the sidebar open at 1024 px), else one column (a narrow phone): see METRICS_CSS."""
    with st.container(key=f"{key}_box"), st.container(horizontal=True, key=key):
        return [st.container() for _ in range(n)]


def _kept(key: str, default) -> None:
    """Give a page widget its value from the last visit (Streamlit forgets the state of widgets
    that a page switch did not draw)."""
    ss = st.session_state
    if key not in ss:
        ss[key] = ss.get(f"_kept_{key}", default)


def _keep(key: str) -> None:
    st.session_state[f"_kept_{key}"] = st.session_state[key]


def curve_controls() -> tuple[float, bool, str]:
    """TensorBoard's controls for the curves: smoothing, log-scale loss, x in epochs or steps."""
    for k, v in CURVE_DEFAULTS.items():
        _kept(k, v)
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom", key="curve_controls"):
        st.slider("Smoothing", min_value=0.0, max_value=0.99, step=0.01, key="curve_smoothing", width=220,
                  on_change=_keep, args=("curve_smoothing",),
                  help="Exponential moving average of the per-batch curves, as TensorBoard's slider: 0 shows the "
                  "raw batches, 0.99 smooths the most. Bias-corrected, so the start does not lag towards 0.")
        st.segmented_control("x axis", ["epochs", "steps"], key="curve_x", on_change=_keep, args=("curve_x",),
                             help="Epochs: passes over the training data. Steps: mini-batches (weight updates).")
        st.toggle("Log-scale loss", key="curve_log", on_change=_keep, args=("curve_log",),
                  help="A logarithmic loss axis shows the late, small improvements.")
    x_axis = st.session_state.get("curve_x") or "epochs"  # a segmented control can be emptied
    return float(st.session_state["curve_smoothing"]), bool(st.session_state["curve_log"]), x_axis


def controls(s: Studio, sb: SidebarResult) -> None:
    run = s.run
    state = run.state if run is not None else R.IDLE
    active = state in R.ACTIVE_STATES
    fits = s.model is not None and D.mismatch(s.model, ui_data.dataset()) is None
    can_train = fits and sb.ok and not active
    epochs = sb.settings.epochs
    why = (" Fix the settings marked in red in the sidebar first." if not sb.ok else
           " The current model does not fit the current data: build a new model in the sidebar." if not fits else "")
    # a row that wraps on narrow screens instead of cutting the labels
    row = st.container(horizontal=True, gap="small", key="train_buttons")
    c1 = c2 = c3 = c4 = c5 = c6 = row
    c1.button("Start", icon=":material/play_arrow:", type="primary", disabled=not can_train, width=110,
              on_click=_start, key="btn_start",
              help=f"Train {epochs} epoch{'s' if epochs != 1 else ''} (set in the sidebar). "
              "A model that has already learned continues from where it is." + why)
    paused = state == R.PAUSED
    c2.button("Resume" if paused else "Pause", icon=":material/play_circle:" if paused else ":material/pause:",
              disabled=state not in (R.QUEUED, R.RUNNING, R.PAUSED), width=110, on_click=_pause_resume,
              key="btn_pause",
              help="Pause after the current batch; Resume continues exactly where it paused.")
    can_step = s.model is not None and sb.ok and state not in (R.QUEUED, R.RUNNING, R.STOPPING)
    c3.button("Step", icon=":material/skip_next:", disabled=not can_step, width=110, on_click=_step,
              key="btn_step",
              help="Train exactly one mini-batch, then pause: the batch counter moves by one and the curves "
              "gain one point. Without a run in progress it starts one (the sidebar's epochs), paused." + why)
    c4.button("Stop", icon=":material/stop:", disabled=state not in (R.QUEUED, R.RUNNING, R.PAUSED), width=110,
              on_click=_stop, key="btn_stop",
              help="End this run after the current batch. Everything learned so far is kept.")
    c5.button("+1 epoch", disabled=not can_train, width=110,
              on_click=_start, args=(1,), key="btn_plus1", help="Train one more epoch." + why)
    c6.button("Reset", icon=":material/restart_alt:", disabled=active or s.model is None, width=110,
              on_click=_ask_reset, key="btn_reset",
              help="Start over: same architecture, fresh random weights, history cleared.")
    _kept("train_speed", training.DEFAULT_SPEED)
    if data_picker.current().family != "points":  # 2-D points go at the Playground page's speed
        st.select_slider(
            "Speed", options=list(training.SPEEDS), key="train_speed", on_change=_speed_changed, width=480,
            help="How fast training runs, in mini-batches per second, so that you can watch the network learn: "
            "from one batch a second to as fast as this machine can. It changes a run in progress at once. "
            "Step trains one batch at a time.",
        )
    if s.confirm == "reset":
        st.warning(f"Reset replaces what the model has learned ({F.model_text(s.model)}) with fresh random "
                   "weights. Continue?")
        d1, d2, _ = st.columns([1, 1, 3])
        d1.button("Yes, reset", type="primary", on_click=_reset, key="btn_reset_yes",
                  help="Replace the weights with fresh random ones.")
        d2.button("Cancel", on_click=_cancel_reset, key="btn_reset_no", help="Keep the model.")
    if sb.train_problems:
        st.error(" ".join(sb.train_problems.values()), icon=":material/error:")


def results(s: Studio) -> None:
    if s.model is None or s.training_active or not s.has_learned:
        return
    choice = data_picker.current()
    ds = choice.dataset
    st.subheader("Results on the test set", divider="gray",
                 help=f"{ds.n_test:,} samples of {choice.label} the network never saw during training.")
    why = D.mismatch(s.model, ds)
    if why:
        st.info(f"Your current model does not fit the current data ({choice.label}): {why}. Build a new model in "
                "the sidebar, or switch back to the data it was made for.", icon=":material/swap_horiz:")
        return
    if ds.x_test is None:
        st.info(f"{choice.label} has no test set.", icon=":material/info:")
        return
    try:
        ev = ui_data.evaluation(s)
    except Exception as exc:
        log.exception("evaluation failed")
        st.error(f"The model could not be evaluated on the test set: {exc}")
        return
    if ev is None:
        return
    c1, c2, c3 = metric_tiles("results_metrics", 3)
    if ev.is_regression:
        c1.metric("Test R²", F.fmt_number(ev.r2, ".3f"),
                  help="Coefficient of determination on the test samples: 1 is perfect, 0 is no better than "
                  "always predicting the mean.")
        c2.metric("Test MAE", F.fmt_number(ev.mae, ".4g"),
                  help=f"Mean absolute error: how far a prediction of {ds.target_name!r} is from the true value, "
                  "on average.")
    else:
        c1.metric("Test accuracy", "–" if ev.accuracy is None else f"{ev.accuracy:.2%}",
                  help="Share of the test samples classified correctly.")
        c2.metric("Test loss", F.fmt_number(ev.loss), help="The training loss measured on the test samples.")
    with c3:
        name = f"nn_studio_{spec.shape_text(s.model.get_config())}_{s.epochs_trained}ep.json"
        model = s.model
        downloads = st.container(horizontal=True, gap="small", key="result_downloads")  # side by side, wrapping
        downloads.download_button(
            "Download model (.json)", data=lambda: model.to_json(), file_name=name, mime="application/json",
            icon=":material/download:", on_click="ignore", key="download_model",
            help="Save the weights, settings and history as one JSON file. Load it again below, "
            "or with nncore.load_model().",
        )
        h = s.model.history
        if h.get("loss"):
            import pandas as pd

            csv = pd.DataFrame(H.read_record(h)).to_csv(index=False)
            downloads.download_button("Download history (.csv)", data=csv, file_name="training_history.csv",
                                      mime="text/csv", icon=":material/table_view:", on_click="ignore",
                                      key="download_history", help="The model's record per epoch (loss, "
                                      "metrics, validation, seconds, learning rate) as a CSV table.")
        sessions.recovery_note(s)

    if ev.is_regression:
        st.markdown(f"**Predicted against true {ds.target_name!r}**",
                    help="One dot per test sample. On the dashed diagonal the prediction equals the true value; "
                    "dots above it are predicted too high, below it too low.")
        st.plotly_chart(charts.regression_figure(ev.true, ev.predicted, ds.target_name), key="regression_scatter",
                        config={"displaylogo": False})
        st.caption(f"Test loss (mean squared error) {F.fmt_number(ev.loss)} on {ev.n:,} test samples.")
        return
    st.html(RESULTS_CSS)
    left, right = st.container(key="results_columns").columns([1, 1.2], gap="medium")
    with left:
        st.markdown("**Confusion matrix**", help="Rows: the true class. Columns: what the network predicted. "
                    "The diagonal holds the correct answers; bright off-diagonal cells are common mistakes.")
        st.plotly_chart(charts.confusion_figure(ev.confusion, list(ds.class_names)), key="confusion",
                        config={"displaylogo": False})
    if not ds.is_image:  # the gallery of mistakes shows pictures: for other data, a table per class
        with right:
            st.markdown(f"**Per class** ({ev.n_wrong:,} of {ev.n:,} test samples are wrong)",
                        help="For each true class: its test samples and the share the network got right.")
            st.dataframe(per_class_table(ev, ds.class_names), hide_index=True, key="per_class")
        return
    with right:
        mis = ev.mistakes
        st.markdown(f"**Most confident mistakes** ({ev.n_wrong:,} of {ev.n:,} test samples are wrong)",
                    help="Test samples the network got wrong, the most confident first: "
                    "true label → prediction (confidence).")
        if len(mis["index"]) == 0:
            st.success("No mistakes on the test set.")
        else:
            names = ds.class_names
            # fixed-size cells in a wrapping row: as many a row as fit, whatever the window's width
            gallery = st.container(horizontal=True, gap="xsmall", key="mistakes")
            for i, t, p, c in zip(mis["index"], mis["true"], mis["pred"], mis["confidence"]):
                with gallery.container(width=MISTAKE_CELL_PX, gap=None):
                    st.image(F.image_png(D.image_of(ds.x_test[i], ds), 3),
                             caption=f"{names[t]} → {names[p]} ({c:.0%})", width="stretch")
                    # a link, not st.switch_page (which would reset the sidebar's widgets); the parameter
                    # is pages/inspect.py's DIGIT_PARAM
                    page_link("pages/inspect.py", label="Inspect", icon=":material/biotech:",
                              query_params={"inspect_digit": str(int(i))},
                              help=f"Open test digit #{int(i)} (label {names[t]}, read as {names[p]}) in Inspect: "
                              f"why the network read {names[p]}, layer by layer.")


MISTAKE_CELL_PX = 80  # one misclassified digit: its image, "7 → 2 (98%)" and its Inspect button


def per_class_table(ev, class_names) -> "Any":
    """Test samples and share classified correctly per true class, as a DataFrame."""
    import pandas as pd

    from nncore.metrics import per_class_accuracy

    counts = ev.confusion.sum(axis=1)
    share = per_class_accuracy(ev.confusion)
    return pd.DataFrame({"class": list(class_names), "test samples": counts.astype(int),
                         "correct": [f"{v:.1%}" if n else "–" for v, n in zip(share, counts)]})


def upload_section(s: Studio) -> None:
    with st.expander("Load a saved model", icon=":material/upload_file:", expanded=has_notices("upload")):
        st.file_uploader(
            "Model file (.json)", type=["json"], key="model_upload", on_change=_on_upload,
            disabled=s.training_active,
            help="A model saved with the Download button or nncore's save_model(). "
            "It replaces the current model; an invalid file leaves everything as it is.",
        )
        show_notices("upload")


def main() -> None:
    sb = sidebar_config()
    s = studio()
    st.title("Train", anchor=False)
    st.html(STILL_CSS + METRICS_CSS)
    choice = data_picker.current()
    paced = ""
    if choice.family == "points":
        speed = st.session_state.get(training.SPEED_KEY, training.POINT_DEFAULT_SPEED)
        paced = f" Runs on 2-D points go at the Playground page's speed: {speed}."
    st.caption(f"Data: **{choice.label}** ({'images' if choice.dataset.is_image else choice.dataset.kind}; "
               f"choose it in the sidebar).{paced}")
    if s.model is not None and D.mismatch(s.model, choice.dataset):
        st.warning(f"Your current model does not fit {choice.label}: {D.mismatch(s.model, choice.dataset)}. Press "
                   "**Build new model** in the sidebar to train on this data.", icon=":material/swap_horiz:")
    elif s.model is not None and s.has_learned and not sb.net_problems and not spec.same_architecture(
            sb.config, s.model.get_config()):
        st.info("The sidebar describes a different network than the current model. Start continues "
                "training the current model; press **Build new model** in the sidebar to use the new layers.",
                icon=":material/info:")
    controls(s, sb)
    show_notices()
    live_panel(s, sb)
    if s.model is not None:
        with st.expander("Model summary", icon=":material/table_rows:", expanded=not s.has_learned):
            st.dataframe(s.model.summary(), hide_index=True, width="stretch")
            st.caption(f"{int(s.model.total_parameters):,} trainable parameters. Layers are named by kind and "
                       "counted from the input (Dense 1 is the first hidden layer; the classic summary called it "
                       "the Input Layer); the last one is the Output.")
    results(s)
    upload_section(s)


main()

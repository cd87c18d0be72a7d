"""Train page: start/pause/stop training, live curves and progress, then test results and downloads."""
from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from nncore import runner as R
from nncore.metrics import confusion_matrix, misclassified
from pages import common as C

log = logging.getLogger("nnstudio.train")

POLL_SECONDS = 1.0
ABANDON_SECONDS = 600.0  # a run nobody has polled for 10 minutes (tab closed) stops itself
MAX_CURVE_POINTS = 400
MAX_LIVE_POINTS = 120
TRAIN_COLOR = "#4f46e5"
VAL_COLOR = "#f97316"
CURVES_HEIGHT = 320
GRID_COLOR = "#e5e7eb"
AXIS_COLOR = "#6b7280"
# The live panel is redrawn every second. Streamlit fades elements that are being recomputed and
# slides the progress bar; in a browser without a GPU each of those animations repaints the page
# every frame, on the same CPU cores that train the network. Updates here are instant instead.
STILL_CSS = """<style>
[data-testid="stElementContainer"][data-stale="true"] { opacity: 1 !important; }
[data-testid="stElementContainer"], [data-testid="stProgress"] *, [data-testid="stMetric"] * {
  transition: none !important; animation: none !important;
}
</style>"""


# ----------------------------------------------------------------------------------------------
# Actions (button callbacks: run before the page renders, so the page shows their result)
# ----------------------------------------------------------------------------------------------
def _prepare_run(s: C.Studio, settings: R.TrainSettings, seed: int) -> bool:
    """Make sure the session's runner trains the current model on the current data settings."""
    key = (settings.n_samples, settings.val_fraction, seed, settings.batch_size)
    if s.run is not None and s.run.model is s.model and s.run_key == key:
        return True
    try:
        data = C.training_data(settings.n_samples, settings.val_fraction, seed)
        s.run = R.TrainingRun(
            s.model,
            data["x_train"],
            data["y_train"],
            val_x=data["x_val"] if len(data["x_val"]) else None,
            val_y=data["y_val"] if len(data["y_val"]) else None,
            batch_size=settings.batch_size,
            abandon_after=ABANDON_SECONDS,
        )
        s.run_key = key
        return True
    except Exception as exc:
        log.exception("could not prepare training data")
        s.notify("error", f"Training could not start: {exc}")
        return False


def _start(epochs: int | None = None) -> None:
    s = C.studio()
    cfg, settings = C.read_config()
    problems = R.validate_training(settings)
    if s.model is None:
        s.notify("error", "There is no model to train yet. Fix the sidebar settings and build one.")
        return
    if problems:
        s.notify("error", "Training did not start: " + " ".join(problems.values()))
        return
    if not getattr(s.model, "compiled", True):
        s.notify("error", "This model has no training settings (optimizer and loss), so it can only "
                          "predict. Build a new model in the sidebar to train one.")
        return
    if s.training_active:
        return
    seed = int(st.session_state.get("cfg_seed", 0))
    if not _prepare_run(s, settings, seed):
        return
    try:
        s.run.start(int(epochs or settings.epochs))
        st.session_state["_train_seen_active"] = True
    except Exception as exc:
        s.notify("error", f"Training could not start: {exc}")


def _pause_resume() -> None:
    s = C.studio()
    if s.run is None:
        return
    if s.run.state == R.PAUSED:
        s.run.resume()
    else:
        s.run.pause()


def _stop() -> None:
    s = C.studio()
    if s.run is not None:
        s.run.stop()
        s.run.join(timeout=5)


def _ask_reset() -> None:
    s = C.studio()
    if s.has_learned:
        s.confirm_discard = "reset"
    else:
        _reset()


def _reset() -> None:
    """Fresh weights for the current architecture (same settings), history cleared."""
    s = C.studio()
    if s.model is None or s.training_active:
        return
    try:
        from nncore import NN

        fresh = NN.from_config(s.model.get_config())
        cfg = R.config_from_model(fresh)
        if cfg is not None:
            C.apply_config_to_widgets(cfg)  # the sidebar shows the architecture that was reset
        s.set_model(fresh, cfg, "reset: same architecture, fresh weights")
        s.notify("success", "The model was reset to fresh random weights; its history was cleared.")
    except Exception as exc:
        s.notify("error", f"The model could not be reset: {exc}")
    s.confirm_discard = None


def _on_upload() -> None:
    s = C.studio()
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
    n_in = getattr(model, "input_size", None)
    n_out = getattr(model, "output_size", None)
    if n_in != 784 or n_out != 10:
        s.notify("error", f"“{f.name}” is a valid model but takes {n_in} inputs and gives {n_out} outputs; "
                          "MNIST needs 784 inputs (28×28 pixels) and 10 outputs. Your current model is unchanged.", "upload")
        return
    cfg = R.config_from_model(model)
    s.set_model(model, None, f"loaded from {f.name}")
    if cfg is not None:
        C.apply_config_to_widgets(cfg)
        s.model_cfg = cfg if model.epoch == 0 and not model.batch_history.get("step") else None
    s.notify("success", f"Loaded “{f.name}” ({C.describe_model(s)}).", "upload")


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
def curve_figure(run: R.TrainingRun | None, model, live: bool = False) -> dict:
    """One plotly figure spec, loss (left) and accuracy (right): per-batch points (faint, after
    training), their smoothed curve, and validation per epoch. While training (``live``) it is kept
    lean, because it is redrawn every second: fewer points, no raw per-batch trace."""
    n_points = MAX_LIVE_POINTS if live else MAX_CURVE_POINTS
    c = run.curves(n_points) if run is not None else R.curves_of(model, n_points)
    data: list[dict] = []
    empty = not len(c.batch_x) and not len(c.epoch_x)
    for col, key in ((1, "loss"), (2, "accuracy")):
        axes = dict(xaxis="x" if col == 1 else "x2", yaxis="y" if col == 1 else "y2")
        bx, by, bys = c.batch_x, getattr(c, f"batch_{key}"), getattr(c, f"batch_{key}_smooth")
        fmt = ".1%" if key == "accuracy" else ".4f"
        first = col == 1
        if len(bx):
            if not live:
                data.append(dict(type="scatter", x=bx, y=by, mode="lines", name="train, per batch",
                                 line=dict(color=TRAIN_COLOR, width=1), opacity=0.25, hoverinfo="skip",
                                 legendgroup="raw", showlegend=first, **axes))
            data.append(dict(type="scatter", x=bx, y=bys, mode="lines", name="train, smoothed",
                             line=dict(color=TRAIN_COLOR, width=2.5), legendgroup="smooth", showlegend=first,
                             hovertemplate=f"epoch %{{x:.2f}}<br>{key} %{{y:{fmt}}}<extra>train</extra>", **axes))
        vy = c.val_loss if key == "loss" else c.val_accuracy
        if len(c.epoch_x) and np.isfinite(vy).any():
            data.append(dict(type="scatter", x=c.epoch_x, y=vy, mode="lines+markers",
                             name="validation, per epoch", line=dict(color=VAL_COLOR, width=2.5),
                             marker=dict(size=8), customdata=c.epoch_number, legendgroup="val",
                             showlegend=first,
                             hovertemplate=f"after epoch %{{customdata}}<br>{key} %{{y:{fmt}}}"
                             "<extra>validation</extra>", **axes))
    xtitle = dict(text="epochs of training data seen")
    axis_style = dict(gridcolor=GRID_COLOR, zeroline=False, showline=False, ticks="outside", ticklen=4,
                      tickcolor="rgba(0,0,0,0)", automargin=True, title_font=dict(size=12, color=AXIS_COLOR),
                      tickfont=dict(size=11, color=AXIS_COLOR))
    layout = dict(
        height=CURVES_HEIGHT,
        font=dict(family="'Source Sans 3', 'Source Sans Pro', sans-serif", size=12, color="#1f2937"),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin=dict(l=10, r=10, t=50, b=10),
        showlegend=not empty and not live,  # the legend is explained in the caption while training
        hovermode=False if live else "closest",
        legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1),
        xaxis=dict(domain=[0, 0.46], title=xtitle, rangemode="tozero", visible=not empty, **axis_style),
        xaxis2=dict(domain=[0.54, 1], title=xtitle, rangemode="tozero", visible=not empty, anchor="y2",
                    **axis_style),
        yaxis=dict(title=dict(text="loss"), rangemode="tozero", visible=not empty, **axis_style),
        yaxis2=dict(title=dict(text="accuracy"), range=[0, 1.01], tickformat=".0%", anchor="x2",
                    visible=not empty, **axis_style),
        annotations=[
            dict(text="<b>Loss</b>", x=0, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                 showarrow=False, font=dict(size=15)),
            dict(text="<b>Accuracy</b>", x=0.54, y=1.0, xref="paper", yref="paper", xanchor="left",
                 yanchor="bottom", showarrow=False, font=dict(size=15)),
        ],
        uirevision="curves",  # keep the user's zoom while the curves update
    )
    if empty:
        layout["annotations"].append(dict(text="Press Start to train; the loss and accuracy curves appear here.",
                                          showarrow=False, x=0.5, y=0.45, xref="paper", yref="paper",
                                          font=dict(size=14, color=AXIS_COLOR)))
    return {"data": data, "layout": layout}


def _progress_text(p: R.Progress) -> str:
    parts = []
    if p.run_epochs:
        ep = min(p.run_epochs_done + (1 if p.active else 0), p.run_epochs)
        parts.append(f"Epoch {ep}/{p.run_epochs}")
        if p.active:
            parts.append(f"batch {p.batch:,}/{p.batches_per_epoch:,}")
    if p.samples_per_second:
        parts.append(f"{p.samples_per_second:,.0f} samples/s")
    if p.active:
        parts.append(f"ETA {C.fmt_duration(p.eta_seconds)}" if p.eta_seconds is not None else "ETA …")
    parts.append(f"elapsed {C.fmt_duration(p.elapsed_seconds)}")
    secs = p.last_epoch.get("seconds")
    if secs is not None and p.run_epochs_done:
        parts.append(f"last epoch {secs:.2f} s")
    return " · ".join(parts)


STATE_LABEL = {
    R.IDLE: "Ready",
    R.RUNNING: "Training",
    R.PAUSED: "Paused",
    R.STOPPING: "Stopping…",
    R.STOPPED: "Stopped",
    R.FINISHED: "Finished",
    R.DIVERGED: "Diverged",
    R.ERROR: "Error",
}


def live_panel(s: C.Studio, sb: C.SidebarResult) -> None:
    """Progress, metrics and curves. Polls the runner every second while training."""
    state = s.run.state if s.run is not None else R.IDLE
    # poll while the worker runs; a paused run changes nothing, so the page rests until Resume
    run_every = POLL_SECONDS if state in (R.RUNNING, R.STOPPING) else None

    @st.fragment(run_every=run_every)
    def _panel() -> None:
        run = s.run
        if run is not None:
            run.touch()
        p = run.progress() if run is not None else R.Progress(epochs_done=s.epochs_trained)
        if p.active and run is not None:
            n_val = len(run.val_x) if run.val_x is not None else 0
            data = f"training on {run.n_train:,} digits, validating on {n_val:,}"
        else:
            data = (f"Start trains on {sb.settings.n_train:,} digits and validates on "
                    f"{sb.settings.n_samples - sb.settings.n_train:,}")
        if p.active:
            cfg = s.model_cfg or R.config_from_model(s.model)
            doing = "paused" if p.state == R.PAUSED else "training now"
            what = f"{cfg.shape_text() if cfg else 'model'}, {doing}"
        else:
            what = C.describe_model(s)
        st.caption(f"Model: **{what}** · {s.source or 'not built'} · {data}")
        if p.active:
            st.session_state["_train_seen_active"] = True
        elif st.session_state.get("_train_seen_active"):
            # the run just ended: one full rerun to show the results and stop polling
            st.session_state["_train_seen_active"] = False
            st.rerun()

        if run is not None and p.state != R.IDLE:
            st.progress(p.fraction, text=f"**{STATE_LABEL[p.state]}** · {_progress_text(p)}")
        if p.state == R.DIVERGED:
            st.error(p.message, icon=":material/warning:")
        elif p.state == R.ERROR:
            st.error(p.message + " Your model keeps what it had learned before the error.",
                     icon=":material/error:")
        elif p.state == R.STOPPED:
            st.info(p.message, icon=":material/stop_circle:")

        last = p.last_epoch
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Epochs trained", f"{p.epochs_done}",
                  help="Completed passes over the training set, over all runs of this model.")
        m2.metric("Train loss (batch)", "–" if p.last_loss is None else f"{p.last_loss:.4f}",
                  help="Loss of the most recent training batch.")
        m3.metric("Train accuracy (batch)", "–" if p.last_accuracy is None else f"{p.last_accuracy:.1%}",
                  help="Share of the most recent training batch classified correctly.")
        va = last.get("val_accuracy")
        m4.metric("Validation accuracy", "–" if va is None or not np.isfinite(va) else f"{va:.1%}",
                  help="Accuracy on the held-out validation digits after the last full epoch.")

        # while the curves move they are drawn lean and static; paused or done, hover and zoom work
        streaming = p.state in (R.RUNNING, R.STOPPING)
        C.live_plotly_chart(curve_figure(run, s.model, live=streaming), key="curves", height=CURVES_HEIGHT,
                            static=streaming, label="Loss and accuracy curves")
        if streaming:
            st.caption(":blue[**━**] training loss/accuracy, smoothed · :orange[**━●**] validation after each "
                       "epoch. Zoom and hover when the run ends or is paused.")

    _panel()


def controls(s: C.Studio, sb: C.SidebarResult) -> None:
    run = s.run
    state = run.state if run is not None else R.IDLE
    active = state in R.ACTIVE_STATES
    can_train = s.model is not None and not sb.train_problems and not active
    epochs = sb.settings.epochs
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.button("Start", icon=":material/play_arrow:", type="primary", disabled=not can_train, width="stretch",
              on_click=_start, key="btn_start",
              help=f"Train {epochs} epoch{'s' if epochs != 1 else ''} (set in the sidebar). "
              "A model that has already learned continues from where it is.")
    paused = state == R.PAUSED
    c2.button("Resume" if paused else "Pause", icon=":material/play_circle:" if paused else ":material/pause:",
              disabled=state not in (R.RUNNING, R.PAUSED), width="stretch", on_click=_pause_resume,
              key="btn_pause",
              help="Pause after the current batch; Resume continues exactly where it paused.")
    c3.button("Stop", icon=":material/stop:", disabled=state not in (R.RUNNING, R.PAUSED), width="stretch",
              on_click=_stop, key="btn_stop",
              help="End this run after the current batch. Everything learned so far is kept.")
    c4.button("+1 epoch", disabled=not can_train, width="stretch",
              on_click=_start, args=(1,), key="btn_plus1", help="Train one more epoch.")
    c5.button("Reset", icon=":material/restart_alt:", disabled=active or s.model is None, width="stretch",
              on_click=_ask_reset, key="btn_reset",
              help="Start over: same architecture, fresh random weights, history cleared.")
    if s.confirm_discard == "reset":
        st.warning(f"Reset discards what the model has learned ({C.describe_model(s)}). Continue?")
        d1, d2, _ = st.columns([1, 1, 3])
        d1.button("Yes, reset", type="primary", on_click=_reset, key="btn_reset_yes",
                  help="Replace the weights with fresh random ones.")
        d2.button("Cancel", on_click=C._cancel_confirm, key="btn_reset_no", help="Keep the model.")
    if sb.train_problems:
        st.error(" ".join(sb.train_problems.values()), icon=":material/error:")


def evaluation(s: C.Studio) -> dict | None:
    """Test-set results for the current model, computed once per model state."""
    m = s.model
    if m is None or s.training_active:
        return None
    key = (id(m), m.epoch, len(m.batch_history.get("step", [])))
    if s.eval is not None and s.eval_key == key:
        return s.eval
    from nncore.datasets import scale

    x_test, y_test = C.mnist_test()
    xs = scale(x_test)
    with st.spinner("Evaluating on the 10,000 test digits…"):
        probs = m.predict(xs)
        res = m.evaluate(xs, y_test)
    cm = confusion_matrix(y_test, probs, 10)
    mis = misclassified(y_test, probs, limit=24)
    s.eval = {
        "loss": float(res["loss"]),
        "accuracy": float(res["accuracy"]),
        "cm": cm,
        "mis": mis,
        "mis_images": x_test[mis["index"]].copy(),
        "n": len(y_test),
    }
    s.eval_key = key
    return s.eval


def results(s: C.Studio) -> None:
    if s.model is None or s.training_active:
        return
    if not s.has_learned:
        return
    st.subheader("Results on the test set", divider="gray",
                 help="10,000 MNIST digits the network never saw during training.")
    try:
        ev = evaluation(s)
    except Exception as exc:
        log.exception("evaluation failed")
        st.error(f"The model could not be evaluated on the test set: {exc}")
        return
    if ev is None:
        return
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric("Test accuracy", f"{ev['accuracy']:.2%}", help="Share of the test digits classified correctly.")
    c2.metric("Test loss", f"{ev['loss']:.4f}", help="The training loss measured on the test digits.")
    with c3:
        shape = (s.model_cfg or R.config_from_model(s.model))
        name = f"nn_studio_{shape.shape_text() if shape else 'model'}_{s.epochs_trained}ep.json"
        model = s.model
        st.download_button(
            "Download model (.json)", data=lambda: model.to_json(), file_name=name, mime="application/json",
            icon=":material/download:", on_click="ignore", key="download_model",
            help="Save the weights, settings and history as one JSON file. Load it again below, "
            "or with nncore.load_model().",
        )
        h = s.run.history() if s.run is not None else dict(s.model.history)
        if h and h.get("loss"):
            import pandas as pd

            csv = pd.DataFrame(h).to_csv(index=False)
            st.download_button("Download history (.csv)", data=csv, file_name="training_history.csv",
                               mime="text/csv", icon=":material/table_view:", on_click="ignore",
                               key="download_history", help="Loss and accuracy per epoch as a CSV table.")

    left, right = st.columns([1, 1.2])
    with left:
        st.markdown("**Confusion matrix**", help="Rows: the true digit. Columns: what the network predicted. "
                    "The diagonal holds the correct answers; bright off-diagonal cells are common mistakes.")
        cm = ev["cm"]
        fig = go.Figure(go.Heatmap(
            z=cm, x=[str(i) for i in range(10)], y=[str(i) for i in range(10)],
            colorscale="Blues", text=cm, texttemplate="%{text}", textfont=dict(size=11),
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>", showscale=False,
        ))
        fig.update_layout(height=430, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                          xaxis=dict(title="predicted", side="bottom", constrain="domain"),
                          yaxis=dict(title="true", autorange="reversed", scaleanchor="x"))
        st.plotly_chart(fig, key="confusion", config={"displaylogo": False})
    with right:
        mis = ev["mis"]
        n_wrong = int(cm.sum() - np.trace(cm))
        st.markdown(f"**Most confident mistakes** ({n_wrong:,} of {ev['n']:,} test digits are wrong)",
                    help="Test digits the network got wrong, the most confident first: "
                    "true label → prediction (confidence).")
        if len(mis["index"]) == 0:
            st.success("No mistakes on the test set.")
        else:
            imgs = [C.digit_png(img, 3) for img in ev["mis_images"]]
            caps = [f"{t} → {p} ({c:.0%})" for t, p, c in zip(mis["true"], mis["pred"], mis["confidence"])]
            cols = st.columns(6)
            for k, (im, cap) in enumerate(zip(imgs, caps)):
                cols[k % 6].image(im, caption=cap, width="stretch")


def upload_section(s: C.Studio) -> None:
    with st.expander("Load a saved model", icon=":material/upload_file:",
                     expanded=C.has_notices("upload")):
        st.file_uploader(
            "Model file (.json)", type=["json"], key="model_upload", on_change=_on_upload,
            disabled=s.training_active,
            help="A model saved with the Download button or nncore's save_model(). "
            "It replaces the current model; an invalid file leaves everything as it is.",
        )
        C.show_notices("upload")


def main() -> None:
    sb = C.sidebar_config()
    s = C.studio()
    st.title("Train", anchor=False)
    st.html(STILL_CSS)
    if s.model is not None and s.has_learned and s.model_cfg != sb.cfg and not sb.net_problems:
        st.info("The sidebar describes a different network than the current model. Start continues "
                "training the current model; press **Build new model** in the sidebar to use the new settings.",
                icon=":material/info:")
    controls(s, sb)
    C.show_notices()
    live_panel(s, sb)
    if s.model is not None:
        with st.expander("Model summary", icon=":material/table_rows:", expanded=not s.has_learned):
            df = s.model.summary()
            st.dataframe(df, hide_index=True, width="stretch")
            st.caption(f"{int(s.model.total_parameters):,} trainable parameters")
    results(s)
    upload_section(s)


main()

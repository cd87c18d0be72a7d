"""Runs page: every training run of this session in one table; overlay their curves, rename or delete
runs, download the table, and make a run's model the active model again.

The registry itself (``nncore.studio.runs.RunRegistry``) lives in the session's Studio; this page only reads
widgets, calls it and draws.
"""
from __future__ import annotations

import logging

import plotly.graph_objects as go
import streamlit as st

from nncore.studio import choices
from nncore.studio import runs as RR
from pages.ui import data as ui_data
from pages.ui import data_picker
from pages.ui.format import model_text
from pages.ui.nav import page_link
from pages.ui.notices import show_notices
from pages.ui.sidebar import show_config, sidebar_config
from pages.ui.state import Studio, record_finished_run, studio

log = logging.getLogger("nnstudio.runs")

PALETTE = ["#4f46e5", "#f97316", "#16a34a", "#dc2626", "#0891b2", "#9333ea", "#ca8a04", "#db2777",
           "#475569", "#65a30d"]
PLOT_CONFIG = {"displaylogo": False}
# the results first, so they are visible without scrolling the table sideways
COLUMN_ORDER = ["Run", "Show", "Name", "Test acc", "Val acc", "Train acc", "Test loss", "Epochs", "Network",
                "Hidden layers", "Optimizer", "Output / loss", "Batch", "Samples", "Seconds", "Status", "Model kept"]


# ----------------------------------------------------------------------------------------------
# Actions (callbacks run before the page renders)
# ----------------------------------------------------------------------------------------------
def _unsaved(s: Studio) -> bool:
    """True when the active model has learned something that is in no run (it would be lost)."""
    m = s.model
    if m is None or not s.has_learned:
        return False
    return s.runs.find_live(m) is None and s.runs.origin_of(m) is None


def _ask_make_active(run_id: int) -> None:
    s = studio()
    if _unsaved(s):
        st.session_state["runs_confirm"] = run_id
    else:
        _make_active(run_id)


def _make_active(run_id: int) -> None:
    s = studio()
    st.session_state.pop("runs_confirm", None)
    if s.training_active:
        s.notify("warning", "Stop training before switching to another model.")
        return
    run = s.runs.get(run_id)
    try:
        model = s.runs.restore(run_id)
    except (KeyError, ValueError) as exc:
        s.notify("error", str(exc).strip("'\""))
        return
    show_config(model.get_config())
    s.set_model(model, f"restored from “{s.runs.label(run)}”")
    ss = st.session_state
    n, val, batch = (run.settings.get(k) for k in ("n_samples", "val_fraction", "batch_size"))
    if n in choices.sample_sizes(ui_data.dataset().n_samples):
        ss["cfg_n_samples"] = n
    if val is not None and 0 <= val <= 0.5:
        ss["cfg_val"] = float(val)
    if batch is not None and batch >= 1:
        ss["cfg_batch"] = int(batch)
    s.notify("success", f"“{s.runs.label(run)}” is the active model again ({model_text(s.model)}). The Train, Draw "
                        "and Inspect pages use it now; training it further adds a new run that continues this one.")


def _cancel_make_active() -> None:
    st.session_state.pop("runs_confirm", None)


def _delete(run_id: int) -> None:
    s = studio()
    run = s.runs.get(run_id)
    label = s.runs.label(run) if run is not None else ""
    if run is not None and s.runs.delete(run_id):
        s.notify("success", f"Deleted “{label}”.")


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
def runs_table(reg: RR.RunRegistry) -> None:
    df = reg.table(percent=True).reset_index()
    editable = {"Show", "Name"}
    pct = dict(format="%.1f %%", width="small")
    edited = st.data_editor(
        df,
        key="runs_editor",
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        column_order=COLUMN_ORDER,
        disabled=[c for c in df.columns if c not in editable],
        column_config={
            "Run": st.column_config.NumberColumn("Run", width="small", help="Run number in this session."),
            "Show": st.column_config.CheckboxColumn("Show", width="small",
                                                    help="Tick to overlay this run's curves below."),
            "Name": st.column_config.TextColumn("Name", max_chars=RR.MAX_NAME_LENGTH, required=True,
                                                help="Double-click to rename the run."),
            "Network": st.column_config.TextColumn("Network", help="Layer sizes from input to output."),
            "Train acc": st.column_config.NumberColumn("Train acc", help="Training accuracy in the last epoch (averaged over its batches, while the network was still learning).", **pct),
            "Val acc": st.column_config.NumberColumn("Val acc", help="Validation accuracy after the last epoch.",
                                                     **pct),
            "Test acc": st.column_config.NumberColumn("Test acc", help="Accuracy on the test set.", **pct),
            "Test loss": st.column_config.NumberColumn("Test loss", format="%.4f", width="small"),
            "Samples": st.column_config.NumberColumn("Samples", help="Training samples (before the validation split)."),
            "Seconds": st.column_config.NumberColumn("Time (s)", format="%.1f", width="small",
                                                     help="Training time of all its epochs."),
            "Model kept": st.column_config.CheckboxColumn(
                "Model kept", help="Whether the run's model is still in memory (so it can be made active again)."),
        },
    )
    # apply ticks and renames to the registry (the editor keeps showing them)
    for rid, show, name in zip(edited["Run"], edited["Show"], edited["Name"]):
        run = reg.get(int(rid))
        if run is None:
            continue
        if bool(show) != run.shown:
            reg.set_shown(run.id, bool(show))
        if isinstance(name, str) and name.strip() and name != reg.label(run):
            reg.rename(run.id, name)


def overlay_figures(reg: RR.RunRegistry) -> tuple[go.Figure, go.Figure]:
    data = reg.curves()
    colors = {rid: PALETTE[i % len(PALETTE)] for i, rid in enumerate(reg.ids())}
    figs = []
    for metric, title in (("loss", "Loss per epoch"), ("accuracy", "Accuracy per epoch")):
        fig = go.Figure()
        for rid in dict.fromkeys(data["run"]):
            d = data[data["run"] == rid]
            name = d["name"].iloc[0]
            in_legend = True  # one legend entry per run (its colour); the caption explains solid and dashed
            for split, dash in (("train", "solid"), ("validation", "dash")):
                ds = d[d["split"] == split]
                if ds.empty or ds[metric].isna().all():
                    continue
                fig.add_scatter(
                    x=ds["epoch"], y=ds[metric], mode="lines+markers", name=name, showlegend=in_legend,
                    legendgroup=str(rid), line=dict(color=colors.get(rid, "#6b7280"), dash=dash, width=2.5),
                    marker=dict(size=7, symbol="circle" if split == "train" else "diamond"),
                    hovertemplate=f"{name}<br>{split}, epoch %{{x}}<br>{metric} %{{y:.4f}}<extra></extra>",
                )
                in_legend = False
        runs = data["run"].nunique()
        # the legend below the plot grows a line per run: the figure grows with it, the plot keeps its
        # height; the x axis needs no title (the chart's title says "per epoch"), so none can collide
        fig.update_layout(title=dict(text=title, x=0.01, y=0.97), height=330 + 22 * runs, template="plotly_white",
                          margin=dict(l=10, r=10, t=40, b=10), yaxis_title=metric,
                          legend=dict(orientation="h", yanchor="top", y=-0.1, x=0))
        if data["epoch"].max() <= 12:
            fig.update_xaxes(dtick=1, range=[0.5, data["epoch"].max() + 0.5])
        if metric == "accuracy":
            fig.update_yaxes(tickformat=".0%")
        else:
            fig.update_yaxes(rangemode="tozero")
        figs.append(fig)
    return figs[0], figs[1]


def actions(s: Studio) -> None:
    reg = s.runs
    ids = reg.ids()
    if st.session_state.get("runs_selected") not in ids:
        st.session_state["runs_selected"] = ids[-1]
    # one row that wraps on narrow screens (the sidebar open at 1024 px, a phone) instead of cutting the labels
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small", key="runs_actions")
    rid = row.selectbox("Run", ids, key="runs_selected", format_func=lambda i: f"{i}: {reg.label(reg.get(i))}",
                        width=280, help="The run the buttons next to this menu act on.")
    run = reg.get(rid)
    why = ("Stop training first." if s.training_active
           else "" if run.model_kept else "Its model was released to save memory.")
    row.button("Make active model", icon=":material/upload:", key="runs_activate", width="content",
               disabled=bool(why), on_click=_ask_make_active, args=(rid,),
               help="Use this run's model again on the Train, Draw and Inspect pages. " + (why or
               "Training it further adds a new run that continues this one."))
    with row.popover("Delete run", icon=":material/delete:", width="content",
                     help="Remove this run from the table (its model too)."):
        st.markdown(f"Delete **{reg.label(run)}** and its model? This cannot be undone.")
        st.button("Delete for good", type="primary", key="runs_delete", on_click=_delete, args=(rid,),
                  help=f"Delete {reg.label(run)}.")
    row.download_button("Download CSV", data=reg.to_csv(), file_name="nn_studio_runs.csv",
                        mime="text/csv", icon=":material/download:", on_click="ignore", key="runs_csv",
                        width="content", help="The table above with each run's settings, as CSV.")
    confirm = st.session_state.get("runs_confirm")
    if confirm is not None and reg.get(confirm) is not None:
        st.warning(f"Your current model ({model_text(s.model)}) is not in this table and would be lost. "
                   "Download it on the Train page first if you want to keep it.")
        d1, d2, _ = st.columns([1, 1, 3])
        d1.button("Replace it", type="primary", key="runs_confirm_yes", on_click=_make_active, args=(confirm,),
                  help=f"Make “{reg.get(confirm).name}” the active model.")
        d2.button("Cancel", key="runs_confirm_no", on_click=_cancel_make_active, help="Keep the current model.")


def main() -> None:
    sidebar_config()
    s = studio()
    record_finished_run(s)
    reg = s.runs
    st.title("Runs", anchor=False)
    st.caption(
        f"Every model you train in this session is one run; training it again updates its row. Up to "
        f"{reg.max_runs} runs are kept (the oldest goes first), each with its model so you can use it again, "
        f"as long as all kept models together stay under {reg.max_kept_parameters / 1e6:.0f} million "
        "parameters (older models are released first; their rows and curves stay)."
    )
    choice = data_picker.current()
    st.caption(f"The current data is **{choice.label}**; the table holds this session's runs on any data (a "
               "regression has no accuracy: its test R² and MAE are on the Train page).")
    show_notices()
    while reg.dropped:
        st.info(reg.dropped.pop(0), icon=":material/info:")
    if s.training_active:
        st.info("A model is training now; its run appears here when training ends.", icon=":material/model_training:")
    if not len(reg):
        st.info("No runs yet. Train a model on the Train page: each run appears here when it ends, ready to "
                "compare with the next one.", icon=":material/compare_arrows:")
        page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    st.markdown(f"**{len(reg)} run{'s' if len(reg) != 1 else ''}**",
                help="Tick Show to compare curves below; double-click a name to rename it.")
    runs_table(reg)
    actions(s)

    st.subheader("Curves compared", divider="gray", anchor=False)
    shown = [r for r in reg if r.shown]
    if not shown:
        st.info("Tick **Show** in the table to overlay runs here.", icon=":material/check_box:")
        return
    st.caption("Solid lines: training data; dashed: validation data. Each colour is one run. A validation curve "
               "that stops improving while the training curve keeps going means the network starts to memorise.")
    fig_loss, fig_acc = overlay_figures(reg)
    c1, c2 = st.columns(2)
    c1.plotly_chart(fig_loss, key="runs_loss", config=PLOT_CONFIG)
    c2.plotly_chart(fig_acc, key="runs_acc", config=PLOT_CONFIG)


main()

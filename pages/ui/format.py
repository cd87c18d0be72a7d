"""Formatting for people: durations, model descriptions, progress lines, images as PNG."""
from __future__ import annotations

import io
from typing import Any

import numpy as np

from nncore.studio import run as R
from nncore.studio import spec

STATE_LABEL = {
    R.IDLE: "Ready",
    R.QUEUED: "Waiting for a slot",
    R.RUNNING: "Training",
    R.PAUSED: "Paused",
    R.STOPPING: "Stopping…",
    R.STOPPED: "Stopped",
    R.FINISHED: "Finished",
    R.FAILED: "Finished, not learning",
    R.DIVERGED: "Diverged",
    R.ERROR: "Error",
}


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def fmt_number(v: float | None, fmt: str = ".4f") -> str:
    """A metric tile's value: "–" when missing or not finite, scientific beyond a million."""
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.3e}" if abs(v) >= 1e6 else format(v, fmt)


def trained_text(model: Any) -> str:
    """"trained 3 epochs", "trained 37 batches (part of epoch 1)" or "untrained"."""
    epochs = int(getattr(model, "epoch", 0) or 0)
    batches = len(model.batch_history.get("loss", []) or [])
    if epochs:
        return f"trained {epochs} epoch{'s' if epochs != 1 else ''}"
    if batches:
        return f"trained {batches:,} batch{'es' if batches != 1 else ''} (part of epoch 1)"
    return "untrained"


def model_text(model: Any) -> str:
    """E.g. "784-128-64-10, trained 3 epochs"."""
    if model is None:
        return "no model"
    return f"{spec.shape_text(model.get_config())}, {trained_text(model)}"


def progress_text(p: R.Progress) -> str:
    if p.state == R.QUEUED:
        from nncore.studio.resources import waiting_message

        return waiting_message(p.queued_ahead or 0).removeprefix("Waiting for a free training slot: ").capitalize()
    parts = []
    if p.run_epochs:
        parts.append(f"Epoch {p.run_epoch}/{p.run_epochs}")
        if p.active or (p.state == R.STOPPED and p.batch):
            parts.append(f"batch {p.batch:,}/{p.batches_per_epoch:,}")
    if p.samples_per_second:
        parts.append(f"{p.samples_per_second:,.0f} samples/s")
    if p.active:
        parts.append(f"ETA {fmt_duration(p.eta_seconds)}" if p.eta_seconds is not None else "ETA …")
    parts.append(f"elapsed {fmt_duration(p.elapsed_seconds)}")
    secs = p.last_epoch.get("seconds")
    if secs is not None and p.run_epochs_done:
        parts.append(f"last epoch {secs:.2f} s")
    return " · ".join(parts)


def status_line(p: R.Progress) -> str:
    """The sidebar's one-line status of the session's run."""
    if p.state == R.QUEUED:
        from nncore.studio.resources import waiting_message

        return f":blue[●] {waiting_message(p.queued_ahead or 0)}"
    if p.state == R.RUNNING:
        return f":green[●] Training: epoch {p.run_epoch} of {p.run_epochs}, {p.fraction:.0%} done"
    if p.state == R.PAUSED:
        return f":orange[●] Paused in epoch {p.run_epoch} of {p.run_epochs}, {p.fraction:.0%} done"
    if p.state == R.STOPPING:
        return ":orange[●] Stopping after the current batch…"
    if p.state == R.FINISHED:
        return f":gray[●] Training finished: {p.run_epochs_done} of {p.run_epochs} epochs"
    if p.state == R.STOPPED:
        return f":gray[●] Training stopped in epoch {p.run_epoch} of {p.run_epochs}"
    if p.state in (R.FAILED, R.DIVERGED, R.ERROR):
        return f":red[●] Training ended: {STATE_LABEL[p.state].lower()}. See the Train page."
    return ""


def rgb_png(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 picture (e.g. a mosaic from nncore.analysis) as PNG bytes, as it is."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), mode="RGB").save(buf, format="PNG")
    return buf.getvalue()


def image_png(img: np.ndarray, scale: int = 4) -> bytes:
    """A 2-D grey image (uint8 0..255 or float 0..1) as an upscaled, pixel-sharp PNG."""
    from PIL import Image

    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    h, w = a.shape[-2:]
    im = Image.fromarray(a.reshape(h, w), mode="L").resize((w * scale, h * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()

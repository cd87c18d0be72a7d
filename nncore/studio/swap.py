"""A model's arrays on disk while nobody uses it: a closed tab's work waits for a reload without
holding memory (issue 14: memory back near idle minutes after a class closes its tabs).

:func:`swap_out` writes the parameters and the optimizer's state to an ``.npz`` file in a private
temporary folder and drops them from memory (the model object, its layers, records and settings
stay); :func:`swap_in` reads them back exactly. A swapped-out model must not be used until then
(:func:`swapped` tells). Files hold numbers only (``np.load(allow_pickle=False)``) and are deleted
when read back or when the model object is garbage-collected (the parked work expired).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

_lock = threading.Lock()
_folder: Path | None = None


def folder() -> Path:
    """This process's folder for swapped-out arrays (created on first use, readable by this user only)."""
    global _folder
    with _lock:
        if _folder is None or not _folder.is_dir():
            _folder = Path(tempfile.mkdtemp(prefix="nnstudio-parked-"))
            atexit.register(_remove_folder, _folder, os.getpid())
        return _folder


def _remove_folder(path: Path, owner_pid: int) -> None:
    """At the server's exit: its folder goes too (only in the process that made it, not a forked child)."""
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)


def swapped(model: Any) -> bool:
    return getattr(model, "_swap_file", None) is not None


def swap_out(model: Any, directory: Path | None = None) -> Path | None:
    """Move ``model``'s parameters and optimizer state to a file; returns it (None when there was
    nothing to move: not compiled, already swapped out)."""
    if swapped(model) or getattr(model, "_params", None) is None:
        return None
    arrays = {"params": np.asarray(model._params)}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        arrays.update({f"state_{k}": v for k, v in optimizer.state.items()})
    fd, name = tempfile.mkstemp(suffix=".npz", dir=directory or folder())
    with os.fdopen(fd, "wb") as f:
        np.savez(f, **arrays)
    path = Path(name)
    model._swap_shapes = [layer.param_shapes() for layer in model.layers]
    model._swap_file = path
    model._swap_finalizer = weakref.finalize(model, _remove, path)
    model._params = model._grads = None
    model._shared_params = None
    for layer in model.layers:
        layer.params = {k: None for k in layer.params}
        layer.grads = {k: None for k in layer.grads}
    if optimizer is not None:
        optimizer.state = {k: None for k in optimizer.state}
        optimizer._scratch = []
    return path


def swap_in(model: Any) -> bool:
    """Read back what :func:`swap_out` moved to disk (exactly); False when the model was in memory."""
    path = getattr(model, "_swap_file", None)
    if path is None:
        return False
    with np.load(path, allow_pickle=False) as data:
        for layer, shapes in zip(model.layers, model._swap_shapes):  # placeholders _pack copies from
            layer.params = {k: np.zeros(shape, dtype=model.dtype) for k, shape in shapes.items()}
        model._pack()
        model._params[...] = data["params"]
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            optimizer.state = {k[len("state_"):]: data[k] for k in data.files if k.startswith("state_")}
    model._swap_file = None
    model._swap_finalizer()  # deletes the file
    return True


def _remove(path: Path) -> None:
    try:
        os.remove(path)
    except OSError:
        pass

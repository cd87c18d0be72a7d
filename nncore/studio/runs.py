"""A per-session registry of training runs, for comparing them side by side.

Pure Python + pandas (no Streamlit). Every row reads its model's own record (``model.history``);
only a run whose model was released to save memory keeps a copy of that (small, per-epoch) record. The dashboard keeps one :class:`RunRegistry` per user session
(in ``st.session_state``) and calls :meth:`RunRegistry.record` whenever a training run ends.

What counts as a run: **one model trained in this session**. Training the same model again (Start,
+1 epoch) updates its row, because it is still the same network learning further. A run that is
made the active model again is continued as a *copy*: its training becomes a new run that names the
run it continued from, so the stored run never changes under the user.

Memory: every run keeps an independent copy of its model (weights plus optimizer state), so at most
:data:`MAX_RUNS` runs are kept (the oldest is dropped first) and the models of the oldest runs are
released once all kept models together exceed :data:`MAX_KEPT_PARAMETERS` parameters; their rows and
curves stay.
"""
from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

#: Runs kept per session; the oldest is dropped when a new one would exceed this.
MAX_RUNS = 20
#: Total parameters of all kept run models (~4 bytes each, about 3x that with Adam's state).
MAX_KEPT_PARAMETERS = 20_000_000
MAX_NAME_LENGTH = 60

STATUS_LABELS = {
    "finished": "finished",
    "failed": "finished, not learning",
    "stopped": "stopped by you",
    "diverged": "diverged",
    "error": "error",
}


def _param_count(model: Any) -> int:
    try:
        return int(model.total_parameters)
    except Exception:
        return 0


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")


def _last(values: Any) -> float:
    if not values:
        return float("nan")
    return _finite(list(values)[-1])


def describe_model(model: Any) -> dict[str, Any]:
    """Plain facts about a model's architecture and training settings, for the runs table."""
    from .spec import describe

    return {**describe(model.get_config()), "parameters": _param_count(model)}


@dataclass
class Run:
    """One training run: what was trained, how it went, and (while memory allows) the model."""

    id: int
    name: str
    model: Any | None
    facts: dict[str, Any]
    settings: dict[str, Any]
    test: dict[str, float] | None
    status: str
    message: str = ""
    parent: int | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    shown: bool = True
    #: True until the user renames the run: its label then says what differs from the other runs
    auto_named: bool = True
    _live: Any = field(default=None, repr=False)  # weakref to the session model this run follows
    _released_history: dict[str, list] | None = field(default=None, repr=False)

    @property
    def history(self) -> dict[str, list]:
        """The per-epoch record of the run's model (kept as a copy once the model is released)."""
        if self.model is not None:
            return self.model.history
        return self._released_history or {}

    def release_model(self) -> None:
        """Drop the model to save memory; its per-epoch record stays for the table and curves."""
        if self.model is not None:
            self._released_history = {k: list(v) for k, v in self.model.history.items()}
            self.model = None

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def model_kept(self) -> bool:
        return self.model is not None

    @property
    def parameters(self) -> int:
        return int(self.facts.get("parameters") or 0)

    def follows(self, model: Any) -> bool:
        return self._live is not None and self._live() is model


class RunRegistry:
    """The runs of one session, oldest first. Not thread-safe: use it from the UI thread only."""

    def __init__(self, max_runs: int = MAX_RUNS, max_kept_parameters: int = MAX_KEPT_PARAMETERS) -> None:
        if max_runs < 1:
            raise ValueError("max_runs must be at least 1.")
        self.max_runs = int(max_runs)
        self.max_kept_parameters = int(max_kept_parameters)
        self._runs: list[Run] = []
        self._next_id = 1
        self._origins: list[tuple[Any, int]] = []  # (weakref to a restored model copy, run id)
        #: human-readable notes about runs or models dropped to respect the caps (latest last)
        self.dropped: list[str] = []

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(list(self._runs))

    def ids(self) -> list[int]:
        return [r.id for r in self._runs]

    def get(self, run_id: int) -> Run | None:
        for r in self._runs:
            if r.id == run_id:
                return r
        return None

    def find_live(self, model: Any) -> Run | None:
        """The run that follows ``model`` (the session's model being trained), if any."""
        if model is None:
            return None
        for r in self._runs:
            if r.follows(model):
                return r
        return None

    def origin_of(self, model: Any) -> int | None:
        """Id of the run that ``model`` was restored from (see :meth:`restore`)."""
        self._origins = [(ref, rid) for ref, rid in self._origins if ref() is not None]
        for ref, rid in self._origins:
            if ref() is model:
                return rid
        return None

    @property
    def kept_parameters(self) -> int:
        return sum(r.parameters for r in self._runs if r.model_kept)

    # ------------------------------------------------------------------ writing
    def record(
        self,
        model: Any,
        *,
        settings: dict[str, Any] | None = None,
        test: dict[str, float] | None = None,
        status: str = "finished",
        message: str = "",
        name: str | None = None,
        copy: bool = True,
    ) -> Run:
        """Record the current state of ``model`` after a training run ended.

        If a run already follows this very model object, that run is updated (the model trained
        further); otherwise a new run is added. The stored model is an independent copy unless
        ``copy=False``. Returns the run.
        """
        if model is None:
            raise ValueError("There is no model to record.")
        snapshot = model.copy() if copy else model
        facts = describe_model(model)
        now = time.time()
        run = self.find_live(model)
        if run is not None:
            run.model = snapshot
            run.facts = facts
            run.settings = dict(settings or run.settings)
            run._released_history = None
            run.test = dict(test) if test else None
            run.status = status
            run.message = message
            run.updated = now
            # most recently trained last, so the memory cap drops the stalest models first
            self._runs.remove(run)
            self._runs.append(run)
        else:
            parent = self.origin_of(model)
            rid = self._next_id
            self._next_id += 1
            auto = name is None
            if name is None:
                name = f"Run {rid}"
                if parent is not None and self.get(parent) is not None:
                    name += f" (continues {self.get(parent).name})"
            run = Run(
                id=rid,
                auto_named=auto and parent is None,
                name=_clean_name(name) or f"Run {rid}",
                model=snapshot,
                facts=facts,
                settings=dict(settings or {}),
                test=dict(test) if test else None,
                status=status,
                message=message,
                parent=parent,
                created=now,
                updated=now,
            )
            try:
                run._live = weakref.ref(model)
            except TypeError:  # an object without weakref support: it simply gets a new row next time
                run._live = None
            self._runs.append(run)
        self._enforce_caps(keep=run)
        return run

    def _enforce_caps(self, keep: Run) -> None:
        while len(self._runs) > self.max_runs:
            oldest = next(r for r in self._runs if r is not keep)
            self._runs.remove(oldest)
            self.dropped.append(
                f"“{oldest.name}” was removed: at most {self.max_runs} runs are kept per session."
            )
        while self.kept_parameters > self.max_kept_parameters:
            victims = [r for r in self._runs if r.model_kept and r is not keep]
            if not victims:
                break
            victims[0].release_model()
            self.dropped.append(
                f"The model of “{victims[0].name}” was released to save memory (its row and curves stay)."
            )

    def rename(self, run_id: int, name: str) -> bool:
        """Give a run a new name (trimmed, at most 60 characters). False if not found or empty."""
        run = self.get(run_id)
        name = _clean_name(name)
        if run is None or not name or name == self.label(run):
            return False
        run.name = name
        run.auto_named = False
        return True

    def set_shown(self, run_id: int, shown: bool) -> bool:
        run = self.get(run_id)
        if run is None:
            return False
        run.shown = bool(shown)
        return True

    def delete(self, run_id: int) -> bool:
        run = self.get(run_id)
        if run is None:
            return False
        self._runs.remove(run)
        return True

    def restore(self, run_id: int) -> Any:
        """An independent copy of a run's model, to become the session's active model.

        Training that copy later records a new run that continues this one; the stored run is not
        changed. Raises KeyError for an unknown run and ValueError when its model was released.
        """
        run = self.get(run_id)
        if run is None:
            raise KeyError(f"There is no run {run_id}.")
        if run.model is None:
            raise ValueError(f"The model of “{run.name}” was released to save memory; only its curves are kept.")
        clone = run.model.copy()
        try:
            self._origins.append((weakref.ref(clone), run.id))
        except TypeError:
            pass
        return clone

    # ------------------------------------------------------------------ tables
    def label(self, run: Run) -> str:
        """The run's name as shown: a name the user gave, else "Run N" followed by the settings in
        which the runs of this session differ (e.g. "Run 2 · sgd, lr 0.05 · batch 32")."""
        if not run.auto_named:
            return run.name
        parts = []
        for get, fmt in LABEL_FIELDS:
            if len({get(r) for r in self._runs}) > 1 and get(run) is not None:
                parts.append(fmt(get(run)))
        return run.name + (" · " + " · ".join(parts) if parts else "")

    def table(self, percent: bool = False) -> "Any":
        """One row per run (index: run id): plain columns, accuracies as fractions (0..1), or as
        percentages (0..100) when ``percent`` (for a display with a fixed number of decimals)."""
        import pandas as pd

        rows = []
        for r in self._runs:
            h = r.history
            secs = [v for v in (_finite(s) for s in h.get("seconds", [])) if np.isfinite(v)]
            rows.append(
                {
                    "Run": r.id,
                    "Show": bool(r.shown),
                    "Name": self.label(r),
                    "Network": r.facts.get("network", "?"),
                    "Hidden layers": r.facts.get("hidden", ""),
                    "Output / loss": r.facts.get("output", ""),
                    "Optimizer": r.facts.get("optimizer", ""),
                    "Batch": _int_or_none(r.settings.get("batch_size")),
                    "Samples": _int_or_none(r.settings.get("n_samples")),
                    "Epochs": r.epochs,
                    "Train acc": _last(h.get("accuracy")),
                    "Val acc": _last(h.get("val_accuracy")),
                    "Test acc": _finite((r.test or {}).get("accuracy")),
                    "Test loss": _finite((r.test or {}).get("loss")),
                    "Seconds": round(sum(secs), 1) if secs else float("nan"),
                    "Status": STATUS_LABELS.get(r.status, r.status),
                    "Model kept": r.model_kept,
                }
            )
        cols = [
            "Run", "Show", "Name", "Network", "Hidden layers", "Output / loss", "Optimizer", "Batch",
            "Samples", "Epochs", "Train acc", "Val acc", "Test acc", "Test loss", "Seconds", "Status",
            "Model kept",
        ]
        df = pd.DataFrame(rows, columns=cols)
        if percent:
            for col in ("Train acc", "Val acc", "Test acc"):
                df[col] = df[col] * 100.0
        df["Batch"] = df["Batch"].astype("Int64")
        df["Samples"] = df["Samples"].astype("Int64")
        return df.set_index("Run")

    def to_csv(self) -> str:
        """The runs table as CSV, with the settings a reader needs to reproduce each run."""
        df = self.table().drop(columns=["Show"])
        df.insert(df.columns.get_loc("Batch"), "Seed", [r.facts.get("seed") for r in self._runs])
        df.insert(df.columns.get_loc("Samples") + 1, "Validation split",
                  [r.settings.get("val_fraction") for r in self._runs])
        df.insert(df.columns.get_loc("Network") + 1, "Parameters", [r.parameters for r in self._runs])
        df["Continues run"] = pd_int([r.parent for r in self._runs])
        return df.to_csv(index=True)

    def curves(self, run_ids: list[int] | None = None) -> "Any":
        """Per-epoch curves of the given runs (default: the ticked ones) in long form.

        Columns: run, name, epoch, split ("train" / "validation"), loss, accuracy. Epochs with no
        finite value for a split are left out (e.g. validation switched off).
        """
        import pandas as pd

        if run_ids is None:
            run_ids = [r.id for r in self._runs if r.shown]
        rows = []
        for rid in run_ids:
            r = self.get(rid)
            if r is None:
                continue
            h = r.history
            n = len(h.get("loss", []))
            epochs = h.get("epoch") or list(range(1, n + 1))
            for i in range(n):
                for split, lk, ak in (("train", "loss", "accuracy"), ("validation", "val_loss", "val_accuracy")):
                    lv = _finite(h.get(lk, [])[i]) if i < len(h.get(lk, [])) else float("nan")
                    av = _finite(h.get(ak, [])[i]) if i < len(h.get(ak, [])) else float("nan")
                    if math.isnan(lv) and math.isnan(av):
                        continue
                    ep = int(epochs[i]) if i < len(epochs) else i + 1
                    rows.append({"run": r.id, "name": self.label(r), "epoch": ep, "split": split, "loss": lv, "accuracy": av})
        return pd.DataFrame(rows, columns=["run", "name", "epoch", "split", "loss", "accuracy"])


#: what tells runs apart, in the order a label lists it: (read from a run, format for the label)
LABEL_FIELDS = (
    (lambda r: r.settings.get("data"), lambda v: str(v)),
    (lambda r: r.facts.get("network"), lambda v: str(v)),
    (lambda r: r.facts.get("hidden"), lambda v: str(v)),
    (lambda r: r.facts.get("output"), lambda v: str(v)),
    (lambda r: r.facts.get("optimizer"), lambda v: str(v)),
    (lambda r: r.settings.get("batch_size"), lambda v: f"batch {v}"),
    (lambda r: r.settings.get("n_samples"), lambda v: f"{int(v):,} samples"),
    (lambda r: r.facts.get("seed"), lambda v: f"seed {v}"),
)


def _clean_name(name: Any) -> str:
    text = " ".join(str(name or "").split())
    return text[:MAX_NAME_LENGTH]


def _int_or_none(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def pd_int(values: list[Any]) -> "Any":
    import pandas as pd

    return pd.array([_int_or_none(v) for v in values], dtype="Int64")

"""Browser sessions and the server's shared training resources: the Streamlit side of issue 14.

* **Admission**: every training asks the process-wide ``TrainingSlots`` for a slot
  (:func:`run_options`, owner = the Streamlit session id: one training per session).
* **No orphans**: :class:`SessionWatcher`, one daemon thread per process, checks about once a second
  whether the session of each active training is still connected (Streamlit's
  ``Runtime.is_active_session``: a closed or reloaded tab's session leaves the active sessions at
  once and waits ``disconnectedSessionTTL`` in storage). A training whose session has been gone for
  :data:`GRACE_SECONDS` is stopped after its current batch (the model keeps what it learned) and the
  server logs ``stopped the training of disconnected session …``. The thread sleeps while nothing
  trains; it holds weak references only.
* **Reload**: each tab keeps a private token in its ``sessionStorage`` (a tiny custom component,
  ``session_token/index.html``); at the end of every script run the session's ``Studio`` (model,
  runs, training run) is parked under that token in :mod:`nncore.studio.parking` (the one store of
  per-user data outside ``st.session_state``). A reload is a new session: it reads the token,
  claims the parked ``Studio`` (only when the old session is disconnected) and continues with it;
  a training the watcher had stopped meanwhile starts again for the epochs it had left.
  When recovery is impossible (no browser storage, parking switched off) and the model has learned
  something, the page asks before unloading and the Train page offers the download.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import streamlit as st

from nncore.studio import parking
from nncore.studio import run as R
from nncore.studio import child_training, swap
from nncore.studio.resources import process_slots, training_processes_from_env

from .state import Studio, studio

log = logging.getLogger("nnstudio.sessions")

GRACE_SECONDS = 3.0  # a disconnected session's training stops after this long (a reload within it continues)
CHECK_SECONDS = 1.0  # how often the watcher looks while something trains
TOKEN_KEY = "_park_token"  # st.session_state: the tab's token once settled
_PROPOSAL_KEY = "_park_proposal"
_ASSIGN_KEY = "_park_assign"
_COMPONENT_KEY = "park_token"
DISCONNECT_REASON = ("Stopped because this browser tab was closed or reloaded; everything learned so far "
                     "is kept.")


# ----------------------------------------------------------------------------------------------
# Sessions
# ----------------------------------------------------------------------------------------------
def session_id() -> str | None:
    """The Streamlit session id of the running script (None outside a script run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def is_connected(sid: Hashable) -> bool:
    """True while session ``sid`` has a browser connected. Without a Streamlit server (AppTest,
    bare scripts) every session counts as connected."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(str(sid))


def run_options() -> dict[str, Any]:
    """TrainingRun keyword arguments of this session: the process's slots, owned by this session."""
    return {"slots": process_slots(), "owner": session_id() or "no-session"}


def admit(run: R.TrainingRun, pace: float | None) -> None:
    """Before a start: a run as fast as possible takes one of the process's training slots (it may
    queue); a run held to a pace (at most a few thousand samples/s, a small share of a core) takes
    none, so slow demonstrations never keep anyone waiting. A pace changed to "as fast as possible"
    during a run applies without a slot until that run ends. A run with a slot trains in a child
    process (``NNSTUDIO_TRAINING_PROCESSES``, default on)."""
    run.slots = process_slots() if pace is None else None
    run.owner = session_id() or run.owner
    # a run with a slot trains in a child process (its own interpreter lock; see child_training)
    run.processes = pace is None and training_processes_from_env() and child_training.available()


def configure_logging() -> None:
    """Our loggers ("nncore", "nnstudio") write INFO and above to stderr, once per process
    (Streamlit configures only its own): a line per training run, warnings, errors."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("nncore", "nnstudio"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(fmt)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


# ----------------------------------------------------------------------------------------------
# The watcher
# ----------------------------------------------------------------------------------------------
class SessionWatcher:
    """Stops trainings whose session is gone. ``is_connected(session_id)``; ``clock`` for tests.

    :meth:`check` is one pass (what the thread does every ``interval`` seconds); :meth:`watch`
    registers a run for a session (again after a reload: the run then belongs to the new session).
    """

    def __init__(self, is_connected: Callable[[Hashable], bool], grace: float = GRACE_SECONDS,
                 interval: float = CHECK_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._is_connected = is_connected
        self.grace = grace
        self.interval = interval
        self._clock = clock
        self._cond = threading.Condition()
        self._owner: weakref.WeakKeyDictionary[Any, Hashable] = weakref.WeakKeyDictionary()
        self._gone_since: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        #: runs this watcher stopped -> epochs they had left (a reload starts them again)
        self._interrupted: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._thread: threading.Thread | None = None

    def watch(self, run: Any, sid: Hashable) -> None:
        with self._cond:
            if self._owner.get(run) != sid:
                self._owner[run] = sid
                self._gone_since.pop(run, None)
            self._cond.notify_all()

    def watching(self, run: Any) -> Hashable | None:
        with self._cond:
            return self._owner.get(run)

    def take_interrupted(self, run: Any) -> int:
        """Epochs a run stopped by this watcher had left (0 if it was not stopped by the watcher)."""
        with self._cond:
            return self._interrupted.pop(run, 0)

    def check(self) -> list[Any]:
        """One pass: forget ended runs, stop runs whose session has been gone for ``grace``."""
        stopped = []
        with self._cond:
            now = self._clock()
            for run, sid in list(self._owner.items()):
                if not run.active:
                    del self._owner[run]
                    self._gone_since.pop(run, None)
                    continue
                if self._is_connected(sid):
                    self._gone_since.pop(run, None)
                    continue
                since = self._gone_since.setdefault(run, now)
                if now - since < self.grace:
                    continue
                p = run.progress()
                left = max(1, p.run_epochs - p.run_epochs_done)
                if run.stop(reason=DISCONNECT_REASON):
                    self._interrupted[run] = left
                    stopped.append(run)
                    log.warning("stopped the training of disconnected session %s after %.0f s (%d epoch(s) left)",
                                sid, now - since, left)
                del self._owner[run]
                self._gone_since.pop(run, None)
        return stopped

    def start(self) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="nnstudio-session-watcher", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not len(self._owner):
                    self._cond.wait()  # nothing trains: sleep until a run is watched
            try:
                self.check()
            except Exception:  # the watcher must outlive any one bad run
                log.exception("session watcher pass failed")
            with self._cond:
                self._cond.wait(self.interval)


_lock = threading.Lock()
_watcher: SessionWatcher | None = None
_store: parking.ParkingStore | None = None


def watcher() -> SessionWatcher:
    """The process's watcher (started on first use)."""
    global _watcher
    with _lock:
        if _watcher is None:
            _watcher = SessionWatcher(is_connected)
        _watcher.start()
        return _watcher


def store() -> parking.ParkingStore:
    """The process's parking store (bounds from NNSTUDIO_PARK_MINUTES / NNSTUDIO_MAX_PARKED); its
    janitor starts with it."""
    global _store
    with _lock:
        if _store is None:
            _store = parking.ParkingStore(is_active=is_connected)
            threading.Thread(target=_janitor, args=(_store,), name="nnstudio-janitor", daemon=True).start()
        return _store


# ----------------------------------------------------------------------------------------------
# Memory of closed tabs
# ----------------------------------------------------------------------------------------------
JANITOR_SECONDS = 30.0  # how often parked work of closed tabs is compacted and the heap trimmed


def _models(s: Studio) -> list[Any]:
    """The models a session's work holds: its own and one per recorded run that kept one."""
    found = [] if s.model is None else [s.model]
    for r in s.runs:
        if r.model is not None and all(r.model is not m for m in found):
            found.append(r.model)
    return found


def compact_studio(s: Studio) -> bool:
    """A closed tab's work waits for a reload on disk: the models' arrays (parameters, optimizer
    state) go to files (:mod:`nncore.studio.swap`), what can be recomputed is dropped (the test-set
    evaluation, the snapshot copy); records, runs and settings stay. :func:`bring_back` undoes it."""
    if s.run is not None and s.run.active:
        return False  # still training (a stop is on its way): next pass
    s.evaluation = None
    s.evaluation_key = None
    if s.run is not None:
        s.run.drop_caches()
    for model in _models(s):
        swap.swap_out(model)
    return True


def bring_back(s: Studio) -> None:
    """The models of ``s`` in memory again (after :func:`compact_studio`); cheap when they are."""
    for model in _models(s):
        swap.swap_in(model)


def janitor_pass(parked: parking.ParkingStore) -> int:
    """One pass: expired work dropped, closed tabs' work moved to disk, and, while no training runs,
    a full garbage collection (the server turns Streamlit's after-run collection off, and a server
    that went quiet allocates too little for Python to collect the ended sessions' reference cycles
    itself) and the C heap's free pages returned to the system (glibc keeps them otherwise)."""
    from nncore.studio.resources import process_slots, release_free_memory

    n = parked.compact_disconnected(compact_studio)
    if process_slots().status().running == 0:
        gc.collect()
        release_free_memory()
    return n


def _janitor(parked: parking.ParkingStore) -> None:
    while True:
        time.sleep(JANITOR_SECONDS)
        try:
            janitor_pass(parked)
        except Exception:  # the janitor must outlive any one bad entry
            log.exception("janitor pass failed")


# ----------------------------------------------------------------------------------------------
# The tab's token, parking and restoring
# ----------------------------------------------------------------------------------------------
def _declare_component():
    import streamlit.components.v1 as components

    return components.declare_component("session_token", path=str(Path(__file__).resolve().parent / "session_token"))


_TOKEN_COMPONENT = _declare_component()
HIDE_CSS = f"""<style>.st-key-{_COMPONENT_KEY} {{ position: absolute !important; width: 1px; height: 0;
 overflow: hidden; margin: 0 !important; padding: 0 !important; }}</style>"""


def recoverable() -> bool:
    """True when a reload of this tab gets its work back (token settled, parking on)."""
    return store().enabled and parking.valid_token(st.session_state.get(TOKEN_KEY))


#: page widgets a reload gets back too, though no link holds them: how fast to train, the curves' controls
#: (each with the ``_kept_`` copy its page keeps across page switches), the Playground's speed
VIEW_PREFIX = "_kept_"
VIEW_KEYS = ("pg_speed",)


def _setup_key(k: str) -> bool:
    """A key of the setup a link holds: the sidebar's settings and its layer rows."""
    return k.startswith("cfg_") or k in ("layer_ids", "layer_next")


def _snapshot_widgets() -> dict[str, Any]:
    ss = st.session_state
    return {k: ss[k] for k in ss.keys()
            if isinstance(k, str) and (_setup_key(k) or k.startswith(VIEW_PREFIX) or k in VIEW_KEYS)}


def restore(url_had_settings: bool) -> None:
    """Before the sidebar: read this tab's token; on the first run that knows it, take back the work
    parked under it (a reload). ``url_had_settings``: the URL set the sidebar, the parked setup then
    stays unused (the parked view settings, such as Speed, come back all the same)."""
    ss = st.session_state
    st.html(HIDE_CSS)
    s = studio()
    bring_back(s)  # a session that reconnected after the janitor put its work on disk
    proposal = ss.setdefault(_PROPOSAL_KEY, parking.new_token())
    warn = s.has_learned and not recoverable()
    value = _TOKEN_COMPONENT(proposal=proposal, assign=ss.get(_ASSIGN_KEY), warn=warn, key=_COMPONENT_KEY,
                             default=None)
    if not parking.valid_token(value) or ss.get(TOKEN_KEY) == value:
        return
    sid = session_id()
    entry = store().claim(value, sid)
    if entry is None and store().owner_of(value) not in (None, sid):
        # another open tab uses this token (a duplicated tab copies sessionStorage): a token of our own
        ss[_ASSIGN_KEY] = parking.new_token()
        st.rerun()
    ss[TOKEN_KEY] = value
    ss.pop(_ASSIGN_KEY, None)
    if entry is None or entry.state is s or not isinstance(entry.state, Studio):
        return
    _adopt(entry, sid, url_had_settings)


def _adopt(entry: parking.Parked, sid: Hashable, url_had_settings: bool) -> None:
    ss = st.session_state
    parked: Studio = entry.state
    bring_back(parked)
    ss["studio"] = parked
    for k, v in entry.meta.get("widgets", {}).items():
        if url_had_settings and _setup_key(k):
            continue  # the link's setup has the last word; the view is kept
        ss[k] = v
        if k.startswith(VIEW_PREFIX):  # and the page's widget, drawn with its default before this run
            ss[k[len(VIEW_PREFIX):]] = v
    run = parked.run
    text = "Welcome back: your model, runs and settings were restored after the reload."
    if run is not None:
        run.owner = sid
        left = watcher().take_interrupted(run)
        if run.active:
            watcher().watch(run, sid)  # reloaded within the grace: it never stopped
            text = "Welcome back: your training kept going while the page reloaded."
        elif left and run.model is parked.model:
            run.join(timeout=10)
            try:
                run.start(left)
                watcher().watch(run, sid)
                text = (f"Welcome back: your training was stopped when the tab reloaded and continues now "
                        f"({left} epoch{'s' if left != 1 else ''} to go).")
            except Exception as exc:
                text = f"Welcome back: your model and runs were restored; the training could not continue: {exc}"
    log.info("session %s took back the work of session %s", sid, entry.meta.get("parked_by"))
    if parked.has_learned or len(parked.runs):
        parked.notify("success", text)


def keep() -> None:
    """After every script run: watch the session's training and park its work under the token."""
    ss = st.session_state
    s = ss.get("studio")
    sid = session_id()
    if not isinstance(s, Studio) or sid is None:
        return
    if s.run is not None and s.run.active:
        s.run.owner = sid
        watcher().watch(s.run, sid)
    token = ss.get(TOKEN_KEY)
    if parking.valid_token(token):
        store().put(token, sid, s, widgets=_snapshot_widgets(), parked_by=sid)


# ----------------------------------------------------------------------------------------------
# What users read
# ----------------------------------------------------------------------------------------------
def server_status_text() -> str:
    """E.g. "Training slots on this server: 1 of 2 in use, none waiting; one training per session"."""
    st_ = process_slots().status()
    waiting = "none waiting" if not st_.queued else f"{st_.queued} waiting"
    return (f"Training slots on this server: {st_.running} of {st_.capacity} in use, {waiting}; "
            "one training per session.")


def queue_text(p: R.Progress) -> str:
    """The Train page's sentence for a queued run."""
    from nncore.studio.resources import waiting_message

    cap = process_slots().capacity
    return (f"{waiting_message(p.queued_ahead or 0)} This server trains {cap} network{'s' if cap != 1 else ''} "
            "at once (one per session); yours starts by itself when a slot frees. Pause or Stop leaves the queue.")


def recovery_note(s: Studio) -> None:
    """Where a reload cannot bring the work back: say so next to the download."""
    if s.has_learned and not recoverable():
        st.caption(":orange[●] A reload of this tab would lose this model (this browser keeps no token for it, "
                   "or the server keeps no work across reloads): download it to keep it.")

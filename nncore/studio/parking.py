"""The parking store: a browser tab's work kept on the server across a reload, found by a private token.

**This module is the one place where per-user data lives outside ``st.session_state``** (pure Python,
no Streamlit). A reload starts a new Streamlit session with an empty ``st.session_state``; to give the
user their model, runs and training back, each tab keeps an unguessable token in its browser (see
``pages/ui/sessions.py``: ``sessionStorage``, never in a URL) and the server keeps, under that token
only, a reference to the session's state (the ``Studio`` object: model, runs, training run).

Rules:

* the token is the only key; nothing can be listed or looked up by anything else;
* tokens are :func:`new_token` (32 random bytes from :mod:`secrets`, 43 URL-safe characters) and a
  lookup with anything that is not shaped like one is refused (:func:`valid_token`);
* an entry whose owner (the Streamlit session that parked it) is still connected is *live*; once the
  owner is gone it is *parked* and expires ``ttl_seconds`` after the owner was last seen connected
  (default 30 minutes, ``NNSTUDIO_PARK_MINUTES``);
* at most ``max_entries`` entries (default 64, ``NNSTUDIO_MAX_PARKED``): adding one more drops the one
  whose owner was seen least recently (parked entries first: live ones are still in their session);
* :meth:`ParkingStore.claim` hands an entry to a new session only when its owner is no longer
  connected (a reload), never to a second tab while the first still shows it.

Thread-safe. What a parked state costs: the model and its optimizer state, the Runs table's models
and a reference to the (shared, read-only) training arrays; about 1-5 MB for the dashboard's networks.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_PARK_MINUTES = "NNSTUDIO_PARK_MINUTES"
ENV_MAX_PARKED = "NNSTUDIO_MAX_PARKED"
DEFAULT_TTL_SECONDS = 30 * 60.0
DEFAULT_MAX_ENTRIES = 64
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")

log = logging.getLogger(__name__)


def new_token() -> str:
    """A fresh private token: 32 random bytes (256 bits) as 43 URL-safe characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def valid_token(token: Any) -> bool:
    """True when ``token`` is shaped like :func:`new_token`'s (anything else is never looked up)."""
    return isinstance(token, str) and _TOKEN_RE.fullmatch(token) is not None


def ttl_from_env(environ: Mapping[str, str] | None = None) -> float:
    """``NNSTUDIO_PARK_MINUTES`` in seconds (0 switches parking off), else 30 minutes."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(ENV_PARK_MINUTES) or "").strip()
    if not raw:
        return DEFAULT_TTL_SECONDS
    try:
        minutes = float(raw)
    except ValueError:
        minutes = -1.0
    if not minutes >= 0 or minutes == float("inf"):
        raise ValueError(f"{ENV_PARK_MINUTES} must be a number of minutes of 0 or more; received {raw!r}.")
    return minutes * 60.0


def max_entries_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``NNSTUDIO_MAX_PARKED`` (0 switches parking off), else 64."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(ENV_MAX_PARKED) or "").strip()
    if not raw:
        return DEFAULT_MAX_ENTRIES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{ENV_MAX_PARKED} must be a whole number of 0 or more; received {raw!r}.")
    return value


@dataclass
class Parked:
    """One entry: ``state`` (e.g. the session's Studio) parked by session ``owner``."""

    owner: Hashable
    state: Any
    seen: float  # clock time the owner was last seen connected
    meta: dict[str, Any] = field(default_factory=dict)


class ParkingStore:
    """Token -> :class:`Parked`, bounded in number and time. ``is_active(owner)`` tells whether an
    owner (a Streamlit session id) is still connected; ``clock`` exists for tests."""

    def __init__(
        self,
        ttl_seconds: float | None = None,
        max_entries: int | None = None,
        *,
        is_active: Callable[[Hashable], bool] = lambda owner: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_from_env() if ttl_seconds is None else float(ttl_seconds)
        self.max_entries = max_entries_from_env() if max_entries is None else int(max_entries)
        if self.ttl_seconds < 0 or self.max_entries < 0:
            raise ValueError(
                f"ttl_seconds and max_entries must be 0 or more; received {ttl_seconds!r} and {max_entries!r}."
            )
        self._is_active = is_active
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, Parked] = {}

    @property
    def enabled(self) -> bool:
        """False when configured off (``ttl_seconds`` or ``max_entries`` is 0): nothing is kept."""
        return self.ttl_seconds > 0 and self.max_entries > 0

    def __len__(self) -> int:
        with self._lock:
            self._sweep_locked()
            return len(self._entries)

    def put(self, token: str, owner: Hashable, state: Any, **meta: Any) -> bool:
        """Park (or refresh) ``state`` under ``token`` for ``owner``. False when refused: a malformed
        token, parking switched off, or the token belongs to another connected session."""
        if not valid_token(token) or not self.enabled:
            return False
        with self._lock:
            now = self._clock()
            entry = self._entries.get(token)
            if entry is not None and entry.owner != owner and self._is_active(entry.owner):
                return False
            if entry is None:
                self._sweep_locked()
                while len(self._entries) >= self.max_entries:
                    self._drop_oldest_locked()
                self._entries[token] = Parked(owner, state, now, dict(meta))
            else:
                entry.owner, entry.state, entry.seen = owner, state, now
                entry.meta.update(meta)
            return True

    def claim(self, token: str, owner: Hashable) -> Parked | None:
        """The entry under ``token`` for the session ``owner`` (a reload of the tab that parked it):
        only when the entry's owner is ``owner`` or no longer connected, and it has not expired.
        The entry then belongs to ``owner``. None otherwise."""
        if not valid_token(token) or not self.enabled:
            return None
        with self._lock:
            self._sweep_locked()
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry.owner != owner and self._is_active(entry.owner):
                return None  # another tab still shows this state (e.g. a duplicated tab)
            entry.owner = owner
            entry.seen = self._clock()
            entry.meta["compacted"] = False
            return entry

    def owner_of(self, token: str) -> Hashable | None:
        with self._lock:
            entry = self._entries.get(token) if valid_token(token) else None
            return entry.owner if entry is not None else None

    def drop(self, token: str) -> None:
        with self._lock:
            self._entries.pop(token, None)

    def compact_disconnected(self, compact: Callable[[Any], Any]) -> int:
        """Call ``compact(state)`` once for each entry whose owner is no longer connected (e.g. to
        move its work to disk); again only after its owner was seen connected, or on the next call
        when ``compact`` returned False. Runs under the store's lock, so a claim never sees work
        half compacted. Returns how many were compacted."""
        with self._lock:
            self._sweep_locked()
            todo = [e for e in self._entries.values()
                    if not e.meta.get("compacted") and not self._is_active(e.owner)]
            for entry in todo:
                entry.meta["compacted"] = True
                try:
                    if compact(entry.state) is False:  # not now (e.g. still stopping): next pass
                        entry.meta["compacted"] = False
                except Exception:  # noqa: BLE001 - compaction is an optimisation; the work stays usable
                    log.exception("could not compact parked work")
        return sum(bool(e.meta.get("compacted")) for e in todo)

    def sweep(self) -> int:
        """Drop expired entries now; returns how many remain."""
        with self._lock:
            self._sweep_locked()
            return len(self._entries)

    # ------------------------------------------------------------------ internals
    def _sweep_locked(self) -> None:
        now = self._clock()
        for token, entry in list(self._entries.items()):
            if self._is_active(entry.owner):
                entry.seen = now  # live: its owner still shows it
                entry.meta["compacted"] = False
            elif now - entry.seen > self.ttl_seconds:
                del self._entries[token]

    def _drop_oldest_locked(self) -> None:
        def age(item: tuple[str, Parked]) -> tuple[bool, float]:
            return (self._is_active(item[1].owner), item[1].seen)  # parked before live, oldest first

        token, _ = min(self._entries.items(), key=age)
        del self._entries[token]

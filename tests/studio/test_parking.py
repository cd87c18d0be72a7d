"""nncore.studio.parking: the per-user store behind "reload gets your work back" — token only, bounded
in number and time, never handed to a second tab while the first is connected."""
from __future__ import annotations

import pytest

from nncore.studio import parking as P


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(ttl=60.0, n=3, active=()):
    clock = Clock()
    connected = set(active)
    s = P.ParkingStore(ttl, n, is_active=lambda owner: owner in connected, clock=clock)
    return s, clock, connected


def test_tokens_are_long_random_and_url_safe():
    tokens = {P.new_token() for _ in range(200)}
    assert len(tokens) == 200
    for t in tokens:
        assert len(t) == 43 and P.valid_token(t)  # 32 random bytes = 256 bits
    for bad in ("", "short", "x" * 42, "x" * 44, "a" * 42 + "!", None, 42, "../" + "a" * 40):
        assert not P.valid_token(bad)


def test_put_and_claim_after_the_owner_disconnected():
    s, clock, connected = store(active={"old"})
    t = P.new_token()
    state = object()
    assert s.put(t, "old", state, widgets={"cfg_epochs": 7})
    connected.discard("old")  # the tab reloaded: the old session is gone
    entry = s.claim(t, "new")
    assert entry is not None and entry.state is state and entry.meta["widgets"] == {"cfg_epochs": 7}
    assert s.owner_of(t) == "new"


def test_a_second_tab_cannot_claim_while_the_first_is_connected():
    s, clock, connected = store(active={"first"})
    t = P.new_token()
    s.put(t, "first", "work")
    assert s.claim(t, "second") is None
    assert not s.put(t, "second", "other work")  # nor overwrite it
    assert s.claim(t, "first").state == "work"


def test_malformed_tokens_are_never_stored_or_looked_up():
    s, _, _ = store()
    assert not s.put("guessable", "a", "work")
    assert s.claim("guessable", "b") is None and len(s) == 0


def test_a_parked_entry_expires_ttl_after_its_owner_was_last_seen():
    s, clock, connected = store(ttl=60.0, active={"a"})
    t = P.new_token()
    s.put(t, "a", "work")
    clock.now += 3600  # an hour while the tab stays open: live entries do not expire
    assert s.sweep() == 1
    connected.discard("a")
    clock.now += 59
    assert s.sweep() == 1
    clock.now += 2
    assert s.sweep() == 0
    assert s.claim(t, "b") is None


def test_at_most_max_entries_oldest_parked_dropped_first():
    s, clock, connected = store(ttl=1e9, n=3, active={"live"})
    live, old, mid = P.new_token(), P.new_token(), P.new_token()
    s.put(live, "live", 0)  # the oldest entry, but its session is still connected
    clock.now += 1
    s.put(old, "gone1", 1)
    clock.now += 1
    s.put(mid, "gone2", 2)
    clock.now += 1
    new = P.new_token()
    s.put(new, "gone3", 3)
    assert len(s) == 3
    assert s.claim(old, "x") is None  # the oldest parked entry made room
    assert s.owner_of(live) == "live" and s.owner_of(mid) == "gone2" and s.owner_of(new) == "gone3"


def test_refreshing_an_entry_does_not_grow_the_store():
    s, clock, _ = store(n=2)
    t = P.new_token()
    for i in range(10):
        s.put(t, "a", i)
    assert len(s) == 1 and s.claim(t, "a").state == 9


def test_parking_off():
    s = P.ParkingStore(0, 10)
    assert not s.enabled and not s.put(P.new_token(), "a", 1)


def test_bounds_from_the_environment():
    assert P.ttl_from_env({}) == 30 * 60
    assert P.ttl_from_env({"NNSTUDIO_PARK_MINUTES": "5"}) == 300
    assert P.max_entries_from_env({"NNSTUDIO_MAX_PARKED": "8"}) == 8
    with pytest.raises(ValueError, match="NNSTUDIO_PARK_MINUTES must be a number of minutes of 0 or more; received 'soon'"):
        P.ttl_from_env({"NNSTUDIO_PARK_MINUTES": "soon"})
    with pytest.raises(ValueError, match="NNSTUDIO_MAX_PARKED must be a whole number of 0 or more; received '-1'"):
        P.max_entries_from_env({"NNSTUDIO_MAX_PARKED": "-1"})


def test_closed_tabs_work_is_compacted_once_until_a_reload_claims_it():
    s, clock, connected = store(active={"a", "b"})
    ta, tb = P.new_token(), P.new_token()
    a, b = {"cache": 1}, {"cache": 2}
    s.put(ta, "a", a)
    s.put(tb, "b", b)
    seen = []

    def compact(state):
        seen.append(state)
        state.pop("cache")

    assert s.compact_disconnected(compact) == 0  # both tabs still connected: nothing dropped
    connected.discard("a")
    assert s.compact_disconnected(compact) == 1 and seen == [a] and a == {} and b == {"cache": 2}
    assert s.compact_disconnected(compact) == 0  # once
    assert s.claim(ta, "a2").state is a  # a reload gets the (compacted) work back
    connected.add("a2")
    connected.discard("a2")
    assert s.compact_disconnected(compact) == 1 and seen == [a, a]


def test_a_failing_compaction_keeps_the_work():
    s, clock, connected = store()
    t = P.new_token()
    state = {"model": 1}
    s.put(t, "gone", state)

    def broken(_):
        raise RuntimeError("boom")

    assert s.compact_disconnected(broken) == 1
    assert s.claim(t, "new").state == {"model": 1}

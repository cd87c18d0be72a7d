"""pages.ui.sessions.SessionWatcher (no orphans) and pages.ui.url_config's codec (the setup in the URL).

The watcher is driven pass by pass (``check``) with a fake clock and a fake "is the session
connected" function; runs are held mid-batch by the fake engine, so nothing races a thread.
"""
from __future__ import annotations

import math

from nncore.studio import run as R
from nncore.studio.resources import TrainingSlots
from pages.ui import url_config as U
from pages.ui.sessions import DISCONNECT_REASON, SessionWatcher
from tests.studio.test_runner import FakeModel, data

T = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def held_run(owner="s1", n=96):
    m = FakeModel(hold_at=1)
    x, y = data(n)
    return R.TrainingRun(m, x, y, batch_size=32, slots=TrainingSlots(2), owner=owner)


def test_a_disconnected_sessions_training_stops_after_the_grace_and_keeps_its_model():
    clock, connected = Clock(), {"s1"}
    w = SessionWatcher(lambda sid: sid in connected, grace=3.0, clock=clock)
    run = held_run()
    run.start(2)
    assert run.model.held.wait(T)
    w.watch(run, "s1")
    assert w.check() == []
    connected.clear()  # tab closed
    clock.now = 1.0
    assert w.check() == [] and run.state == R.RUNNING  # first seen gone
    clock.now = 3.9
    assert w.check() == []  # within the grace: a reload may still take it over
    clock.now = 4.0
    assert w.check() == [run]
    run.model.release.set()
    assert run.join(T)
    p = run.progress()
    assert p.state == R.STOPPED and p.message == DISCONNECT_REASON and p.step == 1  # learned batch kept
    assert w.take_interrupted(run) == 2 and w.take_interrupted(run) == 0  # epochs left, once
    assert w.watching(run) is None


def test_a_reload_within_the_grace_takes_the_run_over():
    clock, connected = Clock(), {"old"}
    w = SessionWatcher(lambda sid: sid in connected, grace=3.0, clock=clock)
    run = held_run("old")
    run.start(1)
    assert run.model.held.wait(T)
    w.watch(run, "old")
    connected.clear()
    w.check()
    clock.now = 2.0
    connected.add("new")
    w.watch(run, "new")  # the reloaded tab's session claimed the parked work
    clock.now = 10.0
    assert w.check() == [] and run.state == R.RUNNING
    run.model.release.set()
    assert run.join(T) and run.state == R.FINISHED
    assert w.check() == [] and w.watching(run) is None  # ended runs are forgotten


def test_a_queued_run_of_a_closed_tab_leaves_the_queue():
    clock, connected = Clock(), {"a"}
    slots = TrainingSlots(1)
    x, y = data(64)
    a = R.TrainingRun(FakeModel(hold_at=1), x, y, batch_size=32, slots=slots, owner="a")
    b = R.TrainingRun(FakeModel(), x, y, batch_size=32, slots=slots, owner="b")
    a.start(1)
    b.start(1)
    assert b.state == R.QUEUED
    w = SessionWatcher(lambda sid: sid in connected, grace=0.0, clock=clock)
    w.watch(b, "b")
    assert w.check() == [b]
    assert b.join(T) and b.state == R.STOPPED and slots.status().queued == 0
    a.model.release.set()
    assert a.join(T)


# ----------------------------------------------------------------------------------------------
# The URL codec
# ----------------------------------------------------------------------------------------------
DEFAULTS = {
    "cfg_n_samples": 10_000, "cfg_val": 0.1, "cfg_out_act": "softmax", "cfg_loss": "cse", "cfg_opt": "adam",
    "cfg_lr": 0.001, "cfg_mr": 0.0, "cfg_batch": 128, "cfg_epochs": 3, "cfg_seed": 0, "cfg_flag": False,
    "layer_ids": [0, 1], "layer_next": 2,
    "cfg_L0_n": 128, "cfg_L0_act": "relu", "cfg_L0_drop": 0.0, "cfg_L1_n": 64, "cfg_L1_act": "relu", "cfg_L1_drop": 0.0,
}


def test_round_trip_of_a_non_default_setup():
    state = dict(DEFAULTS, cfg_n_samples=30_000, cfg_val=0.25, cfg_opt="sgd", cfg_lr=0.03, cfg_mr=0.9,
                 cfg_batch=32, cfg_epochs=12, cfg_seed=7, cfg_flag=True, layer_ids=[5, 9], layer_next=10,
                 cfg_L5_n=300, cfg_L5_act="tanh", cfg_L5_drop=0.2, cfg_L9_n=17, cfg_L9_act="sigmoid", cfg_L9_drop=0.0)
    state["cfg_L1_n"] = 999  # a removed layer's leftover key is not part of the setup
    params = U.encode(state)
    assert params["cfg_layers"] == "2" and params["cfg_L0_n"] == "300" and params["cfg_L1_act"] == "sigmoid"
    assert "cfg_L5_n" not in params and "cfg_L9_n" not in params and "layer_ids" not in params
    assert all(k.startswith("cfg_") for k in params)
    settings, layers, refused = U.decode(params, DEFAULTS)
    assert refused == {}
    assert layers == [{"n": 300, "act": "tanh", "drop": 0.2}, {"n": 17, "act": "sigmoid", "drop": 0.0}]
    for k in ("cfg_n_samples", "cfg_val", "cfg_opt", "cfg_lr", "cfg_mr", "cfg_batch", "cfg_epochs", "cfg_seed", "cfg_flag"):
        assert settings[k] == state[k] and type(settings[k]) is type(state[k]), k


def test_zero_hidden_layers_round_trip():
    state = dict(DEFAULTS, layer_ids=[])
    settings, layers, refused = U.decode(U.encode(state), DEFAULTS)
    assert layers == [] and refused == {}


def test_bad_values_are_refused_and_named():
    params = {"cfg_epochs": "abc", "cfg_opt": "nope", "cfg_lr": "nan", "cfg_val": "0.9", "cfg_seed": "-1",
              "cfg_flag": "maybe", "cfg_unknown": "1", "cfg_layers": "1", "cfg_L0_n": "0", "cfg_L0_act": "relu",
              "cfg_L3_n": "5", "cfg_batch": "64", "other": "ignored"}
    settings, layers, refused = U.decode(params, DEFAULTS)
    assert settings == {"cfg_batch": 64}
    assert layers == [{"n": 64, "act": "relu", "drop": 0.0}]  # the bad neuron count falls back to the default
    assert set(refused) == {"cfg_epochs=abc", "cfg_opt=nope", "cfg_lr=nan", "cfg_val=0.9", "cfg_seed=-1",
                            "cfg_flag=maybe", "cfg_unknown=1", "cfg_L0_n=0", "cfg_L3_n=5"}
    assert refused["cfg_epochs=abc"] == "not a whole number"
    assert refused["cfg_opt=nope"].startswith("not one of ")
    assert refused["cfg_L3_n=5"] == "only 1 hidden layer(s)"


def test_format_value_and_parse_value_are_inverse():
    for v in (0, 7, -3, 0.1, 1e-05, 3.0, True, False, "relu"):
        assert U.parse_value(U.format_value(v), v) == v
    assert U.format_value(math.nan) is None and U.format_value(None) is None
    assert U.parse_value("1e-3", 0.5) == 0.001


def test_the_share_query_holds_settings_only():
    state = dict(DEFAULTS, _park_token="A" * 43, studio=object(), model_upload=b"x")
    q = U.share_query(state)
    assert "A" * 43 not in q and "park" not in q and "studio" not in q and "upload" not in q
    assert all(part.startswith("cfg_") for part in q.split("&"))

"""AppTests of issue 14 on the router (app.py): the setup read from and written to the URL, a bad
link's values refused with a notice, and a training that waits for a slot (the queue is filled by the
test itself, so nothing depends on how fast anything runs)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from nncore.studio import run as R
from nncore.studio.resources import process_slots
from tests.app.test_app_pages import TIMEOUT, _path, no_exception, page, studio_of, texts


def router(**params: str) -> AppTest:
    at = AppTest.from_file(_path("app.py"), default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def test_a_link_sets_up_the_sidebar_and_the_url_holds_the_whole_setup():
    at = router(cfg_epochs="7", cfg_opt="sgd", cfg_lr="0.03", cfg_layers="1", cfg_L0_n="40",
                cfg_L0_act="tanh", cfg_batch="32").run()
    no_exception(at)
    ss = at.session_state
    assert (ss["cfg_epochs"], ss["cfg_opt"], ss["cfg_lr"], ss["cfg_batch"]) == (7, "sgd", 0.03, 32)
    assert [ss[f"cfg_L{i}_n"] for i in ss["layer_ids"]] == [40]
    assert "784-40-10" in texts(at)
    assert not at.warning  # nothing refused
    written = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert written["cfg_epochs"] == "7" and written["cfg_layers"] == "1" and written["cfg_L0_act"] == "tanh"
    assert written["cfg_loss"] == "cse"  # settings the link did not give are written too


def test_bad_values_in_a_link_are_ignored_with_a_notice_naming_them():
    at = router(cfg_epochs="abc", cfg_opt="nope", cfg_lr="5", cfg_batch="64", cfg_layers="1", cfg_L0_n="0").run()
    no_exception(at)
    ss = at.session_state
    assert ss["cfg_epochs"] == 3 and ss["cfg_opt"] == "adam" and ss["cfg_lr"] == 0.001  # defaults stay
    assert ss["cfg_batch"] == 64  # the good value is used
    warning = " ".join(w.value for w in at.warning)
    for name in ("cfg_epochs=abc", "cfg_opt=nope", "cfg_lr=5", "cfg_L0_n=0"):
        assert name in warning
    assert "above 1" in warning  # the spec's reason for the learning rate
    at.run()
    assert not at.warning  # shown once


def test_a_queued_training_shows_its_place_and_leaves_the_queue_on_stop():
    slots = process_slots()
    fillers = [slots.request(f"filler-{i}") for i in range(slots.capacity)]
    waiting = [slots.request(f"waiting-{i}") for i in range(2)]
    at = router()
    try:
        at.run()
        at.switch_page("pages/train.py").run()
        at.button(key="btn_start").click().run()
        assert studio_of(at).run.slots is None  # the default pace takes no slot
        at.button(key="btn_stop").click().run()
        assert studio_of(at).run.join(TIMEOUT)
        at.select_slider(key="train_speed").set_value("as fast as possible").run()
        before = len(studio_of(at).model.batch_history.get("loss", []))
        at.button(key="btn_start").click().run()
        no_exception(at)
        run = studio_of(at).run
        assert run.state == R.QUEUED and run.progress().queued_ahead == 2
        page = texts(at)
        assert "Waiting for a free training slot: 2 runs ahead of yours." in page
        assert f"This server trains {slots.capacity} networks at once (one per session)" in page
        assert any("2 runs ahead of yours" in c.value for c in at.sidebar.caption)  # the status line
        assert not at.button(key="btn_stop").disabled and not at.button(key="btn_pause").disabled
        at.button(key="btn_stop").click().run()
        assert run.join(TIMEOUT) and run.state == R.STOPPED
        assert slots.ticket_of(run.owner) is None and slots.status().queued == 2
        assert len(run.model.batch_history.get("loss", [])) == before  # nothing trained in the queue
    finally:
        for t in fillers + waiting:
            t.release()
        run = at.session_state["studio"].run if "studio" in at.session_state else None
        if run is not None:
            run.stop()
            run.join(TIMEOUT)


def test_home_shows_the_servers_training_slots():
    at = router().run()
    cap = process_slots().capacity
    assert f"Training slots on this server: 0 of {cap} in use, none waiting; one training per session." in texts(at)


def test_settings_other_sections_add_travel_too_and_their_widgets_have_the_last_word():
    """Keys this module does not know (set up by their own section while the sidebar renders) are
    read with the type of their widget's default; a value the widget does not accept is refused."""
    at = router(cfg_restore="false", cfg_l2="0.001", cfg_schedule="bogus", cfg_patience="-5", cfg_epochs="5").run()
    no_exception(at)
    ss = at.session_state
    assert ss["cfg_restore"] is False and ss["cfg_l2"] == 0.001 and ss["cfg_epochs"] == 5
    assert ss["cfg_schedule"] != "bogus" and ss["cfg_patience"] >= 0
    warning = " ".join(w.value for w in at.warning)
    assert "`cfg_schedule=bogus` (not accepted by its widget)" in warning and "cfg_patience=-5" in warning


def test_a_queued_run_polls_less_often_than_a_running_one():
    from pages.ui.training import poll_seconds

    assert poll_seconds(R.QUEUED) > poll_seconds(R.RUNNING) > 0
    assert poll_seconds(R.STOPPING) == poll_seconds(R.RUNNING)
    assert poll_seconds(R.PAUSED) is None and poll_seconds(R.FINISHED) is None and poll_seconds(R.IDLE) is None


def test_pages_poll_less_often_while_trainings_wait_for_a_slot():
    from nncore.studio.resources import TrainingSlots
    from pages.ui import training

    assert training.poll_seconds(R.RUNNING, busy=True) == training.poll_seconds(R.RUNNING, busy=False) * 2.5
    assert training.poll_seconds(R.QUEUED, busy=True) > training.poll_seconds(R.QUEUED, busy=False)
    assert training.poll_seconds(R.PAUSED, busy=True) is None
    slots = TrainingSlots(1)
    with_slot = slots.request("a")
    assert with_slot.granted
    import nncore.studio.resources as resources

    original = resources._process_slots
    resources._process_slots = slots
    try:
        assert not training.server_busy()
        waiting = slots.request("b")
        assert waiting.queued and training.server_busy()
        waiting.cancel()
        assert not training.server_busy()
    finally:
        with_slot.release()
        resources._process_slots = original


def test_the_janitor_compacts_a_closed_tabs_work_and_keeps_the_model():
    from nncore.studio import parking, swap
    from pages.ui import sessions
    from pages.ui.state import Studio

    at = page("pages/train.py")
    at.button(key="btn_step").click().run()
    s = studio_of(at)
    assert s.run is not None and s.run.wait_parked(30)
    s.run.stop()
    assert s.run.join(30)
    s.evaluation, s.evaluation_key = object(), ("key",)
    assert s.run.snapshot_model() is not None and s.run._snap_cache is not None
    weights = [w.copy() for w in s.model.get_weights()]
    t_before = s.model.optimizer.t
    store = parking.ParkingStore(60, 4, is_active=lambda owner: False)
    token = parking.new_token()
    store.put(token, "closed-tab", s)
    moments = {k: v.copy() for k, v in s.model.optimizer.state.items()}
    assert moments  # adam has trained a batch
    assert sessions.janitor_pass(store) == 1
    assert s.evaluation is None and s.run._snap_cache is None
    assert swap.swapped(s.model) and s.model._params is None  # the arrays left memory for a file
    path = s.model._swap_file
    assert path.exists() and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert sessions.janitor_pass(store) == 0  # once
    entry = store.claim(token, "reload")
    assert isinstance(entry.state, Studio)
    sessions.bring_back(entry.state)  # what a reload's restore does
    assert not swap.swapped(s.model) and not path.exists()
    assert all((a == b).all() for a, b in zip(weights, s.model.get_weights()))
    assert s.model.optimizer.t == t_before
    assert all((moments[k] == v).all() for k, v in s.model.optimizer.state.items())
    s.run.start(1)  # and it trains on
    assert s.run.join(60) and s.run.state in (R.FINISHED, R.FAILED)

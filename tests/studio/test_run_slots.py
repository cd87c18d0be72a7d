"""TrainingRun with admission control (nncore.studio.resources.TrainingSlots): queued runs, Pause and
Stop while queued, paused runs give their slot back, the slot is released however a run ends, and the
BLAS policy follows the number of running trainings.

Nothing races the worker: runs are held in the middle of a batch (the fake engine's ``hold_at``) and
released by the test; waits are on Events and joins (with generous timeouts that only fail a hung run).
"""
from __future__ import annotations

import pytest

from nncore.studio import run as R
from nncore.studio.resources import CANCELLED, RELEASED, SlotBusyError, TrainingSlots, waiting_message
from tests.studio.test_runner import FakeModel, data

T = 30.0  # seconds: only a hung worker takes this long


def held_run(slots, owner, hold_at=1, n=64, batch_size=32):
    """A run whose first batch waits half-done until ``run.model.release`` is set."""
    m = FakeModel(hold_at=hold_at)
    x, y = data(n)
    return R.TrainingRun(m, x, y, batch_size=batch_size, slots=slots, owner=owner)


def finish(*runs):
    for run in runs:
        run.model.release.set()
        run.stop()
    for run in runs:
        assert run.join(T)


def test_a_run_queues_while_the_slots_are_full_and_starts_when_one_frees():
    slots = TrainingSlots(1)
    a, b, c = held_run(slots, "a"), held_run(slots, "b"), held_run(slots, "c")
    try:
        a.start(1)
        assert a.model.held.wait(T)
        assert a.state == R.RUNNING and a.progress().queued_ahead is None
        b.start(1)
        c.start(1)
        assert b.state == c.state == R.QUEUED
        assert b.progress().queued_ahead == 0 and c.progress().queued_ahead == 1
        assert waiting_message(c.progress().queued_ahead).endswith("1 run ahead of yours.")
        assert b.active and c.active  # the session is "training": its settings are locked
        assert b.model.train_calls == [] and c.model.train_calls == []  # nothing trains before its slot

        a.model.release.set()
        assert a.join(T) and a.state == R.FINISHED
        assert b.model.held.wait(T)  # a's slot went to b, the first in line
        assert b.state == R.RUNNING
        assert c.state == R.QUEUED and c.progress().queued_ahead == 0
        b.model.release.set()
        assert b.join(T) and b.state == R.FINISHED
        c.model.release.set()
        assert c.join(T) and c.state == R.FINISHED
        assert slots.status().running == 0 and slots.status().queued == 0
    finally:
        finish(a, b, c)


def test_stop_while_queued_leaves_the_queue_and_keeps_the_model():
    slots = TrainingSlots(1)
    a, b = held_run(slots, "a"), held_run(slots, "b")
    try:
        a.start(1)
        assert a.model.held.wait(T)
        b.start(2)
        assert b.state == R.QUEUED
        assert b.stop()
        assert b.join(T)
        p = b.progress()
        assert p.state == R.STOPPED and "before the first batch" in p.message
        assert b.model.train_calls == [] and b.model.w1.sum() == 0
        assert slots.status().queued == 0 and slots.ticket_of("b") is None
        assert a.state == R.RUNNING
    finally:
        finish(a, b)


def test_pause_while_queued_leaves_the_queue_and_resume_joins_it_again():
    slots = TrainingSlots(1)
    a, b, c = held_run(slots, "a"), held_run(slots, "b"), held_run(slots, "c")
    try:
        a.start(1)
        assert a.model.held.wait(T)
        b.start(1)
        c.start(1)
        assert b.pause()
        assert b.state == R.PAUSED
        assert slots.status().queued == 1 and c.progress().queued_ahead == 0  # c moved up
        assert b.resume()
        assert b.state == R.QUEUED and b.progress().queued_ahead == 1  # back in line, at the end
        a.model.release.set()
        assert c.model.held.wait(T) and c.state == R.RUNNING  # c kept its place before b
        c.model.release.set()
        assert c.join(T)
        b.model.release.set()
        assert b.join(T) and b.state == R.FINISHED and len(b.model.train_calls) == 1
    finally:
        finish(a, b, c)


def test_a_paused_run_gives_its_slot_back_and_resume_may_queue():
    slots = TrainingSlots(1)
    a = held_run(slots, "a", hold_at=1, n=96)  # 3 batches: the pause lands after batch 1
    b = held_run(slots, "b")
    try:
        a.start(1)
        assert a.model.held.wait(T)
        b.start(1)
        assert b.state == R.QUEUED
        assert a.pause()
        a.model.release.set()  # batch 1 ends, a parks and releases its slot
        assert b.model.held.wait(T)  # ...which b gets
        assert b.state == R.RUNNING and a.state == R.PAUSED
        assert a.resume()
        assert a.state == R.QUEUED and a.progress().queued_ahead == 0
        b.model.release.set()
        assert b.join(T)
        assert a.join(T)
        p = a.progress()
        assert p.state == R.FINISHED and p.step == 3  # resumed exactly where it paused
        assert slots.status().running == 0
    finally:
        finish(a, b)


def test_stop_of_a_paused_run_waiting_for_a_slot_ends_it():
    slots = TrainingSlots(1)
    a = held_run(slots, "a", n=96)
    b = held_run(slots, "b")
    try:
        a.start(1)
        assert a.model.held.wait(T)
        b.start(1)
        a.pause()
        a.model.release.set()
        assert b.model.held.wait(T)
        a.resume()
        assert a.state == R.QUEUED
        assert a.stop()
        assert a.join(T)
        p = a.progress()
        assert p.state == R.STOPPED and p.step == 1  # the batch before the pause is kept
        assert slots.status().queued == 0
    finally:
        finish(a, b)


def test_one_training_per_owner_is_refused_before_anything_changes():
    slots = TrainingSlots(2)
    a, a2 = held_run(slots, "session-1"), held_run(slots, "session-1")
    try:
        a.start(1)
        with pytest.raises(SlotBusyError, match="already has a training"):
            a2.start(1)
        assert a2.state == R.IDLE and a2.model.train_calls == []
    finally:
        finish(a, a2)


@pytest.mark.parametrize("how", ["finished", "stopped", "error"])
def test_the_slot_is_released_however_the_run_ends(how):
    slots = TrainingSlots(1)
    m = FakeModel(hold_at=1, fail_at=(1, 1) if how == "error" else None)
    x, y = data(64)
    run = R.TrainingRun(m, x, y, batch_size=32, slots=slots, owner="s")
    run.start(1)
    ticket = slots.ticket_of("s")
    if how == "stopped":
        assert m.held.wait(T)
        run.stop()
    m.release.set()
    assert run.join(T)
    assert run.state == {"finished": R.FINISHED, "stopped": R.STOPPED, "error": R.ERROR}[how]
    assert ticket.state == RELEASED and slots.status().running == 0 and slots.ticket_of("s") is None


def test_a_stop_reason_replaces_the_users_stop_message():
    slots = TrainingSlots(1)
    run = held_run(slots, "s")
    run.start(1)
    assert run.model.held.wait(T)
    run.stop(reason="Stopped because the tab was closed; everything learned so far is kept.")
    run.model.release.set()
    assert run.join(T)
    assert run.progress().message == "Stopped because the tab was closed; everything learned so far is kept."


def test_the_blas_policy_follows_the_running_count():
    seen: list[int] = []
    slots = TrainingSlots(2, on_change=seen.append)
    a, b, c = held_run(slots, "a"), held_run(slots, "b"), held_run(slots, "c")
    try:
        a.start(1)
        b.start(1)
        c.start(1)  # queued: the running count does not change
        assert seen == [1, 2]
        assert a.model.held.wait(T) and b.model.held.wait(T)
        a.model.release.set()
        assert a.join(T)
        assert c.model.held.wait(T)  # a's end hands its slot to c: still two running
        assert seen == [1, 2, 2]
        b.model.release.set()
        c.model.release.set()
        assert b.join(T) and c.join(T)
        assert seen[-1] == 0 and max(seen) == 2
    finally:
        finish(a, b, c)


def test_without_slots_a_run_starts_at_once():
    m = FakeModel()
    x, y = data(64)
    run = R.TrainingRun(m, x, y, batch_size=32)
    run.start(1)
    assert run.join(T) and run.state == R.FINISHED
    assert run.progress().queued_ahead is None


def test_cancelled_ticket_of_a_run_stopped_in_the_queue():
    slots = TrainingSlots(1)
    a, b = held_run(slots, "a"), held_run(slots, "b")
    try:
        a.start(1)
        b.start(1)
        ticket = slots.ticket_of("b")
        b.stop()
        assert b.join(T)
        assert ticket.state == CANCELLED
    finally:
        finish(a, b)

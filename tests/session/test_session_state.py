"""The Session's state as param parameters: what watchers see, derived values, the worker's gate."""
import threading
import time

import numpy as np
import pytest

from hill_viz.core.edits import Edit, Selector
from hill_viz.session import PendingEdit, Session
from hill_viz.session.worker import Segment, TrainingWorker


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=1500)
    s.build_model(latent_dim=4, hidden=16)
    return s


def watch_all(session, names):
    seen = []
    session.param.watch(lambda *events: seen.append([e.name for e in events]), list(names))
    return seen


def test_each_action_changes_the_parameters_it_concerns(session):
    seen = watch_all(session, ["frame", "selection", "selector", "pending", "head", "status", "history"])
    head = session.head
    assert head == session.workspace.store.head is not None

    ids = session.select(Selector.of_label(1))
    assert seen == [["selector"], ["selection"], ["head"]]  # drawn selector first, then the ids, then the record
    assert session.selector == Selector.of_label(1) and session.selection is ids and session.head > head

    seen.clear()
    pending = session.add_edit(Edit.pin(Selector.of_label(1)))
    assert seen == [["head"], ["pending"]] and session.pending == [pending]
    assert isinstance(pending, PendingEdit) and np.array_equal(pending.resolved.ids, ids)

    seen.clear()
    session.train(1, wait=True)
    flat = [name for batch in seen for name in batch]
    assert flat[0] == "status" and flat[-1] == "status" and session.status == "ready"
    assert "history" in flat and "frame" in flat and flat.count("head") >= 2  # checkpoint, training segment
    assert session.head == session.workspace.store.head


def test_selected_rows_are_derived_from_the_frame_and_the_selection(session):
    assert len(session.selected_rows()) == 0
    ids = session.select(Selector.of_label(2))
    rows = session.selected_rows()
    np.testing.assert_array_equal(rows, np.flatnonzero(session.frame.column("label") == 2))
    np.testing.assert_array_equal(session.frame.column("id")[rows], ids)
    assert session.selected_rows() is rows  # computed once per frame and selection
    session.train(1, wait=True)  # a new frame: the same ids, looked up in it
    np.testing.assert_array_equal(session.frame.column("id")[session.selected_rows()], ids)
    assert {d.name for d in session.param.method_dependencies("selected_rows")} == {"frame", "selection"}
    session.select(None)
    assert len(session.selected_rows()) == 0 and session.selector is None


def test_head_follows_events_recorded_on_the_worker_thread_and_reverts(session):
    heads = []
    session.param.watch(lambda event: heads.append((event.new, threading.current_thread().name)), "head")
    session.train(2)
    session.wait(60)
    assert session.head == session.workspace.store.head
    assert {name for _, name in heads} == {"hill-trainer"}  # checkpoints and the segment, recorded there
    first = next(e for e in session.workspace.store.events() if e.kind == "checkpoint")
    event = session.revert(first.id)
    assert session.head == event.id and session.workspace.store.get(event.id).parent_id == first.id


def test_cancel_releases_a_paused_run(session):
    session.train(500)
    session.pause()
    deadline = time.time() + 30
    while session.status != "paused" and time.time() < deadline:
        time.sleep(0.02)
    assert session.status == "paused"
    session.cancel()  # no unpause: the gate opens for the cancel
    session.wait(60)
    assert session.status == "ready" and session.trainer.epoch < 500
    segment = [e for e in session.workspace.store.events() if e.kind == "training_segment"][-1]
    assert segment.params["cancelled"] is True


def test_a_cancel_before_the_loop_starts_is_not_lost(session):
    """`Trainer.fit` clears should_stop when it starts: the worker remembers the cancel."""
    worker, release, finished = TrainingWorker(session), threading.Event(), []
    segment = Segment(session.trainer, session.dataset, 3, [], finish=finished.append, before=release.wait)
    worker.start(segment, wait=False)
    worker.cancel()  # while `before` still holds the worker, before the loop began
    release.set()
    worker.wait(60)
    assert finished == [0] and session.trainer.epoch == 0 and session.status == "ready"


def test_pause_and_unpause_need_a_running_training(session):
    from hill_viz.errors import StateError

    with pytest.raises(StateError, match="nothing is training"):
        session.pause()
    with pytest.raises(StateError, match="not paused"):
        session.unpause()
    session.cancel()  # nothing to cancel: a no-op
    assert session.status == "ready"

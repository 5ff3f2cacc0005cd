"""Session publishing for the UI: live records, worker errors, one worker at a time, selectors."""
import threading
import time

import numpy as np
import pytest

from hill_viz.core.edits import Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.errors import EditError, StateError


def test_live_records_arrive_in_order_and_drain_once(session):
    session.train(2)
    session.wait(60)
    records = session.drain_live()
    kinds = [r["kind"] for r in records]
    assert kinds.count("epoch") == 2
    assert kinds[-1] == "epoch"
    batch_epochs = [r["epoch"] for r in records if r["kind"] == "batch"]
    assert batch_epochs == sorted(batch_epochs) and 0 < batch_epochs[0] <= 1 and batch_epochs[-1] == 2.0
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    assert session.drain_live() == []


def test_worker_failure_is_reported_and_session_stays_usable(session):
    features = session.dataset.features
    session.dataset.features = features[:, :3]  # the model expects more features: the worker fails
    session.train(1)
    session.wait(60)
    assert session.status == "ready"
    assert "internal error" in session.last_error
    assert [r for r in session.drain_live() if r["kind"] == "error"]
    session.dataset.features = features
    session.train(1, wait=True)
    assert session.trainer.epoch == 1


def test_only_one_worker_starts_when_two_threads_ask(session):
    started, errors = [], []
    barrier = threading.Barrier(2)

    def ask():
        barrier.wait()
        try:
            session.train(3)
            started.append(1)
        except StateError as exc:
            errors.append(str(exc))
    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.wait(60)
    assert len(started) == 1 and len(errors) == 1 and "training is running" in errors[0]
    assert session.trainer.epoch == 3


def test_pause_resume_cancel_between_steps(session):
    session.train(200)
    deadline = time.time() + 30
    session.pause()
    while session.status != "paused" and time.time() < deadline:
        time.sleep(0.02)
    assert session.status == "paused"
    epoch = session.trainer.epoch
    time.sleep(0.3)
    assert session.trainer.epoch == epoch  # nothing moves while paused
    session.unpause()
    session.cancel()
    session.wait(60)
    assert session.status == "ready" and session.trainer.epoch < 200


def test_selection_selector_is_the_drawn_one_until_the_cloud_moves(session):
    with pytest.raises(EditError, match="selection is empty"):
        session.selection_selector()
    x, y = session.frame.column("x"), session.frame.column("y")
    box = Selector.of_box(float(np.min(x)), float(np.min(y)), float(np.median(x)), float(np.median(y)))
    ids = session.select(box)
    assert session.selection_selector() == box
    session.train(1, wait=True)  # the frame is rebuilt: the box would now cover other points
    moved = session.selection_selector()
    assert moved.kind == "ids" and np.array_equal(np.array(moved.ids), ids)


def test_live_frame_rebuilds_are_paced_and_never_doubled(session):
    frames = []
    session.param.watch(lambda event: frames.append(event.new), "frame")
    session.live_frame_interval, session.live_frame_duty = 0.0, 0.0  # every epoch shows
    # ...and the end of the segment adds no second rebuild
    session.train(3, wait=True)
    assert len(frames) == 3 and len({id(f) for f in frames}) == 3
    for interval, duty in [(1e6, 0.0), (0.0, 1e6)]:  # paced by time, then by the rebuilds' cost
        session.live_frame_interval, session.live_frame_duty = interval, duty
        frames.clear()
        session.train(3, wait=True)
        assert frames == [session.frame]  # one rebuild: the model as it ends up
    rebuilt = LatentFrame.build(session.model, session.projection, session.dataset)
    assert np.array_equal(rebuilt.column("x"), session.frame.column("x"))


def test_a_server_trains_in_nicer_threads_than_its_event_loop(session):
    import os

    from hill_viz.session.worker import set_training_niceness

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    set_training_niceness(5)
    try:
        session.train(10_000)
        deadline = time.time() + 60
        while session.status != "training" and time.time() < deadline:
            time.sleep(0.05)
        worker = session._worker._thread
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == min(19, mine + 5)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # this thread as it was
    finally:
        set_training_niceness(0)
        session.cancel()
        session.wait(60)

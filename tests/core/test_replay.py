"""The log alone rebuilds the model: replay is exact, reopen and revert restore, a crash loses nothing."""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.provenance import Workspace
from hill_viz.core.replay import replay, state_at
from hill_viz.core.review import timeline_table
from hill_viz.core.teacher import TeacherConfig
from hill_viz.core.training import load_checkpoint_file
from hill_viz.errors import ConfigError, StateError, WorkspaceError, WorkspaceLockedError
from hill_viz.session import Session

DATA = dict(name="digits-shortcut", n=3000, seed=0)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """10 edits (every op and selector kind, one updated, one removed) over 3 training segments."""
    s = Session(tmp_path_factory.mktemp("recorded") / "ws")
    s.load_dataset(**DATA)
    s.build_model(seed=3)
    s.train(2, wait=True)                                                          # segment 1
    cue = lambda v: Selector.of_attribute("cue", str(v))  # noqa: E731
    s.add_edit(Edit.translate(Selector.of_label(3), 1.0, -0.5))                    # 1
    s.add_edit(Edit.contract(cue(1), 0.5))                                         # 2
    s.add_edit(Edit.separate(Selector.of_label(1), Selector.of_label(7), margin=0.5))  # 3
    s.add_edit(Edit.merge(Selector.all_of(Selector.of_label(2), cue(5)),
                          Selector.all_of(Selector.of_label(2), cue(2))))           # 4
    s.add_edit(Edit.pin(Selector.of_label(0)))                                     # 5
    s.update_edit(2, Edit.contract(cue(1), 0.7))
    s.remove_edit(5)
    s.apply_edits(2, wait=True)                                                    # segment 2
    x, y = s.frame.column("x"), s.frame.column("y")
    cx, cy = float(np.median(x)), float(np.median(y))
    s.add_edit(Edit.translate(Selector.of_box(cx - 1, cy - 1, cx + 1, cy + 1), 0.3, 0.3))   # 6
    s.add_edit(Edit.contract(Selector.of_lasso([(cx - 2, cy - 2), (cx + 2, cy - 2), (cx, cy + 2)]), 0.8))  # 7
    s.add_edit(Edit.translate(Selector.of_ids(np.arange(0, 3000, 7)), -0.2, 0.1))  # 8
    s.add_edit(Edit.translate(Selector.of_label(8), 0.5, 0.5))                     # 9
    s.add_edit(Edit.contract(Selector.of_label(9), 0.6))                           # 10
    s.apply_edits(2, TeacherConfig(lambda_=0.5, mode="full", mu=0.1, relational=0.5), wait=True)  # segment 3
    s.workspace.close()
    return s.workspace.path


@pytest.fixture
def copy(recorded, tmp_path):
    shutil.copytree(recorded, tmp_path / "ws")
    return tmp_path / "ws"


def segments(ws: Workspace):
    return [e for e in ws.store.path_to() if e.kind == "training_segment"]


def test_replay_of_10_edits_and_3_segments_is_exact(recorded, tmp_path):
    source = Workspace(recorded, read_only=True)
    kinds = [e.kind for e in source.store.path_to()]
    assert kinds.count("edit_added") == 10 and kinds.count("training_segment") == 3
    report = replay(source, Session(tmp_path / "replay", live_frame=False, auto_bias=False))
    assert report.exact, [s.differences for s in report.segments]
    assert [s.event_id for s in report.segments] == [e.id for e in segments(source)]
    final = segments(source)[-1].metrics
    for key in ("train_acc", "val_acc", "test_acc", "per_class_acc", "group_acc", "worst_group_acc"):
        assert report.final.replayed[key] == final[key]
    assert report.teachers and all(eq for _, eq in report.teachers) and len(report.teachers) == 2
    assert report.weights_equal is True and report.final_epoch == 6
    assert Workspace(tmp_path / "replay", read_only=True).verify().ok


def test_reopening_restores_the_state_at_the_head(copy):
    s = Session.open(copy)
    final = segments(s.workspace)[-1]
    assert s.status == "ready" and s.trainer.epoch == 6 and len(s.teachers) == 2 and s.pending == []
    assert s.metrics()["test_acc"] == final.metrics["test_acc"]
    assert s.metrics()["per_class_acc"] == final.metrics["per_class_acc"]
    assert [h["epoch"] for h in s.history] == [1, 2, 3, 4, 5, 6]
    recorded_proj = [e for e in s.workspace.store.path_to() if e.kind == "projection_fitted"][-1]
    assert s.projection.to_dict() == recorded_proj.params["projection"]
    assert s.frame is not None and len(s.frame) == 3000
    assert s.teacher_config.mode == "full" and s.teacher_config.mu == 0.1


def test_revert_restores_that_moment_and_the_next_action_branches(copy, tmp_path):
    s = Session.open(copy, auto_bias=False)
    store = s.workspace.store
    old_tip = store.head
    seg2, seg3 = segments(s.workspace)[1:]
    target = next(e for e in store.path_to() if e.kind == "edit_added" and e.params["edit_id"] == 7)
    rev = s.revert(target.id)
    assert rev.kind == "revert" and rev.parent_id == target.id and store.head == rev.id
    assert rev.params == {"to": target.id, "from": old_tip, "to_kind": "edit_added"}
    assert [p.edit_id for p in s.pending] == [6, 7] and len(s.teachers) == 1 and s.trainer.epoch == 4
    assert s.metrics()["val_acc"] == seg2.metrics["val_acc"]  # the checkpoint, bit for bit

    added = s.add_edit(Edit.translate(Selector.of_label(4), 0.4, 0.0))
    assert added.edit_id == 11  # ids stay unique across branches
    new = store.get(store.head)
    assert new.parent_id == rev.id
    s.apply_edits(1, wait=True)
    t = timeline_table(store)
    assert t.set_index("id").loc[old_tip, "lane"] == 1 and not t.set_index("id").loc[old_tip, "on_head"]
    assert (t[t["on_head"]]["lane"] == 0).all()
    assert store.get(seg3.id).metrics == seg3.metrics  # nothing was deleted

    report = replay(s.workspace, Session(tmp_path / "replay", live_frame=False, auto_bias=False))
    assert report.exact and report.final_epoch == 5

    s.revert(seg3.id)  # back onto the abandoned branch's tip
    assert s.trainer.epoch == 6 and len(s.teachers) == 2 and s.pending == []
    assert s.metrics()["test_acc"] == seg3.metrics["test_acc"]
    assert s.workspace.verify().ok


def test_annotations_and_user_mistakes(copy):
    s = Session.open(copy)
    target = s.workspace.store.events()[3]
    note = s.annotate(target.id, "  the view looked odd here  ")
    assert note.kind == "annotation" and note.params["text"] == "the view looked odd here"
    assert note.params["event_id"] == target.id
    with pytest.raises(ConfigError, match="needs some text"):
        s.annotate(target.id, "   ")
    with pytest.raises(WorkspaceError, match="no event 9999"):
        s.annotate(9999, "hello")
    with pytest.raises(WorkspaceError, match="no event 9999"):
        s.revert(9999)
    with pytest.raises(StateError, match="no interrupted training"):
        s.resume_training()
    with pytest.raises(WorkspaceError, match="not a hill-viz workspace"):
        Session.open(copy / "checkpoints")


CHILD = textwrap.dedent("""
    import sys, time
    from hill_viz.core.edits import Edit, Selector
    from hill_viz.core.training import Callback
    from hill_viz.session import Session

    class Crashable(Callback):
        '''Reports each committed checkpoint; stalls in the middle of the 3rd epoch of the segment.'''
        def on_epoch_end(self, trainer, epoch, metrics):
            print("committed", s.workspace.store.head, epoch, flush=True)
        def on_batch_end(self, trainer, step, total_steps, loss):
            if trainer.epoch >= 3 and step % steps_per_epoch:
                print("mid-epoch", trainer.epoch + 1, flush=True)
                time.sleep(120)

    s = Session(sys.argv[1])
    s.load_dataset("digits-shortcut", n=3000, seed=0)
    s.build_model(seed=0, arch="mlp")
    s.train(1, wait=True)
    steps_per_epoch = -(-len(s.dataset.indices("train")) // s.trainer.config.batch_size)
    s.add_edit(Edit.translate(Selector.of_label(3), 1.0, -0.5))
    s.extra_callbacks = [Crashable()]
    s.apply_edits(6, wait=True)
""")


def second_writer(ws: Path) -> subprocess.CompletedProcess:
    """Another process trying to write to `ws` through the command line."""
    return subprocess.run([sys.executable, "-m", "hill_viz.cli", "train", "--dataset", "blobs", "--epochs", "1",
                           "--workspace", str(ws)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def test_a_sigkill_mid_epoch_loses_nothing_and_training_resumes_exactly(tmp_path):
    ws = tmp_path / "ws"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ws)], stdout=subprocess.PIPE, text=True)
    committed = []
    try:
        for line in child.stdout:
            word, *rest = line.split()
            if word == "committed":
                committed.append((int(rest[0]), int(rest[1])))
            elif word == "mid-epoch":
                with pytest.raises(WorkspaceLockedError, match=f"pid {child.pid}"):
                    Workspace(ws)  # while it trains, nobody else writes
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert [epoch for _, epoch in committed] == [2, 3]  # the edit's segment: epochs 2 and 3 done

    s = Session.open(ws)  # the crash released the lock; it left no training_segment for the edit's segment
    store = s.workspace.store
    n_events = store.count()
    other = second_writer(ws)  # a second process trying to write during recovery
    assert other.returncode == 2 and f"already open for writing by" in other.stderr
    assert f"(pid {os.getpid()})" in other.stderr and "Traceback" not in other.stderr
    assert store.count() == n_events
    assert s.workspace.verify().ok
    for event_id, epoch in committed:
        ev = store.get(event_id)
        assert ev.kind == "checkpoint" and ev.params["epoch"] == epoch
    last = store.get(committed[-1][0])
    assert store.head == last.id
    assert s.trainer.epoch == 3 and len(s.teachers) == 1
    state = load_checkpoint_file(s.workspace.resolve(last.artifact("checkpoint")["path"]))
    assert all(state["model"][k].equal(v) for k, v in s.model.state_dict().items())
    assert s.interrupted == {"start_epoch": 1, "epochs": 6, "done": 2}
    assert state_at(s.workspace).interrupted == s.interrupted

    assert s.resume_training(wait=True) == 4
    seg = store.get(store.head)
    assert seg.kind == "training_segment" and seg.metrics["epoch"] == 7 and s.trainer.epoch == 7
    assert s.workspace.verify().ok
    s.workspace.close()

    # an unbroken run of the same log, in another process, lands on the same numbers
    out = subprocess.run([str(Path(sys.executable).parent / "hill-viz"), "replay", "--workspace", str(ws),
                          "--out", str(tmp_path / "replay"), "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

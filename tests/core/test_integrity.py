"""Nothing lost, nothing forged: one writer, a sealed log, receipts, artifacts checked on load.

Each claim of docs/provenance.md's threat model is tried here on a real recorded workspace,
by someone who edits the SQLite file and the folder behind hill-viz's back.
"""
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest
import torch

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.provenance import (DB_NAME, KEY_ENV, Workspace, event_hash, key_dir, read_snapshot,
                                      receipt_path)
from hill_viz.core.review import timeline_table
from hill_viz.core.training import Callback, Trainer
from hill_viz.errors import IntegrityError, StorageError, TrainingError, WorkspaceLockedError
from hill_viz.session import Session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """digits, 2 epochs, one edit applied for 1 epoch: 14 or so events, checkpoints, a teacher, snapshots."""
    s = Session(tmp_path_factory.mktemp("recorded") / "ws", auto_bias=False)
    s.load_dataset("digits")
    s.build_model(seed=0, arch="mlp", hidden=32)
    s.train(2, wait=True)
    s.add_edit(Edit.contract(Selector.of_label(5), 0.5))
    s.apply_edits(1, wait=True)
    s.workspace.close()
    return s.workspace.path


@pytest.fixture
def ws_path(recorded, tmp_path):
    """A copy of the recorded workspace, sealed and with this folder's receipt, as its writer leaves it."""
    path = shutil.copytree(recorded, tmp_path / "ws")
    with Workspace(path, create=False) as w:  # takes it over: its receipt now exists for this folder
        w.store.append("annotation", {"event_id": w.store.head, "text": "copied for a test"})
    return path


def sql(path, *statements):
    db = sqlite3.connect(path / DB_NAME)
    out = [db.execute(s, a).fetchall() for s, *a in statements]
    db.commit()
    db.close()
    return out


def reader(path) -> Workspace:
    return Workspace(path, read_only=True)


def messages(report) -> str:
    return "\n".join(str(p) for p in report.problems)


def cut_tail(path, keep_seq: int) -> int:
    """Delete every event after `keep_seq` and move the head back onto the last kept one."""
    (head,), = sql(path, ("SELECT id FROM events WHERE seq=?", keep_seq))[0]
    sql(path, ("DELETE FROM events WHERE seq > ?", keep_seq), ("UPDATE meta SET value=? WHERE key='head'", str(head)))
    return head


def forge_chain(path, event_id: int, change) -> None:
    """Rewrite one event's params and recompute every hash after it: a chain that checks out."""
    rows = sql(path, ("SELECT * FROM events ORDER BY seq",))[0]
    hashes, updates = {}, []
    for id_, parent, seq, ts, actor, kind, params, metrics, artifacts, _ in rows:
        params = json.loads(params)
        if id_ == event_id:
            params = change(params)
        digest = event_hash(hashes.get(parent, ""), seq, ts, actor, kind, params, json.loads(metrics),
                            json.loads(artifacts))
        hashes[id_] = digest
        updates.append(("UPDATE events SET params=?, hash=? WHERE id=?", json.dumps(params), digest, id_))
    sql(path, *updates)


# -- one writer ---------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from hill_viz.core.provenance import Workspace
    w = Workspace(sys.argv[1])
    print("holding", flush=True)
    time.sleep(120)
""")


def test_a_second_writer_is_refused_with_the_holder_named_and_a_crash_releases_the_lock(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "ws")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "holding"
        with pytest.raises(WorkspaceLockedError, match=rf"open for writing by \S+ on \S+ \(pid {child.pid}\) since "
                                                       r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; close it there") as caught:
            Workspace(tmp_path / "ws")
        assert caught.value.holder["pid"] == child.pid
        assert reader(tmp_path / "ws").store.count() == 0  # readers never need the lock
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    with Workspace(tmp_path / "ws") as w:  # the kernel let go of the dead holder's lock
        assert w.lock.held and json.loads((tmp_path / "ws" / "hill.lock").read_text())["pid"] == os.getpid()
    assert not w.lock.held


def test_a_read_only_workspace_refuses_every_write(ws_path):
    w = reader(ws_path)
    with pytest.raises(Exception, match="open read-only"):
        w.store.append("annotation", {"text": "x"})
    with pytest.raises(Exception, match="open read-only"):
        w.reserve("checkpoints/x.pt")


def test_the_key_is_created_once_readable_only_by_its_owner(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "keys"))
    Workspace(tmp_path / "ws").close()
    key = key_dir() / "head.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key_dir().stat().st_mode) == 0o700
    before = key.read_text()
    Workspace(tmp_path / "ws2").close()
    assert key.read_text() == before
    key.chmod(0o644)
    with pytest.raises(Exception, match="can be read by others"):
        Workspace(tmp_path / "ws3")


# -- the sealed tail: each claim of the threat model ----------------------------------------------

def test_an_untouched_workspace_verifies_with_its_seal_and_receipt(ws_path):
    report = reader(ws_path).verify()
    assert report.ok and report.seal == "ok" and report.receipt["path"] == str(receipt_path(ws_path))


def test_truncation_is_detected_by_the_seal_the_receipt_and_the_orphans(ws_path):
    seq = reader(ws_path).store.events(("edits_applied",))[0].seq - 1
    cut_tail(ws_path, seq)
    report = reader(ws_path).verify()
    assert not report.ok and report.seal == "broken"
    text = messages(report)
    assert "the tail was cut" in text                                 # the seal
    assert "the receipt vouches for" in text                          # the receipt
    assert "teacher-0001.npz is not referenced by any event" in text  # the orphaned teacher
    assert "checkpoints/epoch-00003.pt is not referenced" in text
    assert all(p.event_id is None for p in report.problems)  # the hash chain alone sees nothing wrong


def test_a_head_moved_back_is_detected_by_the_seal_only(ws_path, tmp_path, monkeypatch):
    kept = reader(ws_path).receipt()
    first = reader(ws_path).store.events()[2].id
    sql(ws_path, ("UPDATE meta SET value=? WHERE key='head'", str(first)))
    report = reader(ws_path).verify()
    assert report.seal == "broken" and f"the head is event {first} but was sealed at event" in messages(report)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "elsewhere"))
    assert reader(ws_path).verify(receipt=kept).ok  # documented: receipts vouch for events, not the head


def test_events_added_behind_the_writers_back_are_detected_by_the_seal(ws_path, tmp_path, monkeypatch):
    kept = reader(ws_path).receipt()
    last = reader(ws_path).store.events()[-1]
    ts, params = "2030-01-01T00:00:00.000000+00:00", {"event_id": last.id, "text": "all fine"}
    digest = event_hash(last.hash, last.seq + 1, ts, "mallory", "annotation", params, {}, [])
    sql(ws_path, ("INSERT INTO events(parent_id, seq, ts, actor, kind, params, metrics, artifacts, hash) "
                  "VALUES (?, ?, ?, 'mallory', 'annotation', ?, '{}', '[]', ?)",
                  last.id, last.seq + 1, ts, json.dumps(params), digest))
    report = reader(ws_path).verify()
    assert "events were added without the key" in messages(report)
    assert all(p.event_id is None for p in report.problems)  # a consistent chain
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "elsewhere"))
    assert reader(ws_path).verify().ok and reader(ws_path).verify(receipt=kept).ok  # not without the key


def test_a_forged_chain_is_detected_with_the_key_or_a_receipt_and_not_without(ws_path, tmp_path, monkeypatch):
    edit = next(e for e in reader(ws_path).store.events() if e.kind == "edit_added")
    kept = reader(ws_path).receipt()  # a receipt the owner kept elsewhere
    forge_chain(ws_path, edit.id, lambda p: {**p, "description": "contract label 6 by x0.5"})
    with_key = reader(ws_path).verify()
    assert with_key.seal == "broken" and "is not the one sealed: it was rewritten" in messages(with_key)
    assert all(p.event_id is None for p in with_key.problems)  # the chain itself checks out

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "elsewhere"))  # a reviewer without the key (nor its receipts)
    without = reader(ws_path).verify()
    assert without.ok and without.seal == "unchecked"  # documented: without key or receipt, not detected
    assert any("not checked" in n for n in without.notes)
    with_receipt = reader(ws_path).verify(receipt=kept)
    assert not with_receipt.ok and "differs from the receipt: events were rewritten" in messages(with_receipt)


def test_a_deleted_middle_event_is_detected(ws_path):
    victim = reader(ws_path).store.events()[3]
    sql(ws_path, ("DELETE FROM events WHERE id=?", victim.id))
    report = reader(ws_path).verify()
    text = messages(report)
    assert f"seq {victim.seq}..{victim.seq} are missing" in text and "events were removed" in text


def test_a_removed_or_forged_seal_is_detected(ws_path, tmp_path, monkeypatch):
    (seal,), = sql(ws_path, ("SELECT value FROM meta WHERE key='seal'",))[0]
    forged = {**json.loads(seal), "last_seq": 3}
    sql(ws_path, ("UPDATE meta SET value=? WHERE key='seal'", json.dumps(forged)))
    assert "does not match its signature" in messages(reader(ws_path).verify())
    with monkeypatch.context() as m:
        m.setenv(KEY_ENV, str(tmp_path / "elsewhere"))
        without = reader(ws_path).verify()
        assert without.ok and without.seal == "unchecked" and any("not checked" in n for n in without.notes)
    sql(ws_path, ("DELETE FROM meta WHERE key='seal'",))
    assert "seal is missing" in messages(reader(ws_path).verify())
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "elsewhere"))
    assert "seal is missing" in messages(reader(ws_path).verify())  # no key needed to see it is gone


def test_a_log_made_to_look_older_than_sealing_is_caught_by_the_folders_receipt(ws_path):
    sql(ws_path, ("DELETE FROM meta WHERE key IN ('seal', 'workspace_id')",), ("PRAGMA user_version=2",))
    report = reader(ws_path).verify()
    assert "a sealed workspace was recorded in this folder" in messages(report)
    receipt_path(ws_path).unlink()  # without that receipt: only a note
    report = reader(ws_path).verify()
    assert report.ok and any("predates sealing" in n for n in report.notes)


def test_a_log_rolled_back_to_an_earlier_copy_is_caught_by_the_receipt_only(ws_path, tmp_path):
    shutil.copy(ws_path / DB_NAME, tmp_path / "old.sqlite")  # an earlier copy, sealed as it was
    with Workspace(ws_path, create=False) as w:
        w.store.append("annotation", {"event_id": w.store.head, "text": "later work"})
    shutil.copy(tmp_path / "old.sqlite", ws_path / DB_NAME)
    report = reader(ws_path).verify()
    assert report.seal == "ok"  # the old seal is genuine
    assert not report.ok and "the log was rolled back" in messages(report)


def test_a_writer_refuses_a_changed_log_until_the_change_is_accepted(ws_path):
    cut_tail(ws_path, 5)
    with pytest.raises(IntegrityError, match="changed outside hill-viz since it was last written .*the tail was cut"):
        Session.open(ws_path)
    with Workspace(ws_path, create=False, accept_changes=True) as w:
        note = w.store.get(w.store.head)
        assert note.kind == "annotation" and "accepted changes made outside hill-viz" in note.params["text"]
    report = reader(ws_path).verify(artifacts=False)
    assert report.ok and report.seal == "ok"  # sealed anew, the acceptance on record


def test_orphan_files_are_reported(ws_path):
    (ws_path / "checkpoints" / "stray.pt").write_bytes(b"x")
    (ws_path / "snapshots" / "half.parquet.tmp").write_bytes(b"x")
    text = messages(reader(ws_path).verify())
    assert "checkpoints/stray.pt is not referenced by any event" in text
    assert "snapshots/half.parquet.tmp is not referenced by any event (an unfinished write)" in text


# -- artifacts are checked before they are loaded ---------------------------------------------------

def test_a_tampered_checkpoint_is_refused_on_open_naming_its_event(ws_path):
    ckpt = [e for e in reader(ws_path).store.events(("checkpoint",))][-1]
    path = ws_path / ckpt.artifact("checkpoint")["path"]
    state = torch.load(path, weights_only=True)
    first = next(iter(state["model"]))
    state["model"][first].zero_()
    torch.save(state, path)
    with pytest.raises(IntegrityError, match=rf"event {ckpt.id} \(checkpoint\): artifact .* does not match its "
                                             "recorded SHA-256"):
        Session.open(ws_path)


def test_a_tampered_teacher_and_snapshot_are_refused(ws_path):
    w = reader(ws_path)
    applied = w.store.events(("edits_applied",))[0]
    teacher = ws_path / applied.artifact("teacher")["path"]
    data = bytearray(teacher.read_bytes())
    data[len(data) // 2] ^= 0xFF
    teacher.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=rf"event {applied.id} \(edits_applied\)"):
        Session.open(ws_path)
    segment = w.store.events(("training_segment",))[0]
    rel = segment.artifact("snapshot")["path"]
    assert len(read_snapshot(w, rel)) == 1797
    (ws_path / rel).write_bytes((ws_path / rel).read_bytes() + b"x")
    with pytest.raises(IntegrityError, match=rf"event {segment.id} \(training_segment\)"):
        read_snapshot(w, rel)


# -- robust readers -------------------------------------------------------------------------------

def test_a_malformed_row_is_named_and_the_readers_go_on(ws_path):
    w = reader(ws_path)
    bad, other = w.store.events(("edit_added",))[0], w.store.events(("checkpoint",))[0]
    (ws_path / other.artifact("checkpoint")["path"]).unlink()
    sql(ws_path, ("UPDATE events SET params='{not json' WHERE id=?", bad.id))
    report = reader(ws_path).verify()
    assert any(p.event_id == bad.id and "params is not valid JSON" in p.message for p in report.problems)
    assert any(p.event_id == other.id and "missing" in p.message for p in report.problems)  # and it went on
    table = timeline_table(reader(ws_path).store)
    assert len(table) == w.store.count() and table.set_index("id").loc[bad.id, "summary"].startswith("MALFORMED")
    exported = reader(ws_path).export_history()["events"]
    assert [e for e in exported if e["id"] == bad.id][0]["malformed"].startswith("its params is not valid JSON")


# -- values that cannot poison the model ---------------------------------------------------------------

class Poison(Callback):
    """Turns one weight into NaN in the middle of the given epoch (as an overflow would)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_batch_end(self, trainer, step, total_steps, loss):
        if trainer.epoch + 1 == self.epoch:
            with torch.no_grad():
                next(trainer.model.parameters()).view(-1)[0] = float("nan")


def test_a_nan_loss_stops_training_with_the_model_as_the_last_checkpoint_left_it(tmp_path):
    s = Session(tmp_path / "ws", auto_bias=False, live_frame=False)
    s.load_dataset("digits")
    s.build_model(seed=0, arch="mlp", hidden=32)
    s.train(1, wait=True)
    s.extra_callbacks = [Poison(epoch=2)]
    with pytest.raises(TrainingError, match="training stopped in epoch 2: .* NaN .*; the model is back "
                                            "where epoch 1 left it"):
        s.train(3, wait=True)
    assert s.trainer.epoch == 1 and s.trainer.weights_finite()
    checkpoints = s.workspace.store.events(("checkpoint",))
    assert [e.params["epoch"] for e in checkpoints] == [1]  # no checkpoint after the NaN
    saved = torch.load(s.workspace.resolve(checkpoints[0].artifact("checkpoint")["path"]), weights_only=True)
    assert all(saved["model"][k].equal(v) for k, v in s.model.state_dict().items())
    assert "training stopped in epoch 2" in s.last_error
    segment = s.workspace.store.events(("training_segment",))[-1]
    assert segment.params["cancelled"] and segment.params["epochs"] == 0
    assert "training stopped in epoch 2" in segment.params["stopped"]
    assert s.workspace.verify().ok
    s.close()
    assert Session.open(tmp_path / "ws").interrupted is None  # a recorded stop is not a crash to resume


def test_the_trainer_rolls_back_the_epoch_a_nan_loss_appears_in():
    from hill_viz.core.data import load_dataset
    from hill_viz.core.model import ModelSpec, build_model
    from hill_viz.core.training import TrainConfig

    data = load_dataset("blobs", n=400)
    trainer = Trainer(build_model(ModelSpec(data.n_features, data.n_classes, 4, 16, None, "mlp"), 0),
                      TrainConfig(batch_size=50, progress_every=1))
    trainer.fit(data, 1)
    before, steps = {k: v.clone() for k, v in trainer.model.state_dict().items()}, trainer.step
    with pytest.raises(TrainingError, match="training stopped in epoch 2: the loss became nan"):
        trainer.fit(data, 2, callbacks=[Poison(epoch=2)])
    assert trainer.epoch == 1 and trainer.step == steps
    assert all(before[k].equal(v) for k, v in trainer.model.state_dict().items())


def test_no_checkpoint_with_non_finite_weights_is_ever_written(tmp_path):
    from hill_viz.core.model import ModelSpec, build_model

    trainer = Trainer(build_model(ModelSpec(4, 2, 2, 8, None, "mlp"), 0))
    with torch.no_grad():
        next(trainer.model.parameters()).view(-1)[0] = float("inf")
    with pytest.raises(TrainingError, match="weights are NaN or infinite"):
        trainer.save_checkpoint(tmp_path / "c.pt")
    assert list(tmp_path.iterdir()) == []


# -- storage errors ------------------------------------------------------------------------------------

def test_a_failed_sqlite_write_names_the_real_cause_and_keeps_the_log(ws_path):
    w = Workspace(ws_path, create=False)
    head, count = w.store.head, w.store.count()
    (pages,) = w.store._db.execute("PRAGMA page_count").fetchone()
    w.store._db.execute(f"PRAGMA max_page_count={pages}")  # the file may not grow: a real SQLITE_FULL
    with pytest.raises(StorageError, match=r"cannot record a annotation event in .*: database or disk is full "
                                           r"\(SQLITE_FULL\)") as caught:
        w.store.append("annotation", {"event_id": head, "text": "x" * 200_000})
    assert "cannot rollback" not in str(caught.value)
    assert w.store.head == head and w.store.count() == count
    w.store.append("annotation", {"event_id": head, "text": "small"})  # the store goes on working
    w.close()
    assert reader(ws_path).verify().ok


def test_written_files_are_whole_or_absent(tmp_path):
    from hill_viz.core.provenance import atomic_write

    def half(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(StorageError, match=r"cannot write .*x\.bin: No space left on device \(ENOSPC\)"):
        atomic_write(tmp_path / "x.bin", half)
    assert list(tmp_path.iterdir()) == []

"""The event store keeps an honest record: migrations, hash chain, artifacts, exports, snapshots."""
import json
import os
import sqlite3
import threading

import numpy as np
import pytest
import xarray as xr

from hill_viz.core.provenance import (DB_NAME, SCHEMA_VERSION, SNAPSHOT_COLUMNS, Workspace, event_hash,
                                      read_snapshot, snapshot_rows)
from hill_viz.core.review import branch_lanes, moved_by_class, review_dataset, timeline_table
from hill_viz.errors import WorkspaceError, WorkspaceLockedError

# The layout version 1 of hill-viz wrote, frozen here: a file from then must open today.
V1_DDL = """
CREATE TABLE events (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES events(id), seq INTEGER NOT NULL,
    ts TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, params TEXT NOT NULL, metrics TEXT NOT NULL,
    artifacts TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version=1;
"""


@pytest.fixture
def ws(workspace_copy):
    """The shared recorded workspace (tests/conftest.py), a private copy per test."""
    w = Workspace(workspace_copy, create=False)
    yield w
    w.close()


def first_of(w: Workspace, kind: str):
    return next(e for e in w.store.events() if e.kind == kind)


# -- schema ---------------------------------------------------------------------------------------

def test_a_version_1_file_opens_and_verifies_under_the_newest_code(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(V1_DDL)
    parent_hash, parent = "", None
    for seq, kind in enumerate(["dataset_loaded", "model_built", "annotation"], start=1):
        params, ts = {"n": seq}, f"2025-01-0{seq}T00:00:00+00:00"
        digest = event_hash(parent_hash, seq, ts, "alice", kind, params, {}, [])
        cur = db.execute("INSERT INTO events(parent_id, seq, ts, actor, kind, params, metrics, artifacts, hash)"
                         " VALUES (?, ?, ?, 'alice', ?, ?, '{}', '[]', ?)",
                         (parent, seq, ts, kind, json.dumps(params), digest))
        parent, parent_hash = cur.lastrowid, digest
    db.execute("INSERT INTO meta VALUES ('head', ?)", (str(parent),))
    db.commit()
    db.close()

    w = Workspace(tmp_path, create=False)
    assert w.store.schema_version == SCHEMA_VERSION > 1
    assert [e.kind for e in w.store.path_to()] == ["dataset_loaded", "model_built", "annotation"]
    assert w.store.events()[0].actor == "alice"
    assert w.verify().ok
    w.store.append("annotation", {"text": "after the upgrade"})
    assert w.verify().ok
    applied = w.store.query("SELECT version FROM schema_migrations")
    assert [v for (v,) in applied] == list(range(2, SCHEMA_VERSION + 1))
    w.close()
    assert Workspace(tmp_path, create=False).store.schema_version == SCHEMA_VERSION  # idempotent


def test_a_file_from_a_newer_version_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(WorkspaceError, match="newer hill-viz"):
        Workspace(tmp_path, create=False)


def test_not_a_workspace(tmp_path):
    (tmp_path / DB_NAME).write_text("this is not sqlite " * 100)
    with pytest.raises(WorkspaceError, match="not a hill-viz event store"):
        Workspace(tmp_path, create=False)
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace(tmp_path / "missing", create=False)


# -- integrity -------------------------------------------------------------------------------------

def test_a_recorded_session_verifies(ws):
    report = ws.verify()
    assert report.ok and report.first_bad is None
    assert report.n_events == ws.store.count() > 10
    kinds = {e.kind for e in ws.store.events()}
    assert {"dataset_loaded", "model_built", "projection_fitted", "edit_added", "edits_applied",
            "checkpoint", "training_segment"} <= kinds
    assert report.n_artifacts >= 6  # checkpoints, teacher, snapshots


def test_editing_an_events_params_is_caught_and_named(ws):
    edit = first_of(ws, "edit_added")
    raw = sqlite3.connect(ws.path / DB_NAME)
    params = json.loads(raw.execute("SELECT params FROM events WHERE id=?", (edit.id,)).fetchone()[0])
    params["edit"]["params"]["dx"] = 5.0  # the edit now claims a bigger move than was made
    raw.execute("UPDATE events SET params=? WHERE id=?", (json.dumps(params), edit.id))
    raw.commit()
    raw.close()
    report = ws.verify()
    assert not report.ok
    assert report.first_bad.event_id == edit.id and report.first_bad.kind == "edit_added"
    assert f"event {edit.id} (edit_added" in str(report.first_bad)


def test_rewriting_an_events_hash_too_breaks_its_child(ws):
    edit = first_of(ws, "edit_added")
    child = ws.store.children(edit.id)[0]
    forged = {**edit.params, "description": "something else"}
    parent_hash = ws.store.get(edit.parent_id).hash
    digest = event_hash(parent_hash, edit.seq, edit.ts, edit.actor, edit.kind, forged, edit.metrics, edit.artifacts)
    raw = sqlite3.connect(ws.path / DB_NAME)
    raw.execute("UPDATE events SET params=?, hash=? WHERE id=?", (json.dumps(forged), digest, edit.id))
    raw.commit()
    raw.close()
    report = ws.verify()
    assert [p.event_id for p in report.problems] == [child.id, None]  # the chain, then the seal
    assert "differ from the sealed ones" in report.problems[-1].message


def test_changing_an_artifact_file_is_caught_and_named(ws):
    ckpt = first_of(ws, "checkpoint")
    path = ws.resolve(ckpt.artifact("checkpoint")["path"])
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    report = ws.verify()
    assert [p.event_id for p in report.problems] == [ckpt.id]
    assert "SHA-256" in report.first_bad.message
    assert ws.verify(artifacts=False).ok  # the chain itself is intact


def test_a_missing_artifact_and_a_deleted_event_are_caught(ws):
    teacher = first_of(ws, "edits_applied")
    ws.resolve(teacher.artifact("teacher")["path"]).unlink()
    victim = first_of(ws, "selection") if any(e.kind == "selection" for e in ws.store.events()) \
        else ws.store.events()[3]
    raw = sqlite3.connect(ws.path / DB_NAME)
    raw.execute("DELETE FROM events WHERE id=?", (victim.id,))
    raw.commit()
    raw.close()
    messages = [str(p) for p in ws.verify().problems]
    assert any("missing (deleted?)" in m for m in messages)
    assert any(f"event {teacher.id} (edits_applied" in m and "missing" in m for m in messages)


def test_concurrent_appends_keep_one_chain_and_there_is_one_writer(tmp_path):
    w = Workspace(tmp_path)
    with pytest.raises(WorkspaceLockedError, match=f"open for writing by .* \\(pid {os.getpid()}\\)"):
        Workspace(tmp_path)  # a second writer, even in the same process

    def write(tag):
        for k in range(40):
            w.store.append("annotation", {"text": f"{tag}{k}"})

    threads = [threading.Thread(target=write, args=(tag,)) for tag in "ab"]  # the UI and trainer threads
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = w.store.events()
    assert [e.seq for e in events] == list(range(1, 81))
    assert len(w.store.path_to()) == 80  # every append chained onto the previous one
    assert w.verify().ok and w.verify().seal == "ok"
    reader = Workspace(tmp_path, read_only=True)  # readers need no lock
    assert reader.store.count() == 80
    w.close()
    with Workspace(tmp_path) as again:  # released on close
        assert again.store.count() == 80


def test_reserve_never_reuses_a_name(tmp_path):
    w = Workspace(tmp_path)
    names = [w.reserve("checkpoints/epoch-00003.pt") for _ in range(3)]
    assert names == ["checkpoints/epoch-00003.pt", "checkpoints/epoch-00003-2.pt", "checkpoints/epoch-00003-3.pt"]


# -- review data and exports ---------------------------------------------------------------------------

def test_history_export_holds_every_event(ws, tmp_path):
    doc = ws.export_history(tmp_path / "history.json")
    back = json.loads((tmp_path / "history.json").read_text())
    assert back == json.loads(json.dumps(doc))
    assert doc["format"] == "hill-viz-history" and doc["head"] == ws.store.head
    assert [e["id"] for e in doc["events"]] == [e.id for e in ws.store.events()]
    seg = [e for e in doc["events"] if e["kind"] == "training_segment"][-1]
    assert {"val_acc", "per_class_acc", "history"} <= set(seg["metrics"])


def test_review_dataset_has_the_recorded_numbers_and_round_trips_netcdf(ws, tmp_path):
    ws.store.append("bias_report", {"phase": "measured", "edit_ids": [1, 2]},
                    {"indicators": [{"name": "leakage", "value": 0.8, "baseline": 0.5, "delta": 0.3,
                                     "severity": "alert", "explanation": "probe"}]})
    ds = review_dataset(ws.store)
    assert {"event", "split", "class", "group", "indicator"} <= set(ds.dims)
    seg = [e for e in ws.store.events() if e.kind == "training_segment"][-1]
    assert float(ds["accuracy"].sel(event=seg.id, split="val")) == seg.metrics["val_acc"]
    assert float(ds["class_acc"].sel(event=seg.id, **{"class": "3"})) == seg.metrics["per_class_acc"]["3"]
    head = ws.store.head
    assert float(ds["bias_value"].sel(event=head, indicator="leakage")) == 0.8
    assert int(ds["bias_severity"].sel(event=head, indicator="leakage")) == 2
    assert str(ds["phase"].sel(event=head).item()) == "measured"
    ds.to_netcdf(tmp_path / "review.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "review.nc", engine="h5netcdf")
    xr.testing.assert_allclose(back["accuracy"], ds["accuracy"])
    assert list(back["kind"].values) == list(ds["kind"].values)


def test_each_training_segment_has_a_latent_snapshot(ws):
    segs = [e for e in ws.store.events() if e.kind == "training_segment"]
    assert len(segs) == 2
    for seg in segs:
        snap = read_snapshot(ws, seg.artifact("snapshot")["path"])
        assert tuple(snap.columns) == SNAPSHOT_COLUMNS and len(snap) == 1797
        assert snap["x"].dtype == np.float32 and np.array_equal(snap["id"], np.arange(1797))
    a, b = (read_snapshot(ws, s.artifact("snapshot")["path"]) for s in segs)
    moved = moved_by_class(a, b)
    assert len(moved) == 10 and (moved["centroid_shift"] > 0).all()
    edited = moved.set_index("label").loc[3, "centroid_shift"]
    assert edited > moved["centroid_shift"].median()  # the translated class moved most


def test_big_frames_keep_a_fixed_subset():
    rows = snapshot_rows(1_000_000, 1000)
    assert len(rows) == 1000 and np.array_equal(rows, snapshot_rows(1_000_000, 1000))
    assert np.array_equal(snapshot_rows(500, 1000), np.arange(500))


def test_branch_lanes_keep_the_head_path_on_lane_zero():
    # 1-2-3-4 (abandoned), revert at 5 (child of 2) - 6 - 7 (head); 8 a side branch off 6, abandoned
    ids = np.array([1, 2, 3, 4, 5, 6, 7, 8])
    parents = np.array([-1, 1, 2, 3, 2, 5, 6, 6])
    head_path = {1, 2, 5, 6, 7}
    lanes = branch_lanes(ids, parents, head_path)
    assert lanes.tolist() == [0, 0, 1, 1, 0, 0, 0, 1]  # both side branches share lane 1: no overlap


def test_timeline_table_marks_the_head_path(ws):
    t = timeline_table(ws.store)
    assert t["on_head"].all() and (t["lane"] == 0).all()
    assert t["seq"].is_monotonic_increasing
    segs = t[t["kind"] == "training_segment"]
    assert segs["val_acc"].notna().all() and segs["summary"].str.contains("val").all()
    assert t.loc[t["kind"] == "edit_added", "is_edit"].all()

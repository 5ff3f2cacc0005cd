"""`hill-viz history`, `verify` and `replay` on a real recorded workspace (`workspace_copy`, tests/conftest.py)."""
import json
import sqlite3

import pytest


def tamper(ws, kind, change):
    """Rewrite the last `kind` event behind the store's back; `change(params, metrics)` -> (column, value)."""
    db = sqlite3.connect(ws / "hill.sqlite")
    event_id, params, metrics = db.execute("SELECT id, params, metrics FROM events WHERE kind=? "
                                           "ORDER BY seq DESC LIMIT 1", (kind,)).fetchone()
    column, value = change(json.loads(params), json.loads(metrics))
    db.execute(f"UPDATE events SET {column}=? WHERE id=?", (json.dumps(value), event_id))
    db.commit()
    db.close()
    return event_id


def test_history_lists_the_events(cli, workspace_copy):
    code, out, _ = cli("history", "--workspace", workspace_copy)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["id", "parent"]
    assert any("edit_added" in line and "edit #1: translate label 3 by (1, 0.5)" in line for line in lines)
    assert all(line.startswith("*") for line in lines[1:-1])  # one branch: all on the head path
    code, out, _ = cli("history", "--workspace", workspace_copy, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "hill-viz-history" and doc["events"][0]["kind"] == "dataset_loaded"


def test_verify_passes_then_names_the_tampered_event(cli, workspace_copy):
    code, out, _ = cli("verify", "--workspace", workspace_copy)
    assert code == 0 and out.startswith("ok:")
    bad = tamper(workspace_copy, "edit_added", lambda p, m: ("params", {**p, "description": "translate label 4"}))
    code, out, err = cli("verify", "--workspace", workspace_copy)
    assert code == 1 and f"FAILED: event {bad} (edit_added" in err
    code, out, _ = cli("verify", "--workspace", workspace_copy, "--json")
    assert code == 1 and json.loads(out)["first_bad_event"] == bad


def test_replay_prints_equal_metrics_and_exits_0(cli, workspace_copy, tmp_path):
    code, out, err = cli("replay", "--workspace", workspace_copy, "--out", tmp_path / "replay")
    assert code == 0, out + err
    assert "replay EXACT" in out and "teachers: 1/1 identical" in out
    val = next(line.split() for line in out.splitlines() if line.strip().startswith("val_acc"))
    assert val[1] == val[2]  # recorded, replayed
    code, _, err = cli("replay", "--workspace", workspace_copy, "--out", tmp_path / "replay")
    assert code == 2 and "not empty" in err


def test_replay_exits_1_when_the_record_differs(cli, workspace_copy, tmp_path):
    tamper(workspace_copy, "training_segment", lambda p, m: ("metrics", {**m, "test_acc": 0.123}))
    code, out, err = cli("replay", "--workspace", workspace_copy, "--out", tmp_path / "replay", "--json")
    assert code == 1
    report = json.loads(out)
    assert not report["exact"] and report["segments"][-1]["recorded"]["test_acc"] == 0.123
    assert any("test_acc" in d for d in report["segments"][-1]["differences"])
    assert "does not verify" in err


def test_user_mistakes_exit_2(cli, tmp_path):
    for command in ("history", "verify"):
        code, _, err = cli(command, "--workspace", tmp_path / "nowhere")
        assert code == 2 and "does not exist" in err

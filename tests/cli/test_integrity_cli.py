"""The integrity cases of issue 14 through the real command line and real SQLite.

Two writers, a cut tail, a moved head, orphans, a damaged row, poisonous edit values,
a read-only folder and a full disk (a file size limit, as `ulimit -f` sets): each gives
a one-line message (exit 2 for a refusal, 1 for a failed verify) and loses nothing.
"""
import ctypes
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hill_viz
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.provenance import DB_NAME, KEY_ENV, Workspace
from hill_viz.session import Session

ROOT = Path(hill_viz.__file__).resolve().parents[1]


def cli_process(*argv, preexec=None, timeout=300):
    """`python -m hill_viz.cli ...` in a fresh process (this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hill_viz.cli", *map(str, argv)], capture_output=True, text=True,
                          env=env, preexec_fn=preexec, timeout=timeout)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hill-viz: error: ") and "Traceback" not in err, err[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("rec") / "ws", auto_bias=False)
    s.load_dataset("digits")
    s.build_model(seed=1, arch="mlp", hidden=32)
    s.train(2, wait=True)
    s.add_edit(Edit.contract(Selector.of_label(4), 0.5))
    s.apply_edits(1, wait=True)
    s.workspace.close()
    return s.workspace.path


@pytest.fixture
def ws(recorded, tmp_path):
    path = shutil.copytree(recorded, tmp_path / "ws")
    with Workspace(path, create=False) as w:  # its writer: the receipt for this folder now exists
        w.store.append("annotation", {"event_id": w.store.head, "text": "copied for a test"})
    return path


def sql(path, statement, *args):
    db = sqlite3.connect(path / DB_NAME)
    rows = db.execute(statement, args).fetchall()
    db.commit()
    db.close()
    return rows


# -- one writer ---------------------------------------------------------------------------------

def test_a_second_writer_is_refused_the_log_stays_intact_and_replays_exactly(cli, tmp_path):
    ws = tmp_path / "ws"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-m", "hill_viz.cli", "train", "--dataset", "digits", "--epochs", "2",
                              "--workspace", str(ws)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while f'"pid": {first.pid}' not in _read(ws / "hill.lock"):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        first.send_signal(signal.SIGSTOP)  # hold the first writer still while the second tries
        code, _, err = cli("train", "--dataset", "blobs", "--workspace", ws)
        line = one_line(err)
        assert code == 2 and f"already open for writing by" in line and f"(pid {first.pid})" in line
    finally:
        first.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    code, out, _ = cli("history", "--workspace", ws, "--json")
    events = json.loads(out)["events"]
    assert [e["params"]["dataset"]["name"] for e in events if e["kind"] == "dataset_loaded"] == ["digits"]
    assert cli("verify", "--workspace", ws)[0] == 0
    code, out, err = cli("replay", "--workspace", ws, "--out", tmp_path / "replay")
    assert code == 0 and "replay EXACT" in out, out + err


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# -- a tail that cannot be cut silently ------------------------------------------------------------

def test_a_cut_tail_a_moved_head_and_orphans_fail_verify(cli, ws, tmp_path, monkeypatch):
    code, out, _ = cli("verify", "--workspace", ws, "--save-receipt", tmp_path / "kept.json")
    assert code == 0 and "seal ok, receipt ok" in out and "written to" in out
    (applied,), = sql(ws, "SELECT seq FROM events WHERE kind='edits_applied'")
    (keep,), = sql(ws, "SELECT id FROM events WHERE seq=?", applied - 1)
    sql(ws, "DELETE FROM events WHERE seq >= ?", applied)
    sql(ws, "UPDATE meta SET value=? WHERE key='head'", str(keep))

    code, out, err = cli("verify", "--workspace", ws)
    assert code == 1 and "FAILED: workspace: " in err and "Traceback" not in err
    assert "the tail was cut" in err and "teacher-0001.npz is not referenced by any event" in err
    report = json.loads(cli("verify", "--workspace", ws, "--json")[1])
    assert report["seal"] == "broken" and not report["ok"]

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "a-reviewer-without-the-key"))
    code, _, err = cli("verify", "--workspace", ws, "--no-artifacts")
    assert code == 0 and "not checked" in err  # said plainly: without key or receipt this goes unseen
    code, _, err = cli("verify", "--workspace", ws, "--no-artifacts", "--receipt", tmp_path / "kept.json")
    assert code == 1 and "the receipt vouches for" in err and "events were removed" in err


def test_a_head_moved_back_fails_verify_and_a_writer_refuses_until_accepted(cli, ws):
    (early,), = sql(ws, "SELECT id FROM events WHERE seq=3")
    sql(ws, "UPDATE meta SET value=? WHERE key='head'", str(early))
    code, _, err = cli("verify", "--workspace", ws, "--no-artifacts")
    assert code == 1 and f"the head is event {early} but was sealed at event" in err
    code, _, err = cli("train", "--dataset", "digits", "--epochs", "1", "--workspace", ws)
    assert code == 2 and "changed outside hill-viz since it was last written" in one_line(err)
    code, out, err = cli("verify", "--workspace", ws, "--no-artifacts", "--accept")
    assert code == 0 and "seal ok" in out, err
    (text,), = sql(ws, "SELECT json_extract(params, '$.text') FROM events ORDER BY seq DESC LIMIT 1")
    assert text.startswith("accepted changes made outside hill-viz: the head is event")


# -- robust readers ------------------------------------------------------------------------------------

def test_a_malformed_row_is_reported_by_verify_and_history_which_go_on(cli, ws):
    (bad,), = sql(ws, "SELECT id FROM events WHERE kind='edit_added'")
    sql(ws, "UPDATE events SET params='{\"edit_id\": 1,' WHERE id=?", bad)
    (ckpt, rel), = sql(ws, "SELECT id, json_extract(artifacts, '$[0].path') FROM events WHERE kind='checkpoint' "
                           "ORDER BY seq LIMIT 1")
    (ws / rel).unlink()
    code, _, err = cli("verify", "--workspace", ws)
    assert code == 1 and "Traceback" not in err
    assert f"event {bad} (edit_added" in err and "params is not valid JSON" in err
    assert f"event {ckpt} (checkpoint" in err and "is missing" in err  # the check went on past the bad row
    code, out, err = cli("history", "--workspace", ws)
    assert code == 0 and f"warning: event {bad} (seq" in err and "MALFORMED" in out
    assert "checkpoint at epoch 2" in out  # the events after it are listed too
    code, out, _ = cli("history", "--workspace", ws, "--json")
    assert code == 0 and any(e.get("malformed") for e in json.loads(out)["events"])


def test_a_tampered_checkpoint_is_refused_when_loaded(cli, ws):
    import torch

    (event_id, rel), = sql(ws, "SELECT id, json_extract(artifacts, '$[0].path') FROM events "
                               "WHERE kind='checkpoint' ORDER BY seq DESC LIMIT 1 OFFSET 1")
    state = torch.load(ws / rel, weights_only=True)
    state["model"][next(iter(state["model"]))].zero_()
    torch.save(state, ws / rel)
    code, _, err = cli("bias", "--workspace", ws, "--compute")  # loads the state before the edit
    line = one_line(err)
    assert code == 2 and f"event {event_id} (checkpoint)" in line and "does not match its recorded SHA-256" in line


# -- values that cannot poison training ----------------------------------------------------------------

@pytest.mark.parametrize("edit, message", [
    ({"op": "translate", "selector": {"kind": "label", "label": 1}, "params": {"dx": 1e308, "dy": 0}},
     "translate dx must be within +-1e+06"),
    ({"op": "pin", "selector": {"kind": "label", "label": 1}, "weight": 1e300}, "edit weight must be > 0 and at most 100"),
    ({"op": "pin", "selector": {"kind": "ids", "ids": ["a"]}}, "selector ids must be whole numbers"),
    ({"op": "pin", "selector": {"kind": "ids", "ids": [10**30]}}, "selector ids must be whole numbers"),
    ({"op": "pin", "selector": {"kind": "lasso", "lasso": [[0, 0], [1], [2, 2]]}}, "lasso vertex #1 must be an [x, y]"),
])
def test_poisonous_edit_values_are_refused_before_any_event(cli, tmp_path, edit, message):
    (tmp_path / "edits.json").write_text(json.dumps([edit]))
    code, _, err = cli("train", "--dataset", "digits", "--epochs", "1", "--edits", tmp_path / "edits.json",
                       "--workspace", tmp_path / "ws")
    assert code == 2 and message in one_line(err)
    assert not (tmp_path / "ws").exists()  # nothing recorded, not even the dataset


def test_a_move_far_beyond_the_view_is_refused_before_its_event(cli, tmp_path):
    edit = {"op": "translate", "selector": {"kind": "label", "label": 1}, "params": {"dx": 5000.0, "dy": 0}}
    (tmp_path / "edits.json").write_text(json.dumps([edit]))
    code, _, err = cli("train", "--dataset", "digits", "--epochs", "1", "--edits", tmp_path / "edits.json",
                       "--workspace", tmp_path / "ws")
    assert code == 2 and "is more than 10 times the extent of the view" in one_line(err)
    kinds = [k for (k,) in sql(tmp_path / "ws", "SELECT kind FROM events")]
    assert "edit_added" not in kinds and kinds[-1] == "training_segment"  # the epoch trained stays recorded


# -- storage errors --------------------------------------------------------------------------------

def _without_write_permission():
    """Make this process obey file modes even as root (drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH)."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_read_only_workspace_is_refused_in_one_line_and_still_reviewed(ws):
    for path in [ws, *ws.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        out = cli_process("train", "--dataset", "digits", "--epochs", "1", "--workspace", ws, preexec=_without_write_permission)
        line = one_line(out.stderr)
        assert out.returncode == 2 and "Permission denied (EACCES)" in line and "read-only for you" in line
        out = cli_process("verify", "--workspace", ws, preexec=_without_write_permission)
        assert out.returncode == 0 and out.stdout.startswith("ok:"), out.stderr
        out = cli_process("history", "--workspace", ws, preexec=_without_write_permission)
        assert out.returncode == 0 and "training_segment" in out.stdout, out.stderr
    finally:
        for path in [ws, *ws.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("limit_kib, cause", [(100, "(SQLITE_IOERR_WRITE)"), (400, "File too large (EFBIG)")])
def test_a_full_disk_gives_one_line_leaves_no_partial_file_and_keeps_the_record(cli, tmp_path, limit_kib, cause):
    def limit():  # `ulimit -f`: what a nearly full disk does to a writer, without filling the disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_kib * 1024, limit_kib * 1024))

    out = cli_process("train", "--dataset", "digits", "--epochs", "3", "--workspace", tmp_path / "ws", preexec=limit)
    line = one_line(out.stderr)
    assert out.returncode == 2 and cause in line and "`ulimit -f`" in line and "cannot rollback" not in line
    assert not list((tmp_path / "ws").rglob("*.tmp"))
    code, stdout, err = cli("verify", "--workspace", tmp_path / "ws")
    assert code == 0 and stdout.startswith("ok:"), err

"""Retention and the disk quota, on real workspace folders (real SQLite logs, real writer locks)."""
import json
import os
import time

import pytest

from hill_viz.cli import main
from hill_viz.core.access import Limits
from hill_viz.core.provenance import Workspace, receipt_path
from hill_viz.core.retention import DAY_S, DiskQuota, folder_bytes, last_change, prune_workspaces
from hill_viz.errors import ConfigError


def _workspace(root, name, age_days):
    """A closed workspace with one event, every file dated `age_days` ago."""
    with Workspace(root / name) as ws:
        ws.store.append("annotation", {"text": f"work in {name}"})
    when = time.time() - age_days * DAY_S
    for folder, _, files in os.walk(root / name):
        for f in files:
            os.utime(os.path.join(folder, f), (when, when))
    return root / name


def test_prune_removes_only_old_closed_workspaces_and_their_receipts(tmp_path):
    old, young = _workspace(tmp_path, "old", 40), _workspace(tmp_path, "young", 2)
    reviewed, editing = _workspace(tmp_path, "reviewed", 40), _workspace(tmp_path, "editing", 40)
    (tmp_path / ".dataset-cache").mkdir()  # not a workspace: never touched
    assert receipt_path(old).is_file()
    held = Workspace(editing, create=False)  # open for writing: its lock is held
    try:
        held_age = time.time() - last_change(editing)
        report = prune_workspaces(tmp_path, 30, keep=(reviewed,))
    finally:
        held.close()
    assert held_age < DAY_S  # opening a workspace counts as using it (its lock file is written)
    assert [r["name"] for r in report.removed] == ["old"] and not old.exists() and not receipt_path(old).exists()
    assert report.kept == 2 and report.kept_open == ["reviewed"]
    assert young.is_dir() and reviewed.is_dir() and editing.is_dir() and (tmp_path / ".dataset-cache").is_dir()
    assert report.freed_bytes > 0 and "removed 1 workspace(s)" in report.summary()


def test_a_workspace_open_elsewhere_is_skipped_even_when_it_looks_old(tmp_path):
    ws_path = _workspace(tmp_path, "busy", 40)
    held = Workspace(ws_path, create=False)
    try:
        when = time.time() - 40 * DAY_S
        for f in ws_path.rglob("*"):
            os.utime(f, (when, when))  # an editor that has not written for weeks still holds the lock
        report = prune_workspaces(tmp_path, 30)
    finally:
        held.close()
    assert report.removed == [] and report.kept_open == ["busy"] and (ws_path / "hill.sqlite").is_file()


def test_dry_run_and_the_cli(tmp_path, capsys):
    _workspace(tmp_path, "old", 10)
    _workspace(tmp_path, "new", 0)
    assert main(["prune", "--root", str(tmp_path), "--retain-days", "7", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and [r["name"] for r in dry["removed"]] == ["old"] and (tmp_path / "old").is_dir()
    assert main(["prune", "--root", str(tmp_path), "--retain-days", "7"]) == 0
    out = capsys.readouterr().out
    assert "removed old" in out and not (tmp_path / "old").exists() and (tmp_path / "new").is_dir()
    assert main(["prune", "--root", str(tmp_path / "nowhere"), "--retain-days", "7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_the_disk_quota_refuses_uploads_and_training_in_one_line(tmp_path):
    from hill_viz.session import Session

    s = Session(tmp_path / "ws", limits=Limits(disk=DiskQuota(tmp_path, 10 * 2**30)))
    try:
        s.load_dataset("blobs", n=2000)
        s.build_model(latent_dim=4, hidden=16)
        s.train(1, wait=True)
        full = Limits(disk=DiskQuota(tmp_path, folder_bytes(tmp_path)))  # exactly used up
    finally:
        s.workspace.close()
    s2 = Session(tmp_path / "ws2", limits=full)
    try:
        s2.load_dataset("blobs", n=2000)
        s2.build_model(latent_dim=4, hidden=16)
        with pytest.raises(ConfigError) as caught:
            s2.train(1, wait=True)
        message = str(caught.value)
        assert "\n" not in message and "cannot start training" in message and "disk quota" in message
        with pytest.raises(ConfigError, match="cannot start the upload of a.csv"):
            s2.store_upload("a.csv", b"x,y\n1,2\n")
        assert s2.history == [] and len(s.history) == 1  # nothing recorded was touched
    finally:
        s2.workspace.close()


def test_quota_measures_lazily_and_fresh_on_demand(tmp_path):
    quota = DiskQuota(tmp_path, 1000)
    assert quota.used() == 0 and not quota.full
    (tmp_path / "blob").write_bytes(b"x" * 2000)
    assert quota.used() == 0  # measured at most every DISK_CHECK_S
    assert quota.used(fresh=True) == 2000 and quota.full
    with pytest.raises(ConfigError, match="a disk quota must be positive"):
        DiskQuota(tmp_path, 0)
    with pytest.raises(ConfigError, match="retention must be a positive number of days"):
        prune_workspaces(tmp_path, 0)


def test_checkpoint_disk_use_per_workspace_matches_the_logged_checkpoints(tmp_path, capsys):
    from hill_viz.core.retention import workspace_disk
    from hill_viz.session import Session

    s = Session(tmp_path / "trained", actor="alice")
    s.load_dataset("blobs", n=300)
    s.build_model(latent_dim=2, hidden=8, projection="pca")
    s.train(3, wait=True)
    logged = [s.workspace.resolve(e.artifact("checkpoint")["path"]) for e in s.workspace.store.events(("checkpoint",))]
    s.close()
    _workspace(tmp_path, "empty", 0)
    d = workspace_disk(tmp_path / "trained")
    assert d.n_checkpoints == len(logged) == 3 and d.checkpoint_bytes == sum(p.stat().st_size for p in logged)
    assert 0 < d.checkpoint_bytes < d.bytes == folder_bytes(tmp_path / "trained")
    by = DiskQuota(tmp_path, None).by_workspace()
    assert [w.name for w in by] == ["trained", "empty"] and by[0] == d and by[1].n_checkpoints == 0
    assert main(["workspaces", "--root", str(tmp_path), "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["workspaces"]}
    assert (rows["trained"]["n_checkpoints"], rows["trained"]["checkpoint_bytes"]) == (3, d.checkpoint_bytes)

"""The workspace index: rows kept current by recording Sessions, re-read when a log changed behind it."""
import shutil
import sqlite3

import pytest

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.workspaces import INDEX_NAME, WorkspaceIndex, summarize
from hill_viz.errors import WorkspaceError
from hill_viz.session import Session


@pytest.fixture
def root(tmp_path):
    WorkspaceIndex(tmp_path)  # the index exists before the Sessions record
    s = Session(tmp_path / "alpha", actor="alice")
    s.load_dataset("blobs", n=600)
    s.build_model(latent_dim=4, hidden=16)
    s.train(1, wait=True)
    s.add_edit(Edit.translate(Selector.of_label(1), 0.5, 0.0))
    s.apply_edits(1, wait=True)
    s.workspace.close()
    return tmp_path


def test_recording_keeps_the_row_equal_to_a_full_read(root):
    index = WorkspaceIndex(root)
    (row,) = index.list()
    full = summarize(root / "alpha")
    assert row.to_dict() == full.to_dict()
    assert (row.owner, row.dataset, row.n_edits) == ("alice", "blobs", 1)
    s = Session.open(root / "alpha", read_only=True)
    assert row.n_events == len(s.workspace.store.events())
    s.close()
    assert row.val_acc is not None and row.test_acc is not None and row.worst_severity >= 0
    assert row.verify_badge == "not checked"


def test_a_revert_and_a_copied_in_workspace_are_read_again(root):
    s = Session.open(root / "alpha", actor="alice")
    built = s.workspace.store.events(("model_built",))[0]
    s.revert(built.id)  # back before the training and the edit
    s.workspace.close()
    shutil.copytree(root / "alpha", root / "beta")  # written without the index
    rows = {r.id: r for r in WorkspaceIndex(root).list()}
    assert set(rows) == {"alpha", "beta"}
    assert rows["alpha"].n_edits == 0 and rows["alpha"].val_acc is None
    assert rows["beta"].to_dict() | {"id": "alpha"} == rows["alpha"].to_dict()
    shutil.rmtree(root / "beta")
    assert [r.id for r in WorkspaceIndex(root).list()] == ["alpha"]


def test_title_verify_badge_and_bad_names(root):
    index = WorkspaceIndex(root)
    assert index.set_title("alpha", " shortcut\n study ").title == "shortcut study"
    s = Session.open(root / "alpha", read_only=True)
    assert s.workspace.title == "shortcut study"
    s.close()
    row = index.verify("alpha")
    assert row.verify_badge == "ok"
    with sqlite3.connect(root / "alpha" / "hill.sqlite") as db:  # tamper with a recorded event
        db.execute("UPDATE events SET actor='mallory' WHERE seq=1")
    row = index.verify("alpha")
    assert row.verify_badge == "failed" and "event" in row.verify_problem
    outside = root.parent / "outside"
    shutil.copytree(root / "alpha", outside)
    (root / "link").symlink_to(outside)  # a link out of the root is no workspace of it
    messages = set()
    for bad in ("../alpha", "nope", "", "link", "../outside", str(root / "alpha"), "alpha/..", None):
        with pytest.raises(WorkspaceError, match="workspaces` lists them") as info:
            index.path_of(bad)
        messages.add(str(info.value).replace(repr(bad), "ID"))
    assert messages == {"there is no workspace ID here; open one from the workspace list "
                        "(`hill-viz workspaces` lists them)"}  # one neutral line, whatever lies outside
    assert "link" not in {r.id for r in index.list()}


def test_the_index_is_derived_data(root):
    before = [r.to_dict() for r in WorkspaceIndex(root).list()]
    (root / INDEX_NAME).unlink()
    assert [r.to_dict() for r in WorkspaceIndex(root).list()] == before

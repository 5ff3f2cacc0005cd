"""The workspace list says, per workspace, what the person looking may do with it (no browser)."""
from types import SimpleNamespace

import pytest

from hill_viz.core.access import share
from hill_viz.core.workspaces import WorkspaceIndex
from hill_viz.session import Session
from hill_viz.ui.workspace_list import WorkspaceList, rows_frame


@pytest.fixture
def root(tmp_path):
    for owner, name in (("alice", "a-study"), ("bob", "b-study")):
        s = Session(tmp_path / name, actor=owner)
        s.load_dataset("blobs", n=300)
        if owner == "alice":
            share(s.workspace, "erin", by="alice")
        s.workspace.close()
    return tmp_path


def access(root, user, admins=()):
    frame = rows_frame(WorkspaceIndex(root).list(), user, admins).set_index("id")
    return {ws: (row["access"], ">edit<" in row["open"]) for ws, row in frame.iterrows()}


def test_each_user_sees_every_workspace_and_what_they_may_do(root):
    assert access(root, "alice") == {"a-study": ("edit (yours)", True), "b-study": ("review", False)}
    assert access(root, "erin") == {"a-study": ("edit (shared)", True), "b-study": ("review", False)}
    assert access(root, "carol", admins=["carol"]) == {"a-study": ("edit (admin)", True),
                                                       "b-study": ("edit (admin)", True)}


def test_only_who_may_edit_renames(root):
    page = WorkspaceList(index=WorkspaceIndex(root), user="bob")
    row = list(page.table.value["id"]).index("a-study")
    page._on_edit(SimpleNamespace(row=row, value="bob's name for it"))
    assert "only alice, who owns a-study" in page.status.object and page.index.get("a-study").title == ""
    row = list(page.table.value["id"]).index("b-study")
    page._on_edit(SimpleNamespace(row=row, value="mine"))
    assert page.index.get("b-study").title == "mine"

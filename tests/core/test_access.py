"""Who may edit a workspace: its owner, those it is shared with, admins; nobody else."""
import pytest

from hill_viz.core.access import editors_of, may_edit, owner_of, share
from hill_viz.core.provenance import Workspace
from hill_viz.errors import ConfigError


@pytest.fixture
def alices(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.store.append("dataset_loaded", {"dataset": {"name": "blobs"}}, actor="alice")
    yield ws
    ws.close()


def test_the_owner_edits_others_review_unless_shared(alices):
    assert owner_of(alices) == "alice"
    assert may_edit("alice", alices) == (True, "")
    allowed, why = may_edit("bob", alices)
    assert not allowed and why == ("this workspace belongs to alice; you can review it read-only "
                                   "unless alice shares it with you for editing")
    assert may_edit("carol", alices, admins=["carol"]) == (True, "")
    with pytest.raises(ConfigError, match="only alice, who owns this workspace, can share it"):
        share(alices, "bob", by="bob")
    assert share(alices, "bob", by="alice") == ("bob",)
    assert editors_of(alices) == ("bob",) and may_edit("bob", alices) == (True, "")
    assert not may_edit("dave", alices)[0] and not may_edit(None, alices)[0]


def test_a_workspace_without_an_owner_is_open(tmp_path):
    ws = Workspace(tmp_path / "empty")
    assert owner_of(ws) is None and may_edit("anyone", ws) == (True, "")
    ws.close()

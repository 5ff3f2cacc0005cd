"""Who may edit a workspace: its owner, those it is shared with, admins; nobody else."""
import pytest

from hill_viz.core.access import editors_of, may_edit, owner_of, share
from hill_viz.core.provenance import Workspace
from hill_viz.errors import ConfigError


@pytest.fixture
def alices(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.store.append("dataset_loaded", {"dataset": {"name": "blobs"}}, actor="alice")
    ws.claim_owner("alice")
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


def test_each_sharing_change_is_an_event_and_the_latest_says_who_edits(alices):
    share(alices, "bob", by="alice")
    assert share(alices, "bob", by="alice") == ("bob",)  # again: nothing new recorded
    assert share(alices, "erin", by="carol", admins=["carol"]) == ("bob", "erin")
    assert share(alices, "bob", by="alice", revoke=True) == ("erin",)
    events = alices.store.events(("sharing",))
    assert [(e.actor, e.params["action"], e.params["user"], e.params["editors"]) for e in events] == [
        ("alice", "share", "bob", ["bob"]), ("carol", "share", "erin", ["bob", "erin"]),
        ("alice", "revoke", "bob", ["erin"])]
    assert editors_of(alices) == ("erin",) and not may_edit("bob", alices)[0]
    assert alices.verify().ok  # a sharing event is part of the hash chain like any other


@pytest.mark.parametrize("user, by, revoke, message", [
    ("bob", "bob", False, "only alice, who owns this workspace, can share it"),
    ("  ", "alice", False, "name the user to share the workspace with"),
    ("bob\nmallory", "alice", False, "is not a user name"),
    ("alice", "alice", False, "alice owns this workspace and may edit it already"),
    ("dave", "alice", True, r"dave is not among the editors of this workspace \(none\)"),
])
def test_sharing_mistakes_are_one_line_and_record_nothing(alices, user, by, revoke, message):
    n = alices.store.count()
    with pytest.raises(ConfigError, match=message) as caught:
        share(alices, user, by=by, revoke=revoke)
    assert "\n" not in str(caught.value) and alices.store.count() == n


def test_a_revert_does_not_undo_sharing(alices):
    first = alices.store.head
    share(alices, "bob", by="alice")
    alices.store.set_head(first)  # back before the sharing event: a branch starts there
    alices.store.append("annotation", {"event_id": first, "event_kind": "dataset_loaded", "text": "x"},
                        actor="alice")
    assert editors_of(alices) == ("bob",)

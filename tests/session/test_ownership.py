"""A non-owner gets someone else's workspace read-only in the Session itself, whatever the page does."""
import pytest

from hill_viz import errors
from hill_viz.core.access import share
from hill_viz.core.edits import Edit, Selector
from hill_viz.session import Session


@pytest.fixture
def alices(tmp_path):
    s = Session(tmp_path / "alice-ws", actor="alice")
    s.load_dataset("blobs", n=1500)
    s.build_model(latent_dim=4, hidden=16)
    s.add_edit(Edit.contract(Selector.of_label(1), 0.5))
    s.workspace.close()
    return s.workspace.path


def test_a_non_owner_cannot_apply_an_edit_even_calling_the_session(alices):
    bob = Session.open(alices, actor="bob")
    assert bob.read_only and "belongs to alice" in bob.read_only_reason
    n_events = bob.workspace.store.count()
    with pytest.raises(errors.ReadOnlyError, match="read-only"):
        bob.apply_edits(1, wait=True)
    with pytest.raises(errors.ReadOnlyError):
        bob.add_edit(Edit.contract(Selector.of_label(2), 0.5))
    with pytest.raises(errors.ReadOnlyError):
        bob.train(1, wait=True)
    assert bob.workspace.store.count() == n_events and len(bob.pending) == 1
    bob.workspace.close()


def test_shared_editors_and_admins_may_edit(alices):
    carol = Session.open(alices, actor="carol", admins=["carol"])
    assert not carol.read_only
    carol.workspace.close()
    owner = Session.open(alices, actor="alice")
    share(owner.workspace, "bob", by="alice")
    owner.workspace.close()
    bob = Session.open(alices, actor="bob")
    assert not bob.read_only
    bob.apply_edits(1, wait=True)
    assert bob.teachers and bob.workspace.store.events()[-1].actor == "bob"
    bob.workspace.close()


def test_only_the_owner_shares_and_revoking_takes_editing_away(alices):
    from hill_viz.session.registry import OpenWorkspaces

    bob = Session.open(alices, actor="bob")
    assert not bob.may_share
    with pytest.raises(errors.ConfigError, match="only alice, who owns this workspace, can share it"):
        bob.share("bob")
    assert bob.editors == ()
    bob.workspace.close()

    pages = OpenWorkspaces()
    owner = pages.open(alices, actor="alice")
    assert owner.may_share and owner.share("bob") == ("bob",)
    assert owner.workspace.store.events()[-1].actor == "alice"
    pages.release(owner)
    bobs = pages.open(alices, actor="bob")  # shared with him: he gets the editing seat
    assert not bobs.read_only
    bobs.add_edit(Edit.contract(Selector.of_label(2), 0.5))
    assert bobs.workspace.store.events()[-1].actor == "bob"

    owner = pages.open(alices, actor="alice")  # read-only while bob holds the seat, yet she may still share
    assert owner.read_only and owner.share("bob", revoke=True) == ()
    pages.recheck(owner)
    assert bobs.read_only and "belongs to alice" in bobs.read_only_reason
    with pytest.raises(errors.ReadOnlyError):
        bobs.add_edit(Edit.contract(Selector.of_label(3), 0.5))
    assert not pages.claim(bobs)
    for s in (bobs, owner):
        pages.release(s)
    again = Session.open(alices, actor="bob")
    assert again.read_only and again.editors == ()
    again.workspace.close()

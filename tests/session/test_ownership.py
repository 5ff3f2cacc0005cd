"""A non-owner gets someone else's workspace read-only in the Session itself, whatever the page does."""
import pytest

from hill_viz import errors
from hill_viz.core.access import share
from hill_viz.core.edits import Edit, Selector
from hill_viz.session import Session

pytestmark = pytest.mark.skipif(not hasattr(errors, "ReadOnlyError"),
                                reason="needs the read-only Session of issue 12 (ReadOnlyError)")


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

"""The Sharing card: only the owner (or an admin) sees it; it shares and stops sharing (no browser)."""
import pytest

from hill_viz.session import Session
from hill_viz.ui.actions import Actions
from hill_viz.ui.sharing import SharingPanel


@pytest.fixture
def alices(tmp_path):
    s = Session(tmp_path / "ws", actor="alice")
    s.load_dataset("blobs", n=300)
    yield s
    s.workspace.close()


def test_the_owner_shares_and_stops_sharing_from_the_card(alices):
    told = []
    panel = SharingPanel(session=alices, actions=Actions(), changed=told.append)
    assert panel.visible and panel.__panel__().visible
    panel.user_input.value = "bob"
    panel.share_button.clicks += 1
    assert alices.editors == ("bob",) and told == [alices] and panel.user_input.value == ""
    assert "bob" in panel.editors_line.object and panel.editor_select.options == ["bob"]
    assert panel.actions.messages[-1] == ("success", "bob may now edit this workspace")
    panel.share_button.clicks += 1  # no name: a one-line error, nothing recorded
    assert panel.actions.messages[-1][0] == "error" and "name the user" in panel.actions.messages[-1][1]
    panel.editor_select.value = "bob"
    panel.revoke_button.clicks += 1
    assert alices.editors == () and panel.revoke_button.disabled and "Not shared" in panel.editors_line.object
    kinds = [(e.params["action"], e.params["user"]) for e in alices.workspace.store.events(("sharing",))]
    assert kinds == [("share", "bob"), ("revoke", "bob")]


def test_others_do_not_see_it_and_cannot_use_it(alices):
    bob = Session.open(alices.workspace, actor="bob")
    panel = SharingPanel(session=bob, actions=Actions())
    assert not panel.visible and not panel.__panel__().visible
    panel.share("bob")
    assert "only alice, who owns this workspace" in panel.actions.messages[-1][1] and bob.editors == ()
    assert SharingPanel(session=Session.open(alices.workspace, actor="carol", admins=["carol"])).visible

"""Read-only Sessions: every method that changes the work refuses with one line; reviewing still works."""
import inspect

import numpy as np
import pytest

from hill_viz.core.access import share
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.projection import Projection
from hill_viz.errors import ReadOnlyError
from hill_viz.session import Session
from hill_viz.session.registry import REVIEW_REASON, OpenWorkspaces

# every Session method that changes the work, with arguments that would succeed on an editing Session
MUTATING = {
    "load_dataset": lambda s: s.load_dataset("blobs", n=300),
    "load_data": lambda s: s.load_data("a-parquet-folder"),
    "build_model": lambda s: s.build_model(latent_dim=4),
    "refit_projection": lambda s: s.refit_projection(),
    "use_projection": lambda s: s.use_projection(s.projection),
    "show_frame": lambda s: s.show_frame(s.frame),
    "train": lambda s: s.train(1, wait=True),
    "apply_edits": lambda s: s.apply_edits(1, wait=True),
    "resume_training": lambda s: s.resume_training(wait=True),
    "pause": lambda s: s.pause(),
    "unpause": lambda s: s.unpause(),
    "cancel": lambda s: s.cancel(),
    "add_edit": lambda s: s.add_edit(Edit.pin(Selector.of_label(0))),
    "add_resolved_edit": lambda s: s.add_resolved_edit(s.pending[0].resolved, 99),
    "update_edit": lambda s: s.update_edit(s.pending[0].edit_id, Edit.pin(Selector.of_label(2))),
    "update_resolved_edit": lambda s: s.update_resolved_edit(s.pending[0].edit_id, s.pending[0].resolved),
    "remove_edit": lambda s: s.remove_edit(s.pending[0].edit_id),
    "revert": lambda s: s.revert(s.head),
    "store_upload": lambda s: s.store_upload("more.csv", b"x,label\n1,0\n"),
}


@pytest.fixture
def recorded(tmp_path):
    """A workspace with a trained model, a selection and a pending edit, closed."""
    s = Session(tmp_path / "ws", actor="alice")
    s.load_dataset("blobs", n=600)
    s.build_model(latent_dim=4, hidden=16)
    s.train(1, wait=True)
    s.select(Selector.of_label(1))
    s.add_edit(Edit.translate(Selector.of_label(1), 0.5, 0.0))
    s.workspace.close()
    return tmp_path / "ws"


def test_the_documented_list_is_every_mutating_method():
    marked = {name for name, fn in inspect.getmembers(Session) if getattr(fn, "mutating", False)}
    assert marked == set(MUTATING)


@pytest.mark.parametrize("verb", sorted(MUTATING))
def test_every_mutating_method_raises_the_documented_error(recorded, verb):
    s = Session.open(recorded, actor="bob", read_only=True, read_only_reason=REVIEW_REASON)
    try:
        count, head, pending, model = s.workspace.store.count(), s.head, list(s.pending), s.model
        with pytest.raises(ReadOnlyError) as info:
            MUTATING[verb](s)
        message = str(info.value)
        assert message.startswith(f"cannot {verb.replace('_', ' ')}: this workspace is read-only here "
                                  f"({REVIEW_REASON})") and "\n" not in message
        assert "review comment" in message  # what to do instead
        assert (s.workspace.store.count(), s.head, s.pending, s.model) == (count, head, pending, model)
    finally:
        s.workspace.close()


def test_a_reviewer_selects_without_recording_and_comments_as_themselves(recorded):
    s = Session.open(recorded, actor="bob", read_only=True, read_only_reason=REVIEW_REASON)
    count = s.workspace.store.count()
    ids = s.select(Selector.of_label(2))
    assert len(ids) and s.workspace.store.count() == count  # view state only
    target = s.workspace.store.events(("edit_added",))[-1]
    note = s.annotate(target.id, "why move class 1 right?")
    assert (note.kind, note.actor, note.params["event_id"]) == ("annotation", "bob", target.id)
    assert s.workspace.store.count() == count + 1 and s.head == note.id
    assert s.workspace.owner == "alice"  # a reviewer never becomes the owner
    s.workspace.close()


def test_reopening_brings_back_model_pending_edit_and_selection(recorded, tmp_path):
    s = Session.open(recorded, actor="alice")
    assert not s.read_only and s.trainer.epoch == 1
    assert [p.edit.op for p in s.pending] == ["translate"]
    labels = s.dataset.labels[s.frame.rows_of_ids(s.selection)]
    assert len(s.selection) and set(labels.tolist()) == {1}  # the recorded selector, drawn again
    s.train(1, wait=True)  # the editor goes on; the selection drawn on the old view is not restored
    s.workspace.close()
    again = Session.open(recorded, actor="alice")
    assert again.trainer.epoch == 2 and len(again.selection) == 0 and len(again.pending) == 1
    again.workspace.close()


def test_two_pages_on_one_workspace_one_edits_the_other_reads(recorded):
    pages = OpenWorkspaces()
    first = pages.open(recorded, actor="alice")
    share(first.workspace, "bob", by="alice")  # bob may edit it too, once the seat is free
    second = pages.open(recorded, actor="bob")
    review = pages.open(recorded, actor="carol", review=True)
    assert not first.read_only and second.read_only and review.read_only
    assert second.read_only_reason.startswith("alice is editing it") and review.read_only_reason == REVIEW_REASON
    assert second.workspace is first.workspace and len(pages) == 1
    np.testing.assert_array_equal(second.selection, first.selection)
    with pytest.raises(ReadOnlyError, match="alice is editing it"):
        second.add_edit(Edit.pin(Selector.of_label(0)))
    first.add_edit(Edit.pin(Selector.of_label(0)))  # the editor's new edit reaches the reader on reload
    second.reload()
    assert [p.edit_id for p in second.pending] == [p.edit_id for p in first.pending]
    pages.release(first)
    third = pages.open(recorded, actor="dave")  # the seat is free, but dave does not own the workspace
    assert third.read_only and "belongs to alice" in third.read_only_reason and not pages.claim(third)
    fourth = pages.open(recorded, actor="alice")  # dave's page holds no seat: its owner takes it
    assert not fourth.read_only
    for s in (second, review, third, fourth):
        pages.release(s)
    assert len(pages) == 0 and first.workspace.store.closed


def test_a_new_workspace_records_its_owner_and_title(tmp_path):
    s = Session(tmp_path / "new", actor="erin")
    assert s.workspace.owner == "erin" and s.workspace.title == ""
    assert s.workspace.set_title("  shortcut   study\n") == "shortcut study"
    assert s.workspace.title == "shortcut study" and s.workspace.store.count() == 0  # a meta write, no event
    s.workspace.close()


def test_a_page_that_went_away_hands_its_seat_to_the_next(recorded):
    pages = OpenWorkspaces()
    old = pages.open(recorded, actor="alice")
    connected = {"old": True}
    pages.set_probe(old, lambda: connected["old"])
    new = pages.open(recorded, actor="alice")  # a reload: built while the old page is still connected
    review = pages.open(recorded, actor="rita", review=True)
    assert new.read_only and not pages.claim(new) and not pages.claim(review)
    connected["old"] = False  # the old page's websocket closed
    assert pages.claim(new) and not new.read_only and new.read_only_reason == ""
    assert old.read_only and "opened again elsewhere" in old.read_only_reason
    with pytest.raises(ReadOnlyError):
        old.add_edit(Edit.pin(Selector.of_label(0)))
    new.add_edit(Edit.pin(Selector.of_label(0)))
    assert not pages.claim(review) and review.read_only
    for s in (old, new, review):
        pages.release(s)
    assert len(pages) == 0

"""The Session's selection, edit and bias-check verbs (a mixin of `Session`).

They read and change the Session's state (`frame`, `selection`, `pending`) through its
recorder and its `_set`, like every other verb; they live here so `session.py` stays readable.
"""
from __future__ import annotations

import itertools

import numpy as np

from hill_viz.core.bias import BiasReport
from hill_viz.core.edits import Edit, ResolvedEdit, Selector
from hill_viz.errors import EditError, StateError
from hill_viz.session.access import mutating
from hill_viz.session.bias_job import predict_pending, recorded_reports
from hill_viz.session.frames import frame_ref
from hill_viz.session.pending import PendingEdit, pending_index, pick_pending

__all__ = ["EditingVerbs"]


class EditingVerbs:
    """Select points, keep edits pending, check their bias before they are applied.

    On a read-only Session the edit verbs (`@mutating`) raise ReadOnlyError; selecting and
    checking bias still work and record nothing.
    """

    # -- selection and edits ---------------------------------------------------------------------
    def select(self, selector: Selector | None) -> np.ndarray:
        """Resolve a selector on the current view and make it the selection; None clears it."""
        if selector is None:
            self._clear_selection()
            return self.selection
        frame = self._require_frame()
        mask = selector.mask(frame.context())
        self._selection_frame = frame_ref(frame)
        self._set(selector=selector, selection=frame.column("id")[mask],
                  selection_count=self._count_selected(selector, mask))
        if not self.read_only:  # a reviewer's selections are their view, not part of the work
            self._recorder.selection(selector, int(mask.sum()))
        return self.selection

    def selection_selector(self) -> Selector:
        """A selector for exactly the selected points: as drawn while the view is unchanged, else their ids."""
        if not len(self.selection):
            raise EditError("the selection is empty; select points on the latent view first")
        if self.selector is not None and self._selection_frame() is self.frame:
            return self.selector
        return Selector.of_ids(self.selection)

    def _clear_selection(self) -> None:
        self._selection_frame = frame_ref(None)
        self._set(selector=None, selection=np.empty(0, dtype=np.int64), selection_count=0)

    @mutating
    def add_edit(self, edit: Edit) -> PendingEdit:
        """Resolve an edit on the current view and keep it pending until `apply_edits`."""
        resolved = self._resolve_edit(edit)
        return self._add_pending(next(self._edit_ids), resolved)

    @mutating
    def add_resolved_edit(self, resolved: ResolvedEdit, edit_id: int | None = None) -> PendingEdit:
        """Add an edit whose selection is already resolved to ids (replay, scripted users)."""
        self._require_frame()
        if edit_id is None:
            edit_id = next(self._edit_ids)
        elif any(p.edit_id == edit_id for p in self.pending):
            raise EditError(f"edit {edit_id} is already pending; give another id or none")
        else:
            self._edit_ids = itertools.count(max(next(self._edit_ids), edit_id + 1))
        return self._add_pending(int(edit_id), resolved)

    def _add_pending(self, edit_id: int, resolved: ResolvedEdit) -> PendingEdit:
        pending = PendingEdit(edit_id, resolved)
        with self._lock:  # not while the view switches (`_view_through`)
            self._recorder.edit("edit_added", pending)
            self.pending = self.pending + [pending]
        return pending

    @mutating
    def update_edit(self, edit_id: int, edit: Edit) -> PendingEdit:
        """Replace a pending edit's op/params; its selection is resolved again on the current view."""
        pending_index(self.pending, edit_id)  # an unknown id is reported before anything is resolved
        return self.update_resolved_edit(edit_id, self._resolve_edit(edit))

    @mutating
    def update_resolved_edit(self, edit_id: int, resolved: ResolvedEdit) -> PendingEdit:
        """Replace a pending edit with one already resolved to ids (replay); recorded like `update_edit`."""
        index = pending_index(self.pending, edit_id)
        pending = PendingEdit(edit_id, resolved)
        self._recorder.edit("edit_updated", pending)
        self.pending = self.pending[:index] + [pending] + self.pending[index + 1:]
        return pending

    @mutating
    def remove_edit(self, edit_id: int) -> None:
        """Drop a pending edit (recorded; its id is not reused)."""
        index = pending_index(self.pending, edit_id)
        self._recorder.record("edit_removed", {"edit_id": edit_id})
        self.pending = self.pending[:index] + self.pending[index + 1:]

    # -- bias indicators ---------------------------------------------------------------------------
    def predict_bias(self, edit_ids=None) -> BiasReport:
        """Predicted bias report of the pending edits (all, or those in `edit_ids`), before training.

        Works on a snapshot of the session and records nothing, so the UI can call it from a
        worker thread while the user goes on editing.
        """
        pending = self._held(pick_pending(self.pending, edit_ids))
        if not pending:
            raise StateError("there are no pending edits to check; make an edit first")
        frame, projection, dataset = self._require_frame(), self.projection, self._require_dataset()
        return predict_pending(pending, dataset, self._require_model(), projection, frame, self.bias_config)

    def bias_reports(self, edit_id: int | None = None) -> list[BiasReport]:
        """The bias reports recorded on the current branch, oldest first (those about `edit_id`)."""
        return recorded_reports(self.workspace.store, edit_id)

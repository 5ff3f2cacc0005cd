"""Pending edits: edits resolved to ids, kept until `apply_edits` freezes them into a teacher."""
from __future__ import annotations

from dataclasses import dataclass

from hill_viz.core.edits import Edit, ResolvedEdit
from hill_viz.errors import EditError

__all__ = ["PendingEdit", "pending_index", "pick_pending"]


@dataclass(frozen=True, eq=False)
class PendingEdit:
    """An edit resolved to ids, waiting for `apply_edits`; `edit_id` names it in the log."""

    edit_id: int
    resolved: ResolvedEdit

    @property
    def edit(self) -> Edit:
        return self.resolved.edit


def pending_index(pending: list[PendingEdit], edit_id: int) -> int:
    """Position of edit `edit_id` in the list; EditError naming the pending ones if absent."""
    for i, p in enumerate(pending):
        if p.edit_id == edit_id:
            return i
    raise _unknown(edit_id, pending)


def pick_pending(pending: list[PendingEdit], edit_ids=None) -> list[PendingEdit]:
    """The pending edits named in `edit_ids` (all when None), in list order."""
    if edit_ids is None:
        return list(pending)
    wanted = {int(i) for i in edit_ids}
    unknown = wanted - {p.edit_id for p in pending}
    if unknown:
        raise _unknown(min(unknown), pending)
    return [p for p in pending if p.edit_id in wanted]


def _unknown(edit_id: int, pending: list[PendingEdit]) -> EditError:
    return EditError(f"there is no pending edit {edit_id}; pending: "
                     f"{', '.join(str(p.edit_id) for p in pending) or 'none'}")

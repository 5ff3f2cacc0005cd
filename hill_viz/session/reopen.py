"""The Session's provenance verbs: reopen a workspace, follow it, revert, annotate, share (a mixin of `Session`).

`open` restores the state at the workspace's head from the log; `revert` moves the head
back (a branch starts there); `annotate` records a note (a review comment) and is allowed
on a read-only Session; `reload` follows the log without recording anything; `share`
lets another user edit the workspace (or no longer): only its owner or an admin, also
from a read-only page (the owner reviewing while an editor holds the seat).
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Self

from hill_viz.core import replay as _replay
from hill_viz.core.access import editors_of, may_share, share
from hill_viz.core.edits import Selector
from hill_viz.core.provenance import Event, Workspace, default_actor
from hill_viz.errors import ConfigError
from hill_viz.session.access import mutating, open_workspace
from hill_viz.session.frames import frame_ref
from hill_viz.session.pending import PendingEdit

__all__ = ["ReopenVerbs"]


class ReopenVerbs:
    """Reopen, follow, revert and annotate the workspace's log."""

    # -- provenance: reopen, revert, annotate ---------------------------------------------------------
    @classmethod
    def open(cls, workspace: str | Path | Workspace, actor: str | None = None, read_only: bool = False,
             read_only_reason: str = "", **params) -> Self:
        """Reopen an existing workspace where it was left: the state at its head, from the log.

        Read-only on a path another process writes: the workspace is opened for reading
        and the reason names who holds it (unless a reason is given). Read-only too when
        `actor` may not edit it (not its owner, not shared with them, not in `admins`):
        the reason says whom it belongs to.
        """
        if isinstance(workspace, Workspace):
            ws = workspace
        else:
            ws, holder = open_workspace(workspace, read_only)
            read_only_reason = read_only_reason or holder
        session = cls(ws, actor=actor, read_only=read_only, read_only_reason=read_only_reason, **params)
        if ws.store.head is not None:
            session._restore(ws.store.head)
        return session

    def reload(self) -> None:
        """Load the state at the workspace's head again (a read-only page following another's work).

        Records nothing; a pending selection is dropped.
        """
        self._require_idle()
        if self.workspace.store.head is not None:
            self._restore(self.workspace.store.head)
            self.head = self.workspace.store.head

    @mutating
    def revert(self, event_id: int) -> Event:
        """Go back to the state right after `event_id`; the next action starts a branch there.

        Records a `revert` event as a child of `event_id` (so the head moves there), in one
        transaction. Nothing is deleted: the abandoned branch stays in the log.
        """
        self._require_idle()
        before = self.workspace.store.head
        target = self.workspace.store.get(event_id)
        self._restore(target.id)
        return self._recorder.record("revert", {"to": target.id, "from": before, "to_kind": target.kind},
                                     parent_id=target.id)

    def annotate(self, event_id: int, text: str) -> Event:
        """Attach a note to a recorded event (an `annotation` event; the state does not change)."""
        text = (text or "").strip()
        if not text:
            raise ConfigError("an annotation needs some text; type a note first")
        if len(text) > 10_000:
            raise ConfigError(f"an annotation holds at most 10000 characters, got {len(text)}; shorten it")
        target = self.workspace.store.get(event_id)
        return self._recorder.record("annotation", {"event_id": target.id, "event_kind": target.kind, "text": text})

    # -- who else may edit ---------------------------------------------------------------------------
    @property
    def editors(self) -> tuple[str, ...]:
        """The users the owner shared this workspace with for editing."""
        return editors_of(self.workspace)

    @property
    def may_share(self) -> bool:
        """Whether this Session's user may change who edits the workspace (its owner or an admin)."""
        return may_share(self.actor or default_actor(), self.workspace, self.admins)

    def share(self, user: str, revoke: bool = False) -> tuple[str, ...]:
        """Let `user` edit this workspace too (`revoke`: no longer); a `sharing` event. The editors after.

        Only the owner or an admin may (ConfigError otherwise); pages already open on it
        follow when they next ask for the seat (`OpenWorkspaces.claim`, `recheck`).
        """
        return share(self.workspace, user, by=self.actor or default_actor(), admins=self.admins, revoke=revoke,
                     record=self._recorder.record)

    def _restore(self, event_id: int) -> None:
        """Load the state right after `event_id` from the log and its artifacts (no training)."""
        state = _replay.state_at(self.workspace, event_id)
        r = _replay.restore(self.workspace, state, dataset=self.dataset)  # may raise: nothing changed yet
        with self._lock:
            self.model_seed = r.seed
            if state.teacher_config:
                self.teacher_config = _replay.teacher_config(state.teacher_config)
            self.interrupted = state.interrupted
            self._learned_owed = state.learned_after
            self._edit_ids = itertools.count(max(state.max_edit_id, self._recorder.max_edit_id()) + 1)
            self._clear_selection()
            self._set(dataset=r.dataset, model=r.model, trainer=r.trainer, projection=r.projection,
                      teachers=r.teachers, history=list(state.history))
            self._follow_stream(state.dataset)
            if self.model is not None and self.projection is not None:
                self._refresh_frame()
                self._reselect(state.selection)
            else:
                self.frame = None
            self._set(pending=[PendingEdit(i, res) for i, res in r.pending], progress=0.0,
                      status="ready" if self.model is not None else "empty")

    def _reselect(self, selector: dict | None) -> None:
        """Draw a recorded selector again on the restored view (nothing recorded)."""
        if not selector or (selector.get("kind") == "ids" and "ids" not in selector):
            return  # none, or a large id list the log summarised
        selector = Selector.from_dict(selector)
        mask = selector.mask(self.frame.context())
        self._selection_frame = frame_ref(self.frame)
        self._set(selector=selector, selection=self.frame.column("id")[mask])

"""The workspaces a server process has open, and who may edit each.

One page edits a workspace at a time. `OpenWorkspaces.open` gives the first page that
asks to edit it an editing Session if its user may edit it (the owner, an editor the
owner shared it with, an admin: `core.access.may_edit`); any other page on it (and every
review) gets a read-only Session on the same `Workspace` object, whose reason says why
(opened for review; it belongs to someone else; who holds the seat), so a reviewer's
comments go into the same log. When another process writes the workspace
(its writer lock), every page here is read-only. `release` is called when a page ends:
the editor's seat frees up, and the last page closes the workspace. A page can say how to
tell it is still connected (`set_probe`), and a read-only page asks for the seat
(`claim`) when it connects and now and then after: a reload builds the new page before
the old one disconnects, so the new page starts read-only and takes the seat as soon as
the old page is gone and idle (the old Session turns read-only); a second tab takes it
when the first one closes. After the owner shares the workspace, an editor's read-only
page takes the seat the same way; after they stop sharing it, `recheck` turns the page of
whoever may no longer edit it read-only.
"""
from __future__ import annotations

import threading
from typing import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hill_viz.core.access import may_edit
from hill_viz.core.provenance import Workspace, default_actor
from hill_viz.session.access import open_workspace
from hill_viz.session.session import Session

__all__ = ["OpenWorkspaces", "REVIEW_REASON"]

REVIEW_REASON = "opened for review"


@dataclass
class _Open:
    workspace: Workspace
    external: str = ""                 # another process writes it: who (then every page here reads)
    editor: Session | None = None
    since: str = ""
    sessions: list[Session] = field(default_factory=list)
    probes: dict[int, Callable[[], bool]] = field(default_factory=dict)  # id(session) -> still connected?
    reviews: set[int] = field(default_factory=set)  # id(session) of reviews: they never edit

    def editor_gone(self) -> bool:
        """The editing page is no longer connected and nothing runs in it."""
        probe = self.probes.get(id(self.editor)) if self.editor is not None else None
        return probe is not None and not probe() and not self.editor.is_busy

    def holder(self) -> str:
        if self.external:
            return self.external
        if self.editor is None:
            return ""
        return f"{self.editor.actor or 'someone'} is editing it (another page on this server, since {self.since} UTC)"


class OpenWorkspaces:
    """Workspaces open in this process: one editing Session each, any number of read-only ones."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict[Path, _Open] = {}

    def open(self, path: str | Path, actor: str | None = None, review: bool = False,
             create: bool = False, **params) -> Session:
        """A Session on the workspace at `path`, restored at its head: editing if the seat is free
        and not `review`, else read-only saying why. `create` makes a new workspace there."""
        path = Path(path).expanduser().resolve()
        with self._lock:
            entry = self._open.get(path)
            if entry is None:
                if create:
                    ws, external = Workspace(path), ""
                else:
                    ws, external = open_workspace(path, read_only=True)
                entry = self._open[path] = _Open(ws, external)
            refused = "" if review else _refusal(entry.workspace, actor, params.get("admins", ()))
            if not (review or refused) and entry.editor_gone():
                _set_access(entry.editor, True, "this page was opened again elsewhere; reload it to see the work")
                entry.editor = None
            reason = REVIEW_REASON if review else refused or entry.holder()
            try:
                if reason:
                    session = Session.open(entry.workspace, actor=actor, read_only=True,
                                           read_only_reason=reason, **params)
                else:
                    session = Session.open(entry.workspace, actor=actor, **params)
                    entry.editor = session
                    entry.since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
            except BaseException:
                if not entry.sessions:
                    self._close(path)
                raise
            entry.sessions.append(session)
            if review:
                entry.reviews.add(id(session))
            return session

    def claim(self, session: Session) -> bool:
        """Give `session` the editing seat if it is free, or its holder's page is gone and idle.

        True if `session` edits (now or already); its Session is then no longer read-only.
        """
        with self._lock:
            entry = self._open.get(session.workspace.path.expanduser().resolve())
            if entry is None or session not in entry.sessions or id(session) in entry.reviews or entry.external:
                return False
            if _refusal(entry.workspace, session.actor, session.admins):
                return False
            if entry.editor is session:
                return True
            if entry.editor is not None and not entry.editor_gone():
                return False
            if entry.editor is not None:
                _set_access(entry.editor, True, "this page was opened again elsewhere; reload it to see the work")
            _set_access(session, False, "")
            entry.editor = session
            entry.since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
            return True

    def recheck(self, session: Session) -> None:
        """Who may edit `session`'s workspace changed: the editing page of someone no longer allowed
        turns read-only (a training it runs finishes and is recorded)."""
        with self._lock:
            entry = self._open.get(session.workspace.path.expanduser().resolve())
            editor = entry.editor if entry is not None else None
            refused = _refusal(entry.workspace, editor.actor, editor.admins) if editor is not None else ""
            if refused:
                _set_access(editor, True, refused)
                entry.editor = None

    def set_probe(self, session: Session, connected: Callable[[], bool]) -> None:
        """How to tell whether `session`'s page is still connected (see the module doc)."""
        entry = self._open.get(session.workspace.path.expanduser().resolve())
        if entry is not None:
            entry.probes[id(session)] = connected

    def workspace_at(self, path: str | Path) -> Workspace | None:
        """The Workspace open here at `path`, if any (write through it: the writer lock is its)."""
        entry = self._open.get(Path(path).expanduser().resolve())
        return entry.workspace if entry else None

    def holder(self, path: str | Path) -> str:
        """Who edits the workspace at `path` in this process ('' if nobody)."""
        entry = self._open.get(Path(path).expanduser().resolve())
        return entry.holder() if entry else ""

    def release(self, session: Session) -> None:
        """A page ended: free its seat; close the workspace when no page is left on it.

        Call once the Session's training has stopped.
        """
        path = session.workspace.path.expanduser().resolve()
        with self._lock:
            entry = self._open.get(path)
            if entry is None or session not in entry.sessions:
                return
            entry.sessions.remove(session)
            entry.probes.pop(id(session), None)
            entry.reviews.discard(id(session))
            if entry.editor is session:
                entry.editor = None
            if not entry.sessions:
                self._close(path)

    def _close(self, path: Path) -> None:
        entry = self._open.pop(path)
        entry.workspace.close()

    def __len__(self) -> int:
        return len(self._open)


def _refusal(workspace: Workspace, actor: str | None, admins) -> str:
    """Why `actor` may not edit the workspace (it is someone else's, not shared with them); '' if they may."""
    allowed, why = may_edit(actor or default_actor(), workspace, admins)
    return "" if allowed else why


def _set_access(session: Session, read_only: bool, reason: str) -> None:
    """Hand the seat over: the Session that loses it turns read-only (a late call must not write)."""
    import param

    with param.edit_constant(session):
        session.read_only_reason = reason
        session.read_only = read_only

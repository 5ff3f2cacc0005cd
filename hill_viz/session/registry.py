"""The workspaces a server process has open, and who may edit each.

One page edits a workspace at a time. `OpenWorkspaces.open` gives the first page that
asks to edit it an editing Session; any other page on it (and every review) gets a
read-only Session on the same `Workspace` object, whose reason names who holds it, so a
reviewer's comments go into the same log. When another process writes the workspace
(its writer lock), every page here is read-only. `release` is called when a page ends:
the editor's seat frees up, and the last page closes the workspace.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hill_viz.core.provenance import Workspace
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
            held = entry.holder()
            try:
                if review or held:
                    session = Session.open(entry.workspace, actor=actor, read_only=True,
                                           read_only_reason=REVIEW_REASON if review else held, **params)
                else:
                    session = Session.open(entry.workspace, actor=actor, **params)
                    entry.editor = session
                    entry.since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
            except BaseException:
                if not entry.sessions:
                    self._close(path)
                raise
            entry.sessions.append(session)
            return session

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
            if entry.editor is session:
                entry.editor = None
            if not entry.sessions:
                self._close(path)

    def _close(self, path: Path) -> None:
        entry = self._open.pop(path)
        entry.workspace.close()

    def __len__(self) -> int:
        return len(self._open)

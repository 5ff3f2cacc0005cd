"""Who may change a Session's work: the read-only guard and opening a workspace someone else writes.

Every Session method that changes the work is marked `@mutating`; on a read-only Session
it raises `ReadOnlyError` with one line naming why (`read_only_reason`) and what to do.
"""
from __future__ import annotations

import functools
from pathlib import Path

from hill_viz import errors as _errors
from hill_viz.core.provenance import Workspace
from hill_viz.errors import ReadOnlyError

__all__ = ["holder_text", "mutating", "open_workspace", "read_only_error"]


def mutating(method):
    """Mark a Session method that changes the work: refused with ReadOnlyError on a read-only Session."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        self._require_writable(method.__name__)
        return method(self, *args, **kwargs)
    guarded.mutating = True
    return guarded


def read_only_error(verb: str, reason: str) -> ReadOnlyError:
    return ReadOnlyError(f"cannot {verb.replace('_', ' ')}: this workspace is read-only here ({reason}); "
                         "add a review comment instead, or open it for editing from the workspace list "
                         "once it is free")


def holder_text(holder: dict) -> str:
    """'alice is editing it (host, pid 12, since 2026-12-02 13:00:00)' from a writer lock's holder note."""
    if not holder:
        return "another process is editing it"
    since = str(holder.get("since", "?"))[:19].replace("T", " ")
    return (f"{holder.get('user') or 'someone'} is editing it ({holder.get('host', '?')}, "
            f"pid {holder.get('pid', '?')}, since {since})")


def open_workspace(path: str | Path, read_only: bool) -> tuple[Workspace, str]:
    """The workspace at `path` for writing; when another process writes it and `read_only`,
    opened for reading, with who holds it."""
    locked = getattr(_errors, "WorkspaceLockedError", ())  # the one-writer lock (provenance package)
    try:
        return Workspace(path, create=False), ""
    except locked as exc:
        if not read_only:
            raise
        return Workspace(path, create=False, read_only=True), holder_text(getattr(exc, "holder", {}) or {})

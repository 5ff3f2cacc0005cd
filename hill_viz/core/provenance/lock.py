"""One writer per workspace: an exclusive OS file lock on `hill.lock` in the folder.

The lock is `flock(LOCK_EX)` on an open file: the operating system drops it when the
holder closes it, exits or crashes, so a killed process never leaves a stale lock. The
file also names the holder (host, pid, user, since when) for the one-line error a second
writer gets. Readers never take it. A second writer in the same process is refused too
(each open of the file is its own lock).
"""
from __future__ import annotations

import fcntl
import gc
import json
import os
import socket
import weakref
from pathlib import Path

from hill_viz.core.provenance.events import default_actor, now_utc
from hill_viz.core.provenance.files import storage_error
from hill_viz.errors import WorkspaceLockedError

LOCK_NAME = "hill.lock"


class WriterLock:
    """Held from construction until `release()` (or until the object is collected, or the process ends)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise storage_error(exc, f"cannot open workspace {self.folder} for writing", self.folder) from None
        try:
            _flock(fd)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise WorkspaceLockedError(locked_message(self.folder, holder), holder) from None
        except OSError as exc:
            os.close(fd)
            raise storage_error(exc, f"cannot lock workspace {self.folder}", self.folder) from None
        self.holder = {"host": socket.gethostname(), "pid": os.getpid(), "user": default_actor(), "since": now_utc()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(self.holder).encode(), 0)
        except OSError:
            pass  # the lock holds without the note; a second writer is told "another process"
        self._fd = fd
        self._finalizer = weakref.finalize(self, os.close, fd)  # a forgotten Workspace still lets go

    @property
    def held(self) -> bool:
        return self._finalizer.alive

    def release(self) -> None:
        self._finalizer()


def _flock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if _read_holder(fd).get("pid") != os.getpid():
            raise
        gc.collect()  # this process holds it: perhaps a Workspace nobody refers to any more (a notebook)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_holder(fd: int) -> dict:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def locked_message(folder: Path, holder: dict) -> str:
    if holder.get("pid"):
        who = (f"{holder.get('user', '?')} on {holder.get('host', '?')} (pid {holder['pid']}) "
               f"since {str(holder.get('since', '?'))[:19].replace('T', ' ')} UTC")
    else:
        who = "another process"
    return (f"workspace {folder} is already open for writing by {who}; close it there first, or open it "
            "read-only to review it (`hill-viz history`, `verify` and `replay` only read)")

"""PageRegistry: the pages a server has open, the session limit, the training queue, disk use.

A page is counted once its websocket opens (a plain GET builds nothing) and forgotten when
its session ends, so `max_sessions` bounds the work the server holds at once. A while after
a page leaves, the process collects its cycles and hands freed heap back to the system
(`release_memory`): the page's arrays were freed in the malloc arenas of the threads that
trained it, which glibc otherwise keeps.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import threading
import time
from pathlib import Path

from hill_viz.core.retention import DiskQuota
from hill_viz.session.queue import TrainingQueue

__all__ = ["PageRegistry", "limit_heap_growth", "release_memory"]

# Seconds after the last page leaves: its close is done (training cancelled, workspace closed),
# then what the pages let go of after that (180 MB more in one N = 8 load test).
RELEASE_AFTER_S = (10.0, 60.0)
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except (OSError, TypeError):
        return None


def release_memory() -> None:
    """Collect garbage and return free heap pages to the system (glibc's malloc_trim; elsewhere only gc)."""
    gc.collect()
    try:
        _libc().malloc_trim(0)
    except AttributeError:  # not glibc
        pass


def limit_heap_growth() -> bool:
    """Keep the server's heap from growing with every page it serves (glibc; elsewhere nothing: False).

    glibc gives threads that allocate at once arenas of their own (up to 8 per core), each
    growing to what its busiest moment held: two arenas in all, shared by every thread, so
    what one page freed serves the next. (Mapping large blocks apart as well returned still
    more, but cost the server 2.5x its CPU time in the N = 8 load test.) Call once, before
    the server starts its threads.
    """
    try:
        return bool(_libc().mallopt(_M_ARENA_MAX, MALLOC_ARENAS))
    except AttributeError:
        return False


def _release_later(called_off: threading.Event) -> None:
    """`release_memory` at each of RELEASE_AFTER_S, until `called_off` is set."""
    waited = 0.0
    for at in RELEASE_AFTER_S:
        if called_off.wait(at - waited):
            return
        waited = at
        release_memory()


class PageRegistry:
    """Open pages (user, app), counted against `max_pages`; one training queue for all of them."""

    def __init__(self, root: Path, max_pages: int | None, max_trainings: int, quota: DiskQuota | None = None):
        self.root = Path(root)
        self.max_pages = max_pages
        self.disk = quota or DiskQuota(root, None)  # without a quota: only measured, for the operator view
        self.queue = TrainingQueue(max_trainings)
        self._ids = itertools.count(1)
        self._pages: dict[int, dict] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()  # set: the pending release is called off
        self.refused = 0

    def enter(self, user: str | None) -> int | None:
        """A page id for a newly opened page, or None when the server has `max_pages` open."""
        with self._lock:
            if self.max_pages is not None and len(self._pages) >= self.max_pages:
                self.refused += 1
                return None
            page = next(self._ids)
            self._pages[page] = {"user": user, "app": None, "opened": time.time()}
            return page

    def attach(self, page: int, app) -> None:
        with self._lock:
            if page in self._pages:
                self._pages[page]["app"] = app

    def leave(self, page: int) -> None:
        """Forget the page; release memory RELEASE_AFTER_S after the last of the pages leaving together."""
        with self._lock:
            self._pages.pop(page, None)
            self._release.set()
            self._release = release = threading.Event()
        threading.Thread(target=_release_later, args=(release,), name="hill-release", daemon=True).start()

    def __len__(self) -> int:
        return len(self._pages)

    def apps(self) -> list:
        """What the open pages show that holds a Session (apps, reviews), oldest first."""
        with self._lock:
            return [p["app"] for p in self._pages.values() if getattr(p["app"], "session", None) is not None]

    def rows(self) -> list[dict]:
        """One row per open page, for the operator view."""
        with self._lock:
            pages = list(self._pages.items())
        rows = []
        for page, info in pages:
            session = getattr(info["app"], "session", None)
            rows.append({"page": page, "user": info["user"] or "-",
                         "opened": time.strftime("%H:%M:%S", time.localtime(info["opened"])),
                         "workspace": session.workspace.path.name if session else "-",
                         "status": session.status if session else "opening" if info["app"] is None else "list",
                         "queue": session.queue_position if session else 0})
        return rows

    def workspace_paths(self) -> list[Path]:
        """The workspaces of the open pages (retention leaves them alone, read-only ones too)."""
        return [Path(app.session.workspace.path) for app in self.apps() if getattr(app, "session", None)]

    @property
    def max_disk_bytes(self) -> int | None:
        return self.disk.max_bytes

    def disk_bytes(self) -> int:
        return self.disk.used()

    def disk_full(self) -> bool:
        return self.disk.full

"""PageRegistry: the pages a server has open, the session limit, the training queue, disk use.

A page is counted once its websocket opens (a plain GET builds nothing) and forgotten when
its session ends, so `max_sessions` bounds the work the server holds at once.
"""
from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from hill_viz.core.retention import DiskQuota
from hill_viz.session.queue import TrainingQueue

__all__ = ["PageRegistry"]


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
        with self._lock:
            self._pages.pop(page, None)

    def __len__(self) -> int:
        return len(self._pages)

    def apps(self) -> list:
        with self._lock:
            return [p["app"] for p in self._pages.values() if p["app"] is not None]

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
                         "status": session.status if session else "opening",
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

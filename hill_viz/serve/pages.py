"""PageRegistry: the pages a server has open, the session limit, the training queue, disk use.

A page is counted once its websocket opens (a plain GET builds nothing) and forgotten when
its session ends, so `max_sessions` bounds the work the server holds at once.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path

from hill_viz.session.queue import TrainingQueue

__all__ = ["PageRegistry", "folder_bytes"]

DISK_CHECK_S = 30.0  # disk use is re-measured at most this often


def folder_bytes(root: Path) -> int:
    """Bytes of every file under `root` (links not followed)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


class PageRegistry:
    """Open pages (user, app), counted against `max_pages`; one training queue for all of them."""

    def __init__(self, root: Path, max_pages: int | None, max_trainings: int, max_disk_bytes: int | None = None):
        self.root = Path(root)
        self.max_pages = max_pages
        self.max_disk_bytes = max_disk_bytes
        self.queue = TrainingQueue(max_trainings)
        self._ids = itertools.count(1)
        self._pages: dict[int, dict] = {}
        self._lock = threading.Lock()
        self._disk = (0.0, 0)  # (measured at, bytes)
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

    def disk_bytes(self) -> int:
        measured_at, used = self._disk
        if time.monotonic() - measured_at > DISK_CHECK_S:
            used = folder_bytes(self.root)
            self._disk = (time.monotonic(), used)
        return used

    def disk_full(self) -> bool:
        return self.max_disk_bytes is not None and self.disk_bytes() >= self.max_disk_bytes

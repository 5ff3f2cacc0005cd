"""TrainingQueue: how many training segments a server runs at once; the others wait in line.

One queue is shared by all sessions of a server. A worker asks for a slot before its
segment runs and gives it back after; while it waits, its Session shows `status="queued"`
and its place in line (`queue_position`, 1 = next). First come, first served.
"""
from __future__ import annotations

import itertools
import threading
from typing import Callable

__all__ = ["TrainingQueue"]


class TrainingQueue:
    """At most `max_running` holders at once; waiters are served in arrival order."""

    def __init__(self, max_running: int):
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        self.max_running = max_running
        self._cond = threading.Condition()
        self._tickets = itertools.count()
        self._waiting: list[int] = []       # tickets in line, oldest first
        self._running: dict[int, str] = {}  # ticket -> who holds the slot

    def acquire(self, who: str = "", on_position: Callable[[int], None] = lambda p: None,
                stop: Callable[[], bool] = lambda: False, poll_s: float = 0.2) -> int | None:
        """Wait for a slot; its ticket, or None if `stop()` became true while waiting.

        `on_position(k)` is told the place in line whenever it changes (0 once a slot is held).
        """
        with self._cond:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            told = None
            try:
                while True:
                    place = self._waiting.index(ticket) + 1
                    if place == 1 and len(self._running) < self.max_running:
                        self._waiting.remove(ticket)
                        self._running[ticket] = who
                        self._cond.notify_all()
                        break
                    if place != told:
                        on_position(place)
                        told = place
                    if stop():
                        self._waiting.remove(ticket)
                        self._cond.notify_all()
                        return None
                    self._cond.wait(poll_s)
            except BaseException:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                    self._cond.notify_all()
                raise
        on_position(0)
        return ticket

    def release(self, ticket: int | None) -> None:
        if ticket is None:
            return
        with self._cond:
            self._running.pop(ticket, None)
            self._cond.notify_all()

    def snapshot(self) -> dict:
        """{"running": [who...], "waiting": n, "max_running": k} for the operator view."""
        with self._cond:
            return {"running": list(self._running.values()), "waiting": len(self._waiting),
                    "max_running": self.max_running}

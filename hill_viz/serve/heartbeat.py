"""Heartbeat: is the server's event loop keeping up?

A tick every `every_s` on the loop records when it ran; a running loop is busy when the
last tick is more than `lag_s` ago (a long callback is running, or the loop waits for the
GIL that a training thread holds). The server installs `busy` as the foreground test of
`hill_viz.core.foreground`, so training steps wait while the pages need the loop.
"""
from __future__ import annotations

import asyncio
import time

__all__ = ["Heartbeat"]


class Heartbeat:
    """Ticks on an asyncio `loop` (which may run in another thread); `busy()` from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, every_s: float = 0.02, lag_s: float = 0.06):
        self.loop, self.every_s, self.lag_s = loop, every_s, lag_s
        self.last = time.monotonic()
        loop.call_soon_threadsafe(self._tick)

    def _tick(self) -> None:
        self.last = time.monotonic()
        self.loop.call_later(self.every_s, self._tick)

    def busy(self) -> bool:
        """Behind by more than `lag_s`; never once the loop stopped (no pages left to serve)."""
        return self.loop.is_running() and time.monotonic() - self.last > self.lag_s

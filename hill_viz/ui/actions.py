"""Running Session calls from the UI: off the event loop, user mistakes as notifications.

One `Actions` object per browser session runs every component's calls into the Session
and reports what went wrong: a `HillError` becomes a one-line error notification; any
other exception is logged and shown as an internal error, so a callback never takes the
page down. Components reach it through `SessionComponent` (`run`, `spawn`, `report`).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import param

from hill_viz.errors import HillError

__all__ = ["FAILED", "Actions"]

log = logging.getLogger(__name__)
FAILED = object()  # what `call`/`run` return when the call raised (and was reported)


class Actions(param.Parameterized):
    """Calls into the Session for one browser session and reports what went wrong."""

    notifications = param.Parameter(default=None, doc="Panel NotificationArea of the page (None: headless)")
    busy = param.Integer(default=0, doc="Number of actions running off the event loop")
    last_message = param.String(default="", doc="The last message shown, for tests and the status line")

    def __init__(self, **params):
        super().__init__(**params)
        self.messages: list[tuple[str, str]] = []  # (level, text), everything shown

    # -- reporting ----------------------------------------------------------------------------
    def notify(self, text: str, level: str = "info") -> None:
        """Show a message (info, success, warning, error); errors stay until closed."""
        self.messages.append((level, text))
        self.last_message = text
        area = self.notifications
        if area is not None:
            getattr(area, level)(text, duration=0 if level == "error" else 4000)

    def error(self, text: str) -> None:
        self.notify(text, "error")

    def report(self, exc: BaseException) -> None:
        """Show what a failed call raised: a user mistake as it is, a bug as an internal error."""
        if isinstance(exc, HillError):
            self.error(str(exc))
        else:
            log.error("UI action failed", exc_info=exc)
            self.error(f"internal error ({type(exc).__name__}: {exc}); your recorded work is kept")

    # -- running ------------------------------------------------------------------------------
    def call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run a quick call on the current thread; FAILED if it raised (and was reported)."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into Panel
            self.report(exc)
            return FAILED

    async def run(self, fn: Callable, *args, **kwargs) -> Any:
        """Run a call in a worker thread so the server keeps serving; FAILED if it raised."""
        self.busy += 1
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self.report(exc)
            return FAILED
        finally:
            self.busy -= 1

"""Running Session calls from the UI: off the event loop, user mistakes as notifications.

Every button of the app goes through one `Actions` object per browser session. A
`HillError` becomes a one-line error notification; any other exception is logged and
shown as an internal error, so a callback never takes the page down.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import param

from hill_viz.errors import HillError

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
        self.messages.append((level, text))
        self.last_message = text
        area = self.notifications
        if area is not None:
            getattr(area, level)(text, duration=0 if level == "error" else 4000)

    def error(self, text: str) -> None:
        self.notify(text, "error")

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, HillError):
            self.error(str(exc))
        else:
            log.exception("UI action failed", exc_info=exc)
            self.error(f"internal error ({type(exc).__name__}: {exc}); your recorded work is kept")

    # -- running ------------------------------------------------------------------------------
    def call(self, fn: Callable, *args, **kwargs) -> Any | None:
        """Run a quick call on the current thread; FAILED if it raised (and was reported)."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into Panel
            self._failed(exc)
            return FAILED

    async def run(self, fn: Callable, *args, **kwargs) -> Any | None:
        """Run a call in a worker thread so the server keeps serving; FAILED if it raised."""
        self.busy += 1
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return FAILED
        finally:
            self.busy -= 1

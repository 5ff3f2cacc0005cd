"""SessionComponent: the base of every UI component.

A component is a Viewer holding the Session it shows and the page's `Actions`, which
runs calls and reports what goes wrong (one per page, shared by its components; a
component made alone gets its own). It follows Session parameters with `watch` (changes
made on any thread reach the page's event loop) and runs Session calls off the event
loop with `spawn` (from a plain callback) or `run` (awaited). Errors go to `report`.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable

import panel as pn
import param
from panel.viewable import Viewer

from hill_viz.errors import ConfigError
from hill_viz.session import Session
from hill_viz.ui.actions import FAILED, Actions
from hill_viz.ui.session_watch import SessionWatch

__all__ = ["FAILED", "SessionComponent"]


class SessionComponent(Viewer):
    """A Viewer of one Session: watches its parameters, calls its methods through `actions`."""

    session = param.ClassSelector(class_=Session, doc="The Session this component shows and drives")
    actions = param.ClassSelector(class_=Actions, doc="Runs calls and reports errors (one per page)")

    def __init__(self, **params):
        super().__init__(**params)
        name = type(self).__name__
        if self.session is None:
            raise ConfigError(f"{name} needs a session: {name}(session=Session(...))")
        if self.actions is None:
            self.actions = Actions(notifications=pn.state.notifications)
        self._watches: list[SessionWatch] = []
        self._tasks: set[asyncio.Task] = set()  # calls running off the loop (kept, or they may be collected)

    # -- following the Session -------------------------------------------------------------------
    def watch(self, names: Iterable[str], callback: Callable[[set[str]], None],
              source: param.Parameterized | None = None) -> SessionWatch:
        """Call `callback(changed_names)` on the page's event loop after any of `names` of the
        Session (or of `source`) change, on whatever thread they changed."""
        watch = SessionWatch(self.session if source is None else source, tuple(names), callback)
        watch.attach()
        self._watches.append(watch)
        return watch

    @property
    def page(self):
        """The Bokeh document of the page this component is on; None before one (or with none: tests)."""
        return next((watch.doc for watch in self._watches if watch.doc is not None), None)

    def attach(self) -> None:
        """Bind the watches and the notifications to the current page (call from `__panel__`)."""
        for watch in self._watches:
            watch.attach()
        if self.actions.notifications is None:
            self.actions.notifications = pn.state.notifications

    # -- running Session calls -------------------------------------------------------------------
    async def run(self, fn: Callable, *args, **kwargs) -> Any:
        """Await `fn(*args)` run in a worker thread; FAILED if it raised (reported)."""
        return await self.actions.run(fn, *args, **kwargs)

    def spawn(self, fn: Callable, *args, then: Callable[[Any], None] | None = None) -> None:
        """Start `fn(*args)` off the event loop and return; `then(result)` runs on the loop after.

        With no running loop (tests, scripts) both run here and now. A failure is reported
        and `then` gets FAILED.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            result = self.actions.call(fn, *args)
            if then is not None:
                then(result)
            return

        async def go():
            result = await self.actions.run(fn, *args)
            if then is not None:
                then(result)
        task = loop.create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def report(self, error: BaseException | str) -> None:
        """Show an error on the page: a message, or what a failed call raised."""
        if isinstance(error, BaseException):
            self.actions.report(error)
        else:
            self.actions.error(error)

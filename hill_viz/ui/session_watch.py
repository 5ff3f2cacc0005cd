"""Run a component's refresh on its page's event loop when Session parameters change.

The Session changes its parameters (`frame`, `selection`, `pending`, `head`...) on
whatever thread does the work (the trainer's worker, `asyncio.to_thread`). Bokeh models
may only change on the document's event loop, so a change seen on another thread is
handed to the document with `add_next_tick_callback`; one seen on the loop (or with no
page: tests) runs at once.
When the page closes, the watch stops, so a long-lived Session does not keep dead pages.
`page_tick` runs a page's periodic refresh the same way: on its loop, until it closes.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Callable

import panel as pn
from panel.io.state import set_curdoc

from hill_viz.ui import model_graph  # noqa: F401 - a freeze recomputes only when the page's graph changed

__all__ = ["SessionWatch", "batched", "page_tick"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def batched(doc=None):
    """For a block that updates several plots: the page's models are recomputed once, when the
    block ends, and only if it changed which models the page holds (`hill_viz.ui.model_graph`).
    No page: nothing deferred."""
    doc = doc or pn.state.curdoc
    if doc is None:
        yield
        return
    doc.models._push_freeze()
    try:
        yield
    finally:  # not Bokeh's freeze(): it stays frozen when its block raises
        doc.models._pop_freeze()


def page_tick(callback: Callable[[], None], period_ms: int):
    """Call `callback` every `period_ms` on the current page's event loop until the page closes.

    A background callback: Panel marks a foreground one as busy work, and its busy state is
    one per process, so every tick of every page would redraw every page's busy indicator
    (half the event loop's time with eight pages open).
    """
    from panel.io.callbacks import PeriodicCallback

    tick = PeriodicCallback(callback=callback, period=period_ms, background=True, log=False)
    tick.start()
    pn.state.on_session_destroyed(lambda context: tick.stop())
    return tick


class SessionWatch:
    """Calls `callback(names)` after any of the watched parameters of `session` change.

    `session` may be any Parameterized (a component watches its own parameters this way too).
    """

    def __init__(self, session, names: tuple[str, ...], callback: Callable[[set[str]], None]):
        self.session = session
        self.callback = callback
        self.doc = None
        self._loop_thread: int | None = None
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._watcher = session.param.watch(self._changed, list(names))

    def attach(self) -> None:
        """Remember the current page (call while building the component inside a session)."""
        doc = pn.state.curdoc
        if self.doc is None and doc is not None and doc.session_context is not None:
            self.doc = doc
            self._loop_thread = threading.get_ident()
            pn.state.on_session_destroyed(lambda context: self.stop())

    def stop(self) -> None:
        """Stop watching (the page is gone)."""
        if self._watcher is not None:
            self.session.param.unwatch(self._watcher)
            self._watcher = None

    def _changed(self, *events) -> None:
        # never raise: this runs inside the Session's methods, on any thread
        with self._lock:
            first = not self._pending
            self._pending.update(e.name for e in events)
        try:
            if self.doc is None or threading.get_ident() == self._loop_thread:
                self._flush()
            elif first:  # one scheduled flush drains all changes made until it runs
                self.doc.add_next_tick_callback(self._flush_on_doc)
        except Exception:  # noqa: BLE001
            log.exception("refreshing a view after a Session change failed")

    def _flush_on_doc(self) -> None:
        try:
            with set_curdoc(self.doc):
                self._flush()
        except Exception:  # noqa: BLE001
            log.exception("refreshing a view after a Session change failed")

    def _flush(self) -> None:
        with self._lock:
            names, self._pending = self._pending, set()
        if names:
            self.callback(names)

"""Background work gives way to a busy foreground.

A server's pages share one event loop, and training threads share the GIL with it: a
training step that holds the GIL between torch calls delays every page's selection and
redraw. Long loops (training, learned-view fits) call `pause_while_busy()` between steps;
a server says what "busy" means with `set_busy_test` (its event loop's lag, see
`hill_viz.serve.heartbeat`). Without one (scripts, notebooks, the CLI) nothing ever waits.
"""
from __future__ import annotations

import time
from typing import Callable

__all__ = ["MAX_PAUSE_S", "pause_while_busy", "set_busy_test"]

MAX_PAUSE_S = 0.5  # per step at most: a saturated foreground slows training, never stops it
_POLL_S = 0.005

_busy: Callable[[], bool] | None = None


def set_busy_test(test: Callable[[], bool] | None) -> None:
    """Install the process's foreground test (None: never busy)."""
    global _busy
    _busy = test


def pause_while_busy(max_pause_s: float | None = None) -> float:
    """Sleep (the GIL released) while the foreground is busy, at most `max_pause_s` (default
    MAX_PAUSE_S); the seconds slept."""
    test = _busy
    if test is None or not test():
        return 0.0
    max_pause_s = MAX_PAUSE_S if max_pause_s is None else max_pause_s
    start = time.monotonic()
    while True:
        time.sleep(_POLL_S)
        waited = time.monotonic() - start
        if waited >= max_pause_s or not test():
            return waited

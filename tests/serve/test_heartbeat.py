"""The server's heartbeat tells training threads when its event loop is behind."""
import asyncio
import threading
import time

import pytest

from hill_viz.serve.heartbeat import Heartbeat


@pytest.fixture
def loop():
    """An asyncio loop running in a thread of its own, stopped after the test."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def eventually(predicate, within_s=5.0) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_an_idle_loop_is_not_busy_and_a_blocked_one_is(loop):
    beat = Heartbeat(loop, every_s=0.01, lag_s=0.1)
    assert eventually(lambda: not beat.busy())
    released = threading.Event()
    loop.call_soon_threadsafe(lambda: released.wait(10))  # a long callback holds the loop
    assert eventually(beat.busy)
    released.set()
    assert eventually(lambda: not beat.busy())


def test_a_stopped_loop_is_never_busy():
    loop = asyncio.new_event_loop()
    beat = Heartbeat(loop, every_s=0.01, lag_s=0.01)
    time.sleep(0.05)  # long past its lag, but the loop does not run: a stopped server holds no page
    assert not beat.busy()
    loop.close()

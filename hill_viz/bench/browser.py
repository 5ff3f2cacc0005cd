"""Headless Debian chromium and a Panel app served from this process (UI benchmark, browser tests).

Serving in-process lets the caller assert on (or time) the very objects the page drives.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time

CHROMIUM = os.environ.get("HILL_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(factory, timeout: float = 60.0):
    """Serve `factory` (called once per browser session) on a free 127.0.0.1 port; yield the URL."""
    import panel as pn

    port = free_port()
    server = pn.serve(factory, port=port, address="127.0.0.1", threaded=True, show=False, verbose=False,
                      websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"])
    deadline = time.time() + timeout
    while True:  # wait for the port without requesting the page (a request would build a session)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                server.stop()
                raise RuntimeError(f"the server on port {port} did not start in {timeout} s") from None
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.stop()


def wait_until(condition, timeout: float, what: str, page=None) -> None:
    """Poll `condition` until it holds; with a page, waiting lets its event handlers run."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)

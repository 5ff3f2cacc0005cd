"""Real-browser fixtures: a Panel server in this process and headless Debian chromium.

Use `served(factory)` to serve an app on a free 127.0.0.1 port; it yields the URL and
stops the server afterwards. Keep references to what the factory builds (e.g. append
the Session to a list) and assert on those objects directly.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HILL_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    """Mark the browser tests `e2e` and run them last, after the quick feedback."""
    browser_tests = [item for item in items if "e2e" in item.path.parts]
    for item in browser_tests:
        item.add_marker(pytest.mark.e2e)
    items[:] = [item for item in items if item not in browser_tests] + browser_tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(factory, timeout: float = 60.0):
    """Serve `factory` (called once per browser session) and yield its URL."""
    import panel as pn

    port = free_port()
    server = pn.serve(factory, port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"])
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            break
        except OSError:
            if time.time() > deadline:
                server.stop()
                raise RuntimeError(f"server on {url} did not start in {timeout} s")
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")  # Playwright's sync API keeps an event loop running while it is open
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.console_errors = errors
    yield pg
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def serve():
    """`served` as a fixture, for test modules: `with serve(factory) as url: ...`."""
    return served

"""Real-browser fixtures: a Panel server in this process and headless Debian chromium.

Serve with `hill_viz.bench.browser.served(factory)` (a free 127.0.0.1 port; it yields the
URL and stops the server afterwards). Keep references to what the factory builds (e.g.
append the Session to a list) and assert on those objects directly.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from hill_viz.bench.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, served

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    """Mark the browser tests `e2e` and run them last, after the quick feedback."""
    browser_tests = [item for item in items if "e2e" in item.path.parts]
    for item in browser_tests:
        item.add_marker(pytest.mark.e2e)
    items[:] = [item for item in items if item not in browser_tests] + browser_tests


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
    context = browser.new_context(viewport=VIEWPORT)
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
def serve_pages():
    """`serve_pages(build)`: a context manager serving `build(k)` as the k-th page (see `served_pages`)."""
    return served_pages


@pytest.fixture
def serve_apps():
    """`serve_apps(new_session, **app_options)`: a context manager serving the app (see `served_apps`)."""
    return served_apps


@contextlib.contextmanager
def served_pages(build):
    """Serve `build(k)` for the k-th page opened; yields (url, pages), each what `build` returned."""
    pages = []

    def factory():
        pages.append(build(len(pages)))
        return pages[-1]

    with served(factory) as url:
        yield url, pages


@contextlib.contextmanager
def served_apps(new_session, **app_options):
    """Serve `build_app(new_session(k), **app_options)` for the k-th page; yields (url, apps),
    apps being each page's HillApp, closed afterwards."""
    from hill_viz.ui.app import build_app

    apps = []

    def build(k):
        template = build_app(new_session(k), **app_options)
        apps.append(template.hill_app)
        return template

    with served_pages(build) as (url, _):
        yield url, apps
    for app in apps:
        app.close()

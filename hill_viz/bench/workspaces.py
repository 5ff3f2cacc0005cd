"""Workspace list: 500 workspaces list in a fraction of a second from the index.

Each workspace is a copy of one realistic log (`bench.timeline.build_log`, a few hundred
events with edits, training segments and bias reports) under one root. Figures, each
against re-reading every log in the same run (what a list without an index must do):
- `workspace_list_cold`: the first listing, which builds the index from every log;
- `workspace_list_warm`: a listing once the index is current (what each page load costs);
- `workspace_list_one_changed`: a listing after one workspace recorded an event without the index;
- `workspace_list_page` (with `--page`): the served list page in headless chromium, from
  navigation to its first row on screen.
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from hill_viz.bench import best_time, figure


def add_arguments(parser) -> None:
    parser.add_argument("--workspaces", type=int, default=500, help="workspaces under the root (default 500)")
    parser.add_argument("--events", type=int, default=300, help="events per workspace log (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per figure, best kept (default 3)")
    parser.add_argument("--page", action="store_true", help="also time the list page in headless chromium")


def build_root(root: Path, n_workspaces: int, n_events: int) -> list[Path]:
    from hill_viz.bench.timeline import build_log

    template = build_log(root / "_template", n_events)
    folders = [Path(shutil.copytree(template, root / f"ws-{k:04d}")) for k in range(n_workspaces)]
    shutil.rmtree(template)
    return folders


def run(args) -> list[dict]:
    from hill_viz.core.workspaces import INDEX_NAME, WorkspaceIndex, summarize

    with tempfile.TemporaryDirectory(prefix="hill-bench-workspaces-") as tmp:
        root = Path(tmp)
        folders = build_root(root, args.workspaces, args.events)
        full_scan = best_time(lambda: [summarize(f) for f in folders], args.repeat)

        def cold():
            (root / INDEX_NAME).unlink(missing_ok=True)
            assert len(WorkspaceIndex(root).list()) == len(folders)
        cold_s = best_time(cold, args.repeat)
        warm_s = best_time(lambda: WorkspaceIndex(root).list(), args.repeat)

        def one_changed():
            with sqlite3.connect(folders[0] / "hill.sqlite") as db:  # a writer that knows no index
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('title', 'touched')")
            WorkspaceIndex(root).list()
        changed_s = best_time(one_changed, args.repeat)
        n, base = len(folders), "re-read every log (no index)"
        page = [figure("workspace_list_page", n, _page_time(root, args.repeat), "s", base, full_scan,
                       events=args.events)] if args.page else []
        return page + [figure("workspace_list_cold", n, cold_s, "s", base, full_scan, events=args.events),
                figure("workspace_list_warm", n, warm_s, "s", base, full_scan, events=args.events),
                figure("workspace_list_one_changed", n, changed_s, "s", base, full_scan, events=args.events)]


def _page_time(root: Path, repeat: int) -> float:
    """Best time from navigation to the list's first row visible, in headless chromium."""
    import time

    from playwright.sync_api import sync_playwright

    from hill_viz.bench.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, served
    from hill_viz.ui.site import Site

    best = float("inf")
    with served(Site(root).factory) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for _ in range(repeat):
            page = browser.new_page(viewport=VIEWPORT)
            start = time.perf_counter()
            page.goto(url, timeout=180_000)
            page.locator(".hill-workspace-list .tabulator-row").first.wait_for(timeout=180_000)
            best = min(best, time.perf_counter() - start)
            page.close()
        browser.close()
    return best

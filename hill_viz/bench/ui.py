"""UI responsiveness: box-selection round trip in the browser, training running vs idle.

The app is served in this process and opened in headless chromium. One round trip is
timed inside the page: from the mouse-up that ends a box drag on the latent view, through
the server resolving the box to ids, to the moment the latent view's status line holds the
new selection count (sent in the same update as the highlight layer; painted on the next
animation frame). The baseline is the same
round trip with training idle, measured in the same run.
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from hill_viz.bench import figure
from hill_viz.bench.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, served, wait_until
from hill_viz.ui.latent_view import STATUS_CLASS, VIEW_CLASS

TARGET_MS = 500.0

# Runs in the page: stamps the mouse-up, then watches the latent view's status line on every frame.
PROBE_JS = """() => {
  const title = () => {
    for (const doc of Bokeh.documents)
      for (const m of doc.all_models)
        if (m.css_classes && m.css_classes.includes('%s') && typeof m.text === 'string') return m.text;
    return null;
  };
  const h = window.__hill = {up: null, done: null, before: null, title,
                             arm() { this.up = null; this.done = null; this.before = title(); }};
  window.addEventListener('pointerup', () => { if (h.up === null) h.up = performance.now(); }, true);
  const tick = () => {
    if (h.up !== null && h.done === null && title() !== h.before) h.done = performance.now();
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}""" % STATUS_CLASS


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=int, default=1_000_000, help="blobs samples (default 1000000)")
    parser.add_argument("--rounds", type=int, default=5, help="box selections timed per condition (default 5)")


def run(args) -> list[dict]:
    import holoviews as hv
    from playwright.sync_api import sync_playwright

    from hill_viz.session import Session
    from hill_viz.ui.app import build_app

    hv.extension("bokeh")
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(Path(tmp) / "ws")
        session.load_dataset("blobs", n=args.n)
        session.build_model()
        apps = []

        def factory():
            template = build_app(session, pretrain_epochs=0)
            apps.append(template.hill_app)
            return template

        try:
            with served(factory) as url, sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url)
                wait_until(lambda: apps and apps[0].loaded.is_set(), 120, "the page", page)
                page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
                page.wait_for_timeout(2000)
                page.evaluate(PROBE_JS)
                page.wait_for_function("() => window.__hill.title() !== null", timeout=60_000)
                boxes = _boxes(page)
                idle = [_round_trip(page, session, boxes[i % 2]) for i in range(args.rounds + 1)][1:]
                session.train(10_000)
                wait_until(lambda: session.status == "training" and session.progress > 0, 60, "training", page)
                busy = [_round_trip(page, session, boxes[i % 2]) for i in range(args.rounds + 1)][1:]
                steps_during = session.trainer.step
                session.cancel()
                session.wait(120)
                browser.close()
        finally:
            for app in apps:
                app.close()
            session.wait(120)
            session.workspace.close()
    base_median, busy_median = statistics.median(idle), statistics.median(busy)
    base_p90, busy_p90 = _p90(idle), _p90(busy)
    extra = dict(target_ms=TARGET_MS, rounds=args.rounds, samples_ms=[round(v, 1) for v in busy],
                 baseline_samples_ms=[round(v, 1) for v in idle], trainer_steps=steps_during)
    return [
        figure("box_select_round_trip_training_median", args.n, busy_median, "ms",
               "box_select_round_trip_idle_median", base_median, meets_target=busy_median < TARGET_MS, **extra),
        figure("box_select_round_trip_training_p90", args.n, busy_p90, "ms",
               "box_select_round_trip_idle_p90", base_p90, meets_target=busy_p90 < TARGET_MS, **extra),
    ]


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def _boxes(page) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Two boxes in page pixels on the latent view, of different sizes (different counts)."""
    area = page.locator(f".{VIEW_CLASS} .bk-events").first.bounding_box()

    def box(lo: float, hi: float):
        return ((area["x"] + lo * area["width"], area["y"] + lo * area["height"]),
                (area["x"] + hi * area["width"], area["y"] + hi * area["height"]))
    return [box(0.40, 0.55), box(0.30, 0.65)]


def _round_trip(page, session, box) -> float:
    """Milliseconds from mouse-up to the status line holding the new selection."""
    (x0, y0), (x1, y1) = box
    before = session.selection  # every selection is a new array
    for _ in range(3):  # a redraw of the cloud (new frame) resets the active tool: try again
        page.locator(f".{VIEW_CLASS} .bk-tool-icon-box-select").first.click()
        page.evaluate("() => window.__hill.arm()")
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x1, y1, steps=6)
        page.mouse.up()
        try:
            page.wait_for_function("() => window.__hill.done !== null", timeout=15_000)
            return float(page.evaluate("() => window.__hill.done - window.__hill.up"))
        except Exception:  # noqa: BLE001 - playwright's TimeoutError
            if session.selection is before:
                continue
            raise
    raise RuntimeError("benchmark: the box selection never reached the server")

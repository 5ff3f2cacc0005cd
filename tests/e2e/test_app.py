"""The HILL app in headless chromium: train, box-select a class, drag it, apply, train on.

The server runs in this process (`served`), so the tests assert on the very Session the
page drives: its event store, its pending edits, its latent frame.
"""
import io

import numpy as np
import pytest
from PIL import Image

from hill_viz.bench.browser import wait_until
from hill_viz.session import Session
from hill_viz.ui.latent_view import VIEW_CLASS

N = 3000  # digits-shortcut samples: an epoch in about a second
VIEW = f".{VIEW_CLASS}"



@pytest.fixture
def app_server(tmp_path, serve_apps):
    """Serve the app; yields (url, apps) where apps collects the HillApp of each page."""
    with serve_apps(lambda k: Session(tmp_path / f"ws-{k}"), dataset="digits-shortcut", n=N,
                     pretrain_epochs=0) as served_pages:
        yield served_pages


def open_app(page, url, apps):
    page.goto(url)
    wait_until(lambda: any(a.loaded.is_set() for a in apps), 60, "the page to open", page)
    (app,) = [a for a in apps if a.loaded.is_set()]
    wait_until(app.ready.is_set, 60, "the first model", page)
    page.locator(f"{VIEW} .bk-events").first.wait_for(state="visible", timeout=30_000)
    return app


class PixelMap:
    """Page pixels <-> view coordinates of the latent view, calibrated from one box drag."""

    def __init__(self, px: tuple[float, float], py: tuple[float, float], box: tuple[float, float, float, float]):
        x0, y0, x1, y1 = box              # the box the server received: left, bottom, right, top
        self.ax = (px[1] - px[0]) / (x1 - x0)
        self.bx = px[0] - self.ax * x0
        self.ay = (py[1] - py[0]) / (y0 - y1)  # page y grows downwards
        self.by = py[0] - self.ay * y1

    def to_page(self, x: float, y: float) -> tuple[float, float]:
        return self.ax * x + self.bx, self.ay * y + self.by


def choose_tool(page, icon: str) -> None:
    page.locator(f"{VIEW} .bk-tool-icon-{icon}").first.click()


def drag(page, start, end) -> None:
    """Press, nudge (Bokeh starts a pan where the pointer first moves), then glide in ~10 px steps."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 1, start[1] + 1, steps=2)
    steps = max(8, int(np.hypot(end[0] - start[0], end[1] - start[1]) / 10))
    page.mouse.move(*end, steps=steps)
    page.wait_for_timeout(100)
    page.mouse.up()


def box_select(page, session, start, end, attempts: int = 3) -> None:
    """Drag a box; again if the plot was being redrawn (a redraw resets the active tool)."""
    before = session.selection  # every selection is a new array
    for attempt in range(attempts):
        choose_tool(page, "box-select")
        drag(page, start, end)
        try:
            wait_until(lambda: session.selection is not before and session.selector is not None, 10,
                       "the box selection to reach the server", page)
            return
        except TimeoutError:
            if attempt == attempts - 1:
                page.screenshot(path="test-artifacts/app-box-select-failed.png")
                raise


def browser_ranges(page, view) -> list:
    """(Range1d on the server, [start, end, reset_start, reset_end] the browser holds for it,
    or None) for each axis of the latent view on the page."""
    server = [r for pair in view.axis_ranges() for r in pair]
    browser = page.evaluate("""ids => ids.map(id => {
        for (const doc of Bokeh.documents) {
            const m = doc.get_model_by_id(id);
            if (m) return [m.start, m.end, m.reset_start, m.reset_end];
        }
        return null; })""", [r.id for r in server])
    return list(zip(server, browser))


def axes_shown(page, view) -> bool:
    """True once the browser's axes are the server's: a move of the axes (the view re-homed
    on a new cloud) can reach a page on busy cores seconds after the Session is ready."""
    ranges = browser_ranges(page, view)
    return bool(ranges) and all(b is not None and np.allclose(b[:2], [r.start, r.end], rtol=1e-6, atol=1e-9)
                                for r, b in ranges)


def calibrate(page, view) -> PixelMap:
    """Map page pixels to view coordinates once the page shows the server's axes."""
    wait_until(lambda: axes_shown(page, view), 60, "the browser to show the server's axes", page)
    session = view.session
    area = page.locator(f"{VIEW} .bk-events").first.bounding_box()
    px = (area["x"] + 0.40 * area["width"], area["x"] + 0.60 * area["width"])
    py = (area["y"] + 0.40 * area["height"], area["y"] + 0.60 * area["height"])
    box_select(page, session, (px[0], py[0]), (px[1], py[1]))
    assert session.selector.kind == "box"
    return PixelMap(px, py, session.selector.box)


def purest_class_box(frame):
    """The class whose central box (30-70% quantiles) is most dominated by it, and that box."""
    x, y, labels = frame.column("x"), frame.column("y"), frame.column("label")
    best = None
    for c in np.unique(labels):
        mine = labels == c
        (x0, x1), (y0, y1) = np.quantile(x[mine], [0.3, 0.7]), np.quantile(y[mine], [0.3, 0.7])
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        purity = float((labels[inside] == c).mean()) if inside.any() else 0.0
        if best is None or purity > best[0]:
            best = (purity, int(c), (float(x0), float(y0), float(x1), float(y1)))
    return best


def centroid(frame, ids):
    rows = frame.rows_of_ids(ids)
    return np.array([frame.column("x")[rows].mean(), frame.column("y")[rows].mean()])


def handle_drawn_at(page, xy) -> bool:
    """True once the browser shows the (black, 18 px) handle centred on page position xy."""
    png = page.screenshot(clip={"x": xy[0] - 2, "y": xy[1] - 2, "width": 5, "height": 5})
    return bool((np.asarray(Image.open(io.BytesIO(png)).convert("L")) < 60).all())


def set_epochs_and_train(page, epochs: int) -> None:
    field = page.locator(".hill-epochs input").first
    field.fill(str(epochs))
    field.press("Enter")
    page.get_by_role("button", name="Train", exact=True).click()


def test_train_select_drag_apply_train(page, app_server, artifacts):
    url, apps = app_server
    app = open_app(page, url, apps)
    session = app.session
    assert session.dataset.name == "digits-shortcut" and session.trainer.epoch == 0

    # train 2 epochs with the button
    page.get_by_role("button", name="Train", exact=True).click()
    wait_until(lambda: session.trainer.epoch == 2 and session.status == "ready", 90, "2 epochs", page)
    page.wait_for_timeout(1500)  # the cloud redraws for the new frame

    # box-select the core of the class that dominates its own region most
    pixels = calibrate(page, app.latent_view)
    purity, label, (x0, y0, x1, y1) = purest_class_box(session.frame)
    assert purity > 0.6
    box_select(page, session, pixels.to_page(x0, y1), pixels.to_page(x1, y0))
    ids = session.selection.copy()
    labels = session.dataset.labels[session.frame.rows_of_ids(ids)]
    assert len(ids) >= 20 and (labels == label).mean() > 0.5

    # drag the handle from the selection's centroid to a target a third of the cloud away
    tools = app.edit_tools
    wait_until(lambda: tools.shown[0] is session.selection and tools.anchor is not None,
               30, "the edit tools to show the selection", page)
    start = np.array(tools.anchor)
    wait_until(lambda: handle_drawn_at(page, pixels.to_page(*start)), 30, "the handle in the browser", page)
    x, y = session.frame.column("x"), session.frame.column("y")
    span = np.array([np.ptp(x), np.ptp(y)])
    direction = np.sign(np.array([x.mean(), y.mean()]) - start) * np.array([1.0, 0.0])
    direction[0] = direction[0] or 1.0
    target = start + direction * 0.3 * span
    choose_tool(page, "point-draw")
    page.screenshot(path=str(artifacts / "app-before-drag.png"))
    drag(page, pixels.to_page(*start), pixels.to_page(*target))
    try:
        wait_until(lambda: len(session.pending) == 1, 30, "the translate edit", page)
    except TimeoutError:
        page.screenshot(path=str(artifacts / "app-drag-failed.png"))
        raise
    (pending,) = session.pending
    moved = np.array([pending.edit.param("dx"), pending.edit.param("dy")])
    assert np.allclose(moved, target - start, atol=0.02 * span.max())  # a pixel or two off at most
    page.wait_for_timeout(1000)  # let the arrow and the outline draw
    page.screenshot(path=str(artifacts / "app-before-apply.png"), full_page=True)

    # the edit is recorded with its resolved ids
    added = [e for e in session.workspace.store.events() if e.kind == "edit_added"]
    assert len(added) == 1 and added[0].params["ids"] == ids.tolist()
    assert added[0].params["edit"]["op"] == "translate"

    # apply (5 epochs of distillation), then train 3 more epochs
    page.get_by_role("button", name="Apply edits").click()
    wait_until(lambda: len(session.teachers) == 1, 60, "the teacher", page)
    wait_until(lambda: session.status == "ready" and session.trainer.epoch == 7, 120, "5 epochs with the edit", page)
    set_epochs_and_train(page, 3)
    wait_until(lambda: session.trainer.epoch == 10 and session.status == "ready", 120, "3 more epochs", page)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "app-after-training.png"), full_page=True)

    # the selected class's centroid in the frozen view moved at least half way to the target
    wanted = target - start
    achieved = centroid(session.frame, ids) - start
    assert float(achieved @ wanted) / float(wanted @ wanted) >= 0.5
    kinds = [e.kind for e in session.workspace.store.events()]
    assert kinds.count("edits_applied") == 1 and kinds.count("training_segment") == 3
    assert app.actions.messages and not [m for level, m in app.actions.messages if level == "error"]
    assert page.console_errors == []


def test_apply_without_edits_shows_what_to_do(page, app_server, artifacts):
    url, apps = app_server
    app = open_app(page, url, apps)
    page.get_by_role("button", name="Apply edits").click()
    message = page.locator(".notyf__message").first
    message.wait_for(timeout=15_000)
    assert message.inner_text() == "there are no pending edits to apply; make an edit first"
    page.screenshot(path=str(artifacts / "app-apply-without-edits.png"))
    kinds = [e.kind for e in app.session.workspace.store.events()]
    assert "edits_applied" not in kinds and app.session.status == "ready"
    # the page goes on working after the mistake
    page.get_by_role("button", name="Train", exact=True).click()
    wait_until(lambda: app.session.trainer.epoch == 2 and app.session.status == "ready", 90, "2 epochs", page)


def test_axes_follow_the_first_cloud_without_a_new_plot(page, app_server):
    """The first model's cloud lies far from the empty view's unit axes: the page's axes move
    to it (and reset returns there) while the plot stays the one the page drew first."""
    url, apps = app_server
    page.goto(url)
    wait_until(lambda: bool(apps), 60, "the page to be built", page)
    view = apps[0].latent_view
    first_plot = view.plot
    wait_until(apps[0].ready.is_set, 120, "the first model", page)
    home = view._home_viewport()
    assert home.x_range != (0.0, 1.0)

    def shows(span):
        return any(b is not None and None not in b and np.allclose(b, [*span, *span], rtol=1e-6, atol=1e-9)
                   for _, b in browser_ranges(page, view))
    wait_until(lambda: shows(home.x_range) and shows(home.y_range), 60, "the axes to move to the cloud", page)
    assert view.plot is first_plot
    (x0, y0, x1, y1) = view.cloud.last.bounds.lbrt()  # the cloud drawn for the axes shown
    assert np.allclose([x0, x1, y0, y1], [*home.x_range, *home.y_range])

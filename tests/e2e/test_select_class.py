"""On a 20-class embeddings file, the learned view lets a person box-select one class.

A generated Parquet file (20 classes, 64-d; `hill_viz.bench.embeddings`), a model trained
one epoch, the default (learned) projection. In headless chromium: one calibration drag
maps screen pixels to view coordinates (the box the server receives), then a box is dragged
around the core of the class that stands furthest from the others; at least 90% of the
points the server selects must be that class.
"""

import numpy as np
import pytest

from hill_viz.bench.browser import wait_until
from hill_viz.bench.embeddings import write_embeddings
from hill_viz.session import Session
from hill_viz.ui.explore import explore_app
from hill_viz.ui.latent_view import VIEW_CLASS

VIEW = f".{VIEW_CLASS}"


@pytest.fixture(scope="module")
def class_session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classes")
    path = write_embeddings(folder / "embeddings.parquet", n=20_000, n_classes=20, dim=64)
    session = Session(folder / "ws", projection_method="umap", projection_options={"steps": 400})
    session.load_dataset(path=str(path))
    session.build_model(latent_dim=16, seed=0)
    session.train(1, wait=True)  # the learned view is fitted on the trained model when the epoch ends
    assert session.projection.method == "umap"
    yield session
    session.close()


def _drag(page, events, start, end, session, view):
    before = session.selection
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    wait_until(lambda: session.selection is not before and not view.selecting, 60,
               f"the box selection dragged from {start} to {end} to reach the server", page)
    return session.selector.box  # (x0, y0, x1, y1) in view coordinates


def _loneliest_class_box(frame) -> tuple[int, tuple[float, float, float, float]]:
    """The class whose median is furthest from the other classes' points, and a box around its core."""
    x, y, label = frame.column("x"), frame.column("y"), frame.column("label")
    best = (-1.0, 0, None)
    for c in np.unique(label):
        mine = label == c
        centre = np.array([np.median(x[mine]), np.median(y[mine])])
        others = np.hypot(x[~mine] - centre[0], y[~mine] - centre[1])
        spread = np.hypot(x[mine] - centre[0], y[mine] - centre[1])
        margin = np.quantile(others, 0.001) / (np.quantile(spread, 0.5) + 1e-9)
        if margin > best[0]:
            r = float(min(np.quantile(spread, 0.9), 0.7 * np.quantile(others, 0.001)))
            best = (margin, int(c), (centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r))
    return best[1], best[2]


def test_box_select_one_class_in_the_learned_view(page, artifacts, class_session, serve_pages):
    session = class_session
    with serve_pages(lambda k: explore_app(session)) as (url, pages):
        page.goto(url, timeout=180_000)  # a shared CPU: the page may take long to load
        events = page.locator(f"{VIEW} .bk-events").first
        events.wait_for(state="visible", timeout=180_000)
        view = pages[-1].explore["view"]
        wait_until(lambda: view.cloud.last is not None and view.cloud.last.data.shape[0] > 1, 30,
                   "the first cloud image", page)
        page.locator(f"{VIEW} .bk-tool-icon-box-select").first.click()
        area = events.bounding_box()
        # calibration: two known pixels and the view coordinates the server received for them
        p0 = (area["x"] + 0.3 * area["width"], area["y"] + 0.7 * area["height"])
        p1 = (area["x"] + 0.7 * area["width"], area["y"] + 0.3 * area["height"])
        x0, y0, x1, y1 = _drag(page, events, p0, p1, session, view)
        sx, sy = (p1[0] - p0[0]) / (x1 - x0), (p1[1] - p0[1]) / (y1 - y0)   # pixels per unit (sy < 0)

        def pixel(x, y):
            return (float(p0[0] + (x - x0) * sx), float(p0[1] + (y - y0) * sy))

        frame = session.frame
        cls, (bx0, by0, bx1, by1) = _loneliest_class_box(frame)
        page.screenshot(path=str(artifacts / "select-one-class-before.png"), full_page=True)
        box = _drag(page, events, pixel(bx0, by0), pixel(bx1, by1), session, view)
        rows = frame.rows_of_ids(session.selection)
        labels = frame.column("label")[rows]
        assert len(rows) >= 50, f"the box {box} (wanted {(bx0, by0, bx1, by1)}) selected only {len(rows)} points"
        share = float(np.mean(labels == cls))
        page.screenshot(path=str(artifacts / "select-one-class.png"), full_page=True)
        assert share >= 0.9, f"{share:.1%} of the {len(rows)} selected points are class {cls}"

"""The explore app in headless chromium on 10^6 points: drag a box, check the server's selection.

The server runs in this process, so the test asserts on the very Session and Breakdown the
page drives: the ids selected must be exactly the numpy ground truth for the box the
server received, and the breakdown chart must have been redrawn for that selection.
"""

import numpy as np
import pytest

from hill_viz.bench.browser import wait_until
from hill_viz.core.geometry import box_mask
from hill_viz.session import Session
from hill_viz.ui.explore import explore_app
from hill_viz.ui.latent_view import VIEW_CLASS

N = 10**6
VIEW = f".{VIEW_CLASS}"



def _bar_columns(pane, column: str) -> list[list]:
    """`column` of the bar glyphs in the Bokeh models of the page's pane (the page's own session)."""
    from bokeh.models import GlyphRenderer, VBar

    doc = pane._models and [m for m, _ in pane._models.values() if m.document is not None
                            and m.document.session_context is not None]
    out = []
    for model in doc or []:
        for renderer in model.select({"type": GlyphRenderer}):
            if isinstance(renderer.glyph, VBar) and column in renderer.data_source.data:
                out.append(np.asarray(renderer.data_source.data[column]).tolist())
    return out


@pytest.fixture(scope="module")
def big_session(tmp_path_factory):
    """blobs at 10^6 points with an untrained model: the test is about the view, not training."""
    session = Session(tmp_path_factory.mktemp("explore") / "ws")
    session.load_dataset("blobs", n=N)
    session.build_model(latent_dim=8, hidden=32)
    return session


def test_box_drag_on_a_million_points_selects_the_numpy_truth(page, artifacts, big_session, serve_pages):
    session = big_session
    with serve_pages(lambda k: explore_app(session)) as (url, pages):
        page.goto(url)
        events = page.locator(f"{VIEW} .bk-events").first
        events.wait_for(state="visible", timeout=60_000)
        parts = pages[-1].explore
        view, breakdown = parts["view"], parts["breakdown"]
        wait_until(lambda: view.cloud.last is not None and view.cloud.last.data.shape[0] > 1, 30,
                   "the first cloud image", page)
        before = session.selection  # every selection is a new array

        page.locator(f"{VIEW} .bk-tool-icon-box-select").first.click()
        area = events.bounding_box()
        assert area["width"] > 300 and area["height"] > 300
        start = (area["x"] + 0.35 * area["width"], area["y"] + 0.30 * area["height"])
        end = (area["x"] + 0.65 * area["width"], area["y"] + 0.70 * area["height"])
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=8)
        page.mouse.up()
        wait_until(lambda: session.selection is not before and not view.selecting, 30,
                   "the box selection to reach the server", page)

        # the server-side selection is exactly the points in the box it received
        assert session.selector is not None and session.selector.kind == "box"
        box = session.selector.box
        frame = session.frame
        x, y = frame.column("x"), frame.column("y")
        truth = frame.column("id")[box_mask(x, y, *box)]
        assert 1_000 < len(truth) < N
        np.testing.assert_array_equal(session.selection, truth)
        # the box is the one dragged: about 30% x 40% of the visible ranges, in the middle
        vp = view.viewport
        width_share = (box[2] - box[0]) / (vp.x_range[1] - vp.x_range[0])
        assert 0.2 < width_share < 0.4

        # the breakdown chart the browser holds was redrawn for this selection
        rows = frame.rows_of_ids(truth)
        counts = np.bincount(frame.column("label")[rows], minlength=len(frame.class_names))
        shown = lambda: _bar_columns(breakdown.panes["label"], "count")  # noqa: E731
        wait_until(lambda: shown() and all(c == counts.tolist() for c in shown()), 15,
                   f"the breakdown chart's bars to show the selection {counts.tolist()}", page)
        for shares in _bar_columns(breakdown.panes["label"], "share"):
            np.testing.assert_allclose(shares, counts / counts.sum())
        assert f"{counts.sum():,} selected" in breakdown.rendered["label"].opts.get().kwargs["title"]

        wait_until(lambda: view.highlight.last is not None and (np.asarray(view.highlight.last.data)[..., 3] > 0).any(),
                   15, "the selection highlight", page)
        page.set_viewport_size({"width": 1400, "height": 1500})  # room for the breakdown below the cloud
        page.wait_for_timeout(1500)  # let the browser paint the new images
        page.screenshot(path=str(artifacts / "explore-box-select.png"), full_page=True)
        assert not [e for e in page.console_errors if "ERR_NAME_NOT_RESOLVED" not in e and "Failed to load" not in e]

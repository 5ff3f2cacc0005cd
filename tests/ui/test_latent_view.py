"""LatentView, Breakdown, Gallery and SelectionTable without a browser, over a real Session."""
import asyncio
import threading

import holoviews as hv
import numpy as np
import panel as pn
import pytest

from hill_viz.core.edits import Selector
from hill_viz.core.geometry import box_mask, lasso_mask
from hill_viz.render import render_frame, to_rgba
from hill_viz.session import Session
from hill_viz.ui.breakdown import Breakdown
from hill_viz.ui.explore import explore_app
from hill_viz.ui.gallery import Gallery, mosaic, sample_rows
from hill_viz.ui.latent_view import LatentView
from hill_viz.ui.selection_table import SelectionTable

hv.extension("bokeh")


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("ws") / "blobs")
    s.load_dataset("blobs", n=3000, dim=8)
    s.build_model(latent_dim=4, hidden=32)
    return s


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("ws") / "digits")
    s.load_dataset("digits-shortcut", n=800)
    s.build_model(latent_dim=4, hidden=16)
    return s


def _quarter(frame):
    x0, x1, y0, y1 = frame.extent()
    return x0, y0, (x0 + x1) / 2, (y0 + y1) / 2


def _truth_ids(frame, mask):
    return frame.column("id")[mask]


def test_cloud_renders_the_frame_and_colour_options_cover_attributes(blobs):
    blobs.select(None)
    view = LatentView(session=blobs)
    pn.panel(view).get_root()  # the Bokeh models build without a server
    assert view.param.color_by.objects == ["label", "pred", "correct", "split", "confidence", "loss", "group"]
    rgb = view.cloud[()]
    assert isinstance(rgb, hv.RGB) and rgb.data.shape[2] == 4
    assert (np.asarray(rgb.data)[..., 3] > 0).sum() > 100  # points were drawn
    for column in view.param.color_by.objects:
        view.color_by = column
        assert column in view.legend.object
        assert view.cloud[()].data.shape[2] == 4
    view.color_by = "label"
    assert all(name in view.legend.object for name in blobs.frame.class_names)


def test_box_stream_selects_exactly_the_numpy_box(blobs):
    view = LatentView(session=blobs)
    box = _quarter(blobs.frame)
    view.bounds_stream.event(bounds=box)  # what the box_select tool sends; no event loop: resolved at once
    x, y = blobs.frame.column("x"), blobs.frame.column("y")
    np.testing.assert_array_equal(blobs.selection, _truth_ids(blobs.frame, box_mask(x, y, *box)))
    assert blobs.selector == Selector.of_box(*box)
    assert len(view.selected_rows) == len(blobs.selection) > 0
    assert view._cloud_state.dimmed and f"{len(blobs.selection):,}** selected" in view.status.object
    lit, cloud = view.highlight[()], view.cloud[()]
    assert (np.asarray(lit.data)[..., 3] > 0).any()
    # drawn only over the selection: a window of the cloud's pixels, a few pixels wider than the box
    (left, bottom, right, top), (cl, cb, cr, ct) = lit.bounds.lbrt(), cloud.bounds.lbrt()
    pad_x, pad_y = 4 * (cr - cl) / cloud.data.shape[1], 4 * (ct - cb) / cloud.data.shape[0]
    assert box[0] - pad_x <= left and right <= box[2] + pad_x and box[1] - pad_y <= bottom and top <= box[3] + pad_y
    assert lit.data.shape[0] * lit.data.shape[1] < cloud.data.shape[0] * cloud.data.shape[1] / 2


def test_lasso_stream_selects_the_polygon(blobs):
    view = LatentView(session=blobs)
    x0, x1, y0, y1 = blobs.frame.extent()
    polygon = np.array([[x0, y0], [x1, y0], [(x0 + x1) / 2, y1], [x0, (y0 + y1) / 2]])
    view.lasso_stream.event(geometry=polygon)
    x, y = blobs.frame.column("x"), blobs.frame.column("y")
    np.testing.assert_array_equal(blobs.selection, _truth_ids(blobs.frame, lasso_mask(x, y, polygon)))
    assert blobs.selector.kind == "lasso"


def test_selection_runs_off_the_event_loop(blobs):
    view = LatentView(session=blobs)
    threads = []
    original = blobs.select

    def spy(selector):
        threads.append(threading.get_ident())
        return original(selector)

    blobs.select = spy
    try:
        async def drag():
            view._on_bounds(bounds=_quarter(blobs.frame))
            await asyncio.gather(*view._tasks)
        asyncio.run(drag())
    finally:
        del blobs.select
    assert threads and threads[0] != threading.get_ident()
    assert not view.selecting and len(view.selected_rows) == len(blobs.selection) > 0


def test_clearing_and_selections_made_elsewhere_redraw_the_highlight(blobs):
    view = LatentView(session=blobs)
    asked = view._highlight_state.selection
    blobs.select(Selector.of_label(2))  # e.g. from a bar of the breakdown
    rows = np.flatnonzero(blobs.frame.column("label") == 2)
    np.testing.assert_array_equal(view.selected_rows, rows)
    assert view._highlight_state.selection == asked + 1  # the highlight layer was asked to redraw
    assert (np.asarray(view.highlight[()].data)[..., 3] > 0).any()
    view.clear_selection()
    assert len(view.selected_rows) == 0 and not view._cloud_state.dimmed
    assert (np.asarray(view.highlight[()].data)[..., 3] == 0).all()


def test_errors_in_a_selection_are_reported_not_raised(tmp_path):
    view = LatentView(session=Session(tmp_path / "empty"))
    view.bounds_stream.event(bounds=(0, 0, 1, 1))
    assert "build a model first" in view.actions.last_message
    assert "No latent view yet" in view.status.object
    assert view.cloud[()].data.shape == (1, 1, 4)


def test_view_made_before_the_model_follows_the_first_frame_and_retraining(tmp_path):
    session = Session(tmp_path / "late")
    view = LatentView(session=session)
    old_cloud = view.cloud
    session.load_dataset("blobs", n=1500, dim=8)
    session.build_model(latent_dim=4, hidden=16)
    assert view.cloud is not old_cloud  # axes rebuilt around the real cloud
    assert view.viewport.x_range[0] <= session.frame.extent()[0]
    assert "group" in view.param.color_by.objects
    cloud, version, frame = view.cloud, view._cloud_state.frame, session.frame
    session.train(1, wait=True)  # rebuilds the frame on the trainer's thread
    assert session.frame is not frame and view._frame is session.frame
    assert view._cloud_state.frame > version or view.cloud is not cloud  # redrawn, or its axes rebuilt
    drawn = np.asarray(view.cloud[()].data)
    vp, spec = view.viewport, view._spec()
    np.testing.assert_array_equal(drawn, to_rgba(render_frame(session.frame, vp, spec)))  # the new frame...
    assert not np.array_equal(drawn, to_rgba(render_frame(frame, vp, spec)))  # ...not the one before training


def test_a_new_projection_shows_the_whole_new_cloud(tmp_path):
    session = Session(tmp_path / "refit")
    session.load_dataset("blobs", n=1500, dim=8)
    session.build_model(latent_dim=4, hidden=16, projection="pca")
    view = LatentView(session=session)
    x0, x1, y0, y1 = session.frame.extent()
    zoom = dict(x_range=(x0, (x0 + x1) / 2), y_range=(y0, (y0 + y1) / 2))
    for stream in view.cloud.streams:
        if isinstance(stream, hv.streams.RangeXY):
            stream.update(**zoom)
    assert view.viewport.x_range == zoom["x_range"]
    session.train(1, wait=True)  # same projection: the user's zoom stays
    assert view.viewport.x_range == zoom["x_range"]
    session.refit_projection()  # the same method fitted anew: a new picture, shown whole
    x0, x1, y0, y1 = session.frame.extent()
    (vx0, vx1), (vy0, vy1) = view.viewport.x_range, view.viewport.y_range
    assert vx0 <= x0 and vx1 >= x1 and vy0 <= y0 and vy1 >= y1


def test_hover_lists_samples_only_when_zoomed_in(blobs):
    view = LatentView(session=blobs, hover_limit=50)
    assert len(view.hover[()].data) == 0  # whole cloud: too many points
    x, y = blobs.frame.column("x"), blobs.frame.column("y")
    cx, cy = float(np.median(x)), float(np.median(y))
    w = 0.02 * float(np.ptp(x))
    points = view._hover_points(x_range=(cx - w, cx + w), y_range=(cy - w, cy + w))
    inside = box_mask(x, y, cx - w, cy - w, cx + w, cy + w)
    assert 0 < inside.sum() <= 50
    assert len(points.data) == inside.sum()
    assert set(points.data["label"]) <= set(blobs.frame.class_names)
    assert points.data["attributes"].str.startswith("group=").all()


def test_overlays_join_the_plot_and_keep_the_cloud_tools(blobs):
    view = LatentView(session=blobs)
    pn.panel(view).get_root()
    handle = hv.DynamicMap(lambda data: hv.Points(data, ["x", "y"]), streams=[hv.streams.Pipe(data=[(0, 0)])])
    draw = hv.streams.PointDraw(source=handle, num_objects=1)
    view.add_overlay(handle)
    assert view._pane.object is view.plot
    plot = hv.renderer("bokeh").get_plot(view.plot)
    tools = {type(t).__name__ for t in plot.state.tools}
    assert {"BoxSelectTool", "LassoSelectTool", "WheelZoomTool", "PanTool", "ResetTool", "HoverTool",
            "PointDrawTool"} <= tools
    assert draw.source is handle


def test_breakdown_compares_selection_with_population_and_bars_select(digits):
    breakdown = Breakdown(session=digits)
    assert breakdown.columns == ("label", "cue")
    digits.select(Selector.of_box(*_quarter(digits.frame)))
    table = breakdown.table("label")
    labels = digits.frame.column("label")
    np.testing.assert_array_equal(table["selected"], np.bincount(labels[breakdown.selected_rows], minlength=10))
    np.testing.assert_array_equal(table["population"], np.bincount(labels, minlength=10))
    assert table["selected"].sum() == len(digits.selection)
    assert np.isclose(table["selected_share"].sum(), 1) and np.isclose(table["population_share"].sum(), 1)
    chart = breakdown.charts["label"][()]  # what the page shows
    bars = chart.get(0)
    np.testing.assert_allclose(bars.dimension_values("share"), table["selected_share"])
    assert "selected" in chart.opts.get().kwargs["title"]

    breakdown.taps["label"].event(x="3", y=0.1)  # a click on the bar of class "3"
    np.testing.assert_array_equal(digits.selection, digits.frame.column("id")[labels == 3])
    breakdown.taps["cue"].event(x="7", y=0.1)
    cue = digits.frame.column("cue")
    np.testing.assert_array_equal(digits.selection, digits.frame.column("id")[cue == 7])
    assert breakdown.table("cue")["selected"].tolist()[7] == (cue == 7).sum()


def test_gallery_shows_a_capped_sample_of_selected_images(digits):
    gallery = Gallery(session=digits, cap=12)
    digits.select(None)
    assert gallery.image.object is None and "Select points" in gallery.caption.object
    digits.select(Selector.of_label(5))
    rows = np.flatnonzero(digits.frame.column("label") == 5)
    assert len(gallery.shown_rows) == 12 and set(gallery.shown_rows) <= set(rows)
    assert gallery.image.object[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"12 of {len(rows)}" in gallery.caption.object
    np.testing.assert_array_equal(sample_rows(rows, 12), gallery.shown_rows)  # same selection, same sample


def test_mosaic_layout():
    images = np.random.default_rng(0).random((10, 8, 8)).astype(np.float32)
    sheet = mosaic(images, [f"{i}>{i}" for i in range(10)], np.zeros(10, bool), columns=4, scale=3)
    assert sheet.size == (4 * (24 + 6) + 6, 3 * (24 + 14 + 6) + 6)


def test_gallery_explains_itself_for_non_image_data(blobs):
    gallery = Gallery(session=blobs)
    blobs.select(Selector.of_label(1))
    assert gallery.image.object is None and "image datasets" in gallery.caption.object


def test_selection_table_lists_the_first_selected_rows(digits):
    table = SelectionTable(session=digits, max_rows=5)
    digits.select(Selector.of_label(4))
    ids = np.sort(digits.selection)[:5]
    assert table.table.value["id"].tolist() == ids.tolist()
    assert set(table.table.value["label"]) == {"4"}
    assert f"of {len(digits.selection):,}" in table.caption.object


def test_explore_app_composes_the_components(digits):
    page = explore_app(digits)
    parts = page.explore
    assert isinstance(parts["view"], LatentView) and parts["view"].session is digits
    assert "digits-shortcut" in parts["status"].object
    digits.select(Selector.of_label(0))
    assert len(parts["gallery"].shown_rows) > 0 and len(parts["table"].table.value) > 0


def test_a_failed_selection_off_the_loop_is_reported_on_the_loop(tmp_path):
    from hill_viz.ui.actions import Actions

    actions = Actions()
    view = LatentView(session=Session(tmp_path / "nothing"), actions=actions)

    async def drag():
        view._on_lasso(geometry=np.array([[0, 0], [1, 0], [1, 1]]))
        await asyncio.gather(*view._tasks)
    asyncio.run(drag())
    assert actions.messages and actions.messages[-1][0] == "error"
    assert "build a model first" in actions.messages[-1][1] and not view.selecting


def test_a_bar_for_an_unknown_class_is_reported(digits):
    from hill_viz.ui.actions import Actions

    breakdown = Breakdown(session=digits, actions=Actions())
    breakdown.taps["label"].event(x="42", y=0.1)
    assert "label has no category '42'" in breakdown.actions.messages[-1][1]
    breakdown._on_tap("cue", "nope")
    assert "cue has no category 'nope'; categories are: 0, 1" in breakdown.actions.messages[-1][1]

"""The cloud of a Dask frame: the in-memory aggregate and image, pixel for pixel."""
import numpy as np
import pytest

from hill_viz.render import Viewport, aggregate, color_spec, render_frame, to_rgba
from hill_viz.scale import view


@pytest.mark.parametrize("column", ["label", "correct", "group", "confidence"])  # each dtype once
def test_same_aggregate_and_image_as_in_memory(dask_frame, memory_frame, column):
    vp = Viewport.of_frame(memory_frame, 160, 120)
    ours = view.aggregate(dask_frame, vp, view.color_spec(dask_frame, column))
    ref = aggregate(memory_frame, vp, color_spec(memory_frame, column))
    np.testing.assert_array_equal(ours.values, ref.values)
    np.testing.assert_array_equal(to_rgba(view.render_frame(dask_frame, vp, column)),
                                  to_rgba(render_frame(memory_frame, vp, column)))


def test_zoomed_viewport_counts_match(dask_frame, memory_frame):
    x0, x1, y0, y1 = memory_frame.extent()
    vp = Viewport((x0, (x0 + x1) / 2), (y0, (y0 + y1) / 2), 90, 70)
    ours = view.aggregate(dask_frame, vp, view.color_spec(dask_frame, "label"))
    np.testing.assert_array_equal(ours.values, aggregate(memory_frame, vp, color_spec(memory_frame, "label")).values)
    assert 0 < ours.values.sum() < len(memory_frame)


def test_loss_colour_span_is_close_to_the_in_memory_one(dask_frame, memory_frame):
    # Dask's quantile is approximate, so the loss colour span (and image) may differ slightly
    lo, hi = view.color_spec(dask_frame, "loss").span
    assert lo == 0 and hi == pytest.approx(color_spec(memory_frame, "loss").span[1], rel=0.05)

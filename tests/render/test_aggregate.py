"""Aggregation and shading checked against numpy on small frames."""
import numpy as np
import pytest

from hill_viz.core.frame import LatentFrame
from hill_viz.errors import ConfigError
from hill_viz.render import Viewport, aggregate, color_spec, count_in, render_frame, to_rgba
from hill_viz.render.palette import palette

W, H = 40, 30


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 20_000
    label = rng.integers(0, 4, n)
    x = rng.normal(label, 0.7).astype(np.float32)
    y = rng.normal(-label, 0.5).astype(np.float32)
    return LatentFrame.from_arrays(
        x, y, label=label, pred=np.where(rng.random(n) < 0.8, label, (label + 1) % 4),
        confidence=rng.random(n).astype(np.float32), class_names=["a", "b", "c", "d"],
        attributes={"group": rng.integers(0, 3, n).astype(np.int8)}, attribute_categories={"group": ("u", "v", "w")})


def _hist(frame, vp, mask=None):
    x, y = frame.column("x"), frame.column("y")
    if mask is not None:
        x, y = x[mask], y[mask]
    counts, _, _ = np.histogram2d(y, x, bins=[vp.height, vp.width], range=[vp.y_range, vp.x_range])
    return counts  # (H, W), row 0 at the bottom, like datashader


def test_categorical_counts_match_histogram2d(frame):
    vp = Viewport((-1.0, 4.0), (-4.0, 1.5), W, H)
    agg = aggregate(frame, vp, color_spec(frame, "label"))
    assert agg.shape == (H, W, 4)
    labels = frame.column("label")
    for code in range(4):
        np.testing.assert_array_equal(agg.values[:, :, code], _hist(frame, vp, labels == code))
    np.testing.assert_array_equal(agg.values.sum(axis=2), _hist(frame, vp))


def test_rows_subset_and_attribute(frame):
    vp = Viewport.of_frame(frame, W, H)
    rows = np.flatnonzero(frame.column("group") == 1)[::3]
    agg = aggregate(frame, vp, color_spec(frame, "group"), rows=rows)
    assert agg.shape == (H, W, 3)
    assert agg.values[:, :, [0, 2]].sum() == 0
    assert agg.values.sum() == len(rows)


def test_correct_column_is_categorical_without_copy(frame):
    vp = Viewport.of_frame(frame, W, H)
    agg = aggregate(frame, vp, color_spec(frame, "correct"))
    wrong = ~frame.column("correct")
    np.testing.assert_array_equal(agg.values[:, :, 0], _hist(frame, vp, wrong))


def test_continuous_mean_matches_numpy(frame):
    vp = Viewport.of_frame(frame, W, H)
    agg = aggregate(frame, vp, color_spec(frame, "confidence")).values
    conf = frame.column("confidence").astype(np.float64)
    x, y = frame.column("x"), frame.column("y")
    sums, _, _ = np.histogram2d(y, x, bins=[H, W], range=[vp.y_range, vp.x_range], weights=conf)
    counts = _hist(frame, vp)
    filled = counts > 0
    np.testing.assert_allclose(agg[filled], sums[filled] / counts[filled], rtol=1e-5)
    assert np.isnan(agg[~filled]).all()


def test_shading_shows_exactly_the_filled_pixels_in_palette_colours(frame):
    vp = Viewport((-1.0, 4.0), (-4.0, 1.5), W, H)
    rgba = to_rgba(render_frame(frame, vp, "label", spread=0))   # (H, W, 4), top row first
    counts = _hist(frame, vp)[::-1]
    assert rgba.shape == (H, W, 4)
    np.testing.assert_array_equal(rgba[..., 3] > 0, counts > 0)
    only_a = frame.column("label") == 0
    pure = (_hist(frame, vp, only_a)[::-1] == counts) & (counts > 0)
    r, g, b = (int(palette(4)[0][i:i + 2], 16) for i in (1, 3, 5))
    assert pure.any()
    np.testing.assert_array_equal(rgba[pure][:, :3], np.tile([r, g, b], (pure.sum(), 1)))


def test_spreading_grows_isolated_points():
    frame = LatentFrame.from_arrays(np.array([0.0, 10.0], np.float32), np.array([0.0, 10.0], np.float32))
    vp = Viewport((-1.0, 11.0), (-1.0, 11.0), 60, 60)
    plain = to_rgba(render_frame(frame, vp, "label", spread=0))
    spread = to_rgba(render_frame(frame, vp, "label", spread=2))
    assert (plain[..., 3] > 0).sum() == 2
    assert (spread[..., 3] > 0).sum() > 2


def test_viewport_and_colour_errors_say_what_to_fix(frame):
    with pytest.raises(ConfigError, match="low < high"):
        Viewport((1.0, 1.0), (0.0, 1.0))
    with pytest.raises(ConfigError, match="cannot colour by 'nope'"):
        color_spec(frame, "nope")
    assert Viewport((0.0, 1.0), (0.0, 1.0), 10**6, 0).width == 4096


def test_count_in_matches_box(frame):
    vp = Viewport((0.0, 2.0), (-2.0, 0.0), W, H)
    x, y = frame.column("x"), frame.column("y")
    assert count_in(frame, vp) == int(((x >= 0) & (x <= 2) & (y >= -2) & (y <= 0)).sum())


@pytest.mark.parametrize("alpha,min_alpha", [(255, 153), (90, 54), (255, 0)])
def test_categorical_shading_equals_datashader_on_filled_pixels(frame, alpha, min_alpha):
    import datashader.transfer_functions as tf

    from hill_viz.render import shade_categorical

    vp = Viewport.of_frame(frame, 120, 90)
    agg = aggregate(frame, vp, color_spec(frame, "label"))
    ours = to_rgba(shade_categorical(agg, palette(4), alpha=alpha, min_alpha=min_alpha)).astype(int)
    ref = to_rgba(tf.shade(agg, color_key=list(palette(4)), how="eq_hist", alpha=alpha, min_alpha=min_alpha))
    filled = ref[..., 3] > 0
    np.testing.assert_array_equal(ours[..., 3] > 0, filled)
    np.testing.assert_array_equal(ours[filled], ref[filled].astype(int))


@pytest.mark.parametrize("color_by", ["label", "confidence"])
def test_a_render_of_the_window_around_a_selection_is_that_part_of_the_whole_render(frame, color_by):
    vp = Viewport((-1.0, 4.0), (-4.0, 1.5), 200, 150)
    x, y = frame.column("x"), frame.column("y")
    rows = np.flatnonzero((x > 0.5) & (x < 1.6) & (y > -1.5) & (y < -0.2))
    window = vp.around(x[rows], y[rows], pad=3)
    whole = to_rgba(render_frame(frame, vp, color_by, rows=rows, spread=2))
    part = to_rgba(render_frame(frame, window, color_by, rows=rows, spread=2))
    step_x, step_y = (vp.x_range[1] - vp.x_range[0]) / vp.width, (vp.y_range[1] - vp.y_range[0]) / vp.height
    i0 = round((window.x_range[0] - vp.x_range[0]) / step_x)
    j0 = round((vp.y_range[1] - window.y_range[1]) / step_y)  # images' first row is the top
    assert part.shape[0] * part.shape[1] < whole.shape[0] * whole.shape[1] / 4
    inside = whole[j0:j0 + window.height, i0:i0 + window.width]
    assert inside.shape == part.shape and part[..., 3].any()
    np.testing.assert_array_equal(part, inside)
    outside = whole.copy()
    outside[j0:j0 + window.height, i0:i0 + window.width] = 0
    assert not outside[..., 3].any()  # nothing of the selection is drawn outside the window


def test_the_window_around_points_is_clipped_to_the_viewport_and_none_when_all_are_outside():
    vp = Viewport((0.0, 10.0), (0.0, 10.0), 100, 100)
    assert vp.around(np.array([20.0]), np.array([5.0])) is None
    edge = vp.around(np.array([0.0, 10.0]), np.array([10.0, 10.0]), pad=5)
    assert edge.x_range == (0.0, 10.0) and edge.width == 100
    assert edge.y_range[1] == 10.0 and edge.height == 6

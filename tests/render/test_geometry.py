"""Selection geometry against references: lasso vs matplotlib's Path, box vs plain comparisons."""
import numpy as np
import pytest
from matplotlib.path import Path

from hill_viz.core.geometry import box_mask, lasso_mask


def _points(n=50_000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)


def _star(vertices, seed, r_min=0.3, r_max=2.0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2 * np.pi, vertices))
    r = rng.uniform(r_min, r_max, vertices)
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


@pytest.mark.parametrize("vertices,seed", [(3, 0), (4, 1), (50, 2), (200, 3), (1000, 4)])
def test_lasso_matches_matplotlib(vertices, seed):
    x, y = _points(seed=seed)
    polygon = _star(vertices, seed)
    expected = Path(polygon).contains_points(np.column_stack([x, y]))
    got = lasso_mask(x, y, polygon)
    assert got.dtype == np.bool_ and got.shape == x.shape
    assert 0 < expected.sum() < len(x)
    np.testing.assert_array_equal(got, expected)


def test_lasso_self_intersecting_uses_even_odd_like_matplotlib():
    x, y = _points(seed=7)
    bowtie = np.array([[-1.5, -1.5], [1.5, 1.5], [1.5, -1.5], [-1.5, 1.5]])
    pentagram = np.array([[np.cos(a), np.sin(a)] for a in np.pi / 2 + 4 * np.pi / 5 * np.arange(5)]) * 1.8
    for polygon in (bowtie, pentagram):
        expected = Path(polygon).contains_points(np.column_stack([x, y]))
        np.testing.assert_array_equal(lasso_mask(x, y, polygon), expected)


def test_lasso_points_on_grid_lines_and_vertices():
    """Points exactly on vertices, edges and axis-parallel lines: same answer as matplotlib."""
    g = np.linspace(-2, 2, 81, dtype=np.float32)
    x, y = (a.ravel() for a in np.meshgrid(g, g))
    polygon = np.array([[-1, -1], [1, -1], [1, 1], [0, 0.5], [-1, 1]], dtype=np.float64)
    expected = Path(polygon).contains_points(np.column_stack([x, y]))
    np.testing.assert_array_equal(lasso_mask(x, y, polygon), expected)


def test_lasso_degenerate_inputs_select_nothing():
    x, y = _points(100)
    assert not lasso_mask(x, y, np.array([[0, 0], [1, 1]])).any()        # two vertices
    assert not lasso_mask(x, y, np.array([[0, 0], [1, 0], [2, 0]])).any()  # flat
    assert not lasso_mask(x, y, np.array([[0, 0], [np.nan, 1], [1, 1]])).any()
    nan_x = np.array([np.nan, 0.1], dtype=np.float32)
    assert lasso_mask(nan_x, np.array([0.1, 0.1], np.float32), [[0, 0], [1, 0], [0, 1]]).tolist() == [False, True]


def test_box_mask_inclusive_any_corner_order():
    x = np.array([0, 1, 2, 3], dtype=np.float32)
    y = np.array([0, 1, 2, 3], dtype=np.float32)
    assert box_mask(x, y, 2, 2, 1, 1).tolist() == [False, True, True, False]
    assert box_mask(x, y, 1, 1, 2, 2).tolist() == [False, True, True, False]

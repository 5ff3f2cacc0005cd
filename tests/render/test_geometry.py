"""Selection geometry against references: lasso vs matplotlib's Path, box vs plain comparisons."""
import numpy as np
import pytest
from matplotlib.path import Path

from hill_viz.core.geometry import INSIDE, MIXED, OUTSIDE, box_mask, box_states, lasso_mask, lasso_states


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


def _boxes_of_points(x, y, size, seed):
    """Small boxes tiling the points: each point's box, its bounds those of the points in it."""
    rng = np.random.default_rng(seed)
    cell = np.floor((x - x.min()) / size).astype(np.int64) * 100_000 + np.floor((y - y.min()) / size).astype(np.int64)
    cell = (cell + rng.integers(0, 2, len(x))) if seed % 2 else cell  # some ragged boxes too
    _, box_of = np.unique(cell, return_inverse=True)
    boxes = np.tile(np.array([np.inf, -np.inf, np.inf, -np.inf], np.float32), (box_of.max() + 1, 1))
    np.minimum.at(boxes[:, 0], box_of, x)
    np.maximum.at(boxes[:, 1], box_of, x)
    np.minimum.at(boxes[:, 2], box_of, y)
    np.maximum.at(boxes[:, 3], box_of, y)
    return boxes, box_of


def _check_states(states, box_of, mask, all_occur=True):
    """INSIDE boxes hold only selected points, OUTSIDE ones none (and every state occurs)."""
    per_box = states[box_of]
    assert mask[per_box == INSIDE].all() and not mask[per_box == OUTSIDE].any()
    assert not all_occur or {INSIDE, OUTSIDE, MIXED} <= set(np.unique(states).tolist())


@pytest.mark.parametrize("vertices,seed", [(4, 1), (50, 2), (200, 3)])
def test_lasso_states_agree_with_the_kernel_on_every_point(vertices, seed):
    x, y = _points(200_000, seed=seed)
    polygon = _star(vertices, seed)
    for size in (0.05, 0.3):
        boxes, box_of = _boxes_of_points(x, y, size, seed)
        _check_states(lasso_states(boxes, polygon), box_of, lasso_mask(x, y, polygon), all_occur=size < 0.1)
    bowtie = np.array([[-1.5, -1.5], [1.5, 1.5], [1.5, -1.5], [-1.5, 1.5]])
    boxes, box_of = _boxes_of_points(x, y, 0.1, seed)
    _check_states(lasso_states(boxes, bowtie), box_of, lasso_mask(x, y, bowtie))
    assert (lasso_states(boxes, np.array([[0, 0], [1, 1]])) == OUTSIDE).all()  # no polygon: nothing selected


def test_box_states_use_box_masks_comparisons():
    """Box edges between float32 values: a box's state is what box_mask answers for its points."""
    x, y = _points(100_000, seed=4)
    edge = float(np.float32(0.25)) + 1e-9  # not a float32: box_mask compares in float32
    for corners in [(-0.5, -0.5, 0.5, 0.5), (edge, -1.0, 1.3, edge), (1.0, 1.0, -1.0, -1.0)]:
        mask = box_mask(x, y, *corners)
        for size in (0.02, 0.2):
            boxes, box_of = _boxes_of_points(x, y, size, 1)
            _check_states(box_states(boxes, *corners), box_of, mask, all_occur=size < 0.1)
    one = np.array([[0.25, 0.25, 0.0, 0.0]], dtype=np.float32)  # a box of the point (0.25, 0)
    assert box_states(one, edge, -1, 1, 1)[0] == box_mask(one[:, 0], one[:, 2], edge, -1, 1, 1)[0] * INSIDE

"""Selection geometry over view positions: box and lasso (polygon) masks, vectorized with numba.

The lasso answers exactly what `matplotlib.path.Path.contains_points` answers (the same
even-odd crossing test, division-free), but does far less work per point:

1. Edges are bucketed by horizontal slab: a point can only cross the edges whose y-span
   holds its y, so the exact test visits a handful of edges, not all of them.
2. A grid over the polygon's bounding box marks the cells the boundary passes near; every
   other cell lies wholly inside or wholly outside, so its points take the answer of the
   cell's centre from one table lookup. Only points near the boundary run the exact test.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["INSIDE", "MIXED", "OUTSIDE", "box_mask", "box_states", "lasso_mask", "lasso_states"]

_GRID_MAX = 512  # lasso grid cells per side, at most (fewer for fewer points: the grid costs G^2 tests)
_OUTSIDE, _INSIDE, _BOUNDARY = 0, 1, 2


def box_mask(x: np.ndarray, y: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Points inside the axis-aligned box (corners in any order, edges inclusive)."""
    xa, xb = sorted((x0, x1))
    ya, yb = sorted((y0, y1))
    return (x >= xa) & (x <= xb) & (y >= ya) & (y <= yb)


# -- exact test over y-slabs ---------------------------------------------------------------

def _slab_edges(px: np.ndarray, py: np.ndarray, n_slabs: int):
    """Bucket polygon edges by the horizontal slabs their y-span touches.

    Returns (y0, 1 / slab height, CSR starts (n_slabs + 1,), and per bucketed edge ax, ay,
    bx, by: its two ends). The slab of a y is `int((y - y0) * inv_height)` here and in the
    kernels alike; that map is monotone, so an edge whose span holds a point's y lies in
    that point's slab.
    """
    y0, y1 = float(py.min()), float(py.max())
    inv_height = n_slabs / (y1 - y0) if y1 > y0 else 1.0
    prev = np.roll(np.arange(len(py)), 1)  # edge k runs from vertex k to vertex k-1
    first = np.clip(np.floor((np.minimum(py, py[prev]) - y0) * inv_height).astype(np.int64), 0, n_slabs - 1)
    last = np.clip(np.floor((np.maximum(py, py[prev]) - y0) * inv_height).astype(np.int64), 0, n_slabs - 1)
    slab_of = np.concatenate([np.arange(f, l + 1) for f, l in zip(first, last)])
    edge_of = np.repeat(np.arange(len(py)), last - first + 1)[np.argsort(slab_of, kind="stable")]
    starts = np.zeros(n_slabs + 1, dtype=np.int64)
    starts[1:] = np.cumsum(np.bincount(slab_of, minlength=n_slabs))
    ends = prev[edge_of]
    return (y0, inv_height, starts, np.ascontiguousarray(px[edge_of]), np.ascontiguousarray(py[edge_of]),
            np.ascontiguousarray(px[ends]), np.ascontiguousarray(py[ends]))


@numba.njit(nogil=True, inline="always")
def _inside(tx, ty, y0, inv_height, starts, ax, ay, bx, by):
    """Even-odd test of one point against the edges of its slab (matplotlib's arithmetic)."""
    n_slabs = len(starts) - 1
    # points outside the polygon's y-span land in an end slab and straddle nothing there
    s = min(max(int((ty - y0) * inv_height), 0), n_slabs - 1)
    inside = False
    for e in range(starts[s], starts[s + 1]):
        # agg's point_in_path: a = current vertex, b = previous vertex
        flag_a = ay[e] >= ty
        if flag_a != (by[e] >= ty):
            if ((ay[e] - ty) * (bx[e] - ax[e]) >= (ax[e] - tx) * (by[e] - ay[e])) == flag_a:
                inside = not inside
    return inside


# -- the grid of cells wholly inside / outside ---------------------------------------------

@numba.njit(nogil=True, cache=True)
def _mark_boundary(px, py, gx0, gy0, inv_cell, cells):
    """Mark every cell within one cell of any polygon edge (sampled every quarter cell)."""
    n = len(px)
    g = cells.shape[0]
    for k in range(n):
        j = k - 1 if k > 0 else n - 1
        ux, uy = (px[k] - gx0) * inv_cell, (py[k] - gy0) * inv_cell
        vx, vy = (px[j] - gx0) * inv_cell, (py[j] - gy0) * inv_cell
        steps = int(4.0 * max(abs(vx - ux), abs(vy - uy))) + 1
        for t in range(steps + 1):
            f = t / steps
            cx, cy = int(ux + f * (vx - ux)), int(uy + f * (vy - uy))
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    if 0 <= cy + dy < g and 0 <= cx + dx < g:
                        cells[cy + dy, cx + dx] = _BOUNDARY


@numba.njit(nogil=True, cache=True)
def _classify_cells(gx0, gy0, cell, cells, y0, inv_height, starts, ax, ay, bx, by):
    """Cells the boundary does not touch take the answer of their centre."""
    g = cells.shape[0]
    for r in range(g):
        for c in range(g):
            if cells[r, c] != _BOUNDARY:
                cx, cy = gx0 + (c + 0.5) * cell, gy0 + (r + 0.5) * cell
                cells[r, c] = _INSIDE if _inside(cx, cy, y0, inv_height, starts, ax, ay, bx, by) else _OUTSIDE


@numba.njit(nogil=True, inline="always")
def _lookup(tx, ty, gx0, gy0, inv_cell, cells, y0, inv_height, starts, ax, ay, bx, by):
    """One point: its cell's answer, or the exact test near the boundary."""
    top = cells.shape[0] - 1.0
    fx, fy = (tx - gx0) * inv_cell, (ty - gy0) * inv_cell
    # points beyond the grid (and NaN) clamp into its outermost ring, which lies outside
    # the polygon; clamping instead of branching keeps the loop free of mispredictions
    fx = fx if fx == fx else 0.0
    fy = fy if fy == fy else 0.0
    state = cells[int(min(max(fy, 0.0), top)), int(min(max(fx, 0.0), top))]
    if state == _BOUNDARY:  # rare: only points near the boundary
        return _inside(tx, ty, y0, inv_height, starts, ax, ay, bx, by)
    return state == _INSIDE


@numba.njit(parallel=True, nogil=True, cache=True)
def _lasso_mask(x, y, gx0, gy0, inv_cell, cells, y0, inv_height, starts, ax, ay, bx, by, out):
    for i in numba.prange(len(x)):
        out[i] = _lookup(np.float64(x[i]), np.float64(y[i]), gx0, gy0, inv_cell, cells,
                         y0, inv_height, starts, ax, ay, bx, by)
    return out


def lasso_mask(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Points inside the closed polygon (V, 2), even-odd rule, as matplotlib's Path decides."""
    out = np.zeros(len(x), dtype=np.bool_)
    lasso = _lasso_grid(polygon, int(np.clip(np.sqrt(len(x)) / 4, 32, _GRID_MAX)))
    if lasso is None:
        return out
    return _lasso_mask(np.asarray(x), np.asarray(y), *lasso, out)


def _lasso_grid(polygon, grid: int):
    """(gx0, gy0, 1 / cell, cells, *slabs): what the kernels need; None for no polygon."""
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or len(poly) < 3 or not np.isfinite(poly).all():
        return None
    px, py = np.ascontiguousarray(poly[:, 0]), np.ascontiguousarray(poly[:, 1])
    slabs = _slab_edges(px, py, int(min(max(4 * len(poly), 64), 16384)))
    # a square grid over the bounding box, two cells of margin on every side: boundary
    # marking reaches one cell out, so the outermost ring is always wholly outside
    span = max(float(px.max() - px.min()), float(py.max() - py.min()), 1e-12)
    cell = span / (grid - 4)
    gx0, gy0 = float(px.min()) - 2 * cell, float(py.min()) - 2 * cell
    cells = np.zeros((grid, grid), dtype=np.uint8)
    _mark_boundary(px, py, gx0, gy0, 1.0 / cell, cells)
    _classify_cells(gx0, gy0, cell, cells, *slabs)
    return (gx0, gy0, 1.0 / cell, cells, *slabs)


# -- whole boxes of points -------------------------------------------------------------------

OUTSIDE, INSIDE, MIXED = _OUTSIDE, _INSIDE, _BOUNDARY  # what a box's points answer


def box_states(boxes: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """For boxes (B, 4) of points (x_min, x_max, y_min, y_max of finite points, in the points'
    dtype): OUTSIDE if `box_mask` is False for every point such a box can hold, INSIDE if True
    for all, else MIXED. The comparisons are `box_mask`'s, in the same dtypes."""
    b = np.asarray(boxes).reshape(-1, 4)
    lo_x, hi_x, lo_y, hi_y = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    inside = box_mask(lo_x, lo_y, x0, y0, x1, y1) & box_mask(hi_x, hi_y, x0, y0, x1, y1)
    xa, xb = sorted((x0, x1))
    ya, yb = sorted((y0, y1))
    meets = (hi_x >= xa) & (lo_x <= xb) & (hi_y >= ya) & (lo_y <= yb)
    return np.where(inside, INSIDE, np.where(meets, MIXED, OUTSIDE)).astype(np.uint8)


def lasso_states(boxes: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """As `box_states`, for `lasso_mask`: a box is INSIDE (OUTSIDE) when every grid cell it
    touches is a cell wholly inside (outside) the polygon, whose points `lasso_mask` answers
    from the cell alone; a box touching the boundary's cells is MIXED.

    The cell of a point is `int((x - gx0) / cell)` clamped into the grid, as in the kernel;
    that map is monotone, so a box's points fall in the cells between its corners' cells.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    lasso = _lasso_grid(polygon, _GRID_MAX)
    if lasso is None:
        return np.full(len(b), OUTSIDE, dtype=np.uint8)
    gx0, gy0, inv_cell, cells = lasso[:4]
    top = cells.shape[0] - 1
    col = [np.clip(np.floor((b[:, k] - gx0) * inv_cell), 0, top).astype(np.int64) for k in (0, 1)]
    row = [np.clip(np.floor((b[:, k] - gy0) * inv_cell), 0, top).astype(np.int64) for k in (2, 3)]
    states = np.full(len(b), MIXED, dtype=np.uint8)
    for state in (INSIDE, OUTSIDE):
        table = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1), dtype=np.int64)  # summed-area table
        table[1:, 1:] = np.cumsum(np.cumsum(cells == state, axis=0), axis=1)
        r0, r1, c0, c1 = row[0], row[1] + 1, col[0], col[1] + 1
        hits = table[r1, c1] - table[r0, c1] - table[r1, c0] + table[r0, c0]
        states[hits == (r1 - r0) * (c1 - c0)] = state
    return states

"""Selection geometry over view positions: box and lasso (polygon) masks, vectorized with numba."""
from __future__ import annotations

import numba
import numpy as np


def box_mask(x: np.ndarray, y: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Points inside the axis-aligned box (corners in any order, edges inclusive)."""
    xa, xb = sorted((x0, x1))
    ya, yb = sorted((y0, y1))
    return (x >= xa) & (x <= xb) & (y >= ya) & (y <= yb)


@numba.njit(parallel=True, nogil=True, cache=True)
def _lasso_mask(x, y, px, py, out):
    n_vertices = len(px)
    for i in numba.prange(len(x)):
        xi, yi = x[i], y[i]
        inside = False
        j = n_vertices - 1
        for k in range(n_vertices):
            # even-odd rule: count edge crossings of a ray going right from (xi, yi)
            if (py[k] > yi) != (py[j] > yi):
                x_cross = px[k] + (yi - py[k]) * (px[j] - px[k]) / (py[j] - py[k])
                if xi < x_cross:
                    inside = not inside
            j = k
        out[i] = inside


def lasso_mask(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Points inside the closed polygon (V, 2), even-odd rule."""
    poly = np.asarray(polygon, dtype=np.float64)
    out = np.zeros(len(x), dtype=np.bool_)
    if len(poly) < 3:
        return out
    _lasso_mask(np.asarray(x), np.asarray(y), np.ascontiguousarray(poly[:, 0]),
                np.ascontiguousarray(poly[:, 1]), out)
    return out

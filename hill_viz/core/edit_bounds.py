"""Values an edit may hold: finite numbers, bounded weights and moves, int64 ids, [x, y] vertices.

An edit's numbers end up in float32 training targets, so a value that is finite in float64
can still overflow there and turn the loss NaN (`dx: 1e308`, `weight: 1e300`). Everything
here runs before an edit is recorded: the absolute bounds when it is made, the bound
relative to the cloud's extent when it is resolved on the view.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from hill_viz.errors import EditError

MAX_EDIT_WEIGHT = 100.0   # 0 < weight <= this
MAX_VIEW_OFFSET = 1e6     # |dx|, |dy| and a separate margin, in view units
MAX_MOVE_EXTENTS = 10.0   # ... and at most this many times the cloud's extent (the larger of its x and y ranges)
OFFSET_PARAMS = ("dx", "dy", "margin")
_INT64 = np.iinfo(np.int64)


def finite(name: str, value: Any) -> float:
    """A finite number (not a bool, not text), as float; EditError naming `name` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise EditError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise EditError(f"{name} must be a finite number, got {value!r}")
    return v


def selector_ids(ids) -> np.ndarray:
    """Selector ids as int64, or an EditError naming the first id that is not a whole number in range."""
    try:
        arr = np.asarray(ids).ravel()
    except (TypeError, ValueError):
        raise EditError(f"selector ids must be a list of whole numbers, got {ids!r}") from None
    if arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "u":
        ok = arr <= _INT64.max
    elif arr.dtype.kind == "f":
        ok = np.isfinite(arr) & (np.floor(arr) == arr) & (arr >= _INT64.min) & (arr < 2.0 ** 63)
    elif arr.dtype.kind == "O":
        ok = np.array([isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                       and _INT64.min <= v <= _INT64.max for v in arr], dtype=bool)
    else:  # text, booleans, ...
        ok = np.zeros(len(arr), dtype=bool)
    if not ok.all():
        bad = arr[~ok][0]
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise EditError(f"selector ids must be whole numbers from {_INT64.min} to {_INT64.max}, got {bad!r}")
    return arr.astype(np.int64)


def lasso_vertices(polygon) -> tuple[tuple[float, float], ...]:
    """A lasso polygon as (x, y) pairs of finite numbers, or an EditError naming the bad vertex."""
    if isinstance(polygon, np.ndarray):
        polygon = polygon.tolist()
    if isinstance(polygon, (str, bytes, dict)) or not hasattr(polygon, "__len__"):
        raise EditError(f"a lasso must be a list of [x, y] vertices, got {polygon!r}")
    out = []
    for k, pt in enumerate(polygon):
        if isinstance(pt, (str, bytes, dict)) or not hasattr(pt, "__len__") or len(pt) != 2:
            raise EditError(f"lasso vertex #{k} must be an [x, y] pair, got {pt!r}")
        out.append((finite("lasso vertex", pt[0]), finite("lasso vertex", pt[1])))
    return tuple(out)


def check_offsets(op: str, params: dict) -> None:
    """|dx|, |dy| and margin within MAX_VIEW_OFFSET (whatever the view)."""
    for name in OFFSET_PARAMS:
        if name in params and abs(params[name]) > MAX_VIEW_OFFSET:
            raise EditError(f"{op} {name} must be within +-{MAX_VIEW_OFFSET:g} view units, got {params[name]}")


def check_weight(weight: Any) -> float:
    w = finite("edit weight", weight)
    if not 0 < w <= MAX_EDIT_WEIGHT:
        raise EditError(f"edit weight must be > 0 and at most {MAX_EDIT_WEIGHT:g}, got {weight}")
    return w


def check_scale(op: str, params: dict, x: np.ndarray, y: np.ndarray) -> None:
    """A move or margin at most MAX_MOVE_EXTENTS times the extent of the cloud (x, y) it is made on."""
    if not any(name in params for name in OFFSET_PARAMS) or not len(x):
        return
    extent = float(max(np.ptp(x), np.ptp(y)))
    limit = MAX_MOVE_EXTENTS * (extent if extent > 0 else 1.0)
    for name in OFFSET_PARAMS:
        if name in params and abs(params[name]) > limit:
            raise EditError(f"{op} {name} = {params[name]:g} is more than {MAX_MOVE_EXTENTS:g} times the extent "
                            f"of the view ({extent:.3g}); use a value within +-{limit:.3g}")

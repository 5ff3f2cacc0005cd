"""Lasso and box selection on a large frame vs matplotlib's Path.contains_points (same results)."""
from __future__ import annotations

import tempfile

import numpy as np

from hill_viz.bench import best_time, figure


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=10**7, help="points in the frame (default 10^7)")
    parser.add_argument("--vertices", type=int, default=50, help="lasso vertices (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per figure; the best counts")


def run(args) -> list[dict]:
    from hill_viz.bench.synthetic import lasso_polygon, synthetic_frame
    from hill_viz.core.edits import Selector
    from hill_viz.core.geometry import box_mask, lasso_mask
    from hill_viz.session import Session

    n = args.points
    frame = synthetic_frame(n)
    x, y = frame.column("x"), frame.column("y")
    polygon = lasso_polygon(args.vertices)
    lasso_mask(x[:100], y[:100], polygon)  # compile (or load the numba cache) outside the timings
    box_mask(x[:100], y[:100], 0, 0, 1, 1)

    ours = lasso_mask(x, y, polygon)
    reference, t_mpl = _matplotlib_lasso(x, y, polygon, max(1, args.repeat - 1))
    mismatches = int(np.count_nonzero(ours != reference))
    if mismatches:
        raise AssertionError(f"lasso_mask differs from matplotlib on {mismatches} of {n} points")
    t_ours = best_time(lambda: lasso_mask(x, y, polygon), args.repeat)

    session = Session(tempfile.mkdtemp(prefix="hill-bench-select-"))
    session.show_frame(frame)
    selector = Selector.of_lasso(polygon)
    t_session = best_time(lambda: session.select(selector), args.repeat)
    if not np.array_equal(session.selection, frame.column("id")[reference]):
        raise AssertionError("session.select(lasso) selected other ids than matplotlib's mask")

    x0, y0, x1, y1 = -1.0, -2.0, 3.0, 2.5
    t_box = best_time(lambda: box_mask(x, y, x0, y0, x1, y1), args.repeat)
    t_box_np = best_time(lambda: (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), args.repeat)
    if not np.array_equal(box_mask(x, y, x0, y0, x1, y1), (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)):
        raise AssertionError("box_mask differs from the numpy expression")

    selected = int(ours.sum())
    return [
        figure("lasso_mask", n, t_ours * 1e3, "ms", "matplotlib_path_contains_points", t_mpl * 1e3,
               vertices=len(polygon), selected=selected, same_result=True, speedup=t_mpl / t_ours),
        figure("session_select_lasso", n, t_session * 1e3, "ms", "matplotlib_path_contains_points", t_mpl * 1e3,
               vertices=len(polygon), selected=selected, same_result=True,
               note="mask + ids + provenance event (SQLite)"),
        figure("box_mask", n, t_box * 1e3, "ms", "numpy_boolean_expression", t_box_np * 1e3, same_result=True),
    ]


def _matplotlib_lasso(x, y, polygon, repeat: int) -> tuple[np.ndarray, float]:
    """matplotlib's mask and best time; its (N, 2) float64 input is built outside the timing
    and freed on return (160 MB at 10^7 points)."""
    from matplotlib.path import Path

    points = np.column_stack([x, y]).astype(np.float64)
    path = Path(polygon)
    return path.contains_points(points), best_time(lambda: path.contains_points(points), repeat)

"""Id -> row lookups (selectors, tables, teacher targets) with one IdIndex vs a sort per call."""
from __future__ import annotations

import numpy as np

from hill_viz.bench import best_time, figure


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=10**7, help="ids in the index (default 10^7)")
    parser.add_argument("--query", type=int, default=10**5, help="ids looked up per call (default 10^5)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per figure; the best counts")


def run(args) -> list[dict]:
    from hill_viz.core.ids import IdIndex

    n, m = args.points, min(args.query, args.points)
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(n).astype(np.int64)            # a user file's ids: any order
    query = rng.choice(shuffled, m, replace=False)

    def sort_per_call():  # what a lookup cost before the index: a stable argsort of all ids every call
        order = np.argsort(shuffled, kind="stable")
        return order[np.searchsorted(shuffled, query, sorter=order)]

    t_build = best_time(lambda: IdIndex(shuffled), args.repeat)
    index = IdIndex(shuffled)
    rows = index.rows(query)
    if not np.array_equal(rows, sort_per_call()) or not np.array_equal(shuffled[rows], query):
        raise AssertionError("IdIndex.rows differs from argsort + searchsorted")
    t_rows = best_time(lambda: index.rows(query), args.repeat)
    t_sort = best_time(sort_per_call, args.repeat)
    t_argsort = best_time(lambda: np.argsort(shuffled, kind="stable"), args.repeat)

    identity = IdIndex(np.arange(n, dtype=np.int64))
    t_identity = best_time(lambda: identity.rows(query), args.repeat)
    t_bounds = best_time(lambda: ((query >= 0) & (query < n)).all(), args.repeat)
    return [
        figure("id_rows_shuffled", n, t_rows * 1e3, "ms", "argsort_searchsorted_per_call", t_sort * 1e3,
               query=m, same_result=True, index_mb=index.nbytes / 2**20),
        figure("id_index_build_shuffled", n, t_build * 1e3, "ms", "numpy_stable_argsort", t_argsort * 1e3),
        figure("id_rows_identity", n, t_identity * 1e3, "ms", "numpy_bounds_check", t_bounds * 1e3, query=m),
    ]

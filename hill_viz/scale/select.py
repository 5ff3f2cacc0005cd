"""Selections on a Dask latent frame, resolved partition by partition on the cluster.

Each partition resolves the selector with the in-memory code (`Selector.mask` over a
`SelectionContext` of the partition's arrays: the numba box and lasso kernels of
`hill_viz.core.geometry`) and sends back only what the page shows: the count, the
breakdown by every categorical column, and the rows of a bounded sample. The sample is
uniform and reproducible: the selected rows with the smallest hash of (id, seed), so it
does not depend on how the frame is partitioned. The ids themselves come back only when
an edit needs them (`selected_ids`).

With a block index (`DaskLatentFrame.blocks`), `Selector.states` says which blocks of rows a
box or lasso cannot touch (skipped; a partition with none left gets no task) and which it
covers wholly (selected without the point test); only the other blocks run `Selector.mask`.
The answer is the same row for row: a block is skipped or taken whole only where the
kernel would answer the same for every position the block can hold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hill_viz.core.edits import SelectionContext, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.geometry import INSIDE, MIXED, OUTSIDE
from hill_viz.errors import EditError
from hill_viz.render.aggregate import Viewport
from hill_viz.scale.frame import DaskLatentFrame

__all__ = ["SelectionSummary", "block_states", "count_in", "population", "selected_ids", "summarize"]

_KEY = "_sample_key"


@dataclass(frozen=True)
class SelectionSummary:
    """What a selection is, without its ids: count, breakdowns, a sample of its rows."""

    selector: Selector
    count: int
    breakdowns: dict[str, np.ndarray]   # categorical column -> selected count per category code
    sample: LatentFrame                 # at most `sample_size` selected rows, in id order

    @property
    def is_empty(self) -> bool:
        return self.count == 0


def summarize(frame: DaskLatentFrame, selector: Selector, *, sample_size: int = 200,
              seed: int = 0) -> SelectionSummary:
    """Count, breakdowns and a seeded sample of the selected rows (no ids collected)."""
    plan = _plan(selector)
    columns = {name: len(frame.categories(name)) for name in frame.categorical_columns}
    results = _per_part(frame, _summarize_part, _parts_to_test(frame, selector), plan, _names(frame), columns,
                        sample_size, seed)
    count = sum(r[0] for r in results)
    breakdowns = {name: sum((r[1][name] for r in results), np.zeros(k, np.int64)) for name, k in columns.items()}
    samples = [r[2] for r in results] or [frame.df._meta.assign(**{_KEY: np.empty(0, np.uint64)})]
    rows = pd.concat(samples, ignore_index=True)
    rows = rows.nsmallest(sample_size, _KEY).drop(columns=_KEY).sort_values("id", kind="stable")
    return SelectionSummary(selector, int(count), breakdowns, frame.sample_frame(rows))


def selected_ids(frame: DaskLatentFrame, selector: Selector) -> np.ndarray:
    """Sorted ids of the selected rows (EditError if none): what an edit stores."""
    plan = _plan(selector)
    ids = _per_part(frame, _ids_part, _parts_to_test(frame, selector), plan, _names(frame))
    ids = np.sort(np.concatenate([np.empty(0, np.int64), *ids]), kind="stable")
    if isinstance(plan, tuple) and plan[0] == "ids" and len(ids) < len(plan[1]):
        missing = np.setdiff1d(plan[1], ids, assume_unique=True)
        raise EditError(f"{len(missing)} selected ids are not in the dataset (first: {int(missing[0])}); "
                        "select points that exist")
    if not len(ids):
        raise EditError(f"the selection ({selector.describe()}) is empty; select at least one point")
    return ids


def count_in(frame: DaskLatentFrame, viewport: Viewport) -> int:
    """How many points lie in the viewport."""
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    return summarize(frame, Selector.of_box(x0, y0, x1, y1), sample_size=0).count


def population(frame: DaskLatentFrame) -> dict[str, np.ndarray]:
    """Counts per category of every categorical column, over all rows."""
    import dask

    columns = {name: len(frame.categories(name)) for name in frame.categorical_columns}
    parts = dask.compute(*[dask.delayed(_bincounts)(part, None, columns) for part in frame.df.to_delayed()])
    return {name: np.sum([p[name] for p in parts], axis=0) for name in columns}


def block_states(frame: DaskLatentFrame, selector: Selector) -> np.ndarray | None:
    """For each block of the frame's block index: OUTSIDE (no row selected), INSIDE (every row)
    or MIXED (test its rows); None without a block index for this partitioning."""
    blocks = frame.blocks
    if blocks is None or frame.npartitions != blocks.n_parts:
        return None
    states = selector.states(blocks.bounds)
    states[~blocks.finite] = MIXED  # a non-finite position is never selected: such a block is tested
    return states


def _parts_to_test(frame: DaskLatentFrame, selector: Selector) -> list[tuple]:
    """(partition number, runs) for every partition that may hold selected rows. runs: None
    (test every row), or (rows of the partition, [(start, stop, wholly_selected), ...])."""
    n_parts = frame.npartitions
    blocks, states = frame.blocks, block_states(frame, selector)
    if states is None:
        return [(p, None) for p in range(n_parts)]
    runs: list[list] = [[] for _ in range(n_parts)]
    for p, start, stop, state in zip(blocks.part.tolist(), blocks.start.tolist(), blocks.stop.tolist(),
                                     states.tolist()):
        if state == OUTSIDE:
            continue
        run = runs[p]
        if run and run[-1][1] == start and run[-1][2] == (state == INSIDE):  # extend the last run
            run[-1] = (run[-1][0], stop, run[-1][2])
        else:
            run.append((start, stop, state == INSIDE))
    part_rows = blocks.part_rows().tolist()
    return [(p, (part_rows[p], run)) for p, run in enumerate(runs) if run]


def _per_part(frame: DaskLatentFrame, fn, todo: list[tuple], *args) -> list:
    """fn(partition, *args, runs) on the cluster for each (partition number, runs) of `todo`."""
    import dask

    parts = frame.df.to_delayed()
    return list(dask.compute(*[dask.delayed(fn)(parts[p], *args, runs) for p, runs in todo]))


# -- per partition (runs on the workers) ---------------------------------------------------

def _plan(selector: Selector):
    """The selector with explicit ids as one sorted array (sent once, not a tuple per partition)."""
    if selector.kind == "ids":
        return ("ids", np.unique(np.asarray(selector.ids, dtype=np.int64)))
    if selector.kind == "all_of":
        return ("all_of", tuple(_plan(p) for p in selector.parts))
    return selector


def _mask(plan, ctx: SelectionContext) -> np.ndarray:
    if isinstance(plan, Selector):
        return plan.mask(ctx)
    kind, arg = plan
    if kind == "ids":  # ids spread over partitions: membership, not "every id is here"
        return np.isin(ctx.ids, arg, assume_unique=True)
    mask = np.ones(len(ctx.ids), dtype=bool)
    for part in arg:
        mask &= _mask(part, ctx)
    return mask


def _names(frame: DaskLatentFrame) -> tuple:
    return frame.class_names, frame.attribute_categories


def _context(part: pd.DataFrame, names) -> SelectionContext:
    class_names, categories = names
    return SelectionContext(ids=part["id"].to_numpy(), x=part["x"].to_numpy(), y=part["y"].to_numpy(),
                            labels=part["label"].to_numpy(), attributes={a: part[a].to_numpy() for a in categories},
                            attribute_categories=categories, class_names=class_names)


def _bincounts(part: pd.DataFrame, rows: np.ndarray | None, columns: dict[str, int]) -> dict[str, np.ndarray]:
    """Counts per category of the given rows (all rows for None)."""
    out = {}
    for name, k in columns.items():
        codes = part[name].to_numpy()
        codes = codes.view(np.int8) if codes.dtype == np.bool_ else codes
        codes = codes if rows is None else codes[rows]
        out[name] = np.bincount(np.clip(codes, 0, max(k - 1, 0)), minlength=k)[:k]
    return out


def _part_mask(part: pd.DataFrame, plan, names, runs) -> np.ndarray:
    """The selector's mask over the partition: per run of blocks when `_parts_to_test` gave runs."""
    if runs is None or runs[0] != len(part):  # no block index for this partition (as a safeguard)
        return _mask(plan, _context(part, names))
    mask = np.zeros(len(part), dtype=bool)
    for start, stop, whole in runs[1]:
        mask[start:stop] = True if whole else _mask(plan, _context(part.iloc[start:stop], names))
    return mask


def _summarize_part(part: pd.DataFrame, plan, names, columns: dict[str, int], sample_size: int, seed: int, runs):
    mask = _part_mask(part, plan, names, runs)
    selected = np.flatnonzero(mask)
    keys = sample_keys(part["id"].to_numpy()[selected], seed)
    keep = _smallest(keys, sample_size)  # this partition's candidates for the sample
    return (len(selected), _selected_counts(part, mask, runs, columns),
            part.iloc[selected[keep]].assign(**{_KEY: keys[keep]}))


def _selected_counts(part: pd.DataFrame, mask: np.ndarray, runs, columns: dict[str, int]) -> dict[str, np.ndarray]:
    """`_bincounts` of the selected rows; per run of blocks when there are runs (a run taken
    whole is counted as a slice, without gathering its rows)."""
    if runs is None or runs[0] != len(part):
        return _bincounts(part, np.flatnonzero(mask), columns)
    counts = {name: np.zeros(k, np.int64) for name, k in columns.items()}
    for start, stop, whole in runs[1]:
        rows = None if whole else np.flatnonzero(mask[start:stop])
        for name, c in _bincounts(part.iloc[start:stop], rows, columns).items():
            counts[name] += c
    return counts


def _smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k smallest keys (all of them if there are no more than k)."""
    if len(keys) <= k:
        return np.arange(len(keys))
    if not k:
        return np.empty(0, np.int64)
    # the keys are uniform 64-bit hashes: those under a cut expected to keep 4k of them hold
    # the k smallest unless too few pass (then every key is ranked)
    cut = np.flatnonzero(keys < np.uint64(min(2**64 - 1, 4 * k * 2**64 // len(keys))))
    if len(cut) >= k:
        return cut[np.argpartition(keys[cut], k - 1)[:k]]
    return np.argpartition(keys, k - 1)[:k]


def _ids_part(part: pd.DataFrame, plan, names, runs) -> np.ndarray:
    ids = part["id"].to_numpy()[_part_mask(part, plan, names, runs)]
    return ids if np.all(ids[1:] > ids[:-1]) else np.sort(ids)


def sample_keys(ids: np.ndarray, seed: int) -> np.ndarray:
    """A well-mixed 64-bit hash of each id (splitmix64 of id + seed): random order, fixed by (id, seed)."""
    z = np.asarray(ids).astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))

"""A latent frame reordered in the plane, so that a box or lasso can skip most of it.

`sort_spatially` writes a copy of a frame whose rows run along a Hilbert curve over the
frame's extent: each partition is a stretch of the curve (a compact region of the cloud)
and so is each block of `BLOCK_ROWS` rows in it. With the frame's block index (boxes of
the blocks, written with it) a selection skips the blocks it cannot touch and takes the
blocks it covers whole without the point test (see `hill_viz.scale.select`).

Two passes of tasks on the cluster, each holding one partition: every source partition
splits its rows by destination partition into small files; every destination partition
reads its pieces and sorts them by (curve position, id), so the result does not depend on
the order the pieces arrive in. Rows with a non-finite position go last.
"""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from hill_viz.scale.cluster import run_tasks
from hill_viz.scale.frame import (BLOCK_ROWS, BlockIndex, DaskLatentFrame, combine_extents, open_frame, part_blocks,
                                  part_extent, write_meta)

__all__ = ["hilbert_keys", "sort_spatially"]

FINE_BITS = 16    # curve cells per side: 2^16 (the order of rows)
COARSE_BITS = 8   # 2^8 per side to balance destination partitions (a prefix of the fine curve)


def sort_spatially(frame: DaskLatentFrame, folder: str | Path, *, part_rows: int | None = None,
                   block_rows: int = BLOCK_ROWS, progress=None, extra_meta: dict | None = None) -> DaskLatentFrame:
    """Write `frame`'s rows along a Hilbert curve into a new frame folder (replacing one that
    exists) and open it. part_rows: rows per partition, about (default: as many partitions
    as `frame`); block_rows: rows per block of its block index. progress(done, total) over
    the two passes."""
    import dask

    from hill_viz.scale.latents import _replace_folder

    folder = Path(folder)
    parts = frame.df.to_delayed()
    n_out = max(1, -(-len(frame) // part_rows)) if part_rows else max(1, len(parts))
    extent = frame.extent()
    counts = run_tasks([dask.delayed(_coarse_counts)(p, extent) for p in parts])
    starts = _split_points(np.sum(counts, axis=0), n_out)
    tmp = folder.with_name(f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        total = len(parts) + len(starts) + 1
        step = (lambda done, _: progress(done, total)) if progress else None
        run_tasks([dask.delayed(_scatter, pure=False)(p, extent, starts, tmp, i) for i, p in enumerate(parts)], step)
        buckets = sorted(d for d in tmp.iterdir() if d.is_dir())  # only destinations that got rows
        after = (lambda done, _: progress(len(parts) + done, total)) if progress else None
        stats = run_tasks([dask.delayed(_gather, pure=False)(d, extent, tmp / f"part-{k:05d}.parquet", block_rows)
                           for k, d in enumerate(buckets)], after)
        for d in buckets:
            shutil.rmtree(d)
        write_meta(tmp, class_names=frame.class_names, attribute_categories=frame.attribute_categories,
                   n_rows=sum(s[0] for s in stats), part_rows=[s[0] for s in stats],
                   extent=combine_extents(s[1:5] for s in stats), blocks=BlockIndex.concat([s[5] for s in stats]),
                   extra={"order": "hilbert", **(extra_meta or {})})
        _replace_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_frame(folder)


def hilbert_keys(x: np.ndarray, y: np.ndarray, extent, bits: int = FINE_BITS) -> np.ndarray:
    """Position of each point along a Hilbert curve of 2^bits x 2^bits cells over the extent
    (x_min, x_max, y_min, y_max); points outside clamp to the border cells, non-finite ones
    get 4^bits (after every cell)."""
    n = 1 << bits
    x0, x1, y0, y1 = extent
    ok = np.isfinite(x) & np.isfinite(y)
    cx = _cells(x, x0, x1, n, ok)
    cy = _cells(y, y0, y1, n, ok)
    key = np.zeros(len(cx), dtype=np.int64)
    s = n >> 1
    while s > 0:  # the classic xy -> d walk, vectorized
        rx, ry = (cx & s) > 0, (cy & s) > 0
        key += np.int64(s) * s * ((3 * rx) ^ ry)
        flip = ~ry & rx
        cx = np.where(flip, n - 1 - cx, cx)
        cy = np.where(flip, n - 1 - cy, cy)
        swap = ~ry
        cx, cy = np.where(swap, cy, cx), np.where(swap, cx, cy)
        s >>= 1
    key[~ok] = np.int64(n) * n
    return key


def _cells(v: np.ndarray, lo: float, hi: float, n: int, ok: np.ndarray) -> np.ndarray:
    scale = n / (hi - lo) if hi > lo else 0.0
    with np.errstate(invalid="ignore"):
        c = np.floor((np.where(ok, v, lo).astype(np.float64) - lo) * scale)
    return np.clip(c, 0, n - 1).astype(np.int64)


def _coarse_keys(part: pd.DataFrame, extent) -> np.ndarray:
    keys = hilbert_keys(part["x"].to_numpy(), part["y"].to_numpy(), extent)
    return keys >> (2 * (FINE_BITS - COARSE_BITS))  # a Hilbert curve's prefix is the coarser curve


def _coarse_counts(part: pd.DataFrame, extent) -> np.ndarray:
    return np.bincount(_coarse_keys(part, extent), minlength=4 ** COARSE_BITS + 1).astype(np.int64)


def _split_points(counts: np.ndarray, n_out: int) -> np.ndarray:
    """First coarse cell of each destination partition after the first: about equal rows each."""
    cum = np.cumsum(counts)
    targets = cum[-1] * np.arange(1, n_out) / n_out
    return np.unique(np.searchsorted(cum, targets, side="left") + 1)


def _scatter(part: pd.DataFrame, extent, starts: np.ndarray, tmp: Path, index: int) -> int:
    dest = np.searchsorted(starts, _coarse_keys(part, extent), side="right")
    order = np.argsort(dest, kind="stable")
    dest = dest[order]
    bounds = np.flatnonzero(np.diff(dest)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(dest)]):
        if hi > lo:
            out = tmp / f"bucket-{int(dest[lo]):05d}"
            out.mkdir(exist_ok=True)
            part.iloc[order[lo:hi]].to_parquet(out / f"from-{index:05d}.parquet", index=False)
    return len(part)


def _gather(bucket: Path, extent, path: Path, block_rows: int) -> tuple:
    rows = pd.concat([pd.read_parquet(f) for f in sorted(bucket.glob("*.parquet"))], ignore_index=True)
    keys = hilbert_keys(rows["x"].to_numpy(), rows["y"].to_numpy(), extent)
    rows = rows.iloc[np.lexsort((rows["id"].to_numpy(), keys))].reset_index(drop=True)
    rows.to_parquet(path, index=False)
    return (len(rows), *part_extent(rows), part_blocks(rows, block_rows))

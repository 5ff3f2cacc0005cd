"""The latent frame as a Dask DataFrame: the columns of `LatentFrame`, partitioned.

A frame folder holds `part-NNNNN.parquet` files (one per source partition, in row order)
and `_hill_frame.json` (class names, attribute categories, row count, extent, and the box
of every block of `BLOCK_ROWS` rows: `BlockIndex`), so opening it reads no data.
`DaskLatentFrame` answers the metadata questions a `LatentFrame` answers (categories,
extent, length) and hands out its Dask DataFrame to the view and selection code; it never
collects every row unless asked (`to_latent_frame`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from hill_viz.core.frame import LatentFrame
from hill_viz.errors import DataError, WorkspaceError

__all__ = ["BLOCK_ROWS", "META_FILE", "BlockIndex", "DaskLatentFrame", "combine_extents", "empty_frame", "open_frame",
           "part_blocks", "part_extent", "write_meta"]

META_FILE = "_hill_frame.json"
FORMAT_VERSION = 1
BLOCK_ROWS = 65536  # rows per block of the block index


@dataclass(frozen=True, eq=False)
class BlockIndex:
    """Blocks of consecutive rows of every partition, with the box of their finite positions:
    a box or lasso skips the blocks it cannot touch and selects the blocks it wholly covers
    without the point test (see `Selector.states`). Only useful when blocks are compact in
    the plane, as in a frame written by `hill_viz.scale.spatial.sort_spatially`."""

    part: np.ndarray     # (B,) partition of each block, ascending
    start: np.ndarray    # (B,) its first row in the partition
    stop: np.ndarray     # (B,) one past its last row
    bounds: np.ndarray   # (B, 4) float32 x_min, x_max, y_min, y_max of its finite positions
    finite: np.ndarray   # (B,) every position in the block is finite
    n_parts: int         # partitions covered (an empty one has no block)

    @classmethod
    def concat(cls, per_part: list[dict]) -> "BlockIndex":
        """From `part_blocks` of each partition, in partition order."""
        part = np.concatenate([np.full(len(b["start"]), p, dtype=np.int64) for p, b in enumerate(per_part)])
        cat = {k: np.concatenate([np.asarray(b[k]) for b in per_part]) for k in ("start", "stop", "finite")}
        bounds = np.concatenate([np.asarray(b["bounds"], np.float32).reshape(-1, 4) for b in per_part])
        return cls(part, cat["start"].astype(np.int64), cat["stop"].astype(np.int64), bounds,
                   cat["finite"].astype(bool), len(per_part))

    def part_rows(self) -> np.ndarray:
        """Rows of each partition."""
        return np.bincount(self.part, weights=self.stop - self.start, minlength=self.n_parts).astype(np.int64)

    def to_json(self) -> dict:
        return {"n_parts": self.n_parts, "part": self.part.tolist(), "start": self.start.tolist(),
                "stop": self.stop.tolist(), "bounds": self.bounds.astype(np.float64).tolist(),
                "finite": self.finite.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> "BlockIndex":
        part = np.asarray(d["part"], np.int64)
        return cls(part, np.asarray(d["start"], np.int64), np.asarray(d["stop"], np.int64),
                   np.asarray(d["bounds"], np.float64).reshape(-1, 4).astype(np.float32),
                   np.asarray(d["finite"], bool), int(d.get("n_parts", part.max(initial=-1) + 1)))


def part_blocks(df: pd.DataFrame, block_rows: int = BLOCK_ROWS) -> dict:
    """The blocks of one partition (rows in order): starts, stops, boxes, all-finite flags."""
    x, y = df["x"].to_numpy(np.float32), df["y"].to_numpy(np.float32)
    start = np.arange(0, len(df), block_rows, dtype=np.int64)
    if not len(start):
        return {"start": start, "stop": start, "bounds": np.empty((0, 4), np.float32), "finite": np.empty(0, bool)}
    ok = np.isfinite(x) & np.isfinite(y)
    fx, fy = np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    with np.errstate(invalid="ignore"):
        bounds = np.column_stack([np.fmin.reduceat(fx, start), np.fmax.reduceat(fx, start),
                                  np.fmin.reduceat(fy, start), np.fmax.reduceat(fy, start)])
    return {"start": start, "stop": np.minimum(start + block_rows, len(df)),
            "bounds": np.nan_to_num(bounds, nan=0.0).astype(np.float32),
            "finite": np.minimum.reduceat(ok.view(np.uint8), start).astype(bool)}


@dataclass(eq=False)
class DaskLatentFrame:
    df: object                                   # dask.dataframe.DataFrame with LatentFrame's columns
    class_names: tuple[str, ...]
    attribute_categories: dict[str, tuple[str, ...]]
    n_rows: int
    extent_: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
    blocks: BlockIndex | None = None             # row blocks of each partition with their boxes

    # the metadata answers are LatentFrame's own (they read only the names above)
    attribute_names = LatentFrame.attribute_names
    categorical_columns = LatentFrame.categorical_columns
    categories = LatentFrame.categories

    def __len__(self) -> int:
        return self.n_rows

    @property
    def npartitions(self) -> int:
        return self.df.npartitions

    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the finite positions, as `LatentFrame.extent`."""
        return self.extent_

    def persist(self) -> "DaskLatentFrame":
        """The same frame held in the cluster's memory (what the view works on)."""
        return replace(self, df=self.df.persist())

    def with_blocks(self, block_rows: int = BLOCK_ROWS) -> "DaskLatentFrame":
        """This frame with its block index computed on the cluster (one pass over the rows)."""
        import dask

        per_part = dask.compute(*[dask.delayed(part_blocks)(p, block_rows) for p in self.df.to_delayed()])
        return replace(self, blocks=BlockIndex.concat(list(per_part)))

    def to_latent_frame(self) -> LatentFrame:
        """Every row in this process: for data that fits (and for tests)."""
        return self.sample_frame(self.df.compute())

    def sample_frame(self, rows: pd.DataFrame) -> LatentFrame:
        """Rows of this frame (a small pandas DataFrame) as an in-memory LatentFrame with its names."""
        return LatentFrame(rows.reset_index(drop=True), self.class_names, dict(self.attribute_categories))


def empty_frame(attribute_categories: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """The frame's columns and dtypes, no rows (Dask's `meta`)."""
    attrs = {name: np.empty(0, np.int8 if len(c) <= np.iinfo(np.int8).max else np.int16)
             for name, c in attribute_categories.items()}
    return LatentFrame.from_arrays(np.empty(0, np.float32), np.empty(0, np.float32), class_names=["0"],
                                   attributes=attrs, attribute_categories=attribute_categories).df


def write_meta(folder: Path, *, class_names, attribute_categories, n_rows: int, part_rows: list[int],
               extent: tuple[float, float, float, float], blocks: BlockIndex | None = None,
               extra: dict | None = None) -> None:
    meta = {"format": FORMAT_VERSION, "class_names": list(class_names),
            "attribute_categories": {k: list(v) for k, v in attribute_categories.items()},
            "n_rows": int(n_rows), "part_rows": [int(r) for r in part_rows],
            "extent": [float(v) for v in extent], **(extra or {})}
    if blocks is not None:
        meta["blocks"] = blocks.to_json()
    (Path(folder) / META_FILE).write_text(json.dumps(meta, indent=1))


def combine_extents(boxes) -> tuple[float, float, float, float]:
    """The extent over per-partition (x_min, x_max, y_min, y_max); a unit box if nothing is finite."""
    boxes = np.array([b for b in boxes if all(math.isfinite(v) for v in b)], dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return (0.0, 1.0, 0.0, 1.0)
    return (float(boxes[:, 0].min()), float(boxes[:, 1].max()), float(boxes[:, 2].min()), float(boxes[:, 3].max()))


def part_extent(frame) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) of a partition's finite positions; NaNs if none."""
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    fx, fy = x[np.isfinite(x)], y[np.isfinite(y)]
    if not len(fx) or not len(fy):
        return np.nan, np.nan, np.nan, np.nan
    return float(fx.min()), float(fx.max()), float(fy.min()), float(fy.max())


def open_frame(folder: str | Path) -> DaskLatentFrame:
    """A frame folder written by `write_latents` (lazy: nothing is read but the metadata)."""
    import dask.dataframe as dd

    folder = Path(folder)
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except FileNotFoundError:
        raise WorkspaceError(f"{folder} is not a latent frame folder (no {META_FILE}); "
                             "compute the latents again") from None
    except (OSError, json.JSONDecodeError) as err:
        raise WorkspaceError(f"{folder / META_FILE} cannot be read ({err}); compute the latents again") from None
    if meta.get("format") != FORMAT_VERSION:
        raise WorkspaceError(f"{folder} holds a latent frame of format {meta.get('format')}; this hill-viz reads "
                             f"format {FORMAT_VERSION}: compute the latents again")
    files = sorted(folder.glob("part-*.parquet"))
    if len(files) != len(meta["part_rows"]):
        raise WorkspaceError(f"{folder} has {len(files)} part files but its metadata lists "
                             f"{len(meta['part_rows'])}; compute the latents again")
    categories = {k: tuple(v) for k, v in meta["attribute_categories"].items()}
    df = dd.read_parquet([str(f) for f in files], index=False, split_row_groups=False)
    expected = list(empty_frame(categories).columns)
    if list(df.columns) != expected:
        raise DataError(f"{folder} has columns {list(df.columns)}, expected {expected}; compute the latents again")
    blocks = BlockIndex.from_json(meta["blocks"]) if "blocks" in meta else None
    if blocks is not None and (blocks.n_parts != len(files) or blocks.part_rows().tolist() != meta["part_rows"]):
        raise WorkspaceError(f"{folder / META_FILE}: its blocks do not cover the partitions' rows; "
                             "compute the latents again")
    return DaskLatentFrame(df, tuple(meta["class_names"]), categories, int(meta["n_rows"]),
                           tuple(meta["extent"]), blocks)

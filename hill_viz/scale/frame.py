"""The latent frame as a Dask DataFrame: the columns of `LatentFrame`, partitioned.

A frame folder holds `part-NNNNN.parquet` files (one per source partition, in row order)
and `_hill_frame.json` (class names, attribute categories, row count, extent), so opening
it reads no data. `DaskLatentFrame` answers the metadata questions a `LatentFrame` answers
(categories, extent, length) and hands out its Dask DataFrame to the view and selection
code; it never collects every row unless asked (`to_latent_frame`).
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

__all__ = ["META_FILE", "DaskLatentFrame", "empty_frame", "open_frame", "write_meta"]

META_FILE = "_hill_frame.json"
FORMAT_VERSION = 1


@dataclass(eq=False)
class DaskLatentFrame:
    df: object                                   # dask.dataframe.DataFrame with LatentFrame's columns
    class_names: tuple[str, ...]
    attribute_categories: dict[str, tuple[str, ...]]
    n_rows: int
    extent_: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)

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
               extent: tuple[float, float, float, float], extra: dict | None = None) -> None:
    meta = {"format": FORMAT_VERSION, "class_names": list(class_names),
            "attribute_categories": {k: list(v) for k, v in attribute_categories.items()},
            "n_rows": int(n_rows), "part_rows": [int(r) for r in part_rows],
            "extent": [float(v) for v in extent], **(extra or {})}
    (Path(folder) / META_FILE).write_text(json.dumps(meta, indent=1))


def combine_extents(boxes) -> tuple[float, float, float, float]:
    """The extent over per-partition (x_min, x_max, y_min, y_max); a unit box if nothing is finite."""
    boxes = np.array([b for b in boxes if all(math.isfinite(v) for v in b)], dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return (0.0, 1.0, 0.0, 1.0)
    return (float(boxes[:, 0].min()), float(boxes[:, 1].max()), float(boxes[:, 2].min()), float(boxes[:, 3].max()))


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
    return DaskLatentFrame(df, tuple(meta["class_names"]), categories, int(meta["n_rows"]),
                           tuple(meta["extent"]))

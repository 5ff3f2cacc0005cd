"""A dataset too large for one process: a folder of Parquet files, opened lazily.

`open_source(folder)` reads only the files' footers and then scans the small columns
(label, split, id, attributes) partition by partition on the Dask cluster in use (the
default scheduler: a `distributed.Client` if one is connected, else local threads). The
feature matrix is never loaded whole: `ParquetSource.read(part)` decodes one partition
(a run of row groups of one file) into the arrays a `Dataset` holds, with the class codes
and attribute categories of the whole folder, and `ParquetSource.frame()` is the same as a
lazy Dask DataFrame. Files are taken in sorted path order; a sample's row is its position
in that order, and without an `id` column its id is that row, as for a single file.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from hill_viz.core.data import SPLITS, Dataset
from hill_viz.core.data.options import check_seed as _check_seed
from hill_viz.core.data.options import check_split_fractions as _check_split_fractions
from hill_viz.core.data.tables import _column_roles
from hill_viz.errors import DataError
from hill_viz.scale import validate

__all__ = ["PARTITION_ROWS", "ParquetSource", "Part", "PartArrays", "open_source"]

PARTITION_ROWS = 1 << 20  # rows per partition, about (whole row groups; one file at least per partition)
_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Part:
    """One partition: consecutive row groups of one file."""

    index: int
    file: Path
    row_groups: tuple[int, ...]
    file_offset: int   # its first row, counted in its file
    offset: int        # its first row, counted over the whole folder
    n_rows: int

    def row_group_parts(self, sizes: tuple[int, ...]) -> list["Part"]:
        """This part cut into one part per row group (`sizes`: their row counts)."""
        out, start = [], 0
        for rg, size in zip(self.row_groups, sizes):
            out.append(replace(self, row_groups=(rg,), file_offset=self.file_offset + start,
                               offset=self.offset + start, n_rows=size))
            start += size
        return out


@dataclass(frozen=True)
class Roles:
    """Which columns are what (as `load_dataset(path=...)` decides for one file)."""

    features: tuple[str, ...]       # scalar numeric columns, or the one list column
    vector: bool                    # True: features[0] is a list column of equal-length vectors
    attributes: tuple[str, ...]
    has_split: bool
    has_id: bool
    inferred_attributes: bool       # not listed by the user: text columns, checked for numeric typos


@dataclass(eq=False)
class PartArrays:
    """One partition decoded: what a `Dataset` holds for these rows."""

    features: np.ndarray              # (n, F) float32
    labels: np.ndarray                # (n,) int64 codes into the folder's class names
    split: np.ndarray                 # (n,) int8
    ids: np.ndarray                   # (n,) int64
    attributes: dict[str, np.ndarray]  # codes into the folder's categories
    rows: np.ndarray                  # (n,) int64 rows over the whole folder


@dataclass(eq=False)
class ParquetSource:
    """A scanned Parquet dataset folder: its partitions, column roles and category names."""

    folder: Path
    parts: tuple[Part, ...]
    roles: Roles
    n_features: int
    class_names: tuple[str, ...]
    label_values: np.ndarray | None                 # sorted int64 label values, None for text labels
    attribute_values: dict[str, np.ndarray]          # sorted distinct values per attribute, as typed
    attribute_categories: dict[str, tuple[str, ...]]
    split_counts: tuple[int, int, int] | None        # None: split drawn per partition (no split column)
    seed: int = 0
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    params: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def n_samples(self) -> int:
        return sum(p.n_rows for p in self.parts)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def read(self, part: Part) -> PartArrays:
        """Decode one partition; a DataError names the file and the row in it."""
        return validate.decode_part(self, part)

    def dataset(self, part: Part) -> Dataset:
        """One partition as an in-memory Dataset with the folder's class and category names."""
        a = self.read(part)
        return Dataset(name=self.name, features=a.features, labels=a.labels, class_names=self.class_names,
                       split=a.split, ids=a.ids, attributes=a.attributes,
                       attribute_categories=dict(self.attribute_categories))

    def frame(self):
        """A lazy Dask DataFrame: feature columns (float32), label, split, id, attribute codes, row."""
        import dask.dataframe as dd

        meta = validate.part_frame(None, self)
        return dd.from_map(validate.part_frame, self.parts, args=(self,), meta=meta,
                           label="hill-viz-source", enforce_metadata=False)

    def describe(self) -> dict:
        """Like `Dataset.describe`, without the per-class counts (they need a pass over the labels)."""
        return {"name": self.name, "n_samples": self.n_samples, "n_features": self.n_features,
                "n_classes": self.n_classes, "class_names": list(self.class_names),
                "splits": None if self.split_counts is None else dict(zip(SPLITS, self.split_counts)),
                "attributes": {k: list(v) for k, v in self.attribute_categories.items()},
                "partitions": len(self.parts), "files": len({p.file for p in self.parts}),
                "params": self.params}


def open_source(folder: str | Path, *, features: list[str] | None = None, attributes: list[str] | None = None,
                seed: int = 0, splits=(0.7, 0.15, 0.15), partition_rows: int = PARTITION_ROWS) -> ParquetSource:
    """Open and scan a Parquet dataset folder (every `*.parquet` / `*.pq` below it).

    `features`, `attributes` and `splits` mean what they mean for `load_dataset(path=...)`;
    without a split column the split is drawn per partition, stratified by class.
    """
    folder = Path(folder)
    seed = _check_seed(seed)
    fractions = tuple(_check_split_fractions(splits))
    if partition_rows < 1:
        raise DataError(f"partition_rows must be at least 1, got {partition_rows}")
    files = _list_files(folder)
    schema = _common_schema(files)
    roles, n_features = _roles(files[0], schema, features, attributes)
    parts = _plan_parts(files, partition_rows)
    source = ParquetSource(folder=folder, parts=tuple(parts), roles=roles, n_features=n_features,
                           class_names=(), label_values=None, attribute_values={}, attribute_categories={},
                           split_counts=None, seed=seed, fractions=fractions,
                           params={"folder": str(folder.resolve()), "seed": seed, "features": features,
                                   "attributes": attributes, "splits": list(fractions)})
    return validate.scan(source)


def _list_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(f"{folder} is a file; give the folder that holds the Parquet files, or load the file "
                        "with path=..." if folder.is_file() else f"folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES)
                   and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts))
    if not files:
        raise DataError(f"{folder} holds no .parquet files; write the dataset as one or more Parquet files there")
    return files


def _common_schema(files: list[Path]):
    """The first file's Arrow schema; every other file must have the same column names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = []
    for path in files:
        try:
            schemas.append(pq.read_schema(path))
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"could not read {path.name} as Parquet: {err}") from err
    first = set(schemas[0].names)
    for path, schema in zip(files[1:], schemas[1:]):
        if set(schema.names) != first:
            diff = sorted(first.symmetric_difference(schema.names))
            raise DataError(f"{path.name} has other columns than {files[0].name} (differing: {', '.join(diff)}); "
                            "every file of a dataset folder needs the same columns")
    return schemas[0]


def _roles(first: Path, schema, features, attributes) -> tuple[Roles, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(schema.names)
    if "label" not in names:
        raise DataError(f"{first.name} has no 'label' column (columns: {', '.join(names)}); "
                        "rename your label column to 'label'")
    list_types = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    vectors = {f.name: None for f in schema if any(t(f.type) for t in list_types)}
    empty = schema.empty_table().drop_columns(list(vectors)).to_pandas()
    feature_cols, attribute_cols = _column_roles(empty, vectors, features, attributes)
    vector = feature_cols[0] in vectors
    if vector:  # the first vector's length; every partition is checked against it when read
        head = pq.ParquetFile(first).read_row_group(0, columns=feature_cols).column(0).slice(0, 1)
        n_features = len(head[0]) if len(head) and head[0].is_valid else 0
    else:
        n_features = len(feature_cols)
    roles = Roles(tuple(feature_cols), vector, tuple(attribute_cols), "split" in names, "id" in names,
                  attributes is None)
    return roles, n_features


def _plan_parts(files: list[Path], partition_rows: int) -> list[Part]:
    """Consecutive row groups of a file, about `partition_rows` rows a partition."""
    import pyarrow.parquet as pq

    parts: list[Part] = []
    offset = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        groups, rows, file_offset = [], 0, 0
        for rg in range(meta.num_row_groups):
            groups.append(rg)
            rows += meta.row_group(rg).num_rows
            if rows >= partition_rows or rg == meta.num_row_groups - 1:
                parts.append(Part(len(parts), path, tuple(groups), file_offset, offset, rows))
                offset, file_offset = offset + rows, file_offset + rows
                groups, rows = [], 0
    if offset == 0:
        raise DataError(f"the Parquet files in {files[0].parent} have no rows; "
                        "a dataset needs at least one sample per class")
    return [p for p in parts if p.n_rows > 0]


def read_table(part: Part, columns: list[str]):
    """The given columns of a partition's row groups, as an Arrow table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(part.file).read_row_groups(list(part.row_groups), columns=columns)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"could not read {part.file.name} as Parquet: {err}") from err


def column_series(table, name: str) -> pd.Series:
    return table.column(name).to_pandas().reset_index(drop=True)

"""Training data from a Parquet dataset folder without loading it: seeded batches or a seeded subset.

`BatchStream(source, ...).batches(epoch)` yields the batches of one epoch over a split:
- when the split fits in `buffer_rows`, exactly the batches `Trainer` draws in memory for
  (seed, epoch): a permutation from `default_rng([seed, epoch])`, cut into batches, each
  sorted by row. Training on them gives the in-memory weights.
- otherwise a shuffling buffer: row groups (whole partitions without a split column) are
  read in an order drawn from (seed, epoch); whenever the buffer holds `buffer_rows` rows it
  is shuffled and all but half a buffer is emitted as batches. Every row of the split comes
  exactly once per epoch, memory stays at about one buffer plus one row group, and the
  batches are fixed by (seed, epoch): replay is exact, but they differ from the in-memory
  permutation (that one needs every row at hand).
`sample_dataset(source, n, seed=..., epoch=...)` reads a seeded random subset of n rows into
an in-memory `Dataset` with the folder's ids, for training an epoch on a sample with the
unchanged `Trainer`; `read_rows` / `rows_of_ids` fetch given samples (an edit's, say).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from hill_viz.core.data import SPLITS, Dataset
from hill_viz.errors import ConfigError, DataError, EditError
from hill_viz.scale.source import ParquetSource, PartArrays

__all__ = ["DEFAULT_BUFFER_ROWS", "Batch", "BatchStream", "cached_source", "folder_dataset", "read_rows",
           "rows_of_ids", "sample_dataset"]

DEFAULT_BUFFER_ROWS = 1 << 20  # rows the shuffling buffer holds (64 MiB of 16-d features)


@dataclass(frozen=True)
class Batch:
    rows: np.ndarray       # (B,) int64 rows over the folder, sorted
    ids: np.ndarray        # (B,) int64
    features: np.ndarray   # (B, F) float32
    labels: np.ndarray     # (B,) int64 class codes


class BatchStream:
    """Seeded batches of one split of a Parquet dataset folder, epoch by epoch."""

    def __init__(self, source: ParquetSource, *, batch_size: int = 256, seed: int = 0,
                 buffer_rows: int = DEFAULT_BUFFER_ROWS, split: str = "train"):
        if not 1 <= batch_size <= 1_000_000:
            raise ConfigError(f"batch size must be between 1 and 1000000, got {batch_size}")
        if buffer_rows < 2 * batch_size:
            raise ConfigError(f"buffer_rows must hold at least two batches ({2 * batch_size}), got {buffer_rows}")
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        self.source, self.batch_size, self.seed = source, batch_size, seed
        self.buffer_rows, self.split = buffer_rows, SPLITS.index(split)
        self._held: PartArrays | None = None  # the whole split, once read, when it fits the buffer

    @property
    def exact(self) -> bool:
        """Whether the split fits the buffer, so batches are the in-memory Trainer's."""
        counts = self.source.split_counts
        if counts is None:  # drawn per partition: known only after reading
            return self._held is not None or self.source.n_samples <= self.buffer_rows
        return counts[self.split] <= self.buffer_rows

    @property
    def n_rows(self) -> int:
        """Rows of the split an epoch goes over (estimated from the fractions while a split drawn
        per partition has not been read)."""
        counts = self.source.split_counts
        if counts is not None:
            return counts[self.split]
        if self._held is not None:
            return len(self._held.rows)
        return round(self.source.n_samples * self.source.fractions[self.split])

    def batches(self, epoch: int) -> Iterator[Batch]:
        if self.exact:
            yield from self._exact(epoch)
        else:
            yield from self._buffered(epoch)

    # -- the split fits: the in-memory permutation ---------------------------------------
    def _exact(self, epoch: int) -> Iterator[Batch]:
        if self._held is None:
            self._held = _concat([_only(self.source.read(p), self.split) for p in self.source.parts])
        held = self._held
        order = np.random.default_rng([self.seed, epoch]).permutation(len(held.rows))
        for start in range(0, len(order), self.batch_size):
            yield _batch(held, np.sort(order[start:start + self.batch_size]))

    # -- it does not: a shuffling buffer ---------------------------------------------------
    def _buffered(self, epoch: int) -> Iterator[Batch]:
        units = _read_units(self.source)
        order = np.random.default_rng([self.seed, epoch, 1]).permutation(len(units))
        shuffle = np.random.default_rng([self.seed, epoch, 2])
        pending: list[PartArrays] = []
        held = 0
        for arrays in _prefetched(self.source, [units[i] for i in order]):
            arrays = _only(arrays, self.split)
            pending.append(arrays)
            held += len(arrays.rows)
            if held >= self.buffer_rows:
                buffer = _concat(pending)
                perm = shuffle.permutation(held)
                emit = (held - self.buffer_rows // 2) // self.batch_size * self.batch_size
                for start in range(0, emit, self.batch_size):
                    yield _batch(buffer, np.sort(perm[start:start + self.batch_size]))
                pending, held = [_take(buffer, np.sort(perm[emit:]))], held - emit
        if held:
            buffer = _concat(pending)
            perm = shuffle.permutation(held)
            for start in range(0, held, self.batch_size):
                yield _batch(buffer, np.sort(perm[start:start + self.batch_size]))


def sample_dataset(source: ParquetSource, n: int, *, seed: int = 0, epoch: int = 0) -> Dataset:
    """A seeded random subset of n rows (all splits) as an in-memory Dataset, read part by part."""
    total = source.n_samples
    if not 1 <= n <= total:
        raise DataError(f"n must be between 1 and the folder's {total} samples, got {n}")
    rows = np.random.default_rng([seed, epoch, 3]).choice(total, size=n, replace=False)
    dataset = read_rows(source, rows)
    dataset.params = {"folder": str(source.folder), "n": n, "seed": seed, "epoch": epoch}
    return dataset


def read_rows(source: ParquetSource, rows: np.ndarray) -> Dataset:
    """The given rows (over the folder) as an in-memory Dataset in row order, with their ids.

    Reads only the partitions that hold some of them, one at a time (e.g. the samples an
    edit covers, for the teacher).
    """
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    if len(rows) == 0 or rows[0] < 0 or rows[-1] >= source.n_samples:
        raise DataError(f"rows must lie in 0..{source.n_samples - 1} (and be at least one)")
    picked = []
    for part in source.parts:
        lo, hi = np.searchsorted(rows, [part.offset, part.offset + part.n_rows])
        if hi > lo:
            picked.append(_take(source.read(part), rows[lo:hi] - part.offset))
    a = _concat(picked)
    return Dataset(name=source.name, features=a.features, labels=a.labels, class_names=source.class_names,
                   split=a.split, ids=a.ids, attributes=a.attributes,
                   attribute_categories=dict(source.attribute_categories))


def rows_of_ids(source: ParquetSource, ids: np.ndarray) -> np.ndarray:
    """Rows (over the folder) of the given ids, in the ids' order; EditError for an unknown id.

    Without an id column ids are rows; otherwise the id column is scanned per partition.
    """
    import dask

    ids = np.asarray(ids, dtype=np.int64)
    if source.roles.has_id:
        order = np.argsort(ids, kind="stable")
        found = dask.compute(*[dask.delayed(_rows_with_ids)(source, p, ids[order]) for p in source.parts])
        rows = np.full(len(ids), -1, dtype=np.int64)
        for positions, part_rows in found:
            rows[order[positions]] = part_rows
    else:
        rows = np.where((ids >= 0) & (ids < source.n_samples), ids, -1)
    if (rows < 0).any():
        missing = ids[rows < 0]
        raise EditError(f"{len(missing)} selected ids are not in the dataset (first: {int(missing[0])}); "
                        "select points that exist")
    return rows


def _rows_with_ids(source: ParquetSource, part, sorted_ids: np.ndarray):
    """(positions in sorted_ids, their rows) for the ids this partition holds."""
    from hill_viz.scale.source import column_series, read_table

    part_ids = column_series(read_table(part, ["id"]), "id").to_numpy().astype(np.int64)
    pos = np.clip(np.searchsorted(sorted_ids, part_ids), 0, max(len(sorted_ids) - 1, 0))
    hit = np.flatnonzero(sorted_ids[pos] == part_ids) if len(sorted_ids) else np.empty(0, np.int64)
    return pos[hit], part.offset + hit


# -- helpers ---------------------------------------------------------------------------------

def _read_units(source: ParquetSource) -> list:
    """What the buffer reads at a time: row groups, or whole partitions when the split is drawn
    per partition (a row group alone would draw another split)."""
    import pyarrow.parquet as pq

    if source.split_counts is None:
        return list(source.parts)
    units = []
    for part in source.parts:
        meta = pq.ParquetFile(part.file).metadata
        units += part.row_group_parts(tuple(meta.row_group(rg).num_rows for rg in part.row_groups))
    return units


def _prefetched(source: ParquetSource, units: list) -> Iterator[PartArrays]:
    """Decoded units in order, the next one read in a thread while the current one is used."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(source.read, units[0]) if units else None
        for k in range(len(units)):
            arrays = future.result()
            future = pool.submit(source.read, units[k + 1]) if k + 1 < len(units) else None
            yield arrays


def _take(a: PartArrays, rows: np.ndarray) -> PartArrays:
    return PartArrays(a.features[rows], a.labels[rows], a.split[rows], a.ids[rows],
                      {k: v[rows] for k, v in a.attributes.items()}, a.rows[rows])


def _only(a: PartArrays, split: int) -> PartArrays:
    return _take(a, np.flatnonzero(a.split == split))


def _concat(parts: list[PartArrays]) -> PartArrays:
    if len(parts) == 1:
        return parts[0]
    return PartArrays(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]),
                      np.concatenate([p.split for p in parts]), np.concatenate([p.ids for p in parts]),
                      {k: np.concatenate([p.attributes[k] for p in parts]) for k in parts[0].attributes},
                      np.concatenate([p.rows for p in parts]))


def _batch(a: PartArrays, pos: np.ndarray) -> Batch:
    return Batch(a.rows[pos], a.ids[pos], a.features[pos], a.labels[pos])


_SOURCES: dict[tuple, ParquetSource] = {}  # scanned folders, by (folder, options, files' stamps)


def cached_source(folder, *, features=None, attributes=None, seed: int = 0, splits=(0.7, 0.15, 0.15)) -> ParquetSource:
    """`open_source`, scanned once per folder state (a Session opens it for the view and for training)."""
    from hill_viz.scale.source import _list_files, open_source

    folder = Path(folder).resolve()
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in _list_files(folder))
    key = (str(folder), tuple(features or ()), tuple(attributes or ()), seed, tuple(splits), stamp)
    if key not in _SOURCES:
        _SOURCES.clear()  # one folder at a time: a scan holds per-partition arrays
        _SOURCES[key] = open_source(folder, features=features, attributes=attributes, seed=seed, splits=splits)
    return _SOURCES[key]


def folder_dataset(folder, n: int | None, seed: int, options: dict) -> Dataset:
    """`load_dataset(path=FOLDER)`: every row of a Parquet dataset folder in row order, or a
    seeded subset of n rows (`sample_dataset`), as an in-memory Dataset; params replay it.

    Option `stream` (buffer rows: training streams every training row of the folder, see the
    Session's `stream_buffer`) changes how the dataset trains, not what it holds: it is
    checked and kept in the params, so the log says how to replay the training.
    """
    unknown = set(options) - {"features", "attributes", "splits", "stream"}
    if unknown:
        raise DataError(f"unknown option(s) for a dataset folder: {', '.join(sorted(unknown))}; "
                        "use features, attributes, splits or stream")
    options = dict(options)
    stream = options.pop("stream", None)
    if stream is not None and (isinstance(stream, bool) or not isinstance(stream, int) or stream < 2):
        raise ConfigError(f"stream must be the shuffling buffer's rows (a whole number >= 2), got {stream!r}")
    source = cached_source(folder, seed=seed, **options)
    if n is None or n >= source.n_samples:
        dataset = read_rows(source, np.arange(source.n_samples))
        n = None
    else:
        dataset = sample_dataset(source, n, seed=seed)
    dataset.params = {"path": str(Path(folder).resolve()), "n": n, "seed": seed, **options}
    if stream is not None:
        dataset.params["stream"] = stream
    return dataset

"""A partitioned Parquet dataset of any size: the `blobs` builtin, written file by file.

Sample i of `write_blobs(folder, n, seed=s, **options)` is sample i of
`load_dataset("blobs", n=n, seed=s, **options)`: the same chunked generator (chunk k from
its own seeded streams), so the folder and the in-memory dataset can be compared row for
row. Memory stays bounded by one row group whatever n is; files are written in parallel
on the connected Dask cluster, each under a temporary name until the folder is complete.

Columns: f00..f{dim-1} (float32), label (int16), split (int8 codes), id (int64), group
(text, g0..g3).
"""
from __future__ import annotations

import functools
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from hill_viz.core.data.blobs import blobs_generator as _blobs_generator
from hill_viz.core.data.generate import CHUNK_SIZE, _chunk_rng
from hill_viz.core.data.generate import MAX_GENERATED_N as _MAX_GENERATED_N
from hill_viz.core.data.generate import Generator as _Generator
from hill_viz.core.data.options import check_seed as _check_seed
from hill_viz.core.data.options import require_range as _require_range
from hill_viz.core.data.options import resolve_options as _resolve_options
from hill_viz.core.data.splits import block_split as _block_split
from hill_viz.errors import DataError

__all__ = ["ROWS_PER_FILE", "ROW_GROUP_ROWS", "blobs_generator", "write_blobs"]

ROW_GROUP_ROWS = 4 * CHUNK_SIZE     # 102,400 rows
ROWS_PER_FILE = 40 * CHUNK_SIZE     # 1,024,000 rows, about 78 MB at 16-d


def blobs_generator(seed: int, options: dict) -> tuple[_Generator, dict]:
    """The chunked generator `load_dataset("blobs", seed=seed, **options)` draws from, and its options."""
    from hill_viz.core.data.registry import BUILTINS

    opts = _resolve_options("dataset 'blobs'", options, BUILTINS["blobs"].defaults, ("n", "seed"))
    return _blobs_generator(seed, opts), opts


def write_blobs(folder: str | Path, n: int, *, seed: int = 0, rows_per_file: int = ROWS_PER_FILE,
                row_group_rows: int = ROW_GROUP_ROWS, progress=None, **options) -> Path:
    """Write n blobs samples as Parquet files in `folder` (created; it must not exist yet).

    `rows_per_file` and `row_group_rows` are rounded to whole generator chunks
    (CHUNK_SIZE = 25,600 rows). `progress(files_done, files)` is called as files finish.
    """
    import dask

    from hill_viz.scale.cluster import run_tasks

    folder = Path(folder)
    seed = _check_seed(seed)
    _require_range("dataset 'blobs'", "n", n, 100, _MAX_GENERATED_N)
    gen, opts = blobs_generator(seed, options)
    if folder.exists():
        raise DataError(f"{folder} exists already; give a new folder for the generated dataset")
    chunks_per_group = max(1, row_group_rows // CHUNK_SIZE)
    chunks_per_file = max(chunks_per_group, rows_per_file // CHUNK_SIZE // chunks_per_group * chunks_per_group)
    n_chunks = -(-n // CHUNK_SIZE)
    _check_disk(folder, n, gen.n_features)
    tmp = folder.with_name(f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        tasks = [dask.delayed(_write_file, pure=False)(tmp / f"part-{k:05d}.parquet", gen, seed, n, first,
                                                      min(first + chunks_per_file, n_chunks), chunks_per_group)
                 for k, first in enumerate(range(0, n_chunks, chunks_per_file))]
        run_tasks(tasks, progress)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _check_disk(folder: Path, n: int, dim: int) -> None:
    parent = folder.parent if folder.parent.exists() else Path(".")
    needed = n * (4 * dim + 12)
    free = shutil.disk_usage(parent).free
    if free < needed:
        raise DataError(f"the dataset needs about {needed / 2**30:.1f} GiB in {parent}, but only "
                        f"{free / 2**30:.1f} GiB is free; lower n or write elsewhere")


def _write_file(path: Path, gen: _Generator, seed: int, n: int, first: int, stop: int, per_group: int) -> int:
    """Chunks [first, stop) as one file, one row group per `per_group` chunks; returns its rows."""
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(path, _schema(gen)) as writer:
        for start in range(first, stop, per_group):
            tables = [_chunk_table(gen, seed, n, k) for k in range(start, min(start + per_group, stop))]
            table = tables[0] if len(tables) == 1 else _concat(tables)
            writer.write_table(table, row_group_size=table.num_rows)
            rows += table.num_rows
    return rows


def _schema(gen: _Generator):
    import pyarrow as pa

    return pa.schema([*(pa.field(f"f{j:02d}", pa.float32()) for j in range(gen.n_features)),
                      pa.field("label", pa.int16()), pa.field("split", pa.int8()), pa.field("id", pa.int64()),
                      *(pa.field(name, pa.string()) for name in gen.attribute_categories)])


def _chunk_table(gen: _Generator, seed: int, n: int, k: int):
    """Generator chunk k, as `hill_viz.core.data._fill` draws it, as an Arrow table."""
    import pyarrow as pa

    start, stop = k * CHUNK_SIZE, min((k + 1) * CHUNK_SIZE, n)
    rng = functools.partial(_chunk_rng, seed, k)
    split = _block_split(stop - start, gen.split_counts, rng(0))
    x, labels, attrs = gen.chunk(split, rng)
    columns = {f"f{j:02d}": pa.array(np.ascontiguousarray(x[:, j])) for j in range(gen.n_features)}
    columns.update(label=pa.array(labels.astype(np.int16)), split=pa.array(split),
                   id=pa.array(np.arange(start, stop, dtype=np.int64)))
    for name, codes in attrs.items():
        names = pa.array(gen.attribute_categories[name], pa.string())
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), names).cast(pa.string())
    return pa.table(columns, schema=_schema(gen))


def _concat(tables):
    import pyarrow as pa

    return pa.concat_tables(tables).combine_chunks()

"""A generated embeddings file: n rows of d-dim vectors in k classes, written as Parquet in chunks.

It stands in for what a user brings (sentence or image embeddings with a label): each class
is a few sub-clusters around its own orthogonal direction, with shared low-rank noise, so
a model separates the classes but a 2-D linear view of its latents overlaps them (the
classes sit about equally far apart). Memory stays bounded by one chunk whatever n is.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CHUNK_ROWS = 100_000


def write_embeddings(path: str | Path, n: int = 10**6, n_classes: int = 20, dim: int = 64,
                     seed: int = 0, chunk_rows: int = CHUNK_ROWS) -> Path:
    """Write `path` (Parquet: `label` int16, `embedding` fixed-size list of float32) and return it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng([seed, 0xE4B])
    subs = 3  # sub-clusters per class
    centres = rng.standard_normal((n_classes, dim)) / np.sqrt(dim)                     # (k, d)
    if n_classes <= dim:  # orthonormal: every pair of classes equally far apart
        centres = np.linalg.qr(centres.T)[0].T
    centres = (centres * 1.5).astype(np.float32)
    offsets = rng.standard_normal((n_classes, subs, dim)).astype(np.float32) * 0.35    # (k, s, d)
    shared = rng.standard_normal((8, dim)).astype(np.float32) * 0.5                    # (r, d) low-rank noise
    path = Path(path)
    schema = pa.schema([("label", pa.int16()), ("embedding", pa.list_(pa.float32(), dim))])
    with pq.ParquetWriter(path, schema) as writer:
        for chunk, start in enumerate(range(0, n, chunk_rows)):
            m = min(chunk_rows, n - start)
            r = np.random.default_rng([seed, chunk])
            label = r.integers(0, n_classes, m)
            sub = r.integers(0, subs, m)
            x = centres[label] + offsets[label, sub]                                   # (m, d)
            x += r.standard_normal((m, shared.shape[0]), dtype=np.float32) @ shared
            x += r.standard_normal((m, dim), dtype=np.float32) * 0.25
            values = pa.array(x.astype(np.float32).ravel())
            table = pa.table({"label": pa.array(label.astype(np.int16)),
                              "embedding": pa.FixedSizeListArray.from_arrays(values, dim)}, schema=schema)
            writer.write_table(table)
    return path

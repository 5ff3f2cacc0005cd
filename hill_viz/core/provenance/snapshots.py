"""Latent snapshots: small Parquet copies of the view (id, x, y, label, pred) for the timeline."""
from __future__ import annotations

import numpy as np

from hill_viz.core.provenance.files import atomic_write
from hill_viz.core.provenance.workspace import Workspace

SNAPSHOT_COLUMNS = ("id", "x", "y", "label", "pred")
SNAPSHOT_MAX_ROWS = 100_000  # larger frames keep a fixed random subset (same rows every time)


def snapshot_rows(n: int, max_rows: int = SNAPSHOT_MAX_ROWS) -> np.ndarray:
    """Rows kept in a snapshot of an n-row frame: all, or a subset fixed by n alone."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(n).choice(n, max_rows, replace=False))


def write_snapshot(workspace: Workspace, frame_df, stem: str, max_rows: int = SNAPSHOT_MAX_ROWS) -> dict:
    """Write a LatentFrame's id, x, y, label, pred to snapshots/<stem>.parquet; return its artifact ref."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = snapshot_rows(len(frame_df), max_rows)
    table = pa.table({c: np.asarray(frame_df[c].to_numpy())[rows] for c in SNAPSHOT_COLUMNS})
    rel = workspace.reserve(f"snapshots/{stem}.parquet")
    atomic_write(workspace.resolve(rel), lambda fh: pq.write_table(table, fh))
    return workspace.artifact(rel, "snapshot")


def read_snapshot(workspace: Workspace, relpath: str):
    """A snapshot as a pandas DataFrame (columns SNAPSHOT_COLUMNS), checked against its event's SHA-256."""
    import pandas as pd

    return pd.read_parquet(workspace.checked_file(relpath))

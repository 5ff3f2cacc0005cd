"""Latents at scale: inference partition by partition on the cluster, into a Parquet frame folder.

Each partition of the source becomes an in-memory `Dataset` on its worker and goes through
`LatentFrame.build`, the very code the in-memory path runs, so a partition's rows of the
frame are those the in-memory frame has for them. The model and the projection travel to
every worker once (`client.scatter(..., broadcast=True)`) and stay there for all its
partitions; workers use one torch thread per task (see `cluster.ThreadLimits`).
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from hill_viz.core.data import Dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel
from hill_viz.core.projection import Projection
from hill_viz.errors import WorkspaceError
from hill_viz.scale.cluster import run_tasks
from hill_viz.scale.frame import (META_FILE, BlockIndex, DaskLatentFrame, combine_extents, empty_frame, open_frame,
                                  part_blocks, part_extent, write_meta)
from hill_viz.scale.source import ParquetSource
from hill_viz.scale.validate import feature_column_names

__all__ = ["latent_frame", "write_latents"]


def latent_frame(source: ParquetSource, model: LatentModel, projection: Projection,
                 batch_size: int = 65536) -> DaskLatentFrame:
    """The latent frame of every sample, lazily: `frame.df` computes on the cluster when asked."""
    payload = _send_once(model, projection)
    df = source.frame().map_partitions(
        _infer_partition, payload, feature_column_names(source), source.class_names,
        source.attribute_categories, batch_size, meta=empty_frame(source.attribute_categories),
        enforce_metadata=False)
    return DaskLatentFrame(df, source.class_names, dict(source.attribute_categories), source.n_samples)


def write_latents(source: ParquetSource, model: LatentModel, projection: Projection, folder: str | Path, *,
                  batch_size: int = 65536, progress=None, extra_meta: dict | None = None) -> DaskLatentFrame:
    """Infer every partition and write the frame folder (replacing one that exists); open it.

    `progress(partitions_done, partitions)` is called as partitions finish. The folder is
    written under a temporary name and renamed when complete, so it is never half written.
    """
    import dask

    folder = Path(folder)
    lazy = latent_frame(source, model, projection, batch_size)
    tmp = folder.with_name(f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        tasks = [dask.delayed(_write_part, pure=False)(part, tmp / f"part-{i:05d}.parquet")
                 for i, part in enumerate(lazy.df.to_delayed())]
        stats = run_tasks(tasks, progress)
        write_meta(tmp, class_names=source.class_names, attribute_categories=source.attribute_categories,
                   n_rows=sum(s[0] for s in stats), part_rows=[s[0] for s in stats],
                   extent=combine_extents(s[1:5] for s in stats), blocks=BlockIndex.concat([s[5] for s in stats]),
                   extra={"source": source.params, **(extra_meta or {})})
        _replace_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_frame(folder)


def _send_once(model: LatentModel, projection: Projection):
    """The (model, projection) pair where every task can read it: on each worker once, or as is."""
    try:
        from distributed import default_client
        client = default_client()
    except (ImportError, ValueError):
        return (model, projection)
    # a list of one: a bare tuple would be scattered element by element
    return client.scatter([(model, projection)], broadcast=True, hash=False)[0]


def _infer_partition(part, payload, feature_names, class_names, attribute_categories, batch_size: int):
    model, projection = payload
    dataset = Dataset(name="partition", features=part[feature_names].to_numpy(np.float32),
                      labels=part["label"].to_numpy(), class_names=class_names, split=part["split"].to_numpy(),
                      ids=part["id"].to_numpy(), attributes={a: part[a].to_numpy() for a in attribute_categories},
                      attribute_categories=dict(attribute_categories))
    return LatentFrame.build(model, projection, dataset, batch_size=batch_size).df


def _write_part(frame, path: Path) -> tuple:
    """Write one partition of the frame; its row count, finite extent and blocks (`part_blocks`)."""
    frame.to_parquet(path, index=False)
    return (len(frame), *part_extent(frame), part_blocks(frame))


def _replace_folder(tmp: Path, folder: Path) -> None:
    if folder.exists():
        if not (folder / META_FILE).exists() and any(folder.iterdir()):
            raise WorkspaceError(f"{folder} exists and is not a latent frame folder; give a new folder")
        old = folder.with_name(f".old-{folder.name}-{uuid.uuid4().hex[:8]}")
        os.rename(folder, old)
        os.rename(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, folder)

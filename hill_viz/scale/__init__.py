"""Past one machine: partitioned Parquet datasets on a Dask cluster (core layer: no Panel here).

- source: a Parquet dataset folder opened lazily, validated per partition (`open_source`);
- cluster: a Dask client on an existing scheduler or a local cluster (`connect`; `acquire`/`release`
  share one per process);
- latents: inference per partition into a Parquet latent frame folder (`write_latents`);
- frame / view / select: that frame on Dask, its Datashader image, its selections;
- spatial: that frame reordered along a Hilbert curve, so selections skip blocks (`sort_spatially`);
- stream: seeded training batches from row groups, seeded subsets, rows of given ids;
- generate: a partitioned Parquet dataset of any size (`write_blobs`).
"""
from hill_viz.scale.cluster import Cluster, ClusterSpec, acquire, connect, release, run_tasks
from hill_viz.scale.frame import BlockIndex, DaskLatentFrame, open_frame
from hill_viz.scale.generate import write_blobs
from hill_viz.scale.latents import latent_frame, write_latents
from hill_viz.scale.select import SelectionSummary, block_states, count_in, population, selected_ids, summarize
from hill_viz.scale.source import ParquetSource, open_source
from hill_viz.scale.spatial import sort_spatially
from hill_viz.scale.stream import Batch, BatchStream, read_rows, rows_of_ids, sample_dataset
from hill_viz.scale.view import aggregate, color_spec, render_frame

__all__ = ["Batch", "BatchStream", "BlockIndex", "Cluster", "ClusterSpec", "DaskLatentFrame", "ParquetSource",
           "SelectionSummary", "acquire", "aggregate", "block_states", "color_spec", "connect", "count_in",
           "latent_frame", "open_frame", "open_source", "population", "read_rows", "release", "render_frame",
           "rows_of_ids", "run_tasks", "sample_dataset", "selected_ids", "sort_spatially", "summarize",
           "write_blobs", "write_latents"]

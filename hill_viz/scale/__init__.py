"""Past one machine: partitioned Parquet datasets on a Dask cluster (no Panel imports here).

source: a Parquet dataset folder opened lazily and validated per partition; cluster: a
Dask client (existing scheduler or local cluster); latents: inference per partition into
a partitioned Parquet latent frame; frame/view/select: the Dask latent frame, its
Datashader image and its selections; stream: seeded training batches from row groups;
generate: a partitioned Parquet dataset of any size.
"""

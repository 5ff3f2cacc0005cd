"""A small local Dask cluster (2 thread workers in this process) and a generated Parquet folder."""
import numpy as np
import pytest

from hill_viz.core.data import load_dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import ModelSpec, build_model, infer
from hill_viz.core.projection import Projection

N = 60_000  # 2 files (51,200 + 8,800 rows), row groups of 25,600: 3 partitions, one at row 25,600 of its file
SEED = 3


@pytest.fixture(scope="package")
def cluster():
    from hill_viz.scale.cluster import ClusterSpec, connect

    with connect(ClusterSpec(n_workers=2, processes=False)) as c:
        yield c


@pytest.fixture(scope="package")
def blobs_folder(tmp_path_factory):
    from hill_viz.scale.generate import write_blobs

    return write_blobs(tmp_path_factory.mktemp("scale") / "blobs", N, seed=SEED, rows_per_file=51_200,
                       row_group_rows=25_600)


@pytest.fixture(scope="package")
def blobs():
    return load_dataset("blobs", n=N, seed=SEED)


@pytest.fixture(scope="package")
def source(cluster, blobs_folder):
    from hill_viz.scale.source import open_source

    return open_source(blobs_folder, partition_rows=20_000)


@pytest.fixture(scope="package")
def model_and_projection(blobs):
    model = build_model(ModelSpec(blobs.n_features, blobs.n_classes, latent_dim=8, hidden=32), seed=1)
    z, _ = infer(model, blobs.features[:4000])
    return model, Projection(seed=0).fit(z)


@pytest.fixture(scope="package")
def memory_frame(blobs, model_and_projection):
    return LatentFrame.build(*model_and_projection, blobs)


@pytest.fixture(scope="package")
def dask_frame(cluster, source, model_and_projection, tmp_path_factory):
    from hill_viz.scale.latents import write_latents

    return write_latents(source, *model_and_projection, tmp_path_factory.mktemp("frame") / "latents").persist()


def lasso(frame_extent, n_vertices=50, seed=0):
    """A wobbly closed polygon over the middle of the cloud."""
    x0, x1, y0, y1 = frame_extent
    t = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    r = 0.3 + 0.05 * np.random.default_rng(seed).uniform(-1, 1, n_vertices)
    return np.column_stack([(x0 + x1) / 2 + r * (x1 - x0) * np.cos(t), (y0 + y1) / 2 + r * (y1 - y0) * np.sin(t)])

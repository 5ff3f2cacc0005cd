"""Where the work runs: an existing scheduler by address, or a local cluster; mistakes are ConfigErrors."""
import pytest

from hill_viz.errors import ConfigError
from hill_viz.scale.cluster import ClusterSpec, acquire, connect, release


def test_connects_to_an_existing_scheduler_by_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as existing:
        with connect(ClusterSpec(scheduler=existing.scheduler_address)) as cluster:
            info = cluster.describe()
            assert info["scheduler"] == existing.scheduler_address and not info["local"]
            assert info["workers"] == 1
            # the thread-limit plugin reached the worker
            assert cluster.client.run(lambda dask_worker: "hill-viz-thread-limits" in dask_worker.plugins)


def test_unreachable_scheduler_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        connect(ClusterSpec(scheduler="tcp://127.0.0.1:9", timeout_s=1))
    with pytest.raises(ConfigError, match="needs a port"):
        connect(ClusterSpec(scheduler="somehost"))


def test_local_cluster_is_sized_and_closed():
    with connect(ClusterSpec(n_workers=2, processes=False)) as cluster:
        info = cluster.describe()
        assert info["local"] and info["workers"] == 2 and info["threads"] == 2
    assert cluster.local.status.name == "closed"
    with pytest.raises(ConfigError, match="threads_per_worker"):
        ClusterSpec(threads_per_worker=0)


def test_acquired_clusters_are_shared_until_the_last_release():
    spec = ClusterSpec(n_workers=1, processes=False)
    first, second = acquire(spec), acquire(spec)
    assert first is second and first.client.status == "running"
    release(first)
    assert second.client.submit(lambda: 41 + 1).result() == 42  # still open for the other user
    release(second)
    assert second.local.status.name == "closed"
    third = acquire(spec)
    try:
        assert third is not first and third.client.status == "running"
    finally:
        release(third)

"""Where large data is processed: an existing Dask cluster (`--scheduler ADDRESS`) or a local one.

A local cluster runs one single-threaded worker process per core by default: torch and
numba each bring their own thread pool, so process parallelism with one compute thread
per task is what scales on a CPU (and keeps inference bit-identical to the in-memory path).
Every worker, local or remote, gets the `ThreadLimits` plugin: torch uses
`cores // worker threads` threads, so concurrent tasks do not oversubscribe the machine.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from distributed import WorkerPlugin

from hill_viz.errors import ConfigError

__all__ = ["Cluster", "ClusterSpec", "ThreadLimits", "connect", "run_tasks"]

# set in worker processes before torch/numba start their pools (one compute thread per task)
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass(frozen=True)
class ClusterSpec:
    """How to get a cluster: `scheduler` set -> connect to it; else start a local one."""

    scheduler: str | None = None
    n_workers: int | None = None           # local only; default: one per core
    threads_per_worker: int = 1            # local only
    processes: bool = True                 # local only; False: workers are threads of this process
    memory_limit: str | float = "auto"     # local only; per worker ("auto": machine memory / workers)
    timeout_s: float = 10.0                # connecting to an existing scheduler

    def __post_init__(self):
        if self.n_workers is not None and not 1 <= self.n_workers <= 1024:
            raise ConfigError(f"n_workers must be between 1 and 1024, got {self.n_workers}")
        if not 1 <= self.threads_per_worker <= 256:
            raise ConfigError(f"threads_per_worker must be between 1 and 256, got {self.threads_per_worker}")


class ThreadLimits(WorkerPlugin):
    """Worker plugin: torch threads per task = the worker's share of the machine's cores."""

    name = "hill-viz-thread-limits"
    idempotent = True

    def setup(self, worker) -> None:
        import torch

        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // max(1, worker.state.nthreads)))


@dataclass(eq=False)
class Cluster:
    """A connected `distributed.Client` (dask's default scheduler while open), and the local
    cluster behind it when `connect` started one. Close it, or use it as a context manager."""

    client: object
    local: object | None = None  # the LocalCluster we started, closed with us

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict:
        """What the page and the CLI say about where the work runs."""
        workers = self.client.scheduler_info().get("workers", {})
        return {"scheduler": self.client.scheduler.address, "local": self.local is not None,
                "workers": len(workers), "threads": sum(w.get("nthreads", 0) for w in workers.values()),
                "memory_bytes": sum(w.get("memory_limit", 0) or 0 for w in workers.values())}


def connect(spec: ClusterSpec = ClusterSpec()) -> Cluster:
    """Connect to `spec.scheduler`, or start a local cluster sized to this machine."""
    from distributed import Client

    if spec.scheduler:
        cluster = Cluster(_connect_remote(spec))
    else:
        local = _local_cluster(spec)
        cluster = Cluster(Client(local, set_as_default=True), local)
    cluster.client.register_plugin(ThreadLimits())
    return cluster


def _connect_remote(spec: ClusterSpec):
    from distributed import Client

    address = spec.scheduler
    if ":" not in address:
        raise ConfigError(f"scheduler address {address!r} needs a port, e.g. tcp://{address}:8786")
    try:
        return Client(address, timeout=spec.timeout_s, set_as_default=True)
    except (OSError, TimeoutError) as err:
        raise ConfigError(f"cannot reach the Dask scheduler at {address} ({type(err).__name__}); check the "
                          "address (e.g. tcp://host:8786) and that `dask scheduler` runs there, or leave "
                          "--scheduler out to start a local cluster") from None


def _local_cluster(spec: ClusterSpec):
    from distributed import LocalCluster

    cores = os.cpu_count() or 1
    n_workers = spec.n_workers or max(1, cores // spec.threads_per_worker)
    # worker processes talk over loopback TCP; thread workers in this process use in-process comms
    extra = {"env": dict(_WORKER_ENV), "host": "127.0.0.1"} if spec.processes else {}
    return LocalCluster(n_workers=n_workers, threads_per_worker=spec.threads_per_worker,
                        processes=spec.processes, memory_limit=spec.memory_limit, dashboard_address=None,
                        # no dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback port
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        scheduler_port=0, silence_logs=logging.ERROR, **extra)


def run_tasks(tasks: list, progress=None) -> list:
    """Compute dask.delayed tasks on the default scheduler; `progress(done, total)` after each.

    With a connected `distributed.Client` the tasks run at once and report as they finish;
    otherwise they run one after the other on dask's local scheduler.
    """
    import dask

    try:
        from distributed import as_completed, default_client
        client = default_client()
    except (ImportError, ValueError):
        client = None
    total = len(tasks)
    if client is None:
        results = []
        for done, task in enumerate(tasks, 1):
            results.append(dask.compute(task)[0])
            if progress:
                progress(done, total)
        return results
    futures = client.compute(tasks)
    for done, future in enumerate(as_completed(futures), 1):
        future.result()  # raises the task's error (a DataError naming a file) here
        if progress:
            progress(done, total)
    return client.gather(futures)

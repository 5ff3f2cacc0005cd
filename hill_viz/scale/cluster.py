"""Where large data is processed: an existing Dask cluster (`--scheduler ADDRESS`) or a local one.

A local cluster runs one single-threaded worker process per core by default: torch and
numba each bring their own thread pool, so process parallelism with one compute thread
per task is what scales on a CPU. The pools are sized so that concurrent tasks do not
oversubscribe the machine: on a local cluster each task gets cores // (workers x threads)
threads (environment of the worker processes, and torch through the `ThreadLimits`
plugin); a remote worker gets cores // its threads (one worker per host assumed).
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from distributed import WorkerPlugin

from hill_viz.errors import ConfigError

__all__ = ["Cluster", "ClusterSpec", "ThreadLimits", "acquire", "connect", "release", "run_tasks"]

# set in local worker processes before torch and numba start their pools
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


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
    """Worker plugin: torch threads per task, `threads` or the worker's share of its host's cores."""

    name = "hill-viz-thread-limits"
    idempotent = True

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._before: int | None = None

    def setup(self, worker) -> None:
        import torch

        self._before = torch.get_num_threads()
        cores = os.cpu_count() or 1
        torch.set_num_threads(self.threads or max(1, cores // max(1, worker.state.nthreads)))

    def teardown(self, worker) -> None:  # thread workers share this process's pool: give it back
        import torch

        if self._before:
            torch.set_num_threads(self._before)


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
        cluster, threads = Cluster(_connect_remote(spec)), None
    else:
        threads = _task_threads(spec)
        local = _local_cluster(spec, threads)
        cluster = Cluster(Client(local, set_as_default=True), local)
    cluster.client.register_plugin(ThreadLimits(threads))
    return cluster


_SHARED: dict[ClusterSpec, list] = {}  # spec -> [cluster, users]
_SHARED_LOCK = threading.Lock()


def acquire(spec: ClusterSpec = ClusterSpec()) -> Cluster:
    """`connect(spec)`, shared by everyone in this process asking for the same spec (a
    server's pages: one local cluster, not one per page). Give it back with `release`."""
    with _SHARED_LOCK:  # held while connecting: a second page waits for the same cluster
        entry = _SHARED.get(spec)
        if entry is None or entry[0].client.status not in ("running", "connecting"):
            entry = _SHARED[spec] = [connect(spec), 0]
        entry[1] += 1
        return entry[0]


def release(cluster: Cluster) -> None:
    """One user of an `acquire`d cluster is done; the last one closes it."""
    with _SHARED_LOCK:
        for spec, entry in list(_SHARED.items()):
            if entry[0] is cluster:
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del _SHARED[spec]
                break
    cluster.close()


def _workers(spec: ClusterSpec) -> int:
    return spec.n_workers or max(1, (os.cpu_count() or 1) // spec.threads_per_worker)


def _task_threads(spec: ClusterSpec) -> int:
    """Threads each task of a local cluster may use: the cores shared by every task at once."""
    return max(1, (os.cpu_count() or 1) // (_workers(spec) * spec.threads_per_worker))


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


def _local_cluster(spec: ClusterSpec, threads: int):
    from distributed import LocalCluster

    options = dict(n_workers=_workers(spec), threads_per_worker=spec.threads_per_worker, processes=spec.processes,
                   memory_limit=spec.memory_limit, dashboard_address=None, scheduler_port=0,
                   # no dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback port
                   scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR)
    if not spec.processes:  # thread workers in this process, in-process comms
        return LocalCluster(**options)
    with _spawn_environ({name: str(threads) for name in _THREAD_VARIABLES}):
        return LocalCluster(host="127.0.0.1", **options)


@contextmanager
def _spawn_environ(env: dict[str, str]):
    """Thread-pool sizes the worker processes see from their first import on.

    They must be in the environment when a worker process is spawned (its main module's
    imports already start numba); distributed's Nanny takes them from the process
    environment, so they are set there while the cluster starts, then restored.
    """
    import dask

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **env}
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn}):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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

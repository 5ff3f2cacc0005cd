"""Retention while serving: old workspaces are pruned when the server starts and every hour,
off the event loop, never those of open pages (read-only reviews included)."""
from __future__ import annotations

from typing import Callable

from hill_viz.core.retention import PruneReport, prune_workspaces
from hill_viz.serve.config import ServeConfig
from hill_viz.serve.pages import PageRegistry

__all__ = ["PRUNE_EVERY_S", "prune_now", "schedule_pruning"]

PRUNE_EVERY_S = 3600.0


def prune_now(config: ServeConfig, registry: PageRegistry) -> PruneReport | None:
    """Remove the workspaces past `config.retain_days` (None: no retention configured)."""
    if config.retain_days is None:
        return None
    report = prune_workspaces(config.root, config.retain_days, keep=tuple(registry.workspace_paths()))
    registry.disk.used(fresh=True)  # the quota sees the freed space at once
    return report


def schedule_pruning(server, config: ServeConfig, registry: PageRegistry,
                     say: Callable[[str], None] = print, every_s: float = PRUNE_EVERY_S):
    """Prune on the server's loop every `every_s` seconds (in a worker thread); the PeriodicCallback."""
    if config.retain_days is None:
        return None
    from tornado.ioloop import PeriodicCallback

    def done(future) -> None:
        try:
            report = future.result()
        except Exception as exc:  # noqa: BLE001 - a failed prune must not stop the server; say why
            say(f"hill-viz: pruning old workspaces failed ({type(exc).__name__}: {exc})")
            return
        if report is not None and (report.removed or report.kept_open):
            say(f"hill-viz: {report.summary()}")

    def tick() -> None:
        server.io_loop.run_in_executor(None, prune_now, config, registry).add_done_callback(done)

    callback = PeriodicCallback(tick, every_s * 1000)
    server.io_loop.add_callback(callback.start)
    return callback

"""The operator view (`/admin`, admins only): pages and users, trainings running and queued,
the server's memory and its workspaces' disk use (the largest ones, with what their
checkpoints take: they are never pruned one by one), refreshed every few seconds."""
from __future__ import annotations

import os

import panel as pn

from hill_viz.serve.config import ServeConfig
from hill_viz.serve.pages import PageRegistry
from hill_viz.ui.session_watch import page_tick

__all__ = ["admin_factory", "server_summary"]

REFRESH_MS = 2000
LARGEST = 10  # workspaces listed by disk use


def server_summary(config: ServeConfig, registry: PageRegistry) -> dict:
    """Plain figures about the server now (also what the load test reads)."""
    import psutil

    rows = registry.rows()
    queue = registry.queue.snapshot()
    return {"pages": len(rows), "max_pages": registry.max_pages, "refused_pages": registry.refused,
            "users": sorted({r["user"] for r in rows}), "trainings_running": queue["running"],
            "trainings_waiting": queue["waiting"], "max_trainings": queue["max_running"],
            "rss_mb": psutil.Process(os.getpid()).memory_info().rss / 2**20,
            "disk_mb": registry.disk_bytes() / 2**20,
            "disk_quota_mb": None if registry.max_disk_bytes is None else registry.max_disk_bytes / 2**20,
            "workspaces_disk": [w.to_dict() for w in registry.disk.by_workspace()], "rows": rows}


def _markdown(summary: dict) -> str:
    quota = "" if summary["disk_quota_mb"] is None else f" of {summary['disk_quota_mb']:,.0f} MB"
    limit = "" if summary["max_pages"] is None else f" (limit {summary['max_pages']})"
    lines = [
        f"**Pages open:** {summary['pages']}{limit} · refused: {summary['refused_pages']}",
        f"**Users:** {', '.join(summary['users']) or '-'}",
        f"**Trainings:** {len(summary['trainings_running'])} running of {summary['max_trainings']} "
        f"({', '.join(summary['trainings_running']) or '-'}), {summary['trainings_waiting']} waiting",
        f"**Memory (RSS):** {summary['rss_mb']:,.0f} MB · **Workspaces on disk:** {summary['disk_mb']:,.1f} MB{quota}",
        "",
        "| page | user | opened | workspace | status | place in line |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['page']} | {r['user']} | {r['opened']} | {r['workspace']} | {r['status']} | {r['queue'] or ''} |"
              for r in summary["rows"]]
    disk = summary["workspaces_disk"]
    lines += ["", f"**Largest workspaces** ({min(len(disk), LARGEST)} of {len(disk)}; checkpoints are kept "
                  "while the workspace is: revert and verify need them)", "",
              "| workspace | on disk (MB) | checkpoints | of which checkpoints (MB) |", "|---|---|---|---|"]
    lines += [f"| {w['name']} | {w['bytes'] / 2**20:,.1f} | {w['n_checkpoints']} | {w['checkpoint_bytes'] / 2**20:,.1f} |"
              for w in disk[:LARGEST]]
    return "\n".join(lines)


def admin_factory(config: ServeConfig, registry: PageRegistry):
    """The `/admin` page: the summary for an admin, a refusal for everybody else."""
    def factory():
        user = pn.state.user
        if user is None or user not in config.admins:
            return pn.pane.Markdown("**The operator view is for the server's admins** (`hill-viz serve --admin USER`).",
                                    css_classes=["hill-admin-refused"])
        view = pn.pane.Markdown(_markdown(server_summary(config, registry)), css_classes=["hill-admin"],
                                sizing_mode="stretch_width")

        def refresh():
            view.object = _markdown(server_summary(config, registry))
        pn.state.onload(lambda: page_tick(refresh, REFRESH_MS))
        return pn.Column(pn.pane.Markdown("## hill-viz · operator view"), view, sizing_mode="stretch_width")
    return factory

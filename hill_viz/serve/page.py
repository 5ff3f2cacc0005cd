"""The served page: the Site (workspace list, app, review) inside the server's limits.

A GET gets an empty shell; the page is built once its websocket opens (`pn.state.onload`),
so crawlers, health checks and pages closed before loading cost no workspace, no model
and no event-loop second. When the page opens it is counted against the session limit
(`PageRegistry`); the signed-in user (`pn.state.user`) is the actor of its Session, which
gets the server's limits, admins and training queue; a new workspace is refused past the
disk quota. When it closes, training is cancelled, the Session released and the page
forgotten, so its memory can go.
"""
from __future__ import annotations

import logging
from typing import Callable

import panel as pn

from hill_viz.serve.config import ServeConfig
from hill_viz.serve.pages import PageRegistry
from hill_viz.ui.app import TITLE
from hill_viz.ui.site import Shell, Site

__all__ = ["TITLE", "page_factory", "site_of"]

log = logging.getLogger(__name__)
DISK_FULL = "This server's disk quota for workspaces is used up; ask its operator to free space."


def site_of(config: ServeConfig, registry: PageRegistry) -> Site:
    """The Site a server with `config` serves (raises WorkspaceError for a bad `open_id`)."""
    return Site(config.root, dataset=config.dataset or "", path=str(config.path or ""), n=config.n,
                pretrain_epochs=config.pretrain_epochs, open_id=config.open_id,
                session_params={**config.session_params, "limits": config.limits, "admins": list(config.admins),
                                "training_queue": registry.queue},
                new_refusal=lambda: DISK_FULL if registry.disk_full() else "")


def page_factory(config: ServeConfig, registry: PageRegistry) -> Callable[[], pn.template.BootstrapTemplate]:
    """What the server calls per request: the shell, and the page once the websocket is open."""
    site = site_of(config, registry)

    def factory() -> pn.template.BootstrapTemplate:
        shell = Shell()

        def opened() -> None:
            page = registry.enter(pn.state.user)
            if page is None:
                shell.note(f"This server has {registry.max_pages} pages open, its limit. "
                           "Try again in a few minutes.", "hill-full")
                return
            pn.state.on_session_destroyed(lambda ctx: registry.leave(page))
            registry.attach(page, site.fill(shell))  # the app, review or list it shows
        pn.state.onload(opened)
        return shell.template
    factory.site = site  # tests reach the pages through it
    return factory

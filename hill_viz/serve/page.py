"""The served page, built lazily: a GET gets an empty shell; the Session and the app are made
once the page's websocket opens (`pn.state.onload`), so crawlers, health checks and pages
closed before loading cost no workspace, no model and no event-loop second.

When the page opens: the signed-in user (`pn.state.user`) becomes the Session's actor, the
page is counted against the session limit and the disk quota, and the Session gets the
server's limits, admins and training queue. When it closes, training is cancelled, the
workspace closed and the page forgotten, so its memory can go.
"""
from __future__ import annotations

import logging
from typing import Callable

import panel as pn

from hill_viz.serve.config import ServeConfig
from hill_viz.serve.pages import PageRegistry
from hill_viz.session import Session
from hill_viz.ui.app import HillApp, new_session

__all__ = ["TITLE", "page_factory"]

log = logging.getLogger(__name__)
TITLE = "hill-viz · Human in the Latent Loop"

# user -> the Session a page opens (default: a fresh workspace under the root)
OpenSession = Callable[[str | None], Session]


def _shell() -> tuple[pn.template.BootstrapTemplate, pn.Column, pn.Column]:
    sidebar = pn.Column(sizing_mode="stretch_width")
    main = pn.Column(pn.pane.Markdown("Opening your workspace…", css_classes=["hill-opening"]),
                     sizing_mode="stretch_width")
    template = pn.template.BootstrapTemplate(title=TITLE, sidebar=[sidebar], main=[main], sidebar_width=360,
                                             header_background="#0072B2")
    return template, sidebar, main


def page_factory(config: ServeConfig, registry: PageRegistry,
                 open_session: OpenSession | None = None) -> Callable[[], pn.template.BootstrapTemplate]:
    """What the server calls per request: the shell, and the app once the websocket is open."""
    def default_open(user: str | None) -> Session:
        return new_session(config.root, actor=user, limits=config.limits, admins=list(config.admins),
                           training_queue=registry.queue, **config.session_params)
    open_session = open_session or default_open

    def factory() -> pn.template.BootstrapTemplate:
        pn.extension("tabulator", "filedropper", notifications=True)
        template, sidebar, main = _shell()
        template.hill_app = None  # set once the page has opened (tests and the load test read it)

        def opened() -> None:
            page = registry.enter(pn.state.user)
            if page is None:
                main[:] = [_note(f"This server has {registry.max_pages} pages open, its limit. "
                                 "Try again in a few minutes.", "hill-full")]
                return
            pn.state.on_session_destroyed(lambda ctx: registry.leave(page))
            if registry.disk_full():
                main[:] = [_note("This server's disk quota for workspaces is used up; ask its operator "
                                 "to free space.", "hill-full")]
                return
            app = HillApp(session=open_session(pn.state.user), dataset=config.dataset or "",
                          path=str(config.path or ""), n=config.n, pretrain_epochs=config.pretrain_epochs)
            app.actions.notifications = template.notifications
            sidebar[:] = [app.training]
            main[:] = [app.main_area()]
            template.hill_app = app
            registry.attach(page, app)
            app.start()  # first model, periodic updates, cleanup when the page closes
        pn.state.onload(opened)
        return template
    return factory


def _note(text: str, css: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(f"**{text}**", css_classes=[css])

"""Site: what `hill-viz serve` answers per page, from the URL.

    /                               the workspace list (or the `--open` workspace)
    /?workspace=new                 a new workspace (the URL then names it, so a reload returns)
    /?workspace=ID                  the app on workspace ID, restored at its head; editing if no
                                    other page edits it, else read-only saying who does
    /?workspace=ID&mode=review      the review page of ID (read-only)

Pages on one workspace share one `Workspace` through `OpenWorkspaces`; each page's
Session is released when its browser session ends.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import holoviews as hv
import panel as pn

from hill_viz.core.workspaces import WorkspaceIndex
from hill_viz.errors import HillError
from hill_viz.session import Session
from hill_viz.session.registry import OpenWorkspaces
from hill_viz.ui.app import DEFAULT_DATASET, DEFAULT_N, DEFAULT_PRETRAIN_EPOCHS, build_app
from hill_viz.ui.review import ReviewPage
from hill_viz.ui.workspace_list import WorkspaceList

__all__ = ["Site"]

log = logging.getLogger(__name__)
TITLE = "hill-viz · Human in the Latent Loop"


class Site:
    """The pages of one server: its root of workspaces, the ones open, the app's options."""

    def __init__(self, root: str | Path, dataset: str = DEFAULT_DATASET, path: str = "", n: int | None = DEFAULT_N,
                 pretrain_epochs: int = DEFAULT_PRETRAIN_EPOCHS, open_id: str | None = None,
                 user: Callable[[], str | None] | None = None):
        self.index = WorkspaceIndex(root)
        self.pages = OpenWorkspaces()
        self.options = {"dataset": dataset, "path": path, "n": n, "pretrain_epochs": pretrain_epochs}
        self.open_id = open_id
        self.user = user or _user  # who the page's events name: the signed-in user, else the server's
        if open_id is not None:
            self.index.path_of(open_id)  # a bad --open is reported before the server starts
        self.built: list = []  # what each page showed (HillApp or ReviewPage or WorkspaceList): tests

    def factory(self) -> pn.viewable.Viewable:
        """Called once per browser session."""
        ws_id, mode = _arg("workspace") or self.open_id, _arg("mode")
        if not ws_id:
            return self.list_page()
        try:
            if ws_id == "new":
                return self.new_workspace()
            path = self.index.path_of(ws_id)
            if mode == "review":
                return self.review_page(path)
            return self.app_page(self.pages.open(path, actor=self.user()))
        except HillError as exc:
            return self.list_page(f"{ws_id} could not be opened: {exc}")

    def list_page(self, message: str = "") -> pn.template.BootstrapTemplate:
        hv.extension("bokeh")
        pn.extension("tabulator", notifications=True)
        page = WorkspaceList(index=self.index, message=message, open_workspace=self.pages.workspace_at)
        self.built.append(page)
        return _template(page)

    def new_workspace(self) -> pn.template.BootstrapTemplate:
        ws_id = self.index.new_id()
        session = self.pages.open(self.index.root / ws_id, actor=self.user(), create=True)
        page = self.app_page(session)

        def name_it() -> None:  # the URL names it from now on: a reload or a shared link comes back here
            if pn.state.location is not None:
                pn.state.location.update_query(workspace=ws_id)
        pn.state.onload(name_it)
        return page

    def app_page(self, session: Session) -> pn.template.BootstrapTemplate:
        template = build_app(session, release=self.pages.release, probe=self.pages.set_probe,
                             claim=self.pages.claim, **self.options)
        self.built.append(template.hill_app)
        return template

    def review_page(self, path: Path) -> pn.template.BootstrapTemplate:
        hv.extension("bokeh")
        pn.extension("tabulator", notifications=True)
        session = self.pages.open(path, actor=self.user(), review=True)
        page = ReviewPage(session=session)
        self.built.append(page)
        template = _template(page, f"{TITLE} · review")
        page.actions.notifications = template.notifications

        def release(context) -> None:
            self.pages.release(session)
        pn.state.on_session_destroyed(release)
        return template


def _template(main, title: str = TITLE) -> pn.template.BootstrapTemplate:
    header = pn.pane.HTML("<a href='./' style='color:white'>All workspaces</a>", margin=(12, 10))
    return pn.template.BootstrapTemplate(title=title, main=[main], header=[header], header_background="#0072B2")


def _arg(name: str) -> str:
    values = (pn.state.session_args or {}).get(name) or [b""]
    value = values[0]
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).strip()


def _user() -> str | None:
    """The signed-in user (with --basic-auth or OAuth), else None: the server's own user."""
    try:
        return pn.state.user or None
    except Exception:
        return None

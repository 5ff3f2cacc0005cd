"""Site: what `hill-viz serve` answers per page, from the URL.

    /                               the workspace list (or the `--open` workspace)
    /?workspace=new                 a new workspace, owned by the signed-in user (the URL then
                                    names it, so a reload returns)
    /?workspace=ID                  the app on workspace ID, restored at its head: editing if
                                    its user may edit it (owner, shared with them, admin) and
                                    no other page edits it; else read-only saying why
    /?workspace=ID&mode=review      the review page of ID (read-only)

A request gets an empty `Shell`; the page is built into it once its websocket opens
(`pn.state.onload`), so a request that never opens one builds nothing. IDs from the URL
go through `core.workspaces.workspace_folder` (a workspace under the root, nothing else,
one neutral line otherwise). Pages on one workspace share one `Workspace` through
`OpenWorkspaces`; each page's Session is released when its browser session ends.
"""
from __future__ import annotations

import logging
import weakref
from pathlib import Path
from typing import Callable

import holoviews as hv
import panel as pn

from hill_viz.core.workspaces import WorkspaceIndex, workspace_folder
from hill_viz.errors import HillError
from hill_viz.session import Session
from hill_viz.session.registry import OpenWorkspaces
from hill_viz.ui.app import (ALL_WORKSPACES, DEFAULT_DATASET, DEFAULT_N, DEFAULT_PRETRAIN_EPOCHS, PAGE_TEMPLATE, TITLE,
                             HillApp)
from hill_viz.ui.review import ReviewPage
from hill_viz.ui.workspace_list import WorkspaceList

__all__ = ["Shell", "Site"]

log = logging.getLogger(__name__)


class Shell:
    """A page's template, empty ("Opening…") until a page is built into it."""

    def __init__(self, title: str = TITLE):
        hv.extension("bokeh")
        pn.extension("tabulator", "filedropper", notifications=True)
        self.header = pn.Row(pn.pane.HTML(ALL_WORKSPACES, margin=(12, 10)), margin=0)
        self.main = pn.Column(pn.pane.Markdown("Opening…", css_classes=["hill-opening"]),
                              sizing_mode="stretch_width")
        self.template = pn.template.BootstrapTemplate(title=title, main=[self.main], header=[self.header],
                                                      **PAGE_TEMPLATE)
        self.template.hill_app = None  # the HillApp once built (tests, the load test)

    def show(self, main, header=None) -> None:
        if header is not None:
            self.header[:] = [header]
        self.main[:] = [main]

    def note(self, text: str, css: str = "hill-note") -> None:
        self.main[:] = [pn.pane.Markdown(f"**{text}**", css_classes=[css])]


class Site:
    """The pages of one server: its root of workspaces, the ones open, the app's options."""

    def __init__(self, root: str | Path, dataset: str = DEFAULT_DATASET, path: str = "", n: int | None = DEFAULT_N,
                 pretrain_epochs: int = DEFAULT_PRETRAIN_EPOCHS, open_id: str | None = None,
                 user: Callable[[], str | None] | None = None, session_params: dict | None = None,
                 new_refusal: Callable[[], str] | None = None):
        """session_params: given to every Session (limits, admins, training_queue).
        new_refusal: '' if a new workspace may be made now, else why not (a disk quota)."""
        self.root = Path(root).expanduser()
        self.pages = OpenWorkspaces()
        self.options = {"dataset": dataset, "path": path, "n": n, "pretrain_epochs": pretrain_epochs}
        self.session_params = dict(session_params or {})
        self.admins = list(self.session_params.get("admins", []))
        self.new_refusal = new_refusal or (lambda: "")
        self.open_id = open_id
        self.user = user or _user  # who the page's events name: the signed-in user, else the server's
        if open_id is not None:
            workspace_folder(self.root, open_id)  # a bad --open is reported before the server starts
        self._index: WorkspaceIndex | None = None
        self._built: list[weakref.ref] = []  # what each page showed, without keeping a closed one alive

    @property
    def built(self) -> list:
        """What each page showed, in the order opened (HillApp, ReviewPage or WorkspaceList; None
        once a closed page is gone: a long-lived server must not keep every page it served)."""
        return [ref() for ref in self._built]

    def _shown(self, page) -> None:
        self._built.append(weakref.ref(page))

    @property
    def index(self) -> WorkspaceIndex:
        if self._index is None:  # made by the first page, not by the server (a GET builds nothing)
            self._index = WorkspaceIndex(self.root)
        return self._index

    def factory(self) -> pn.template.BootstrapTemplate:
        """Called per request: the shell, filled once the page's websocket opens."""
        shell = Shell()
        pn.state.onload(lambda: self.fill(shell))
        return shell.template

    def fill(self, shell: Shell):
        """Build the page the URL asks for into `shell` (inside the page's session); what it shows."""
        user = self.user()
        ws_id, mode = _arg("workspace") or self.open_id, _arg("mode")
        try:
            if not ws_id:
                return self.list_page(shell, user)
            if ws_id == "new":
                return self.new_workspace(shell, user)
            folder = workspace_folder(self.root, ws_id)
            if mode == "review":
                return self.review_page(shell, folder, user)
            return self.app_page(shell, self.pages.open(folder, actor=user, **self.session_params))
        except HillError as exc:
            return self.list_page(shell, user, str(exc))
        except Exception:  # noqa: BLE001 - the page says so instead of "Opening…" forever
            log.exception("building the page for workspace=%r mode=%r failed", ws_id, mode)
            shell.note("This page could not be built (an internal error; the server log has it). "
                       "Go back to the workspace list.", "hill-error")
            return None

    def list_page(self, shell: Shell, user: str | None, message: str = "") -> WorkspaceList:
        page = WorkspaceList(index=self.index, message=message, open_workspace=self.pages.workspace_at,
                             user=user, admins=self.admins)
        self._shown(page)
        shell.show(page)
        return page

    def new_workspace(self, shell: Shell, user: str | None):
        refusal = self.new_refusal()
        if refusal:
            return self.list_page(shell, user, refusal)
        ws_id = self.index.new_id()
        session = self.pages.open(self.root / ws_id, actor=user, create=True, **self.session_params)
        if pn.state.location is not None:  # the URL names it from now on: a reload or a link comes back here
            pn.state.location.update_query(workspace=ws_id)
        return self.app_page(shell, session)

    def app_page(self, shell: Shell, session: Session) -> HillApp:
        app = HillApp(session=session, release=self.pages.release, probe=self.pages.set_probe,
                      claim=self.pages.claim, access_changed=self.pages.recheck, **self.options)
        app.actions.notifications = shell.template.notifications
        shell.show(app.main_area(), app.training_strip())
        shell.template.hill_app = app
        self._shown(app)
        app.start()  # first model, periodic updates, cleanup when the page closes
        return app

    def review_page(self, shell: Shell, folder: Path, user: str | None) -> ReviewPage:
        session = self.pages.open(folder, actor=user, review=True, **self.session_params)
        page = ReviewPage(session=session, release=self.pages.release)
        page.actions.notifications = shell.template.notifications
        shell.show(page)
        self._shown(page)
        pn.state.on_session_destroyed(lambda context: page.close())
        return page


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

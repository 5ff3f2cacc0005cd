"""WorkspaceList: the page a visitor lands on: every workspace under the server's root.

One row per workspace from the index (`core.workspaces.WorkspaceIndex`): owner, title
(editable in place by whoever may edit the workspace), dataset, model, events, edits,
last change, latest val/test accuracy, worst bias severity, verify badge and what the
viewing user may do with it (edit: theirs, shared with them, admin; else review); sortable
by any column, filterable from the header, with links to open a workspace
(`?workspace=ID`: editing or read-only, as the Session decides) or review it read-only
(`&mode=review`), and a "New workspace" link. Every workspace under the root is listed to
every signed-in user: others' workspaces are theirs to review (read-only). Listing reads
the index, not the logs.
"""
from __future__ import annotations

import html

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from hill_viz.core.access import edit_role
from hill_viz.core.provenance import default_actor
from hill_viz.core.workspaces import WorkspaceIndex, WorkspaceSummary
from hill_viz.errors import HillError, WorkspaceError

__all__ = ["WorkspaceList"]

COLUMNS = {"id": "Workspace", "title": "Title", "owner": "Owner", "dataset": "Dataset", "model": "Model",
           "n_events": "Events", "n_edits": "Edits", "last_change": "Changed (UTC)", "val_acc": "Val acc",
           "test_acc": "Test acc", "severity": "Bias", "verify_badge": "Verify", "access": "You may",
           "open": "Open"}
# Every column in view at 1600 px (a compact font; a long title or name is cut at MAX_WIDTH,
# in full on hover); on a narrower window the middle columns scroll while what a row is and
# what you may do with it stay in view (frozen).
TABLE_CSS = """
.tabulator-row, .tabulator-col, .tabulator-footer { font-size: 13px !important; }
.tabulator-cell, .tabulator-col-content { padding-left: 4px !important; padding-right: 4px !important; }
"""
MAX_WIDTH = 176  # px: a whole generated ID (date, time, random tail)
FROZEN = {"id": "left", "access": "right", "open": "right"}
ACCESS = {"owner": "edit (yours)", "editor": "edit (shared)", "admin": "edit (admin)", "anyone": "edit",
          "": "review"}


def _links(ws_id: str, editable: bool = True) -> str:
    q = html.escape(ws_id, quote=True)
    return (f"<a class='hill-open' href='?workspace={q}'>{'edit' if editable else 'view'}</a> · "
            f"<a class='hill-review' href='?workspace={q}&mode=review'>review</a>")


def rows_frame(rows: list[WorkspaceSummary], user: str | None = None, admins=()) -> pd.DataFrame:
    """The table the page shows, one row per workspace; what `user` may do with each (`core.access`).

    user None: the server's own user (no sign-in), as the Session's actor would be.
    """
    user = user or default_actor()
    data = []
    for r in rows:
        role = edit_role(user, r.owner or None, r.editor_names, admins)
        data.append({"id": r.id, "title": r.title, "owner": r.owner, "dataset": r.dataset, "model": r.model,
                     "n_events": r.n_events, "n_edits": r.n_edits, "last_change": r.last_change[:16].replace("T", " "),
                     "val_acc": r.val_acc, "test_acc": r.test_acc, "severity": r.severity,
                     "verify_badge": r.verify_badge, "access": ACCESS[role], "open": _links(r.id, bool(role))})
    return pd.DataFrame(data, columns=list(COLUMNS))


class WorkspaceList(Viewer):
    """The workspaces under one root, as a sortable, filterable, editable table."""

    index = param.ClassSelector(class_=WorkspaceIndex)
    message = param.String(default="", doc="A note shown above the table (e.g. why a link did not open)")
    open_workspace = param.Callable(default=None, doc="path -> the Workspace this server has open there, or "
                                    "None (e.g. OpenWorkspaces.workspace_at): titles are written through it")
    user = param.String(default=None, allow_None=True, doc="Who looks (the signed-in user; None: the server's)")
    admins = param.List(default=[], item_type=str, doc="Users who may edit every workspace")

    def __init__(self, **params):
        super().__init__(**params)
        text = {"type": "input", "func": "like", "placeholder": "filter"}
        self.table = pn.widgets.Tabulator(
            self._frame(), show_index=False, sizing_mode="stretch_both", min_height=400,
            titles=COLUMNS, editors={c: None for c in COLUMNS if c != "title"} | {"title": {"type": "input"}},
            formatters={"open": {"type": "html"}, "val_acc": {"type": "money", "precision": 3},
                        "test_acc": {"type": "money", "precision": 3}},
            header_filters={c: text for c in ("id", "title", "owner", "dataset", "model", "severity", "verify_badge",
                                                   "access")},
            pagination="remote", page_size=50, css_classes=["hill-workspace-list"], layout="fit_data_stretch",
            frozen_columns=FROZEN, stylesheets=[TABLE_CSS], configuration={"columnDefaults": {"tooltip": True, "maxWidth": MAX_WIDTH}})
        self.table.on_edit(self._on_edit)
        self.verify_button = pn.widgets.Button(label="Verify selected", width=140)
        self.verify_button.on_click(self._on_verify)
        self.refresh_button = pn.widgets.Button(label="Refresh", width=100)
        self.refresh_button.on_click(lambda event: self.refresh())
        self.status = pn.pane.Alert(self.message, alert_type="warning", visible=bool(self.message))

    def _frame(self) -> pd.DataFrame:
        return rows_frame(self.index.list(), self.user, self.admins)

    def refresh(self) -> None:
        self.table.value = self._frame()

    def _on_edit(self, event) -> None:
        ws_id = self.table.value["id"].iloc[event.row]
        try:
            self._require_editable(ws_id)
            folder = self.index.path_of(ws_id)
            open_ws = self.open_workspace(folder) if self.open_workspace else None
            self.index.set_title(ws_id, event.value, workspace=open_ws)
        except HillError as exc:
            self._say(str(exc))
        self.refresh()

    def _require_editable(self, ws_id: str) -> None:
        row = self.table.value.set_index("id").loc[ws_id]
        if row["access"] == ACCESS[""]:
            raise WorkspaceError(f"only {row['owner']}, who owns {ws_id}, and the people they share it with "
                                 "can rename it")

    def _on_verify(self, event=None) -> None:
        for row in self.table.selection:
            try:
                self.index.verify(self.table.value["id"].iloc[row])
            except HillError as exc:
                self._say(str(exc))
        self.refresh()

    def _say(self, text: str) -> None:
        self.status.object, self.status.visible = text, True

    def __panel__(self) -> pn.viewable.Viewable:
        new = pn.pane.HTML("<a class='hill-new-workspace btn btn-primary' href='?workspace=new'>New workspace</a>",
                           margin=(5, 10))
        return pn.Column(
            pn.Row(pn.pane.Markdown("### Workspaces", margin=(0, 10)), new, self.verify_button, self.refresh_button),
            pn.pane.Markdown(f"in `{self.index.root}`", margin=(0, 10), css_classes=["hill-list-root"]),
            self.status, self.table, sizing_mode="stretch_both")

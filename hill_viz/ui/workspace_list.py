"""WorkspaceList: the page a visitor lands on: every workspace under the server's root.

One row per workspace from the index (`core.workspaces.WorkspaceIndex`): owner, title
(editable in place), dataset, model, events, edits, last change, latest val/test
accuracy, worst bias severity and verify badge; sortable by any column, filterable from
the header, with links to open a workspace (`?workspace=ID`) or review it read-only
(`&mode=review`), and a "New workspace" link. Listing reads the index, not the logs.
"""
from __future__ import annotations

import html

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from hill_viz.core.workspaces import WorkspaceIndex, WorkspaceSummary
from hill_viz.errors import HillError

__all__ = ["WorkspaceList"]

COLUMNS = {"id": "Workspace", "title": "Title", "owner": "Owner", "dataset": "Dataset", "model": "Model",
           "n_events": "Events", "n_edits": "Edits", "last_change": "Last change (UTC)", "val_acc": "Val acc",
           "test_acc": "Test acc", "severity": "Bias", "verify_badge": "Verify", "open": "Open"}
SEVERITY_COLORS = {"ok": "#009E73", "warn": "#B86E00", "alert": "#D55E00"}


def _links(ws_id: str) -> str:
    q = html.escape(ws_id, quote=True)
    return (f"<a class='hill-open' href='?workspace={q}'>edit</a> · "
            f"<a class='hill-review' href='?workspace={q}&mode=review'>review</a>")


def rows_frame(rows: list[WorkspaceSummary]) -> pd.DataFrame:
    """The table the page shows, one row per workspace."""
    data = [{"id": r.id, "title": r.title, "owner": r.owner, "dataset": r.dataset, "model": r.model,
             "n_events": r.n_events, "n_edits": r.n_edits, "last_change": r.last_change[:19].replace("T", " "),
             "val_acc": r.val_acc, "test_acc": r.test_acc, "severity": r.severity, "verify_badge": r.verify_badge,
             "open": _links(r.id)} for r in rows]
    return pd.DataFrame(data, columns=list(COLUMNS))


class WorkspaceList(Viewer):
    """The workspaces under one root, as a sortable, filterable, editable table."""

    index = param.ClassSelector(class_=WorkspaceIndex)
    message = param.String(default="", doc="A note shown above the table (e.g. why a link did not open)")
    open_workspace = param.Callable(default=None, doc="path -> the Workspace this server has open there, or "
                                    "None (e.g. OpenWorkspaces.workspace_at): titles are written through it")

    def __init__(self, **params):
        super().__init__(**params)
        text = {"type": "input", "func": "like", "placeholder": "filter"}
        self.table = pn.widgets.Tabulator(
            rows_frame(self.index.list()), show_index=False, sizing_mode="stretch_both", min_height=400,
            titles=COLUMNS, editors={c: None for c in COLUMNS if c != "title"} | {"title": {"type": "input"}},
            formatters={"open": {"type": "html"}, "val_acc": {"type": "money", "precision": 3},
                        "test_acc": {"type": "money", "precision": 3}},
            header_filters={c: text for c in ("id", "title", "owner", "dataset", "model", "severity", "verify_badge")},
            pagination="remote", page_size=50, css_classes=["hill-workspace-list"], layout="fit_data_stretch")
        self.table.on_edit(self._on_edit)
        self.verify_button = pn.widgets.Button(label="Verify selected", width=140)
        self.verify_button.on_click(self._on_verify)
        self.refresh_button = pn.widgets.Button(label="Refresh", width=100)
        self.refresh_button.on_click(lambda event: self.refresh())
        self.status = pn.pane.Alert(self.message, alert_type="warning", visible=bool(self.message))

    def refresh(self) -> None:
        self.table.value = rows_frame(self.index.list())

    def _on_edit(self, event) -> None:
        ws_id = self.table.value["id"].iloc[event.row]
        try:
            folder = self.index.path_of(ws_id)
            open_ws = self.open_workspace(folder) if self.open_workspace else None
            self.index.set_title(ws_id, event.value, workspace=open_ws)
        except HillError as exc:
            self._say(str(exc))
        self.refresh()

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
            pn.Row(pn.pane.Markdown(f"### Workspaces in `{self.index.root}`", margin=(0, 10)), new,
                   self.verify_button, self.refresh_button),
            self.status, self.table, sizing_mode="stretch_both")

"""SelectionTable: the first rows of the selection, readable (class names, not codes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from hill_viz.errors import ConfigError, HillError
from hill_viz.session import Session
from hill_viz.ui.session_watch import SessionWatch

__all__ = ["SelectionTable"]


class SelectionTable(Viewer):
    """A table of up to `max_rows` selected samples, in id order."""

    session = param.ClassSelector(class_=Session)
    max_rows = param.Integer(default=200, bounds=(1, 10_000))

    def __init__(self, **params):
        super().__init__(**params)
        if self.session is None:
            raise ConfigError("SelectionTable needs a session: SelectionTable(session=Session(...))")
        self.table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, height=280,
                                          sizing_mode="stretch_width", css_classes=["hill-selection-table"])
        self.caption = pn.pane.Markdown("", margin=(0, 10))
        self._watch = SessionWatch(self.session, ("frame_version", "selection_version"), self._refresh)
        self._refresh({"selection_version"})

    def _refresh(self, names: set[str]) -> None:
        frame, ids = self.session.frame, self.session.selection
        rows = np.empty(0, dtype=np.int64)
        if frame is not None and len(ids):
            try:
                rows = frame.rows_of_ids(np.sort(ids)[: self.max_rows])
            except HillError:
                pass
        self.table.value = frame.describe_rows(rows).round(4) if frame is not None else pd.DataFrame()
        self.caption.object = (f"First {len(rows):,} of {len(ids):,} selected samples" if len(ids)
                               else "*No selection.*")

    def __panel__(self) -> pn.viewable.Viewable:
        self._watch.attach()
        return pn.Column(self.caption, self.table, sizing_mode="stretch_width")

"""SelectionTable: the first rows of the selection, readable (class names, not codes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param

from hill_viz.ui.component import SessionComponent

__all__ = ["SelectionTable"]


class SelectionTable(SessionComponent):
    """A table of up to `max_rows` selected samples, in id order."""

    max_rows = param.Integer(default=200, bounds=(1, 10_000))

    def __init__(self, **params):
        super().__init__(**params)
        self.table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, height=280,
                                          sizing_mode="stretch_width", css_classes=["hill-selection-table"])
        self.caption = pn.pane.Markdown("", margin=(0, 10))
        self.watch(("frame", "selection"), self._refresh)
        self._refresh({"selection"})

    def _refresh(self, names: set[str]) -> None:
        frame, ids, rows = self.session.frame, self.session.selection, self.session.selected_rows()
        if len(rows):  # the first selected samples in id order
            rows = rows[np.argsort(frame.column("id")[rows], kind="stable")[: self.max_rows]]
        self.table.value = frame.describe_rows(rows).round(4) if frame is not None else pd.DataFrame()
        self.caption.object = (f"First {len(rows):,} of {len(ids):,} selected samples" if len(ids)
                               else "*No selection.*")

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        return pn.Column(self.caption, self.table, sizing_mode="stretch_width")

"""Breakdown: what a selection is made of, next to the whole population.

One bar chart per categorical column a selector can name (the label and each attribute):
bars give each category's share of the selection, black dashes its share of all points,
so an over- or under-represented class or group shows at a glance. Clicking a bar selects
that class (or attribute value) in every view.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from hill_viz.core.edits import Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.errors import ConfigError, EditError, StateError
from hill_viz.render.palette import UNSELECTED, palette
from hill_viz.ui.component import SessionComponent

__all__ = ["Breakdown", "breakdown_table"]

_Version = hv.streams.Stream.define("BreakdownVersion", version=0)


def breakdown_table(frame: LatentFrame, column: str, rows: np.ndarray) -> pd.DataFrame:
    """Per category of `column`: count and share in the selected rows and in all rows."""
    names = frame.categories(column)
    k = len(names)
    codes = frame.codes(column)
    population = np.bincount(codes, minlength=k)[:k]
    selected = np.bincount(codes[rows], minlength=k)[:k] if len(rows) else np.zeros(k, dtype=np.int64)
    return pd.DataFrame({
        "category": list(names), "code": np.arange(k),
        "selected": selected, "population": population,
        "selected_share": selected / max(int(selected.sum()), 1),
        "population_share": population / max(int(population.sum()), 1),
        "color": list(palette(k, column)),
    })


class Breakdown(SessionComponent):
    """Label and attribute make-up of the Session's selection; a click on a bar selects it."""

    height = param.Integer(default=260, bounds=(120, 2000))

    def __init__(self, **params):
        super().__init__(**params)
        self.selected_rows = np.empty(0, dtype=np.int64)
        self.charts: dict[str, hv.DynamicMap] = {}
        self.panes: dict[str, pn.pane.HoloViews] = {}
        self.rendered: dict[str, hv.Overlay] = {}  # the last chart drawn per column
        self.taps: dict[str, hv.streams.Tap] = {}
        self._version = _Version()
        self._columns: tuple[str, ...] = ()
        self._layout = pn.Column(sizing_mode="stretch_width", css_classes=["hill-breakdown"])
        self.watch(("frame", "selection"), self._refresh)
        self._refresh({"frame"})

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns broken down: the label and every attribute of the current frame."""
        return self._columns

    def table(self, column: str) -> pd.DataFrame:
        frame = self.session.frame
        if frame is None:
            raise ConfigError("there is no latent view yet; build a model first")
        return breakdown_table(frame, column, self.selected_rows)

    def select_category(self, column: str, category: str | int) -> np.ndarray:
        """Select every point of one class (column 'label') or attribute value, by name or code."""
        frame = self.session.frame
        if frame is None:
            raise StateError("there is no latent view yet; build a model first")
        names = frame.categories(column)
        if isinstance(category, str):
            if category not in names:
                raise EditError(f"{column} has no category {category!r}; categories are: {', '.join(names)}")
            code = names.index(category)
        else:
            code = int(category)
        if column == "label":
            return self.session.select(Selector.of_label(code))
        if not 0 <= code < len(names):
            raise EditError(f"{column} has no category {code}; codes are 0..{len(names) - 1}")
        return self.session.select(Selector.of_attribute(column, names[code]))

    # -- charts ---------------------------------------------------------------------------------
    def _chart(self, column: str, version: int = 0) -> hv.Overlay:
        frame = self.session.frame
        if frame is None:
            return hv.Bars([], column, "share") * hv.Scatter([], column, "share")
        table = self.table(column)
        has_selection = len(self.selected_rows) > 0
        share = table["selected_share"] if has_selection else table["population_share"]
        colors = table["color"] if has_selection else [UNSELECTED] * len(table)
        # the category axis is named after the column: plots sharing a dimension name share axes
        bars = hv.Bars(pd.DataFrame({column: table["category"], "share": share, "count":
                                     table["selected"] if has_selection else table["population"],
                                     "color": colors}), column, ["share", "count", "color"])
        dashes = hv.Scatter(pd.DataFrame({column: table["category"], "share": table["population_share"]}),
                            column, "share")
        what = f"{int(table['selected'].sum()):,} selected" if has_selection else "no selection: all points"
        self.rendered[column] = chart = self._style(bars, dashes, column, f"{column} — bars: {what}; dashes: all points")
        return chart

    def _style(self, bars: hv.Bars, dashes: hv.Scatter, column: str, title: str) -> hv.Overlay:
        return (bars.opts(color="color", tools=["hover", "tap"], selection_alpha=1, nonselection_alpha=1,
                          line_color=None) *
                dashes.opts(marker="dash", size=26, color="black", line_width=2, tools=[])
                ).opts(title=title, responsive=True, height=self.height, ylabel="share", xlabel=column,
                       show_legend=False, ylim=(0, None), fontsize={"title": 10})

    def _build_charts(self) -> None:
        frame = self.session.frame
        self._columns = ("label", *frame.attribute_names) if frame is not None else ()
        self.charts, self.taps, self.panes = {}, {}, {}
        for column in self._columns:
            dmap = hv.DynamicMap(lambda version, column=column: self._chart(column, version), streams=[self._version])
            tap = hv.streams.Tap(source=dmap, x=None, y=None)
            tap.add_subscriber(lambda x=None, y=None, column=column: self._on_tap(column, x))
            self.charts[column], self.taps[column] = dmap, tap
            self.panes[column] = pn.pane.HoloViews(dmap, sizing_mode="stretch_width", min_height=self.height,
                                                   linked_axes=False)
        self._layout.objects = (list(self.panes.values()) or
                                [pn.pane.Markdown("*No latent view yet: build a model first.*")])

    def _refresh(self, names: set[str]) -> None:
        frame = self.session.frame
        self.selected_rows = self.session.selected_rows()
        columns = ("label", *frame.attribute_names) if frame is not None else ()
        if "frame" in names and columns != self._columns:
            self._build_charts()
        self._version.event(version=self._version.version + 1)

    def _on_tap(self, column: str, category) -> None:
        if category is None:
            return
        if isinstance(category, (list, tuple)):  # nested factors: (category, ...)
            category = category[0]
        self.spawn(self.select_category, column, str(category))

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        return self._layout

"""LatentView: the latent space as a Datashader cloud, with box and lasso selection.

Layers, bottom to top: the cloud (every point, coloured by `color_by`, dimmed while a
selection exists), the selection highlight (the selected points at full colour), an
invisible layer of points for hover once the viewport holds few enough of them, then
whatever other components add with `add_overlay` (edit arrows, a drag handle). Each
layer is a DynamicMap over RangeXY/PlotSize streams, so every zoom or pan aggregates the
frame again at the plot's pixel size.

Selections go through the Session (`session.select(Selector.of_box(...))`) in a worker
thread, so a 10^7-point lasso never stalls the server; the view redraws when the
Session's `selection` or `frame` changes, whoever changed it.
"""
from __future__ import annotations

import threading

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from panel.io.state import set_curdoc

from hill_viz.core.edits import Selector
from hill_viz.core.frame import CONTINUOUS_COLUMNS, LatentFrame
from hill_viz.core.geometry import box_mask
from hill_viz.errors import ConfigError
from hill_viz.render import ColorSpec, Viewport, color_spec, render_frame, to_rgba
from hill_viz.scale.view import render_frame as render_dask_frame
from hill_viz.ui.component import SessionComponent
from hill_viz.ui.session_watch import batched
from hill_viz.ui.view_trust import ProjectionPanel

__all__ = ["STATUS_CLASS", "VIEW_CLASS", "LatentView", "ensure_bokeh", "legend_html"]

BASE_COLOR_BY = ("label", "pred", "correct", "split", *CONTINUOUS_COLUMNS)
HOVER_COLUMNS = ("id", "label", "pred", "confidence", "attributes")
DIM_ALPHA = 90          # alpha of the cloud behind a selection (of 255)
HIGHLIGHT_SPREAD = 2    # pixels the selected points may grow so small selections stand out
DEFAULT_WIDTH = 800     # pixels until the browser reports the plot's size
STATUS_CLASS = "hill-selection-status"  # the status line above the cloud: points and selected counts
VIEW_CLASS = "hill-latent-view"  # the plot's pane: browser tests and benchmarks find the cloud by it
REDRAW_DELAY_MS = 30    # layers asked for within this redraw together (the components' reactions to a change)
_UNIT = Viewport((0.0, 1.0), (0.0, 1.0))
_EMPTY_RGBA = np.zeros((1, 1, 4), dtype=np.uint8)

# names differ across the three: `redraw` triggers them together, and HoloViews merges their contents
_CloudState = hv.streams.Stream.define("CloudState", frame=0, color=0, dimmed=False)
_HighlightState = hv.streams.Stream.define("HighlightState", highlight_frame=0, highlight_color=0, selection=0)
_HoverState = hv.streams.Stream.define("HoverState", hover_frame=0, limit=0)


class LatentView(SessionComponent):
    """The Session's latent frame as a zoomable cloud; box/lasso selections go to the Session."""

    color_by = param.Selector(default="label", objects=list(BASE_COLOR_BY),
                              doc="Column the points are coloured by (categorical or continuous)")
    hover_limit = param.Integer(default=2000, bounds=(0, 50_000),
                                doc="Hover shows samples once the viewport holds at most this many points")
    height = param.Integer(default=560, bounds=(200, 4000), doc="Plot height in pixels")
    selecting = param.Boolean(default=False, doc="A selection is being resolved off the event loop")

    def __init__(self, **params):
        super().__init__(**params)
        ensure_bokeh()
        self._overlays: list = []
        self._due: list[hv.streams.Stream] = []  # layers to redraw in the next plot update (`redraw`)
        self._due_lock = threading.Lock()        # `redraw` is called from worker threads too
        self._status_due = False
        self._pane: pn.pane.HoloViews | None = None
        self._layout: pn.viewable.Viewable | None = None
        self.selected_rows = np.empty(0, dtype=np.int64)
        self._frame = self.session.frame
        self._projection = self.session.projection
        self._sync_color_options()
        self._sync_selection()
        self._home = self._home_viewport()
        self.legend = pn.pane.HTML(legend_html(self._spec()), width=170, margin=(10, 5))
        self.status = pn.pane.Markdown(self._status_text(), margin=(0, 10), sizing_mode="stretch_width",
                                       css_classes=[STATUS_CLASS])  # wraps in the view's column
        self.projection_panel = ProjectionPanel(session=self.session, actions=self.actions)
        self.clear_button = pn.widgets.Button(label="Clear selection", width=130)
        self.clear_button.on_click(lambda event: self.clear_selection())
        self._build_plot()
        self.watch(("frame", "selection"), self._on_session_change)
        self.watch(("engine_status", "latents_progress", "selection_count"), self._on_status)
        self.param.watch(self._on_color_by, "color_by")
        self.param.watch(lambda event: self.redraw(self._hover_state, limit=event.new), "hover_limit")

    # -- the composed plot ------------------------------------------------------------------------
    def _build_plot(self) -> None:
        """Fresh layers and streams (also after the cloud moved far from where the axes start)."""
        self._cloud_state = _CloudState(dimmed=bool(len(self.selected_rows)))
        self._highlight_state = _HighlightState()
        self._hover_state = _HoverState(limit=self.hover_limit)
        self.cloud = hv.DynamicMap(self._cloud, streams=[hv.streams.RangeXY(), hv.streams.PlotSize(),
                                                         self._cloud_state])
        self.highlight = hv.DynamicMap(self._highlight, streams=[hv.streams.RangeXY(), hv.streams.PlotSize(),
                                                                 self._highlight_state])
        self.hover = hv.DynamicMap(self._hover_points, streams=[hv.streams.RangeXY(), self._hover_state])
        self.cloud.opts(hv.opts.RGB(tools=["box_select", "lasso_select"], active_tools=["wheel_zoom", "pan"],
                                    default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save"]))
        self.highlight.opts(hv.opts.RGB(tools=[]))
        self.hover.opts(hv.opts.Points(
            tools=["hover"], size=9, fill_alpha=0, line_alpha=0, hover_fill_alpha=0.5, hover_line_alpha=1,
            hover_line_color="black", selection_fill_alpha=0, nonselection_fill_alpha=0,
            selection_line_alpha=0, nonselection_line_alpha=0,
            hover_tooltips=[("id", "@id"), ("label", "@label"), ("pred", "@pred"),
                            ("confidence", "@confidence{0.000}"), ("attributes", "@attributes")]))
        self.bounds_stream = hv.streams.BoundsXY(source=self.cloud, bounds=None)
        self.lasso_stream = hv.streams.Lasso(source=self.cloud)
        self.bounds_stream.add_subscriber(self._on_bounds)
        self.lasso_stream.add_subscriber(self._on_lasso)
        self._compose()

    def _compose(self) -> None:
        layers = [self.cloud, self.highlight, self.hover, *self._overlays]
        self.plot = _overlay(layers).opts(responsive=True, height=self.height, xlabel="view x",
                                          ylabel="view y", show_legend=False)
        if self._pane is not None:
            self._pane.object = self.plot

    def add_overlay(self, element_or_dmap) -> None:
        """Draw a HoloViews element or DynamicMap above the cloud (e.g. edit arrows, a handle)."""
        self._overlays.append(element_or_dmap)
        self._compose()

    # -- layers -----------------------------------------------------------------------------------
    def _viewport(self, x_range=None, y_range=None, width=None, height=None) -> Viewport:
        home = self._home
        try:
            return Viewport(tuple(x_range) if x_range else home.x_range, tuple(y_range) if y_range else home.y_range,
                            width or DEFAULT_WIDTH, height or self.height)
        except (ConfigError, TypeError):
            return home.resized(width or DEFAULT_WIDTH, height or self.height)

    @property
    def viewport(self) -> Viewport:
        """The part of the view plane shown now (the whole cloud until the browser reports)."""
        ranges = {}
        for stream in self.cloud.streams:
            ranges.update({k: v for k, v in stream.contents.items() if k in ("x_range", "y_range", "width", "height")})
        return self._viewport(**ranges)

    def _cloud(self, x_range=None, y_range=None, width=None, height=None, **_) -> hv.RGB:
        self.attach()  # renders run inside the page's session: bind the watches to it
        frame, vp = self.session.frame, self._viewport(x_range, y_range, width, height)
        if frame is None or not len(frame):
            return hv.RGB(_EMPTY_RGBA, bounds=vp.bounds, kdims=["x", "y"])
        alpha = DIM_ALPHA if len(self.selected_rows) else 255
        big = self.session.big_frame  # on Dask: every row, aggregated on the cluster
        if big is None:
            img = render_frame(frame, vp, self._spec(frame), alpha=alpha)
        else:
            img = render_dask_frame(big, vp, self._spec(frame), alpha=alpha)
        return hv.RGB(to_rgba(img), bounds=vp.bounds, kdims=["x", "y"])

    def _highlight(self, x_range=None, y_range=None, width=None, height=None, **_) -> hv.RGB:
        frame, vp = self.session.frame, self._viewport(x_range, y_range, width, height)
        rows, window = self.selected_rows, None
        if frame is not None and len(rows) and rows.max() < len(frame):  # drawn only where the selection is
            window = vp.around(frame.column("x")[rows], frame.column("y")[rows], pad=HIGHLIGHT_SPREAD + 1)
        if window is None:  # nothing selected, or none of it in view
            return hv.RGB(_EMPTY_RGBA, bounds=vp.bounds, kdims=["x", "y"])
        img = render_frame(frame, window, self._spec(frame), rows=rows, spread=HIGHLIGHT_SPREAD)
        return hv.RGB(to_rgba(img), bounds=window.bounds, kdims=["x", "y"])

    def _hover_points(self, x_range=None, y_range=None, **_) -> hv.Points:
        frame, vp = self.session.frame, self._viewport(x_range, y_range)
        rows = np.empty(0, dtype=np.int64)
        if frame is not None and len(frame) and self.hover_limit:
            (x0, x1), (y0, y1) = vp.x_range, vp.y_range
            inside = box_mask(frame.column("x"), frame.column("y"), x0, y0, x1, y1)
            if np.count_nonzero(inside) * self._points_per_row(frame) <= self.hover_limit:
                rows = np.flatnonzero(inside)
        return hv.Points(hover_table(frame, rows), kdims=["x", "y"], vdims=list(HOVER_COLUMNS))

    def axis_ranges(self) -> list:
        """The Bokeh x and y ranges (Range1d) of the plot on each page that shows it."""
        plots = [plot for plot, _ in getattr(self._pane, "_plots", {}).values()]
        ranges = [(plot.handles.get("x_range"), plot.handles.get("y_range")) for plot in plots]
        return [(xr, yr) for xr, yr in ranges if xr is not None and yr is not None]

    def _move_axes(self, home: Viewport) -> bool:
        """Point the page's axes at `home`, which reset returns to from now on (no new plot:
        rebuilding one costs the event loop seconds); False if no page shows the plot yet."""
        ranges = self.axis_ranges()
        for x_range, y_range in ranges:
            (x0, x1), (y0, y1) = home.x_range, home.y_range
            x_range.update(start=x0, end=x1, reset_start=x0, reset_end=x1)
            y_range.update(start=y0, end=y1, reset_start=y0, reset_end=y1)
        if ranges:
            for dmap in (self.cloud, self.highlight, self.hover):
                for stream in dmap.streams:
                    if isinstance(stream, hv.streams.RangeXY):
                        stream.update(x_range=home.x_range, y_range=home.y_range)
        return bool(ranges)

    def _points_per_row(self, frame: LatentFrame) -> float:
        """Cloud points per row of `frame`: 1, or on Dask (`frame` a seeded sample) the whole
        frame's rows per sample row, so hover_limit counts what the viewport shows. (Hovering
        every sample point of a big cloud made each pointer move so slow that Bokeh took
        drags for presses: no box reached the Session.)"""
        big = self.session.big_frame
        return len(big) / len(frame) if big is not None and len(frame) else 1.0

    # -- colour -------------------------------------------------------------------------------------
    def _spec(self, frame: LatentFrame | None = None) -> ColorSpec | None:
        frame = frame if frame is not None else self.session.frame
        if frame is None:
            return None
        return color_spec(frame, self.color_by if self.color_by in self.param.color_by.objects else "label")

    def _sync_color_options(self) -> None:
        frame = self.session.frame
        options = list(BASE_COLOR_BY) + (list(frame.attribute_names) if frame is not None else [])
        if list(self.param.color_by.objects) != options:
            self.param.color_by.objects = options
            if self.color_by not in options:
                self.color_by = "label"

    def _on_color_by(self, event) -> None:
        self.legend.object = legend_html(self._spec())
        self.redraw(self._cloud_state, color=self._cloud_state.color + 1)
        if len(self.selected_rows):
            self.redraw(self._highlight_state, highlight_color=self._highlight_state.highlight_color + 1)

    # -- selection ----------------------------------------------------------------------------------
    def select_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Select the points in a box of view coordinates, as dragging the box tool does."""
        return self.session.select(Selector.of_box(x0, y0, x1, y1))

    def select_lasso(self, polygon) -> np.ndarray:
        """Select the points inside a polygon (V, 2) of view coordinates."""
        return self.session.select(Selector.of_lasso(polygon))

    def clear_selection(self) -> None:
        self.session.select(None)

    def _on_bounds(self, bounds=None, **_) -> None:
        if bounds is not None and all(np.isfinite(bounds)):
            self._launch(Selector.of_box(*bounds))

    def _on_lasso(self, geometry=None, **_) -> None:
        if geometry is not None and len(geometry) >= 3 and np.isfinite(geometry).all():
            self._launch(Selector.of_lasso(np.asarray(geometry)))

    def _launch(self, selector: Selector) -> None:
        """Resolve the selector off the event loop (right here when no loop runs)."""
        self.selecting = True
        self.spawn(self.session.select, selector, then=lambda result: setattr(self, "selecting", False))

    def _sync_selection(self) -> bool:
        """Rows of the Session's selection in the current frame; True if the dimming changes."""
        rows = self.session.selected_rows()
        was_dimmed = bool(len(self.selected_rows))
        self.selected_rows = rows
        return was_dimmed != bool(len(rows))

    # -- reacting to the Session --------------------------------------------------------------------
    def _home_viewport(self) -> Viewport:
        frame = self.session.frame
        return Viewport.of_frame(frame, DEFAULT_WIDTH, self.height) if frame is not None and len(frame) else _UNIT

    def _on_session_change(self, names: set[str]) -> None:
        frame_changed = "frame" in names and self.session.frame is not self._frame
        dimming_changed = self._sync_selection()
        if frame_changed:
            self._frame = self.session.frame
            self._sync_color_options()
            self.legend.object = legend_html(self._spec())
            home = self._home_viewport()
            new_view = self.session.projection is not self._projection  # a zoom into the old picture means nothing
            self._projection = self.session.projection
            if new_view or _far_apart(self._home, home):
                self._home = home
                if not self._move_axes(home):  # not on a page yet: the next render starts from home
                    self._build_plot()
                    self.status.object = self._status_text()
                    return
            self._home = home
        if frame_changed:
            self.redraw(self._cloud_state, frame=self._cloud_state.frame + 1, dimmed=bool(len(self.selected_rows)))
            self.redraw(self._hover_state, hover_frame=self._hover_state.hover_frame + 1)
        elif dimming_changed:
            self.redraw(self._cloud_state, dimmed=bool(len(self.selected_rows)))
        self.redraw(self._highlight_state, highlight_frame=self._highlight_state.highlight_frame + int(frame_changed),
                    selection=self._highlight_state.selection + int("selection" in names))
        self._on_status(names)

    def _on_status(self, names: set[str]) -> None:
        if self._due:  # shown with the redraw: the counts appear with the points they count
            self._status_due = True
        else:
            self.status.object = self._status_text()

    # -- redrawing ------------------------------------------------------------------------------------
    def redraw(self, stream: hv.streams.Stream, **contents) -> None:
        """Redraw the layer that `stream` drives, with `contents` (e.g. the handle's new data).

        HoloViews updates the whole overlay (every layer's frame, ranges and glyphs) for each
        stream triggered alone, so on a page the layers asked for within REDRAW_DELAY_MS (by
        this view and by what `add_overlay` put on it, for one Session change or a burst) are
        redrawn in one update. With no page, at once.
        """
        stream.update(**contents)
        doc = self.page
        if doc is None:
            hv.streams.Stream.trigger([stream])
            return
        with self._due_lock:
            first = not self._due
            if not any(due is stream for due in self._due):
                self._due.append(stream)
        if first:  # add_next_tick_callback is the one thread-safe way onto the page's loop
            doc.add_next_tick_callback(lambda: doc.add_timeout_callback(self._redraw_due, REDRAW_DELAY_MS))

    def _redraw_due(self) -> None:
        with set_curdoc(self.page), batched():
            with self._due_lock:
                streams, self._due = self._due, []
            try:
                hv.streams.Stream.trigger(streams)
            finally:
                if self._status_due:
                    self._status_due = False
                    self.status.object = self._status_text()

    def _status_text(self) -> str:
        s = self.session
        done, parts = s.latents_progress
        latents = f" · latents {done}/{parts} partitions" if parts else ""
        engine = f"  \n{s.engine_status}" if s.engine_status else ""
        if s.frame is None:
            return f"*No latent view yet: build a model first.*{latents}{engine}"
        if s.big_frame is None:
            return f"**{len(s.frame):,}** points · **{len(self.selected_rows):,}** selected{latents}{engine}"
        return (f"**{len(s.big_frame):,}** points · **{s.selection_count:,}** selected "
                f"({len(self.selected_rows):,} in the {len(s.frame):,}-row sample){latents}{engine}")

    # -- panel ----------------------------------------------------------------------------------------
    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        if self._layout is None:
            self._pane = pn.pane.HoloViews(self.plot, sizing_mode="stretch_width", min_height=self.height,
                                           linked_axes=False, css_classes=[VIEW_CLASS])
            color = pn.widgets.Select.from_param(self.param.color_by, label="Colour by", width=170)
            self.clear_button.align = self.status.align = "end"  # level with the select, under its label
            self._layout = pn.Column(
                pn.Row(color, self.clear_button, self.status, sizing_mode="stretch_width"),
                pn.Row(self._pane, pn.Column(self.legend, self.projection_panel), sizing_mode="stretch_width"),
                sizing_mode="stretch_width")
        return self._layout


def ensure_bokeh() -> None:
    """Load HoloViews' Bokeh backend unless it is loaded already (apps call hv.extension too)."""
    if "bokeh" not in hv.Store.loaded_backends():
        hv.extension("bokeh")


def _overlay(layers: list) -> hv.Overlay:
    plot = layers[0]
    for layer in layers[1:]:
        plot = plot * layer
    return plot


def _far_apart(old: Viewport, new: Viewport) -> bool:
    """True if the new cloud would mostly lie outside the old axes, or fill a quarter of them."""
    if old is _UNIT or new is _UNIT:
        return old is not new
    (ax0, ax1), (ay0, ay1) = old.x_range, old.y_range
    (bx0, bx1), (by0, by1) = new.x_range, new.y_range
    overlap = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    area_old, area_new = (ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0)
    return overlap < 0.5 * area_new or area_new < 0.25 * area_old


def hover_table(frame: LatentFrame | None, rows: np.ndarray) -> pd.DataFrame:
    """x, y and what the hover shows for the given rows."""
    if frame is None or not len(rows):
        return pd.DataFrame({"x": np.empty(0, np.float32), "y": np.empty(0, np.float32),
                             **{c: np.empty(0, object) for c in HOVER_COLUMNS}})
    table = frame.describe_rows(rows)
    attrs = frame.attribute_names
    parts = [f"{a}=" + table[a].astype(str) for a in attrs]
    table["attributes"] = parts[0].str.cat(parts[1:], sep=", ") if parts else ""
    return table[["x", "y", *HOVER_COLUMNS]]


def legend_html(spec: ColorSpec | None) -> str:
    """A legend in the palette the cloud uses: swatches per category, or a colour bar."""
    if spec is None:
        return ""
    title = f"<div style='font-weight:600;margin-bottom:4px'>{spec.column}</div>"
    if spec.is_categorical:
        items = "".join(
            f"<div style='display:flex;align-items:center;gap:6px;font-size:12px'>"
            f"<span style='display:inline-block;width:12px;height:12px;border-radius:6px;background:{c}'></span>"
            f"{_escape(name)}</div>"
            for name, c in zip(spec.categories, spec.colors))
        return f"<div class='hill-legend'>{title}{items}</div>"
    lo, hi = spec.span
    gradient = ", ".join(spec.colors)
    return (f"<div class='hill-legend'>{title}<div style='width:140px;height:12px;"
            f"background:linear-gradient(to right, {gradient})'></div>"
            f"<div style='display:flex;justify-content:space-between;width:140px;font-size:11px'>"
            f"<span>{lo:.3g}</span><span>{hi:.3g}</span></div></div>")


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Timeline: the session's history to review, annotate, revert to and export.

Three plots share one x axis, the event sequence: validation accuracy after each training
segment (the head path as a line, abandoned branches as grey dots), the headline bias
indicators as traffic lights, and the event tree with one lane per branch (edits as
diamonds, the head ringed). Clicking an event (on the tree or in the table) shows its
details, its bias reports and its latent snapshot beside the current view with the class
centroids' moves drawn; buttons annotate it, revert to it (the next action starts a new
branch) and export the history (JSON) or the review arrays (NetCDF).

All state is in the Session and its event store; the component only reads them and calls
Session methods (`revert`, `annotate`). `poll()` refreshes when new events arrive; inside
a served page it runs itself every `poll_ms`, until the page closes or the Session's
workspace is closed (then it stops itself rather than touch a closed log).
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from hill_viz.core.provenance import read_snapshot, snapshot_rows
from hill_viz.core.review import (SEVERITIES, bias_indicators, bias_reports_for, export_review, head_path_curve,
                                  moved_by_class, paired_points, snapshot_event, timeline_table)
from hill_viz.ui.bias_panel import LIGHT_COLOURS
from hill_viz.ui.component import FAILED, SessionComponent
from hill_viz.ui.session_watch import batched, page_tick

KIND_COLORS = {  # Okabe-Ito: colour-blind safe
    "dataset_loaded": "#000000", "model_built": "#000000", "projection_fitted": "#999999",
    "selection": "#56B4E9", "edit_added": "#E69F00", "edit_updated": "#E69F00", "edit_removed": "#E69F00",
    "edits_applied": "#D55E00", "training_segment": "#0072B2", "checkpoint": "#BBBBBB",
    "bias_report": "#CC79A7", "revert": "#009E73", "annotation": "#F0E442",
    "sharing": "#F0E442",
}
HEADLINE_MAX = 4
TABLE_COLUMNS = ["id", "seq", "lane", "kind", "actor", "ts", "summary"]


STRIP_EVENTS = 6                               # newest events in the strip beside the cloud
STRIP_SKIP = ("checkpoint", "selection")       # too many to be news at a glance


def strip_html(table: pd.DataFrame, n: int = STRIP_EVENTS) -> str:
    """Validation accuracy (and its last change) and the newest `n` events of the current branch."""
    on_head = table[table["on_head"]] if len(table) else table
    acc = head_path_curve(table, "val_acc")["val_acc"] if len(table) else pd.Series(dtype=float)
    if len(acc) == 0:
        lines = ["<b>val accuracy</b>: not trained yet"]
    else:
        change = f" ({acc.iloc[-1] - acc.iloc[-2]:+.3f} since the segment before)" if len(acc) > 1 else ""
        lines = [f"<b>val accuracy</b> {acc.iloc[-1]:.3f}{change}"]
    shown = on_head[~on_head["kind"].isin(STRIP_SKIP)].tail(n).iloc[::-1] if len(on_head) else on_head
    for row in shown.itertuples():
        light = (f"<span style='color:{LIGHT_COLOURS[SEVERITIES[row.severity]]}'>&#9679;</span> "
                 if row.severity >= 0 else "")
        summary = row.summary if len(row.summary) <= 70 else row.summary[:69] + "…"
        lines.append(f"{light}<b>#{row.seq}</b> {html.escape(row.kind)}: {html.escape(summary)}")
    return "<div class='hill-strip-events' style='font-size:12px; line-height:1.5'>" + "<br>".join(lines) + "</div>"


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in columns})


class Timeline(SessionComponent):
    """The event history of a Session's workspace, as plots, a table and actions."""

    selected = param.Integer(default=None, allow_None=True, doc="The event whose details are shown")
    max_points = param.Integer(default=3000, bounds=(100, None), doc="Points per snapshot plot")
    poll_ms = param.Integer(default=1000, bounds=(100, None))
    shown = param.Boolean(default=True, doc=(
        "The plots and table are on screen; while not, a refresh only updates the strip and the "
        "rest is redrawn when they are shown again"))
    training_refresh_s = param.Number(default=3.0, bounds=(0, None), doc=(
        "While training, read the log and update the strip at most this often"))
    draw_every_s = param.Number(default=5.0, bounds=(0, None), doc=(
        "When the log changes on its own (selections, edits, other pages), redraw the plots and "
        "table at most this often (the strip follows at once): a redraw costs the event loop that "
        "every page of the server shares about half a second. The Timeline's own actions draw at once"))
    training_draw_s = param.Number(default=15.0, bounds=(0, None), doc=(
        "The same while training (the strip and the training status show progress meanwhile)"))

    def __init__(self, **params):
        super().__init__(**params)
        self._key = None
        self._refreshed_at = self._drawn_at = 0.0
        self._reverted = False  # the head moved to a revert since the last draw
        self._strip = None
        self._periodic = None
        self._tree_pipe = hv.streams.Pipe(data=None)
        self._acc_pipe = hv.streams.Pipe(data=None)
        self._bias_pipe = hv.streams.Pipe(data=None)
        self._build_widgets()
        self._drawn_key = None  # the log's (count, head) the plots and table show
        self.refresh()
        self.param.watch(lambda event: self._draw() if event.new and self._drawn_key != self._key else None,
                         "shown")

    # -- data ------------------------------------------------------------------------------------
    def _tree_data(self) -> dict:
        t = self.table
        pos = dict(zip(t["id"].tolist(), range(len(t))))
        parent_pos = np.array([pos.get(p, -1) for p in t["parent_id"].tolist()], dtype=np.int64)
        has = parent_pos >= 0
        seq, lane = t["seq"].to_numpy(), t["lane"].to_numpy()
        edges = pd.DataFrame({"seq": seq[parent_pos[has]], "lane": lane[parent_pos[has]],
                              "seq_end": seq[has], "lane_end": lane[has]})
        # few, cheap columns: HoloViews computes a range for every one (strings cost most)
        nodes = t[["seq", "lane", "id", "kind"]].copy()
        nodes["size"] = np.where(t["is_edit"], 11, np.where(t["kind"] == "checkpoint", 4, 7))
        head = self.session.workspace.store.head
        return {"nodes": nodes, "edges": edges, "head": nodes[nodes["id"] == head],
                "edits": nodes[t["is_edit"].to_numpy()]}

    def _acc_data(self) -> dict:
        t = self.table
        segs = t[t["val_acc"].notna()]
        return {"head": head_path_curve(t, "val_acc"),
                "other": segs[~segs["on_head"]][["seq", "id", "val_acc"]]}

    def _bias_data(self) -> pd.DataFrame:
        """Headline indicators of the bias reports: the ones that were worst most often."""
        rows = []
        for ev in self.session.workspace.store.events(("bias_report",)):
            for name, d in bias_indicators(ev.metrics).items():
                rows.append({"seq": ev.seq, "id": ev.id, "indicator": name, "value": d["value"],
                             "severity": SEVERITIES[d["severity"]] if d["severity"] >= 0 else "ok"})
        df = pd.DataFrame(rows, columns=["seq", "id", "indicator", "value", "severity"])
        if len(df):
            rank = df.assign(s=df["severity"].map(SEVERITIES.index)).groupby("indicator")["s"].agg(["max", "sum"])
            keep = rank.sort_values(["max", "sum"], ascending=False).index[:HEADLINE_MAX]
            df = df[df["indicator"].isin(keep)]
        return df

    # -- plots -----------------------------------------------------------------------------------
    def plots(self) -> hv.Layout:
        """Accuracy, bias lights and the event tree (clicking an event selects it)."""
        common = dict(responsive=True, show_grid=True, framewise=True, xlabel="event sequence")
        acc = hv.DynamicMap(self._acc_plot, streams=[self._acc_pipe])
        bias = hv.DynamicMap(self._bias_plot, streams=[self._bias_pipe])
        tree = hv.DynamicMap(self._tree_nodes, streams=[self._tree_pipe])
        self._tap = hv.streams.Selection1D(source=tree)
        self._tap.param.watch(self._on_tap, "index")
        edges = hv.DynamicMap(self._tree_edges, streams=[self._tree_pipe])
        head = hv.DynamicMap(self._tree_head, streams=[self._tree_pipe])
        edits = hv.DynamicMap(self._tree_edits, streams=[self._tree_pipe])
        return (acc.opts(hv.opts.Overlay(height=170, title="Validation accuracy (line: current branch)", **common))
                + bias.opts(height=130, title="Bias indicators (headline)", **common)
                + (edges * tree * edits * head).opts(hv.opts.Overlay(height=200, title="Events and branches (lanes)",
                                                             **common))).cols(1)

    def strip(self) -> pn.pane.HTML:
        """A few lines for beside the cloud: validation accuracy and the newest events of the
        current branch, bias reports with their light; kept current by `refresh`."""
        if self._strip is None:
            self._strip = pn.pane.HTML(strip_html(self.table), sizing_mode="stretch_width", margin=(0, 10))
        return self._strip

    def _acc_plot(self, data):
        acc = hv.Dimension("val_acc", label="val accuracy", range=(0, 1))
        head = hv.Curve(data["head"], "seq", acc).opts(color="#0072B2", line_width=2)
        dots = hv.Scatter(data["head"], "seq", acc).opts(color="#0072B2", size=6,
                                                                                  tools=["hover"])
        other = hv.Scatter(data["other"], "seq", acc).opts(color="#999999", size=6,
                                                                                    tools=["hover"])
        return head * dots * other

    def _bias_plot(self, data):
        # a numeric y (one row per indicator, named by its ticks): a plot first drawn empty keeps
        # a numeric axis, which a categorical one could not replace later
        names = list(dict.fromkeys(data["indicator"]))
        rows = data.assign(row=data["indicator"].map({name: k for k, name in enumerate(names)}).astype(float))
        return hv.Scatter(rows, "seq", ["row", "indicator", "value", "severity", "id"]).opts(
            color="severity", cmap=LIGHT_COLOURS, size=10, tools=["hover"], show_legend=False,
            yticks=list(enumerate(names)) or [(0, "")], ylabel="indicator")

    def _tree_nodes(self, data):
        return hv.Points(data["nodes"], ["seq", "lane"], ["id", "kind", "size"]).opts(
            color="kind", cmap=KIND_COLORS, size="size", tools=["hover", "tap"], show_legend=False,
            nonselection_alpha=0.5, yticks=self._lane_ticks(), ylabel="branch")

    def _tree_edits(self, data):  # edits marked: a diamond outline over their dot
        return hv.Points(data["edits"], ["seq", "lane"]).opts(marker="diamond", size=14, fill_alpha=0,
                                                              line_color="#D55E00", line_width=1.5)

    def _tree_edges(self, data):
        # named like the points' axes, so all three plots share one x axis (the sequence)
        return hv.Segments(data["edges"], ["seq", "lane", "seq_end", "lane_end"]).opts(color="#888888",
                                                                                       line_width=1)

    def _tree_head(self, data):
        return hv.Points(data["head"], ["seq", "lane"]).opts(marker="circle", size=18, fill_alpha=0,
                                                             line_color="#D55E00", line_width=2)

    def _lane_ticks(self) -> list:
        lanes = int(self.table["lane"].max()) + 1 if len(self.table) else 1
        return [(0, "current")] + [(k, f"branch {k}") for k in range(1, lanes)]

    def render_plots(self):
        """The plots as a Bokeh model (what a browser is sent): benchmarks and tests."""
        return hv.render(self.plots(), backend="bokeh")

    # -- widgets ---------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        w = pn.widgets
        self.events = w.Tabulator(_empty(TABLE_COLUMNS), pagination="remote", page_size=12, selectable=1,
                                  disabled=True, show_index=False, sizing_mode="stretch_width", height=380,
                                  css_classes=["hill-timeline-events"],
                                  widths={"summary": 420, "ts": 200, "kind": 140})
        self.events.param.watch(self._on_row, "selection")
        self.header = pn.pane.Markdown("Click an event on the timeline or in the table.",
                                       css_classes=["hill-timeline-header"])
        self.event_json = pn.pane.JSON({}, depth=2, sizing_mode="stretch_width", height=220)
        self.bias_view = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.snapshots = pn.pane.HoloViews(None, sizing_mode="stretch_width", height=340)
        self.moved_view = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.note = w.TextAreaInput(placeholder="A note on this event…", height=70, sizing_mode="stretch_width")
        self.annotate_button = w.Button(label="Annotate", color="primary", css_classes=["hill-annotate"])
        self.revert_button = w.Button(label="Revert to this event (new branch)", color="warning",
                                      css_classes=["hill-revert"])
        self.export_json = w.FileDownload(callback=self._history_json, filename="history.json",
                                          label="Export history (JSON)", color="light")
        self.export_netcdf = w.FileDownload(callback=self._review_netcdf, filename="review.nc",
                                            label="Export review data (NetCDF)", color="light")
        self.annotate_button.on_click(lambda event: self.annotate(self.note.value_input or self.note.value))
        self.revert_button.on_click(self._on_revert)
        self._sync_buttons()

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        self._start_polling()
        details = pn.Column(self.header, pn.Row(self.annotate_button, self.revert_button), self.note,
                            pn.Tabs(("Snapshot", pn.Column(self.snapshots, self.moved_view)),
                                    ("Details", self.event_json), ("Bias report", self.bias_view),
                                    dynamic=False, sizing_mode="stretch_width"),
                            sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown("### Timeline", margin=(0, 10)),
            pn.pane.HoloViews(self.plots(), sizing_mode="stretch_width", linked_axes=True),
            pn.Row(self.events, details, sizing_mode="stretch_width"),
            pn.Row(self.export_json, self.export_netcdf),
            sizing_mode="stretch_width", css_classes=["hill-timeline"])

    def _start_polling(self) -> None:
        if self._periodic is not None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return
        self._periodic = page_tick(self.poll, self.poll_ms)

    def stop_polling(self) -> None:
        """Stop the page's periodic refresh (the page closed, or the workspace did)."""
        periodic, self._periodic = self._periodic, None
        if periodic is not None:
            periodic.stop()

    # -- refreshing --------------------------------------------------------------------------------
    def poll(self) -> None:
        """Follow the log (new events, or the head moved): the strip at once, the plots and table
        when a redraw is due; stop once the log is closed."""
        store = self.session.workspace.store
        try:
            if not store.closed:
                now, busy = time.monotonic(), self.session.is_busy
                if ((store.count(), store.head) != self._key
                        and not (busy and now - self._refreshed_at < self.training_refresh_s)):
                    self._read()
                wait = self.training_draw_s if busy else self.draw_every_s
                if self.shown and self._drawn_key != self._key and now - self._drawn_at >= wait:
                    self._draw()
                return
        except sqlite3.ProgrammingError:  # closed by another thread between the check and the read
            pass
        self.stop_polling()

    def refresh(self) -> None:
        """Read the log and redraw now (after the Timeline's own actions)."""
        self._read()
        if self.shown:
            self._draw()

    def _read(self) -> None:
        """The log as a table, and the strip beside the cloud."""
        store = self.session.workspace.store
        self._reverted |= (self._key is not None and store.head != self._key[1]
                           and store.get(store.head).kind == "revert")
        self._key, self._refreshed_at = (store.count(), store.head), time.monotonic()
        self.table = timeline_table(store)
        if self._strip is not None:
            self._strip.object = strip_html(self.table)

    def _draw(self) -> None:
        """Plots and table from `self.table`."""
        reverted, self._reverted = self._reverted, False
        self._drawn_key, self._drawn_at = self._key, time.monotonic()
        with batched():  # three plots and the table: the page's models recomputed once
            self._tree_pipe.send(self._tree_data())
            self._acc_pipe.send(self._acc_data())
            self._bias_pipe.send(self._bias_data())
            rows = self.table[TABLE_COLUMNS].iloc[::-1].reset_index(drop=True)  # newest first
            self.events.value = rows.assign(ts=rows["ts"].str.slice(0, 19).str.replace("T", " "))
            self._sync_buttons()
            if self.selected is not None:  # keep the highlight on the same event
                self.events.selection = rows.index[rows["id"] == self.selected].tolist()
                if reverted:  # "now" is another view (during training the details stay until clicked again)
                    self._show_selected()

    def _sync_buttons(self) -> None:
        none = self.selected is None
        self.annotate_button.disabled = none
        self.revert_button.disabled = none

    # -- selecting ---------------------------------------------------------------------------------
    def _on_tap(self, event) -> None:
        if event.new:
            self.select(int(self._tree_pipe.data["nodes"]["id"].iloc[event.new[0]]))

    def _on_row(self, event) -> None:
        if event.new:
            self.select(int(self.events.value["id"].iloc[event.new[0]]))

    def select(self, event_id: int) -> None:
        self.selected = event_id

    @param.depends("selected", watch=True)
    def _show_selected(self) -> None:
        self._sync_buttons()
        if self.selected is None:
            return
        store = self.session.workspace.store
        ev = store.get(self.selected)
        row = self.table[self.table["id"] == ev.id]
        summary = row["summary"].iloc[0] if len(row) else ev.kind
        where = "on the current branch" if len(row) and bool(row["on_head"].iloc[0]) else "on an earlier branch"
        self.header.object = (f"**Event {ev.id}** · {ev.kind} · seq {ev.seq} · {ev.actor} · {ev.ts[:19]} "
                              f"· {where}<br>{summary}")
        self.event_json.object = _brief(ev.to_dict())
        self.bias_view.object = self._bias_markdown(ev)
        self._show_snapshots(ev.id)

    def _bias_markdown(self, ev) -> str:
        reports = bias_reports_for(self.session.workspace.store, ev)
        if not reports:
            return "No bias report concerns this event."
        parts = []
        for rep in reports:
            lines = [f"**{rep.params.get('phase', '?')}** report (event {rep.id}), edits "
                     f"{', '.join(f'#{i}' for i in rep.params.get('edit_ids', []))}", "",
                     "| indicator | value | baseline | delta | severity |", "|---|---|---|---|---|"]
            for name, d in bias_indicators(rep.metrics).items():
                sev = SEVERITIES[d["severity"]] if d["severity"] >= 0 else "-"
                lines.append(f"| {name} | {d['value']:.3g} | {d['baseline']:.3g} | {d['delta']:+.3g} | {sev} |")
            parts.append("\n".join(lines))
        return "\n\n".join(parts)

    # -- snapshots: the view then and now ------------------------------------------------------------
    def snapshot_pair(self, event_id: int) -> tuple[pd.DataFrame, pd.DataFrame, str] | None:
        """(then, now, caption): the event's latent snapshot and the current view, same samples."""
        ws = self.session.workspace
        at = snapshot_event(ws.store, event_id)
        if at is None:
            return None
        then = read_snapshot(ws, at.artifact("snapshot")["path"])
        frame = self.session.frame
        if frame is not None:  # paired by id below, so a subset or another size still lines up
            rows = snapshot_rows(len(frame.df))
            now = frame.df[["id", "x", "y", "label", "pred"]].iloc[rows]
        else:  # no live frame: the newest snapshot on the current branch
            head = snapshot_event(ws.store, ws.store.head)
            now = read_snapshot(ws, head.artifact("snapshot")["path"]) if head else then
        caption = f"left: the view at event {at.id} ({at.kind}); right: now"
        if self._projection_at(at.id) != (None if self.session.projection is None else
                                          self.session.projection.sha256):
            caption += " (the view projection was refit in between: positions are in different views)"
        return then, now, caption

    def _projection_at(self, event_id: int) -> str | None:
        """SHA-256 of the projection in force at the event (older events: of their inline map)."""
        for ev in reversed(self.session.workspace.store.path_to(event_id)):
            if ev.kind == "projection_fitted":
                if "sha256" in ev.params:
                    return ev.params["sha256"]
                canonical = json.dumps(ev.params.get("projection"), sort_keys=True, separators=(",", ":"))
                return hashlib.sha256(canonical.encode()).hexdigest()
        return None

    def _show_snapshots(self, event_id: int) -> None:
        pair = self.snapshot_pair(event_id)
        if pair is None:
            self.snapshots.object = None
            self.moved_view.object = "No latent snapshot before this event (the model was not built yet)."
            return
        then, now, caption = pair
        a, b = paired_points(then, now, self.max_points)
        moved = moved_by_class(then, now)
        opts = dict(color="label", cmap="Category10", size=3, responsive=True, height=320, show_legend=False,
                    tools=["hover"], xlabel="x", ylabel="y")
        a = a.assign(label=a["label"].astype(str))
        b = b.assign(label=b["label"].astype(str))
        arrows = hv.Segments(moved, ["x0", "y0", "x1", "y1"]).opts(color="black", line_width=2)
        ends = hv.Points(moved, ["x1", "y1"], ["label", "centroid_shift"]).opts(color="black", size=7)
        self.snapshots.object = (hv.Points(a, ["x", "y"], ["label", "id"]).opts(title="then", **opts)
                                 + (hv.Points(b, ["x", "y"], ["label", "id"]).opts(title="now", **opts)
                                    * arrows * ends)).opts(shared_axes=True)
        biggest = moved.sort_values("centroid_shift", ascending=False).head(3)
        lines = ", ".join(f"class {r.label} moved {r.centroid_shift:.3g}" for r in biggest.itertuples())
        self.moved_view.object = f"{caption}. Arrows: class centroids then → now. Most moved: {lines or 'none'}."

    # -- actions -------------------------------------------------------------------------------------
    async def _on_revert(self, event=None) -> None:
        await self.revert()

    async def revert(self, event_id: int | None = None) -> bool:
        """Revert the Session to the selected event (or `event_id`); the next action branches.

        Off the event loop: restoring loads a checkpoint and rebuilds the latent frame.
        """
        target = self.selected if event_id is None else event_id
        if target is None:
            self.report("select an event on the timeline first")
            return False
        event = await self.run(self.session.revert, target)
        if event is FAILED:
            return False
        self.actions.notify(f"reverted to event {target}: the next action starts a new branch", "success")
        self.refresh()
        return True

    def annotate(self, text: str, event_id: int | None = None) -> bool:
        target = self.selected if event_id is None else event_id
        if target is None:
            self.report("select an event on the timeline first")
            return False
        if self.actions.call(self.session.annotate, target, text) is FAILED:
            return False
        self.note.param.update(value="", value_input="")
        self.actions.notify(f"note added to event {target}", "success")
        self.refresh()
        return True

    def _history_json(self) -> io.BytesIO:
        doc = self.session.workspace.export_history()
        return io.BytesIO(json.dumps(doc, indent=1, allow_nan=True).encode())

    def _review_netcdf(self) -> io.BytesIO:
        with tempfile.TemporaryDirectory() as tmp:
            path = export_review(self.session.workspace.store, Path(tmp) / "review.nc")
            return io.BytesIO(path.read_bytes())


def _brief(obj, limit: int = 20):
    """The event as JSON with long id lists shortened, for the details pane."""
    if isinstance(obj, dict):
        return {k: _brief(v, limit) for k, v in obj.items()}
    if isinstance(obj, list):
        if len(obj) > limit:
            return f"[{len(obj)} values: {', '.join(map(str, obj[:5]))}, …]"
        return [_brief(v, limit) for v in obj]
    return obj

"""BiasPanel: a traffic-light row of bias indicators per edit, details on click.

The edits still pending share one row with their *predicted* report, recomputed in a
worker thread whenever the pending edits change (`session.pending`), so the person
can reconsider before applying; the page never waits for it. Each application of edits
on the current branch gets a row with its *measured* report once its training is done
(its predicted one until then). One light per indicator family (skew, conflict, class,
fairness, leakage, gap, distortion): green ok, amber warn, red alert; selection skew is
grey, context (what the edit selects), never a warning. Under the pending edits' lights,
what they warn about: the indicator, the group, the numbers before and after, and what
to try instead.
"""
from __future__ import annotations

import html
import logging
import sqlite3
import threading

import panel as pn
import param

from hill_viz.core.bias import BiasReport
from hill_viz.core.bias_records import applications
from hill_viz.core.indicator import CONTEXT_FAMILIES
from hill_viz.errors import HillError
from hill_viz.ui.component import SessionComponent

__all__ = ["BiasPanel", "LIGHT_COLOURS", "edit_list"]

log = logging.getLogger(__name__)
LIGHT_COLOURS = {"ok": "#009E73", "warn": "#E69F00", "alert": "#D55E00"}  # Okabe-Ito: green, amber, red
CONTEXT_COLOUR = "#999999"  # grey: what the edit selects, shown as context, never a warning
FAMILY_TITLES = {
    "skew": "selection skew", "conflict": "label conflict", "class": "per-class accuracy",
    "fairness": "group fairness", "leakage": "attribute leakage", "gap": "generalization gap",
    "distortion": "collateral distortion",
}
PENDING = "pending"


class BiasPanel(SessionComponent):
    """Bias indicators beside the edit list, for one Session."""

    selected = param.String(default="", doc="Key of the row whose details are shown ('' none, 'pending', "
                                            "or an edits_applied event id)")
    pending_report = param.ClassSelector(class_=BiasReport, default=None, allow_None=True,
                                         doc="Predicted report of the pending edits, once computed")
    computing = param.Boolean(default=False, doc="A prediction is running in the worker thread")
    message = param.String(default="", doc="Why the last prediction is missing, if it failed")

    def __init__(self, **params):
        super().__init__(**params)
        self.rows = pn.Column(sizing_mode="stretch_width", css_classes=["hill-bias-rows"])
        self.details = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["hill-bias-details"])
        # the pending edits' lights alone, for a place beside the edit list (the app puts it there)
        self.summary = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10), css_classes=["hill-bias-summary"])
        self._lock = threading.RLock()
        self._render_lock = threading.RLock()
        self._wanted = None          # the Session's pending list the prediction should match
        self._done = None            # the pending list pending_report was made for
        self._running = False        # a worker is computing (it rechecks _wanted before it stops)
        self._idle = threading.Event()
        self._idle.set()
        self._signature = None       # what the rows show, to skip identical rebuilds
        self._watch = self.watch(("pending", "head"), self._session_changed)
        self.watch(("pending_report", "computing", "message", "selected"),
                   lambda names: self.render(), source=self)  # rows rebuilt only if what they show changed
        self.render(force=True)
        self.schedule_prediction()

    def __panel__(self) -> pn.viewable.Viewable:
        legend = "lights, in order: " + " ".join(f"{_dot('', t)}{t}" for t in FAMILY_TITLES.values())
        return pn.Column(
            pn.pane.Markdown("### Bias indicators", margin=(0, 10)),
            pn.pane.HTML(f"<small>{legend}</small>", margin=(0, 10)),
            self.rows,
            self.details,
            sizing_mode="stretch_width",
        )

    # -- predictions, off the event loop -----------------------------------------------------------
    def schedule_prediction(self) -> None:
        """(Re)compute the pending edits' predicted report in a worker thread; returns at once."""
        with self._lock:
            self._wanted = self.session.pending
            if self._running:
                return  # the running worker sees the new version before it stops
            self._running = True
            self._idle.clear()
            self.computing = True
        threading.Thread(target=self._predict_loop, name="hill-bias-predict", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no prediction is running (tests); False on timeout."""
        return self._idle.wait(timeout)

    def _predict_loop(self) -> None:
        while True:
            with self._lock:
                wanted = self._wanted
            report, message = self._predict(wanted)
            with self._lock:  # deciding to stop and publishing are one step: no request is lost
                if wanted is not self._wanted:
                    continue
                self._done, self._running = wanted, False
                try:
                    # one at a time, not param.update: a batch on this thread and one on the
                    # page's could leave the panel batching for good
                    self.message, self.pending_report, self.computing = message, report, False
                finally:
                    self._idle.set()
                return

    def _predict(self, pending: list) -> tuple[BiasReport | None, str]:
        if not pending or self.session.frame is None:
            return None, ""
        try:
            return self.session.predict_bias(), ""
        except HillError as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed prediction must not break the page
            log.exception("bias prediction failed")
            return None, f"internal error ({type(exc).__name__}: {exc})"

    def _session_changed(self, names: set[str]) -> None:
        if "pending" in names:
            self.schedule_prediction()
        try:
            self.render()
        except sqlite3.ProgrammingError:  # the workspace was closed: the page is going away
            self._watch.stop()

    # -- rows ------------------------------------------------------------------------------------------
    def entries(self) -> list[tuple[str, str, BiasReport | None, str]]:
        """(key, label, report, note) per row: the pending edits first, then the applied ones, newest first."""
        out = []
        pending = list(self.session.pending)
        if pending:
            ids = edit_list([p.edit_id for p in pending])
            report = self.pending_report if self._done is self.session.pending else None
            note = "" if report is not None else ("computing…" if self.computing else self.message or "no prediction")
            out.append((PENDING, f"pending {ids} · predicted", report, note))
        for app in reversed(applications(self.session.workspace)):
            ids = edit_list(app.edit_ids)
            phase = "measured" if "measured" in app.reports else "predicted"
            note = "" if app.reports else "no report recorded"
            if phase == "predicted" and app.reports and app.segment is None:
                note = "training…"
            out.append((str(app.event.id), f"applied {ids} · {phase}", app.reports.get(phase), note))
        return out

    def render(self, force: bool = False) -> None:
        # one render at a time: without a page, the worker's render and the caller's can overlap,
        # and the one that read the state first must not be the one that writes last
        with self._render_lock:
            entries = self.entries()
            signature = [(k, label, None if r is None else (r.phase, r.severity, r.seconds), note)
                         for k, label, r, note in entries]
            if force or signature != self._signature:
                self._signature = signature
                self.rows.objects = [self._row(*e) for e in entries] or [
                    pn.pane.Markdown("*No edits yet: make an edit to see its predicted bias.*", margin=(0, 10))]
            self.details.object = self._details_text(entries)
            self.summary.object = self._summary_text(entries)

    def _row(self, key: str, label: str, report: BiasReport | None, note: str) -> pn.Row:
        lights = _lights(report, note)
        button = pn.widgets.Button(label="details", width=80, color="light", disabled=report is None,
                                   css_classes=["hill-bias-details-button"])
        button.on_click(lambda event, key=key: self.select(key))
        text = pn.pane.HTML(f"<span class='hill-bias-row' data-key='{key}'>{html.escape(label)}&nbsp; {lights}</span>",
                            sizing_mode="stretch_width", margin=(5, 10))
        return pn.Row(text, button, sizing_mode="stretch_width")

    @staticmethod
    def _summary_text(entries) -> str:
        if not entries or entries[0][0] != PENDING:
            return ""
        _, _, report, note = entries[0]
        return (f"<small>Predicted bias of the pending edits (details: Bias tab)</small><br>{_lights(report, note)}"
                f"{_warnings(report)}")

    def select(self, key: str) -> None:
        """Show the details of a row (clicking again hides them)."""
        self.selected = "" if self.selected == key else key

    def _details_text(self, entries) -> str:
        chosen = next((e for e in entries if e[0] == self.selected), None)
        if chosen is None or chosen[2] is None:
            return ""
        _, label, report, _ = chosen
        lines = [f"**{html.escape(label)}**: {report.severity.upper()} "
                 f"({report.sizes.get('n_covered', '?')} samples covered, computed in {report.seconds:.2f} s)", "",
                 *[f"- {_dot(i.severity, i.severity)} **{html.escape(i.key)}** ({i.severity}): {_cell(i.explanation)}"
                   for i in _flagged(report)], "",
                 f"| indicator | value | {_baseline_word(report)} | change | severity | what it says |",
                 "|---|---:|---:|---:|---|---|"]
        for ind in report.indicators:
            severity = "context" if ind.context else ind.severity
            lines.append(f"| {ind.key} | {_num(ind.value)} | {_num(ind.baseline)} | {_num(ind.delta, True)} | "
                         f"{_dot(severity, severity)} {severity} | {_cell(ind.explanation)} |")
        return "\n".join(lines)


def _baseline_word(report: BiasReport) -> str:
    """What a report's baseline is: the model before the edit, or (measured) the control without it."""
    return "without the edit" if report.sizes.get("baseline") == "control" else "before"


def edit_list(ids, most: int = 6) -> str:
    """'#1, #2, #3', or '#1, #2, … #90 (90 edits)' for long lists."""
    ids = list(ids)
    if len(ids) <= most:
        return ", ".join(f"#{i}" for i in ids)
    return f"#{ids[0]}, #{ids[1]}, … #{ids[-1]} ({len(ids)} edits)"


def _lights(report: BiasReport | None, note: str) -> str:
    """One light per indicator family and the overall word; the note alone while there is no report."""
    if report is None:
        return f"<i>{html.escape(note)}</i>"
    lights = " ".join(_dot("context", f"{FAMILY_TITLES.get(f, f)}: context (what the edit selects; not graded)")
                      if f in CONTEXT_FAMILIES else _dot(sev, f"{FAMILY_TITLES.get(f, f)}: {sev}")
                      for f, sev in report.families().items())
    lights += f" <b style='color:{LIGHT_COLOURS[report.severity]}'>{report.severity.upper()}</b>"
    return lights + (f" <i>{html.escape(note)}</i>" if note else "")


def _flagged(report: BiasReport) -> list:
    """The indicators that warn or alert, alerts first."""
    return sorted((i for i in report.indicators if i.severity != "ok"), key=lambda i: i.severity != "alert")


def _warnings(report: BiasReport | None, most: int = 3) -> str:
    """What the lights warn about, in words a person can act on: indicator, group, numbers, advice."""
    if report is None:
        return ""
    items = [f"<li class='hill-bias-warning'><b style='color:{LIGHT_COLOURS[i.severity]}'>{i.severity}</b> "
             f"<b>{html.escape(i.key)}</b>: {html.escape(i.explanation)}</li>" for i in _flagged(report)[:most]]
    return f"<ul style='margin:2px 0;padding-left:16px'><small>{''.join(items)}</small></ul>" if items else ""


def _dot(severity: str, title: str) -> str:
    colour = LIGHT_COLOURS.get(severity, CONTEXT_COLOUR)
    return (f"<span class='hill-light hill-light-{severity}' title='{html.escape(title, quote=True)}' "
            f"style='display:inline-block;width:12px;height:12px;border-radius:6px;margin:0 2px;"
            f"background:{colour}'></span>")


def _num(v, signed: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _cell(text: str) -> str:
    return html.escape(text).replace("|", "\\|")

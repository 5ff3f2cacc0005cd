"""ReviewPage: a workspace opened read-only to review what its edits did.

Per edit (a table of them all): the view it was drawn on with its points ringed, beside
the view now, in the same colours and scales; its predicted and measured bias reports;
whether it was applied; the review comments on it, and a box to add one (recorded as an
`annotation` event with the reviewer as actor: the only thing a review writes). The
verify status of the log and the whole timeline sit beside it, and the review downloads
as one self-contained HTML file. Read-only is the Session's: a mutating call raises.
"""
from __future__ import annotations

import io

import pandas as pd
import panel as pn
import param

from hill_viz.core.edit_review import (EditReview, edit_reviews, head_snapshot, shared_bounds, snapshot_of,
                                       snapshot_png)
from hill_viz.core.review import SEVERITIES
from hill_viz.core.review_report import review_html
from hill_viz.ui.component import FAILED, SessionComponent
from hill_viz.ui.timeline import Timeline

__all__ = ["ReviewPage"]

EDIT_COLUMNS = ["edit", "what", "points", "status", "predicted", "measured", "comments"]
IMAGE_PX = 380


class ReviewPage(SessionComponent):
    """Review of one workspace (a read-only Session): edits, snapshots, bias, comments, timeline."""

    edit_id = param.Integer(default=None, allow_None=True, doc="The edit shown")
    release = param.Callable(default=None, doc="Called with the Session when the page ends (e.g. "
                             "OpenWorkspaces.release); None: close the workspace")

    def __init__(self, **params):
        super().__init__(**params)
        self.reviews: list[EditReview] = []
        self.edits = pn.widgets.Tabulator(pd.DataFrame(columns=EDIT_COLUMNS), show_index=False, disabled=True,
                                          selectable=1, sizing_mode="stretch_width", height=260,
                                          css_classes=["hill-review-edits"])
        self.edits.param.watch(self._on_row, "selection")
        self.then_image = pn.pane.PNG(None, width=IMAGE_PX, height=IMAGE_PX, css_classes=["hill-review-then"])
        self.now_image = pn.pane.PNG(None, width=IMAGE_PX, height=IMAGE_PX, css_classes=["hill-review-now"])
        self.caption = pn.pane.Markdown("Pick an edit in the table.", css_classes=["hill-review-caption"])
        self.bias = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["hill-review-bias"])
        self.comments = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["hill-review-comments"])
        self.note = pn.widgets.TextAreaInput(placeholder="A review comment on this edit…", height=70,
                                             sizing_mode="stretch_width", css_classes=["hill-review-note"])
        self.comment_button = pn.widgets.Button(label="Add review comment", color="primary",
                                                css_classes=["hill-review-comment"], disabled=True)
        self.comment_button.on_click(lambda event: self.comment(self.note.value_input or self.note.value))
        self.verify_status = pn.pane.Markdown("", css_classes=["hill-review-verify"])
        self.verify_button = pn.widgets.Button(label="Verify the log", width=140)
        self.verify_button.on_click(lambda event: self.verify())
        self.report = pn.widgets.FileDownload(callback=self._report, filename="review.html",
                                              label="Download review (HTML)", color="light")
        self.timeline = Timeline(session=self.session, actions=self.actions)
        self.timeline.revert_button.visible = False  # reviewing never moves the head
        self.refresh()

    # -- data ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the edits again (after a comment, or new events)."""
        self.reviews = edit_reviews(self.session.workspace)
        rows = [{"edit": f"#{r.edit_id}", "what": r.description, "points": len(r.ids),
                 "status": r.status + ("" if r.on_head else " (earlier branch)"),
                 "predicted": _sev(r.severity("predicted")), "measured": _sev(r.severity("measured")),
                 "comments": len(r.comments)} for r in self.reviews]
        self.edits.value = pd.DataFrame(rows, columns=EDIT_COLUMNS)
        if self.edit_id is None and self.reviews:
            self.edit_id = self.reviews[-1].edit_id
        elif self.edit_id is not None:
            self._show()

    def review(self, edit_id: int) -> EditReview:
        return next(r for r in self.reviews if r.edit_id == edit_id)

    def _on_row(self, event) -> None:
        if event.new:
            self.edit_id = self.reviews[event.new[0]].edit_id

    @param.depends("edit_id", watch=True)
    def _show(self) -> None:
        self.comment_button.disabled = self.edit_id is None
        if self.edit_id is None:
            return
        r = self.review(self.edit_id)
        ws = self.session.workspace
        now_event, now = head_snapshot(ws)
        then = snapshot_of(ws, r.snapshot_event)
        if then is None or now is None:
            self.then_image.object = self.now_image.object = None
            self.caption.object = f"Edit #{r.edit_id}: no latent snapshot was recorded before it."
        else:
            bounds, n = shared_bounds(then, now), int(now["label"].max()) + 1
            self.then_image.object = snapshot_png(then, bounds, r.ids, n, size=IMAGE_PX)
            self.now_image.object = snapshot_png(now, bounds, r.ids, n, size=IMAGE_PX)
            self.caption.object = (f"**Edit #{r.edit_id}**: {r.description} ({len(r.ids)} points, ringed). "
                                   f"Left: the view it was drawn on (event {r.snapshot_event}); right: now "
                                   f"(event {now_event}). Same colours and scales.")
        self.bias.object = _bias_markdown(r)
        self.comments.object = ("\n\n".join(f"**{c.actor}** ({c.ts[:16].replace('T', ' ')}): {c.params.get('text', '')}"
                                            for c in r.comments) or "No review comments yet.")
        self.timeline.select(r.event_id)

    # -- actions ---------------------------------------------------------------------------------
    def comment(self, text: str) -> bool:
        """Record a review comment on the shown edit (an annotation of its latest event)."""
        if self.edit_id is None:
            self.report("pick an edit first")
            return False
        if self.actions.call(self.session.annotate, self.review(self.edit_id).event_id, text) is FAILED:
            return False
        self.note.param.update(value="", value_input="")
        self.actions.notify(f"review comment recorded on edit #{self.edit_id}", "success")
        self.refresh()
        self.timeline.refresh()
        return True

    def verify(self) -> None:
        report = self.actions.call(self.session.workspace.verify)
        if report is FAILED:
            return
        self.verify_status.object = ("✅ **Verified**: the log and every file match their hashes." if report.ok else
                                     f"❌ **Verify failed**: {report.first_bad}")

    def close(self) -> None:
        """The page ended: let go of the Session (idempotent)."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if self.release is not None:
            self.release(self.session)
        else:
            self.session.workspace.close()

    def _report(self) -> io.BytesIO:
        return io.BytesIO(review_html(self.session.workspace).encode())

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        ws = self.session.workspace
        title = ws.title or ws.path.name
        banner = pn.pane.Alert(f"**Review of {title}** (owner {ws.owner or '?'}): read-only, "
                               f"{self.session.read_only_reason}. Comments are recorded as yours "
                               f"({self.session.actor or 'you'}); nothing else changes.", alert_type="info",
                               css_classes=["hill-read-only"], sizing_mode="stretch_width")
        edit_view = pn.Column(self.caption, pn.Row(self.then_image, self.now_image),
                              css_classes=["hill-review-snapshots"])
        side = pn.Column(pn.Row(self.verify_button, self.report), self.verify_status, self.bias,
                         pn.pane.Markdown("#### Review comments"), self.comments, self.note, self.comment_button,
                         sizing_mode="stretch_width")
        return pn.Column(banner, self.edits, pn.Row(edit_view, side, sizing_mode="stretch_width"),
                         self.timeline, sizing_mode="stretch_width", css_classes=["hill-review"])


def _sev(code: int) -> str:
    return SEVERITIES[code] if code >= 0 else "-"


def _bias_markdown(r: EditReview) -> str:
    parts = []
    for phase in ("predicted", "measured"):
        indicators = r.indicators(phase)
        if not indicators:
            parts.append(f"**{phase}**: no report")
            continue
        lines = [f"**{phase}** bias report: {_sev(r.severity(phase))}", "",
                 "| indicator | value | baseline | delta | severity |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {d['value']:.3g} | {d['baseline']:.3g} | {d['delta']:+.3g} | {_sev(d['severity'])} |"
                  for name, d in indicators.items()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)

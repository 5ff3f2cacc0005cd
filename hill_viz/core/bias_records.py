"""Bias reports in a workspace: the ones recorded, and the ones that can still be computed.

Every `apply_edits` on a branch is an `Application`: its `edits_applied` event, the
`bias_report` events about the same edits that follow it (predicted, then measured after
its training segment), and that `training_segment`. A report that was not recorded (the
session ran with `auto_bias` off, or stopped before the report) can be computed from the
log and its artifacts: the state just before the `edits_applied` event (model checkpoint,
projection, the pending edits) and the state after its training segment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hill_viz.core import replay
from hill_viz.core.bias import BiasConfig, BiasReport
from hill_viz.core.bias_job import EditBiasJob
from hill_viz.core.provenance import Event, Workspace
from hill_viz.errors import StateError, WorkspaceError

__all__ = ["Application", "applications", "compute_missing", "pending_report"]


@dataclass
class Application:
    """One application of edits on the current branch, with its bias reports."""

    event: Event                                    # the edits_applied event
    segment: Event | None = None                    # the training segment that followed it
    reports: dict[str, BiasReport] = field(default_factory=dict)   # phase -> report
    report_events: dict[str, int] = field(default_factory=dict)    # phase -> bias_report event id
    computed: set[str] = field(default_factory=set)                # phases computed now, not recorded

    @property
    def edit_ids(self) -> list[int]:
        return [int(i) for i in self.event.params.get("edit_ids", [])]

    def to_dict(self) -> dict:
        return {"event_id": self.event.id, "edit_ids": self.edit_ids,
                "segment_event_id": None if self.segment is None else self.segment.id,
                "reports": {phase: {**r.to_dict(), "event_id": self.report_events.get(phase),
                                    "recorded": phase not in self.computed}
                            for phase, r in self.reports.items()}}


def applications(workspace: Workspace, edit_id: int | None = None) -> list[Application]:
    """The applications of edits on the branch from the root to the head, oldest first."""
    out: list[Application] = []
    for ev in workspace.store.path_to():
        if ev.kind == "edits_applied":
            out.append(Application(ev))
        elif out and ev.kind == "training_segment" and out[-1].segment is None:
            out[-1].segment = ev
        elif out and ev.kind == "bias_report":
            app = next((a for a in reversed(out) if a.edit_ids == list(ev.params.get("edit_ids", []))), None)
            phase = ev.params.get("phase")
            if app is not None and phase:
                app.reports[phase] = BiasReport.from_dict({**ev.metrics, **ev.params})
                app.report_events[phase] = ev.id
    if edit_id is not None:
        out = [a for a in out if edit_id in a.edit_ids]
    return out


def compute_missing(workspace: Workspace, app: Application, config: BiasConfig = BiasConfig()) -> Application:
    """Compute the phases `app` has no recorded report for, from the log and its artifacts.

    The measured one compares with a control trained from the checkpoint before the edits,
    with the teachers in force then, for the segment's epochs (as the live session does).

    Nothing is recorded: the reports are marked as computed. WorkspaceError if an
    artifact is missing; a measured report needs the training segment to have finished.
    """
    missing = [p for p in ("predicted", "measured") if p not in app.reports]
    if not missing or (missing == ["measured"] and app.segment is None):
        return app
    if app.event.parent_id is None:
        raise WorkspaceError(f"edits_applied event {app.event.id} has no parent; the log is damaged")
    before = replay.restore(workspace, replay.state_at(workspace, app.event.parent_id))
    if before.model is None or before.projection is None or not before.pending:
        raise WorkspaceError(f"the state before event {app.event.id} has no model, view or edits to check")
    edits = [res for i, res in before.pending if i in app.edit_ids]
    job = EditBiasJob.capture(edits, app.edit_ids, before.model, before.dataset, before.projection, config=config,
                              trainer=before.trainer, teachers=before.teachers)
    if "predicted" in missing:
        app.reports["predicted"] = job.predict()
        app.computed.add("predicted")
    if "measured" in missing and app.segment is not None:
        after = replay.restore(workspace, replay.state_at(workspace, app.segment.id), dataset=before.dataset)
        control = job.train_control(int(app.segment.params.get("epochs", 0)))
        app.reports["measured"] = job.measure(after.model, control)
        app.computed.add("measured")
    return app


def pending_report(workspace: Workspace, config: BiasConfig = BiasConfig()) -> BiasReport | None:
    """The predicted report of the edits pending at the head (None when there are none)."""
    state = replay.state_at(workspace)
    if not state.pending:
        return None
    now = replay.restore(workspace, state)
    if now.model is None or now.projection is None:
        raise StateError("the workspace has pending edits but no model or view to check them on")
    ids, edits = zip(*now.pending)
    return EditBiasJob(edits, ids, now.model, now.dataset, now.projection, config=config).predict()

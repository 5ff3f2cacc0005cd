"""The Session's bias reports: of the edits still pending, and around each application of edits.

`predict_pending` is the predicted report of edits not applied yet (the UI's lights).
`RecordedBiasJob` belongs to one `apply_edits`: it holds what the reports need from when
the edits are applied (the edits, the view they were drawn on, the projection), makes and
records the predicted report in the training worker before training starts, and the
measured one after the segment, both through the core `EditBiasJob`. The measured report
compares with a control: the same epochs trained from the same state and with the
teachers already in force, without these edits (one more segment's training, in the
worker after the segment; `BiasConfig(control=False)` skips it). A report that fails
never stops the training it describes: the failure is reported and the training and its
records go on.
"""
from __future__ import annotations

import logging
from typing import Callable

from hill_viz.core.bias import BiasConfig, BiasReport
from hill_viz.core.bias_job import EditBiasJob
from hill_viz.core.data import Dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel
from hill_viz.core.projection import Projection
from hill_viz.core.provenance import Event, EventStore
from hill_viz.core.teacher import Teacher
from hill_viz.core.training import Trainer
from hill_viz.errors import HillError
from hill_viz.session.pending import PendingEdit
from hill_viz.session.recording import Recorder

__all__ = ["RecordedBiasJob", "predict_pending", "recorded_reports"]

log = logging.getLogger(__name__)


def predict_pending(pending: list[PendingEdit], dataset: Dataset, model: LatentModel, projection: Projection,
                    frame: LatentFrame, config: BiasConfig) -> BiasReport:
    """Predicted report of `pending` on a copy of `model` (training may go on meanwhile)."""
    return EditBiasJob.capture([p.resolved for p in pending], [p.edit_id for p in pending], model, dataset,
                               projection, frame, config).predict()


def recorded_reports(store: EventStore, edit_id: int | None = None) -> list[BiasReport]:
    """The bias reports recorded on the current branch, oldest first (those about `edit_id`)."""
    out = []
    for ev in store.path_to():
        if ev.kind == "bias_report" and (edit_id is None or edit_id in ev.params.get("edit_ids", ())):
            out.append(BiasReport.from_dict({**ev.metrics, **ev.params}))
    return out


class RecordedBiasJob:
    """The predicted and measured bias reports of one application of edits, recorded as events."""

    def __init__(self, pending: list[PendingEdit], frame: LatentFrame, projection: Projection, config: BiasConfig,
                 recorder: Recorder, report_error: Callable[[str], None], teachers: list[Teacher] = ()):
        self.edits = [p.resolved for p in pending]
        self.teachers = list(teachers)            # the teachers in force besides these edits' (for the control)
        self.edit_ids = [p.edit_id for p in pending]
        self.frame = frame                        # the view the edits were drawn on
        self.projection = projection
        self.config = config
        self._recorder = recorder
        self._report_error = report_error
        self.job: EditBiasJob | None = None       # set once the predicted report is made

    def predict(self, model: LatentModel, dataset: Dataset, trainer: Trainer | None = None) -> Event | None:
        """Make and record the predicted report (before training; `trainer`'s state then is
        where the control starts); None if it failed."""
        try:
            self.job = EditBiasJob.capture(self.edits, self.edit_ids, model, dataset, self.projection, self.frame,
                                           self.config, trainer, self.teachers)
            return self._record(self.job.predict())
        except Exception as exc:  # a report must never stop the training it describes
            self.job = None
            self._failed(exc)
            return None

    def measure(self, model: LatentModel, dataset: Dataset, epochs_done: int) -> Event | None:
        """Make and record the measured report (after training); None if there is nothing to measure."""
        if self.job is None or epochs_done == 0:
            return None
        try:
            control = self.job.train_control(epochs_done)
            return self._record(self.job.measure(model, control), {"epochs": epochs_done})
        except Exception as exc:
            self._failed(exc)
            return None

    def _record(self, report: BiasReport, extra: dict | None = None) -> Event:
        return self._recorder.record("bias_report", {"phase": report.phase, "edit_ids": list(report.edit_ids),
                                                     **(extra or {})}, report.metrics())

    def _failed(self, exc: Exception) -> None:
        if not isinstance(exc, HillError):
            log.exception("bias report failed")
        self._report_error(f"bias report not made ({exc}); the training and its records are unaffected")

"""The Session's bias reports: of the edits still pending, and around each application of edits.

`predict_pending` is the predicted report of edits not applied yet (the UI's lights).
`EditBiasJob` belongs to one `apply_edits`: it captures what the reports need when the
edits are applied (the edits, the view they were drawn on, the projection), makes and
records the predicted report in the training worker before training starts, and the
measured one after the segment. A report that fails never stops the training it
describes: the failure is reported and the training and its records go on.

This is the one module of the Session that calls `hill_viz.core.bias` (EditTargets,
predict_report, measure_report).
"""
from __future__ import annotations

import copy
import logging
from typing import Callable

import numpy as np

from hill_viz.core.bias import BiasConfig, BiasReport, EditTargets, measure_report, predict_report
from hill_viz.core.data import Dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel
from hill_viz.core.projection import Projection
from hill_viz.core.provenance import Event, EventStore
from hill_viz.errors import HillError
from hill_viz.session.pending import PendingEdit
from hill_viz.session.recording import Recorder

__all__ = ["EditBiasJob", "predict_pending", "recorded_reports"]

log = logging.getLogger(__name__)


def _view(frame: LatentFrame) -> np.ndarray:
    return np.c_[frame.column("x"), frame.column("y")]  # (N, 2): where the edits were drawn


def predict_pending(pending: list[PendingEdit], dataset: Dataset, model: LatentModel, projection: Projection,
                    frame: LatentFrame, config: BiasConfig) -> BiasReport:
    """Predicted report of `pending` on a copy of `model` (training may go on meanwhile)."""
    model = copy.deepcopy(model)
    targets = EditTargets.from_edits([p.resolved for p in pending], dataset, model, projection, _view(frame),
                                     seed=config.seed)
    return predict_report(model, dataset, projection, targets, [p.edit_id for p in pending], config)


def recorded_reports(store: EventStore, edit_id: int | None = None) -> list[BiasReport]:
    """The bias reports recorded on the current branch, oldest first (those about `edit_id`)."""
    out = []
    for ev in store.path_to():
        if ev.kind == "bias_report" and (edit_id is None or edit_id in ev.params.get("edit_ids", ())):
            out.append(BiasReport.from_dict({**ev.metrics, **ev.params}))
    return out


class EditBiasJob:
    """The predicted and measured bias reports of one application of edits."""

    def __init__(self, pending: list[PendingEdit], frame: LatentFrame, projection: Projection, config: BiasConfig,
                 recorder: Recorder, report_error: Callable[[str], None]):
        self.edits = [p.resolved for p in pending]
        self.edit_ids = [p.edit_id for p in pending]
        self.view = _view(frame)
        self.projection = projection
        self.config = config
        self._recorder = recorder
        self._report_error = report_error
        self.before: LatentModel | None = None   # the model as the edits found it
        self.targets: EditTargets | None = None  # set once the predicted report is made

    def predict(self, model: LatentModel, dataset: Dataset) -> Event | None:
        """Make and record the predicted report (before training); None if it failed."""
        try:
            self.before = copy.deepcopy(model)
            self.targets = EditTargets.from_edits(self.edits, dataset, self.before, self.projection, self.view,
                                                  seed=self.config.seed)
            report = predict_report(self.before, dataset, self.projection, self.targets, self.edit_ids, self.config)
            return self._record(report)
        except Exception as exc:  # a report must never stop the training it describes
            self.targets = None
            self._failed(exc)
            return None

    def measure(self, model: LatentModel, dataset: Dataset, epochs_done: int) -> Event | None:
        """Make and record the measured report (after training); None if there is nothing to measure."""
        if self.targets is None or epochs_done == 0:
            return None
        try:
            report = measure_report(self.before, model, dataset, self.projection, self.targets, self.edit_ids,
                                    self.config)
            return self._record(report, {"epochs": epochs_done})
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

"""EditBiasJob: the bias reports of edits applied together, from one captured state.

Captured before the edits' training starts (the edits, their ids, a copy of the model,
the dataset, the projection and the view they were made on), a job predicts its report
at once and measures it against the model after training. The Session (live) and
`bias_records` (from a workspace's log) both go through it.
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from hill_viz.core.bias import BiasConfig, BiasReport, measure_report, predict_report
from hill_viz.core.data import Dataset
from hill_viz.core.edits import ResolvedEdit
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel
from hill_viz.core.projection import Projection
from hill_viz.core.targets import EditTargets

__all__ = ["EditBiasJob"]


@dataclass(eq=False)
class EditBiasJob:
    """The predicted and measured bias reports of `edits` (ids `edit_ids`), applied together."""

    edits: tuple[ResolvedEdit, ...]
    edit_ids: tuple[int, ...]
    model: LatentModel                 # the model before the edits' training
    dataset: Dataset
    projection: Projection
    view: np.ndarray | None = None     # (N, 2) the view the edits were made on; None: inferred
    config: BiasConfig = BiasConfig()
    _targets: EditTargets | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def capture(cls, edits: Sequence[ResolvedEdit], edit_ids: Sequence[int], model: LatentModel,
                dataset: Dataset, projection: Projection, frame: LatentFrame | None = None,
                config: BiasConfig = BiasConfig()) -> "EditBiasJob":
        """A job on a copy of `model`, so that training may go on meanwhile; `frame` (the view
        the edits were made on, one row per dataset row) spares inferring the covered rows."""
        view = None if frame is None else np.c_[frame.column("x"), frame.column("y")]
        return cls(tuple(edits), tuple(int(i) for i in edit_ids), copy.deepcopy(model), dataset, projection,
                   view, config)

    @property
    def targets(self) -> EditTargets:
        """Where the edits send the covered rows (computed once, on first use)."""
        with self._lock:
            if self._targets is None:
                self._targets = EditTargets.from_edits(self.edits, self.dataset, self.model, self.projection,
                                                       self.view, seed=self.config.seed)
            return self._targets

    def predict(self) -> BiasReport:
        """The predicted report: the edited latent space vs the current one, before training."""
        return predict_report(self.model, self.dataset, self.projection, self.targets, self.edit_ids, self.config)

    def measure(self, model_after: LatentModel) -> BiasReport:
        """The measured report: `model_after` (trained with the edits) vs the captured model."""
        return measure_report(self.model, model_after, self.dataset, self.projection, self.targets, self.edit_ids,
                              self.config)

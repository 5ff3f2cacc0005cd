"""EditBiasJob: the bias reports of edits applied together, from one captured state.

Captured before the edits' training starts (the edits, their ids, a copy of the model,
the dataset, the projection and the view they were made on), a job predicts its report
at once and measures it against the model after training. The Session (live) and
`bias_records` (from a workspace's log) both go through it.

With the trainer's state at the capture and the teachers in force besides the edits'
own, a job can also train the control the measured report compares with: the same
epochs from the same state (weights, optimizer, epoch, so the same batches) and seed,
without the edits. Training is deterministic, so the after-model and the control differ
only by the edits' effect. It costs one more training segment of the same length.
"""
from __future__ import annotations

import copy
import threading
import time
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
from hill_viz.core.teacher import Teacher
from hill_viz.core.training import TrainConfig, Trainer

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
    trainer_state: dict | None = None  # Trainer.state_dict() at the capture; None: no control can be trained
    teachers: tuple[Teacher, ...] = ()  # the teachers in force besides the edits' own
    control_seconds: float | None = field(default=None, init=False)  # the last train_control's time
    _targets: EditTargets | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def capture(cls, edits: Sequence[ResolvedEdit], edit_ids: Sequence[int], model: LatentModel,
                dataset: Dataset, projection: Projection, frame: LatentFrame | None = None,
                config: BiasConfig = BiasConfig(), trainer: Trainer | None = None,
                teachers: Sequence[Teacher] = ()) -> "EditBiasJob":
        """A job on a copy of `model`, so that training may go on meanwhile; `frame` (the view
        the edits were made on, one row per dataset row) spares inferring the covered rows.
        `trainer` (training `model`) and `teachers` (those in force besides the edits') let
        the job train its control."""
        view = None if frame is None else np.c_[frame.column("x"), frame.column("y")]
        state = None if trainer is None else copy.deepcopy(trainer.state_dict())
        return cls(tuple(edits), tuple(int(i) for i in edit_ids), copy.deepcopy(model), dataset, projection,
                   view, config, state, tuple(teachers))

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

    @property
    def can_control(self) -> bool:
        return self.trainer_state is not None and self.config.control

    def train_control(self, epochs: int) -> LatentModel | None:
        """The control: `epochs` epochs from the captured state with the other teachers but
        without the edits (None when the job holds no trainer state or the config says no)."""
        if not self.can_control or epochs <= 0:
            return None
        start = time.perf_counter()
        control = copy.deepcopy(self.model)
        trainer = Trainer(control, TrainConfig(**self.trainer_state["config"]))
        trainer.model.load_state_dict(self.trainer_state["model"])
        trainer.optimizer.load_state_dict(self.trainer_state["optimizer"])
        trainer.epoch, trainer.step = int(self.trainer_state["epoch"]), int(self.trainer_state["step"])
        trainer.fit(self.dataset, epochs, teachers=list(self.teachers))
        self.control_seconds = time.perf_counter() - start
        return control

    def measure(self, model_after: LatentModel, control: LatentModel | None = None) -> BiasReport:
        """The measured report: `model_after` (trained with the edits) vs `control` (see
        `train_control`), or vs the captured model when there is none. sizes["control_seconds"]:
        what training the control took (None: not trained here)."""
        report = measure_report(self.model, model_after, self.dataset, self.projection, self.targets, self.edit_ids,
                                self.config, control)
        if control is not None:
            report.sizes["control_seconds"] = self.control_seconds
        return report

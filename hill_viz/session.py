"""Session: the one controller. Every user action is a method here.

It owns a workspace, records every action as a provenance event (committed before the
method returns), and runs training in a worker thread it owns. The browser, the CLI,
the simulated users and the tests all drive this same object.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import param

from hill_viz.core.data import Dataset, load_dataset
from hill_viz.core.edits import Edit, ResolvedEdit, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel, ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.core.provenance import Workspace
from hill_viz.core.teacher import Teacher, TeacherConfig
from hill_viz.core.training import Callback, TrainConfig, Trainer, evaluate
from hill_viz.errors import EditError, HillError, StateError

INLINE_IDS_MAX = 10_000  # larger id lists go to an artifact file, not the event row


@dataclass(frozen=True, eq=False)
class PendingEdit:
    edit_id: int
    resolved: ResolvedEdit

    @property
    def edit(self) -> Edit:
        return self.resolved.edit


class _SessionCallback(Callback):
    """Publishes progress, honours pause, checkpoints each epoch."""

    def __init__(self, session: "Session"):
        self.session = session

    def on_fit_start(self, trainer, total_steps):
        self.session.progress = 0.0

    def on_batch_end(self, trainer, step, total_steps, loss):
        s = self.session
        s.progress = step / max(total_steps, 1)
        s.last_loss = loss
        if s._pause_flag.is_set():
            s.status = "paused"
            while s._pause_flag.is_set() and not trainer.should_stop:
                time.sleep(0.05)
            s.status = "training"

    def on_epoch_end(self, trainer, epoch, metrics):
        s = self.session
        s._checkpoint()
        if s.live_frame:
            s._refresh_frame()
        s.history = s.history + [dict(metrics)]


class Session(param.Parameterized):
    """State of one person's work on one workspace; change it only through the methods."""

    status = param.Selector(default="empty", objects=["empty", "ready", "training", "paused"],
                            doc="empty: no model yet; ready: idle; training/paused: a worker is running")
    progress = param.Number(default=0.0, bounds=(0, 1), doc="Fraction of the running training done")
    last_loss = param.Number(default=None, allow_None=True)
    history = param.List(default=[], doc="Metrics of each completed epoch, oldest first")
    frame_version = param.Integer(default=0, doc="Bumped whenever the latent frame changes")
    selection_version = param.Integer(default=0)
    edits_version = param.Integer(default=0, doc="Bumped whenever the pending edits change")
    last_error = param.String(default="", doc="The last error of a background job, for the UI")
    live_frame = param.Boolean(default=True, doc="Rebuild the latent frame after every epoch")

    def __init__(self, workspace: str | Path | Workspace, actor: str | None = None, **params):
        super().__init__(**params)
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.actor = actor
        self.dataset: Dataset | None = None
        self.model: LatentModel | None = None
        self.trainer: Trainer | None = None
        self.projection: Projection | None = None
        self.frame: LatentFrame | None = None
        self.selection: np.ndarray = np.empty(0, dtype=np.int64)
        self.selector: Selector | None = None
        self.pending: list[PendingEdit] = []
        self.teachers: list[Teacher] = []
        self.teacher_config = TeacherConfig()
        self.model_seed = 0
        self.extra_callbacks: list[Callback] = []  # e.g. the CLI's progress bar
        self._edit_ids = itertools.count(1)
        self._worker: threading.Thread | None = None
        self._pause_flag = threading.Event()
        self._lock = threading.RLock()

    # -- recording -------------------------------------------------------------------------
    def _record(self, kind: str, params: dict | None = None, metrics: dict | None = None,
                artifacts: list | None = None):
        return self.workspace.store.append(kind, params, metrics, artifacts, actor=self.actor)

    # -- data and model ----------------------------------------------------------------------
    def load_dataset(self, name: str | None = None, *, path: str | None = None, **options) -> Dataset:
        self._require_idle()
        dataset = load_dataset(name, path=path, **options)
        self.dataset = dataset
        self.model = self.trainer = self.projection = self.frame = None
        self.pending, self.teachers, self.history = [], [], []
        self._clear_selection()
        self.status = "empty"
        self._record("dataset_loaded", {"dataset": dataset.params},
                     {"n_samples": dataset.n_samples, "n_classes": dataset.n_classes})
        return dataset

    def build_model(self, latent_dim: int = 16, hidden: int = 128, arch: str = "auto", seed: int = 0,
                    lr: float = 1e-3, batch_size: int | None = None, weight_decay: float = 0.0) -> LatentModel:
        """A fresh model; batch_size None picks 64 for small datasets, 512 past 50,000 train rows."""
        self._require_idle()
        ds = self._require_dataset()
        if batch_size is None:
            batch_size = 64 if len(ds.indices("train")) <= 50_000 else 512
        spec = ModelSpec(ds.n_features, ds.n_classes, latent_dim, hidden, ds.image_shape, arch)
        config = TrainConfig(batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed)
        self.model = build_model(spec, seed)
        self.trainer = Trainer(self.model, config)
        self.model_seed = seed
        self.pending, self.teachers, self.history = [], [], []
        self._record("model_built", {"spec": spec.to_dict(), "seed": seed, "train_config": config.to_dict()})
        self.refit_projection(reason="model built")
        self.status = "ready"
        return self.model

    def refit_projection(self, reason: str = "user asked") -> Projection:
        """Fit the view projection anew on the current latents (an explicit, logged action)."""
        self._require_idle()
        ds, model = self._require_dataset(), self._require_model()
        rows = ds.indices("train")
        proj = Projection(seed=self.model_seed)
        if len(rows) > proj.sample_size:
            rows = np.sort(np.random.default_rng(self.model_seed).choice(rows, proj.sample_size, replace=False))
        z, _ = infer(model, ds.features, rows)
        self.projection = proj.fit(z)
        self._record("projection_fitted", {"projection": proj.to_dict(), "reason": reason})
        self._refresh_frame()
        return proj

    def _refresh_frame(self) -> None:
        frame = LatentFrame.build(self.model, self.projection, self.dataset)
        self.frame = frame
        self.frame_version += 1

    # -- training -----------------------------------------------------------------------------
    def train(self, epochs: int, wait: bool = False) -> None:
        """Train `epochs` more epochs with the teachers in force (in a worker unless wait=True)."""
        self._require_idle()
        self._require_model()
        TrainConfig(epochs=epochs)  # validates the count
        self._start(self._run_segment, epochs, wait)

    def apply_edits(self, epochs: int = 5, config: TeacherConfig | None = None, wait: bool = False) -> Teacher:
        """Freeze the pending edits into a teacher and train `epochs` epochs with it."""
        self._require_idle()
        self._require_model()
        if not self.pending:
            raise StateError("there are no pending edits to apply; make an edit first")
        TrainConfig(epochs=epochs)
        config = config or self.teacher_config
        teacher = Teacher(self.model, self.dataset, self.projection, [p.resolved for p in self.pending],
                          config, seed=self.model_seed)
        name = f"artifacts/teacher-{len(self.teachers) + 1:04d}.npz"
        teacher.save(self.workspace.resolve(name))
        self._record("edits_applied", {"edit_ids": [p.edit_id for p in self.pending],
                                       "teacher_config": config.to_dict(), "epochs": epochs},
                     {"n_covered": teacher.n_covered}, [self.workspace.artifact(name, "teacher")])
        self.teachers.append(teacher)
        self.pending = []
        self.edits_version += 1
        self._start(self._run_segment, epochs, wait)
        return teacher

    def _start(self, target, epochs: int, wait: bool) -> None:
        self.status = "training"
        self.last_error = ""
        self._pause_flag.clear()
        if wait:
            target(epochs)
            return
        self._worker = threading.Thread(target=target, args=(epochs,), name="hill-trainer", daemon=True)
        self._worker.start()

    def _run_segment(self, epochs: int) -> None:
        start = self.trainer.epoch
        try:
            self.trainer.fit(self.dataset, epochs, self.teachers, callbacks=[_SessionCallback(self), *self.extra_callbacks])
            result = evaluate(self.model, self.dataset)
            done = self.trainer.epoch - start
            self._record("training_segment",
                         {"epochs": done, "requested_epochs": epochs, "n_teachers": len(self.teachers),
                          "cancelled": done < epochs},
                         {**result, "epoch": self.trainer.epoch, "history": self.history[-done:] if done else []})
            self._refresh_frame()
        except HillError as exc:
            self.last_error = str(exc)
            if threading.current_thread() is threading.main_thread():
                raise
        finally:
            self.progress = 1.0 if self.status != "empty" else 0.0
            self.status = "ready"

    def _checkpoint(self) -> None:
        name = f"checkpoints/epoch-{self.trainer.epoch:05d}.pt"
        self.trainer.save_checkpoint(self.workspace.resolve(name))
        self._record("checkpoint", {"epoch": self.trainer.epoch, "step": self.trainer.step},
                     artifacts=[self.workspace.artifact(name, "checkpoint")])

    def wait(self, timeout: float | None = None) -> None:
        """Block until the worker finishes (tests and the CLI)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def pause(self) -> None:
        if self.status != "training":
            raise StateError("nothing is training; start training before pausing")
        self._pause_flag.set()

    def resume(self) -> None:
        if self.status not in ("paused", "training"):
            raise StateError("training is not paused")
        self._pause_flag.clear()

    def cancel(self) -> None:
        """Stop training after the current step; the partial epoch is rolled back."""
        if self.trainer is not None and self.status in ("training", "paused"):
            self.trainer.cancel()
            self._pause_flag.clear()

    @property
    def is_busy(self) -> bool:
        return self.status in ("training", "paused")

    # -- selection and edits ---------------------------------------------------------------------
    def select(self, selector: Selector | None) -> np.ndarray:
        """Resolve a selector on the current view; None clears the selection."""
        if selector is None:
            self._clear_selection()
            return self.selection
        frame = self._require_frame()
        mask = selector.mask(frame.context())
        self.selection = frame.column("id")[mask]
        self.selector = selector
        self.selection_version += 1
        self._record("selection", {"selector": _selector_summary(selector)}, {"n_selected": int(mask.sum())})
        return self.selection

    def select_ids(self, ids) -> np.ndarray:
        return self.select(Selector.of_ids(ids))

    def _clear_selection(self) -> None:
        self.selection = np.empty(0, dtype=np.int64)
        self.selector = None
        self.selection_version += 1

    def add_edit(self, edit: Edit) -> PendingEdit:
        """Resolve an edit on the current view and keep it pending until `apply_edits`."""
        frame = self._require_frame()
        resolved = edit.resolve(frame.context())
        pending = PendingEdit(next(self._edit_ids), resolved)
        self._record("edit_added", *self._edit_record(pending))
        self.pending = self.pending + [pending]
        self.edits_version += 1
        return pending

    def update_edit(self, edit_id: int, edit: Edit) -> PendingEdit:
        """Replace a pending edit's op/params; its selection is resolved again on the current view."""
        index = self._pending_index(edit_id)
        resolved = edit.resolve(self._require_frame().context())
        pending = PendingEdit(edit_id, resolved)
        self._record("edit_updated", *self._edit_record(pending))
        self.pending = self.pending[:index] + [pending] + self.pending[index + 1:]
        self.edits_version += 1
        return pending

    def remove_edit(self, edit_id: int) -> None:
        index = self._pending_index(edit_id)
        self._record("edit_removed", {"edit_id": edit_id})
        self.pending = self.pending[:index] + self.pending[index + 1:]
        self.edits_version += 1

    def _pending_index(self, edit_id: int) -> int:
        for i, p in enumerate(self.pending):
            if p.edit_id == edit_id:
                return i
        raise EditError(f"there is no pending edit {edit_id}; pending: "
                        f"{', '.join(str(p.edit_id) for p in self.pending) or 'none'}")

    def _edit_record(self, pending: PendingEdit) -> tuple[dict, dict, list]:
        """Event params for an edit: the edit, and its resolved ids inline or as an artifact."""
        r = pending.resolved
        params = {"edit_id": pending.edit_id, "edit": r.edit.to_dict(), "description": r.edit.describe()}
        artifacts = []
        for key, ids in (("ids", r.ids), ("other_ids", r.other_ids)):
            if ids is None:
                continue
            if len(ids) <= INLINE_IDS_MAX:
                params[key] = ids.tolist()
            else:
                name = f"artifacts/edit-{pending.edit_id:04d}-{key}-{self.workspace.store.head or 0}.npy"
                np.save(self.workspace.resolve(name), ids)
                artifacts.append(self.workspace.artifact(name, key))
        metrics = {"n_ids": int(len(r.ids)),
                   "n_other_ids": None if r.other_ids is None else int(len(r.other_ids))}
        return params, metrics, artifacts

    # -- guards --------------------------------------------------------------------------------
    def _require_idle(self) -> None:
        if self.is_busy:
            raise StateError("training is running; wait for it to finish or cancel it first")

    def _require_dataset(self) -> Dataset:
        if self.dataset is None:
            raise StateError("no dataset loaded; load a dataset first")
        return self.dataset

    def _require_model(self) -> LatentModel:
        if self.model is None:
            raise StateError("no model yet; build a model first")
        return self.model

    def _require_frame(self) -> LatentFrame:
        if self.frame is None:
            raise StateError("no latent view yet; build a model first")
        return self.frame

    def metrics(self) -> dict:
        """Accuracy per split, per class and per attribute group of the current model."""
        return evaluate(self._require_model(), self._require_dataset())


def _selector_summary(selector: Selector) -> dict:
    d = selector.to_dict()
    if d.get("kind") == "ids" and len(d["ids"]) > INLINE_IDS_MAX:
        return {"kind": "ids", "n": len(d["ids"])}
    return d

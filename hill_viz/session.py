"""Session: the one controller. Every user action is a method here.

It owns a workspace, records every action as a provenance event (committed before the
method returns), and runs training in a worker thread it owns. The browser, the CLI,
the simulated users and the tests all drive this same object.
"""
from __future__ import annotations

import collections
import copy
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import param

from hill_viz.core.bias import BiasConfig, BiasReport, EditTargets, measure_report, predict_report
from hill_viz.core.data import Dataset, load_dataset
from hill_viz.core.edits import Edit, ResolvedEdit, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel, ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.core import replay as _replay
from hill_viz.core.provenance import Event, Workspace, write_snapshot
from hill_viz.core.teacher import Teacher, TeacherConfig
from hill_viz.core.training import Callback, TrainConfig, Trainer, evaluate
from hill_viz.errors import ConfigError, EditError, HillError, StateError

INLINE_IDS_MAX = 10_000  # larger id lists go to an artifact file, not the event row
LIVE_QUEUE_MAX = 100_000  # live records kept for the UI to drain; the oldest drop first
log = logging.getLogger(__name__)


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
        self._steps_per_epoch = max(1, -(-len(self.session.dataset.indices("train")) // trainer.config.batch_size))

    def on_batch_end(self, trainer, step, total_steps, loss):
        s = self.session
        s.progress = step / max(total_steps, 1)
        s.last_loss = loss
        within = ((step - 1) % self._steps_per_epoch + 1) / self._steps_per_epoch  # fits are whole epochs
        s._live.append({"kind": "batch", "epoch": trainer.epoch + within, "loss": float(loss)})
        if s._pause_flag.is_set():
            s.status = "paused"
            while s._pause_flag.is_set() and not trainer.should_stop:
                time.sleep(0.05)
            s.status = "training"

    def on_epoch_end(self, trainer, epoch, metrics):
        s = self.session
        s._checkpoint()
        pause = max(s.live_frame_interval, s.live_frame_duty * s._frame_cost)
        if s.live_frame and time.monotonic() - s._frame_built_at >= pause:
            s._refresh_frame()
        s.history = s.history + [dict(metrics)]
        s._live.append({"kind": "epoch", **metrics})


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
    live_frame_interval = param.Number(default=2.0, bounds=(0, None),
                                       doc="Least seconds between live frame rebuilds while training "
                                           "(each rebuild redraws every view); the last epoch always shows")
    live_frame_duty = param.Number(default=10.0, bounds=(0, None),
                                   doc="The pause between live rebuilds is also at least this many times "
                                       "the last rebuild's cost: on large datasets rebuilds then take at "
                                       "most 1/duty of the training time")
    events_version = param.Integer(default=0, doc="Bumped whenever an event is recorded (any thread)")
    auto_bias = param.Boolean(default=True, doc="Record a predicted and a measured bias report around "
                              "every apply_edits (off: `hill-viz bias --compute` can make them later)")

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
        self._live: collections.deque = collections.deque(maxlen=LIVE_QUEUE_MAX)  # worker -> UI
        self._selection_frame_version = -1  # frame_version when the selection was drawn
        self._frame_built_at, self._frame_step, self._built_frame = 0.0, None, None  # live frame pacing
        self._frame_cost = 0.0  # seconds the last frame build took
        self._segment: dict | None = None  # the training segment running: {"start_epoch", "epochs"}
        self.interrupted: dict | None = None  # a segment a crash cut short (see `resume_training`)

    # -- recording -------------------------------------------------------------------------
    def _record(self, kind: str, params: dict | None = None, metrics: dict | None = None,
                artifacts: list | None = None):
        event = self.workspace.store.append(kind, params, metrics, artifacts, actor=self.actor)
        self.events_version += 1
        return event

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
        self._refresh_frame()
        self._record("projection_fitted", {"projection": proj.to_dict(), "reason": reason},
                     artifacts=[self._snapshot("projection")])
        return proj

    def _refresh_frame(self) -> None:
        started = time.monotonic()
        frame = LatentFrame.build(self.model, self.projection, self.dataset)
        self._frame_cost = time.monotonic() - started
        self._frame_built_at, self._frame_step = time.monotonic(), self.trainer.step if self.trainer else None
        self._built_frame = self.frame = frame
        self.frame_version += 1

    def _refresh_frame_if_stale(self) -> None:
        """Rebuild the frame unless it already shows the model as it is (e.g. after the last epoch)."""
        current = self.frame is not None and self.frame is self._built_frame
        if not (current and self.trainer is not None and self._frame_step == self.trainer.step):
            self._refresh_frame()

    def show_frame(self, frame: LatentFrame) -> None:
        """Show a prebuilt latent frame (benchmarks, latents computed elsewhere); no model needed.

        The next epoch or projection refit replaces it with the model's own frame.
        """
        self.frame = frame
        self.frame_version += 1

    # -- training -----------------------------------------------------------------------------
    def train(self, epochs: int, wait: bool = False) -> None:
        """Train `epochs` more epochs with the teachers in force (in a worker unless wait=True)."""
        with self._lock:
            self._require_idle()
            self._require_model()
            TrainConfig(epochs=epochs)  # validates the count
            self._start(self._run_segment, epochs, wait)

    def apply_edits(self, epochs: int = 5, config: TeacherConfig | None = None, wait: bool = False) -> Teacher:
        """Freeze the pending edits into a teacher and train `epochs` epochs with it."""
        with self._lock:
            return self._apply_edits(epochs, config, wait)

    def _apply_edits(self, epochs: int, config: TeacherConfig | None, wait: bool) -> Teacher:
        self._require_idle()
        self._require_model()
        if not self.pending:
            raise StateError("there are no pending edits to apply; make an edit first")
        TrainConfig(epochs=epochs)
        config = config or self.teacher_config
        teacher = Teacher(self.model, self.dataset, self.projection, [p.resolved for p in self.pending],
                          config, seed=self.model_seed)
        name = self.workspace.reserve(f"artifacts/teacher-{len(self.teachers) + 1:04d}.npz")
        teacher.save(self.workspace.resolve(name))
        self._record("edits_applied", {"edit_ids": [p.edit_id for p in self.pending],
                                       "teacher_config": config.to_dict(), "epochs": epochs},
                     {"n_covered": teacher.n_covered}, [self.workspace.artifact(name, "teacher")])
        self.teachers.append(teacher)
        self._bias_job = self._edit_bias_job() if self.auto_bias else None
        self.pending = []
        self.edits_version += 1
        self._start(self._run_edit_segment, epochs, wait)
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
        self._segment = {"start_epoch": start, "epochs": epochs}
        try:
            self.trainer.fit(self.dataset, epochs, self.teachers, callbacks=[_SessionCallback(self), *self.extra_callbacks])
            result = evaluate(self.model, self.dataset)
            done = self.trainer.epoch - start
            self._refresh_frame_if_stale()
            self._record("training_segment",
                         {"epochs": done, "requested_epochs": epochs, "n_teachers": len(self.teachers),
                          "cancelled": done < epochs},
                         {**result, "epoch": self.trainer.epoch, "history": self.history[-done:] if done else []},
                         [self._snapshot(f"epoch-{self.trainer.epoch:05d}")])
            self._measure_edit_bias(done)
        except HillError as exc:
            self._report_error(str(exc))
            if threading.current_thread() is threading.main_thread():
                raise
        except Exception as exc:  # a bug, not a user mistake: keep the session usable and say so
            log.exception("training failed")
            self._report_error(f"training stopped by an internal error ({type(exc).__name__}: {exc}); "
                               "everything recorded so far is kept")
            if threading.current_thread() is threading.main_thread():
                raise
        finally:
            self.progress = 1.0 if self.status != "empty" else 0.0
            self.status = "ready"

    def _report_error(self, message: str) -> None:
        self.last_error = message
        self._live.append({"kind": "error", "message": message})

    def drain_live(self) -> list[dict]:
        """Live records since the last call, oldest first (thread-safe; one consumer: the UI).

        Kinds: {"kind": "batch", "epoch", "loss"} every few steps (epoch is fractional),
        {"kind": "epoch", "epoch", "train_loss", "val_acc"} per completed epoch,
        {"kind": "error", "message"} when background work fails.
        """
        out = []
        while True:
            try:
                out.append(self._live.popleft())
            except IndexError:
                return out

    def _checkpoint(self) -> None:
        name = self.workspace.reserve(f"checkpoints/epoch-{self.trainer.epoch:05d}.pt")
        self.trainer.save_checkpoint(self.workspace.resolve(name))
        self._record("checkpoint", {"epoch": self.trainer.epoch, "step": self.trainer.step, "segment": self._segment},
                     artifacts=[self.workspace.artifact(name, "checkpoint")])

    def _snapshot(self, stem: str) -> dict:
        """A small Parquet copy of the latent frame (id, x, y, label, pred) for the timeline."""
        return write_snapshot(self.workspace, self._require_frame().df, stem)

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
        self._selection_frame_version = self.frame_version
        self.selection_version += 1
        self._record("selection", {"selector": _selector_summary(selector)}, {"n_selected": int(mask.sum())})
        return self.selection

    def select_ids(self, ids) -> np.ndarray:
        return self.select(Selector.of_ids(ids))

    def selection_selector(self) -> Selector:
        """A selector for exactly the selected points: as drawn while the view is unchanged, else their ids."""
        if not len(self.selection):
            raise EditError("the selection is empty; select points on the latent view first")
        if self.selector is not None and self._selection_frame_version == self.frame_version:
            return self.selector
        return Selector.of_ids(self.selection)

    def _clear_selection(self) -> None:
        self.selection = np.empty(0, dtype=np.int64)
        self.selector = None
        self.selection_version += 1

    def add_edit(self, edit: Edit) -> PendingEdit:
        """Resolve an edit on the current view and keep it pending until `apply_edits`."""
        resolved = edit.resolve(self._require_frame().context())
        return self._add_pending(next(self._edit_ids), resolved)

    def update_edit(self, edit_id: int, edit: Edit) -> PendingEdit:
        """Replace a pending edit's op/params; its selection is resolved again on the current view."""
        self._pending_index(edit_id)  # an unknown id is reported before anything is resolved
        return self.update_resolved_edit(edit_id, edit.resolve(self._require_frame().context()))

    def _add_pending(self, edit_id: int, resolved: ResolvedEdit) -> PendingEdit:
        pending = PendingEdit(edit_id, resolved)
        self._record("edit_added", *self._edit_record(pending))
        self.pending = self.pending + [pending]
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

    # -- provenance: reopen, revert, annotate, resume, replay ---------------------------------------
    @classmethod
    def open(cls, workspace: str | Path | Workspace, actor: str | None = None, **params) -> "Session":
        """Reopen an existing workspace where it was left: the state at its head, from the log."""
        ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace, create=False)
        session = cls(ws, actor=actor, **params)
        if ws.store.head is not None:
            session._restore(ws.store.head)
        return session

    def revert(self, event_id: int) -> Event:
        """Go back to the state right after `event_id`; the next action starts a branch there.

        Records a `revert` event as a child of `event_id` (so the head moves there), in one
        transaction. Nothing is deleted: the abandoned branch stays in the log.
        """
        self._require_idle()
        before = self.workspace.store.head
        target = self.workspace.store.get(event_id)
        self._restore(target.id)
        event = self.workspace.store.append("revert", {"to": target.id, "from": before, "to_kind": target.kind},
                                            actor=self.actor, parent_id=target.id)
        self.events_version += 1
        return event

    def annotate(self, event_id: int, text: str) -> Event:
        """Attach a note to a recorded event (an `annotation` event; the state does not change)."""
        text = (text or "").strip()
        if not text:
            raise ConfigError("an annotation needs some text; type a note first")
        if len(text) > 10_000:
            raise ConfigError(f"an annotation holds at most 10000 characters, got {len(text)}; shorten it")
        target = self.workspace.store.get(event_id)
        return self._record("annotation", {"event_id": target.id, "event_kind": target.kind, "text": text})

    def resume_training(self, wait: bool = False) -> int:
        """Finish the training segment a crash cut short, from its last checkpoint.

        Returns the epochs still to train (0 still records the segment's metrics).
        """
        self._require_idle()
        if not self.interrupted:
            raise StateError("no interrupted training to resume; train or apply edits instead")
        seg, self.interrupted = self.interrupted, None
        remaining = max(seg["epochs"] - (self.trainer.epoch - seg["start_epoch"]), 0)
        self.train(remaining, wait)
        return remaining

    def use_projection(self, projection: Projection, reason: str = "restored") -> Projection:
        """View through a given fitted projection (a recorded one, on replay); logged like a refit."""
        self._require_idle()
        self._require_model()
        self.projection = projection
        self._refresh_frame()
        self._record("projection_fitted", {"projection": projection.to_dict(), "reason": reason},
                     artifacts=[self._snapshot("projection")])
        return projection

    def add_resolved_edit(self, resolved: ResolvedEdit, edit_id: int | None = None) -> PendingEdit:
        """Add an edit whose selection is already resolved to ids (replay, scripted users)."""
        self._require_frame()
        if edit_id is None:
            edit_id = next(self._edit_ids)
        elif any(p.edit_id == edit_id for p in self.pending):
            raise EditError(f"edit {edit_id} is already pending; give another id or none")
        else:
            self._edit_ids = itertools.count(max(next(self._edit_ids), edit_id + 1))
        return self._add_pending(int(edit_id), resolved)

    def update_resolved_edit(self, edit_id: int, resolved: ResolvedEdit) -> PendingEdit:
        """Replace a pending edit with one already resolved to ids (replay); recorded like `update_edit`."""
        index = self._pending_index(edit_id)
        pending = PendingEdit(edit_id, resolved)
        self._record("edit_updated", *self._edit_record(pending))
        self.pending = self.pending[:index] + [pending] + self.pending[index + 1:]
        self.edits_version += 1
        return pending

    def _restore(self, event_id: int) -> None:
        """Load the state right after `event_id` from the log and its artifacts (no training)."""
        state = _replay.state_at(self.workspace, event_id)
        r = _replay.restore(self.workspace, state, dataset=self.dataset)  # may raise: nothing changed yet
        with self._lock:
            self.dataset, self.model, self.trainer, self.projection = r.dataset, r.model, r.trainer, r.projection
            self.teachers = r.teachers
            self.pending = [PendingEdit(i, res) for i, res in r.pending]
            self.model_seed, self.history = r.seed, list(state.history)
            if state.teacher_config:
                self.teacher_config = _replay.teacher_config(state.teacher_config)
            self.interrupted = state.interrupted
            self._edit_ids = itertools.count(max(state.max_edit_id, _max_edit_id(self.workspace)) + 1)
            self._clear_selection()
            self.frame = None
            if self.model is not None and self.projection is not None:
                self._refresh_frame()
            self.progress = 0.0
            self.status = "ready" if self.model is not None else "empty"
            self.edits_version += 1

    # -- bias indicators --------------------------------------------------------------------------
    bias_config = BiasConfig()  # thresholds and sample sizes of every bias report
    _bias_job: dict | None = None  # the applied edits whose bias reports are due

    def predict_bias(self, edit_ids=None) -> BiasReport:
        """Predicted bias report of the pending edits (all, or those in `edit_ids`), before training.

        Works on a snapshot of the session and records nothing, so the UI can call it from a
        worker thread while the user goes on editing.
        """
        pending = list(self.pending)
        if edit_ids is not None:
            wanted = {int(i) for i in edit_ids}
            unknown = wanted - {p.edit_id for p in pending}
            if unknown:
                raise EditError(f"there is no pending edit {min(unknown)}; pending: "
                                f"{', '.join(str(p.edit_id) for p in pending) or 'none'}")
            pending = [p for p in pending if p.edit_id in wanted]
        if not pending:
            raise StateError("there are no pending edits to check; make an edit first")
        frame, projection, dataset = self._require_frame(), self.projection, self._require_dataset()
        model = copy.deepcopy(self._require_model())  # training may go on meanwhile
        view = np.c_[frame.column("x"), frame.column("y")]
        targets = EditTargets.from_edits([p.resolved for p in pending], dataset, model, projection, view,
                                         seed=self.bias_config.seed)
        return predict_report(model, dataset, projection, targets, [p.edit_id for p in pending], self.bias_config)

    def bias_reports(self, edit_id: int | None = None) -> list[BiasReport]:
        """The bias reports recorded on the current branch, oldest first (those about `edit_id`)."""
        out = []
        for ev in self.workspace.store.path_to():
            if ev.kind == "bias_report" and (edit_id is None or edit_id in ev.params.get("edit_ids", ())):
                out.append(BiasReport.from_dict({**ev.metrics, **ev.params}))
        return out

    def _edit_bias_job(self) -> dict:
        """What the bias reports of the edits being applied need, captured before training starts."""
        frame = self._require_frame()
        return {"edits": [p.resolved for p in self.pending], "edit_ids": [p.edit_id for p in self.pending],
                "view": np.c_[frame.column("x"), frame.column("y")], "projection": self.projection}

    def _run_edit_segment(self, epochs: int) -> None:
        """Train with the new teacher; the predicted bias report comes first, the measured after."""
        job = self._bias_job
        if job is not None:
            try:
                job["before"] = copy.deepcopy(self.model)
                job["targets"] = EditTargets.from_edits(job["edits"], self.dataset, job["before"], job["projection"],
                                                        job["view"], seed=self.bias_config.seed)
                report = predict_report(job["before"], self.dataset, job["projection"], job["targets"],
                                        job["edit_ids"], self.bias_config)
                self._record_bias(report)
            except Exception as exc:  # a report must never stop the training it describes
                self._bias_failed(exc)
                self._bias_job = None
        self._run_segment(epochs)

    def _measure_edit_bias(self, epochs_done: int) -> None:
        """Called at the end of every training segment: the measured report, if an edit's is due."""
        job, self._bias_job = self._bias_job, None
        if job is None or "targets" not in job or epochs_done == 0:
            return
        try:
            report = measure_report(job["before"], self.model, self.dataset, job["projection"], job["targets"],
                                    job["edit_ids"], self.bias_config)
            self._record_bias(report, {"epochs": epochs_done})
        except Exception as exc:
            self._bias_failed(exc)

    def _record_bias(self, report: BiasReport, extra: dict | None = None) -> Event:
        return self._record("bias_report", {"phase": report.phase, "edit_ids": list(report.edit_ids), **(extra or {})},
                            report.metrics())

    def _bias_failed(self, exc: Exception) -> None:
        if not isinstance(exc, HillError):
            log.exception("bias report failed")
        self._report_error(f"bias report not made ({exc}); the training and its records are unaffected")

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


def _max_edit_id(workspace: Workspace) -> int:
    """The largest edit id on any branch, so ids stay unique after a revert."""
    return workspace.store.max_int_param("edit_id", _replay.EDIT_KINDS) or 0


def _selector_summary(selector: Selector) -> dict:
    d = selector.to_dict()
    if d.get("kind") == "ids" and len(d["ids"]) > INLINE_IDS_MAX:
        return {"kind": "ids", "n": len(d["ids"])}
    return d

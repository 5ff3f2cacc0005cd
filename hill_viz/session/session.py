"""Session: the one controller. Every user action is a method here.

It owns a workspace, records every action as a provenance event (committed before the
method returns, `recording`), and trains in a worker thread it owns (`worker`). Its
state is `param` parameters the UI watches: `dataset`, `model`, `frame`, `selection`,
`pending`, `status`, `head`... They change only through the methods, on whichever thread
does the work; the UI hands the changes to its page's event loop. The browser, the CLI,
the simulated users and the tests all drive this same object. The selection, edit and
bias-check verbs live in `editing`, reopening, revert and annotate in `reopen` (mixins).

Read-only: a Session made with `read_only=True` (a review, or a second page on a workspace
someone else is editing) refuses every method that changes the work with a one-line
`ReadOnlyError` naming `read_only_reason`. It may still `select` (view state; nothing is
recorded for it), `annotate` (a review comment, recorded with the reviewer as actor),
`predict_bias` (records nothing) and `reload` (follow the log to its head). Whoever may
not edit the workspace (`core.access.may_edit`: not its owner, not an editor the owner
shared it with, not in `admins`) gets it read-only whatever was asked, the reason saying
whom it belongs to.
"""
from __future__ import annotations

import functools
import itertools
import threading
from pathlib import Path

import numpy as np
import param

from hill_viz.core.bias import BiasConfig
from hill_viz.core.data import Dataset, builtin_default_n, load_dataset
from hill_viz.core.edits import Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel, ModelSpec, build_model
from hill_viz.core.access import Limits, may_edit
from hill_viz.core.projection import LEARNED_METHODS, Projection, default_method
from hill_viz.core.provenance import Workspace, default_actor
from hill_viz.core.teacher import Teacher, TeacherConfig
from hill_viz.core.training import Callback, TrainConfig, Trainer, evaluate
from hill_viz.errors import DataError, StateError
from hill_viz.session.access import mutating, read_only_error
from hill_viz.session.bias_job import RecordedBiasJob
from hill_viz.session.editing import EditingVerbs
from hill_viz.session.engine import EngineVerbs
from hill_viz.session.frames import FrameClock, RowsCache, frame_ref
from hill_viz.session.pending import PendingEdit
from hill_viz.session.recording import Recorder
from hill_viz.session.reopen import ReopenVerbs
from hill_viz.session.queue import TrainingQueue
from hill_viz.session.viewing import FAITHFULNESS_SAMPLE, ViewingVerbs
from hill_viz.session.worker import Segment, TrainingWorker

__all__ = ["FAITHFULNESS_SAMPLE", "UPLOADS", "Session"]

UPLOADS = "uploads"  # workspace sub-folder for uploaded dataset files


class Session(EditingVerbs, ViewingVerbs, ReopenVerbs, EngineVerbs, param.Parameterized):
    """State of one person's work on one workspace; change it only through the methods."""

    # -- state (changed by the methods, on any thread) -----------------------------------------
    status = param.Selector(default="empty", objects=["empty", "ready", "queued", "training", "paused"],
                            doc="empty: no model yet; ready: idle; queued: waiting for a training slot "
                                "(`queue_position`); training/paused: a worker is running")
    queue_position = param.Integer(default=0, bounds=(0, None),
                                   doc="While queued: 1 = next to get a training slot (0: not waiting)")
    progress = param.Number(default=0.0, bounds=(0, 1), doc="Fraction of the running training done")
    history = param.List(default=[], doc="Metrics of each completed epoch, oldest first")
    last_error = param.String(default="", doc="The last error of a background job, for the UI")
    dataset = param.ClassSelector(class_=Dataset, default=None, allow_None=True, doc="The loaded dataset")
    model = param.ClassSelector(class_=LatentModel, default=None, allow_None=True, doc="The model being trained")
    trainer = param.ClassSelector(class_=Trainer, default=None, allow_None=True, doc="The model's trainer")
    projection = param.ClassSelector(class_=Projection, default=None, allow_None=True,
                                     doc="The frozen view projection: latents -> view plane")
    frame = param.ClassSelector(class_=LatentFrame, default=None, allow_None=True,
                                doc="The latent frame the views show (a new object whenever it changes)")
    selection = param.Array(default=np.empty(0, dtype=np.int64), doc="Ids of the selected points (a new array per selection)")
    selector = param.ClassSelector(class_=Selector, default=None, allow_None=True,
                                   doc="How the selection was drawn (None: no selection)")
    pending = param.List(default=[], item_type=PendingEdit, doc="Edits waiting for apply_edits, in order")
    teachers = param.List(default=[], item_type=Teacher, doc="Teachers in force, oldest first")
    head = param.Integer(default=None, allow_None=True,
                         doc="The workspace's head: the last event on the current branch")
    read_only = param.Boolean(default=False, constant=True,
                              doc="True: every method that changes the work raises ReadOnlyError")
    read_only_reason = param.String(default="", constant=True,
                                    doc="Why it is read-only, for people: 'opened for review', 'alice is editing it'")

    # -- settings ---------------------------------------------------------------------------------
    live_frame = param.Boolean(default=True, doc="Rebuild the latent frame after every epoch")
    live_frame_interval = param.Number(default=2.0, bounds=(0, None),
                                       doc="Least seconds between live frame rebuilds while training "
                                           "(each rebuild redraws every view); the last epoch always shows")
    live_frame_duty = param.Number(default=10.0, bounds=(0, None),
                                   doc="The pause between live rebuilds is also at least this many times "
                                       "the last rebuild's cost: on large datasets rebuilds then take at "
                                       "most 1/duty of the training time")
    projection_method = param.Selector(default=default_method(), objects=["pca", *LEARNED_METHODS],
                                       doc="How build_model and refit_projection fit the view: a learned "
                                           "(umap) or a linear (pca) projection; 2-D latents are shown as they are. "
                                           "Default: umap, or $HILL_VIZ_PROJECTION")
    projection_options = param.Dict(default={}, doc="Options of a learned projection (UMAPConfig's fields)")
    auto_bias = param.Boolean(default=True, doc="Record a predicted and a measured bias report around "
                              "every apply_edits (off: `hill-viz bias --compute` can make them later)")

    # -- what this session may do (a served session: `hill-viz serve` sets them) ----------------------
    limits = param.ClassSelector(class_=Limits, default=Limits(), constant=True,
                                 doc="Caps on n, epochs and uploads, and the data roots files come from")
    admins = param.List(default=[], item_type=str, constant=True, doc="Users who may edit every workspace")
    training_queue = param.ClassSelector(class_=TrainingQueue, default=None, allow_None=True, constant=True,
                                         doc="Shared by a server's sessions: how many train at once")

    def __init__(self, workspace: str | Path | Workspace, actor: str | None = None, read_only: bool = False,
                 read_only_reason: str = "", **params):
        if read_only and not read_only_reason:
            read_only_reason = "opened read-only"
        super().__init__(read_only=bool(read_only), read_only_reason=read_only_reason if read_only else "",
                         **params)
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        self.teacher_config = TeacherConfig()
        self.bias_config = BiasConfig()  # thresholds and sample sizes of every bias report
        self.model_seed = 0
        self.extra_callbacks: list[Callback] = []  # e.g. the CLI's progress bar
        self.interrupted: dict | None = None  # a segment a crash cut short (see `resume_training`)
        self._edit_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._recorder = Recorder(self.workspace, actor, on_head=functools.partial(setattr, self, "head"))
        self._worker = TrainingWorker(self)
        self._frames = FrameClock()
        self._selection_frame = frame_ref(None)  # the frame the selection was drawn on
        self._rows = RowsCache()
        self.head = self.workspace.store.head
        self._apply_access_policy(actor)
        if not read_only and not getattr(self.workspace, "read_only", False):
            self.workspace.claim_owner(actor or default_actor())

    def __repr__(self) -> str:  # param's default would print every array the state holds
        return f"<Session {str(self.workspace.path)!r} status={self.status}>"

    def _apply_access_policy(self, actor: str | None) -> None:
        """Who may not edit this workspace gets it read-only, whatever the page asked for."""
        allowed, why = may_edit(actor or default_actor(), self.workspace, self.admins)
        if not allowed and not getattr(self, "read_only", True):
            with param.edit_constant(self):
                self.read_only, self.read_only_reason = True, why

    @property
    def actor(self) -> str | None:
        """Who the recorded events name as their author."""
        return self._recorder.actor

    def _set(self, **values) -> None:
        """Set parameters one at a time, in the order given (watchers see the earlier ones set).

        Not `param.update`: param batches per object, and batches begun on two threads at
        once (the worker's and the UI's) can leave the object batching for good.
        """
        for name, value in values.items():
            setattr(self, name, value)

    # -- derived values ----------------------------------------------------------------------------
    @property
    def is_busy(self) -> bool:
        """True while a training worker runs (training or paused)."""
        return self.status in ("queued", "training", "paused")

    @param.depends("frame", "selection")
    def selected_rows(self) -> np.ndarray:
        """Rows of the selected ids in the current frame (empty when the frame lacks them)."""
        return self._rows.rows(self.frame, self.selection)

    # -- data and model ----------------------------------------------------------------------
    @mutating
    def load_dataset(self, name: str | None = None, *, path: str | None = None, **options) -> Dataset:
        """Load a builtin dataset by name, or a file by path; drops the model and everything on it."""
        self._require_idle()
        if path is not None:
            path = self.limits.data_path(path, own=[self.workspace.resolve(UPLOADS)])
            if Path(path).is_dir():  # a Parquet dataset folder: in memory or on Dask (`load_data`)
                return self.load_data(path, **options)
        elif name is not None:
            self.limits.check_n(options.get("n") or builtin_default_n(name), name)
        return self._load(name, path, options)

    def _load(self, name: str | None, path: Path | None, options: dict) -> Dataset:
        dataset = load_dataset(name, path=path, **options)
        self._drop_scale()
        self._clear_selection()
        self._learned_owed = None
        self._set(dataset=dataset, model=None, trainer=None, projection=None, frame=None,
                  teachers=[], history=[], pending=[], status="empty")
        self._recorder.record("dataset_loaded", {"dataset": dataset.params},
                              {"n_samples": dataset.n_samples, "n_classes": dataset.n_classes})
        return dataset

    @mutating
    def store_upload(self, name: str, data: bytes) -> Path:
        """Keep an uploaded dataset file in this workspace's `uploads/` (within the upload limit); its path."""
        name = Path(name or "upload").name
        self.limits.check_upload(len(data), name)
        target = self.workspace.resolve(UPLOADS) / name
        try:
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            raise DataError(f"cannot store the uploaded file {name}: {exc.strerror}") from None
        return target

    @mutating
    def build_model(self, latent_dim: int = 16, hidden: int = 128, arch: str = "auto", seed: int = 0,
                    lr: float = 1e-3, batch_size: int | None = None, weight_decay: float = 0.0,
                    projection: str | None = None) -> LatentModel:
        """A fresh model; batch_size None picks 64 for small datasets, 512 past 50,000 train rows.

        projection: the view's method (default `projection_method`). A learned one is fitted
        after the first whole training segment; the new model is shown through PCA until then.
        """
        self._require_idle()
        ds = self._require_dataset()
        if batch_size is None:
            batch_size = 64 if len(ds.indices("train")) <= 50_000 else 512
        spec = ModelSpec(ds.n_features, ds.n_classes, latent_dim, hidden, ds.image_shape, arch)
        config = TrainConfig(batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed)
        model = build_model(spec, seed)
        self.model_seed = seed
        self._set(model=model, trainer=Trainer(model, config), teachers=[], history=[], pending=[])
        self._recorder.record("model_built", {"spec": spec.to_dict(), "seed": seed,
                                              "train_config": config.to_dict()})
        self._first_view(projection, latent_dim)
        self.status = "ready"
        return self.model

    def metrics(self) -> dict:
        """Accuracy per split, per class and per attribute group of the current model."""
        return evaluate(self._require_model(), self._require_dataset())

    # -- training -----------------------------------------------------------------------------
    @mutating
    def train(self, epochs: int, wait: bool = False) -> None:
        """Train `epochs` more epochs with the teachers in force (in a worker unless wait=True)."""
        with self._lock:
            self._require_idle()
            self._require_model()
            TrainConfig(epochs=epochs)  # validates the count
            self.limits.check_epochs(epochs)
            self.limits.check_disk("training")
            self._worker.start(self._segment(epochs), wait)

    @mutating
    def apply_edits(self, epochs: int = 5, config: TeacherConfig | None = None, wait: bool = False) -> Teacher:
        """Freeze the pending edits into a teacher and train `epochs` epochs with it.

        With `auto_bias`, the edits' predicted bias report is recorded before the training
        and the measured one after it.
        """
        with self._lock:
            self._require_idle()
            self._require_model()
            if not self.pending:
                raise StateError("there are no pending edits to apply; make an edit first")
            TrainConfig(epochs=epochs)
            self.limits.check_epochs(epochs)
            self.limits.check_disk("training")
            config = config or self.teacher_config
            teacher = self._teacher(self.pending, config)  # on Dask: the ids the sample holds, or streamed
            pending = self._held(self.pending)  # the bias reports' ids: the in-memory sample's
            artifact = self._recorder.teacher(teacher, len(self.teachers) + 1)
            self._recorder.record("edits_applied", {"edit_ids": [p.edit_id for p in pending],
                                                    "teacher_config": config.to_dict(), "epochs": epochs},
                                  {"n_covered": teacher.n_covered}, [artifact])
            job = (RecordedBiasJob(pending, self._require_frame(), self.projection, self.bias_config, self._recorder,
                                   self._worker.report_error, self.teachers) if self.auto_bias else None)
            self._set(teachers=self.teachers + [teacher], pending=[])
            self._worker.start(self._segment(epochs, job), wait)
            return teacher

    @mutating
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

    @mutating
    def pause(self) -> None:
        """Hold the running training at its next progress report (status becomes 'paused')."""
        self._worker.pause()

    @mutating
    def unpause(self) -> None:
        """Let paused training go on."""
        self._worker.unpause()

    @mutating
    def cancel(self) -> None:
        """Stop training after the current step; the partial epoch is rolled back."""
        self._worker.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the worker finishes (tests and the CLI)."""
        self._worker.wait(timeout)

    def close(self, timeout: float | None = 60) -> None:
        """Stop any training, wait for it, and release the workspace (its one-writer lock)."""
        self._worker.cancel()  # not `cancel`: a read-only Session closes too
        self.wait(timeout)
        self._drop_scale()
        self.workspace.close()

    def drain_live(self) -> list[dict]:
        """Live records since the last call, oldest first (thread-safe; one consumer: the UI).

        Kinds: {"kind": "batch", "epoch", "loss"} every few steps (epoch is fractional),
        {"kind": "epoch", "epoch", "train_loss", "val_acc"} per completed epoch,
        {"kind": "error", "message"} when background work fails.
        """
        return self._worker.drain()

    def _segment(self, epochs: int, job: RecordedBiasJob | None = None) -> Segment:
        """A training segment of `epochs` epochs with this Session's hooks (run by the worker)."""
        trainer, dataset = self.trainer, self.dataset
        info = {"start_epoch": trainer.epoch, "epochs": epochs}

        def on_epoch(metrics: dict) -> None:
            self._recorder.checkpoint(trainer, info)
            if self.live_frame and self._frames.due(self.live_frame_interval, self.live_frame_duty):
                self._refresh_frame()
            self.history = self.history + [dict(metrics)]

        def finish(done: int, stopped: str | None = None) -> None:
            if self._learned_owed and done == epochs and not stopped:
                self._fit_owed_view(trainer)  # shows the new view: the refresh below is then skipped
            result = evaluate(self.model, dataset)
            if not self._frames.shows(self.frame, trainer.step):  # the last epoch may show already
                self._refresh_frame()
            self._recorder.record(
                "training_segment",
                {"epochs": done, "requested_epochs": epochs, "n_teachers": len(self.teachers),
                 "cancelled": done < epochs, **({"stopped": stopped} if stopped else {})},
                {**result, "epoch": trainer.epoch, "history": self.history[-done:] if done else []},
                [self._recorder.snapshot(self._require_frame(), f"epoch-{trainer.epoch:05d}")])
            if job is not None:
                job.measure(self.model, dataset, done)

        before = None if job is None else (lambda: job.predict(self.model, dataset, trainer))
        return Segment(trainer, dataset, epochs, list(self.teachers), finish, on_epoch, before,
                       list(self.extra_callbacks), self._batch_stream(trainer))

    # -- guards --------------------------------------------------------------------------------
    def _require_writable(self, verb: str) -> None:
        if self.read_only:
            raise read_only_error(verb, self.read_only_reason)

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

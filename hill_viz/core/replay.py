"""Rebuilding from the log: the state at any event, and an exact replay of a whole path.

`state_at(workspace, event_id)` reads what the path from the root to an event says the
session held at that moment (dataset, model spec, last checkpoint, projection, teachers
in force, pending edits) and `restore(workspace, state)` loads it from the artifacts, each
checked against the SHA-256 its event recorded before it is loaded:
reopening a workspace and reverting use it. No training is re-run.

`replay(source, session)` re-executes the head path on a fresh session (any object with
the Session methods; `core` does not import the session) in another workspace, from the
log alone: same dataset and seed, recorded projection and edit ids; it trains exactly
the epochs the log says were trained and compares every recorded training segment's
metrics, every teacher and the final weights with what it got. Same log, same numbers:
training is deterministic on CPU, so any difference is a real divergence.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from hill_viz.core.data import Dataset, load_dataset
from hill_viz.core.edits import Edit, ResolvedEdit
from hill_viz.core.model import LatentModel, ModelSpec, build_model
from hill_viz.core.projection import Projection
from hill_viz.core.provenance import Event, Workspace
from hill_viz.core.teacher import Teacher, TeacherConfig
from hill_viz.core.training import TrainConfig, Trainer, load_checkpoint_file
from hill_viz.errors import WorkspaceError

EDIT_KINDS = ("edit_added", "edit_updated", "edit_removed")
PROJECTION_FILE = "projection_model"  # the artifact of a learned projection's weights
VIEW_CHANGES = ("dataset_loaded", "model_built", "projection_fitted", "checkpoint", "training_segment")
COMPARED_METRICS = ("train_acc", "val_acc", "test_acc", "per_class_acc", "group_acc", "worst_group_acc")


# -- reading a path -----------------------------------------------------------------------------

@dataclass
class TeacherRecord:
    event_id: int
    artifact: dict           # {"name", "path", "sha256"} of the teacher's .npz
    config: dict             # TeacherConfig fields
    projection: dict         # the projection in force when it was frozen
    edit_ids: list[int]
    event: Event | None = None   # the edits_applied event (it vouches for the file's SHA-256)


@dataclass
class StateAt:
    """What the log says the session held right after `event_id`."""

    event_id: int | None = None
    dataset: dict | None = None          # load_dataset(**dataset)
    model: dict | None = None            # {"spec", "seed", "train_config"}
    checkpoint: dict | None = None       # artifact of the last checkpoint since the model was built
    checkpoint_event: Event | None = None  # the event that recorded it
    epoch: int = 0                       # epochs the model has trained
    projection: dict | None = None
    learned_after: str | None = None     # a learned view owed after the next whole training segment
    teachers: list[TeacherRecord] = field(default_factory=list)
    pending: list[tuple[int, Event]] = field(default_factory=list)   # (edit id, edit_added/updated event)
    history: list[dict] = field(default_factory=list)
    teacher_config: dict | None = None
    interrupted: dict | None = None      # {"start_epoch", "epochs", "done"}: a segment cut short
    max_edit_id: int = 0
    selection: dict | None = None        # the last selector drawn on the view still shown (None: none)


def state_at(workspace: Workspace, event_id: int | None = None) -> StateAt:
    """The session state after `event_id` (default: the head), from the log alone."""
    path = workspace.store.path_to(event_id)
    state = StateAt(event_id=path[-1].id if path else None)
    for ev in path:
        try:
            _advance(state, ev, workspace)
        except (KeyError, TypeError, ValueError) as exc:
            raise WorkspaceError(f"event {ev.id} ({ev.kind}) does not hold what its kind needs "
                                 f"({type(exc).__name__}: {exc}); run `hill-viz verify`") from None
    return state


def projection_record(workspace: Workspace, ev: Event) -> dict:
    """The full `Projection.to_dict()` of a `projection_fitted` event: inline for a linear map,
    from its checked weights file (`PROJECTION_FILE`) for a learned one."""
    p = ev.params["projection"]
    ref = ev.artifact(PROJECTION_FILE)
    if ref is None:
        return p
    return json.loads(workspace.checked(ref, ev).read_bytes())


def _advance(s: StateAt, ev: Event, workspace: Workspace) -> None:
    p, m = ev.params, ev.metrics
    if ev.kind == "selection":
        s.selection = p.get("selector")
    elif ev.kind in VIEW_CHANGES:  # the view moved on: a selector drawn before would select other points
        s.selection = None
    if ev.kind == "dataset_loaded":
        s.dataset, s.model, s.projection, s.learned_after = p["dataset"], None, None, None
        _reset_model_state(s)
    elif ev.kind == "model_built":
        s.model = {"spec": p["spec"], "seed": p["seed"], "train_config": p["train_config"]}
        _reset_model_state(s)
    elif ev.kind == "projection_fitted":
        s.projection, s.learned_after = projection_record(workspace, ev), p.get("learned_after")
    elif ev.kind in EDIT_KINDS:
        s.max_edit_id = max(s.max_edit_id, int(p["edit_id"]))
        kept = [(i, e) for i, e in s.pending if i != p["edit_id"]]
        if ev.kind == "edit_added":
            kept.append((p["edit_id"], ev))
        elif ev.kind == "edit_updated":  # keeps its place in the list
            kept = [(i, ev if i == p["edit_id"] else e) for i, e in s.pending]
        s.pending = kept
    elif ev.kind == "edits_applied":
        s.teachers.append(TeacherRecord(ev.id, ev.artifact("teacher"), p["teacher_config"], s.projection,
                                        list(p["edit_ids"]), ev))
        s.teacher_config = p["teacher_config"]
        s.pending = []
        s.interrupted = None
    elif ev.kind == "checkpoint":
        s.checkpoint, s.checkpoint_event, s.epoch = ev.artifact("checkpoint"), ev, int(p["epoch"])
        seg = p.get("segment")
        if seg:
            s.interrupted = {**seg, "done": s.epoch - seg["start_epoch"]}
    elif ev.kind == "training_segment":
        s.history = s.history + list(m.get("history", []))
        s.interrupted = None


def _reset_model_state(s: StateAt) -> None:
    s.checkpoint, s.checkpoint_event, s.epoch, s.teachers, s.pending, s.history, s.interrupted = \
        None, None, 0, [], [], [], None


def resolved_edit(workspace: Workspace, ev: Event) -> ResolvedEdit:
    """The edit of an edit_added/edit_updated event with its recorded ids (inline or .npy)."""
    p = ev.params
    ids = {}
    for key in ("ids", "other_ids"):
        if key in p:
            ids[key] = np.asarray(p[key], dtype=np.int64)
        elif ev.artifact(key):
            ids[key] = np.load(workspace.checked(ev.artifact(key), ev), allow_pickle=False)
    if "ids" not in ids:
        raise WorkspaceError(f"event {ev.id} ({ev.kind}) has no recorded ids; the workspace is incomplete")
    return ResolvedEdit(Edit.from_dict(p["edit"]), ids["ids"], ids.get("other_ids"))


def teacher_config(d: dict) -> TeacherConfig:
    known = {f.name for f in dataclasses.fields(TeacherConfig)}
    return TeacherConfig(**{k: v for k, v in d.items() if k in known})


def train_config(d: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in known})


# -- restoring objects ----------------------------------------------------------------------------

@dataclass
class Restored:
    dataset: Dataset | None = None
    model: LatentModel | None = None
    trainer: Trainer | None = None
    projection: Projection | None = None
    teachers: list[Teacher] = field(default_factory=list)
    pending: list[tuple[int, ResolvedEdit]] = field(default_factory=list)
    seed: int = 0


def restore(workspace: Workspace, state: StateAt, dataset: Dataset | None = None) -> Restored:
    """Load the objects `state` describes; `dataset` is reused when its params match."""
    out = Restored()
    if state.dataset is None:
        return out
    same = dataset is not None and _jsonish(dataset.params) == _jsonish(state.dataset)
    out.dataset = dataset if same else load_dataset(**state.dataset)
    if state.model is None:
        return out
    spec = ModelSpec.from_dict(state.model["spec"])
    out.seed = int(state.model["seed"])
    out.model = build_model(spec, out.seed)
    out.trainer = Trainer(out.model, train_config(state.model["train_config"]))
    if state.checkpoint is not None:  # every file is checked against its event's SHA-256 before it is loaded
        out.trainer.load_checkpoint(workspace.checked(state.checkpoint, state.checkpoint_event))
    if state.projection is not None:
        out.projection = Projection.from_dict(state.projection)
    for rec in state.teachers:
        if rec.artifact is None:
            raise WorkspaceError(f"edits_applied event {rec.event_id} has no teacher file; the workspace is incomplete")
        path = workspace.checked(rec.artifact, rec.event)
        out.teachers.append(Teacher.load(path, Projection.from_dict(rec.projection), teacher_config(rec.config)))
    out.pending = [(edit_id, resolved_edit(workspace, ev)) for edit_id, ev in state.pending]
    return out


def _jsonish(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


# -- replay ---------------------------------------------------------------------------------------

class ReplayTarget(Protocol):
    """What replay drives: the Session's methods (hill_viz.session.Session)."""

    trainer: Trainer | None
    projection: Projection | None
    history: list
    pending: list
    workspace: Workspace

    def load_dataset(self, name: str | None = None, *, path: str | None = None, **options) -> Dataset: ...
    def build_model(self, latent_dim: int = 16, hidden: int = 128, arch: str = "auto", seed: int = 0,
                    lr: float = 1e-3, batch_size: int | None = None, weight_decay: float = 0.0,
                    projection: str | None = None) -> LatentModel: ...
    def use_projection(self, projection: Projection, reason: str = ...) -> Projection: ...
    def add_resolved_edit(self, resolved: ResolvedEdit, edit_id: int | None = None) -> Any: ...
    def update_resolved_edit(self, edit_id: int, resolved: ResolvedEdit) -> Any: ...
    def remove_edit(self, edit_id: int) -> None: ...
    def apply_edits(self, epochs: int = 5, config: TeacherConfig | None = None, wait: bool = False) -> Teacher: ...
    def train(self, epochs: int, wait: bool = False) -> None: ...
    def metrics(self) -> dict: ...


@dataclass
class SegmentCheck:
    event_id: int
    epoch: int
    recorded: dict
    replayed: dict
    differences: list[str]

    @property
    def equal(self) -> bool:
        return not self.differences


@dataclass
class ReplayReport:
    source: str
    out: str
    n_events: int = 0
    segments: list[SegmentCheck] = field(default_factory=list)
    teachers: list[tuple[int, bool]] = field(default_factory=list)   # (edits_applied event id, equal)
    weights_equal: bool | None = None   # final weights vs the last recorded checkpoint
    final_epoch: int = 0

    @property
    def final(self) -> SegmentCheck | None:
        return self.segments[-1] if self.segments else None

    @property
    def exact(self) -> bool:
        return (all(s.equal for s in self.segments) and all(eq for _, eq in self.teachers)
                and self.weights_equal is not False)

    def to_dict(self) -> dict:
        return {"source": self.source, "out": self.out, "exact": self.exact, "n_events": self.n_events,
                "final_epoch": self.final_epoch, "weights_equal": self.weights_equal,
                "teachers": [{"event_id": i, "equal": eq} for i, eq in self.teachers],
                "segments": [{"event_id": s.event_id, "epoch": s.epoch, "equal": s.equal,
                              "differences": s.differences, "recorded": s.recorded, "replayed": s.replayed}
                             for s in self.segments]}


def _fitted_method(path: list[Event], i: int) -> str | None:
    """The method of the projection fitted right after the model_built event path[i] (None: the default)."""
    for ev in path[i + 1:]:
        if ev.kind == "projection_fitted":
            method = ev.params["projection"]["method"]
            return "pca" if method == "identity" else method
        if ev.kind in ("model_built", "dataset_loaded"):
            break
    return None


def replay(source: Workspace, session: ReplayTarget, event_id: int | None = None,
           progress: Callable[[str], None] | None = None) -> ReplayReport:
    """Re-execute the path to `event_id` (default: the head) on `session`; compare as it goes."""
    say = progress or (lambda _msg: None)
    path = source.store.path_to(event_id)
    report = ReplayReport(str(source.path), str(session.workspace.path), n_events=len(path))
    owed = 0  # the epoch the log says the model has reached so far
    last_checkpoint = None
    for i, ev in enumerate(path):
        p = ev.params
        if ev.kind == "dataset_loaded":
            say(f"event {ev.id}: load dataset {p['dataset'].get('name') or p['dataset'].get('path')}")
            session.load_dataset(**p["dataset"])
            owed, last_checkpoint = 0, None
        elif ev.kind == "model_built":
            say(f"event {ev.id}: build model (seed {p['seed']})")
            spec, cfg = p["spec"], p["train_config"]
            session.build_model(latent_dim=spec["latent_dim"], hidden=spec["hidden"], arch=spec["arch"],
                                seed=p["seed"], lr=cfg["lr"], batch_size=cfg["batch_size"],
                                weight_decay=cfg["weight_decay"], projection=_fitted_method(path, i))
            owed, last_checkpoint = 0, None
        elif ev.kind == "projection_fitted":
            _catch_up(session, owed, say)  # a view fitted after training: on the model as it was then
            recorded = projection_record(source, ev)
            if session.projection is None or session.projection.to_dict() != recorded:
                session.use_projection(Projection.from_dict(recorded), reason=f"replay of event {ev.id}")
        elif ev.kind == "edit_added":
            session.add_resolved_edit(resolved_edit(source, ev), p["edit_id"])
        elif ev.kind == "edit_updated":
            session.update_resolved_edit(p["edit_id"], resolved_edit(source, ev))
        elif ev.kind == "edit_removed":
            session.remove_edit(p["edit_id"])
        elif ev.kind == "edits_applied":
            _catch_up(session, owed, say)
            pending = [pe.edit_id for pe in session.pending]
            if pending != list(p["edit_ids"]):
                raise WorkspaceError(f"event {ev.id}: the log applies edits {p['edit_ids']} but replay has "
                                     f"{pending} pending; the log is inconsistent (run `hill-viz verify`)")
            epochs = max(_epoch_at_next_sync(path, i, session.trainer.epoch) - session.trainer.epoch, 0)
            say(f"event {ev.id}: apply edits {p['edit_ids']} and train {epochs} epochs")
            session.apply_edits(epochs, teacher_config(p["teacher_config"]), wait=True)
            owed = session.trainer.epoch
            report.teachers.append((ev.id, _same_teacher(source, ev, session)))
        elif ev.kind == "checkpoint":
            owed, last_checkpoint = int(p["epoch"]), ev
        elif ev.kind == "training_segment":
            owed = int(ev.metrics["epoch"])
            _catch_up(session, owed, say)
            report.segments.append(_check_segment(ev, session))
            say(f"event {ev.id}: epoch {owed}: {'equal' if report.segments[-1].equal else 'DIFFERENT'}")
        # selection, bias_report, revert, annotation, sharing: nothing to redo (a revert is already in the path)
    _catch_up(session, owed, say)
    if session.trainer is not None:
        report.final_epoch = session.trainer.epoch
        if last_checkpoint is not None and int(last_checkpoint.params["epoch"]) == session.trainer.epoch:
            report.weights_equal = _same_weights(source, last_checkpoint, session.trainer)
    return report


def _catch_up(session: ReplayTarget, epoch: int, say) -> None:
    if session.trainer is not None and epoch > session.trainer.epoch:
        say(f"train {epoch - session.trainer.epoch} epochs (to epoch {epoch})")
        session.train(epoch - session.trainer.epoch, wait=True)


def _epoch_at_next_sync(path: list[Event], i: int, epoch: int) -> int:
    """The epoch the model reached with the teachers of path[i] in force, before anything changed them."""
    for ev in path[i + 1:]:
        if ev.kind in ("edits_applied", "model_built", "dataset_loaded"):
            break
        if ev.kind == "checkpoint":
            epoch = int(ev.params["epoch"])
        elif ev.kind == "training_segment":
            return int(ev.metrics["epoch"])
    return epoch


def _check_segment(ev: Event, session: ReplayTarget) -> SegmentCheck:
    replayed = session.metrics()
    recorded = {k: ev.metrics.get(k) for k in COMPARED_METRICS}
    replayed = {k: replayed.get(k) for k in COMPARED_METRICS}
    diffs = _differences(recorded, replayed)
    hist = list(ev.metrics.get("history", []))
    if hist:  # per-epoch losses of the segment: the tightest check there is
        mine = [{k: h.get(k) for k in hist[0]} for h in session.history[-len(hist):]]
        diffs += [f"history{d}" for d in _differences(hist, mine)]
    return SegmentCheck(ev.id, int(ev.metrics["epoch"]), recorded, replayed, diffs)


def _differences(a, b, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k), b.get(k), f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} entries recorded, {len(b)} replayed"]
        return [d for k, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{k}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b else [f"{where or 'value'}: recorded {a!r}, replayed {b!r}"]


def _same_teacher(source: Workspace, ev: Event, session: ReplayTarget) -> bool:
    """The recorded teacher file and the one replay just froze hold the same arrays."""
    ref = ev.artifact("teacher")
    mine = session.workspace.store.events(("edits_applied",))[-1].artifact("teacher")
    if ref is None or mine is None or source.artifact_problem(ref):  # a changed record differs by definition
        return False
    with np.load(source.resolve(ref["path"])) as a, np.load(session.workspace.resolve(mine["path"])) as b:
        mine = set(b.files) - ({"ids"} if "ids" not in a.files else set())  # saved before ids were kept
        return set(a.files) == mine and all(np.array_equal(a[k], b[k]) for k in a.files)


def _same_weights(source: Workspace, checkpoint: Event, trainer: Trainer) -> bool:
    ref = checkpoint.artifact("checkpoint")
    if ref is None or source.artifact_problem(ref):
        return False
    recorded = load_checkpoint_file(source.resolve(ref["path"]))["model"]
    mine = trainer.model.state_dict()
    return recorded.keys() == mine.keys() and all(recorded[k].equal(mine[k]) for k in mine)

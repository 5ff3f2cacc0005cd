"""Recording: every Session action as a provenance event, with the files it names.

Events go to the workspace's append-only store and are committed before the call
returns. What is too large for an event row goes to a file the event names: id lists of
large edits, model checkpoints, latent snapshots for the timeline, teachers. After each
event, `on_head` is told the workspace's new head (the Session's `head` parameter).
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from hill_viz.core import replay as _replay
from hill_viz.core.edits import Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.projection import Projection
from hill_viz.core.provenance import Event, Workspace, atomic_write, write_snapshot
from hill_viz.core.teacher import Teacher
from hill_viz.core.workspaces import index_event
from hill_viz.core.training import Trainer
from hill_viz.session.pending import PendingEdit

__all__ = ["INLINE_IDS_MAX", "Recorder"]

INLINE_IDS_MAX = 10_000  # larger id lists go to an artifact file, not the event row


class Recorder:
    """Appends a Session's events to its workspace, as `actor`."""

    def __init__(self, workspace: Workspace, actor: str | None, on_head: Callable[[int | None], None]):
        self.workspace = workspace
        self.actor = actor
        self._on_head = on_head
        self._head_lock = threading.Lock()  # events are recorded from the worker and the UI's threads

    def record(self, kind: str, params: dict | None = None, metrics: dict | None = None,
               artifacts: list | None = None, parent_id: int | None = None) -> Event:
        """Append one event (a child of `parent_id`, default the head) and publish the new head."""
        where = {} if parent_id is None else {"parent_id": parent_id}
        event = self.workspace.store.append(kind, params, metrics, artifacts, actor=self.actor, **where)
        index_event(self.workspace, event)  # the workspace list's row, if its folder keeps an index
        with self._head_lock:  # read under the lock: the last one published is the store's head
            self._on_head(self.workspace.store.head)
        return event

    # -- what each action records -------------------------------------------------------------
    def edit(self, kind: str, pending: PendingEdit) -> Event:
        """An `edit_added` / `edit_updated` event: the edit, and its resolved ids inline or as files."""
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
                atomic_write(self.workspace.resolve(name), lambda fh: np.save(fh, ids))
                artifacts.append(self.workspace.artifact(name, key))
        metrics = {"n_ids": int(len(r.ids)),
                   "n_other_ids": None if r.other_ids is None else int(len(r.other_ids))}
        return self.record(kind, params, metrics, artifacts)

    def selection(self, selector: Selector, n_selected: int) -> Event:
        return self.record("selection", {"selector": _selector_summary(selector)}, {"n_selected": n_selected})

    def checkpoint(self, trainer: Trainer, segment: dict | None) -> Event:
        """Save the trainer's state (atomically) and record it, with the segment it belongs to."""
        name = self.workspace.reserve(f"checkpoints/epoch-{trainer.epoch:05d}.pt")
        trainer.save_checkpoint(self.workspace.resolve(name))
        return self.record("checkpoint", {"epoch": trainer.epoch, "step": trainer.step, "segment": segment},
                           artifacts=[self.workspace.artifact(name, "checkpoint")])

    def teacher(self, teacher: Teacher, number: int) -> dict:
        """Save a teacher's frozen targets; the artifact reference for its `edits_applied` event."""
        name = self.workspace.reserve(f"artifacts/teacher-{number:04d}.npz")
        teacher.save(self.workspace.resolve(name))
        return self.workspace.artifact(name, "teacher")

    def projection(self, projection: Projection, reason: str, snapshot: dict,
                   learned_after: str | None = None) -> Event:
        """A `projection_fitted` event. A linear map is inline; a learned one's weights go to a
        JSON file the event names (its SHA-256 in the reference), the event keeps its settings.
        `learned_after`: the learned method this (first) view stands in for until the model has trained."""
        params = {"projection": projection.to_dict(), "reason": reason, "sha256": projection.sha256,
                  **({"learned_after": learned_after} if learned_after else {})}
        artifacts = [snapshot]
        if not projection.is_linear:
            name = self.workspace.reserve(f"artifacts/projection-{(self.workspace.store.head or 0) + 1:05d}.json")
            atomic_write(self.workspace.resolve(name), lambda fh: fh.write(projection.to_json()))
            artifacts.append(self.workspace.artifact(name, _replay.PROJECTION_FILE))
            params["projection"] = {k: v for k, v in params["projection"].items() if k != "weights"}
        return self.record("projection_fitted", params, artifacts=artifacts)

    def snapshot(self, frame: LatentFrame, stem: str) -> dict:
        """A small Parquet copy of the latent frame (id, x, y, label, pred) for the timeline."""
        return write_snapshot(self.workspace, frame.df, stem)

    def max_edit_id(self) -> int:
        """The largest edit id on any branch, so ids stay unique after a revert."""
        return self.workspace.store.max_int_param("edit_id", _replay.EDIT_KINDS) or 0


def _selector_summary(selector: Selector) -> dict:
    d = selector.to_dict()
    if d.get("kind") == "ids" and len(d["ids"]) > INLINE_IDS_MAX:
        return {"kind": "ids", "n": len(d["ids"])}
    return d

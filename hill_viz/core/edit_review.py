"""What a reviewer looks at per edit: the edit, where it was drawn, what it did, what people said.

`edit_reviews(workspace)` gives one `EditReview` per edit ever made (on any branch): its
latest recorded form and ids, whether it was applied (and by which event), removed or is
still pending, its predicted and measured bias reports, the review comments on its
events, and the event whose latent snapshot shows the view it was drawn on. The review
page and the HTML report both read it. `snapshot_png` draws a snapshot with an edit's
points ringed; two drawn with the same `bounds` share colours and scales.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hill_viz.core.provenance import Event, Workspace, read_snapshot
from hill_viz.core.replay import resolved_edit
from hill_viz.core.review import bias_indicators, snapshot_event, worst_severity
from hill_viz.errors import HillError
from hill_viz.render.palette import palette

__all__ = ["EditReview", "edit_reviews", "head_snapshot", "shared_bounds", "snapshot_png"]


@dataclass
class EditReview:
    edit_id: int
    description: str
    actor: str
    ts: str
    event_id: int                        # its latest edit_added / edit_updated event
    ids: np.ndarray
    status: str = "pending"              # pending, applied, removed
    applied_event: int | None = None
    on_head: bool = False                # on the current branch
    snapshot_event: int | None = None    # the event whose snapshot shows the view it was drawn on
    reports: list[Event] = field(default_factory=list)    # bias reports about it, oldest first
    comments: list[Event] = field(default_factory=list)   # annotations on any of its events

    def report(self, phase: str) -> Event | None:
        """The latest bias report of `phase` ('predicted' or 'measured')."""
        return next((r for r in reversed(self.reports) if r.params.get("phase") == phase), None)

    def severity(self, phase: str) -> int:
        rep = self.report(phase)
        return -1 if rep is None else worst_severity(rep.metrics)

    def indicators(self, phase: str) -> dict[str, dict]:
        rep = self.report(phase)
        return {} if rep is None else bias_indicators(rep.metrics)


def edit_reviews(workspace: Workspace) -> list[EditReview]:
    """One EditReview per edit id in the log, by edit id."""
    store = workspace.store
    on_head = {e.id for e in store.path_to()}
    edits: dict[int, EditReview] = {}
    events_of: dict[int, set[int]] = {}
    for ev in store.events(("edit_added", "edit_updated", "edit_removed", "edits_applied", "bias_report")):
        p = ev.params
        if ev.kind in ("edit_added", "edit_updated"):
            k = int(p["edit_id"])
            old = edits.get(k)
            edits[k] = EditReview(k, str(p.get("description", "")), ev.actor, ev.ts, ev.id, _ids(workspace, ev),
                                  reports=old.reports if old else [], comments=[])
            edits[k].on_head = ev.id in on_head
            events_of.setdefault(k, set()).add(ev.id)
        elif ev.kind == "edit_removed" and int(p["edit_id"]) in edits:
            edits[int(p["edit_id"])].status = "removed"
            events_of[int(p["edit_id"])].add(ev.id)
        else:
            for k in (int(i) for i in p.get("edit_ids", ())):
                if k not in edits:
                    continue
                events_of[k].add(ev.id)
                if ev.kind == "edits_applied":
                    edits[k].status, edits[k].applied_event = "applied", ev.id
                    edits[k].on_head = edits[k].on_head or ev.id in on_head
                else:
                    edits[k].reports.append(ev)
    for note in store.events(("annotation",)):
        for k, ids in events_of.items():
            if int(note.params.get("event_id", -1)) in ids:
                edits[k].comments.append(note)
    for review in edits.values():
        at = snapshot_event(store, review.event_id)
        review.snapshot_event = None if at is None else at.id
    return [edits[k] for k in sorted(edits)]


def _ids(workspace: Workspace, ev: Event) -> np.ndarray:
    try:
        return resolved_edit(workspace, ev).ids
    except HillError:  # an incomplete record: the review shows the edit without its points
        return np.empty(0, dtype=np.int64)


def snapshot_of(workspace: Workspace, event_id: int | None) -> pd.DataFrame | None:
    """The latent snapshot recorded by event `event_id` (None: none)."""
    if event_id is None:
        return None
    ref = workspace.store.get(event_id).artifact("snapshot")
    return None if ref is None else read_snapshot(workspace, ref["path"])


def head_snapshot(workspace: Workspace) -> tuple[int | None, pd.DataFrame | None]:
    """(event, snapshot): the newest snapshot on the current branch, the view as it is now."""
    head = workspace.store.head
    at = None if head is None else snapshot_event(workspace.store, head)
    return (None, None) if at is None else (at.id, snapshot_of(workspace, at.id))


def shared_bounds(*frames: pd.DataFrame | None, pad: float = 0.04) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) covering every frame given: one scale for images drawn side by side."""
    xs = np.concatenate([f["x"].to_numpy() for f in frames if f is not None and len(f)] or [np.zeros(1)])
    ys = np.concatenate([f["y"].to_numpy() for f in frames if f is not None and len(f)] or [np.zeros(1)])
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    dx, dy = max(x1 - x0, 1e-6) * pad, max(y1 - y0, 1e-6) * pad
    return float(x0 - dx), float(y0 - dy), float(x1 + dx), float(y1 + dy)


def snapshot_png(frame: pd.DataFrame, bounds: tuple[float, float, float, float], highlight: np.ndarray | None = None,
                 n_classes: int | None = None, size: int = 360) -> bytes:
    """A PNG of the snapshot's points coloured by label; `highlight` ids ringed in black on top."""
    from PIL import Image

    img = np.full((size, size, 3), 255, dtype=np.uint8)
    x0, y0, x1, y1 = bounds
    px = np.clip(((frame["x"].to_numpy() - x0) / (x1 - x0) * (size - 1)).astype(int), 0, size - 1)
    py = np.clip(((y1 - frame["y"].to_numpy()) / (y1 - y0) * (size - 1)).astype(int), 0, size - 1)
    labels = frame["label"].to_numpy().astype(int)
    colors = np.array([_rgb(c) for c in palette(n_classes or int(labels.max(initial=0)) + 1)], dtype=np.uint8)
    _dots(img, px, py, colors[labels % len(colors)], 1)
    if highlight is not None and len(highlight):
        mine = np.isin(frame["id"].to_numpy(), highlight)
        _dots(img, px[mine], py[mine], np.zeros((int(mine.sum()), 3), dtype=np.uint8), 2, ring=True)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _dots(img: np.ndarray, px: np.ndarray, py: np.ndarray, rgb: np.ndarray, r: int, ring: bool = False) -> None:
    size = img.shape[0]
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            if ring and max(abs(dx), abs(dy)) < r:
                continue
            img[np.clip(py + dy, 0, size - 1), np.clip(px + dx, 0, size - 1)] = rgb


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

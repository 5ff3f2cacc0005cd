"""Pending edits drawn over the cloud: an arrow from each group's centroid to its target
centroid, the target outline (convex hull of the target positions), and a label.

`edit_previews` is plain numpy over the latent frame; `preview_overlay` turns the
previews into HoloViews elements.
"""
from __future__ import annotations

from dataclasses import dataclass

import holoviews as hv
import numpy as np
from scipy.spatial import ConvexHull, QhullError

from hill_viz.core.edits import edit_targets
from hill_viz.core.frame import LatentFrame

OUTLINE_SAMPLE = 2_000  # target points used for an outline; plenty for a hull
EDIT_COLOR = "#CC3311"
PARTNER_COLOR = "#0077BB"


@dataclass(frozen=True)
class GroupPreview:
    """Where one group of an edit is and where the edit sends it, in view coordinates."""

    edit_id: int
    label: str
    start: tuple[float, float]           # current centroid
    end: tuple[float, float]             # target centroid
    outline: np.ndarray                  # (V, 2) closed hull of the targets; (0, 2) if degenerate
    partner: bool = False                # the second group of separate/merge


def group_positions(frame: LatentFrame, ids: np.ndarray) -> np.ndarray:
    """View positions (M, 2) of those of the given ids the current frame holds (on Dask the
    frame is the Session's sample, an edit's ids cover every row)."""
    ctx = frame.context()
    ids = np.asarray(ids)
    rows = ctx.rows_of_ids(ids[ctx.id_index.contains(ids)])
    return np.column_stack([frame.column("x")[rows], frame.column("y")[rows]]).astype(np.float64)


def centroid(frame: LatentFrame, ids: np.ndarray) -> tuple[float, float]:
    cx, cy = group_positions(frame, ids).mean(axis=0)
    return float(cx), float(cy)


def _outline(points: np.ndarray, seed: int = 0) -> np.ndarray:
    if len(points) > OUTLINE_SAMPLE:
        points = points[np.random.default_rng(seed).choice(len(points), OUTLINE_SAMPLE, replace=False)]
    if len(points) < 3:
        return np.empty((0, 2))
    try:
        hull = ConvexHull(points)
    except QhullError:  # all points on a line
        return np.empty((0, 2))
    ring = points[hull.vertices]
    return np.vstack([ring, ring[:1]])


def edit_previews(frame: LatentFrame, pending) -> list[GroupPreview]:
    """One preview per moved group of each pending edit (`Session.pending` items)."""
    out = []
    for item in pending:
        r = item.resolved
        p = group_positions(frame, r.ids)
        q = None if r.other_ids is None else group_positions(frame, r.other_ids)
        if not len(p) or (q is not None and not len(q)):
            continue  # the frame holds none of the group
        tp, tq = edit_targets(r.edit, p, q)
        label = f"#{item.edit_id} {r.edit.op}"
        out.append(GroupPreview(item.edit_id, label, tuple(p.mean(0)), tuple(tp.mean(0)), _outline(tp)))
        if q is not None and tq is not None and r.edit.op == "separate":
            out.append(GroupPreview(item.edit_id, label, tuple(q.mean(0)), tuple(tq.mean(0)), _outline(tq), True))
    return out


def _arrow_segments(previews: list[GroupPreview], head: float) -> list[tuple[float, float, float, float]]:
    """Shaft and two head strokes for each arrow; `head` is the head length in view units."""
    segments = []
    for pv in previews:
        (x0, y0), (x1, y1) = pv.start, pv.end
        length = np.hypot(x1 - x0, y1 - y0)
        if length < 1e-9:
            continue
        segments.append((x0, y0, x1, y1))
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        h = min(head, 0.4 * length)
        for angle in (0.45, -0.45):  # radians either side of the shaft
            c, s = np.cos(angle), np.sin(angle)
            bx, by = -(ux * c - uy * s), -(ux * s + uy * c)
            segments.append((x1, y1, x1 + h * bx, y1 + h * by))
    return segments


def preview_overlay(previews: list[GroupPreview], head: float) -> hv.Overlay:
    """Arrows, target outlines and labels; empty elements when nothing is pending."""
    segments = _arrow_segments(previews, head)
    arrows = hv.Segments(segments or [], kdims=["x0", "y0", "x1", "y1"]).opts(
        color=EDIT_COLOR, line_width=3)
    outlines = hv.Path([pv.outline for pv in previews if len(pv.outline)], kdims=["x", "y"]).opts(
        color=EDIT_COLOR, line_dash="dashed", line_width=2)
    starts = hv.Points([pv.start for pv in previews], kdims=["x", "y"]).opts(
        color=EDIT_COLOR, size=8, marker="circle")
    labels = hv.Labels([(pv.end[0], pv.end[1], pv.label) for pv in previews if not pv.partner],
                       kdims=["x", "y"], vdims=["text"]).opts(
        text_color=EDIT_COLOR, text_font_size="11pt", text_font_style="bold", yoffset=0, xoffset=0,
        text_align="left", text_baseline="bottom")
    return arrows * outlines * starts * labels

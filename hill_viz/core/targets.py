"""Where edits send their samples: one plan of targets for the Teacher and the bias report.

`EditPlan.build` applies the resolved edits in order, each on top of the previous
targets, to the rows they involve, and keeps the covered rows of the train split: their
target view positions, weights, contrastive groups (the Teacher's) and relations (merges
and contractions, which the bias report also reads off the view plane).

`lift` is the one place a target view position t becomes a target latent (for a linear
view z* = z + P^+ (t - P z); for a learned one the projection's solve); `off_plane` is the
part of a latent displacement the view does not show (locally, for a learned view). `EditTargets` is the bias report's reading of a plan: target latents for any
covered rows, with the relational part off the plane.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hill_viz.core.data import SPLITS, Dataset
from hill_viz.core.edits import Edit, ResolvedEdit, edit_targets
from hill_viz.core.ids import IdIndex
from hill_viz.core.model import LatentModel, infer
from hill_viz.core.projection import Projection
from hill_viz.errors import EditError

__all__ = ["EditPlan", "EditTargets", "Relation", "lift", "off_plane", "sample_rows"]


# ---------------------------------------------------------------------------- view plane <-> latent space


def lift(projection: Projection, z: np.ndarray, target_view: np.ndarray,
         view: np.ndarray | None = None) -> np.ndarray:
    """Target latents z* (N, d) near latents z (N, d) with P(z*) = t for targets t (N, 2).

    A linear view: z* = z + P^+ (t - P z) (view: P z when already known, the same numbers
    without projecting again). A learned view: the projection's own solve from z
    (`Projection.target_latents`); `view` is not needed there.
    """
    if not projection.is_linear:
        return projection.target_latents(z, target_view)
    view = projection.transform(z) if view is None else view
    return z + projection.lift(target_view - view)


def off_plane(v: np.ndarray, projection: Projection, z: np.ndarray | None = None) -> np.ndarray:
    """(I - P^+ P) v: the part of latent displacements v (N, d) the view does not show.

    z: the latents (N, d) the displacements start from; a learned view's plane is local
    (its Jacobian at z), so it needs them; a linear view ignores them.
    """
    if not projection.is_linear:
        if z is None:
            raise ValueError("off_plane through a learned projection needs the latents z the displacements start at")
        return projection.off_plane(z, v)
    comps = projection.components.numpy()  # (2, d), orthonormal rows
    return v - (v @ comps.T) @ comps


def sample_rows(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """At most n of `rows`, sorted (all of them when there are no more than n)."""
    return rows if len(rows) <= n else np.sort(rng.choice(rows, size=n, replace=False))


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True, eq=False)
class Relation:
    """A merge (the selection takes on its partner's latent centroid) or a contract (the
    selection tightens about its own centroid by `factor`)."""

    own: np.ndarray                 # dataset rows of the edit's selection
    partner: np.ndarray | None      # merge: the partner's rows; contract: None
    factor: float                   # contract factor; 1 for a merge


@dataclass(frozen=True, eq=False)
class EditPlan:
    """The targets of the covered training rows, computed once for everyone who needs them."""

    rows: np.ndarray                # (M,) covered train rows of the dataset, sorted
    view: np.ndarray                # (M, 2) their view positions when the edits were made
    target_view: np.ndarray         # (M, 2)
    weight: np.ndarray              # (M,) float32: the covering edit's weight (a partner: the largest)
    group: np.ndarray               # (M,) 0..G-1: contrastive groups (a merge joins its two selections)
    origin: np.ndarray              # (M,) 0..O-1: the selection each row came in with
    relation: np.ndarray            # (M,) index into `relations`, -1: none (a row's last one wins)
    relations: tuple[Relation, ...]
    latent: np.ndarray | None = None  # (M, d) the rows' latents, when the plan inferred them

    @classmethod
    def build(cls, edits: Sequence[ResolvedEdit], dataset: Dataset, model: LatentModel, projection: Projection,
              view_xy: np.ndarray | None = None) -> "EditPlan":
        """Apply the edits in order, each on top of the previous targets; keep the train rows.

        view_xy: the view position of every row (a LatentFrame's x, y), which spares the
        inference of the rows involved; without it they are inferred (and kept in `latent`).
        """
        if not edits:
            raise EditError("no edits to teach or check; add at least one edit")
        index = IdIndex.of(dataset)
        pairs = [(index.rows(r.ids), None if r.other_ids is None else index.rows(r.other_ids)) for r in edits]
        involved = np.unique(np.concatenate([a if b is None else np.r_[a, b] for a, b in pairs]))  # (K,) rows
        z = None
        if view_xy is None:
            z, _ = infer(model, dataset.features, involved)                 # (K, d)
            view = projection.transform(z)                                  # (K, 2)
        else:
            view = np.asarray(view_xy, dtype=np.float32)[involved]          # (K, 2)
        walk = _Walk(view)
        for k, (r, (rows, other)) in enumerate(zip(edits, pairs)):
            walk.apply(k, r.edit, rows, other, np.searchsorted(involved, rows),
                       None if other is None else np.searchsorted(involved, other))
        keep = np.flatnonzero(walk.touched & (dataset.split[involved] == SPLITS.index("train")))
        if len(keep) == 0:
            raise EditError("the edits cover no training samples; select points of the train split")
        _, group = np.unique(walk.group[keep], return_inverse=True)
        _, origin = np.unique(walk.origin[keep], return_inverse=True)
        return cls(involved[keep], view[keep], walk.target[keep], walk.weight[keep], group, origin,
                   walk.relation[keep], tuple(walk.relations), None if z is None else z[keep])

    @property
    def n_covered(self) -> int:
        return len(self.rows)

    def target_latent(self, projection: Projection) -> np.ndarray:
        """Target latents (M, d) of the covered rows, moved in the view plane only."""
        if self.latent is None:
            raise ValueError("the plan was built from view positions; build it without view_xy for latents")
        return lift(projection, self.latent, self.target_view, self.view)


class _Walk:
    """The targets of the K rows involved, as the edits apply one after another."""

    def __init__(self, view: np.ndarray):
        k = len(view)
        self.target = view.copy()                        # (K, 2)
        self.touched = np.zeros(k, dtype=bool)
        self.weight = np.zeros(k, dtype=np.float32)
        self.group = np.full(k, -1, dtype=np.int64)
        self.origin = np.full(k, -1, dtype=np.int64)     # the selection a row came in with
        self.relation = np.full(k, -1, dtype=np.int32)
        self.relations: list[Relation] = []

    def apply(self, k: int, edit: Edit, rows: np.ndarray, other: np.ndarray | None, a: np.ndarray,
              b: np.ndarray | None) -> None:
        """Edit number k on dataset rows `rows` (and partner `other`), at positions a (and b)."""
        t_sel, t_other = edit_targets(edit, self.target[a], None if b is None else self.target[b])
        self.target[a] = t_sel
        self.touched[a] = True
        self.weight[a] = edit.weight
        self.group[a] = self.origin[a] = 2 * k
        if b is not None and t_other is not None:
            self.origin[b] = np.where(self.origin[b] >= 0, self.origin[b], 2 * k + 1)
            self.target[b] = t_other
            self.touched[b] = True
            self.weight[b] = np.maximum(self.weight[b], edit.weight)
            if edit.op == "merge":  # the selection joins the partner's group
                known = self.group[b][self.group[b] >= 0]
                self.group[b] = self.group[a] = int(np.bincount(known).argmax()) if len(known) else 2 * k + 1
            else:
                self.group[b] = 2 * k + 1
        if edit.op in ("merge", "contract"):
            factor = 1.0 if edit.op == "merge" else float(edit.param("factor"))
            self.relations.append(Relation(rows, other if edit.op == "merge" else None, factor))
            self.relation[a] = len(self.relations) - 1


# ---------------------------------------------------------------------------- the bias report's reading


@dataclass(frozen=True, eq=False)
class EditTargets:
    """Target latents of a plan's covered rows, for the bias report.

    In the view plane exactly where the teacher sends them (`lift`). With the relational
    reading (`from_edits(..., relational=True)`), a merge or contract also holds off the
    plane, as the teacher's contrastive term reads it: a merged selection takes on its
    partner's latent centroid in the directions the view does not show, and a contracted
    one tightens about its own centroid there too.
    """

    plan: EditPlan
    shift: np.ndarray | None = None    # (E, d) per relation: partner centroid - own centroid (0: contract)
    factor: np.ndarray | None = None   # (E,) contract factor (1 for merges)
    centre: np.ndarray | None = None   # (E, d) own latent centroid

    @classmethod
    def from_edits(cls, edits: Sequence[ResolvedEdit], dataset: Dataset, model: LatentModel,
                   projection: Projection, view_xy: np.ndarray | None = None, relational: bool = True,
                   group_sample: int = 32, seed: int = 0) -> "EditTargets":
        """The plan of the edits (see `EditPlan.build`) and, for the relational reading, the
        latent centroids of their selections, each from at most `group_sample` rows."""
        return cls.of_plan(EditPlan.build(edits, dataset, model, projection, view_xy), dataset, model,
                           relational, group_sample, seed)

    @classmethod
    def of_plan(cls, plan: EditPlan, dataset: Dataset, model: LatentModel, relational: bool = True,
                group_sample: int = 32, seed: int = 0) -> "EditTargets":
        if not relational or not plan.relations:
            return cls(plan)
        groups: list[np.ndarray] = []  # distinct row groups (a merge partner often recurs), each once
        own, partner = [], []
        for r in plan.relations:  # in order: the groups' samples are drawn in this order
            own.append(_group_index(groups, r.own))
            partner.append(own[-1] if r.partner is None else _group_index(groups, r.partner))
        centroids = _latent_centroids(model, dataset, groups, group_sample, seed)      # (G, d)
        factor = np.array([r.factor for r in plan.relations], dtype=np.float32)
        return cls(plan, centroids[partner] - centroids[own], factor, centroids[own])

    @property
    def rows(self) -> np.ndarray:
        return self.plan.rows

    @property
    def n_covered(self) -> int:
        return self.plan.n_covered

    def latents(self, rows: np.ndarray, z: np.ndarray, projection: Projection) -> np.ndarray:
        """Target latents (R, d) of covered `rows` whose current latents are z (R, d)."""
        pos = np.searchsorted(self.plan.rows, rows)
        target = lift(projection, z, self.plan.target_view[pos])
        if self.shift is None:
            return target
        e = self.plan.relation[pos]
        has = e >= 0
        off = self.shift[e[has]] + (self.factor[e[has]] - 1)[:, None] * (z[has] - self.centre[e[has]])
        target[has] += off_plane(off, projection, target[has])  # the plane at z*
        return target

    def moved(self, rows: np.ndarray, z: np.ndarray, projection: Projection) -> np.ndarray:
        """Mask of the covered `rows` the edits actually move (pinned rows and partners that
        hold still do not count)."""
        shift = np.linalg.norm(self.latents(rows, z, projection) - z, axis=1)
        scale = float(np.sqrt(z.var(0).sum())) or 1.0
        return shift > 1e-3 * scale


def _group_index(groups: list[np.ndarray], rows: np.ndarray) -> int:
    for i, seen in enumerate(groups):
        if len(seen) == len(rows) and (seen is rows or np.array_equal(seen, rows)):
            return i
    groups.append(rows)
    return len(groups) - 1


def _latent_centroids(model: LatentModel, dataset: Dataset, groups: list[np.ndarray], cap: int,
                      seed: int) -> np.ndarray:
    """Mean latent of each group of rows, each from at most `cap` of its rows, in one inference."""
    rng = np.random.default_rng([seed, 0xCE])
    picks = [sample_rows(g, cap, rng) for g in groups]
    union, inverse = np.unique(np.concatenate(picks), return_inverse=True)
    z, _ = infer(model, dataset.features, union)
    bounds = np.cumsum([0] + [len(p) for p in picks])
    return np.stack([z[inverse[bounds[i]:bounds[i + 1]]].mean(0) for i in range(len(picks))])

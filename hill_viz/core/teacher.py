"""Teacher: edits -> frozen target latents; the distillation losses that pull the model there.

At edit time the teacher freezes the latents and the projection. A covered sample with
latent z and view position p = P z gets a target view position t from the edits (applied
in order, each on top of the previous targets) and a target latent z* = z + P^+ (t - p).

Losses, all divided by the squared spread of the frozen latents/view so that `lambda`
means the same across models:
- position (weight `lambda_`), projected (default): ||P f(x) - t||^2, only the plane the
  user saw is constrained; full (FitNets, Romero et al. 2015): ||f(x) - z*||^2;
- anchor (weight mu): ||f(x) - z||^2 for uncovered training samples;
- relational (weight `relational`): supervised contrastive loss (Khosla et al. 2020) over
  the edit groups, in the spirit of Correct-N-Contrast (Zhang et al. 2022): samples an
  edit merged or moved together attract, groups an edit kept or pushed apart repel.
  With positives="across" only group mates that came in through another selection
  attract (the two sides of a merge: the hard pairs), so single-selection edits add nothing.

The default `TeacherConfig()` is the one the evidence supports (docs/results.md): a
light position term (lambda 0.1) and the contrastive term with positives "across". The
app's Apply, `hill-viz train --edits` and `hill-viz simulate` all start from it. What
each op teaches with it (`reading`):
- merge A onto B: A's view positions are pulled onto B's centroid (position term) and
  each A sample attracts the B samples in the full latent space, repelling every other
  edit group of the same Apply (contrastive term): "A and B are the same".
- separate A from B: both move apart along the line between them (position term); with
  positives "across" no contrastive pull (each side is one selection), but their samples
  are negatives for the merges of the same Apply. positives="group" would make each side
  attract itself and repel the other (not measured).
- contract A: A's positions tighten about their centroid (position term only).
- translate A: A's positions shift by (dx, dy) (position term only).
- pin A: A's positions are held where they are (position term only).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hill_viz.core.data import Dataset
from hill_viz.core.edits import ResolvedEdit
from hill_viz.core.ids import IdIndex
from hill_viz.core.model import LatentModel, infer
from hill_viz.core.projection import Projection
from hill_viz.core.provenance import atomic_write
from hill_viz.core.targets import EditPlan
from hill_viz.errors import ConfigError

LOSS_MODES = ("projected", "full")
POSITIVES = ("group", "across")


@dataclass(frozen=True)
class TeacherConfig:
    """How applied edits teach; the defaults are the evidence-backed teacher everyone uses."""

    lambda_: float = 0.1       # weight of the position term
    mode: str = "projected"    # "projected" or "full"
    mu: float = 0.0            # weight of the anchor term for uncovered samples
    relational: float = 1.0    # weight of the contrastive term over edit groups
    tau: float = 0.2           # temperature of the contrastive term
    positives: str = "across"  # contrastive positives: "across" (group mates from another selection:
                               # the hard pairs a merge joins) or "group" (any group mate)

    def __post_init__(self):
        if self.mode not in LOSS_MODES:
            raise ConfigError(f"loss mode must be one of {', '.join(LOSS_MODES)}, got {self.mode!r}")
        for name in ("lambda_", "mu", "relational"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 <= v <= 1e4):
                raise ConfigError(f"{name.rstrip('_')} must be between 0 and 10000, got {v}")
        if not (np.isfinite(self.tau) and 0 < self.tau <= 10):
            raise ConfigError(f"tau must be in (0, 10], got {self.tau}")
        if self.positives not in POSITIVES:
            raise ConfigError(f"positives must be one of {', '.join(POSITIVES)}, got {self.positives!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def reading(self, op: str) -> str:
        """What an Apply of an `op` edit teaches with this configuration, in one line."""
        position = {"merge": "pulls A's view positions onto B's", "separate": "pushes A and B apart",
                    "contract": "tightens A about its centre", "translate": "moves A by (dx, dy)",
                    "pin": "holds A where it is"}[op]
        parts = [position if self.lambda_ > 0 else ""]
        if self.relational > 0 and (op == "merge" or (op == "separate" and self.positives == "group")):
            parts.append("A's latents attract B's (contrastive)" if op == "merge" else
                         "A and B repel in the latents (contrastive)")
        text = ", ".join(p for p in parts if p) or "nothing (both weights are 0)"
        return f"{op}: {text}"

    def teaches(self, ops) -> str:
        """One line of what an Apply of edits with these ops teaches (each op once, in order)."""
        seen = list(dict.fromkeys(ops))
        if not seen:
            return "no pending edits"
        terms = [f"position λ={self.lambda_:g} ({self.mode})"]
        if self.relational > 0:
            terms.append(f"contrastive {self.relational:g}, τ={self.tau:g}, positives {self.positives}")
        return "; ".join(self.reading(op) for op in seen) + " [" + "; ".join(terms) + "]"


class Teacher:
    """Frozen targets for the covered training rows of a dataset.

    Built from the model at edit time: only the latents of covered rows (and, with an
    anchor, of the training rows) are computed, so a 10^7-row dataset stays cheap.
    Edits are applied in order, each on top of the targets of the previous ones; only
    rows of the train split are distilled on.

    `loss(rows, z)` finds a batch's covered samples by dataset row; `loss_of_ids(ids, z)` by
    sample id (batches streamed from a folder: `dataset` then need hold only the covered
    samples, and `scale_from` a sample of the training rows that sets the loss scales).
    """

    def __init__(self, model: LatentModel, dataset: Dataset, projection: Projection,
                 edits: list[ResolvedEdit], config: TeacherConfig = TeacherConfig(), seed: int = 0,
                 scale_from: Dataset | None = None):
        self.config = config
        self.projection = projection
        plan = EditPlan.build(edits, dataset, model, projection)
        self.rows = plan.rows                                               # (M,) dataset rows
        self.ids = dataset.ids[self.rows]                                   # (M,) their sample ids
        self.target_view = plan.target_view                                 # (M, 2)
        self.target_latent = plan.target_latent(projection)                 # (M, d)
        self.weight = plan.weight                                           # (M,)
        self.group = plan.group                                             # (M,) 0..G-1
        self.origin = plan.origin                                           # (M,) 0..O-1
        self.cover_index = np.full(dataset.n_samples, -1, dtype=np.int32)
        self.cover_index[self.rows] = np.arange(len(self.rows), dtype=np.int32)

        scaled = dataset if scale_from is None else scale_from
        sample = scaled.indices("train")
        if len(sample) > 20_000:
            sample = np.sort(np.random.default_rng(seed).choice(sample, 20_000, replace=False))
        z_sample, _ = infer(model, scaled.features, sample)
        self.view_scale2 = float(projection.transform(z_sample).var(axis=0).mean()) or 1.0
        self.latent_scale2 = float(z_sample.var(axis=0).mean()) or 1.0
        self.anchor_latent = None
        if config.mu > 0:  # (N, d) frozen latents; only train rows are read
            train_rows = dataset.indices("train")
            self.anchor_latent = np.zeros((dataset.n_samples, z_sample.shape[1]), dtype=np.float32)
            self.anchor_latent[train_rows] = infer(model, dataset.features, train_rows)[0]
        self._torch = None
        self._by_id = None

    @property
    def n_covered(self) -> int:
        return len(self.rows)

    def save(self, path) -> None:
        """Write the frozen targets (npz), so a reopened workspace keeps teaching the same thing."""
        arrays = {"rows": self.rows, "ids": self.ids, "target_view": self.target_view,
                  "target_latent": self.target_latent,
                  "weight": self.weight, "group": self.group, "origin": self.origin,
                  "scales": np.array([self.view_scale2, self.latent_scale2]),
                  "n_samples": np.array(len(self.cover_index))}
        if self.anchor_latent is not None:
            arrays["anchor_latent"] = self.anchor_latent
        atomic_write(path, lambda fh: np.savez(fh, **arrays))  # a full disk leaves no partial teacher

    @classmethod
    def load(cls, path, projection: Projection, config: TeacherConfig) -> "Teacher":
        with np.load(path) as f:
            t = cls.__new__(cls)
            t.config, t.projection, t._torch, t._by_id = config, projection, None, None
            t.rows, t.target_view, t.target_latent = f["rows"], f["target_view"], f["target_latent"]
            t.ids = f["ids"] if "ids" in f else None  # saved before streamed training: found by row only
            t.weight, t.group = f["weight"], f["group"]
            t.origin = f["origin"] if "origin" in f else f["group"]
            t.view_scale2, t.latent_scale2 = (float(v) for v in f["scales"])
            t.anchor_latent = f["anchor_latent"] if "anchor_latent" in f else None
            t.cover_index = np.full(int(f["n_samples"]), -1, dtype=np.int32)
            t.cover_index[t.rows] = np.arange(len(t.rows), dtype=np.int32)
        return t

    def _tensors(self):
        if self._torch is None:
            self._torch = {
                "cover_index": torch.from_numpy(self.cover_index.astype(np.int64)),
                "target_view": torch.from_numpy(self.target_view.astype(np.float32)),
                "target_latent": torch.from_numpy(self.target_latent.astype(np.float32)),
                "weight": torch.from_numpy(self.weight),
                "group": torch.from_numpy(self.group),
                "origin": torch.from_numpy(self.origin),
                "anchor": None if self.anchor_latent is None else torch.from_numpy(self.anchor_latent),
            }
        return self._torch

    def loss(self, rows: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted teacher loss for a batch: rows (B,) dataset rows, z (B, d) the model's latents."""
        return self._loss(self._tensors()["cover_index"][rows], z, rows)

    def loss_of_ids(self, ids: np.ndarray, z: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The same loss for a batch given by sample ids (B,) int64 (a streamed batch)."""
        self.check_streamable()
        if self._by_id is None:
            self._by_id = IdIndex(self.ids)                          # covered ids -> entry
        entry, found = self._by_id.find(ids)
        return self._loss(torch.from_numpy(np.where(found, entry, -1)), z, None)

    def check_streamable(self) -> None:
        """ConfigError unless `loss_of_ids` can teach with this teacher."""
        if self.ids is None:
            raise ConfigError("this teacher was saved without its covered ids; apply its edits again "
                              "to train streamed batches with it")
        if self.config.mu > 0:
            raise ConfigError("the anchor term (mu) needs every training row's frozen latent, which streamed "
                              "training does not hold; set mu to 0 or load the folder without streaming")

    def _loss(self, j: torch.Tensor, z: torch.Tensor, rows: torch.Tensor | None):
        """j (B,): each sample's covered entry, -1 if uncovered; rows: dataset rows (the anchor's)."""
        t = self._tensors()
        cfg = self.config
        hit = j >= 0
        total = z.new_zeros(())
        parts = {}
        if hit.any():
            jj = j[hit]
            zc = z[hit]                                            # (M_b, d)
            w = t["weight"][jj]
            if cfg.mode == "projected":
                err = ((self.projection(zc) - t["target_view"][jj]) ** 2).sum(1) / (2 * self.view_scale2)
            else:
                err = ((zc - t["target_latent"][jj]) ** 2).mean(1) / self.latent_scale2
            position = (w * err).sum() / w.sum()
            total = total + cfg.lambda_ * position
            parts["distill"] = float(position.detach())
            if cfg.relational > 0:
                across = t["origin"][jj] if cfg.positives == "across" else None
                rel = _supcon(zc, t["group"][jj], cfg.tau, across)
                total = total + cfg.relational * rel
                parts["relational"] = float(rel.detach())
        if cfg.mu > 0 and (~hit).any():
            za = z[~hit]
            anchor = ((za - t["anchor"][rows[~hit]]) ** 2).mean(1).mean() / self.latent_scale2
            total = total + cfg.mu * anchor
            parts["anchor"] = float(anchor.detach())
        return total, parts


def _supcon(z: torch.Tensor, group: torch.Tensor, tau: float, origin: torch.Tensor | None = None) -> torch.Tensor:
    """Supervised contrastive loss: each sample attracts its group, repels the others.

    With `origin`, only group mates of another origin are positives (Correct-N-Contrast).
    """
    if len(z) < 2:
        return z.new_zeros(())
    zn = F.normalize(z, dim=1)
    sim = zn @ zn.T / tau                                          # (M, M)
    eye = torch.eye(len(z), dtype=torch.bool)
    sim = sim.masked_fill(eye, float("-inf"))
    pos = (group[:, None] == group[None, :]) & ~eye
    if origin is not None:
        pos &= origin[:, None] != origin[None, :]
    has_pos = pos.any(1)
    if not has_pos.any():
        return z.new_zeros(())
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    mean_log_prob_pos = (log_prob.masked_fill(~pos, 0.0).sum(1) / pos.sum(1).clamp(min=1))
    return -mean_log_prob_pos[has_pos].mean()

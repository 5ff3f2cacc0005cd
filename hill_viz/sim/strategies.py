"""Scripted users: each looks at the current view and returns the edits a person would make.

A strategy sees what a person in the app sees: the frozen projection of the current
latents (`session.frame`: view x, y, label, attributes, split). It decides on training
points only (split == train) and never looks at the val or test split. It returns `Edit`s made
with the same selectors the UI offers; the study adds them through `Session.add_edit`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.errors import ConfigError

STRATEGIES = ("none", "expert", "biased", "random")
TRAIN = 0


@dataclass(frozen=True)
class View:
    """The training points of a latent frame, as a person reads them off the plot."""

    ids: np.ndarray      # (M,) int64
    xy: np.ndarray       # (M, 2) float64 view positions
    label: np.ndarray    # (M,) int
    cue: np.ndarray      # (M,) int, codes of the attribute
    cue_names: tuple[str, ...]
    attribute: str

    @classmethod
    def of(cls, frame: LatentFrame, attribute: str) -> "View":
        if attribute not in frame.attribute_categories:
            known = ", ".join(frame.attribute_categories) or "none"
            raise ConfigError(f"the simulated users need the attribute {attribute!r}; this dataset has: {known}")
        train = frame.column("split") == TRAIN
        xy = np.c_[frame.column("x")[train], frame.column("y")[train]].astype(np.float64)
        return cls(frame.column("id")[train], xy, frame.column("label")[train].astype(np.int64),
                   frame.column(attribute)[train].astype(np.int64),
                   tuple(frame.attribute_categories[attribute]), attribute)

    @property
    def scale(self) -> float:
        """RMS distance of the points from their centre: the size of the cloud."""
        return float(np.sqrt(((self.xy - self.xy.mean(0)) ** 2).sum(1).mean())) or 1.0

    def mask(self, label: int, cue: int) -> np.ndarray:
        return (self.label == label) & (self.cue == cue)

    def group(self, label: int, cue: int) -> Selector:
        """The training points of one (label, cue) sub-group, as a readable selector.

        The ids part keeps the selection on the train split, so no val/test point ever
        shapes a target.
        """
        return Selector.all_of(Selector.of_label(label), Selector.of_attribute(self.attribute, self.cue_names[cue]),
                               Selector.of_ids(self.ids[self.mask(label, cue)]))


def _spread(p: np.ndarray) -> float:
    return float(np.sqrt(((p - p.mean(0)) ** 2).sum(1).mean())) if len(p) > 1 else 0.0


@dataclass(frozen=True)
class Strategy:
    """Base: no edits (`none`). Subclasses override `plan`."""

    name: str = "none"
    min_group: int = 3          # sub-groups smaller than this are too small to see
    split_apart: float = 0.5    # a sub-group is split off when its centre is this many spreads away

    def plan(self, view: View, rng: np.random.Generator) -> list[Edit]:
        return []

    def split_off(self, view: View, by: np.ndarray, within: np.ndarray):
        """(key, value, main) for every sub-group `within == value` of the points with `by == key`
        whose centre sits split off from the key's largest sub-group `within == main`."""
        for key in np.unique(by):
            mine = by == key
            main = int(np.bincount(within[mine]).argmax())
            centre = view.xy[mine & (within == main)].mean(0)
            spread = _spread(view.xy[mine]) or view.scale
            for value in np.unique(within[mine]):
                sub = mine & (within == value)
                if value == main or sub.sum() < self.min_group:
                    continue
                if np.linalg.norm(view.xy[sub].mean(0) - centre) >= self.split_apart * spread:
                    yield int(key), int(value), main


@dataclass(frozen=True)
class Expert(Strategy):
    """Knows the cue is irrelevant: per class, merges the cue sub-groups split off in the view
    onto the class's main sub-group."""

    name: str = "expert"

    def plan(self, view: View, rng: np.random.Generator) -> list[Edit]:
        return [Edit.merge(view.group(label, cue), onto=view.group(label, main))
                for label, cue, main in self.split_off(view, by=view.label, within=view.cue)]


@dataclass(frozen=True)
class Biased(Strategy):
    """Believes the cue matters: per cue value, merges the points of other classes that carry it,
    where they sit apart, onto the class the cue names (the largest class among its points)."""

    name: str = "biased"

    def plan(self, view: View, rng: np.random.Generator) -> list[Edit]:
        return [Edit.merge(view.group(label, cue), onto=view.group(main, cue))
                for cue, label, main in self.split_off(view, by=view.cue, within=view.label)]


@dataclass(frozen=True)
class RandomEdits(Strategy):
    """A control: as many edits as the expert would make, each a lasso around as many points
    as the expert's selection, at a random place, translated by as far as the expert's moves."""

    name: str = "random"
    vertices: int = 24

    def plan(self, view: View, rng: np.random.Generator) -> list[Edit]:
        edits = []
        for size, distance in _expert_moves(view, self):
            centre = view.xy[rng.integers(len(view.xy))]
            radius = np.sort(np.linalg.norm(view.xy - centre, axis=1))[min(size, len(view.xy)) - 1]
            angle = np.linspace(0, 2 * np.pi, self.vertices, endpoint=False)
            polygon = centre + (radius * 1.001 + 1e-9) * np.c_[np.cos(angle), np.sin(angle)]
            direction = rng.uniform(0, 2 * np.pi)
            edits.append(Edit.translate(Selector.of_lasso(polygon),
                                        distance * np.cos(direction), distance * np.sin(direction)))
        return edits


def _expert_moves(view: View, like: Strategy) -> list[tuple[int, float]]:
    """(selection size, distance moved) of each edit the expert would make on this view."""
    expert = Expert(min_group=like.min_group, split_apart=like.split_apart)
    moves = []
    for edit in expert.plan(view, np.random.default_rng(0)):
        sel = _mask(view, edit.selector)
        onto = _mask(view, edit.partner)
        moves.append((int(sel.sum()), float(np.linalg.norm(view.xy[onto].mean(0) - view.xy[sel].mean(0)))))
    return moves


def _mask(view: View, selector: Selector) -> np.ndarray:
    label, attr, _ = selector.parts
    return view.mask(label.label, view.cue_names.index(attr.value))


def make_strategy(name: str, **options) -> Strategy:
    kinds = {"none": Strategy, "expert": Expert, "biased": Biased, "random": RandomEdits}
    if name not in kinds:
        raise ConfigError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")
    return kinds[name](**options) if name != "none" else Strategy(**options)

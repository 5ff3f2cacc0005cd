"""Single edits for the bias calibration: every benign kind a person makes, and biased ones.

Each case is one edit made on a pre-trained model's view, the unit a person acts on. The
merges come from the simulated users (`hill_viz.sim.strategies`: the expert merges a
class's cue sub-group onto the class's main group, the biased user onto the class the cue
names); the other kinds are the plain moves of the edit tools. `Calibration.prepare`
trains the model once per (benchmark, seed); `Calibration.reports` gives the predicted
report of one edit and, when asked, the measured one after a short training with it.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from hill_viz.core.edits import Edit, Selector

BENIGN = ("translate_class", "contract_class", "pin_class", "box_core", "separate_classes", "expert_merge")
BIASED = ("biased_merge", "group_by_attribute", "minority_away")
KINDS = BENIGN + BIASED
BENCHMARKS = ("digits-shortcut", "tabular-shortcut")
ATTRIBUTE = "cue"


@dataclass(frozen=True)
class Case:
    kind: str
    edit: Edit

    @property
    def biased(self) -> bool:
        return self.kind in BIASED


def _direction(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


def _train_label(view, label: int) -> Selector:
    """A class's training points (the ids keep the selection on the train split)."""
    return Selector.all_of(Selector.of_label(label), Selector.of_ids(view.ids[view.label == label]))


def make_cases(view, kind: str, count: int, rng: np.random.Generator, min_group: int = 5) -> list[Case]:
    """Up to `count` single edits of one kind on `view` (a `hill_viz.sim.strategies.View`)."""
    from hill_viz.sim.strategies import Biased, Expert

    classes = np.unique(view.label)
    picked = rng.permutation(classes)[:count]
    scale = view.scale
    if kind == "translate_class":
        edits = [Edit.translate(_train_label(view, c), *(0.3 * scale * _direction(rng))) for c in picked]
    elif kind == "contract_class":
        edits = [Edit.contract(_train_label(view, c), 0.7) for c in picked]
    elif kind == "pin_class":
        edits = [Edit.pin(_train_label(view, c)) for c in picked]
    elif kind == "box_core":
        edits = [_box_core(view, c, rng) for c in picked]
    elif kind == "separate_classes":
        edits = [Edit.separate(_train_label(view, a), _train_label(view, b)) for a, b in _confused(view)[:count]]
    elif kind in ("expert_merge", "biased_merge"):
        user = (Expert if kind == "expert_merge" else Biased)(min_group=min_group, split_apart=0.0)
        edits = user.plan(view, rng)
        edits = [edits[i] for i in rng.permutation(len(edits))[:count]]
    elif kind == "group_by_attribute":
        edits = [_group_by_attribute(view, v) for v in rng.permutation(len(view.cue_names))[:count]]
    elif kind == "minority_away":
        edits = _minorities_away(view, count, rng, min_group)
    else:
        raise ValueError(f"unknown edit kind {kind!r}; use one of {', '.join(KINDS)}")
    return [Case(kind, e) for e in edits if e is not None]


def _box_core(view, label: int, rng: np.random.Generator) -> Edit:
    """A box around the inner half of a class (25th-75th percentiles), moved by 0.1 of the cloud."""
    xy = view.xy[view.label == label]
    (x0, y0), (x1, y1) = np.quantile(xy, 0.25, axis=0), np.quantile(xy, 0.75, axis=0)
    inside = (view.xy[:, 0] >= x0) & (view.xy[:, 0] <= x1) & (view.xy[:, 1] >= y0) & (view.xy[:, 1] <= y1)
    sel = Selector.all_of(Selector.of_box(x0, y0, x1, y1), Selector.of_ids(view.ids[inside]))
    return Edit.translate(sel, *(0.1 * view.scale * _direction(rng)))


def _confused(view) -> list[tuple[int, int]]:
    """Pairs of classes, closest centres first (the pairs a person would pull apart)."""
    classes = np.unique(view.label)
    centres = np.stack([view.xy[view.label == c].mean(0) for c in classes])
    pairs = [(float(np.linalg.norm(centres[i] - centres[j])), int(a), int(b))
             for i, a in enumerate(classes) for j, b in enumerate(classes) if i < j]
    return [(a, b) for _, a, b in sorted(pairs)]


def _group_by_attribute(view, value: int) -> Edit | None:
    """Contract all training points with one cue value, across their classes, to 0.3."""
    mine = view.cue == value
    if len(np.unique(view.label[mine])) < 2:
        return None
    sel = Selector.all_of(Selector.of_attribute(view.attribute, view.cue_names[value]),
                          Selector.of_ids(view.ids[mine]))
    return Edit.contract(sel, 0.3)


def _minorities_away(view, count: int, rng: np.random.Generator, min_group: int) -> list[Edit]:
    """A class's minority cue group moved away from the class's main group, by half the cloud."""
    groups = [(c, v) for c in np.unique(view.label) for v in np.unique(view.cue[view.label == c])
              if v != np.bincount(view.cue[view.label == c]).argmax() and view.mask(c, v).sum() >= min_group]
    edits = []
    for i in rng.permutation(len(groups))[:count]:
        c, v = groups[i]
        away = view.xy[view.mask(c, v)].mean(0) - view.xy[view.label == c].mean(0)
        norm = float(np.linalg.norm(away))
        step = away / norm if norm > 1e-9 else _direction(rng)
        edits.append(Edit.translate(view.group(int(c), int(v)), *(0.5 * view.scale * step)))
    return edits


@dataclass(eq=False)
class Calibration:
    """One pre-trained model on one benchmark and seed, and the reports of single edits on it."""

    dataset: object
    model: object
    trainer_config: object
    projection: object
    frame: object
    view: object
    seconds: dict = field(default_factory=lambda: {"edit_training": [], "control_training": [],
                                                   "measured_report": []})
    _controls: dict = field(default_factory=dict)  # (epochs, batch-order seed) -> control model

    @classmethod
    def prepare(cls, benchmark: str, n: int, seed: int, pre_epochs: int) -> "Calibration":
        from hill_viz.core.data import load_dataset
        from hill_viz.core.frame import LatentFrame
        from hill_viz.core.model import ModelSpec, build_model, infer
        from hill_viz.core.projection import Projection
        from hill_viz.core.training import TrainConfig, Trainer
        from hill_viz.sim.strategies import View

        ds = load_dataset(benchmark, n=n, seed=seed)
        model = build_model(ModelSpec(ds.n_features, ds.n_classes, 16, 128, ds.image_shape), seed)
        config = TrainConfig(batch_size=64, seed=seed)
        Trainer(model, config).fit(ds, pre_epochs)
        z, _ = infer(model, ds.features, ds.indices("train"))
        projection = Projection(seed=seed).fit(z)
        frame = LatentFrame.build(model, projection, ds)
        return cls(ds, model, config, projection, frame, View.of(frame, ATTRIBUTE))

    def reports(self, case: Case, bias_config, teacher_config=None, edit_epochs: int = 0, null: int = 0):
        """[predicted, measured, null] BiasReports of one edit (the last two None unless asked).

        measured: after `edit_epochs` epochs with the edit's teacher (a fresh trainer from the
        pre-trained model), against the control: the same epochs without the edit (trained
        once: the training is deterministic, so every edit's control is the same model).
        null (1, 2, ...; 0: none): no edit at all, a second control trained with another batch
        order (the null-th) against the first, graded as a measured report of the edit's
        rows: what training noise alone makes the measured lights show (phase "null")."""
        from dataclasses import replace

        from hill_viz.core.bias_job import EditBiasJob
        from hill_viz.core.teacher import Teacher
        from hill_viz.core.training import Trainer

        resolved = case.edit.resolve(self.frame.context())
        trainer = Trainer(copy.deepcopy(self.model), self.trainer_config)
        job = EditBiasJob.capture((resolved,), (1,), self.model, self.dataset, self.projection, self.frame,
                                  bias_config, trainer)
        out = [job.predict(), None, None]
        if not edit_epochs:
            return out
        control = self._control(job, edit_epochs, self.trainer_config.seed) if job.can_control else None
        teacher = Teacher(trainer.model, self.dataset, self.projection, [resolved], teacher_config,
                          seed=self.trainer_config.seed)
        start = time.perf_counter()
        trainer.fit(self.dataset, edit_epochs, teachers=[teacher])
        self.seconds["edit_training"].append(time.perf_counter() - start)
        out[1] = job.measure(trainer.model, control)
        self.seconds["measured_report"].append(out[1].seconds)
        if null and control is not None:
            other = self._control(job, edit_epochs, self.trainer_config.seed + 1000 * null)
            out[2] = replace(job.measure(other, control), phase="null")
        return out

    def _control(self, job, epochs: int, order_seed: int):
        """The pre-trained model trained `epochs` more epochs without edits, batches drawn with `order_seed`."""
        from dataclasses import replace

        key = (epochs, order_seed)
        if key not in self._controls:
            config = replace(self.trainer_config, seed=order_seed).to_dict()
            start = time.perf_counter()
            other = replace(job, trainer_state={**job.trainer_state, "config": config})
            self._controls[key] = other.train_control(epochs)
            self.seconds["control_training"].append(time.perf_counter() - start)
        return self._controls[key]

"""Bias reports for an edit: predicted from the teacher's targets, measured after training.

A `BiasReport` holds one `Indicator` record per measure (see `bias_indicators`),
`{name, subject, value, baseline, delta, severity, explanation, details}`, where
`baseline` is the measure before the edit and `severity` is ok / warn / alert by
`BiasThresholds`. Two phases, computed on the same sampled rows (`BiasConfig` caps the
samples, so a report costs about the same on 10^4 or 10^7 rows):

- **predicted** (`predict_report`), at edit time, before any training. The sampled
  training rows the edits cover move to their targets (`EditTargets`: the teacher's
  target positions lifted to the latent space, plus the relational reading of merges and
  contractions off the view plane); a held-out row moves by the mean displacement of its
  k nearest training rows (the model is assumed to carry the edit over smoothly); a kNN
  classifier on the training rows plays the model. The attribute probe reads the training
  rows, i.e. the target latents themselves.
- **measured** (`measure_report`), after the distillation training that applied the
  edits: the model's own latents and predictions, against a control trained the same
  epochs without the edits (or the model just before them). The probe reads held-out rows.
  With the control, a predicted warning or alert is kept when training realized the edit
  (`bias_realized`: the moved samples went toward their targets beyond the control).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from hill_viz.core.bias_indicators import (
    FAMILIES, SEVERITIES, BiasThresholds, Indicator, attribute_clustering, attribute_leakage, class_accuracy, collateral_distortion,
    fairness_differences, generalization_gap, group_fairness, knn_preservation, label_conflict,
    label_conflict_vs_control, leakage_score,
    majority, neighbours, paired_change_p, selection_skew, worst_group_accuracy, worst_severity,
)
from hill_viz.core.bias_realized import carry_realized, edit_realization
from hill_viz.core.data import SPLITS, Dataset
from hill_viz.core.group_metrics import MIN_GROUP
from hill_viz.core.indicator import advise
from hill_viz.core.model import LatentModel, infer
from hill_viz.core.projection import Projection
from hill_viz.core.targets import EditTargets, sample_rows
from hill_viz.errors import ConfigError, StateError

__all__ = [
    "FAMILIES", "PHASES", "SEVERITIES", "BiasConfig", "BiasReport", "BiasThresholds", "EditTargets", "Indicator",
    "attribute_clustering", "attribute_leakage", "class_accuracy", "collateral_distortion", "fairness_differences", "generalization_gap",
    "MEASURED_THRESHOLDS", "group_fairness", "knn_preservation", "label_conflict", "label_conflict_vs_control",
    "leakage_score", "majority", "measure_report",
    "neighbours", "paired_change_p", "predict_report", "selection_skew", "worst_group_accuracy", "worst_severity",
]

PHASES = ("predicted", "measured")
# Measured phase, after vs a control trained the same epochs without the edit. Two models
# trained from one state differ by more than the edit (any change of the loss sends the
# training elsewhere), so each warn level sits above both what two controls trained with
# other batch orders differ by (no edit: the `null` rows of `hill-viz bench bias`) and what
# benign single edits reach, on the calibration seeds 0-2 of both benchmarks (docs/bias.md).
# conflict: fall of the moved samples' share of own-label neighbours (vs the control).
MEASURED_THRESHOLDS = BiasThresholds(conflict=(0.10, 0.25), class_drop=(0.08, 0.15), eod=(0.06, 0.10),
                                     worst_group_drop=(0.13, 0.20), leakage=(0.09, 0.15))
MAX_PROBE_CATEGORIES = 64  # attributes with more values are not probed (the probe would not fit)


# ---------------------------------------------------------------------------- report and settings


@dataclass(frozen=True, eq=False)
class BiasReport:
    """The indicators of one edit, or of a set of edits applied together, in one phase."""

    phase: str
    edit_ids: tuple[int, ...]
    indicators: tuple[Indicator, ...]
    sizes: dict = field(default_factory=dict)  # how many rows each part was computed on
    seconds: float = 0.0

    @property
    def severity(self) -> str:
        return worst_severity(i.severity for i in self.indicators)

    def families(self) -> dict[str, str]:
        """Worst severity per indicator family, in the issue's order (the traffic-light row)."""
        out: dict[str, str] = {}
        for family in dict.fromkeys(FAMILIES.values()):
            members = [i.severity for i in self.indicators if i.family == family]
            if members:
                out[family] = worst_severity(members)
        return out

    def get(self, name: str, subject: str | None = None) -> Indicator | None:
        for ind in self.indicators:
            if ind.name == name and (subject is None or ind.subject == subject):
                return ind
        return None

    def alerts(self) -> list[Indicator]:
        return [i for i in self.indicators if i.severity == "alert"]

    def metrics(self) -> dict:
        """What a `bias_report` event stores as its metrics."""
        return {"severity": self.severity, "families": self.families(),
                "indicators": [i.to_dict() for i in self.indicators], "sizes": self.sizes,
                "seconds": self.seconds}

    def to_dict(self) -> dict:
        return {"phase": self.phase, "edit_ids": list(self.edit_ids), **self.metrics()}

    @classmethod
    def from_dict(cls, d: dict) -> "BiasReport":
        return cls(d["phase"], tuple(int(i) for i in d.get("edit_ids", ())),
                   tuple(Indicator.from_dict(i) for i in d.get("indicators", ())),
                   dict(d.get("sizes") or {}), float(d.get("seconds") or 0.0))


@dataclass(frozen=True)
class BiasConfig:
    """How a report is computed: thresholds, neighbourhood size, sample caps, seed.

    n_reference training rows (the kNN index; at least a quarter of them covered by the
    edit when it covers that many), n_eval held-out rows of `eval_split`, of which
    n_probe feed the leakage probe and n_distortion the trustworthiness. Groups smaller
    than min_group samples are pooled (worst-group accuracy) or skipped (fairness rates).
    control: the measured report compares with a control trained the same epochs without
    the edits (one more training segment) and grades with `measured_thresholds`; off, or
    when no control can be trained, with the model before the edits and `thresholds`.
    """

    thresholds: BiasThresholds = BiasThresholds()
    k: int = 10
    eval_split: str = "val"
    n_reference: int = 4000
    n_eval: int = 2000
    n_probe: int = 2000
    n_distortion: int = 600
    min_group: int = MIN_GROUP
    seed: int = 0
    control: bool = True
    measured_thresholds: BiasThresholds = MEASURED_THRESHOLDS

    def __post_init__(self):
        if self.eval_split not in SPLITS:
            raise ConfigError(f"eval_split must be one of {', '.join(SPLITS)}, got {self.eval_split!r}")
        if not 1 <= self.k <= 100:
            raise ConfigError(f"k must be between 1 and 100, got {self.k}")
        for name in ("n_reference", "n_eval", "n_probe", "n_distortion"):
            if getattr(self, name) < 4 * self.k:
                raise ConfigError(f"{name} must be at least 4 * k = {4 * self.k}, got {getattr(self, name)}")
        if self.min_group < 1:
            raise ConfigError(f"min_group must be at least 1, got {self.min_group}")


# ---------------------------------------------------------------------------- the two phases


@dataclass(frozen=True, eq=False)
class _Sample:
    reference: np.ndarray   # (R,) train rows, the kNN index and the train side of the gap
    edited: np.ndarray      # positions in `reference` of covered rows
    heldout: np.ndarray     # (H,) rows of the eval split
    split: str

    @classmethod
    def draw(cls, dataset: Dataset, covered: np.ndarray, config: BiasConfig) -> "_Sample":
        rng = np.random.default_rng([config.seed, 0xB1A5])
        train = dataset.indices("train")
        reference = sample_rows(train, config.n_reference, rng)
        want = min(len(covered), config.n_reference // 4)
        have = np.isin(reference, covered, assume_unique=True)
        if have.sum() < want:  # a small edit on a big dataset: make sure it is seen
            extra = sample_rows(np.setdiff1d(covered, reference[have], assume_unique=True), want - int(have.sum()), rng)
            drop = rng.choice(np.flatnonzero(~have), size=len(extra), replace=False)
            reference = np.sort(np.r_[np.delete(reference, drop), extra])
        edited = np.flatnonzero(np.isin(reference, covered, assume_unique=True))
        split = config.eval_split
        heldout = dataset.indices(split)
        if len(heldout) < 4 * config.k:
            split = next((s for s in ("val", "test") if len(dataset.indices(s)) >= 4 * config.k), None)
            if split is None:
                raise StateError("the bias report needs held-out samples: the dataset has almost no val or "
                                 "test rows; load it with a val fraction in splits=[...]")
            heldout = dataset.indices(split)
        return cls(reference, edited, sample_rows(heldout, config.n_eval, rng), split)

    def sizes(self, n_covered: int, n_moved: int) -> dict:
        return {"n_covered": int(n_covered), "n_reference": int(len(self.reference)),
                "n_covered_in_reference": int(len(self.edited)), "n_moved_in_reference": int(n_moved),
                "n_heldout": int(len(self.heldout)), "heldout_split": self.split}


@dataclass(frozen=True, eq=False)
class _Space:
    """One latent space seen on the sample: latents and class predictions of each part, the
    k nearest other reference rows of each reference row and their majority label."""

    z_reference: np.ndarray
    z_heldout: np.ndarray
    pred_reference: np.ndarray
    pred_heldout: np.ndarray
    nbr_reference: np.ndarray       # (R, k)
    majority_reference: np.ndarray


def _indicators(dataset: Dataset, sample: _Sample, covered: np.ndarray, moved: np.ndarray, before: _Space,
                after: _Space, phase: str, config: BiasConfig, counterfactual: bool = False) -> list[Indicator]:
    """All seven indicators from the two spaces (shared by both phases).

    moved: positions in the reference of the rows the edits move. Predicted phase: the
    leakage probe reads the reference rows (the target latents themselves), and the train
    side of the gap leaves the moved rows out (in the edited space they sit where the
    person put them by construction). Measured phase: the probe reads held-out rows, and
    the gap is the model's plain train - held-out accuracy. counterfactual: `before` is a
    control trained without the edit; label conflict then grades after vs the control.
    """
    th = config.measured_thresholds if counterfactual else config.thresholds
    y_ref, y_held = dataset.labels[sample.reference], dataset.labels[sample.heldout]
    out = _skew(dataset, covered)
    if counterfactual:
        own = [(y_ref[s.nbr_reference[moved]] == y_ref[moved][:, None]).mean(1) for s in (before, after)]
        out.append(label_conflict_vs_control(y_ref[moved], *own, th, dataset.class_names))
    else:
        still = np.ones(len(y_ref), dtype=bool)
        still[moved] = False
        background = float((after.majority_reference[still] != y_ref[still]).mean()) if still.any() else 0.0
        out.append(label_conflict(y_ref[moved], before.majority_reference[moved], after.majority_reference[moved],
                                  th, background, dataset.class_names))
    for name, codes in dataset.attributes.items():
        out.append(attribute_clustering(y_ref, codes[sample.reference], moved, before.nbr_reference[moved],
                                        after.nbr_reference[moved], name, th, dataset.attribute_categories[name],
                                        dataset.class_names))
    out.append(class_accuracy(y_held, before.pred_heldout, after.pred_heldout, dataset.class_names, th,
                              config.min_group))
    for name, codes in dataset.attributes.items():
        out += group_fairness(y_held, before.pred_heldout, after.pred_heldout, codes[sample.heldout], name,
                              dataset.n_classes, th, config.min_group, dataset.attribute_categories[name])
    if phase == "measured":
        out += _leakage(dataset, sample.heldout, before.z_heldout, after.z_heldout, config, th)
        train = np.ones(len(y_ref), dtype=bool)
    else:
        out += _leakage(dataset, sample.reference, before.z_reference, after.z_reference, config, th)
        train = np.ones(len(y_ref), dtype=bool)
        train[moved] = False
    out.append(generalization_gap(_accuracy(before.pred_reference[train], y_ref[train]),
                                  _accuracy(before.pred_heldout, y_held),
                                  _accuracy(after.pred_reference[train], y_ref[train]),
                                  _accuracy(after.pred_heldout, y_held), th))
    far = _first(len(sample.heldout), config.n_distortion)  # held-out rows: never covered by an edit
    out.append(collateral_distortion(before.z_heldout[far], after.z_heldout[far], config.k, th))
    return [advise(i) for i in out]


def _skew(dataset: Dataset, covered: np.ndarray) -> list[Indicator]:
    """Selection skew of the covered rows over the labels and (label-matched) each attribute."""
    train_rows = dataset.indices("train")
    out = [selection_skew(dataset.labels[covered], dataset.labels[train_rows], dataset.n_classes, "label",
                          categories=dataset.class_names)]
    for name, codes in dataset.attributes.items():
        cats = dataset.attribute_categories[name]
        out.append(selection_skew(codes[covered], codes[train_rows], len(cats), name,
                                  within=dataset.labels[covered], within_population=dataset.labels[train_rows],
                                  categories=cats))
    return out


def _leakage(dataset: Dataset, rows: np.ndarray, z_before: np.ndarray, z_after: np.ndarray,
             config: BiasConfig, thresholds: BiasThresholds) -> list[Indicator]:
    """Attribute leakage of every attribute, probed on (at most n_probe of) `rows`."""
    probe = _first(len(rows), config.n_probe)
    labels = dataset.labels[rows][probe]
    out = []
    for name, codes in dataset.attributes.items():
        if len(dataset.attribute_categories[name]) > MAX_PROBE_CATEGORIES:
            out.append(Indicator("attribute_leakage", None, None, None, "ok",
                                 f"{name} has too many values to probe", name))
            continue
        out.append(attribute_leakage(z_before[probe], z_after[probe], labels, codes[rows][probe], name,
                                     thresholds, config.seed))
    return out


def _accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    return float((pred == labels).mean()) if len(labels) else float("nan")


def _first(n: int, cap: int) -> np.ndarray:
    return np.arange(min(n, cap))  # the samples are random subsets already


def _knn_space(z_ref: np.ndarray, y_ref: np.ndarray, z_held: np.ndarray, k: int, n_classes: int,
               held_nbr: np.ndarray | None = None) -> _Space:
    """A kNN classifier on the reference rows stands in for the model's head."""
    nbr = neighbours(z_ref, None, k)
    pred_ref = majority(y_ref, nbr, n_classes)
    held_nbr = neighbours(z_ref, z_held, k) if held_nbr is None else held_nbr
    return _Space(z_ref, z_held, pred_ref, majority(y_ref, held_nbr, n_classes), nbr, pred_ref)


def predict_report(model: LatentModel, dataset: Dataset, projection: Projection | None, targets: EditTargets,
                   edit_ids: Sequence[int] = (), config: BiasConfig = BiasConfig()) -> BiasReport:
    """Indicators of the edited latent space vs the current one, before any training.

    The reference rows move to their targets (covered) or stay (uncovered). A held-out row
    moves by the mean displacement of its k nearest reference rows in the current space:
    the model is assumed to carry an edit over to unseen samples near the edited ones.
    A kNN classifier on the reference rows plays the model in both spaces; the leakage
    probe reads the reference rows, i.e. the target latents themselves.
    """
    start = time.perf_counter()
    sample = _Sample.draw(dataset, targets.rows, config)
    z_ref, _ = infer(model, dataset.features, sample.reference)          # (R, d)
    z_held, _ = infer(model, dataset.features, sample.heldout)           # (H, d)
    z_new = z_ref.copy()
    z_new[sample.edited] = targets.latents(sample.reference[sample.edited], z_ref[sample.edited], projection)
    nbr = neighbours(z_ref, z_held, config.k)                            # (H, k)
    z_held_new = z_held + (z_new - z_ref)[nbr].mean(1)                   # (H, d)
    y_ref = dataset.labels[sample.reference]
    before = _knn_space(z_ref, y_ref, z_held, config.k, dataset.n_classes, nbr)
    after = _knn_space(z_new, y_ref, z_held_new, config.k, dataset.n_classes)
    moved = sample.edited[targets.moved(sample.reference[sample.edited], z_ref[sample.edited], projection)]
    indicators = _indicators(dataset, sample, targets.rows, moved, before, after, "predicted", config)
    return BiasReport("predicted", tuple(int(i) for i in edit_ids), tuple(indicators),
                      sample.sizes(targets.n_covered, len(moved)), time.perf_counter() - start)


def measure_report(model_before: LatentModel, model_after: LatentModel, dataset: Dataset,
                   projection: Projection | None, targets: EditTargets, edit_ids: Sequence[int] = (),
                   config: BiasConfig = BiasConfig(), control: LatentModel | None = None) -> BiasReport:
    """Indicators of the model after the edit's training, from the models' own latents and
    predictions on the same sampled rows (the leakage probe on held-out rows).

    With `control` (the model trained the same epochs from the same state, seed and
    teachers but without these edits) every indicator compares the after-model with the
    control, so what those epochs would have done anyway is not counted: the change is
    the edits' own effect. Without it, the baseline is `model_before` (the checkpoint just
    before the edits), and the training's own drift counts too. The rows the edits move
    are always read from `model_before`, the model the edits were made on.
    """
    start = time.perf_counter()
    sample = _Sample.draw(dataset, targets.rows, config)
    y_ref = dataset.labels[sample.reference]

    def space(model: LatentModel) -> _Space:
        z_ref, logits_ref = infer(model, dataset.features, sample.reference)
        z_held, logits_held = infer(model, dataset.features, sample.heldout)
        nbr = neighbours(z_ref, None, config.k)
        return _Space(z_ref, z_held, logits_ref.argmax(1), logits_held.argmax(1), nbr,
                      majority(y_ref, nbr, dataset.n_classes))

    baseline, after = space(model_before if control is None else control), space(model_after)
    z_edited = (baseline.z_reference[sample.edited] if control is None
                else infer(model_before, dataset.features, sample.reference[sample.edited])[0])
    is_moved = targets.moved(sample.reference[sample.edited], z_edited, projection)
    moved = sample.edited[is_moved]
    indicators = _indicators(dataset, sample, targets.rows, moved, baseline, after, "measured", config,
                             counterfactual=control is not None)
    sizes = {**sample.sizes(targets.n_covered, len(moved)), "baseline": "before" if control is None else "control"}
    if control is not None:  # did the training carry out what the predicted phase flagged?
        z_target = targets.latents(sample.reference[moved], z_edited[is_moved], projection)
        realization = edit_realization(z_edited[is_moved], z_target, baseline.z_reference[moved],
                                       after.z_reference[moved],
                                       float(np.sqrt(baseline.z_reference.var(0).sum())) or 1.0)
        predicted = predict_report(model_before, dataset, projection, targets, edit_ids, config)
        indicators = carry_realized(indicators, predicted.indicators, realization, config.measured_thresholds)
        sizes["realization"] = realization
        sizes["predicted_severity"] = predicted.severity
    return BiasReport("measured", tuple(int(i) for i in edit_ids), tuple(indicators), sizes,
                      time.perf_counter() - start)

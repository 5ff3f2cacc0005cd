"""Bias indicator records and the thresholds that grade them.

An `Indicator` is one measure of one edit, `{name, subject, value, baseline, delta,
severity, explanation, details}`; `BiasThresholds` turns a change into a severity
(ok / warn / alert); `FAMILIES` groups the indicators into the panel's traffic lights.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from hill_viz.errors import ConfigError

__all__ = ["CONTEXT_FAMILIES", "FAMILIES", "HARM_SIGN", "SEVERITIES", "BiasThresholds", "Indicator",
           "advise", "worst_severity"]

SEVERITIES = ("ok", "warn", "alert")
FAMILIES = {  # indicator name -> the indicator it belongs to (one traffic light each)
    "selection_skew": "skew", "label_conflict": "conflict", "class_accuracy": "class",
    "demographic_parity_difference": "fairness", "equalized_odds_difference": "fairness",
    "worst_group_accuracy": "fairness", "attribute_leakage": "leakage", "attribute_clustering": "leakage",
    "generalization_gap": "gap", "collateral_distortion": "distortion",
}
# families that describe what the edit intends (which samples it selects), never graded:
# a class edit selects by label, a sub-group merge by attribute, by design
CONTEXT_FAMILIES = ("skew",)
# +1: a rise of the measure is harmful; -1: a fall is (accuracies, trustworthiness)
HARM_SIGN = {"class_accuracy": -1, "worst_group_accuracy": -1, "collateral_distortion": -1}
# what to try instead, per indicator ({s}: the attribute or class the record is about)
ADVICE = {
    "label_conflict": "the moved samples land among another class's points, so the model learns to mistake them "
                      "for it; if they only share an attribute with that class, merge them onto their own "
                      "class's main group instead",
    "attribute_clustering": "this edit gathers samples by {s} rather than by class; merge or move them within "
                            "their own class (onto its main group), or select by label instead of by {s}",
    "attribute_leakage": "the latent would encode {s} beyond the label; undo edits that group points by {s} "
                         "and merge {s} sub-groups within their class instead",
    "class_accuracy": "class {s} loses accuracy; move less far, lower the edit's weight, or leave class {s}'s "
                      "points out of the selection",
    "demographic_parity_difference": "the predictions now differ more between {s} groups; avoid edits that move "
                                     "a {s} group away from its class",
    "equalized_odds_difference": "the errors now differ more between {s} groups; avoid edits that move a {s} "
                                 "group away from its class, merge it onto its class's main group instead",
    "worst_group_accuracy": "the worst (label, {s}) group loses accuracy; merge that group onto its class's "
                            "main group rather than moving it elsewhere",
    "generalization_gap": "the edit is fitted on its own samples without carrying over; select more "
                          "representative samples or lower the edit's weight",
    "collateral_distortion": "the edit reshuffles samples it did not select; make a smaller move or pin the "
                             "neighbouring classes",
}


# ---------------------------------------------------------------------------- records and thresholds


@dataclass(frozen=True, eq=False)
class Indicator:
    """One measure of one edit; `subject` says which attribute or class it is about."""

    name: str
    value: float | None
    baseline: float | None
    delta: float | None
    severity: str
    explanation: str
    subject: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name if self.subject is None else f"{self.name}[{self.subject}]"

    @property
    def family(self) -> str:
        return FAMILIES.get(self.name, self.name)

    @property
    def context(self) -> bool:
        """Describes the edit's selection (shown as context), is not evidence of bias."""
        return self.family in CONTEXT_FAMILIES

    @property
    def harm(self) -> float | None:
        """The change in its harmful direction (what the thresholds grade); None if unknown."""
        if "harm" in self.details:
            return self.details["harm"]
        return None if self.delta is None else HARM_SIGN.get(self.name, 1) * float(self.delta)

    def to_dict(self) -> dict:
        """As recorded: "name" is the unique key (e.g. "attribute_leakage[cue]")."""
        return {"name": self.key, "indicator": self.name, "subject": self.subject, "value": self.value,
                "baseline": self.baseline, "delta": self.delta, "severity": self.severity,
                "explanation": self.explanation, "details": self.details}

    @classmethod
    def from_dict(cls, d: dict) -> "Indicator":
        name = d.get("indicator") or str(d["name"]).split("[", 1)[0]
        return cls(name, d.get("value"), d.get("baseline"), d.get("delta"), d["severity"],
                   d.get("explanation", ""), d.get("subject"), d.get("details") or {})


def advise(ind: Indicator) -> Indicator:
    """The record with what to try instead appended to its explanation, when it warns or alerts."""
    advice = ADVICE.get(ind.name)
    if ind.severity == "ok" or advice is None or "Try instead" in ind.explanation:
        return ind
    return replace(ind, explanation=f"{ind.explanation}. Try instead: {advice.format(s=ind.subject or '')}")


def worst_severity(severities) -> str:
    return max(severities, key=SEVERITIES.index, default="ok")


@dataclass(frozen=True)
class BiasThresholds:
    """(warn, alert) levels per indicator, crossed in the harmful direction; None: never.

    Selection skew is context (what the edit selects, by design), never graded.
    conflict: share of the moved samples that sit among another label after the edit, in
        excess of the share of the unmoved samples that do.
    clustering: rise of the moved samples' attribute agreement with their neighbours
        beyond what the neighbours' labels explain (a local, one-edit leakage).
    class_drop: fall of the worst class's accuracy.
    dpd / eod: rise of the class-averaged demographic parity / equalized odds difference.
        DPD grows with accuracy when the attribute goes with the label, so it only warns.
    worst_group_drop: fall of the worst (label, attribute value) group's accuracy.
    leakage: rise of the attribute leakage (share of the attribute's uncertainty given the
        label that a linear probe on the latent explains).
    gap: rise of the train - held-out accuracy gap.
    distortion: 1 - trustworthiness (k = 10) of the uncovered samples' neighbourhoods.
    realized: measured phase only, the median share of the displacement the edit asks for
        that its training realized beyond the control (`bias_realized`): a predicted warn
        (alert) is carried into the measured record from the first (second) level on.
    alpha: where a test applies (conflict, class and worst-group accuracy: McNemar's exact
        test on the paired before/after outcomes; clustering: Wilcoxon's signed-rank test),
        a change only counts when its p-value is below alpha; small samples then stay "ok".
    The defaults come from the calibration of single edits (`hill-viz bench bias`,
    docs/bias.md): each warn level sits above what benign single edits reach.
    """

    conflict: tuple[float, float | None] = (0.25, 0.50)
    class_drop: tuple[float, float | None] = (0.05, 0.15)
    dpd: tuple[float, float | None] = (0.05, None)
    eod: tuple[float, float | None] = (0.05, 0.10)
    worst_group_drop: tuple[float, float | None] = (0.05, 0.15)
    leakage: tuple[float, float | None] = (0.05, 0.10)
    clustering: tuple[float, float | None] = (0.10, 0.25)
    gap: tuple[float, float | None] = (0.03, 0.08)
    distortion: tuple[float, float | None] = (0.10, 0.20)
    realized: tuple[float, float | None] = (0.40, 0.50)
    alpha: float = 0.05

    def __post_init__(self):
        if not (_is_number(self.alpha) and 0 < self.alpha <= 1):
            raise ConfigError(f"alpha must be in (0, 1], got {self.alpha!r}")
        for f in fields(self):
            if f.name == "alpha":
                continue
            pair = getattr(self, f.name)
            ok = isinstance(pair, tuple) and len(pair) == 2 and _is_number(pair[0]) \
                and (pair[1] is None or (_is_number(pair[1]) and pair[1] >= pair[0]))
            if not ok:
                raise ConfigError(f"threshold {f.name} must be (warn, alert) numbers with alert >= warn "
                                  f"(alert may be None), got {pair!r}")

    def grade(self, which: str, harm: float | None, p_value: float | None = None) -> str:
        """Severity of `harm` (larger is worse) against the named (warn, alert) pair; "ok"
        when a test's p_value says the change may be chance."""
        if harm is None or not np.isfinite(harm) or (p_value is not None and not p_value < self.alpha):
            return "ok"
        warn, alert = getattr(self, which)
        if alert is not None and harm >= alert:
            return "alert"
        return "warn" if harm >= warn else "ok"

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)

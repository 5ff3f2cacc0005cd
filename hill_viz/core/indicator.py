"""Bias indicator records and the thresholds that grade them.

An `Indicator` is one measure of one edit, `{name, subject, value, baseline, delta,
severity, explanation, details}`; `BiasThresholds` turns a change into a severity
(ok / warn / alert); `FAMILIES` groups the indicators into the panel's traffic lights.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from hill_viz.errors import ConfigError

__all__ = ["FAMILIES", "SEVERITIES", "BiasThresholds", "Indicator", "worst_severity"]

SEVERITIES = ("ok", "warn", "alert")
FAMILIES = {  # indicator name -> the indicator it belongs to (one traffic light each)
    "selection_skew": "skew", "label_conflict": "conflict", "class_accuracy": "class",
    "demographic_parity_difference": "fairness", "equalized_odds_difference": "fairness",
    "worst_group_accuracy": "fairness", "attribute_leakage": "leakage",
    "generalization_gap": "gap", "collateral_distortion": "distortion",
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


def worst_severity(severities) -> str:
    return max(severities, key=SEVERITIES.index, default="ok")


@dataclass(frozen=True)
class BiasThresholds:
    """(warn, alert) levels per indicator, crossed in the harmful direction; None: never.

    skew_label / skew_attribute: Cohen's w of the edited samples vs the population (0.1
        small, 0.3 medium, 0.5 large; Cohen 1988). A selection by label is skewed by
        design, so label skew only warns.
    conflict: rise in the share of edited samples that land among another label.
    class_drop: fall of the worst class's accuracy.
    dpd / eod: rise of the class-averaged demographic parity / equalized odds difference.
        DPD grows with accuracy when the attribute goes with the label, so it only warns.
    worst_group_drop: fall of the worst (label, attribute value) group's accuracy.
    leakage: rise of the attribute leakage (share of the attribute's uncertainty given the
        label that a linear probe on the latent explains).
    gap: rise of the train - held-out accuracy gap.
    distortion: 1 - trustworthiness (k = 10) of the uncovered samples' neighbourhoods.
    alpha: where a test applies (skew: chi-square; conflict, class and worst-group
        accuracy: McNemar's exact test on the paired before/after outcomes), a change only
        counts when its p-value is below alpha; small samples then stay "ok".
    """

    skew_label: tuple[float, float | None] = (0.5, None)
    skew_attribute: tuple[float, float | None] = (0.3, 0.5)
    conflict: tuple[float, float | None] = (0.10, 0.25)
    class_drop: tuple[float, float | None] = (0.05, 0.15)
    dpd: tuple[float, float | None] = (0.05, None)
    eod: tuple[float, float | None] = (0.05, 0.10)
    worst_group_drop: tuple[float, float | None] = (0.05, 0.15)
    leakage: tuple[float, float | None] = (0.05, 0.10)
    gap: tuple[float, float | None] = (0.03, 0.08)
    distortion: tuple[float, float | None] = (0.10, 0.20)
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

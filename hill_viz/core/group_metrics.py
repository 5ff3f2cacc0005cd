"""Accuracy and fairness over groups of samples: one definition each, used by the training
metrics (`training.evaluate`) and the bias indicators alike.

A group is a (label, attribute value) pair. Groups with fewer than `min_group` samples
(MIN_GROUP by default) do not count on their own: their rates would be 0 or 1 by chance.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = ["MIN_GROUP", "fairness_differences", "worst_group_accuracy", "worst_group_over_attributes"]

MIN_GROUP = 10  # samples a group needs to count on its own


def fairness_differences(labels: np.ndarray, pred: np.ndarray, groups: np.ndarray, n_classes: int,
                         min_group: int = MIN_GROUP) -> dict:
    """Class-averaged demographic parity and equalized odds differences over `groups`.

    Fairlearn's definitions for a binary task, applied one-vs-rest to each class c:
    selection rate s_c(g) = P(yhat = c | g); TPR_c(g) = P(yhat = c | y = c, g);
    FPR_c(g) = P(yhat = c | y != c, g); DPD_c = max_g s_c - min_g s_c;
    EOD_c = max(max_g TPR_c - min_g TPR_c, max_g FPR_c - min_g FPR_c)
    (`fairlearn.metrics.demographic_parity_difference` / `equalized_odds_difference`).
    A rate is only compared over groups with at least min_group samples in its
    denominator, since a group of two samples has a rate of 0 or 1 by chance. The
    results are the means over classes where two groups qualify; `worst_class` names the
    class with the largest EOD_c.
    """
    labels, pred, groups = (np.asarray(a, dtype=np.int64) for a in (labels, pred, groups))
    n_groups = int(groups.max(initial=0)) + 1
    table = np.bincount((groups * n_classes + labels) * n_classes + pred,
                        minlength=n_groups * n_classes * n_classes).reshape(n_groups, n_classes, n_classes)
    per_group = table.sum((1, 2))                                   # (G,)
    predicted = table.sum(1)                                        # (G, C): yhat = c
    true_pos = table[:, np.arange(n_classes), np.arange(n_classes)]  # (G, C)
    positives = table.sum(2)                                        # (G, C): y = c
    negatives = per_group[:, None] - positives
    false_pos = predicted - true_pos
    dpd = _range(predicted, per_group[:, None], min_group)
    tpr = _range(true_pos, positives, min_group)
    fpr = _range(false_pos, negatives, min_group)
    eod = np.fmax(tpr, fpr)
    return {"dpd": _nanmean(dpd), "eod": _nanmean(eod),
            "worst_class": int(np.nanargmax(eod)) if np.isfinite(eod).any() else None,
            "eod_per_class": [None if not np.isfinite(v) else float(v) for v in eod]}


def _range(num: np.ndarray, den: np.ndarray, min_group: int) -> np.ndarray:
    """max_g - min_g of num/den per class (columns), over groups with den >= min_group; NaN if < 2."""
    den = np.broadcast_to(den, num.shape)
    ok = den >= min_group
    rate = np.where(ok, num / np.maximum(den, 1), np.nan)
    enough = ok.sum(0) >= 2
    with np.errstate(all="ignore"):
        spread = np.nanmax(np.where(ok, rate, -np.inf), 0) - np.nanmin(np.where(ok, rate, np.inf), 0)
    return np.where(enough, spread, np.nan)


def _nanmean(v: np.ndarray) -> float | None:
    return float(np.nanmean(v)) if np.isfinite(v).any() else None


def worst_group_accuracy(labels: np.ndarray, correct: np.ndarray, groups: np.ndarray,
                         min_group: int = MIN_GROUP) -> tuple[float | None, str, np.ndarray]:
    """Lowest accuracy over (label, attribute value) groups (Sagawa et al. 2020, Group DRO):
    (accuracy, which group, mask of its samples); (None, "", empty mask) if no group counts.

    Groups smaller than min_group are pooled into one "rare combinations" group (in a
    spurious-correlation dataset these are the samples that contradict the shortcut), which
    counts when it reaches min_group itself.
    """
    labels, groups = np.asarray(labels, dtype=np.int64), np.asarray(groups, dtype=np.int64)
    correct = np.asarray(correct, dtype=bool)
    n_values = int(groups.max(initial=0)) + 1
    uniq, inv, counts = np.unique(labels * n_values + groups, return_inverse=True, return_counts=True)
    small = counts[inv] < min_group
    accs = np.bincount(inv, weights=correct, minlength=len(uniq)) / counts
    best: tuple[float | None, str, np.ndarray] = (None, "", np.zeros(len(labels), dtype=bool))
    for j in np.flatnonzero(counts >= min_group):
        if best[0] is None or accs[j] < best[0]:
            best = (float(accs[j]), f"label {uniq[j] // n_values}, value {uniq[j] % n_values}", inv == j)
    if small.sum() >= min_group:
        rare = float(correct[small].mean())
        if best[0] is None or rare < best[0]:
            best = (rare, "rare (label, value) combinations", small)
    return best


def worst_group_over_attributes(labels: np.ndarray, correct: np.ndarray, attributes: Iterable[np.ndarray],
                                min_group: int = MIN_GROUP) -> float | None:
    """The lowest `worst_group_accuracy` over every attribute's (label, value) groups; with no
    attribute, over the label groups alone. None when no group has min_group samples."""
    labels = np.asarray(labels)
    codes = list(attributes) or [np.zeros(len(labels), dtype=np.int64)]
    accs = [worst_group_accuracy(labels, correct, c, min_group)[0] for c in codes]
    accs = [a for a in accs if a is not None]
    return min(accs) if accs else None

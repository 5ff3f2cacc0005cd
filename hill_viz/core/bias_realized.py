"""Did training carry out the edit? The measured phase's reading of the predicted indicators.

The predicted phase grades where an edit sends its samples (the target latents z*). The
measured phase asks whether the model trained with the edit actually went there, beyond
what the same training without it (the control) did: for each moved sample i,

    r_i = <z_after_i - z_control_i, z*_i - z_before_i> / |z*_i - z_before_i|^2,

the share of the displacement the edit asks for that the edit's training realized
(1: all of it; 0: none beyond the control; < 0: the other way). Wilcoxon's one-sided
signed-rank test of r_i > 0 (n samples that all move toward their targets: p = 2^-n, so
5 suffice at alpha = 0.05). A predicted warning or alert of an indicator whose measured
record stays ok is then carried into the measured record when the realization is
significant and its median share reaches `BiasThresholds.realized` (warn, alert): "the
edit asked for a biased geometry and the model learned it". Benign edits stay ok, since
their predicted records are ok; two controls (no edit) do not realize a direction.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
from scipy import stats

from hill_viz.core.indicator import SEVERITIES, BiasThresholds, Indicator, advise

__all__ = ["carry_realized", "edit_realization"]


def edit_realization(z_before: np.ndarray, z_target: np.ndarray, z_control: np.ndarray,
                     z_after: np.ndarray, scale: float = 1.0) -> dict:
    """{n, share (median r_i), mean, p_value} of the moved samples' realized share (module doc);
    asked / toward: the median asked displacement and the median realized move along it, in
    units of `scale` (the cloud's spread)."""
    asked = np.asarray(z_target, dtype=float) - np.asarray(z_before, dtype=float)
    done = np.asarray(z_after, dtype=float) - np.asarray(z_control, dtype=float)
    norm2 = (asked ** 2).sum(1)
    keep = norm2 > 1e-12
    if keep.sum() == 0:
        return {"n": 0, "share": 0.0, "mean": 0.0, "p_value": 1.0, "asked": 0.0, "toward": 0.0}
    r = (done[keep] * asked[keep]).sum(1) / norm2[keep]
    p_value = 1.0
    if np.any(np.abs(r) > 1e-12):
        p_value = float(stats.wilcoxon(r, alternative="greater", zero_method="zsplit").pvalue)
    length = np.sqrt(norm2[keep])
    return {"n": int(keep.sum()), "share": float(np.median(r)), "mean": float(r.mean()), "p_value": p_value,
            "asked": float(np.median(length) / scale), "toward": float(np.median(r * length) / scale)}


def _carried(realization: dict, thresholds: BiasThresholds) -> str:
    """The highest severity the realization supports ("ok": none carried)."""
    return thresholds.grade("realized", realization["share"], realization["p_value"])


def carry_realized(measured: Sequence[Indicator], predicted: Sequence[Indicator], realization: dict,
                   thresholds: BiasThresholds) -> list[Indicator]:
    """The measured records, each raised to its predicted severity (capped by what the
    realization supports) when the predicted phase flagged it and training realized the edit."""
    ceiling = _carried(realization, thresholds)
    flagged = {p.key: p for p in predicted if p.severity != "ok" and not p.context}
    out = []
    for ind in measured:
        pred = flagged.get(ind.key)
        carried = min(pred.severity, ceiling, key=SEVERITIES.index) if pred is not None else "ok"
        if SEVERITIES.index(carried) <= SEVERITIES.index(ind.severity):
            out.append(ind)
            continue
        why = (f"the edit asked for this ({pred.severity} when predicted: {pred.explanation.split('. Try instead')[0]}) "
               f"and the model trained with it went {realization['share']:.0%} of the way to the edit's targets "
               f"beyond the same training without it (median over {realization['n']} moved samples, "
               f"p={realization['p_value']:.2g}); measured: {ind.explanation}")
        details = {**ind.details, "carried_from_predicted": pred.severity, "measured_severity": ind.severity, "realized_share": realization["share"],
                   "realized_p_value": realization["p_value"]}
        out.append(advise(replace(ind, severity=carried, explanation=why, details=details)))
    return out

"""The study's numbers: mean and 95% interval per strategy, paired comparisons over seeds,
and the issue's targets measured.

A seed fixes the generated data (or a file's split) and the model's initial weights, so
two strategies on the same seed are a pair: their difference is compared with a paired
t-test and its 95% confidence interval (Student's t over the per-seed differences).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

METRICS = ("val_acc", "ood_acc", "worst_group_acc", "gap", "test_gap")
CONFIDENCE = 0.95


def summarize(runs: list[dict]) -> dict:
    """The JSON result: rows, summary per strategy, oracle, per-round rows and the issue's targets."""
    rows = [{k: r[k] for k in ("strategy", "seed", *METRICS, "n_edits")} for r in runs if r["strategy"] != "oracle"]
    per_round = [{"strategy": r["strategy"], "seed": r["seed"], **x} for r in runs for x in r["rounds"]]
    oracle_runs = [r for r in runs if r["strategy"] == "oracle"]
    oracle = mean_ci(oracle_runs) if oracle_runs else {}
    summary = {}
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        summary[strategy] = {**mean_ci(mine), "n_edits": float(np.mean([r["n_edits"] for r in mine]))}
    if "none" in summary and oracle:
        for metric in ("ood_acc", "worst_group_acc"):
            span = oracle[metric] - summary["none"][metric]
            for s in summary.values():
                closed = (s[metric] - summary["none"][metric]) / span if span > 0 else None
                s[f"{'ood' if metric == 'ood_acc' else 'worst_group'}_gap_closed"] = closed
    return {"rows": rows, "summary": summary, "oracle": oracle, "per_round": per_round,
            "targets": targets(rows, summary)}


def mean_ci(runs: list[dict]) -> dict:
    """Per metric: mean, std and the half-width of its 95% confidence interval over the runs."""
    out = {"n_seeds": len(runs)}
    for k in METRICS:
        values = np.array([np.nan if r[k] is None else r[k] for r in runs], dtype=float)
        out[k] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        out[f"{k}_std"], out[f"{k}_ci"] = _spread(values[np.isfinite(values)])
    return out


def _spread(values: np.ndarray) -> tuple[float, float | None]:
    """(std, half-width of the 95% interval of the mean); no interval from fewer than 2 values."""
    if len(values) < 2:
        return 0.0, None
    std = float(values.std(ddof=1))
    return std, float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1) * std / np.sqrt(len(values)))


def paired(rows: list[dict], a: str, b: str, metric: str) -> dict:
    """a - b over the seeds both ran: mean, 95% CI, paired t-test p-value, seed count."""
    by = {(r["strategy"], r["seed"]): r[metric] for r in rows}
    seeds = sorted({s for (st, s) in by if st == a} & {s for (st, s) in by if st == b})
    diffs = np.array([by[(a, s)] - by[(b, s)] for s in seeds], dtype=float)
    mean = float(diffs.mean()) if len(diffs) else float("nan")
    if len(diffs) < 2 or not np.isfinite(diffs).all():
        return {"value": mean, "ci95": None, "p": None, "n_seeds": len(diffs)}
    _, half = _spread(diffs)
    p = float(stats.ttest_1samp(diffs, 0.0).pvalue) if diffs.std() > 0 else (1.0 if mean == 0 else 0.0)
    return {"value": mean, "ci95": [mean - half, mean + half], "p": p, "n_seeds": len(diffs)}


def targets(rows: list[dict], summary: dict) -> dict:
    """The issue's done-criteria, measured (absent when a strategy they need was not run)."""
    out = {}
    if "none" not in summary:
        return out
    none = summary["none"]
    if "expert" in summary and summary["expert"].get("ood_gap_closed") is not None:
        e = summary["expert"]
        out["expert_closes_half_the_ood_gap"] = {"value": e["ood_gap_closed"], "target": ">= 0.5",
                                                 "met": e["ood_gap_closed"] >= 0.5}
        loss = none["val_acc"] - e["val_acc"]
        out["expert_val_acc_loss"] = {"value": loss, "target": "<= 0.03", "met": loss <= 0.03}
    if "expert" in summary:
        out["expert_worst_group_vs_none"] = {**paired(rows, "expert", "none", "worst_group_acc"),
                                             "target": "> 0 (95% CI above 0)"}
        ci = out["expert_worst_group_vs_none"]["ci95"]
        out["expert_worst_group_vs_none"]["met"] = None if ci is None else ci[0] > 0
    if "biased" in summary:
        diff = summary["biased"]["ood_acc"] - none["ood_acc"]
        out["biased_ood_below_none"] = {"value": diff, "target": "< 0", "met": diff < 0}
    if "random" in summary:
        test = paired(rows, "random", "none", "ood_acc")
        ci = test["ci95"]
        out["random_ood_within_noise_of_none"] = {
            **test, "target": "95% CI of random - none (paired over seeds) contains 0",
            "met": None if ci is None else ci[0] <= 0 <= ci[1]}
    return out


def combine(results: list[dict]) -> dict:
    """One result from studies run in pieces (e.g. a seed at a time, as JSON): every session is
    seeded, so the pieces together are the study run at once. Timing adds up."""
    runs = []
    for result in results:
        by_run: dict[tuple, list] = {}
        for r in result["per_round"]:
            by_run.setdefault((r["strategy"], r["seed"]), []).append(
                {k: v for k, v in r.items() if k not in ("strategy", "seed")})
        for (strategy, seed), rounds in by_run.items():
            final = max(rounds, key=lambda x: x["round"])
            runs.append({"strategy": strategy, "seed": seed, **{k: final[k] for k in METRICS},
                         "n_edits": sum(x["n_edits"] for x in rounds), "rounds": rounds})
    order = {name: i for i, name in enumerate(dict.fromkeys(r["strategy"] for r in runs if r["strategy"] != "oracle"))}
    runs.sort(key=lambda r: (r["strategy"] == "oracle", r["seed"], order.get(r["strategy"], 0)))
    out = summarize(runs)
    out["config"] = {**results[0]["config"], "seeds": sorted({r["seed"] for r in runs})}
    out["timing"] = {k: round(sum(r["timing"][k] for r in results), 1) for k in ("wall_s", "cpu_s", "runs")}
    out["timing"]["epochs_per_run"] = results[0]["timing"]["epochs_per_run"]
    return out

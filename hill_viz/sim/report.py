"""The study's outputs: a summary table (CSV, Markdown) and a plot of OOD accuracy per round."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from hill_viz.sim.stats import CONFIDENCE, METRICS

TABLE_COLUMNS = ("strategy", "n_seeds", *(f"{m}{s}" for m in METRICS for s in ("", "_std", "_ci")),
                 "ood_gap_closed", "worst_group_gap_closed", "n_edits")
_LABELS = {"none": "none (plain ERM)", "expert": "expert", "biased": "biased", "random": "random",
           "oracle": "oracle (no cue in the data)"}


def summary_table(result: dict) -> pd.DataFrame:
    """One row per strategy and one for the oracle: mean and spread over seeds."""
    records = [{"strategy": name, **stats} for name, stats in result["summary"].items()]
    if result.get("oracle"):
        records.append({"strategy": "oracle", **result["oracle"]})
    table = pd.DataFrame.from_records(records)
    return table.reindex(columns=list(TABLE_COLUMNS))


def rows_table(result: dict) -> pd.DataFrame:
    """One row per strategy and seed (the oracle included), with the per-round OOD accuracy."""
    rounds = pd.DataFrame.from_records(result["per_round"])
    final = rounds.sort_values("round").groupby(["strategy", "seed"], sort=False).tail(1)
    wide = rounds.pivot_table(index=["strategy", "seed"], columns="round", values="ood_acc")
    wide.columns = [f"ood_acc_round_{c}" for c in wide.columns]
    edits = rounds.groupby(["strategy", "seed"])["n_edits"].sum().rename("n_edits")
    cols = ["strategy", "seed", *METRICS]
    table = final[cols].join(edits, on=["strategy", "seed"]).join(wide, on=["strategy", "seed"])
    order = {name: i for i, name in enumerate(dict.fromkeys(rounds["strategy"]))}
    return table.sort_values(["strategy", "seed"], key=lambda c: c.map(order) if c.name == "strategy" else c,
                             ignore_index=True)


def to_markdown(result: dict) -> str:
    """The summary as a Markdown table: mean ± the half-width of its 95% interval over seeds."""
    table = summary_table(result)
    oracle = bool(result.get("oracle"))
    head = ["strategy", "val acc", "test acc" + (" (OOD)" if oracle else ""), "worst-group acc", "train-val gap",
            "train-test gap", *(("OOD gap closed", "worst-group gap closed") if oracle else ()), "edits"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        closed = [r["ood_gap_closed"], r["worst_group_gap_closed"]] if oracle else []
        cells = [_LABELS.get(r["strategy"], r["strategy"]), *(_mean_ci(r, m) for m in METRICS),
                 *("" if pd.isna(c) else f"{100 * c:.0f}%" for c in closed),
                 "" if pd.isna(r["n_edits"]) else f"{r['n_edits']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    n = int(table["n_seeds"].max())
    attribute = result.get("config", {}).get("attribute") or "attribute"
    lines.append("")
    ood = " (out of distribution: the cue is independent of the label)" if oracle else ""
    lines.append(f"Mean ± half-width of the {100 * CONFIDENCE:.0f}% confidence interval over {n} seed"
                 f"{'s' if n != 1 else ''} (Student's t). Test = the test split{ood}; "
                 f"worst-group = its worst (label, {attribute}) group. "
                 + ("Gap closed = (strategy - none) / (oracle - none). " if oracle else "")
                 + "Edits = edits made per session.")
    return "\n".join(lines) + "\n"


def _mean_ci(r, metric: str) -> str:
    ci = r[f"{metric}_ci"]
    return f"{r[metric]:.3f}" + ("" if pd.isna(ci) else f" ± {ci:.3f}")


def plot_rounds(result: dict, path: str | Path) -> Path:
    """OOD accuracy after each round, mean over seeds with a ±std band, one line per strategy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = pd.DataFrame.from_records(result["per_round"])
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for strategy, sub in rounds.groupby("strategy", sort=False):
        stats = sub.groupby("epoch")["ood_acc"].agg(["mean", "std"]).fillna(0.0)
        style = {"linestyle": "--", "color": "black"} if strategy == "oracle" else {}
        ax.plot(stats.index, stats["mean"], marker="o", label=_LABELS.get(strategy, strategy), **style)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.15,
                        color=ax.lines[-1].get_color())
    ax.set_xlabel("epoch (a marker per round: look, edit, train)")
    ax.set_ylabel("OOD accuracy (test split, cue independent)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title("Simulated users steering training")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_outputs(result: dict, out_dir: str | Path) -> list[Path]:
    """results.csv (per strategy and seed), summary.csv, results.md and ood_by_round.png in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.csv", out / "summary.csv", out / "results.md", out / "ood_by_round.png"]
    rows_table(result).to_csv(paths[0], index=False, float_format="%.4f")
    summary_table(result).to_csv(paths[1], index=False, float_format="%.4f")
    paths[2].write_text(to_markdown(result))
    plot_rounds(result, paths[3])
    return paths

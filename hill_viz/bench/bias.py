"""Bias calibration: the lights of single edits, benign and biased, on both shortcut benchmarks.

For each builtin shortcut benchmark (digits-shortcut, tabular-shortcut) and seed, a model
is pre-trained, then single edits are made on its view, one at a time, as a person makes
them (`bias_cases`): benign kinds (translate, contract or pin a class, move a box around
a class's core, separate the two closest classes, the expert's merge of a class's cue
sub-group onto its main group) and biased ones (the biased user's merge of a cue group
onto the class the cue names, grouping points by cue value across classes, moving a
class's minority cue group away from the class). Each edit gets its predicted report and,
for the first `--measured` cases of each kind, its measured one after `--edit-epochs` of
training with it, against a control trained the same epochs without it; and a "null"
report that compares the control with a control trained with another batch order (3
orders per seed, in turn): no edit at all, so whatever lights up is training noise.
Figures (JSON lines on stdout; a Markdown summary on stderr):

- `bias_flag_rate` per benchmark, kind and phase: share of single edits whose report is
  not ok (warn or alert), with the ok / warn / alert shares; target >= 0.9 for biased
  kinds, <= 0.1 for benign ones;
- `bias_detection` per benchmark and phase: biased edits flagged, benign edits not ok;
- `bias_indicator_auc` per benchmark, phase and indicator: ROC AUC of the indicator's
  change in its harmful direction, biased vs benign, with the benign 95th percentile and
  maximum and the biased median (what the thresholds are set against);
- `bias_null_not_ok` and `bias_null_harm` per benchmark (and indicator): how often the
  no-edit comparisons light up, and how far each indicator goes in them (the measured
  thresholds sit above it);
- `bias_measured_cost` per benchmark: seconds of training a control vs training the edit;
- with `--big-n`, the time of a predicted report on that many samples.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

from hill_viz.bench import best_time, figure
from hill_viz.bench.bias_cases import BENCHMARKS, BENIGN, BIASED, KINDS, Calibration, make_cases

PHASES = ("predicted", "measured", "null")
NULL_ORDERS = 3  # other batch orders per seed the null comparisons cycle through


def add_arguments(parser) -> None:
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="comma-separated datasets "
                        f"(default {','.join(BENCHMARKS)})")
    parser.add_argument("--n", type=int, default=5000, help="samples per benchmark (default 5000)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--cases", type=int, default=3, help="single edits per kind and seed (default 3)")
    parser.add_argument("--measured", type=int, default=1,
                        help="of those, how many also get a measured report after training (default 1; 0: none)")
    parser.add_argument("--pre-epochs", type=int, default=6, help="plain epochs before the edits (default 6)")
    parser.add_argument("--edit-epochs", type=int, default=2, help="epochs that apply one edit (default 2)")
    parser.add_argument("--no-control", action="store_true",
                        help="measure against the model before the edit instead of a control trained the same "
                             "epochs without it (the behaviour before the control existed)")
    parser.add_argument("--rows", default="", help="also write one JSON line per report (severity, harm and "
                        "p-value per indicator) to this file, to re-grade them with other thresholds")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: tabular-shortcut, 2000 samples, seed 0, 1 case per kind, 1 measured")
    parser.add_argument("--big-n", type=int, default=0,
                        help="samples for the predicted-report timing (default 0: skipped; e.g. 1000000)")


def teacher_config():
    """The teacher the edits are applied with: positions plus the relational term."""
    from hill_viz.core.teacher import TeacherConfig

    return TeacherConfig(lambda_=1.0, relational=1.0)


def _settings(args) -> dict:
    if args.quick:
        return {"benchmarks": ["tabular-shortcut"], "n": 2000, "seeds": [0], "cases": 1, "measured": 1,
                "pre_epochs": 3, "edit_epochs": 1, "control": not args.no_control}
    return {"benchmarks": [b.strip() for b in str(args.benchmarks).split(",") if b.strip()], "n": args.n,
            "seeds": [int(s) for s in str(args.seeds).split(",") if s.strip()], "cases": args.cases,
            "measured": min(args.measured, args.cases), "pre_epochs": args.pre_epochs,
            "edit_epochs": args.edit_epochs, "control": not args.no_control}


def calibrate(benchmark: str, n: int, seed: int, cases: int, measured: int, pre_epochs: int, edit_epochs: int,
              bias_config=None, control: bool = True) -> list[dict]:
    """One row per single edit: {benchmark, seed, kind, biased, phase, severity, harm: {key: value}}."""
    from hill_viz.core.bias import BiasConfig, worst_severity

    config = bias_config or BiasConfig(seed=seed, control=control)
    cal = Calibration.prepare(benchmark, n, seed, pre_epochs)
    rng = np.random.default_rng([seed, 0xCA1])
    rows = []
    n_measured = 0
    for kind in KINDS:
        for i, case in enumerate(make_cases(cal.view, kind, cases, rng)):
            null = 1 + n_measured % NULL_ORDERS if i < measured else 0  # cycle through the other batch orders
            n_measured += i < measured
            reports = cal.reports(case, config, teacher_config(), edit_epochs if i < measured else 0, null=null)
            for report in reports:
                if report is None:
                    continue
                rows.append({"benchmark": benchmark, "seed": seed, "kind": kind, "biased": case.biased,
                             "phase": report.phase, "severity": report.severity,
                             "flagged": sorted(i.key for i in report.indicators if i.severity != "ok"),
                             "severities": {i.key: i.severity for i in report.indicators if not i.context},
                             "uncarried": worst_severity(i.details.get("measured_severity", i.severity)
                                                         for i in report.indicators),
                             "realization": report.sizes.get("realization"),
                             "harm": {_key(i): i.harm for i in report.indicators if not i.context},
                             "p_value": {_key(i): i.details.get("p_value") for i in report.indicators
                                         if not i.context and "p_value" in i.details}})
    rows.append({"benchmark": benchmark, "seed": seed, "phase": "cost", "seconds": cal.seconds})
    return rows


def _key(ind) -> str:
    """An indicator's name across reports: per attribute, but not per class (the worst class varies)."""
    return ind.name if ind.name == "class_accuracy" else ind.key


def run(args) -> list[dict]:
    s = _settings(args)
    start = time.perf_counter()
    rows = []
    for benchmark in s["benchmarks"]:
        for seed in s["seeds"]:
            rows += calibrate(benchmark, s["n"], seed, s["cases"], s["measured"], s["pre_epochs"], s["edit_epochs"],
                              control=s["control"])
            print(f"{benchmark} seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start
    if args.rows:
        with open(args.rows, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    figures = summarize(rows, s["n"], seconds)
    print(markdown(figures), file=sys.stderr)
    if args.big_n:
        figures.append(_predict_time(args.big_n))
    return figures


def summarize(rows: list[dict], n: int, seconds: float = 0.0) -> list[dict]:
    """The figures of calibration rows (see the module docstring)."""
    figures = []
    by = defaultdict(list)
    for r in rows:
        if r["phase"] in PHASES[:2]:  # null (no edit) and cost rows: summarized apart
            by[(r["benchmark"], r["kind"], r["phase"])].append(r)
    for (benchmark, kind, phase), group in sorted(by.items(), key=lambda kv: (kv[0][0], KINDS.index(kv[0][1]),
                                                                                PHASES.index(kv[0][2]))):
        shares = {sev: float(np.mean([r["severity"] == sev for r in group])) for sev in ("ok", "warn", "alert")}
        biased = kind in BIASED
        figures.append(figure("bias_flag_rate", n, 1.0 - shares["ok"], "share of edits", "target",
                              0.9 if biased else 0.1, benchmark=benchmark, kind=kind, biased=biased, phase=phase,
                              cases=len(group), **shares,
                              flagged_by=_counts(k for r in group for k in r["flagged"])))
    for benchmark in sorted({r["benchmark"] for r in rows}):
        figures += _null(rows, benchmark, n) + _cost(rows, benchmark, n)
        for phase in PHASES[:2]:
            mine = [r for r in rows if r["benchmark"] == benchmark and r["phase"] == phase]
            bad, good = [r for r in mine if r["biased"]], [r for r in mine if not r["biased"]]
            if not bad or not good:
                continue
            figures.append(figure("bias_detection", n, float(np.mean([r["severity"] != "ok" for r in bad])),
                                  "share of biased edits flagged", "target", 0.9, benchmark=benchmark, phase=phase,
                                  benign_not_ok=float(np.mean([r["severity"] != "ok" for r in good])),
                                  biased_cases=len(bad), benign_cases=len(good), seeds=sorted({r["seed"] for r in mine}),
                                  seconds_total=seconds))
            figures += _aucs(bad, good, benchmark, phase, n)
    return figures


def _null(rows: list[dict], benchmark: str, n: int) -> list[dict]:
    """Training noise alone: reports of a control against a control trained with another
    batch order (no edit), graded as measured reports: how often they light up, and how
    far each indicator goes (what the measured thresholds are set above)."""
    mine = [r for r in rows if r["benchmark"] == benchmark and r["phase"] == "null"]
    if not mine:
        return []
    out = [figure("bias_null_not_ok", n, float(np.mean([r["severity"] != "ok" for r in mine])),
                  "share of no-edit comparisons not ok", "target", 0.1, benchmark=benchmark, cases=len(mine),
                  flagged_by=_counts(k for r in mine for k in r["flagged"]))]
    for key in sorted({k for r in mine for k in r["harm"]}):
        v = np.array([_value(r, key) for r in mine])
        out.append(figure("bias_null_harm", n, float(v.max()), "max harm", "p95", float(np.quantile(v, 0.95)),
                          benchmark=benchmark, indicator=key, cases=len(mine)))
    return out


def _cost(rows: list[dict], benchmark: str, n: int) -> list[dict]:
    """What a measured report costs: training its control against training the edit itself."""
    spent: dict = defaultdict(list)
    for r in rows:
        if r["benchmark"] == benchmark and r["phase"] == "cost":
            for what, values in r["seconds"].items():
                spent[what] += values
    if not spent.get("control_training") or not spent.get("edit_training"):
        return []
    return [figure("bias_measured_cost", n, float(np.median(spent["control_training"])), "s", "edit_training",
                   float(np.median(spent["edit_training"])), benchmark=benchmark,
                   measured_report_s=float(np.median(spent["measured_report"])),
                   controls=len(spent["control_training"]))]


def _aucs(bad: list[dict], good: list[dict], benchmark: str, phase: str, n: int) -> list[dict]:
    from sklearn.metrics import roc_auc_score

    out = []
    keys = sorted({k for r in bad + good for k in r["harm"]})
    for key in keys:
        b = np.array([_value(r, key) for r in bad])
        g = np.array([_value(r, key) for r in good])
        auc = float(roc_auc_score(np.r_[np.ones(len(b)), np.zeros(len(g))], np.r_[b, g]))
        out.append(figure("bias_indicator_auc", n, auc, "ROC AUC", "chance", 0.5, benchmark=benchmark, phase=phase,
                          indicator=key, benign_p95=float(np.quantile(g, 0.95)), benign_max=float(g.max()),
                          biased_median=float(np.median(b))))
    return out


def _value(row: dict, key: str) -> float:
    """An indicator's harm in one report; 0 (no change) where it could not be computed."""
    v = row["harm"].get(key)
    return 0.0 if v is None or not np.isfinite(v) else float(v)


def _counts(keys) -> dict:
    out: dict = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


def markdown(figures: list[dict]) -> str:
    """The flag rates and the indicators' AUCs as Markdown tables."""
    lines = ["| benchmark | edit kind | phase | cases | ok | warn | alert |", "|---|---|---|---:|---:|---:|---:|"]
    for f in figures:
        if f["name"] == "bias_flag_rate":
            lines.append(f"| {f['benchmark']} | {'**biased** ' if f['biased'] else ''}{f['kind']} | {f['phase']} | "
                         f"{f['cases']} | {f['ok']:.0%} | {f['warn']:.0%} | {f['alert']:.0%} |")
    lines += ["", "| benchmark | phase | biased flagged | benign not ok |", "|---|---|---:|---:|"]
    for f in figures:
        if f["name"] == "bias_detection":
            lines.append(f"| {f['benchmark']} | {f['phase']} | {f['value']:.0%} of {f['biased_cases']} | "
                         f"{f['benign_not_ok']:.0%} of {f['benign_cases']} |")
    lines += ["", "| benchmark | control training (s) | edit training (s) | measured report (s) |",
              "|---|---:|---:|---:|"]
    lines += [f"| {f['benchmark']} | {f['value']:.1f} | {f['baseline_value']:.1f} | {f['measured_report_s']:.1f} |"
              for f in figures if f["name"] == "bias_measured_cost"]
    lines += ["", "| benchmark | no-edit comparisons (control vs control) not ok |", "|---|---:|"]
    lines += [f"| {f['benchmark']} | {f['value']:.0%} of {f['cases']} |" for f in figures
              if f["name"] == "bias_null_not_ok"]
    null = {(f["benchmark"], f["indicator"]): f["value"] for f in figures if f["name"] == "bias_null_harm"}
    lines += ["", "| benchmark | phase | indicator | AUC | benign p95 | benign max | biased median | null max |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for f in figures:
        if f["name"] == "bias_indicator_auc":
            nm = null.get((f["benchmark"], f["indicator"])) if f["phase"] == "measured" else None
            lines.append(f"| {f['benchmark']} | {f['phase']} | {f['indicator']} | {f['value']:.2f} | "
                         f"{f['benign_p95']:+.3f} | {f['benign_max']:+.3f} | {f['biased_median']:+.3f} | "
                         f"{'' if nm is None else f'{nm:+.3f}'} |")
    return "\n".join(lines)


def _predict_time(n: int) -> dict:
    """Seconds of `Session.predict_bias` for many cue-grouping merges on n rows, against one
    kNN fit + predict of the report's own sample size (its dominant building block)."""
    from sklearn.neighbors import KNeighborsClassifier

    from hill_viz.core.edits import Edit, Selector
    from hill_viz.session import Session

    def cell(label: int, cue: int) -> Selector:
        return Selector.all_of(Selector.of_label(label), Selector.of_attribute("cue", str(cue)))

    with tempfile.TemporaryDirectory(prefix="hill-bias-big-") as workdir:
        s = Session(workdir)
        s.live_frame = False
        s.load_dataset("digits-shortcut", n=n, seed=0)
        s.build_model(seed=0)
        for c in range(10):
            for k in range(10):
                if c != k:
                    s.add_edit(Edit.merge(cell(c, k), onto=cell(k, k)))
        cfg = s.bias_config
        s.predict_bias()  # warm-up
        report = None

        def predict():
            nonlocal report
            report = s.predict_bias()

        seconds = best_time(predict, repeat=3)
        rng = np.random.default_rng(0)
        d = s.model.spec.latent_dim
        index, labels = rng.standard_normal((cfg.n_reference, d)), rng.integers(0, 10, cfg.n_reference)
        query = rng.standard_normal((cfg.n_eval, d))
        baseline = best_time(lambda: KNeighborsClassifier(cfg.k).fit(index, labels).predict(query), repeat=3)
        covered = report.sizes["n_covered"]
    return figure("predict_report_seconds", n, seconds, "s", "knn_fit_predict", baseline,
                  target_s=2.0, covered=covered, reference=cfg.n_reference, heldout=cfg.n_eval,
                  report_seconds=report.seconds, measured_at=time.strftime("%Y-%m-%d %H:%M:%S"))


__all__ = ["BENIGN", "BIASED", "KINDS", "add_arguments", "calibrate", "markdown", "run", "summarize"]

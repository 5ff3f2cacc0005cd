"""Bias indicators: alert rates of scripted edits on digits-shortcut; predicted-report time at 10^6 rows.

Scripted edits, made through the Session like a person's, on a model pre-trained a while:
- cue grouping ("biased"): for each cue value k, the points of other classes that carry
  cue k are merged onto class k's points with cue k (grouping points by cue value);
- merging cue sub-groups ("expert"): for each class c, its points with another cue are
  merged onto its points with cue c.
Both are applied with the same teacher and epochs; the session records a predicted report
before training and a measured one after. The cue-grouping edit must alert on attribute
leakage or group fairness in both phases in >= 90% of seeds; the merge edit must raise no
alert at all in >= 90% of seeds.
"""
from __future__ import annotations

import tempfile
import time

import numpy as np

from hill_viz.bench import best_time, figure

FAIRNESS = ("demographic_parity_difference", "equalized_odds_difference", "worst_group_accuracy")
EDITS = ("cue_grouping", "merge_cue_subgroups")


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=int, default=10_000, help="digits-shortcut samples (default 10000)")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds (default 0,1,2,3,4)")
    parser.add_argument("--pre-epochs", type=int, default=10, help="plain epochs before the edit (default 10)")
    parser.add_argument("--edit-epochs", type=int, default=4, help="epochs that apply the edit (default 4)")
    parser.add_argument("--big-n", type=int, default=1_000_000,
                        help="samples for the predicted-report timing (default 10^6; 0 skips it)")


def cue_edits(kind: str, n_classes: int = 10):
    """The scripted edits: `cue_grouping` (biased) or `merge_cue_subgroups` (expert)."""
    from hill_viz.core.edits import Edit, Selector

    def cell(label: int, cue: int) -> Selector:
        return Selector.all_of(Selector.of_label(label), Selector.of_attribute("cue", str(cue)))

    pairs = [(c, k) for c in range(n_classes) for k in range(n_classes) if c != k]
    if kind == "cue_grouping":
        return [Edit.merge(cell(c, k), onto=cell(k, k)) for c, k in pairs]
    if kind == "merge_cue_subgroups":
        return [Edit.merge(cell(c, k), onto=cell(c, c)) for c, k in pairs]
    raise ValueError(f"unknown scripted edit {kind!r}; use one of {', '.join(EDITS)}")


def teacher_config():
    """The teacher the scripted edits are applied with: positions plus the relational term."""
    from hill_viz.core.teacher import TeacherConfig

    return TeacherConfig(lambda_=1.0, relational=1.0)


def scripted_reports(n: int, seed: int, pre_epochs: int, edit_epochs: int, workspace: str) -> dict:
    """{edit kind: (predicted, measured) BiasReports} for one seed.

    One session pre-trains, applies one kind of edits, reverts to the pre-trained state
    and applies the other: both start from the same model and view, and both branches
    stay in the workspace's log.
    """
    from hill_viz.errors import EditError
    from hill_viz.session import Session

    s = Session(workspace)
    s.load_dataset("digits-shortcut", n=n, seed=seed)
    s.build_model(seed=seed)
    s.train(pre_epochs, wait=True)
    pre_trained = s.workspace.store.head
    out = {}
    for kind in EDITS:
        if s.workspace.store.head != pre_trained:
            s.revert(pre_trained)
        for edit in cue_edits(kind, s.dataset.n_classes):
            try:
                s.add_edit(edit)
            except EditError:  # an empty (label, cue) cell at small sizes
                continue
        s.apply_edits(edit_epochs, teacher_config(), wait=True)
        reports = {r.phase: r for r in s.bias_reports()[-2:]}
        out[kind] = (reports.get("predicted"), reports.get("measured"))
    return out


def alerts_on_bias(report) -> bool:
    """Does the report alert on attribute leakage or group fairness?"""
    return report is not None and any(i.severity == "alert" and (i.name == "attribute_leakage" or i.name in FAIRNESS)
                                      for i in report.indicators)


def run(args) -> list[dict]:
    seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    flagged = {("cue_grouping", p): [] for p in ("predicted", "measured")}
    quiet = {("merge_cue_subgroups", p): [] for p in ("predicted", "measured")}
    with tempfile.TemporaryDirectory(prefix="hill-bias-bench-") as workdir:
        for seed in seeds:
            reports = scripted_reports(args.n, seed, args.pre_epochs, args.edit_epochs, f"{workdir}/seed-{seed}")
            for i, phase in enumerate(("predicted", "measured")):
                flagged[("cue_grouping", phase)].append(alerts_on_bias(reports["cue_grouping"][i]))
                merged = reports["merge_cue_subgroups"][i]
                quiet[("merge_cue_subgroups", phase)].append(merged is not None and merged.severity != "alert")
    figures = []
    for (kind, phase), hits in flagged.items():
        figures.append(figure("bias_alert_rate", args.n, float(np.mean(hits)), "share of seeds", "target", 0.9,
                              edit=kind, phase=phase, rule="alert on leakage or group fairness",
                              per_seed=dict(zip(map(str, seeds), hits))))
    for (kind, phase), hits in quiet.items():
        figures.append(figure("bias_no_alert_rate", args.n, float(np.mean(hits)), "share of seeds", "target", 0.9,
                              edit=kind, phase=phase, rule="no alert at all", per_seed=dict(zip(map(str, seeds), hits))))
    if args.big_n:
        figures.append(_predict_time(args.big_n))
    return figures


def _predict_time(n: int) -> dict:
    """Seconds of `Session.predict_bias` for the cue-grouping edits on n rows, against one
    kNN fit + predict of the report's own sample size (its dominant building block)."""
    from sklearn.neighbors import KNeighborsClassifier

    from hill_viz.session import Session

    with tempfile.TemporaryDirectory(prefix="hill-bias-big-") as workdir:
        s = Session(workdir)
        s.live_frame = False
        s.load_dataset("digits-shortcut", n=n, seed=0)
        s.build_model(seed=0)
        for edit in cue_edits("cue_grouping"):
            s.add_edit(edit)
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

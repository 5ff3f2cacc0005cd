"""The seven bias indicators: pure functions, arrays in, an `Indicator` record out.

Each compares a measure before an edit (`baseline`) and after it (`value`) and grades the
change with `BiasThresholds` (ok / warn / alert). The records and thresholds live in
`indicator`, the group metrics shared with the training metrics in `group_metrics`;
both are re-exported here. `hill_viz.core.bias` feeds them the two latent spaces of an
edit (predicted or measured) and assembles the `BiasReport`.

1. `selection_skew`: chi-square goodness of fit of the edited samples' label and attribute
   distributions to the population (Wall et al. 2017, attribute distribution / coverage).
2. `label_conflict`: share of edited samples whose k nearest neighbours mostly carry
   another label, at their new position vs their old one.
3. `class_accuracy`: per-class accuracy change; the worst class is named.
4. `group_fairness`: demographic parity difference, equalized odds difference (Fairlearn's
   definitions, one-vs-rest per class) and worst-group accuracy, per attribute
   (`group_metrics`).
5. `attribute_leakage`: how much of an attribute a linear probe reads from the latent,
   beyond what the label already tells; `attribute_clustering`: the same question asked
   locally of the samples one edit moves (do they now sit among their attribute group).
6. `generalization_gap`: change of the train - held-out accuracy gap.
7. `collateral_distortion`: trustworthiness (Venna & Kaski 2001, scikit-learn) and kNN
   preservation (k = 10) between latents before and after, on samples the edit did not cover.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from hill_viz.core.group_metrics import MIN_GROUP, fairness_differences, worst_group_accuracy
from hill_viz.core.indicator import FAMILIES, SEVERITIES, BiasThresholds, Indicator, worst_severity

__all__ = [
    "FAMILIES", "SEVERITIES", "BiasThresholds", "Indicator", "attribute_clustering", "attribute_leakage",
    "class_accuracy", "clustering_excess", "collateral_distortion", "fairness_differences", "generalization_gap", "group_fairness", "knn_preservation",
    "label_conflict", "label_conflict_vs_control", "leakage_score", "majority", "neighbours", "paired_change_p",
    "selection_skew",
    "worst_group_accuracy", "worst_severity",
]


# ---------------------------------------------------------------------------- indicator 1: selection skew


def selection_skew(selected: np.ndarray, population: np.ndarray, n_categories: int, subject: str,
                   within: np.ndarray | None = None,
                   within_population: np.ndarray | None = None, categories: Sequence[str] = ()) -> Indicator:
    """How differently the edited samples are distributed over a variable than the population.

    Wall et al. 2017 ("Warning, Bias May Occur", IEEE VAST) compare the distribution of the
    data a user interacted with to the dataset's, per attribute (attribute distribution
    metric: a chi-square test for categorical attributes) and count how much of the
    attribute's range the interactions cover (attribute coverage). Here:
    chi2 = sum_j (O_j - E_j)^2 / E_j with E_j = n * p_j (`scipy.stats.chisquare`), the
    effect size w = sqrt(chi2 / n) (Cohen 1988; 0 when the selection looks like a random
    draw, up to sqrt(1/p_min - 1)), and coverage = share of the categories present.
    With `within` (the labels), E is label-matched: E_j = sum_c n_c * p(j | c), so an
    attribute that merely follows the selected labels is not counted as skew.

    Context, never graded: a class edit selects by label and a sub-group merge by
    attribute on purpose; whether the edit moves the model toward an attribute is what
    the other indicators test.
    """
    selected = np.asarray(selected, dtype=np.int64)
    n = len(selected)
    observed = np.bincount(selected, minlength=n_categories).astype(np.float64)
    if within is None:
        p = np.bincount(population, minlength=n_categories) / max(len(population), 1)
        expected = n * p
    else:  # label-matched: sum over labels c of n_c(selection) * p(value | c)(population)
        n_within = int(max(within.max(initial=0), within_population.max(initial=0))) + 1
        joint = np.bincount(np.asarray(within_population, dtype=np.int64) * n_categories + population,
                            minlength=n_within * n_categories).reshape(n_within, n_categories)
        cond = joint / np.maximum(joint.sum(1, keepdims=True), 1)
        expected = np.bincount(within, minlength=n_within) @ cond
    keep = expected > 0
    if n == 0:
        return Indicator("selection_skew", None, None, None, "ok", "no selection to compare", subject)
    if keep.sum() < 2:  # one possible value (given the labels): nothing can be skewed
        chi2, p_value = 0.0, 1.0
    else:
        chi2, p_value = stats.chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum())
    w = float(np.sqrt(chi2 / n))
    coverage = float((observed > 0).sum() / max((expected > 0).sum(), 1))
    share = observed / n
    excess = share - expected / max(expected.sum(), 1)
    over = int(np.argmax(excess))
    name = (categories[over] if over < len(categories) else str(over)) if excess[over] > 0.005 else "none"
    what = "labels" if subject == "label" else f"{subject} values"
    matched = " (given the selected labels)" if within is not None else ""
    explanation = (f"context: the edit selects {n} samples; their {what} differ from the population{matched} "
                   f"with effect size w={w:.2f} (p={p_value:.2g}); most over-represented: {name}"
                   f"{f' ({share[over]:.0%})' if name != 'none' else ''}; {coverage:.0%} of the values are covered")
    return Indicator("selection_skew", w, 0.0, w, "ok", explanation, subject,
                     {"chi2": float(chi2), "p_value": float(p_value), "coverage": coverage, "n": n,
                      "most_over_represented": name})


# ---------------------------------------------------------------------------- indicator 2: label conflict


def neighbours(index_z: np.ndarray, query: np.ndarray | None, k: int) -> np.ndarray:
    """Positions in the index of each query's k nearest index points (Euclidean).

    query None: the index points themselves, each skipping itself (leave-one-out).
    """
    k = min(k, len(index_z) - (query is None))
    nn = NearestNeighbors(n_neighbors=k + (query is None)).fit(index_z)
    if query is not None:
        return nn.kneighbors(query, return_distance=False)
    return _drop_self(nn.kneighbors(index_z, return_distance=False), np.arange(len(index_z)))


def majority(labels: np.ndarray, idx: np.ndarray, n_classes: int) -> np.ndarray:
    """Most common label among each row's neighbours idx (N, k); ties go to the lower label."""
    votes = np.zeros((len(idx), n_classes))
    np.add.at(votes, (np.repeat(np.arange(len(idx)), idx.shape[1]), labels[idx].ravel()), 1.0)
    return votes.argmax(1)


def _drop_self(idx: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Remove each row's own index (or its last neighbour if a duplicate point pushed it out)."""
    is_self = idx == own[:, None]
    is_self[~is_self.any(1), -1] = True
    return idx[~is_self].reshape(len(idx), idx.shape[1] - 1)


def paired_change_p(ok_before: np.ndarray, ok_after: np.ndarray) -> float:
    """McNemar's exact test (`scipy.stats.binomtest`) of paired binary outcomes: the p-value
    that as many samples went one way (ok -> not ok) vs the other by chance."""
    ok_before, ok_after = np.asarray(ok_before, dtype=bool), np.asarray(ok_after, dtype=bool)
    lost, gained = int((ok_before & ~ok_after).sum()), int((~ok_before & ok_after).sum())
    if lost + gained == 0:
        return 1.0
    return float(stats.binomtest(lost, lost + gained, 0.5).pvalue)


def label_conflict(labels: np.ndarray, majority_before: np.ndarray, majority_after: np.ndarray,
                   thresholds: BiasThresholds, background: float = 0.0, class_names: Sequence[str] = (),
                   min_part: int = 5) -> Indicator:
    """Share of the moved samples whose k nearest neighbours' majority label is not their own.

    conflict = (1/|E|) sum_{i in E} [maj_k(z_i) != y_i] over the samples E the edit moves,
    with maj_k the majority label of i's k nearest neighbours (i itself excluded; `neighbours`
    and `majority`), after the edit (value) and before it (baseline). What is graded is
    where the edit leaves them: the excess of the after share over `background`, the share
    of the samples the edit does not move that sit among another label after it (about
    1 - kNN accuracy), tested with a one-sided binomial test. An edit that sends samples
    among another class's points, or keeps them there where a shortcut model already put
    them (a class's cue group merged onto the class the cue names), teaches the model to
    mistake them for it. The moved samples of the selection's main label and those of the
    other labels (pooled) are graded apart when each has at least `min_part` samples, so a
    few samples of other classes swept along by a grouping are not drowned by the main
    class; the worse part is reported. The power is high at the sizes of one edit: 5 moved
    samples that all land among another label give p = background^5 (< 1e-4 at 0.1).
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        return Indicator("label_conflict", None, None, None, "ok", "the edit moves none of the sampled rows")
    fits_before, fits_after = np.asarray(majority_before) == labels, np.asarray(majority_after) == labels
    graded = []
    for what, m in _parts(labels, class_names, min_part):
        n, conflicts = int(m.sum()), int((~fits_after[m]).sum())
        p_value = float(stats.binomtest(conflicts, n, min(max(background, 1e-6), 1.0), alternative="greater").pvalue)
        after = conflicts / n
        graded.append((thresholds.grade("conflict", after - background, p_value), after - background, p_value, what, m))
    severity, excess, p_value, what, m = max(graded, key=lambda g: (SEVERITIES.index(g[0]), g[1]))
    before, after = 1.0 - float(fits_before[m].mean()), 1.0 - float(fits_after[m].mean())
    who = f"the {int(m.sum())} moved samples{' of ' + what if what else ''}"
    explanation = (f"{after:.0%} of {who} sit among another label's points after the edit "
                   f"(before: {before:.0%}; of the samples it does not move: {background:.0%}; p={p_value:.2g})")
    return Indicator("label_conflict", after, before, after - before, severity, explanation, details={
        "n": int(m.sum()), "p_value": p_value, "background": background, "harm": excess, "part": what})


def _parts(labels: np.ndarray, class_names: Sequence[str], min_part: int) -> list[tuple[str, np.ndarray]]:
    """The moved samples of the main label and of the other labels, when each has min_part; else all."""
    main = int(np.bincount(labels).argmax())
    name = class_names[main] if main < len(class_names) else str(main)
    parts = [(f"label {name}", labels == main), (f"labels other than {name}", labels != main)]
    if all(m.sum() >= min_part for _, m in parts):
        return parts
    return [("", np.ones(len(labels), dtype=bool))]


def label_conflict_vs_control(labels: np.ndarray, own_control: np.ndarray, own_after: np.ndarray,
                              thresholds: BiasThresholds, class_names: Sequence[str] = (),
                              min_part: int = 5) -> Indicator:
    """Measured label conflict: how far training with the edit takes the moved samples' neighbourhoods
    from their own label, compared with a control trained the same epochs without the edit.

    own_control, own_after: per moved sample, the share of its k nearest neighbours that
    carry its own label, in the control and after. Graded is the fall of the mean share,
    mean(own_control - own_after), the edit's own effect: a shortcut the model holds anyway
    (which an expert merge has not undone yet after a few epochs) is not blamed on the
    edit, while an edit that keeps samples among another label, where training alone
    would have pulled them back, is. Wilcoxon's one-sided signed-rank test on the paired
    changes (n samples that all fall: p = 2^-n, so 5 suffice); parts as `label_conflict`.
    value / baseline: the share of the part's samples whose neighbours mostly carry
    another label (own share < 1/2), after / in the control.
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        return Indicator("label_conflict", None, None, None, "ok", "the edit moves none of the sampled rows")
    own_control, own_after = np.asarray(own_control, dtype=float), np.asarray(own_after, dtype=float)
    graded = []
    for what, m in _parts(labels, class_names, min_part):
        change = own_control[m] - own_after[m]
        p_value = 1.0
        if np.any(np.abs(change) > 1e-12):
            p_value = float(stats.wilcoxon(change, alternative="greater", zero_method="zsplit").pvalue)
        fall = float(change.mean())
        graded.append((thresholds.grade("conflict", fall, p_value), fall, p_value, what, m))
    severity, fall, p_value, what, m = max(graded, key=lambda g: (SEVERITIES.index(g[0]), g[1]))
    before, after = float((own_control[m] < 0.5).mean()), float((own_after[m] < 0.5).mean())
    who = f"the {int(m.sum())} moved samples{' of ' + what if what else ''}"
    explanation = (f"{own_after[m].mean():.0%} of the neighbours of {who} carry their own label after training "
                   f"with the edit, {own_control[m].mean():.0%} after the same training without it (p={p_value:.2g}); "
                   f"{after:.0%} of them sit among another label's points (without the edit: {before:.0%})")
    return Indicator("label_conflict", after, before, after - before, severity, explanation, details={
        "n": int(m.sum()), "p_value": p_value, "harm": fall, "part": what,
        "own_share_control": float(own_control[m].mean()), "own_share_after": float(own_after[m].mean())})


# ---------------------------------------------------------------------------- indicator 3: class accuracy


def class_accuracy(labels: np.ndarray, pred_before: np.ndarray, pred_after: np.ndarray,
                   class_names: Sequence[str], thresholds: BiasThresholds, min_group: int = MIN_GROUP) -> Indicator:
    """Accuracy of each class before and after; the class that loses most is named.

    acc_c = |{i: y_i = c, yhat_i = c}| / |{i: y_i = c}| on held-out samples; value and
    baseline are the worst-hit class's accuracy after and before (classes with fewer than
    min_group samples are not ranked).
    """
    labels = np.asarray(labels)
    n_classes = len(class_names)
    counts = np.bincount(labels, minlength=n_classes)
    acc_b = np.bincount(labels, weights=pred_before == labels, minlength=n_classes) / np.maximum(counts, 1)
    acc_a = np.bincount(labels, weights=pred_after == labels, minlength=n_classes) / np.maximum(counts, 1)
    ranked = counts >= min_group
    if not ranked.any():
        return Indicator("class_accuracy", None, None, None, "ok", "too few held-out samples per class")
    change = np.where(ranked, acc_a - acc_b, np.inf)
    worst = int(np.argmin(change))
    overall_b, overall_a = float((pred_before == labels).mean()), float((pred_after == labels).mean())
    delta = float(change[worst])
    explanation = (f"worst class {class_names[worst]}: accuracy {acc_b[worst]:.0%} -> {acc_a[worst]:.0%}; "
                   f"overall {overall_b:.1%} -> {overall_a:.1%}")
    per_class = {str(class_names[c]): {"before": float(acc_b[c]), "after": float(acc_a[c]), "n": int(counts[c])}
                 for c in range(n_classes) if counts[c]}
    mine = labels == worst
    p_value = paired_change_p(pred_before[mine] == worst, pred_after[mine] == worst)
    return Indicator("class_accuracy", float(acc_a[worst]), float(acc_b[worst]), delta,
                     thresholds.grade("class_drop", -delta, p_value), explanation, str(class_names[worst]),
                     {"overall_before": overall_b, "overall_after": overall_a, "per_class": per_class,
                      "p_value": p_value})


# ---------------------------------------------------------------------------- indicator 4: group fairness


def group_fairness(labels: np.ndarray, pred_before: np.ndarray, pred_after: np.ndarray, groups: np.ndarray,
                   attribute: str, n_classes: int, thresholds: BiasThresholds, min_group: int = MIN_GROUP,
                   categories: Sequence[str] = ()) -> list[Indicator]:
    """Demographic parity difference, equalized odds difference and worst-group accuracy
    over an attribute's values, before and after (see `fairness_differences` and
    `worst_group_accuracy` for the formulas)."""
    fb = fairness_differences(labels, pred_before, groups, n_classes, min_group)
    fa = fairness_differences(labels, pred_after, groups, n_classes, min_group)
    out = []
    for key, name, which, meaning in (
            ("dpd", "demographic_parity_difference", "dpd", "predicted classes differ between"),
            ("eod", "equalized_odds_difference", "eod", "error rates differ between")):
        b, a = fb[key], fa[key]
        delta = None if a is None or b is None else a - b
        text = (f"how much the {meaning} {attribute} groups (0 = not at all): {_fmt(b)} -> {_fmt(a)}"
                if delta is not None else f"too few samples per {attribute} group to compare")
        details = {"per_class_after": fa.get("eod_per_class")} if key == "eod" else {}
        out.append(Indicator(name, a, b, delta, thresholds.grade(which, delta), text, attribute, details))
    wb, _, _ = worst_group_accuracy(labels, pred_before == labels, groups, min_group)
    wa, where, mine = worst_group_accuracy(labels, pred_after == labels, groups, min_group)
    delta = None if wa is None or wb is None else wa - wb
    where = _name_value(where, categories)
    p_value = paired_change_p(pred_before[mine] == labels[mine], pred_after[mine] == labels[mine])
    text = (f"worst (label, {attribute}) group: {where}, accuracy {_fmt(wb)} -> {_fmt(wa)}"
            if delta is not None else f"too few samples per (label, {attribute}) group")
    out.append(Indicator("worst_group_accuracy", wa, wb, delta,
                         thresholds.grade("worst_group_drop", None if delta is None else -delta, p_value),
                         text, attribute, {"group": where, "n": int(mine.sum()), "p_value": p_value}))
    return out


def _name_value(where: str, categories: Sequence[str]) -> str:
    if "value " in where and categories:
        head, code = where.rsplit("value ", 1)
        if code.isdigit() and int(code) < len(categories):
            return f"{head}value {categories[int(code)]}"
    return where


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


# ---------------------------------------------------------------------------- indicator 5: attribute leakage


def leakage_score(z: np.ndarray, labels: np.ndarray, attribute: np.ndarray, seed: int = 0) -> dict:
    """How much of an attribute a linear probe reads from the latent beyond the label.

    A multinomial logistic probe (Alain & Bengio 2016) predicts the attribute a from the
    standardized latent z and the one-hot label y; a second model predicts a from y alone
    (smoothed frequencies p(a | y)). Both are fit on one half of the rows and scored on the
    other by cross-entropy H. leakage = 1 - H(a | z, y) / H(a | y), McFadden's pseudo-R^2 of
    the latent given the label: 0 when the latent adds nothing about the attribute that the
    label does not already say, 1 when it gives the attribute away. Conditioning on the
    label matters when an attribute goes with the label (a shortcut), where a probe on z
    alone scores high for any accurate model.
    """
    z, labels, attribute = np.asarray(z, dtype=np.float64), np.asarray(labels), np.asarray(attribute)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(z))
    fit, test = order[: len(z) // 2], order[len(z) // 2:]
    n_classes, n_values = int(labels.max()) + 1, int(attribute.max()) + 1
    # label-only model: p(a | y) with add-one smoothing
    counts = np.ones((n_classes, n_values))
    np.add.at(counts, (labels[fit], attribute[fit]), 1.0)
    p_label = counts / counts.sum(1, keepdims=True)
    h_label = float(-np.log(p_label[labels[test], attribute[test]]).mean())
    mean, std = z[fit].mean(0), z[fit].std(0) + 1e-8
    x = np.c_[(z - mean) / std, np.eye(n_classes)[labels]]
    if len(np.unique(attribute[fit])) < 2:
        return {"leakage": 0.0, "accuracy": 1.0, "h_label": h_label, "h_probe": h_label}
    probe = LogisticRegression(C=1.0, max_iter=300, tol=1e-3).fit(x[fit], attribute[fit])
    proba = np.full((len(test), n_values), 1e-6)
    proba[:, probe.classes_] = np.maximum(probe.predict_proba(x[test]), 1e-6)
    proba /= proba.sum(1, keepdims=True)
    h_probe = float(-np.log(proba[np.arange(len(test)), attribute[test]]).mean())
    leakage = 1.0 - h_probe / h_label if h_label > 1e-9 else 0.0
    accuracy = float((proba.argmax(1) == attribute[test]).mean())
    return {"leakage": float(leakage), "accuracy": accuracy, "h_label": h_label, "h_probe": h_probe}


def attribute_leakage(z_before: np.ndarray, z_after: np.ndarray, labels: np.ndarray, attribute: np.ndarray,
                      name: str, thresholds: BiasThresholds, seed: int = 0) -> Indicator:
    """Leakage of one attribute into the latent before and after (see `leakage_score`)."""
    b = leakage_score(z_before, labels, attribute, seed)
    a = leakage_score(z_after, labels, attribute, seed)
    delta = a["leakage"] - b["leakage"]
    explanation = (f"a linear probe explains {a['leakage']:.0%} of what the label leaves open about {name} "
                   f"(was {b['leakage']:.0%}); probe accuracy {b['accuracy']:.0%} -> {a['accuracy']:.0%}")
    return Indicator("attribute_leakage", a["leakage"], b["leakage"], delta, thresholds.grade("leakage", delta),
                     explanation, name, {"probe_accuracy_before": b["accuracy"],
                                         "probe_accuracy_after": a["accuracy"], "n": int(len(z_after))})


def clustering_excess(labels: np.ndarray, attribute: np.ndarray, rows: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Per row r in `rows`: how much its neighbours nbr (R, k) share its attribute value
    beyond what their labels explain, e_r = mean_j (1[a_j = a_r] - p(a_r | y_j)), with
    p(a | y) the frequencies over all rows. 0: the neighbourhood is what the labels around
    it predict; up to 1: it is made of the row's attribute group alone."""
    labels, attribute = np.asarray(labels, dtype=np.int64), np.asarray(attribute, dtype=np.int64)
    n_values = int(attribute.max(initial=0)) + 1
    joint = np.bincount(labels * n_values + attribute, minlength=(int(labels.max(initial=0)) + 1) * n_values)
    joint = joint.reshape(-1, n_values).astype(np.float64)
    cond = joint / np.maximum(joint.sum(1, keepdims=True), 1)            # (C, V) p(a | y)
    own = attribute[rows][:, None]                                        # (R, 1)
    same = attribute[nbr] == own                                          # (R, k)
    return (same - cond[labels[nbr], own]).mean(1)


def attribute_clustering(labels: np.ndarray, attribute: np.ndarray, moved: np.ndarray, nbr_before: np.ndarray,
                         nbr_after: np.ndarray, name: str, thresholds: BiasThresholds,
                         categories: Sequence[str] = (), class_names: Sequence[str] = ()) -> Indicator:
    """Does the edit gather its moved samples by attribute? The local, one-edit leakage.

    labels, attribute: of all reference rows; moved: positions of the rows the edit moves;
    nbr_before / nbr_after (len(moved), k): their nearest reference rows in each space.
    value / baseline: mean `clustering_excess` of the moved rows after / before. A rise
    means the moved samples now sit among samples of their attribute value more than the
    labels around them explain: the edit makes the attribute more predictable given the
    label, at the scale of one edit (tens of samples). Tested with Wilcoxon's one-sided
    signed-rank test on the paired per-sample changes.
    """
    moved = np.asarray(moved)
    if len(moved) == 0:
        return Indicator("attribute_clustering", None, None, None, "ok", "the edit moves none of the sampled rows",
                         name)
    before = clustering_excess(labels, attribute, moved, nbr_before)
    after = clustering_excess(labels, attribute, moved, nbr_after)
    change = after - before
    p_value = 1.0
    if np.any(np.abs(change) > 1e-12):
        p_value = float(stats.wilcoxon(change, alternative="greater", zero_method="zsplit").pvalue)
    b, a = float(before.mean()), float(after.mean())
    pairs = np.asarray(labels)[moved] * (int(np.max(attribute)) + 1) + np.asarray(attribute)[moved]
    top = int(np.bincount(pairs).argmax())
    label, value = divmod(top, int(np.max(attribute)) + 1)
    group = (f"label {class_names[label] if label < len(class_names) else label}, "
             f"{name} {categories[value] if value < len(categories) else value}")
    explanation = (f"the {len(moved)} moved samples (mostly {group}) share their {name} with their neighbours "
                   f"{a:+.2f} beyond what the neighbours' labels explain (was {b:+.2f}; p={p_value:.2g})")
    return Indicator("attribute_clustering", a, b, a - b, thresholds.grade("clustering", a - b, p_value),
                     explanation, name, {"n": int(len(moved)), "p_value": p_value, "group": group})


# ---------------------------------------------------------------------------- indicator 6: generalization gap


def generalization_gap(train_before: float, heldout_before: float, train_after: float, heldout_after: float,
                       thresholds: BiasThresholds) -> Indicator:
    """gap = train accuracy - held-out accuracy, after vs before; a rise means the edit is
    fitted on the training samples without carrying over to unseen ones (overfitting)."""
    gap_b, gap_a = train_before - heldout_before, train_after - heldout_after
    delta = gap_a - gap_b
    explanation = (f"train - held-out accuracy gap {gap_b:+.1%} -> {gap_a:+.1%} "
                   f"(train {train_before:.1%} -> {train_after:.1%}, held-out {heldout_before:.1%} -> "
                   f"{heldout_after:.1%})")
    return Indicator("generalization_gap", gap_a, gap_b, delta, thresholds.grade("gap", delta), explanation,
                     details={"train_before": train_before, "train_after": train_after,
                              "heldout_before": heldout_before, "heldout_after": heldout_after})


# ---------------------------------------------------------------------------- indicator 7: collateral distortion


def knn_preservation(z_before: np.ndarray, z_after: np.ndarray, k: int) -> float:
    """Mean share of each sample's k nearest neighbours (excluding itself) kept after the change."""
    nb, na = neighbours(z_before, None, k), neighbours(z_after, None, k)
    kept = (nb[:, :, None] == na[:, None, :]).any(2).sum(1)
    return float(kept.mean() / k)


def collateral_distortion(z_before: np.ndarray, z_after: np.ndarray, k: int,
                          thresholds: BiasThresholds) -> Indicator:
    """How much the edit reshuffles the neighbourhoods of samples it did not cover.

    Trustworthiness T(k) (Venna & Kaski 2001; `sklearn.manifold.trustworthiness`) of the
    after-latents against the before-latents: 1 when every sample's k nearest neighbours
    after the edit were already among its nearest before; lower when strangers move in.
    Also kNN preservation = mean |N_k^before(i) & N_k^after(i)| / k. Baseline 1 (no change).
    """
    if len(z_before) < 2 * k + 2:
        return Indicator("collateral_distortion", None, None, None, "ok", "too few uncovered samples")
    trust = float(trustworthiness(z_before, z_after, n_neighbors=k))
    kept = knn_preservation(z_before, z_after, k)
    explanation = (f"neighbourhoods of {len(z_before)} uncovered samples: trustworthiness {trust:.3f}, "
                   f"{kept:.0%} of their {k} nearest neighbours kept")
    return Indicator("collateral_distortion", trust, 1.0, trust - 1.0, thresholds.grade("distortion", 1.0 - trust),
                     explanation, details={"knn_preservation": kept, "k": k, "n": int(len(z_before))})

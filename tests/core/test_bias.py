"""Bias indicators: each on a constructed case with a known answer, then on a real model
through the Session (the single-edit calibration is in test_bias_calibration.py)."""
import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from scipy import stats
from sklearn.manifold import trustworthiness

from hill_viz.core.bias import (
    BiasConfig, BiasReport, BiasThresholds, EditTargets, Indicator, attribute_clustering, attribute_leakage, class_accuracy,
    collateral_distortion, fairness_differences, generalization_gap, group_fairness, label_conflict,
    label_conflict_vs_control, majority, neighbours, selection_skew, worst_group_accuracy,
)
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.indicator import advise
from hill_viz.core.model import infer
from hill_viz.core.review import bias_indicators
from hill_viz.core.teacher import Teacher
from hill_viz.errors import ConfigError, EditError, StateError
from hill_viz.session import Session

TH = BiasThresholds()
MEASURED = BiasConfig().measured_thresholds


# -- 1. selection skew ----------------------------------------------------------------------------

def test_skew_of_a_one_sided_selection_is_cohens_w_of_one():
    population = np.repeat([0, 1], 500)
    ind = selection_skew(np.zeros(100, dtype=int), population, 2, "group")
    # O = (100, 0), E = (50, 50): chi2 = 2 * 50^2 / 50 = 100 = n, so w = 1
    assert ind.value == pytest.approx(1.0)
    assert ind.details["p_value"] == pytest.approx(stats.chisquare([100, 0], [50, 50]).pvalue)
    assert ind.details["coverage"] == 0.5
    # what an edit selects is context, not evidence of bias: never graded
    assert ind.severity == "ok" and ind.context and ind.explanation.startswith("context:")


def test_skew_of_a_representative_selection_is_zero():
    population = np.repeat([0, 1, 2], [200, 300, 500])
    ind = selection_skew(np.repeat([0, 1, 2], [20, 30, 50]), population, 3, "group")
    assert ind.value == pytest.approx(0.0, abs=1e-12)
    assert ind.severity == "ok"


def test_label_skew_is_context_and_label_matched_attribute_skew_is_zero():
    labels = np.repeat([0, 1], 500)
    attr = labels.copy()  # the attribute follows the label exactly
    chosen = labels == 1
    by_label = selection_skew(labels[chosen], labels, 2, "label")
    assert by_label.value == pytest.approx(1.0) and by_label.severity == "ok" and by_label.context
    report = BiasReport("predicted", (1,), (by_label,))
    assert report.severity == "ok" and report.families() == {"skew": "ok"}
    matched = selection_skew(attr[chosen], attr, 2, "attr", within=labels[chosen], within_population=labels)
    assert matched.value == pytest.approx(0.0, abs=1e-12) and matched.severity == "ok"


# -- 2. label conflict ----------------------------------------------------------------------------

def two_clusters(n=50, seed=0):
    rng = np.random.default_rng(seed)
    z = np.r_[rng.normal(0, 0.1, (n, 2)), rng.normal(5, 0.1, (n, 2))]
    return z, np.repeat([0, 1], n)


def test_conflict_is_the_share_moved_into_another_labels_cluster():
    z, y = two_clusters()
    moved = np.arange(10)  # ten class-0 samples, moved into the class-1 cluster
    z_after = z.copy()
    z_after[moved] += 5.0
    before = majority(y, neighbours(z, None, 5), 2)
    after = majority(y, neighbours(z_after, None, 5), 2)
    ind = label_conflict(y[moved], before[moved], after[moved], TH, background=0.0)
    assert (ind.baseline, ind.value, ind.delta) == (0.0, 1.0, 1.0)
    assert ind.severity == "alert" and ind.harm == 1.0


def test_conflict_grades_where_the_edit_leaves_samples_a_shortcut_model_already_misplaced():
    # five class-0 samples already sit in class 1's cluster (a shortcut model put them there);
    # a merge onto class 1 keeps them there: no change, but the edit endorses the conflict
    z, y = two_clusters()
    z[:5] += 5.0
    kept = majority(y, neighbours(z, None, 5), 2)[:5]
    ind = label_conflict(y[:5], kept, kept, TH, background=0.05)
    assert ind.delta == 0.0 and ind.value == 1.0
    assert ind.details["p_value"] == pytest.approx(0.05 ** 5)  # the binomial test: all five vs 5% background
    assert ind.harm == pytest.approx(0.95) and ind.severity == "alert"
    # four of five at a background of 0.5 may be chance
    assert label_conflict(y[:5], kept, np.r_[kept[:4], 0], TH, background=0.5).severity == "ok"


def test_conflict_grades_the_few_samples_of_other_labels_a_grouping_sweeps_along_apart():
    # 40 moved samples of label 0 stay among their own; 6 of label 1 end among label 0
    labels = np.r_[np.zeros(40, int), np.ones(6, int)]
    after = np.zeros(46, int)
    ind = label_conflict(labels, labels, after, TH, background=0.05, class_names=("zero", "one"))
    assert ind.details["part"] == "labels other than zero" and ind.details["n"] == 6
    assert (ind.baseline, ind.value) == (0.0, 1.0) and ind.severity == "alert"
    assert "of the 46" not in ind.explanation and "6 moved samples of labels other than zero" in ind.explanation
    # pooled, 6 of 46 (13%) would hardly stand out; with fewer than 5 of other labels they stay pooled
    few = label_conflict(labels[:44], labels[:44], after[:44], TH, background=0.05)
    assert few.details["part"] == "" and few.severity == "ok"


def test_conflict_of_a_move_within_the_own_cluster_is_zero():
    z, y = two_clusters()
    moved = np.arange(10)
    z_after = z.copy()
    z_after[moved] += 0.05
    after = majority(y, neighbours(z_after, None, 5), 2)
    ind = label_conflict(y[moved], majority(y, neighbours(z, None, 5), 2)[moved], after[moved], TH)
    assert ind.value == 0.0 and ind.severity == "ok"


def test_measured_conflict_blames_the_edit_only_for_what_it_adds_to_the_control():
    # eight class-0 samples sat among class 1 in a shortcut model. Trained on without the edit
    # (the control) they come back to 9 in 10 class-0 neighbours; with a merge onto class 1
    # they stay at 1 in 10: the edit keeps them among another label, a fall of 0.8
    labels = np.zeros(8, int)
    control, kept = np.full(8, 0.9), np.full(8, 0.1)
    ind = label_conflict_vs_control(labels, control, kept, MEASURED)
    assert ind.harm == pytest.approx(0.8) and ind.details["p_value"] == pytest.approx(2.0 ** -8)
    assert ind.severity == "alert" and (ind.baseline, ind.value) == (0.0, 1.0)
    assert "10% of the neighbours of the 8 moved samples" in ind.explanation and "90% after the same" in ind.explanation
    # an expert merge that has not yet undone the shortcut: still in conflict after, but less than without it
    slow = label_conflict_vs_control(labels, np.full(8, 0.1), np.full(8, 0.3), MEASURED)
    assert slow.value == 1.0 and slow.harm == pytest.approx(-0.2) and slow.severity == "ok"
    # four samples can never reach alpha = 0.05 (p = 1/16), however far they fall
    assert label_conflict_vs_control(labels[:4], control[:4], kept[:4], MEASURED).severity == "ok"


def test_measured_conflict_grades_the_few_swept_samples_of_other_labels_apart():
    labels = np.r_[np.zeros(40, int), np.ones(6, int)]
    control = np.r_[np.full(40, 0.9), np.full(6, 0.8)]
    after = np.r_[np.full(40, 0.9), np.full(6, 0.2)]
    ind = label_conflict_vs_control(labels, control, after, MEASURED, ("zero", "one"))
    assert ind.details["part"] == "labels other than zero" and ind.harm == pytest.approx(0.6)
    assert ind.severity == "alert"


def test_neighbours_skip_the_point_itself():
    z = np.arange(10, dtype=float)[:, None]
    idx = neighbours(z, None, 2)
    assert not (idx == np.arange(10)[:, None]).any()
    assert set(idx[5]) == {4, 6}


# -- 3. per-class accuracy ------------------------------------------------------------------------

def test_class_accuracy_names_the_class_that_loses():
    y = np.repeat(np.arange(3), 40)
    after = y.copy()
    after[np.flatnonzero(y == 2)[:20]] = 0  # half of class 2 now wrong
    ind = class_accuracy(y, y.copy(), after, ("a", "b", "c"), TH)
    assert ind.subject == "c"
    assert (ind.baseline, ind.value, ind.delta) == (1.0, 0.5, -0.5)
    assert ind.details["overall_after"] == pytest.approx(100 / 120)
    assert ind.severity == "alert"


def test_a_drop_that_may_be_chance_stays_ok():
    y = np.repeat(np.arange(2), 40)
    after = y.copy()
    after[:3] = 1  # 3 of 40 lost: McNemar p = 0.25
    ind = class_accuracy(y, y.copy(), after, ("a", "b"), TH)
    assert ind.delta == pytest.approx(-0.075)
    assert ind.details["p_value"] == pytest.approx(0.25)
    assert ind.severity == "ok"


# -- 4. group fairness ----------------------------------------------------------------------------

def test_fairness_differences_match_fairlearn_on_a_binary_task():
    rng = np.random.default_rng(1)
    n = 4000
    g = rng.integers(0, 3, n)
    y = rng.integers(0, 2, n)
    flip = rng.random(n) < np.array([0.05, 0.2, 0.4])[g]  # errors depend on the group
    pred = np.where(flip, 1 - y, y)
    ours = fairness_differences(y, pred, g, n_classes=2)
    assert ours["dpd"] == pytest.approx(demographic_parity_difference(y, pred, sensitive_features=g))
    assert ours["eod"] == pytest.approx(equalized_odds_difference(y, pred, sensitive_features=g))


def test_fairness_skips_groups_too_small_to_compare():
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    g = np.r_[np.zeros(195, int), np.ones(5, int)]  # group 1: five samples
    pred = y.copy()
    pred[-5:] = 0  # all of group 1 wrong: a rate of 0 from five samples
    assert fairness_differences(y, pred, g, 2, min_group=10)["eod"] is None
    assert fairness_differences(y, pred, g, 2, min_group=5)["eod"] == pytest.approx(1.0)


def test_worst_group_pools_rare_combinations():
    y = np.repeat([0, 1], 50)
    g = y.copy()
    g[[0, 1, 2, 50, 51, 52, 53]] = 1 - y[[0, 1, 2, 50, 51, 52, 53]]  # 7 samples against the pattern
    correct = np.ones(100, bool)
    correct[[0, 1, 50]] = False
    acc, which, mask = worst_group_accuracy(y, correct, g, min_group=5)
    assert which == "rare (label, value) combinations"
    assert acc == pytest.approx(4 / 7) and mask.sum() == 7


def test_group_fairness_alerts_when_one_group_loses():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 2000)
    g = rng.integers(0, 2, 2000)
    after = y.copy()
    hurt = np.flatnonzero(g == 1)[:300]
    after[hurt] = 1 - y[hurt]
    inds = {i.name: i for i in group_fairness(y, y.copy(), after, g, "group", 2, TH)}
    assert inds["equalized_odds_difference"].baseline == 0.0
    assert inds["equalized_odds_difference"].severity == "alert"
    assert inds["worst_group_accuracy"].baseline == 1.0
    assert inds["worst_group_accuracy"].value < 0.75
    assert inds["worst_group_accuracy"].severity == "alert"


# -- 5. attribute leakage -------------------------------------------------------------------------

def test_leakage_sees_an_attribute_written_into_the_latent_but_not_one_only_the_label_carries():
    rng = np.random.default_rng(3)
    n = 1200
    y = rng.integers(0, 3, n)
    attr = np.where(rng.random(n) < 0.7, y, rng.integers(0, 3, n))  # goes with the label
    z_label = np.eye(3)[y] * 3 + rng.normal(0, 1, (n, 3))            # knows the label only
    z_leaky = np.c_[z_label, np.eye(3)[attr] * 3]                    # ... and the attribute
    ind = attribute_leakage(np.c_[z_label, rng.normal(0, 1, (n, 3))], z_leaky, y, attr, "attr", TH)
    assert ind.baseline == pytest.approx(0.0, abs=0.05)
    assert ind.value > 0.8
    assert ind.severity == "alert"


def class_with_minority(seed=0):
    """Two classes of 100 points in two clusters; class 0 has a minority of 10 with attribute 1,
    scattered among its majority (attribute 0); class 1 has attribute 1."""
    rng = np.random.default_rng(seed)
    z = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(20, 1, (100, 2))]
    labels = np.repeat([0, 1], 100)
    attr = np.r_[np.zeros(90, int), np.ones(10, int), np.ones(100, int)]
    return z, labels, attr, np.arange(90, 100)


def clustering_of(z, z_new, labels, attr, moved, k=5):
    nb = neighbours(z, None, k)[moved]
    na = neighbours(z_new, None, k)[moved]
    return attribute_clustering(labels, attr, moved, nb, na, "cue", TH, ("a", "b"), ("zero", "one"))


def test_clustering_alerts_when_a_minority_group_is_gathered_away_from_its_class():
    z, labels, attr, minority = class_with_minority()
    z_new = z.copy()
    z_new[minority] = np.array([0.0, 8.0]) + 0.1 * np.random.default_rng(1).standard_normal((10, 2))
    ind = clustering_of(z, z_new, labels, attr, minority)
    # after: each moved sample's 5 neighbours are its group mates, e = 1 - p(b | zero) = 0.9
    assert ind.value == pytest.approx(0.9)
    assert ind.baseline < 0.2 and ind.details["p_value"] < 0.01
    assert ind.severity == "alert" and ind.details["group"] == "label zero, cue b"


def test_clustering_falls_when_the_group_is_merged_into_its_class_and_ignores_rigid_moves():
    z, labels, attr, minority = class_with_minority()
    z_split = z.copy()
    z_split[minority] += np.array([0.0, 6.0])  # the group sits apart before the edit
    merged = clustering_of(z_split, z, labels, attr, minority)
    assert merged.delta < -0.5 and merged.severity == "ok"
    moved = np.arange(100)  # translate all of class 0: nobody's neighbours change
    rigid = clustering_of(z, z + np.array([[3.0, 0.0]]) * (labels == 0)[:, None], labels, attr, moved)
    assert rigid.delta == pytest.approx(0.0) and rigid.details["p_value"] == 1.0 and rigid.severity == "ok"


def test_clustering_test_needs_five_samples_to_reach_alpha():
    # Wilcoxon's exact one-sided test: n samples that all rise give p = 2^-n
    z, labels, attr, minority = class_with_minority()
    for n, expected in ((4, "ok"), (5, "alert")):
        z_new = z.copy()
        z_new[minority[:n]] = np.array([0.0, 8.0]) + 0.01 * np.arange(n)[:, None]
        ind = clustering_of(z, z_new, labels, attr, minority[:n], k=3)
        assert ind.details["p_value"] == pytest.approx(2.0 ** -n)
        assert ind.severity == expected


def test_a_warning_says_what_to_try_instead_and_an_ok_record_stays_as_it_is():
    warn = advise(Indicator("attribute_clustering", 0.5, 0.1, 0.4, "alert", "moved samples ...", "cue"))
    assert "Try instead: this edit gathers samples by cue rather than by class" in warn.explanation
    assert advise(warn).explanation == warn.explanation
    ok = Indicator("label_conflict", 0.1, 0.1, 0.0, "ok", "fine")
    assert advise(ok) is ok


# -- 6. generalization gap ------------------------------------------------------------------------

def test_gap_change_is_exact():
    ind = generalization_gap(0.90, 0.85, 0.99, 0.84, TH)
    assert (ind.baseline, ind.value, ind.delta) == pytest.approx((0.05, 0.15, 0.10))
    assert ind.severity == "alert"
    assert generalization_gap(0.9, 0.85, 0.91, 0.86, TH).severity == "ok"


# -- 7. collateral distortion ---------------------------------------------------------------------

def test_distortion_is_trustworthiness_and_knn_preservation():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(300, 8))
    same = collateral_distortion(z, z * 2.0 + 1.0, 10, TH)  # scaling keeps every neighbourhood
    assert same.value == pytest.approx(1.0) and same.details["knn_preservation"] == 1.0
    assert same.severity == "ok"
    shuffled = z[rng.permutation(300)]
    broken = collateral_distortion(z, shuffled, 10, TH)
    assert broken.value == pytest.approx(trustworthiness(z, shuffled, n_neighbors=10))
    assert broken.details["knn_preservation"] < 0.2
    assert broken.severity == "alert"


# -- records and settings -------------------------------------------------------------------------

def test_thresholds_are_validated_and_grade_both_ways():
    with pytest.raises(ConfigError, match="alert >= warn"):
        BiasThresholds(leakage=(0.2, 0.1))
    with pytest.raises(ConfigError, match="alpha"):
        BiasThresholds(alpha=0)
    t = BiasThresholds(gap=(0.01, 0.02))
    assert [t.grade("gap", h) for h in (0.0, 0.015, 0.03, None)] == ["ok", "warn", "alert", "ok"]
    assert t.grade("gap", 0.03, p_value=0.2) == "ok"
    with pytest.raises(AttributeError):
        BiasThresholds().grade("skew_label", 100.0)  # selection skew is context: no thresholds
    with pytest.raises(ConfigError):
        BiasConfig(n_eval=5)


def test_report_round_trips_and_reads_as_unique_names():
    inds = (Indicator("attribute_leakage", 0.5, 0.1, 0.4, "alert", "x", "cue"),
            Indicator("attribute_leakage", 0.1, 0.1, 0.0, "ok", "y", "sex"),
            Indicator("generalization_gap", 0.02, 0.01, 0.01, "warn", "z"))
    report = BiasReport("predicted", (3, 4), inds, {"n_covered": 7}, 0.5)
    again = BiasReport.from_dict(report.to_dict())
    assert [i.to_dict() for i in again.indicators] == [i.to_dict() for i in inds]
    assert again.severity == "alert" and again.edit_ids == (3, 4)
    assert again.families() == {"leakage": "alert", "gap": "warn"}
    assert set(bias_indicators(report.metrics())) == {"attribute_leakage[cue]", "attribute_leakage[sex]",
                                                      "generalization_gap"}


# -- on a real model: targets, session integration ----------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("bias"))
    s.load_dataset("digits-shortcut", n=1500, seed=0)
    s.build_model(seed=0)
    s.train(2, wait=True)
    return s


def test_targets_from_the_view_are_the_teachers(trained):
    s = trained
    edits = [Edit.translate(Selector.of_label(3), 1.0, -0.5).resolve(s.frame.context()),
             Edit.contract(Selector.of_label(3), 0.5).resolve(s.frame.context()),
             Edit.merge(Selector.of_label(5), Selector.of_label(6)).resolve(s.frame.context())]
    teacher = Teacher(s.model, s.dataset, s.projection, edits)
    view = np.c_[s.frame.column("x"), s.frame.column("y")]
    for xy in (view, None):  # from the frame, or inferred
        targets = EditTargets.from_edits(edits, s.dataset, s.model, s.projection, xy, relational=False)
        assert np.array_equal(targets.rows, teacher.rows)
        z, _ = infer(s.model, s.dataset.features, targets.rows)
        np.testing.assert_allclose(targets.latents(targets.rows, z, s.projection), teacher.target_latent, atol=1e-4)


def test_relational_reading_moves_a_merge_off_the_plane_too(trained):
    s = trained
    edit = Edit.merge(Selector.of_label(5), Selector.of_label(6)).resolve(s.frame.context())
    targets = EditTargets.from_edits([edit], s.dataset, s.model, s.projection)
    rows5 = targets.rows[s.dataset.labels[targets.rows] == 5]
    rows6 = targets.rows[s.dataset.labels[targets.rows] == 6]
    z5, z6 = infer(s.model, s.dataset.features, rows5)[0], infer(s.model, s.dataset.features, rows6)[0]
    moved = targets.latents(rows5, z5, s.projection)
    gap_before = np.linalg.norm(z5.mean(0) - z6.mean(0))
    assert np.linalg.norm(moved.mean(0) - z6.mean(0)) < 0.2 * gap_before
    assert targets.moved(rows5, z5, s.projection).all()
    assert not targets.moved(rows6, z6, s.projection).any()  # the partner holds still


def test_predict_bias_needs_pending_edits(trained):
    with pytest.raises(StateError, match="no pending edits"):
        trained.predict_bias()


def test_apply_records_a_predicted_then_a_measured_report(trained, tmp_path):
    s = Session(tmp_path)
    s.load_dataset("digits-shortcut", n=1500, seed=0)
    s.build_model(seed=0)
    s.model.load_state_dict(trained.model.state_dict())
    s.use_projection(trained.projection)
    first = s.add_edit(Edit.contract(Selector.of_label(1), 0.5))
    second = s.add_edit(Edit.translate(Selector.of_label(2), 0.5, 0.0))
    with pytest.raises(EditError, match="no pending edit 9"):
        s.predict_bias([9])
    only_first = s.predict_bias([first.edit_id])
    predicted = s.predict_bias()
    assert only_first.edit_ids == (first.edit_id,) and only_first.sizes["n_covered"] < predicted.sizes["n_covered"]
    s.apply_edits(1, wait=True)
    events = [e for e in s.workspace.store.path_to() if e.kind == "bias_report"]
    assert [e.params["phase"] for e in events] == ["predicted", "measured"]
    assert all(e.params["edit_ids"] == [first.edit_id, second.edit_id] for e in events)
    recorded = s.bias_reports(second.edit_id)
    assert [r.phase for r in recorded] == ["predicted", "measured"]
    for a, b in zip(recorded[0].indicators, predicted.indicators):  # what the panel showed is what is recorded
        assert a.key == b.key and a.severity == b.severity
        assert a.value == pytest.approx(b.value, abs=1e-6) if a.value is not None else b.value is None
    assert s.bias_reports(edit_id=99) == []
    assert recorded[1].sizes["baseline"] == "control"  # measured against the same epoch trained without the edits
    assert s.last_error == ""

"""The calibration's single edits (what each kind selects and where it sends it) and, on a
small tabular-shortcut run, that the lights tell the biased single edits from the benign."""
import numpy as np
import pytest

from hill_viz.bench.bias import calibrate, markdown, summarize
from hill_viz.bench.bias_cases import BENIGN, BIASED, KINDS, make_cases
from hill_viz.core.edits import SelectionContext
from hill_viz.sim.strategies import View


def shortcut_view(seed=0, per_class=60, classes=3):
    """Three classes in three clusters; the cue agrees with the label for 5 of 6 points, and
    each class's other-cue points sit a little apart (where a shortcut model puts them)."""
    rng = np.random.default_rng(seed)
    label = np.repeat(np.arange(classes), per_class)
    cue = label.copy()
    flip = np.arange(len(label)) % 6 == 5
    cue[flip] = (label[flip] + 1) % classes
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    xy = centres[label] + rng.normal(0, 0.5, (len(label), 2)) + 1.5 * flip[:, None]
    ids = np.arange(len(label)) + 100
    return View(ids, xy, label, cue, ("c0", "c1", "c2"), "cue")


def context_of(view):
    return SelectionContext(view.ids, view.xy[:, 0], view.xy[:, 1], view.label, {"cue": view.cue},
                            {"cue": view.cue_names}, ("zero", "one", "two"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_makes_single_edits_that_resolve(kind):
    view = shortcut_view()
    cases = make_cases(view, kind, 2, np.random.default_rng(0), min_group=3)
    assert 1 <= len(cases) <= 2 and all(c.kind == kind and c.biased == (kind in BIASED) for c in cases)
    for case in cases:
        resolved = case.edit.resolve(context_of(view))
        assert len(resolved.ids) > 0


def test_the_biased_kinds_select_by_cue_across_or_away_from_the_class():
    view, ctx, rng = shortcut_view(), context_of(shortcut_view()), np.random.default_rng(0)
    rows = lambda ids: np.searchsorted(view.ids, ids)  # noqa: E731
    for case in make_cases(view, "biased_merge", 3, rng, min_group=3):  # a class's cue group onto the cue's class
        r = case.edit.resolve(ctx)
        (label,), (cue,) = np.unique(view.label[rows(r.ids)]), np.unique(view.cue[rows(r.ids)])
        assert label != cue and set(view.label[rows(r.other_ids)]) == {cue} == set(view.cue[rows(r.other_ids)])
    for case in make_cases(view, "expert_merge", 3, rng, min_group=3):  # the benign twin: within the class
        r = case.edit.resolve(ctx)
        assert set(view.label[rows(r.ids)]) == set(view.label[rows(r.other_ids)])
    for case in make_cases(view, "group_by_attribute", 3, rng):
        r = case.edit.resolve(ctx)
        assert len(set(view.cue[rows(r.ids)])) == 1 and len(set(view.label[rows(r.ids)])) > 1
        assert case.edit.op == "contract"
    for case in make_cases(view, "minority_away", 3, rng, min_group=3):
        r = case.edit.resolve(ctx)
        (label,), (cue,) = np.unique(view.label[rows(r.ids)]), np.unique(view.cue[rows(r.ids)])
        assert label != cue
        group, klass = view.xy[rows(r.ids)].mean(0), view.xy[view.label == label].mean(0)
        assert np.dot(np.array([case.edit.param("dx"), case.edit.param("dy")]), group - klass) > 0  # away


def test_summary_counts_shares_and_aucs():
    rows = [{"benchmark": "b", "seed": 0, "kind": k, "biased": k in BIASED, "phase": "predicted",
             "severity": "warn" if k in BIASED else "ok", "flagged": ["x"] if k in BIASED else [],
             "harm": {"x": 1.0 if k in BIASED else 0.0, "y": 0.5}} for k in KINDS]
    figures = summarize(rows, 100)
    detection = next(f for f in figures if f["name"] == "bias_detection")
    assert detection["value"] == 1.0 and detection["benign_not_ok"] == 0.0
    aucs = {f["indicator"]: f["value"] for f in figures if f["name"] == "bias_indicator_auc"}
    assert aucs == {"x": 1.0, "y": 0.5}
    assert "| b | **biased** minority_away | predicted | 1 | 0% | 100% | 0% |" in markdown(figures)


def test_summary_reports_the_no_edit_comparisons_and_the_cost_of_the_control():
    rows = [{"benchmark": "b", "seed": 0, "kind": k, "biased": k in BIASED, "phase": "null",
             "severity": "warn" if k == "pin_class" else "ok", "flagged": ["x"] if k == "pin_class" else [],
             "harm": {"x": 0.2 if k == "pin_class" else 0.01}} for k in KINDS]
    rows.append({"benchmark": "b", "seed": 0, "phase": "cost",
                 "seconds": {"edit_training": [2.0, 4.0], "control_training": [3.0], "measured_report": [1.0]}})
    figures = summarize(rows, 100)
    null = next(f for f in figures if f["name"] == "bias_null_not_ok")
    assert null["value"] == pytest.approx(1 / len(KINDS)) and null["flagged_by"] == {"x": 1}
    assert next(f for f in figures if f["name"] == "bias_null_harm")["value"] == 0.2
    cost = next(f for f in figures if f["name"] == "bias_measured_cost")
    assert (cost["value"], cost["baseline_value"], cost["ratio"]) == (3.0, 3.0, 1.0)
    assert not [f for f in figures if f["name"] in ("bias_flag_rate", "bias_detection")]  # no edits measured


def test_single_edits_on_tabular_shortcut_light_up_only_when_biased():
    rows = calibrate("tabular-shortcut", n=2000, seed=0, cases=2, measured=0, pre_epochs=4, edit_epochs=0)
    predicted = [r for r in rows if r["phase"] == "predicted"]
    assert {r["kind"] for r in predicted} == set(KINDS)
    biased = [r["severity"] != "ok" for r in predicted if r["biased"]]
    benign = [r["severity"] != "ok" for r in predicted if not r["biased"]]
    assert np.mean(biased) >= 0.8, [(r["kind"], r["flagged"]) for r in predicted if r["biased"]]
    assert np.mean(benign) <= 0.2, [(r["kind"], r["flagged"]) for r in predicted if not r["biased"]]
    assert len(benign) >= 2 * len(BENIGN) - 2

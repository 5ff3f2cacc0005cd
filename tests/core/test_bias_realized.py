"""The measured phase carries a predicted warning when training realized the edit (bias_realized)."""
import numpy as np
import pytest

from hill_viz.core.bias import BiasConfig, Indicator
from hill_viz.core.bias_realized import carry_realized, edit_realization

MEASURED = BiasConfig().measured_thresholds


def _latents(n=8, d=4, seed=0):
    rng = np.random.default_rng(seed)
    z_before = rng.normal(size=(n, d))
    z_target = z_before + rng.normal(size=(n, d)) * 2
    z_control = z_before + rng.normal(scale=0.01, size=(n, d))  # training alone hardly moves them
    return z_before, z_target, z_control


def test_realization_is_the_share_of_the_asked_displacement_done_beyond_the_control():
    z_before, z_target, z_control = _latents()
    # the after-model went 60% of the way to the targets, on top of what the control did
    after = z_control + 0.6 * (z_target - z_before)
    r = edit_realization(z_before, z_target, z_control, after)
    assert r["n"] == 8 and r["share"] == pytest.approx(0.6) and r["mean"] == pytest.approx(0.6)
    assert r["p_value"] == pytest.approx(2.0 ** -8)  # all 8 toward their targets: Wilcoxon exact
    # a move at right angles to the asked one realizes nothing; one the other way is negative
    asked = z_target - z_before
    ortho = np.c_[-asked[:, 1], asked[:, 0], np.zeros((8, 2))]
    assert edit_realization(z_before, z_target, z_control, z_control + ortho)["share"] == pytest.approx(0.0)
    back = edit_realization(z_before, z_target, z_control, z_control - 0.5 * asked)
    assert back["share"] == pytest.approx(-0.5) and back["p_value"] > 0.99


def test_four_samples_never_reach_alpha_and_unmoved_samples_count_for_nothing():
    z_before, z_target, z_control = _latents(n=4)
    r = edit_realization(z_before, z_target, z_control, z_control + (z_target - z_before))
    assert r["share"] == pytest.approx(1.0) and r["p_value"] == pytest.approx(1 / 16)
    still = edit_realization(z_before, z_before, z_control, z_control + 1.0)
    assert still == {"n": 0, "share": 0.0, "mean": 0.0, "p_value": 1.0, "asked": 0.0, "toward": 0.0}


def _conflict(severity, text):
    return Indicator("label_conflict", 0.5, 0.1, 0.4, severity, text, details={"harm": 0.02, "p_value": 0.2})


def test_a_predicted_alert_that_training_carried_out_is_carried_into_the_measured_record():
    predicted = [_conflict("alert", "100% of the 8 moved samples sit among class 3's points. Try instead: merge")]
    measured = [_conflict("ok", "90% of the neighbours of the 8 moved samples carry their own label")]
    done = {"n": 8, "share": 0.8, "mean": 0.8, "p_value": 2.0 ** -8}
    ind, = carry_realized(measured, predicted, done, MEASURED)
    assert ind.severity == "alert" and ind.details["carried_from_predicted"] == "alert"
    assert ind.details["measured_severity"] == "ok" and ind.details["realized_share"] == 0.8
    assert "went 80% of the way" in ind.explanation and "100% of the 8 moved samples" in ind.explanation
    assert ind.explanation.count("Try instead") == 1 and ind.explanation.rstrip().endswith(
        ind.explanation.split("Try instead: ")[1])
    # half-way between the levels supports a warning at most
    half = {**done, "share": (MEASURED.realized[0] + MEASURED.realized[1]) / 2}
    assert carry_realized(measured, predicted, half, MEASURED)[0].severity == "warn"


def test_nothing_is_carried_when_training_did_not_realize_the_edit_or_nothing_was_predicted():
    predicted = [_conflict("alert", "predicted")]
    measured = [_conflict("ok", "measured")]
    chance = {"n": 8, "share": 0.8, "mean": 0.8, "p_value": 0.2}        # may be chance
    small = {"n": 8, "share": MEASURED.realized[0] / 2, "mean": 0.1, "p_value": 0.004}
    for realization in (chance, small):
        assert carry_realized(measured, predicted, realization, MEASURED) == measured
    done = {"n": 8, "share": 0.8, "mean": 0.8, "p_value": 0.004}
    # a benign edit: its predicted records are ok, so a realized edit stays ok
    assert carry_realized(measured, [_conflict("ok", "predicted")], done, MEASURED) == measured
    # a measured alert is never lowered by a predicted warning
    loud = [_conflict("alert", "measured")]
    assert carry_realized(loud, [_conflict("warn", "predicted")], done, MEASURED) == loud

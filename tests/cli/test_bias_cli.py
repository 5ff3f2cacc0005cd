"""`hill-viz bias`: recorded reports as a table and as JSON; missing ones computed from the log."""
import json

import pytest

from hill_viz.core.bias_records import applications, compute_missing
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.provenance import Workspace
from hill_viz.session import Session


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Edit #1 applied with its reports recorded; #2 applied without; #3 pending."""
    path = tmp_path_factory.mktemp("bias-cli")
    s = Session(path)
    s.load_dataset("digits-shortcut", n=1000, seed=0)
    s.build_model(seed=0)
    s.train(1, wait=True)
    s.add_edit(Edit.contract(Selector.of_label(1), 0.5))
    s.apply_edits(1, wait=True)
    s.auto_bias = False
    s.add_edit(Edit.translate(Selector.of_label(2), 0.5, 0.0))
    s.apply_edits(1, wait=True)
    s.add_edit(Edit.pin(Selector.of_label(4)))
    s.workspace.close()
    return path


def test_table_shows_recorded_reports_and_says_what_is_missing(cli, workspace):
    code, out, _ = cli("bias", "--workspace", str(workspace))
    assert code == 0
    first, second = out.split("\n\n")[:2]
    assert first.startswith("edits #1: applied at event")
    assert "predicted" in first and "measured" in first
    assert "attribute_leakage[cue]" in first and "collateral_distortion" in first
    assert any(word in first for word in ("ok", "WARN", "ALERT"))
    assert second.startswith("edits #2") and second.count("not recorded; --compute computes it") == 2
    assert "pending" not in out


def test_json_lists_each_application_with_its_reports(cli, workspace):
    code, out, _ = cli("bias", "--workspace", str(workspace), "--json")
    doc = json.loads(out)
    assert code == 0 and [a["edit_ids"] for a in doc["applications"]] == [[1], [2]]
    reports = doc["applications"][0]["reports"]
    assert set(reports) == {"predicted", "measured"} and reports["measured"]["recorded"] is True
    names = [i["name"] for i in reports["predicted"]["indicators"]]
    assert "selection_skew[label]" in names and "equalized_odds_difference[cue]" in names
    assert all(i["severity"] in ("ok", "warn", "alert") for i in reports["predicted"]["indicators"])
    assert doc["applications"][1]["reports"] == {} and doc["pending"] is None


def test_compute_fills_the_gaps_and_predicts_the_pending_edits(cli, workspace):
    code, out, _ = cli("bias", "--workspace", str(workspace), "--edit", "2", "--compute", "--json")
    doc = json.loads(out)
    assert code == 0 and [a["edit_ids"] for a in doc["applications"]] == [[2]]
    reports = doc["applications"][0]["reports"]
    assert {p: r["recorded"] for p, r in reports.items()} == {"predicted": False, "measured": False}
    assert doc["pending"] is None  # the pending edit is #3, not #2
    code, out, _ = cli("bias", "--workspace", str(workspace), "--compute")
    assert "pending edits #3 (not applied yet)" in out and "computed now" in out


def test_computed_reports_match_the_recorded_ones(workspace):
    ws = Workspace(workspace, create=False)
    [app] = applications(ws, edit_id=1)
    recorded = dict(app.reports)
    app.reports.clear()
    compute_missing(ws, app)
    assert app.computed == {"predicted", "measured"}
    for phase in ("predicted", "measured"):
        keys = [i.key for i in recorded[phase].indicators]
        assert keys and [i.key for i in app.reports[phase].indicators] == keys
        for a, b in zip(recorded[phase].indicators, app.reports[phase].indicators):
            assert a.key == b.key and a.severity == b.severity
            if a.value is not None:
                assert b.value == pytest.approx(a.value, abs=0.02)


def test_no_reports_about_an_edit_says_so(cli, workspace):
    code, out, _ = cli("bias", "--workspace", str(workspace), "--edit", "99")
    assert code == 0 and "no applied edits about edit 99" in out


def test_not_a_workspace_is_one_line_and_exit_2(cli, tmp_path):
    code, out, err = cli("bias", "--workspace", str(tmp_path / "nowhere"))
    assert code == 2 and out == ""
    assert err.startswith("hill-viz: error:") and len(err.strip().splitlines()) == 1

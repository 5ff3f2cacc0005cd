"""BiasPanel without a browser: rows follow the Session, predictions run off the caller's thread."""
import threading

import numpy as np
import panel as pn
import pytest

from hill_viz.core.edits import Edit, Selector
from hill_viz.session import Session
from hill_viz.ui.bias_panel import LIGHT_COLOURS, PENDING, BiasPanel, edit_list


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path)
    s.load_dataset("digits-shortcut", n=1000, seed=0)
    s.build_model(seed=0)
    s.train(1, wait=True)
    return s


def test_a_pending_edit_gets_its_predicted_lights_and_details_on_click(session):
    panel = BiasPanel(session=session)
    assert isinstance(panel.__panel__(), pn.Column)
    assert panel.entries() == []
    assert "No edits yet" in panel.rows.objects[0].object
    assert panel.summary.object == ""

    started = threading.Event()
    original = session.predict_bias

    def slow_predict(*args, **kwargs):
        started.set()
        return original(*args, **kwargs)

    session.predict_bias = slow_predict
    edit = session.add_edit(Edit.contract(Selector.of_label(1), 0.5))
    assert started.wait(30)  # the worker picked it up; this thread was not blocked
    assert panel.wait(60)
    [(key, label, report, note)] = panel.entries()
    assert key == PENDING and f"#{edit.edit_id}" in label and "predicted" in label
    assert report is not None and report.edit_ids == (edit.edit_id,)
    html = panel.rows.objects[0][0].object
    assert html.count("hill-light ") == len(report.families()) == 7
    assert LIGHT_COLOURS[report.severity] in html
    assert panel.summary.object.count("hill-light ") == 7  # the same lights beside the edit list

    assert panel.details.object == ""
    panel.rows.objects[0][1].clicks += 1  # the row's "details" button
    assert panel.selected == PENDING
    assert "| attribute_leakage[cue] |" in panel.details.object
    assert "| collateral_distortion |" in panel.details.object
    panel.select(PENDING)  # a second click hides them
    assert panel.details.object == ""


def test_the_prediction_follows_the_pending_edits(session):
    panel = BiasPanel(session=session)
    first = session.add_edit(Edit.contract(Selector.of_label(1), 0.5))
    second = session.add_edit(Edit.translate(Selector.of_label(2), 0.5, 0.0))
    assert panel.wait(60)
    assert panel.entries()[0][2].edit_ids == (first.edit_id, second.edit_id)
    session.remove_edit(second.edit_id)
    assert panel.wait(60)
    assert panel.entries()[0][2].edit_ids == (first.edit_id,)


def test_applied_edits_show_their_measured_report(session):
    panel = BiasPanel(session=session)
    edit = session.add_edit(Edit.translate(Selector.of_label(4), 1.0, 0.0))
    assert panel.wait(60)
    session.apply_edits(1, wait=True)
    assert panel.wait(60)
    entries = panel.entries()
    assert len(entries) == 1  # nothing pending any more
    key, label, report, note = entries[0]
    assert key.isdigit() and "measured" in label and f"#{edit.edit_id}" in label
    assert report.phase == "measured" and note == ""
    panel.select(key)
    assert "measured" in panel.details.object and "| label_conflict |" in panel.details.object


def test_a_prediction_that_cannot_be_made_says_why(session):
    panel = BiasPanel(session=session)
    val_only = session.dataset.ids[session.dataset.split == 1][:20]
    session.add_edit(Edit.translate(Selector.of_ids(val_only), 1.0, 0.0))
    assert panel.wait(60)
    [(_, _, report, note)] = panel.entries()
    assert report is None and "no training samples" in note
    assert "no training samples" in panel.rows.objects[0][0].object
    assert panel.rows.objects[0][1].disabled


def test_prediction_runs_in_a_worker_thread(session):
    panel = BiasPanel(session=session)
    seen = []
    original = session.predict_bias
    session.predict_bias = lambda *a, **k: (seen.append(threading.current_thread().name), original(*a, **k))[1]
    session.add_edit(Edit.pin(Selector.of_label(0)))
    assert panel.wait(60)
    assert seen == ["hill-bias-predict"]
    assert np.isfinite(panel.pending_report.seconds)


def test_long_edit_lists_are_shortened():
    assert edit_list([1, 2, 3]) == "#1, #2, #3"
    assert edit_list(range(1, 91)) == "#1, #2, … #90 (90 edits)"

"""The Timeline without a browser: built from a real recorded Session, driven like a reviewer would."""
import asyncio
import io
import json

import holoviews as hv
import panel as pn
import pytest
import xarray as xr

from hill_viz.core.edits import Edit, Selector
from hill_viz.session import Session
from hill_viz.ui.timeline import Timeline

hv.extension("bokeh")


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path / "ws")
    s.load_dataset("digits")
    s.build_model(seed=0, arch="mlp", hidden=32)
    s.train(1, wait=True)
    s.add_edit(Edit.translate(Selector.of_label(3), 1.5, 0.5))
    s.apply_edits(1, wait=True)  # records predicted and measured bias reports too
    return s


def errors(timeline):
    return [text for level, text in timeline.actions.messages if level == "error"]


def event_of(session, kind):
    return next(e for e in session.workspace.store.path_to() if e.kind == kind)


def test_it_renders_every_event_and_the_curves(session):
    t = Timeline(session=session)
    pn.panel(t).get_root()  # the whole component renders without a server
    t.render_plots()
    store = session.workspace.store
    assert len(t.table) == store.count() and list(t.events.value["id"]) == [e.id for e in store.events()][::-1]
    acc = t._acc_pipe.data["head"]
    assert len(acc) == 2 and acc["val_acc"].between(0, 1).all()
    bias = t._bias_pipe.data
    assert len(bias) and set(bias["severity"]) <= {"ok", "warn", "alert"}
    nodes = t._tree_pipe.data["nodes"]
    assert (nodes["lane"] == 0).all() and len(t._tree_pipe.data["edits"]) == 2  # edit_added, edits_applied


def test_clicking_an_event_shows_its_details_snapshot_and_bias_report(session):
    t = Timeline(session=session)
    t.plots()
    applied = event_of(session, "edits_applied")
    row = list(t.events.value["id"]).index(applied.id)
    t.events.selection = [row]  # a click in the table
    assert t.selected == applied.id
    assert f"Event {applied.id}" in t.header.object and "edits_applied" in t.header.object
    assert t.event_json.object["params"]["edit_ids"] == [1]
    assert "predicted" in t.bias_view.object and "measured" in t.bias_view.object
    assert "| indicator |" in t.bias_view.object
    assert t.snapshots.object is not None and "class 3" in t.moved_view.object  # the moved class

    edit = event_of(session, "edit_added")
    index = list(t._tree_pipe.data["nodes"]["id"]).index(edit.id)
    t._tap.event(index=[index])  # a click on the tree
    assert t.selected == edit.id
    assert isinstance(t.event_json.object["params"]["ids"], str)  # long id lists are shortened


def test_revert_then_the_next_action_shows_a_branch(session):
    t = Timeline(session=session)
    store = session.workspace.store
    old_tip = store.head
    target = event_of(session, "training_segment")
    assert not asyncio.run(t.revert())  # nothing selected yet
    assert errors(t) == ["select an event on the timeline first"]
    t.select(target.id)
    assert asyncio.run(t.revert())
    head = store.get(store.head)
    assert head.kind == "revert" and head.parent_id == target.id
    assert session.trainer.epoch == 1 and session.teachers == []
    assert t.annotate("going back: the edit hurt class 8")
    note = store.get(store.head)
    assert note.kind == "annotation" and note.parent_id == head.id and note.params["event_id"] == target.id
    table = t.table.set_index("id")
    assert table.loc[old_tip, "lane"] == 1 and not table.loc[old_tip, "on_head"]
    assert table.loc[note.id, "lane"] == 0 and table.loc[target.id, "on_head"]
    assert t._lane_ticks() == [(0, "current"), (1, "branch 1")]


def test_annotation_mistakes_show_a_message_and_record_nothing(session):
    t = Timeline(session=session)
    n = session.workspace.store.count()
    t.select(event_of(session, "model_built").id)
    assert not t.annotate("   ")
    assert errors(t) == ["an annotation needs some text; type a note first"]
    assert session.workspace.store.count() == n


def test_poll_picks_up_new_events(session):
    t = Timeline(session=session, draw_every_s=0)
    n = len(t.table)
    t.poll()
    assert len(t.table) == n
    session.train(1, wait=True)
    t.poll()
    assert len(t.table) > n and len(t._acc_pipe.data["head"]) == 3


def test_the_strip_follows_the_log_at_once_and_the_plots_at_most_every_draw_every_s(session):
    t = Timeline(session=session, draw_every_s=3600)
    strip, drawn = t.strip(), len(t.events.value)
    session.annotate(session.head, "from another page")
    session.select(Selector.of_label(2))  # a selection is an event too: 0.5 s of the server's loop to draw
    t.poll()
    assert "annotation" in strip.object and len(t.events.value) == drawn
    t.draw_every_s = 0  # due now: the next tick draws
    t.poll()
    assert len(t.events.value) == drawn + 2 and t._drawn_key == t._key


def test_the_timelines_own_actions_draw_at_once(session):
    t = Timeline(session=session, draw_every_s=3600)
    drawn = len(t.events.value)
    assert t.annotate("checked", event_id=session.head)
    assert len(t.events.value) == drawn + 1 and "annotation" in t._tree_pipe.data["nodes"]["kind"].tolist()


def test_while_training_the_poll_reads_the_log_at_most_every_training_refresh_s(session):
    t = Timeline(session=session, training_refresh_s=3600, draw_every_s=0, training_draw_s=0)
    n = len(t.table)
    session.train(10_000)  # a long segment: its checkpoints arrive while the page polls
    try:
        while session.workspace.store.count() <= n + 1:
            session.wait(0.05)
        t.poll()
        assert len(t.table) == n  # read just before: the new events wait
    finally:
        session.cancel()
        session.wait()
    t.poll()  # training over: the next tick shows everything
    assert len(t.table) > n


def test_while_training_the_strip_follows_and_the_plots_wait_for_training_draw_s(session):
    t = Timeline(session=session, training_refresh_s=0, draw_every_s=0, training_draw_s=3600)
    drawn, n = len(t.events.value), session.workspace.store.count()
    session.train(10_000)
    try:
        while session.workspace.store.count() <= n + 1:
            session.wait(0.05)
        t.poll()
        assert len(t.table) > n and len(t.events.value) == drawn  # the log is read (the strip), the table waits
        assert t._drawn_key != t._key
    finally:
        session.cancel()
        session.wait()
    t.poll()  # training over: the plots and table catch up on the next tick
    assert t._drawn_key == t._key and len(t.events.value) == len(t.table)


def test_while_its_tab_is_hidden_only_the_strip_follows_the_log(session):
    t = Timeline(session=session)
    strip = t.strip()
    drawn = len(t.events.value)
    t.shown = False
    session.annotate(session.head, "while the timeline tab is closed")
    t.poll()
    assert "annotation" in strip.object  # the strip beside the cloud is always current
    assert len(t.events.value) == drawn and "annotation" not in t._tree_pipe.data["nodes"]["kind"].tolist()
    t.shown = True  # the tab opens: plots and table catch up at once
    assert len(t.events.value) == drawn + 1 and "annotation" in t._tree_pipe.data["nodes"]["kind"].tolist()


def test_the_strip_beside_the_cloud_shows_accuracy_and_the_newest_events(session):
    t = Timeline(session=session)
    strip = t.strip()
    acc = t.table[t.table["on_head"]]["val_acc"].dropna()
    assert f"val accuracy</b> {acc.iloc[-1]:.3f}" in strip.object
    assert "edits_applied" in strip.object and "checkpoint" not in strip.object
    assert strip.object.count("&#9679;") >= 1  # the bias reports' lights
    session.annotate(session.head, "a reviewer's note")
    t.poll()
    assert strip.object.index("annotation") < strip.object.index("edits_applied")  # newest first


def test_exports(session):
    t = Timeline(session=session)
    doc = json.loads(t._history_json().getvalue())
    assert [e["id"] for e in doc["events"]] == [e.id for e in session.workspace.store.events()]
    ds = xr.open_dataset(io.BytesIO(t._review_netcdf().getvalue()), engine="h5netcdf")
    assert {"event", "class", "indicator"} <= set(ds.dims) and ds.sizes["event"] == len(doc["events"])


def test_bias_reports_arriving_after_the_plots_were_drawn_empty_are_drawn(tmp_path):
    s = Session(tmp_path / "ws")
    s.load_dataset("digits")
    s.build_model(seed=0, arch="mlp", hidden=32)
    s.train(1, wait=True)
    t = Timeline(session=s)
    t.render_plots()  # drawn with no bias report yet
    s.add_edit(Edit.translate(Selector.of_label(3), 1.5, 0.5))
    s.apply_edits(1, wait=True)
    t.refresh()  # a categorical axis here raised TypeError in HoloViews' range update
    assert len(t._bias_pipe.data) and list(t.events.value["id"]) == [e.id for e in s.workspace.store.events()][::-1]

"""The app's components without a browser: built from a real Session, driven through it."""
import asyncio

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import pytest

from hill_viz.core.edits import Selector
from hill_viz.core.teacher import TeacherConfig
from hill_viz.session import Session
import hill_viz.ui.app as app_module
from hill_viz.ui.app import HillApp, new_session
from hill_viz.ui.edit_tools import EditTools
from hill_viz.ui.training_panel import FILE_CHOICE, TrainingPanel

hv.extension("bokeh")


@pytest.fixture
def session(tmp_path):
    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=2000)
    s.build_model(latent_dim=8)
    s.train(1, wait=True)
    return s


def errors(actions):
    return [text for level, text in actions.messages if level == "error"]


# -- TrainingPanel ------------------------------------------------------------------------------

def test_training_panel_builds_trains_and_streams_curves(tmp_path):
    panel = TrainingPanel(session=Session(tmp_path / "ws"))
    pn.panel(panel).get_root()  # renders without a server
    panel.settings.param.update(dataset="blobs", n=1500, latent_dim=4, epochs=2)
    assert asyncio.run(panel.build())
    assert panel.session.model.spec.latent_dim == 4 and panel.train_button.disabled is False
    assert asyncio.run(panel.train())
    panel.session.wait(60)
    panel.poll()
    assert list(panel.acc_source.data["epoch"]) == [1.0, 2.0]
    losses = np.asarray(panel.loss_source.data["loss"])
    assert len(losses) >= 2 and np.isfinite(losses).all()
    assert panel.loss_source.data["epoch"][-1] == 2.0
    assert panel.progress.value == 100 and "epoch 2" in panel.status_text()
    assert errors(panel.actions) == []


def test_curves_start_over_from_the_history_after_a_revert(session):
    panel = TrainingPanel(session=session)  # the fixture trained epoch 1
    session.train(2, wait=True)
    panel.poll()
    assert list(panel.acc_source.data["epoch"]) == [1.0, 2.0, 3.0]
    first_segment = next(e for e in session.workspace.store.events() if e.kind == "training_segment")
    session.revert(first_segment.id)
    panel.poll()
    assert list(panel.acc_source.data["epoch"]) == [1.0]
    assert max(panel.loss_source.data["epoch"]) == 1.0
    session.train(1, wait=True)  # the new branch draws on from there
    panel.poll()
    assert list(panel.acc_source.data["epoch"]) == [1.0, 2.0]


def test_settings_out_of_range_are_reported_and_the_model_is_kept(session):
    panel = TrainingPanel(session=session)
    model = session.model
    for setting, message in [({"lr": 50.0}, "learning rate"), ({"latent_dim": 1}, "latent_dim"),
                             ({"batch_size": -3}, "batch size"), ({"epochs": -1}, "epochs")]:
        panel.settings.param.update(lr=1e-3, latent_dim=8, batch_size=0, epochs=1)
        panel.settings.param.update(**setting)
        ok = asyncio.run(panel.train()) if "epochs" in setting else asyncio.run(panel.build())
        assert not ok and message in errors(panel.actions)[-1]
    assert session.model is model and session.status == "ready"


def test_a_dataset_file_that_fails_validation_is_reported(session, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, np.nan]}).to_csv(bad, index=False)
    panel = TrainingPanel(session=session)
    panel.settings.param.update(dataset=FILE_CHOICE, path=str(bad), n=None)
    assert not asyncio.run(panel.build())
    assert errors(panel.actions) and "\n" not in errors(panel.actions)[-1]
    panel.settings.path = ""
    assert not asyncio.run(panel.build())
    assert "choose a file" in errors(panel.actions)[-1]
    assert session.model is not None


def test_an_uploaded_file_is_stored_in_the_workspace_and_loaded(session, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    frame["label"] = rng.integers(0, 3, 300)
    panel = TrainingPanel(session=session)
    panel.settings.param.update(dataset=FILE_CHOICE, n=None)
    panel.upload.value = {"mine.csv": frame.to_csv(index=False)}  # text files arrive decoded
    assert asyncio.run(panel.build()), errors(panel.actions)
    assert session.dataset.n_samples == 300
    assert (session.workspace.path / "uploads" / "mine.csv").exists()


def test_worker_errors_become_notifications(session):
    panel = TrainingPanel(session=session)
    features = session.dataset.features
    session.dataset.features = features[:, :2]
    assert asyncio.run(panel.train(1))
    session.wait(60)
    panel.poll()
    assert "internal error" in errors(panel.actions)[-1]
    session.dataset.features = features


# -- EditTools ---------------------------------------------------------------------------------

def test_handle_follows_the_selection_and_drags_into_one_translate_edit(session):
    tools = EditTools(session=session)
    assert tools.anchor is None and tools.handle_pipe.data == {"x": [], "y": []}
    ids = session.select(Selector.of_label(2))
    tools.sync()
    x, y = session.frame.column("x"), session.frame.column("y")
    rows = session.frame.context().rows_of_ids(ids)
    assert tools.anchor == pytest.approx((x[rows].mean(), y[rows].mean()), abs=1e-5)
    assert f"{len(ids):,} points selected" in tools.selection_info.object
    ax, ay = tools.anchor
    tools._on_handle_moved({"x": [ax + 1.0], "y": [ay - 0.5]})   # as PointDraw reports a drag
    tools._on_handle_moved({"x": [ax + 2.0], "y": [ay + 0.5]})   # dragged again: same edit, new target
    assert len(session.pending) == 1
    edit = session.pending[0].edit
    assert edit.op == "translate" and (edit.param("dx"), edit.param("dy")) == pytest.approx((2.0, 0.5))
    assert np.array_equal(session.pending[0].resolved.ids, ids)
    assert tools.handle_pipe.data == {"x": [pytest.approx(ax + 2.0)], "y": [pytest.approx(ay + 0.5)]}
    assert list(tools.pending_table.object["op"]) == ["translate"]


def test_tap_sets_the_destination_only_when_switched_on(session):
    tools = EditTools(session=session)
    session.select(Selector.of_label(1))
    tools.sync()
    tools._on_tap(x=0.0, y=0.0)
    assert session.pending == []
    tools.tap_moves = True
    tools._on_tap(x=0.0, y=0.0)
    (pending,) = session.pending
    assert (pending.edit.param("dx"), pending.edit.param("dy")) == pytest.approx(
        (-tools.anchor[0], -tools.anchor[1]))


def test_previews_draw_an_arrow_from_centroid_to_target(session):
    tools = EditTools(session=session)
    session.select(Selector.of_label(0))
    tools.sync()
    ax, ay = tools.anchor
    tools.translate_selection(3.0, 0.0)
    tools.sync()
    overlay = tools._previews()
    segments = overlay.Segments.I.dframe()
    shaft = segments.iloc[0]
    assert (shaft.x0, shaft.y0, shaft.x1, shaft.y1) == pytest.approx((ax, ay, ax + 3.0, ay), abs=1e-4)
    assert len(segments) == 3  # shaft and two head strokes
    outline = overlay.Path.I.split()[0].array()
    assert outline[:, 0].min() > ax  # the whole target outline lies right of the start
    assert overlay.Labels.I.dframe()["text"].tolist() == [f"#{session.pending[0].edit_id} translate"]


def test_contract_pin_separate_merge_and_editing_pending_edits(session):
    tools = EditTools(session=session)
    tools._spawn(tools.merge_memory)
    assert "no selection remembered as A" in errors(tools.actions)[-1]
    session.select(Selector.of_label(0))
    tools.remember("A")
    session.select(Selector.of_label(1))
    tools.remember("B")
    assert f"A: {(session.dataset.labels == 0).sum()} points (label 0)" in tools.memory_info.object
    tools.contract_selection(0.5)
    tools.pin_selection()
    tools.separate_memory(1.0)
    tools.merge_memory()
    tools.sync()
    assert [p.edit.op for p in session.pending] == ["contract", "pin", "separate", "merge"]
    separate = session.pending[2]
    assert np.array_equal(separate.resolved.other_ids, np.flatnonzero(session.dataset.labels == 1))
    contract_id = session.pending[0].edit_id
    n_one = (session.dataset.labels == 1).sum()  # the selection when it was made
    assert list(tools.edit_picker.options)[1:] == [f"#{p.edit_id} {p.edit.op} ({len(p.resolved.ids):,} points)"
                                                   for p in session.pending]
    tools.edit_picker.value = contract_id  # picked by name in the page
    assert tools.edited == contract_id and f"#{contract_id} contract ({n_one:,} points)" in tools.edit_picker.options
    assert tools.edit_value_1 == 0.5 and tools.value_inputs[0].label == "factor" and tools.value_inputs[1].disabled
    tools.edit_value_1 = 1.5
    tools.update_edited()
    assert session.pending[0].edit.param("factor") == 1.5
    tools.edited = session.pending[1].edit_id
    assert tools.edit_picker.value == session.pending[1].edit_id
    tools.remove_edited()
    assert [p.edit.op for p in session.pending] == ["contract", "separate", "merge"]
    tools.edited = session.pending[2].edit_id
    session.remove_edit(tools.edited)  # removed elsewhere (another page of the same workspace)
    tools.sync()
    assert tools.edited is None and tools.edit_picker.value is None and len(tools.edit_picker.options) == 3
    tools.edit_value_1 = 200.0  # out of range for contract
    tools.edited = session.pending[0].edit_id
    tools.edit_value_1 = 200.0
    tools._spawn(tools.update_edited)
    assert "contract factor must be between 0 and 100" in errors(tools.actions)[-1]


def test_edit_on_an_empty_selection_and_apply_without_edits_are_reported(session):
    tools = EditTools(session=session)
    tools._spawn(tools.pin_selection)
    assert errors(tools.actions)[-1] == "the selection is empty; select points on the latent view first"
    assert not asyncio.run(tools.apply())
    assert errors(tools.actions)[-1] == "there are no pending edits to apply; make an edit first"


def test_apply_freezes_a_teacher_and_trains(session):
    tools = EditTools(session=session)
    session.select(Selector.of_label(3))
    tools.sync()
    tools.translate_selection(1.0, 1.0)
    tools.epochs, tools.teacher.lambda_ = 2, 2.0
    assert tools.teaches_info.object.startswith("Apply teaches: translate: moves A by (dx, dy) [position λ=2")
    assert asyncio.run(tools.apply())
    session.wait(60)
    assert session.pending == [] and len(session.teachers) == 1
    assert session.teachers[0].config == TeacherConfig(lambda_=2.0) and session.trainer.epoch == 3
    assert "training 2 epochs" in tools.actions.messages[-1][1]
    applied = [e for e in session.workspace.store.events() if e.kind == "edits_applied"]
    assert applied and applied[0].params["epochs"] == 2


# -- the app -----------------------------------------------------------------------------------

def test_app_composes_components_and_a_broken_one_leaves_a_note(session, monkeypatch):
    app = HillApp(session=session)
    pn.panel(app).get_root()
    template = app.template()
    assert app.edit_tools.session is session and app.training.session is session
    settings = app.training.settings  # the sidebar shows what the Session holds, not the app's default
    assert (settings.dataset, settings.n, settings.latent_dim) == ("blobs", 2000, 8)
    assert app.component_errors == {} and all(c is not None for c in app.components.values())
    assert template.notifications is app.actions.notifications

    class Broken(param.Parameterized):
        def __init__(self, **params):
            raise RuntimeError("no thumbnails today")

    monkeypatch.setitem(app_module.COMPONENTS, "gallery", Broken)
    second = HillApp(session=session)
    pn.panel(second).get_root()  # the page still builds
    note = second._slot("gallery", "Gallery")
    assert "hill-slot-gallery" in note.css_classes and "no thumbnails today" in note.object
    assert second.components["timeline"] is not None
    for page in (app, second):
        page.close()
    session.wait(10)


def test_each_new_session_gets_its_own_workspace(tmp_path):
    a, b = new_session(tmp_path), new_session(tmp_path)
    assert a.workspace.path != b.workspace.path
    assert a.workspace.path.parent == b.workspace.path.parent == tmp_path


def test_the_panel_says_what_apply_teaches_with_the_default_teacher_behind_a_disclosure(session):
    tools = EditTools(session=session)
    assert tools.teacher_config() == TeacherConfig()  # the app's Apply, the CLI and the study: one teacher
    assert tools.teaches_info.object == "Apply teaches: no pending edits"
    session.select(Selector.of_label(3))
    tools.remember("A")
    session.select(Selector.of_label(5))
    tools.remember("B")
    tools.merge_memory()
    tools.sync()
    assert tools.teaches_info.object.startswith(
        "Apply teaches: merge: pulls A's view positions onto B's, A's latents attract B's (contrastive)")
    tools.teacher.relational = 0.0  # a change in the settings shows at once
    assert "contrastive" not in tools.teaches_info.object
    tools.teacher.tau = -1.0
    assert tools.teaches_info.object == "Teacher settings: tau must be in (0, 10], got -1.0"
    card = tools.teacher.disclosure()
    assert isinstance(card, pn.Card) and card.collapsed and card.title == "Teacher settings (advanced)"

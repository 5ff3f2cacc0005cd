"""A session with the learned view: a new model shows PCA and the learned view follows its first
training segment; the fit is recorded with its weights as a checked file, the log restores and
replays the same map, lift/off_plane go through it, and PCA stays an option."""
from __future__ import annotations

import numpy as np
import pytest

from hill_viz.core import replay
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.provenance import Workspace
from hill_viz.core.targets import lift, off_plane
from hill_viz.core.teacher import Teacher
from hill_viz.errors import StateError
from hill_viz.session import Session
from hill_viz.session.viewing import LEARNED_AFTER_TRAINING

FAST = {"steps": 60, "init_steps": 10, "hidden": 16}


@pytest.fixture
def learned(tmp_path):
    s = Session(tmp_path / "ws", projection_method="umap", projection_options=FAST)
    s.load_dataset("blobs", n=1500)
    s.build_model(latent_dim=8)
    s.train(1, wait=True)  # the learned view is fitted when the first segment ends
    yield s
    s.close()


def _fitted_events(s: Session):
    return [e for e in s.workspace.store.path_to(None) if e.kind == "projection_fitted"]


def test_learned_fit_is_a_file_with_its_sha256_and_the_log_restores_it(learned):
    assert not learned.projection.is_linear
    ev = _fitted_events(learned)[-1]
    assert "weights" not in ev.params["projection"]
    ref = ev.artifact(replay.PROJECTION_FILE)
    assert ref["sha256"] == learned.projection.sha256 == ev.params["sha256"]
    restored = replay.restore(learned.workspace, replay.state_at(learned.workspace))
    assert restored.projection.to_dict() == learned.projection.to_dict()
    (learned.workspace.path / ref["path"]).write_bytes(b"{}")   # a changed file is refused, not loaded
    with pytest.raises(Exception, match="(?i)sha|changed|differ|checksum"):
        replay.state_at(learned.workspace)


def test_targets_go_through_the_learned_view(learned):
    ds, proj = learned.dataset, learned.projection
    from hill_viz.core.model import infer
    z, _ = infer(learned.model, ds.features, np.arange(50))
    t = proj.transform(z) + np.float32(0.05) * proj.view_scale
    z_star = lift(proj, z, t)
    np.testing.assert_allclose(proj.transform(z_star), t, atol=1e-3 * proj.view_scale)
    v = np.random.default_rng(0).normal(size=z.shape).astype(np.float32) * 1e-3
    off = off_plane(v, proj, z)
    np.testing.assert_array_equal(off, proj.off_plane(z, v))          # the local (Jacobian) plane at z
    moved_off = np.linalg.norm(proj.transform(z + off) - proj.transform(z), axis=1)
    moved = np.linalg.norm(proj.transform(z + v) - proj.transform(z), axis=1)
    assert np.median(moved_off) < 0.05 * np.median(moved)          # first order: the view does not see it
    with pytest.raises(ValueError, match="needs the latents"):
        off_plane(v, proj)


def test_refit_switches_method_and_is_recorded(learned):
    before = len(_fitted_events(learned))
    proj = learned.refit_projection("pca")
    assert proj.is_linear and learned.projection_method == "pca"
    ev = _fitted_events(learned)[-1]
    assert len(_fitted_events(learned)) == before + 1 and ev.params["projection"]["method"] == "pca"
    assert ev.artifact(replay.PROJECTION_FILE) is None and "components" in ev.params["projection"]


def test_first_view_is_pca_and_the_learned_view_follows_the_first_segment_and_replays(tmp_path):
    s = Session(tmp_path / "ws", projection_method="umap", projection_options=FAST, live_frame=False)
    s.load_dataset("blobs", n=1500)
    s.build_model(latent_dim=8)
    first = _fitted_events(s)
    assert s.projection.is_linear and s.projection.method == "pca" and s.projection_method == "umap"
    assert len(first) == 1 and first[0].params["learned_after"] == "umap"
    s.close()
    s = Session.open(tmp_path / "ws", projection_options=FAST, live_frame=False)  # the owed view survives a reopen
    s.train(2, wait=True)
    assert not s.projection.is_linear and s.projection.method == "umap"
    kinds = [e.kind for e in s.workspace.store.path_to(None)]
    fitted = _fitted_events(s)[-1]
    assert kinds[-2:] == ["projection_fitted", "training_segment"]  # fitted on the trained model, then recorded
    assert fitted.params["reason"] == LEARNED_AFTER_TRAINING and "learned_after" not in fitted.params
    assert fitted.artifact(replay.PROJECTION_FILE)["sha256"] == s.projection.sha256
    s.train(1, wait=True)  # fitted once: later segments keep the view frozen
    assert len(_fitted_events(s)) == 2
    frame = s.frame
    s.close()
    source = Workspace(tmp_path / "ws", read_only=True)
    again = Session(tmp_path / "replay", live_frame=False, auto_bias=False)
    report = replay.replay(source, again)
    assert report.exact and report.final_epoch == 3
    assert again.projection.sha256 == fitted.params["sha256"] and again.projection_method == "umap"
    np.testing.assert_array_equal(again.frame.column("x"), frame.column("x"))
    np.testing.assert_array_equal(again.frame.column("y"), frame.column("y"))
    again.close()


def test_pca_chosen_explicitly_is_the_only_fit(session):
    session.train(1, wait=True)   # tests' sessions default to pca (tests/conftest.py)
    fitted = _fitted_events(session)
    assert len(fitted) == 1 and "learned_after" not in fitted[0].params and session.projection.method == "pca"


def test_a_refit_waits_for_the_pending_edits_drawn_on_this_view(learned):
    before, projection = len(_fitted_events(learned)), learned.projection
    learned.add_edit(Edit.translate(Selector.of_ids(np.arange(20)), dx=0.5, dy=0.0))
    with pytest.raises(StateError, match="edit 1 is pending on this view: apply or remove it"):
        learned.refit_projection("pca")
    assert learned.projection is projection and len(_fitted_events(learned)) == before
    assert len(learned.pending) == 1  # nothing lost
    learned.remove_edit(1)
    assert learned.refit_projection("pca").is_linear


def test_the_owed_view_waits_for_the_pending_edits_and_replays(tmp_path):
    s = Session(tmp_path / "ws", projection_method="umap", projection_options=FAST, live_frame=False,
                auto_bias=False)
    s.load_dataset("blobs", n=1500)
    s.build_model(latent_dim=8)
    pca = s.projection
    s.add_edit(Edit.translate(Selector.of_ids(np.arange(30)), dx=0.4, dy=0.0))  # drawn on the PCA view
    s.train(1, wait=True)
    assert s.projection is pca and s.learned_view_owed == "umap"  # the translate's dx is in PCA units
    on_pca = Teacher(s.model, s.dataset, pca, [p.resolved for p in s.pending], s.teacher_config)
    teacher = s.apply_edits(epochs=1, wait=True)
    np.testing.assert_array_equal(teacher.target_view, on_pca.target_view)
    assert not s.projection.is_linear and s.learned_view_owed is None  # fitted after the applying segment
    kinds = [e.kind for e in s.workspace.store.path_to(None) if e.kind != "checkpoint"]
    assert kinds[-3:] == ["edits_applied", "projection_fitted", "training_segment"]
    frame = s.frame
    s.close()
    again = Session(tmp_path / "replay", live_frame=False, auto_bias=False)
    report = replay.replay(Workspace(tmp_path / "ws", read_only=True), again)
    assert report.exact
    np.testing.assert_array_equal(again.frame.column("x"), frame.column("x"))
    again.close()

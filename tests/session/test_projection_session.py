"""A session with the learned view: the fit is recorded with its weights as a checked file,
the log restores the same map, lift/off_plane go through it, and PCA stays an option."""
from __future__ import annotations

import numpy as np
import pytest

from hill_viz.core import replay
from hill_viz.core.targets import lift, off_plane
from hill_viz.session import Session

FAST = {"steps": 60, "init_steps": 10, "hidden": 16}


@pytest.fixture
def learned(tmp_path):
    s = Session(tmp_path / "ws", projection_method="umap", projection_options=FAST)
    s.load_dataset("blobs", n=1500)
    s.build_model(latent_dim=8)
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

"""ProjectionPanel over a real Session: the faithfulness readout, its warning, and Refit."""
import numpy as np
import pytest

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.faithfulness import Faithfulness, measure_faithfulness
from hill_viz.core.model import infer
from hill_viz.session import Session
from hill_viz.ui.view_trust import ProjectionPanel, faithfulness_html


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("ws") / "blobs", projection_options={"steps": 40, "init_steps": 5})
    s.load_dataset("blobs", n=1200, dim=8)
    s.build_model(latent_dim=4, hidden=32, projection="pca")
    yield s
    s.close()


def test_view_faithfulness_is_the_core_measure_on_the_frames_points(blobs):
    got = blobs.view_faithfulness(sample_size=500)
    frame = blobs.frame
    rows = np.sort(np.random.default_rng(0).choice(len(frame), 500, replace=False))
    z, _ = infer(blobs.model, blobs.dataset.features, rows)  # blobs: frame row i is dataset row i
    xy = np.column_stack([frame.column("x")[rows], frame.column("y")[rows]])
    want = measure_faithfulness(z, xy, frame.column("label")[rows], sample_size=500)
    assert got == want


def test_panel_shows_the_readout_and_refit_is_recorded(blobs):
    panel = ProjectionPanel(session=blobs)   # no event loop: measurements run here and now
    html = panel.readout.object
    assert "trustworthiness@10" in html and "label agreement" in html
    n_fits = sum(e.kind == "projection_fitted" for e in blobs.workspace.store.path_to(None))
    panel.method.value = "umap"
    panel.refit()
    assert not blobs.projection.is_linear and blobs.projection_method == "umap"
    assert sum(e.kind == "projection_fitted" for e in blobs.workspace.store.path_to(None)) == n_fits + 1
    assert panel._measured is blobs.frame and "trustworthiness@10" in panel.readout.object
    assert "hill-view-owed" not in panel.readout.object


def test_panel_says_the_learned_view_follows_training(tmp_path):
    s = Session(tmp_path / "ws", projection_method="umap", projection_options={"steps": 40, "init_steps": 5})
    s.load_dataset("blobs", n=1200, dim=8)
    s.build_model(latent_dim=4, hidden=32)
    panel = ProjectionPanel(session=s)
    assert s.projection.method == "pca" and "hill-view-owed" in panel.readout.object
    s.close()


def test_warning_only_below_the_threshold():
    good = Faithfulness(100, 10, 0.95, 0.9, 0.91)
    bad = Faithfulness(100, 10, 0.85, 0.9, 0.91)
    assert "misleads" not in faithfulness_html(good)
    assert "hill-faithfulness-warning" in faithfulness_html(bad) and "0.850" in faithfulness_html(bad)


def test_refit_under_a_pending_edit_says_what_to_do_and_keeps_the_edit(tmp_path):
    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=600, dim=8)
    s.build_model(latent_dim=4, hidden=32, projection="pca")
    s.add_edit(Edit.contract(Selector.of_ids(np.arange(10)), factor=0.5))
    panel = ProjectionPanel(session=s)
    projection = s.projection
    panel.refit()
    assert panel.actions.last_message.startswith("edit 1 is pending on this view: apply or remove it")
    assert "\n" not in panel.actions.last_message
    assert s.projection is projection and len(s.pending) == 1
    assert not panel.refit_button.disabled and not panel.refitting  # the next try is open
    s.close()

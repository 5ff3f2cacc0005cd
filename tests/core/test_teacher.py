"""The teacher works end to end: an edit in the view becomes geometry the model learns."""
import numpy as np
import pytest

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.teacher import Teacher, TeacherConfig
from hill_viz.errors import ConfigError, EditError, StateError
from hill_viz.session import Session


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A digits model trained 8 epochs, shared: each test copies its state into a new session."""
    s = Session(tmp_path_factory.mktemp("ws"))
    s.load_dataset("digits")
    s.build_model(seed=0)
    s.train(8, wait=True)
    return s


def fresh(trained, tmp_path) -> Session:
    s = Session(tmp_path)
    s.load_dataset("digits")
    s.build_model(seed=0)
    s.model.load_state_dict(trained.model.state_dict())
    s.trainer.optimizer.load_state_dict(trained.trainer.optimizer.state_dict())
    s.projection = trained.projection
    s._refresh_frame()
    return s


def class_view(s: Session, label: int) -> np.ndarray:
    f = s.frame
    m = (f.column("label") == label) & (f.column("split") == 0)
    return np.c_[f.column("x")[m], f.column("y")[m]]


def spread(p: np.ndarray) -> float:
    return float(np.sqrt(((p - p.mean(0)) ** 2).sum(1).mean()))


def test_translate_moves_the_class_most_of_the_way(trained, tmp_path):
    s = fresh(trained, tmp_path)
    before = class_view(s, 3)
    acc0 = s.metrics()["val_acc"]
    v = np.array([0.6, -0.6]) * spread(np.c_[s.frame.column("x"), s.frame.column("y")])
    s.add_edit(Edit.translate(Selector.of_label(3), *v))
    s.apply_edits(4, wait=True)
    moved = class_view(s, 3).mean(0) - before.mean(0)
    assert moved @ v / (v @ v) >= 0.7
    assert s.metrics()["val_acc"] >= acc0 - 0.01


def test_contract_halves_the_spread(trained, tmp_path):
    s = fresh(trained, tmp_path)
    before = spread(class_view(s, 5))
    acc0 = s.metrics()["val_acc"]
    s.add_edit(Edit.contract(Selector.of_label(5), 0.5))
    s.apply_edits(4, TeacherConfig(lambda_=1.0), wait=True)  # the default's light position term gets ~1/3 of the way
    ratio = spread(class_view(s, 5)) / before
    assert 0.35 <= ratio <= 0.65
    assert s.metrics()["val_acc"] >= acc0 - 0.01


def test_separate_pushes_two_classes_apart(trained, tmp_path):
    s = fresh(trained, tmp_path)
    a, b = class_view(s, 1), class_view(s, 7)
    d0 = np.linalg.norm(a.mean(0) - b.mean(0))
    edit = Edit.separate(Selector.of_label(1), Selector.of_label(7), margin=0.5 * d0)
    pending = s.add_edit(edit)
    teacher = Teacher(s.model, s.dataset, s.projection, [pending.resolved])
    rows_a = np.isin(s.dataset.ids[teacher.rows], pending.resolved.ids)
    goal = np.linalg.norm(teacher.target_view[rows_a].mean(0) - teacher.target_view[~rows_a].mean(0))
    assert goal > d0
    s.apply_edits(4, wait=True)
    d1 = np.linalg.norm(class_view(s, 1).mean(0) - class_view(s, 7).mean(0))
    assert (d1 - d0) >= 0.7 * (goal - d0)


def test_targets_lift_to_latents_through_the_pseudo_inverse(trained, tmp_path):
    s = fresh(trained, tmp_path)
    pending = s.add_edit(Edit.translate(Selector.of_label(2), 1.0, 2.0))
    t = Teacher(s.model, s.dataset, s.projection, [pending.resolved], TeacherConfig(mode="full"))
    # the lifted target latent projects exactly onto the target view position
    assert np.allclose(s.projection.transform(t.target_latent), t.target_view, atol=1e-4)
    # only training rows are distilled on
    assert (s.dataset.split[t.rows] == 0).all()


def test_later_edits_apply_on_top_of_earlier(trained, tmp_path):
    s = fresh(trained, tmp_path)
    first = s.add_edit(Edit.translate(Selector.of_label(4), 1.0, 0.0)).resolved
    second = s.add_edit(Edit.translate(Selector.of_label(4), 0.0, 2.0)).resolved
    t = Teacher(s.model, s.dataset, s.projection, [first, second])
    p = s.projection.transform(_latents(s, t.rows))
    assert np.allclose(t.target_view - p, [1.0, 2.0], atol=1e-4)


def _latents(s, rows):
    from hill_viz.core.model import infer
    return infer(s.model, s.dataset.features, rows)[0]


def test_teacher_save_load_round_trip(trained, tmp_path):
    s = fresh(trained, tmp_path)
    r = s.add_edit(Edit.contract(Selector.of_label(0), 0.3)).resolved
    cfg = TeacherConfig(mu=0.5, relational=1.0)
    t = Teacher(s.model, s.dataset, s.projection, [r], cfg)
    t.save(tmp_path / "t.npz")
    u = Teacher.load(tmp_path / "t.npz", s.projection, cfg)
    import torch
    rows = torch.arange(0, 300)
    z = torch.randn(300, s.model.spec.latent_dim)
    assert float(t.loss(rows, z)[0]) == float(u.loss(rows, z)[0])


def test_user_mistakes(trained, tmp_path):
    s = fresh(trained, tmp_path)
    with pytest.raises(StateError, match="no pending edits"):
        s.apply_edits(1)
    with pytest.raises(EditError, match="is empty"):
        s.add_edit(Edit.translate(Selector.of_box(1e6, 1e6, 1e6 + 1, 1e6 + 1), 1, 1))
    with pytest.raises(ConfigError, match="loss mode"):
        TeacherConfig(mode="sideways")
    with pytest.raises(ConfigError, match="lambda must be between"):
        TeacherConfig(lambda_=float("nan"))
    test_ids = s.dataset.ids[s.dataset.indices("test")][:5]
    s.add_edit(Edit.pin(Selector.of_ids(test_ids)))
    with pytest.raises(EditError, match="cover no training samples"):
        s.apply_edits(1)
    assert len(s.pending) == 1  # nothing recorded is lost


def test_teacher_finds_a_batch_by_id_as_by_row(trained, tmp_path):
    """Streamed batches come with ids: the same covered entries, the same loss, after a reload too."""
    import torch

    s = fresh(trained, tmp_path)
    merge = s.add_edit(Edit.merge(Selector.of_label(3), Selector.of_label(5))).resolved
    t = Teacher(s.model, s.dataset, s.projection, [merge])
    t.save(tmp_path / "t.npz")
    u = Teacher.load(tmp_path / "t.npz", s.projection, t.config)
    np.testing.assert_array_equal(u.ids, s.dataset.ids[t.rows])
    rows = np.sort(np.random.default_rng(0).choice(s.dataset.n_samples, 400, replace=False))
    z = torch.randn(400, s.model.spec.latent_dim)
    by_row, parts = t.loss(torch.from_numpy(rows), z)
    assert parts["distill"] > 0 and parts["relational"] > 0  # the batch holds covered samples
    for teacher in (t, u):
        by_id, _ = teacher.loss_of_ids(s.dataset.ids[rows], z)
        assert float(by_id) == float(by_row)
    anchored = Teacher(s.model, s.dataset, s.projection, [merge], TeacherConfig(mu=0.5))
    with pytest.raises(ConfigError, match="anchor term"):
        anchored.loss_of_ids(s.dataset.ids[rows], z)

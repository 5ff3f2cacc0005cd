"""EditPlan: one plan of edit targets (the Teacher's and the bias report's), on a known view."""
import numpy as np
import pytest

from hill_viz.core.data import load_dataset
from hill_viz.core.edits import Edit, SelectionContext, Selector
from hill_viz.core.model import ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.core.targets import EditPlan, EditTargets, lift, off_plane
from hill_viz.errors import EditError


@pytest.fixture(scope="module")
def blobs():
    ds = load_dataset("blobs", n=300, dim=4, seed=0)
    view = np.random.default_rng(0).normal(size=(ds.n_samples, 2)).astype(np.float32)
    ctx = SelectionContext(ds.ids, view[:, 0], view[:, 1], ds.labels, class_names=ds.class_names)
    return ds, view, ctx


def train_rows_of(ds, label):
    return np.flatnonzero((ds.labels == label) & (ds.split == 0))


def test_edits_apply_in_order_and_only_train_rows_are_kept(blobs):
    ds, view, ctx = blobs
    edits = [Edit.translate(Selector.of_label(1), 1.0, 0.0, weight=2.0).resolve(ctx),
             Edit.contract(Selector.of_label(1), 0.5).resolve(ctx)]
    plan = EditPlan.build(edits, ds, None, None, view)
    rows = train_rows_of(ds, 1)
    assert np.array_equal(plan.rows, rows)
    moved = view[rows] + [1.0, 0.0]
    sel = ds.labels == 1  # the contract's centroid is that of the whole selection, held-out rows too
    centre = (view[sel] + [1.0, 0.0]).mean(0)
    np.testing.assert_allclose(plan.target_view, centre + 0.5 * (moved - centre), atol=1e-5)
    np.testing.assert_array_equal(plan.view, view[rows])
    assert (plan.weight == 1.0).all()  # the last edit's weight
    assert plan.latent is None and len(plan.relations) == 1 and plan.relations[0].factor == 0.5
    assert (plan.relation == 0).all()


def test_a_merge_joins_two_groups_and_records_one_relation(blobs):
    ds, view, ctx = blobs
    merge = Edit.merge(Selector.of_label(2), Selector.of_label(3), weight=3.0).resolve(ctx)
    plan = EditPlan.build([merge], ds, None, None, view)
    own, partner = train_rows_of(ds, 2), train_rows_of(ds, 3)
    assert np.array_equal(plan.rows, np.union1d(own, partner))
    assert len(np.unique(plan.group)) == 1 and len(np.unique(plan.origin)) == 2
    assert (plan.weight == 3.0).all()
    assert np.array_equal(plan.relations[0].own, np.flatnonzero(ds.labels == 2))
    assert (plan.relation[np.isin(plan.rows, own)] == 0).all() and (plan.relation[np.isin(plan.rows, partner)] == -1).all()
    partner_view = plan.target_view[np.isin(plan.rows, partner)]
    np.testing.assert_array_equal(partner_view, view[partner])  # the partner holds still


def test_no_edits_or_no_train_rows_say_what_to_do(blobs):
    ds, view, ctx = blobs
    with pytest.raises(EditError, match="add at least one edit"):
        EditPlan.build([], ds, None, None, view)
    held_out = ds.ids[ds.split != 0][:5]
    with pytest.raises(EditError, match="cover no training samples"):
        EditPlan.build([Edit.pin(Selector.of_ids(held_out)).resolve(ctx)], ds, None, None, view)


def test_lift_lands_on_the_target_and_off_plane_is_invisible():
    ds = load_dataset("blobs", n=400, dim=6, seed=1)
    model = build_model(ModelSpec(ds.n_features, ds.n_classes, latent_dim=5, hidden=16), 0)
    z, _ = infer(model, ds.features)
    proj = Projection().fit(z)
    target = proj.transform(z) + np.array([0.3, -0.2], dtype=np.float32)
    z_star = lift(proj, z, target)
    np.testing.assert_allclose(proj.transform(z_star), target, atol=1e-5)
    v = np.random.default_rng(0).normal(size=z.shape).astype(np.float32)
    np.testing.assert_allclose(proj.transform(z + off_plane(v, proj)), proj.transform(z), atol=1e-5)
    ctx = SelectionContext(ds.ids, *proj.transform(z).T, ds.labels)
    edit = Edit.merge(Selector.of_label(0), Selector.of_label(1)).resolve(ctx)
    planar = EditTargets.from_edits([edit], ds, model, proj, relational=False)
    relational = EditTargets.from_edits([edit], ds, model, proj)
    rows = planar.rows
    a, b = planar.latents(rows, z[rows], proj), relational.latents(rows, z[rows], proj)
    np.testing.assert_allclose(proj.transform(a), proj.transform(b), atol=1e-4)  # the same in the view
    own = ds.labels[rows] == 0
    assert np.abs(a[own] - b[own]).max() > 1e-3  # the merge also moves off the plane

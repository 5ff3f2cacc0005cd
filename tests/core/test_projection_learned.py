"""The learned (Parametric UMAP) projection on real data: sklearn's digits, 64-d, as latents.

A short fit (300 steps) keeps the test quick; the benchmark measures the default settings.
"""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from hill_viz.core.edits import Edit, Selector, edit_targets
from hill_viz.core.faithfulness import measure_faithfulness
from hill_viz.core.projection import Projection
from hill_viz.core.projection.solve import jacobian

QUICK = {"steps": 300}


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def learned(digits):
    return Projection("umap", seed=0, **QUICK).fit(digits[0])


def test_learned_view_keeps_the_neighbourhoods_pca_loses(digits, learned):
    x, y = digits
    ours = measure_faithfulness(x, learned.transform(x), y)
    pca = measure_faithfulness(x, Projection("pca").fit(x).transform(x), y)
    assert ours.trustworthiness >= 0.93 and ours.trustworthiness >= pca.trustworthiness + 0.08
    assert ours.label_accuracy_view >= ours.label_accuracy_latent - 0.05
    assert pca.label_accuracy_view < pca.label_accuracy_latent - 0.2  # the picture PCA shows misleads
    assert pca.misleads and not ours.misleads


def test_same_seed_same_map_whatever_the_thread_count(digits):
    x = digits[0][:600]
    threads = torch.get_num_threads()
    rng_before = torch.random.get_rng_state()
    try:
        torch.set_num_threads(2)
        a = Projection("umap", seed=3, steps=50).fit(x)
        torch.set_num_threads(1)
        b = Projection("umap", seed=3, steps=50).fit(x)
        view_1 = a.transform(digits[0])
        torch.set_num_threads(2)
        view_2 = a.transform(digits[0])
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # a local generator only
    assert a.to_dict() == b.to_dict() and a.sha256 == b.sha256
    assert np.array_equal(view_1, view_2)
    c = Projection("umap", seed=4, steps=50).fit(x)
    assert c.sha256 != a.sha256


def test_round_trip_through_dict_and_file_is_exact(digits, learned, tmp_path):
    x = digits[0]
    again = Projection.from_dict(learned.to_dict())
    assert np.array_equal(again.transform(x), learned.transform(x))
    digest = learned.save(tmp_path / "projection.json")
    loaded = Projection.load(tmp_path / "projection.json")
    assert digest == learned.sha256 == loaded.sha256
    assert np.array_equal(loaded.transform(x), learned.transform(x))
    assert not loaded.is_linear and loaded.to_dict()["method"] == "umap"


def test_transform_in_batches_is_the_forward_pass(digits, learned):
    x = digits[0]
    view = learned.transform(x)
    assert view.shape == (len(x), 2) and view.dtype == np.float32
    with torch.no_grad():
        ref = learned(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(learned.transform(x, batch_size=100), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(view, ref, rtol=1e-5, atol=1e-5)


def test_forward_is_differentiable_in_the_latents_and_frozen(digits, learned):
    z = torch.from_numpy(digits[0][:50]).requires_grad_(True)
    loss = (learned(z) ** 2).sum()
    loss.backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in learned.parameters())


def _op_targets(op, view, a, b, scale):
    sel = Selector.of_ids([0])
    edit = {"translate": Edit.translate(sel, 0.8 * scale, -0.4 * scale),
            "contract": Edit.contract(sel, 0.5),
            "spread": Edit.contract(sel, 1.6),
            "separate": Edit.separate(sel, sel, margin=0.5 * scale),
            "merge": Edit.merge(sel, sel),
            "pin": Edit.pin(sel)}[op]
    return edit_targets(edit, view[a], view[b] if op in ("separate", "merge") else None)[0]


@pytest.mark.parametrize("op", ["translate", "contract", "spread", "separate", "merge", "pin"])
def test_latent_targets_land_on_the_view_targets_for_every_op(digits, learned, op):
    x, y = digits
    view = learned.transform(x)
    a, b = np.flatnonzero(y == 3), np.flatnonzero(y == 8)
    t = _op_targets(op, view, a, b, learned.view_scale)
    z_star = learned.target_latents(x[a], t)
    err = np.linalg.norm(learned.transform(z_star) - t, axis=1)
    assert err.max() <= 2e-4 * learned.view_scale, f"{op}: worst view error {err.max():.2e}"
    moved = np.linalg.norm(z_star - x[a], axis=1)
    if op == "pin":
        assert moved.max() == 0
    else:  # the least move that reaches the target: far less than a jump to another point's latent
        m = min(len(a), len(b))
        assert np.median(moved) < np.median(np.linalg.norm(x[a][:m] - x[b][:m], axis=1))


@pytest.mark.parametrize("op", ["translate", "contract", "separate", "merge"])
def test_linear_targets_are_the_closed_form(digits, op):
    x, y = digits
    pca = Projection("pca").fit(x)
    view = pca.transform(x)
    a, b = np.flatnonzero(y == 3), np.flatnonzero(y == 8)
    t = _op_targets(op, view, a, b, pca.view_scale).astype(np.float32)  # as the teacher holds them
    z_star = pca.target_latents(x[a], t)
    np.testing.assert_array_equal(z_star, x[a] + pca.lift(t - pca.transform(x[a])))
    np.testing.assert_allclose(pca.transform(z_star), t, atol=1e-3)


def test_off_plane_part_is_invisible_to_the_local_view(digits, learned):
    x = digits[0][:200]
    v = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    off = learned.off_plane(x, v)
    j = jacobian(learned, torch.from_numpy(x)).numpy()                    # (N, 2, d)
    seen = np.einsum("nkd,nd->nk", j, off)
    assert np.abs(seen).max() <= 1e-4 * np.abs(np.einsum("nkd,nd->nk", j, v)).max()
    np.testing.assert_allclose(learned.off_plane(x, off), off, atol=1e-4)   # a projection: idempotent
    assert np.linalg.norm(off) < np.linalg.norm(v)


def test_a_learned_map_has_no_global_lift(learned):
    with pytest.raises(RuntimeError, match="target_latents"):
        learned.lift(np.zeros((1, 2), np.float32))


def test_fit_reports_progress_and_a_raise_cancels_it(digits):
    x = digits[0][:400]
    seen = []
    Projection("umap", steps=40).fit(x, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 10

    class Cancelled(Exception):
        pass

    def cancel(fraction):
        if fraction >= 0.5:
            raise Cancelled

    proj = Projection("umap", steps=40)
    threads = torch.get_num_threads()
    with pytest.raises(Cancelled):
        proj.fit(x, progress=cancel)
    assert not proj.is_fitted and torch.get_num_threads() == threads  # the fit's one thread undone

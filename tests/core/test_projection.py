"""Projection: one constructor for every kind, linear views exact, mistakes as ConfigError."""
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from hill_viz.core.projection import DEFAULT_SAMPLE, METHODS, Projection
from hill_viz.errors import ConfigError


@pytest.fixture(scope="module")
def latents():
    return load_digits().data.astype(np.float32)  # (1797, 64)


def test_pca_is_sklearns_plane_and_its_pseudo_inverse(latents):
    proj = Projection("pca").fit(latents)
    assert proj.is_linear and proj.sample_size == DEFAULT_SAMPLE["pca"]
    ref = PCA(2).fit(latents)
    np.testing.assert_allclose(np.abs(proj.components.numpy()), np.abs(ref.components_), atol=1e-4)
    view = proj.transform(latents)
    np.testing.assert_allclose(np.abs(view), np.abs(ref.transform(latents)), rtol=1e-3, atol=1e-3)
    with torch.no_grad():
        np.testing.assert_allclose(proj(torch.from_numpy(latents)).numpy(), view, atol=1e-4)
    dp = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_allclose(proj.transform(latents[:5] + proj.lift(dp)) - view[:5], dp, atol=1e-3)


def test_off_plane_of_a_linear_view_is_the_complement_of_its_plane(latents):
    proj = Projection("pca").fit(latents)
    v = np.random.default_rng(1).standard_normal((20, latents.shape[1])).astype(np.float32)
    off = proj.off_plane(latents[:20], v)
    comps = proj.components.numpy()
    np.testing.assert_allclose(off @ comps.T, 0, atol=1e-5)
    np.testing.assert_allclose(off + (v @ comps.T) @ comps, v, atol=1e-5)


def test_two_dimensional_latents_are_shown_as_they_are_by_every_method():
    z = np.random.default_rng(2).standard_normal((50, 2)).astype(np.float32)
    for method in METHODS:
        proj = Projection(method).fit(z)
        assert proj.is_linear
        np.testing.assert_array_equal(proj.transform(z), z)
        np.testing.assert_array_equal(proj.target_latents(z, z + 1), z + 1)


def test_a_recorded_pca_dict_restores_the_same_map(latents):
    proj = Projection("pca", sample_size=500, seed=7).fit(latents)
    d = proj.to_dict()
    assert set(d) == {"method", "sample_size", "seed", "mean", "components"}  # the format events hold
    again = Projection.from_dict(d)
    assert again.to_dict() == d and again.sha256 == proj.sha256
    np.testing.assert_array_equal(again.transform(latents), proj.transform(latents))


def test_fit_uses_a_seeded_sample(latents):
    a = Projection("pca", sample_size=300, seed=1).fit(latents)
    b = Projection("pca", sample_size=300, seed=1).fit(latents)
    c = Projection("pca", sample_size=300, seed=2).fit(latents)
    assert a.to_dict() == b.to_dict() and a.to_dict() != c.to_dict()


@pytest.mark.parametrize("args, kwargs, match", [
    (("tsne",), {}, "one of pca, umap, identity"),
    (("pca",), {"steps": 10}, "takes no options"),
    (("umap",), {"stepz": 10}, "unknown option"),
    (("umap",), {"hidden": 0}, "hidden must be"),
    (("umap",), {"lr": 5.0}, "lr must be"),
    (("pca", 1), {}, "sample size"),
])
def test_bad_settings_say_what_to_fix(args, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Projection(*args, **kwargs)


def test_bad_latents_say_what_to_fix(latents):
    with pytest.raises(ConfigError, match="at least 2"):
        Projection("pca").fit(latents[:1])
    bad = latents[:100].copy()
    bad[3, 4] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        Projection("umap").fit(bad)
    with pytest.raises(ConfigError, match="more than 16 latents"):
        Projection("umap").fit(latents[:10])
    with pytest.raises(ConfigError, match="identity projection needs latent_dim 2"):
        Projection("identity").fit(latents)
    with pytest.raises(RuntimeError, match="not fitted"):
        Projection("umap").transform(latents)

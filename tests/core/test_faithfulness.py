"""Faithfulness of a view: the same trustworthiness as sklearn's, leave-one-out k-NN label
accuracy as a brute-force vote gives it, and a warning when the picture misleads."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

from hill_viz.core.faithfulness import (LABEL_GAP_WARN, TRUST_WARN, Faithfulness, knn_label_accuracy,
                                        measure_faithfulness, trustworthiness)
from hill_viz.errors import ConfigError


@pytest.fixture(scope="module")
def digits():
    """Digits with a little jitter: raw pixels are integers, and exact distance ties rank
    differently (sklearn: argsort order; ours: the best rank); latents have no ties."""
    x, y = load_digits(return_X_y=True)
    x = x + np.random.default_rng(0).uniform(-0.01, 0.01, x.shape)
    return x.astype(np.float32), y, PCA(2).fit_transform(x).astype(np.float32)


@pytest.mark.parametrize("k", [5, 10])
def test_trustworthiness_is_sklearns(digits, k):
    x, _, view = digits
    assert trustworthiness(x, view, k) == pytest.approx(sklearn_trustworthiness(x, view, n_neighbors=k), abs=1e-6)
    shuffled = np.random.default_rng(0).permutation(view)  # a view that keeps no neighbourhood
    assert trustworthiness(x, shuffled, k) == pytest.approx(
        sklearn_trustworthiness(x, shuffled, n_neighbors=k), abs=1e-6)


def test_knn_label_accuracy_is_the_leave_one_out_vote(digits):
    x, y, view = digits
    x, y, view = x[:300], y[:300], view[:300]
    for points in (x, view):
        d = ((points[:, None] - points[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        nb = np.argsort(d, axis=1, kind="stable")[:, :10]
        votes = np.stack([np.bincount(y[row], minlength=10) for row in nb])
        assert knn_label_accuracy(points, y, 10) == pytest.approx(np.mean(votes.argmax(1) == y))


def test_a_pca_view_of_digits_misleads_and_says_so(digits):
    x, y, view = digits
    f = measure_faithfulness(x, view, y)
    assert f.n == len(x) and f.k == 10
    assert f.trustworthiness < TRUST_WARN and f.label_gap > LABEL_GAP_WARN
    assert f.misleads and f.message.startswith("the picture misleads")
    assert f.to_dict()["misleads"] is True


def test_a_faithful_view_does_not_warn():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2000, 2)).astype(np.float32)
    y = (z[:, 0] > 0).astype(int)
    f = measure_faithfulness(z, z * 3 + 1, y)  # a scaled, shifted copy keeps every neighbour
    assert f.trustworthiness == pytest.approx(1.0) and f.label_gap == 0
    assert not f.misleads and "misleads" not in f.message
    unlabelled = measure_faithfulness(z, z, None)
    assert unlabelled.label_accuracy_view is None and not unlabelled.misleads


def test_the_sample_is_seeded_and_bounded(digits):
    x, y, view = digits
    a = measure_faithfulness(x, view, y, sample_size=800, seed=1)
    b = measure_faithfulness(x, view, y, sample_size=800, seed=1)
    c = measure_faithfulness(x, view, y, sample_size=800, seed=2)
    assert a == b and a.n == 800 and a != c


def test_bad_inputs_say_what_to_fix(digits):
    x, y, view = digits
    with pytest.raises(ConfigError, match="same rows"):
        measure_faithfulness(x, view[:10], y)
    with pytest.raises(ConfigError, match="more than 2k"):
        measure_faithfulness(x[:15], view[:15], y[:15])
    with pytest.raises(ConfigError, match="sample size"):
        measure_faithfulness(x, view, y, sample_size=0)
    assert isinstance(Faithfulness(100, 10, 0.95, None, None).message, str)

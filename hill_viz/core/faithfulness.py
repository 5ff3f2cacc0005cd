"""How far a 2-D view of the latents can be trusted, measured on a sample.

Two numbers, both against the latent space the model actually has:
- trustworthiness@k (Venna & Kaski 2001; the same value as `sklearn.manifold.trustworthiness`):
  1.0 when every point's k nearest neighbours in the view are also near it in the latent
  space; it falls as the view invents neighbours. Computed here in row chunks, so memory is
  O(chunk * n) and time O(n^2 (d + log k)) instead of sklearn's several n x n arrays (50,000 points would need ~60 GB).
- k-NN label accuracy (leave-one-out majority vote of the k nearest other points) in the
  view and in the latent space: a view that mixes classes the model separates shows it as
  a drop from the latent accuracy.

`measure_faithfulness` returns both with a verdict: the picture misleads when the
trustworthiness is below `TRUST_WARN` or the view loses more than `LABEL_GAP_WARN` of the
latent label accuracy.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from hill_viz.core.projection.graph import distance_chunks
from hill_viz.errors import ConfigError

DEFAULT_SAMPLE = 5_000   # about 0.3 s on 2 cores at d = 16; 50,000 takes tens of seconds
DEFAULT_K = 10
TRUST_WARN = 0.90        # below this the view invents neighbours often enough to mislead
LABEL_GAP_WARN = 0.05    # view label accuracy this far below the latent space's misleads too


@dataclass(frozen=True)
class Faithfulness:
    """Faithfulness of a view on `n` sampled points (k nearest neighbours)."""

    n: int
    k: int
    trustworthiness: float
    label_accuracy_view: float | None    # None when the points have no labels
    label_accuracy_latent: float | None

    @property
    def label_gap(self) -> float | None:
        if self.label_accuracy_view is None:
            return None
        return self.label_accuracy_latent - self.label_accuracy_view

    @property
    def misleads(self) -> bool:
        gap = self.label_gap
        return self.trustworthiness < TRUST_WARN or (gap is not None and gap > LABEL_GAP_WARN)

    @property
    def message(self) -> str:
        """One line for the screen: the figures, and a warning when the picture misleads."""
        text = f"trustworthiness@{self.k} {self.trustworthiness:.3f}"
        if self.label_accuracy_view is not None:
            text += (f"; {self.k}-NN label accuracy {self.label_accuracy_view:.3f} in the view, "
                     f"{self.label_accuracy_latent:.3f} in the latent space")
        if self.misleads:
            text = ("the picture misleads: points that look close may not be close for the model ("
                    + text + "); refit the projection or try another method")
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "misleads": self.misleads}


def measure_faithfulness(latents: np.ndarray, view: np.ndarray, labels: np.ndarray | None = None,
                         k: int = DEFAULT_K, sample_size: int = DEFAULT_SAMPLE, seed: int = 0) -> Faithfulness:
    """Faithfulness of `view` (N, 2) to `latents` (N, d) on a seeded sample of at most `sample_size` rows."""
    z = np.asarray(latents, dtype=np.float32)
    xy = np.asarray(view, dtype=np.float32)
    if z.ndim != 2 or xy.ndim != 2 or len(z) != len(xy):
        raise ConfigError(f"latents {z.shape} and view {xy.shape} must be 2-D arrays with the same rows")
    rows = _sample_rows(len(z), sample_size, seed)
    z, xy = z[rows], xy[rows]
    if not 1 <= k < len(z) / 2:
        raise ConfigError(f"faithfulness needs more than 2k = {2 * k} points, got {len(z)}; "
                          "use a larger sample or a smaller k")
    view_nb = _view_neighbours(xy, k)
    trust, latent_nb = _trust_and_latent_neighbours(z, view_nb, k)
    acc_view = acc_latent = None
    if labels is not None:
        y = np.asarray(labels)[rows]
        acc_view, acc_latent = knn_vote_accuracy(y, view_nb), knn_vote_accuracy(y, latent_nb)
    return Faithfulness(len(z), k, trust, acc_view, acc_latent)


def trustworthiness(latents: np.ndarray, view: np.ndarray, k: int = DEFAULT_K) -> float:
    """Trustworthiness@k of `view` (N, 2) against `latents` (N, d), all rows, chunked."""
    z = np.asarray(latents, dtype=np.float32)
    return _trust_and_latent_neighbours(z, _view_neighbours(np.asarray(view, np.float32), k), k)[0]


def knn_label_accuracy(points: np.ndarray, labels: np.ndarray, k: int = DEFAULT_K) -> float:
    """Leave-one-out k-NN accuracy of `labels` in the space of `points` (N, m)."""
    from sklearn.neighbors import NearestNeighbors

    nb = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(return_distance=False)
    return knn_vote_accuracy(np.asarray(labels), nb)


def knn_vote_accuracy(labels: np.ndarray, neighbours: np.ndarray) -> float:
    """Share of rows whose label wins the vote of their neighbours (N, k); ties go to the smallest label."""
    classes, y = np.unique(labels, return_inverse=True)
    votes = np.zeros((len(y), len(classes)), dtype=np.int32)
    np.add.at(votes, (np.repeat(np.arange(len(y)), neighbours.shape[1]), y[neighbours].ravel()), 1)
    return float(np.mean(votes.argmax(axis=1) == y))


def _sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    if size < 1:
        raise ConfigError(f"faithfulness sample size must be >= 1, got {size}")
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 0xFA1]).choice(n, size, replace=False))


def _view_neighbours(xy: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) of each point's k nearest other points in the 2-D view (KD-tree)."""
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=k).fit(xy).kneighbors(return_distance=False)


def _trust_and_latent_neighbours(z: np.ndarray, view_nb: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Trustworthiness of the view neighbours (N, k) and the latent k nearest neighbours (N, k).

    For each row, the latent rank of a view neighbour j is 1 + the number of other points
    closer to it than j; ranks past k are penalised as in Venna & Kaski. (At exact distance
    ties a neighbour takes the best rank; sklearn ranks ties in argsort order.)
    """
    n = len(z)
    zt = torch.from_numpy(z).double()
    nbt = torch.from_numpy(view_nb)
    penalty = 0
    latent_nb = np.empty((n, k), dtype=np.int64)
    for start, stop, d in distance_chunks(zt):                               # d: (B, N)
        rank = _count_closer(d, torch.gather(d, 1, nbt[start:stop])) + 1     # (B, k)
        penalty += int((rank - k).clamp(min=0).sum())
        latent_nb[start:stop] = torch.topk(d, k, largest=False).indices.numpy()
    trust = 1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
    return float(trust), latent_nb


def _count_closer(d: torch.Tensor, thresh: torch.Tensor) -> torch.Tensor:
    """For rows of distances d (B, N) and thresholds (B, k): how many entries lie below each
    threshold, in O(B N log k) (a bucket per entry, then a cumulative histogram)."""
    b, k = thresh.shape
    ordered, order = torch.sort(thresh, 1)
    bucket = torch.searchsorted(ordered, d, side="right")                    # (B, N) in 0..k
    bucket += torch.arange(b).unsqueeze(1) * (k + 1)
    below = torch.bincount(bucket.ravel(), minlength=b * (k + 1)).view(b, k + 1).cumsum(1)[:, :k]
    return torch.empty_like(below).scatter_(1, order, below)

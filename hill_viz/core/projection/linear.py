"""The linear views: PCA rows of a sample of latents, or the identity when the latents are 2-D.

`P z = (z - mean) @ components.T`. The PCA components are orthonormal rows, so the
pseudo-inverse is `components.T`: a view displacement dp lifts to `dp @ components`.
"""
from __future__ import annotations

import numpy as np


def fit_pca(z: np.ndarray, sample_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and the first two principal directions (2, d), signs fixed, from a seeded sample."""
    z = np.asarray(z, dtype=np.float64)
    if len(z) > sample_size:
        rows = np.random.default_rng(seed).choice(len(z), sample_size, replace=False)
        z = z[np.sort(rows)]
    mean = z.mean(axis=0)
    _, _, vt = np.linalg.svd(z - mean, full_matrices=False)
    comps = vt[:2]
    # fix the sign so that a refit on the same data gives the same picture
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    return mean, comps * signs[:, None]


def identity() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(2), np.eye(2)


def off_plane(v: np.ndarray, components: np.ndarray) -> np.ndarray:
    """(I - P^+ P) v for orthonormal rows `components` (2, d): what the view does not show of v (N, d)."""
    return v - (v @ components.T) @ components

"""Projection P: R^d -> R^2, a frozen linear map (PCA rows, or identity when d = 2).

The view the user edits in is `P z = (z - mean) @ components.T`. Because the PCA
components are orthonormal rows, the pseudo-inverse is `components.T`, so a view
displacement `dp` lifts to the latent displacement `dp @ components`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hill_viz.errors import ConfigError


class Projection(nn.Module):
    """Frozen PCA-linear projection. Construct, then `fit` on latents; `transform` after."""

    def __init__(self, method: str = "pca", sample_size: int = 50_000, seed: int = 0):
        super().__init__()
        if method not in ("pca", "identity"):
            raise ConfigError(f"projection method must be 'pca' or 'identity', got {method!r}")
        self.method = method
        self.sample_size = sample_size
        self.seed = seed
        self.register_buffer("mean", torch.zeros(0))
        self.register_buffer("components", torch.zeros(0, 0))  # (2, d)

    @property
    def is_fitted(self) -> bool:
        return self.components.numel() > 0

    def fit(self, latents: np.ndarray) -> "Projection":
        z = np.asarray(latents, dtype=np.float64)  # (N, d)
        if z.ndim != 2 or len(z) < 2:
            raise ConfigError("projection needs at least 2 latent vectors to fit")
        d = z.shape[1]
        if self.method == "identity" or d == 2:
            if d != 2:
                raise ConfigError(f"identity projection needs latent_dim 2, got {d}")
            mean, comps = np.zeros(2), np.eye(2)
        else:
            if len(z) > self.sample_size:
                rows = np.random.default_rng(self.seed).choice(len(z), self.sample_size, replace=False)
                z = z[np.sort(rows)]
            mean = z.mean(axis=0)
            _, _, vt = np.linalg.svd(z - mean, full_matrices=False)
            comps = vt[:2]
            # fix the sign so that a refit on the same data gives the same picture
            signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
            comps = comps * signs[:, None]
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.components = torch.as_tensor(comps, dtype=torch.float32)
        return self

    def _check_fitted(self):
        if not self.is_fitted:
            raise RuntimeError("Projection is not fitted; call fit(latents) first")

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, 2)
        self._check_fitted()
        return (z - self.mean) @ self.components.T

    def transform(self, latents: np.ndarray) -> np.ndarray:
        """View positions (N, 2) float32 of latents (N, d)."""
        self._check_fitted()
        mean = self.mean.numpy()
        comps = self.components.numpy()
        return ((np.asarray(latents, dtype=np.float32) - mean) @ comps.T).astype(np.float32)

    def lift(self, view_delta: np.ndarray) -> np.ndarray:
        """Latent displacement (N, d) for a view displacement (N, 2): P^+ dp."""
        self._check_fitted()
        return (np.asarray(view_delta, dtype=np.float32) @ self.components.numpy()).astype(np.float32)

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"method": self.method, "sample_size": self.sample_size, "seed": self.seed,
                "mean": self.mean.tolist(), "components": self.components.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Projection":
        proj = cls(d["method"], d["sample_size"], d["seed"])
        proj.mean = torch.tensor(d["mean"], dtype=torch.float32)
        proj.components = torch.tensor(d["components"], dtype=torch.float32)
        return proj

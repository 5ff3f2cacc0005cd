"""`Projection`: the frozen, differentiable map P: R^d -> R^2 from latents to the view.

One contract for every method: construct with the settings, `fit(latents)` on a seeded
sample, then `transform` (numpy, in batches), `forward` (torch, differentiable, for the
teacher's `projected` loss), `target_latents` (the z* nearest z with P(z*) = t, for the
`full` loss and the predicted bias) and `off_plane` (what the view does not show of a
latent displacement). `to_dict` / `from_dict` restore any kind exactly.

Methods: `pca` (linear, the first two principal directions), `umap` (a small network
trained with the Parametric UMAP loss; see `parametric_umap`), and `identity`. When the
latents are 2-D every method is the identity.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from hill_viz.core.projection import linear
from hill_viz.core.projection.parametric_umap import UMAPConfig, build_network, fit_parametric_umap
from hill_viz.core.projection.solve import gauss_newton_targets, jacobian, null_space_part
from hill_viz.errors import ConfigError

METHODS = ("pca", "umap", "identity")
LEARNED_METHODS = ("umap",)
DEFAULT_METHOD = "umap"                        # what the app, the CLI and the study show
DEFAULT_ENV = "HILL_VIZ_PROJECTION"            # overrides DEFAULT_METHOD for this process (and its children)
DEFAULT_SAMPLE = {"pca": 50_000, "umap": 5_000, "identity": 50_000}
TRANSFORM_BATCH = 8_192                        # rows per forward pass: activations stay in cache
_SOLVE_BATCH = 16_384                          # rows per batch of the latent-target solve


def default_method() -> str:
    """The method new sessions fit: `$HILL_VIZ_PROJECTION` when set (pca or umap), else DEFAULT_METHOD."""
    method = os.environ.get(DEFAULT_ENV) or DEFAULT_METHOD
    if method not in ("pca", *LEARNED_METHODS):
        raise ConfigError(f"{DEFAULT_ENV} must be pca or {' or '.join(LEARNED_METHODS)}, got {method!r}")
    return method


class Projection(nn.Module):
    """A frozen view map. `Projection(method, sample_size, seed, **options)`, then `fit(latents)`.

    options (umap only): the fields of `UMAPConfig` (n_neighbors, hidden, steps, ...).
    """

    def __init__(self, method: str = "pca", sample_size: int | None = None, seed: int = 0, **options):
        super().__init__()
        if method not in METHODS:
            raise ConfigError(f"projection method must be one of {', '.join(METHODS)}, got {method!r}")
        if options and method not in LEARNED_METHODS:
            raise ConfigError(f"the {method} projection takes no options, got {', '.join(sorted(options))}")
        try:
            self.config = UMAPConfig(**options) if method in LEARNED_METHODS else None
        except TypeError as err:
            raise ConfigError(f"umap projection: unknown option ({err}); "
                              f"options are {', '.join(UMAPConfig.__dataclass_fields__)}") from None
        self.method = method
        self.sample_size = DEFAULT_SAMPLE[method] if sample_size is None else int(sample_size)
        if self.sample_size < 2:
            raise ConfigError(f"projection sample size must be >= 2, got {sample_size}")
        self.seed = int(seed)
        self.register_buffer("mean", torch.zeros(0))               # (d,)
        self.register_buffer("components", torch.zeros(0, 0))      # (2, d); linear only
        self.register_buffer("scale", torch.ones(()))              # latent scale; learned only
        self.net: nn.Sequential | None = None                     # learned only
        self.view_scale = 1.0                                      # spread of the fitted view
        self.fit_stats: dict = {}                                  # timings etc.; not part of to_dict

    # -- state -------------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return self.components.numel() > 0 or self.net is not None

    @property
    def is_linear(self) -> bool:
        """True when P is a fixed matrix (pca, identity, or any method on 2-D latents)."""
        self._check_fitted()
        return self.net is None

    def _check_fitted(self):
        if not self.is_fitted:
            raise RuntimeError("Projection is not fitted; call fit(latents) first")

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, latents: np.ndarray, progress: Callable[[float], None] | None = None) -> "Projection":
        """Fit on a seeded sample of at most `sample_size` of the latents (N, d); returns self.

        `progress(fraction)` is called now and then during a learned fit (it may raise to cancel).
        """
        z = np.asarray(latents, dtype=np.float32)                  # (N, d)
        if z.ndim != 2 or len(z) < 2:
            raise ConfigError("projection needs at least 2 latent vectors to fit")
        if not np.isfinite(z).all():
            raise ConfigError("projection: the latents contain NaN or infinite values; retrain or reload the model")
        d = z.shape[1]
        started = time.perf_counter()
        self.net, self.fit_stats = None, {}
        if self.method == "identity" or d == 2:
            if d != 2:
                raise ConfigError(f"identity projection needs latent_dim 2, got {d}")
            self._set_linear(*linear.identity())
        elif self.method == "pca":
            self._set_linear(*linear.fit_pca(z, self.sample_size, self.seed))
        else:
            self._fit_learned(z, progress)
        self.view_scale = self._measure_view_scale(z)
        self.fit_stats = {**self.fit_stats, "seconds": time.perf_counter() - started}
        return self

    def _set_linear(self, mean: np.ndarray, comps: np.ndarray) -> None:
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.components = torch.as_tensor(comps, dtype=torch.float32)

    def _fit_learned(self, z: np.ndarray, progress) -> None:
        if len(z) > self.sample_size:
            rows = np.sort(np.random.default_rng([self.seed, 0x0AF]).choice(len(z), self.sample_size, replace=False))
            z = z[rows]
        mean = z.mean(axis=0, dtype=np.float64)
        scale = float(np.sqrt(((z - mean) ** 2).sum(1).mean())) or 1.0   # rms distance to the mean
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.scale = torch.tensor(scale, dtype=torch.float32)
        self.components = torch.zeros(0, 0)
        generator = torch.Generator().manual_seed(self.seed)
        net = build_network(z.shape[1], self.config, generator)
        x = ((z - self.mean.numpy()) / self.scale.numpy()).astype(np.float32)
        with one_thread():  # the same arithmetic on any machine: a seed gives the same weights
            self.fit_stats = fit_parametric_umap(net, x, self.config, generator, progress)
        self.net = net.eval().requires_grad_(False)

    def _measure_view_scale(self, z: np.ndarray) -> float:
        xy = self.transform(z[: min(len(z), 20_000)])
        return float(np.sqrt(xy.var(axis=0).mean())) or 1.0

    # -- the map -----------------------------------------------------------------------------
    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B, 2)
        self._check_fitted()
        if self.net is None:
            return (z - self.mean) @ self.components.T
        return self.net((z - self.mean) / self.scale)

    def transform(self, latents: np.ndarray, batch_size: int = TRANSFORM_BATCH) -> np.ndarray:
        """View positions (N, 2) float32 of latents (N, d), computed in batches of `batch_size`."""
        self._check_fitted()
        z = np.asarray(latents, dtype=np.float32)
        if self.net is None:
            return ((z - self.mean.numpy()) @ self.components.numpy().T).astype(np.float32)
        out = np.empty((len(z), 2), dtype=np.float32)
        with torch.inference_mode(), one_thread():
            for start in range(0, len(z), batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(z[start:start + batch_size]))
                out[start:start + len(chunk)] = self(chunk).numpy()
        return out

    def target_latents(self, latents: np.ndarray, targets: np.ndarray, eps: float = 1e-6,
                       steps: int = 30, tol: float | None = None) -> np.ndarray:
        """z* (N, d) near z (N, d) with P(z*) = t (N, 2).

        Linear P: exactly z + P^+ (t - P z). Learned P: damped Gauss-Newton steps (see
        `solve`), stopping when every row is within `tol` (default 1e-4 of the view's spread).
        """
        z = np.asarray(latents, dtype=np.float32)
        t = np.asarray(targets, dtype=np.float32)
        if self.is_linear:
            return z + self.lift(t - self.transform(z))  # the teacher's formula before learned views
        tol = 1e-4 * self.view_scale if tol is None else tol
        out = np.empty_like(z)
        for start in range(0, len(z), _SOLVE_BATCH):
            rows = slice(start, start + _SOLVE_BATCH)
            out[rows] = gauss_newton_targets(self, torch.from_numpy(z[rows]), torch.from_numpy(t[rows]),
                                             eps=eps, steps=steps, tol=tol).numpy()
        return out

    def off_plane(self, latents: np.ndarray, displacements: np.ndarray) -> np.ndarray:
        """(I - J^+ J) v: the part of latent displacements v (N, d) at latents z (N, d) that
        the view does not show (J the local Jacobian; the constant P for a linear view)."""
        v = np.asarray(displacements, dtype=np.float32)
        if self.is_linear:
            return linear.off_plane(v, self.components.numpy()).astype(np.float32)
        z = np.asarray(latents, dtype=np.float32)
        out = np.empty_like(v)
        for start in range(0, len(z), _SOLVE_BATCH):
            rows = slice(start, start + _SOLVE_BATCH)
            j = jacobian(self, torch.from_numpy(z[rows]))
            out[rows] = null_space_part(j, torch.from_numpy(v[rows])).numpy()
        return out

    def lift(self, view_delta: np.ndarray) -> np.ndarray:
        """Latent displacement (N, d) for a view displacement (N, 2): P^+ dp (linear views only)."""
        if not self.is_linear:
            raise RuntimeError("a learned projection has no global pseudo-inverse; use target_latents(z, t)")
        return (np.asarray(view_delta, dtype=np.float32) @ self.components.numpy()).astype(np.float32)

    # -- records -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything needed to rebuild this exact map (JSON-ready; weights as base64 float32)."""
        self._check_fitted()
        head = {"method": self.method, "sample_size": self.sample_size, "seed": self.seed}
        if self.net is None:
            return {**head, "mean": self.mean.tolist(), "components": self.components.tolist()}
        return {**head, "config": self.config.to_dict(), "dim": int(self.mean.numel()),
                "mean": self.mean.tolist(), "scale": float(self.scale), "view_scale": self.view_scale,
                "weights": {k: _encode(v) for k, v in self.net.state_dict().items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "Projection":
        proj = cls(d["method"], d["sample_size"], d["seed"], **d.get("config", {}))
        proj.mean = torch.tensor(d["mean"], dtype=torch.float32)
        if "components" in d:
            proj.components = torch.tensor(d["components"], dtype=torch.float32)
            proj.view_scale = 1.0
            return proj
        proj.scale = torch.tensor(d["scale"], dtype=torch.float32)
        proj.view_scale = float(d["view_scale"])
        net = build_network(int(d["dim"]), proj.config, torch.Generator())
        net.load_state_dict({k: _decode(v) for k, v in d["weights"].items()})
        proj.net = net.eval().requires_grad_(False)
        return proj

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of `to_dict()` (what `save` writes)."""
        return hashlib.sha256(_canonical(self.to_dict())).hexdigest()

    def to_json(self) -> bytes:
        """The canonical JSON of `to_dict()`: what `save` writes and `sha256` hashes."""
        return _canonical(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes) -> "Projection":
        return cls.from_dict(json.loads(data))

    def save(self, path: str | Path) -> str:
        """Write the projection as a JSON artifact; returns its SHA-256."""
        data = self.to_json()
        Path(path).write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def load(cls, path: str | Path) -> "Projection":
        return cls.from_dict(json.loads(Path(path).read_bytes()))


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside (as the Trainer does). For these small layers one thread
    is also the fastest on a shared 2-core machine: 10^7 latents in about 2 s against 10-20 s
    on two threads, which wait on each other between the many small matrix products."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _encode(t: torch.Tensor) -> dict:
    a = t.detach().to(torch.float32).contiguous().numpy()
    return {"shape": list(a.shape), "data": base64.b64encode(a.astype("<f4").tobytes()).decode("ascii")}


def _decode(e: dict) -> torch.Tensor:
    a = np.frombuffer(base64.b64decode(e["data"]), dtype="<f4").reshape(e["shape"])
    return torch.from_numpy(a.copy())


def _canonical(d: dict) -> bytes:
    return json.dumps(d, sort_keys=True, separators=(",", ":")).encode()

"""Parametric UMAP (Sainburg, McInnes and Gentner 2021) in torch: a small network trained
with UMAP's cross-entropy over the fuzzy k-NN graph of a sample of latents.

Each step embeds the whole sample (a few thousand rows: cheaper than embedding a batch's
heads, tails and negatives separately), draws a batch of edges in proportion to their
weights and `negatives` random partners per edge, and pulls edges together and pushes the
partners apart. The network starts from a short regression onto the sample's PCA plane,
so a refit on similar latents keeps the picture's orientation. All randomness comes from
one `torch.Generator`; the caller runs it on one thread, so a seed gives the same weights
on any machine with the same torch build.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from hill_viz.core.foreground import pause_while_busy
from hill_viz.core.projection.graph import exact_knn, fuzzy_graph
from hill_viz.errors import ConfigError


@dataclass(frozen=True)
class UMAPConfig:
    """Settings of the learned projection (defaults measured in `hill-viz bench projection`)."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    hidden: int = 48        # width of the hidden layers (64: a little more faithful, 2x slower to apply)
    layers: int = 3         # hidden layers (ReLU)
    steps: int = 1500       # optimizer steps over edge batches
    batch: int = 4096       # edges per step
    negatives: int = 5      # random partners pushed away per edge
    lr: float = 1e-2
    init_steps: int = 100   # steps of regression onto the PCA plane first

    def __post_init__(self):
        for name, low, high in (("n_neighbors", 2, 200), ("hidden", 2, 1024), ("layers", 1, 8),
                                ("steps", 1, 100_000), ("batch", 1, 1 << 20), ("negatives", 1, 50),
                                ("init_steps", 0, 100_000)):
            value = getattr(self, name)
            if not (isinstance(value, int) and low <= value <= high):
                raise ConfigError(f"umap projection: {name} must be an integer in [{low}, {high}], got {value!r}")
        if not 0 <= self.min_dist < 1:
            raise ConfigError(f"umap projection: min_dist must be in [0, 1), got {self.min_dist!r}")
        if not 0 < self.lr <= 1:
            raise ConfigError(f"umap projection: lr must be in (0, 1], got {self.lr!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def build_network(dim: int, config: UMAPConfig, generator: torch.Generator) -> nn.Sequential:
    """An MLP dim -> hidden x layers -> 2 (ReLU), initialised from `generator` (PyTorch's default ranges)."""
    sizes = [dim] + [config.hidden] * config.layers + [2]
    modules: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.utils.skip_init(nn.Linear, fan_in, fan_out)  # no draw from the global RNG
        bound = 1.0 / np.sqrt(fan_in)
        with torch.no_grad():
            linear.weight.uniform_(-bound, bound, generator=generator)
            linear.bias.uniform_(-bound, bound, generator=generator)
        modules += [linear, nn.ReLU()]
    return nn.Sequential(*modules[:-1])


def fit_parametric_umap(net: nn.Module, x: np.ndarray, config: UMAPConfig, generator: torch.Generator,
                        progress: Callable[[float], None] | None = None) -> dict:
    """Train `net` in place on the normalised sample x (S, d); returns fit statistics."""
    n = len(x)
    if n <= config.n_neighbors + 1:
        raise ConfigError(f"the umap projection needs more than {config.n_neighbors + 1} latents to fit, "
                          f"got {n}; use the pca projection for so few points")
    idx, dist = exact_knn(x, config.n_neighbors)
    heads, tails, weights = fuzzy_graph(idx, dist)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    _regress_onto_pca(net, xt, optimizer, config.init_steps)
    a, b = curve_parameters(config.min_dist)
    cumulative = torch.from_numpy(np.cumsum(weights) / weights.sum())
    heads_t, tails_t = torch.from_numpy(heads), torch.from_numpy(tails)
    every = max(1, config.steps // 50)
    for step in range(config.steps):
        pause_while_busy()  # a server's pages first
        pick = torch.searchsorted(cumulative, torch.rand(config.batch, generator=generator, dtype=torch.float64))
        pick.clamp_(max=len(cumulative) - 1)
        head, tail = heads_t[pick], tails_t[pick]                          # (B,)
        partner = torch.randint(0, n, (config.batch * config.negatives,), generator=generator)
        y = net(xt)                                                        # (S, 2)
        near = ((y[head] - y[tail]) ** 2).sum(1)                           # (B,)
        far = ((y[head.repeat(config.negatives)] - y[partner]) ** 2).sum(1)  # (B * negatives,)
        loss = _umap_cross_entropy(near, far, a, b, config.negatives)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress is not None and (step + 1) % every == 0:
            progress((step + 1) / config.steps)
    return {"sample": n, "edges": int(len(weights)), "final_loss": float(loss.detach())}


def curve_parameters(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """UMAP's a, b: 1 / (1 + a d^(2b)) fitted to 1 inside min_dist and exp(-(d - min_dist)) beyond."""
    from scipy.optimize import curve_fit

    d = np.linspace(0, spread * 3, 300)
    target = np.where(d < min_dist, 1.0, np.exp(-(d - min_dist) / spread))
    (a, b), _ = curve_fit(lambda d, a, b: 1.0 / (1.0 + a * d ** (2 * b)), d, target)
    return float(a), float(b)


def _umap_cross_entropy(near: torch.Tensor, far: torch.Tensor, a: float, b: float, negatives: int) -> torch.Tensor:
    """Attraction of edges plus repulsion of random partners, on squared 2-D distances."""
    q_near = 1.0 / (1.0 + a * near.clamp(min=1e-12) ** b)
    q_far = 1.0 / (1.0 + a * far.clamp(min=1e-12) ** b)
    attract = -torch.log(q_near.clamp(min=1e-4)).mean()
    repel = -torch.log((1.0 - q_far).clamp(min=1e-4)).mean()
    return attract + negatives * repel


def _regress_onto_pca(net: nn.Module, xt: torch.Tensor, optimizer, steps: int) -> None:
    """Start the network at the sample's first two principal components (std 3 each)."""
    if steps == 0:
        return
    centred = xt - xt.mean(0)
    _, _, v = torch.linalg.svd(centred.double(), full_matrices=False)
    v = v[:2] * torch.sign(v[:2].gather(1, v[:2].abs().argmax(1, keepdim=True)))  # fixed signs
    plane = (centred.double() @ v.T).float()                               # (S, 2)
    plane = plane / plane.std().clamp(min=1e-12) * 3.0
    for _ in range(steps):
        pause_while_busy()
        loss = ((net(xt) - plane) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

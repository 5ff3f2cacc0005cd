"""UMAP's fuzzy k-NN graph of a sample of latents (McInnes, Healy and Melville 2018, sec. 3).

Exact neighbours (the sample is small: a few thousand rows), then per point a local
distance scale so that each point's neighbourhood carries log2(k) of membership, then the
fuzzy union of the directed graph and its transpose.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

_CHUNK_CELLS = 1 << 23  # distance cells per chunk of the exact k-NN


def distance_chunks(xt: torch.Tensor):
    """(start, stop, d): distances d (B, N) of rows start:stop to every row, a row's own inf."""
    n = len(xt)
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n, step):
        stop = min(start + step, n)
        d = torch.cdist(xt[start:stop], xt)                               # (B, N)
        d[torch.arange(stop - start), torch.arange(start, stop)] = float("inf")
        yield start, stop, d


def exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N, k) and distances (N, k) of each row's k nearest other rows, by rows in chunks."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    n = len(xt)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float64)
    for start, stop, d in distance_chunks(xt):
        near = torch.topk(d, k, largest=False)
        idx[start:stop], dist[start:stop] = near.indices.numpy(), near.values.numpy()
    return idx, dist


def fuzzy_graph(idx: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges (rows, cols, weights) of the symmetric fuzzy graph of a k-NN graph (N, k)."""
    n, k = idx.shape
    rho = dist[:, 0:1]                                                     # nearest distance
    excess = np.maximum(dist - rho, 0.0)                                   # (N, k)
    sigma = _local_scales(excess, np.log2(k))
    w = np.exp(-excess / sigma[:, None])                                   # (N, k), 1 at the nearest
    directed = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    union = (directed + directed.T - directed.multiply(directed.T)).tocoo()
    keep = union.data > 0
    return union.row[keep].astype(np.int64), union.col[keep].astype(np.int64), union.data[keep]


def _local_scales(excess: np.ndarray, target: float, iters: int = 64) -> np.ndarray:
    """Per row, the sigma with sum_j exp(-excess_j / sigma) = target (bisection, all rows at once)."""
    lo = np.zeros(len(excess))
    hi = np.full(len(excess), np.inf)
    mid = np.ones(len(excess))
    for _ in range(iters):
        total = np.exp(-excess / mid[:, None]).sum(axis=1)
        over = total > target
        hi = np.where(over, mid, hi)
        lo = np.where(over, lo, mid)
        mid = np.where(np.isinf(hi), mid * 2, (lo + hi) / 2)
    mean_excess = excess.mean()
    return np.maximum(mid, 1e-3 * mean_excess if mean_excess > 0 else 1e-12)  # umap's floor

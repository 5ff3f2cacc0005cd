"""The `tabular-shortcut` builtin: embedding-like feature vectors with a planted cue.

Each class has `modes` centres in a `dim - CUE_DIM`-dimensional core space; a sample is
one of its class's centres plus Gaussian noise of std `noise` (the core signal: nearly
decisive, but a mixture a model takes a while to learn).
The `cue` attribute (one value per class) adds a clean, well separated code in `CUE_DIM`
more dimensions. The cue agrees with the label with probability `rho` in train and val
and is uniform in test. A fixed random rotation (by seed) mixes core and cue dimensions,
so no single column holds the cue, as in a pretrained encoder's embedding.
`cue = false` draws the same samples without the code (the oracle's data).
"""

from __future__ import annotations

import functools

import numpy as np

from hill_viz.core.data.dataset import TEST, Dataset
from hill_viz.core.data.generate import MAX_GENERATED_N, ChunkRng, Generator, generate
from hill_viz.core.data.options import require_range
from hill_viz.core.data.splits import SPLIT_BLOCK, block_counts

CUE_DIM = 4          # dimensions that carry the cue's code, before the rotation
CUE_SCALE = 1.0      # distance of each cue code from the origin (core centres have norm about 1)
CUE_NOISE = 0.1      # std of the noise on the cue dimensions: the cue is easy to read


def load_tabular_shortcut(n: int, seed: int, opts: dict) -> Dataset:
    what = "dataset 'tabular-shortcut'"
    require_range(what, "n", n, SPLIT_BLOCK, MAX_GENERATED_N)
    require_range(what, "rho", opts["rho"], 0.0, 1.0)
    require_range(what, "noise", opts["noise"], 0.0, 10.0)
    require_range(what, "classes", opts["classes"], 2, 20)
    require_range(what, "dim", opts["dim"], CUE_DIM + 2, 1024)
    require_range(what, "modes", opts["modes"], 1, 16)
    k, dim = opts["classes"], opts["dim"]
    rng = np.random.default_rng([seed, 0x7AB])
    core = dim - CUE_DIM
    centres = rng.standard_normal((k, opts["modes"], core)) / np.sqrt(core)  # (k, modes, core), norm about 1
    codes = CUE_SCALE * _simplex_codes(k, CUE_DIM, rng)                      # (k, CUE_DIM)
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))              # (dim, dim) orthogonal
    names = tuple(f"c{c}" for c in range(k))
    gen = Generator(
        name="tabular-shortcut",
        n_features=dim,
        class_names=names,
        attribute_categories={"cue": names},
        split_counts=block_counts(opts["splits"]),
        chunk=functools.partial(_chunk, opts=opts, centres=centres.astype(np.float32),
                                codes=codes.astype(np.float32), rotation=rotation.astype(np.float32)),
    )
    return generate(gen, n, seed, {"name": gen.name, "n": n, "seed": seed, **opts})


def _simplex_codes(k: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """k unit vectors in d dimensions, spread apart (random, then pushed apart a few steps)."""
    v = rng.standard_normal((k, d))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for _ in range(200):
        diff = v[:, None, :] - v[None, :, :]                                  # (k, k, d)
        dist2 = (diff ** 2).sum(-1) + np.eye(k)
        v += 0.05 * (diff / dist2[..., None] ** 1.5).sum(1)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _chunk(split: np.ndarray, rng: ChunkRng, *, opts: dict, centres: np.ndarray, codes: np.ndarray,
           rotation: np.ndarray):
    r, k = len(split), len(centres)
    labels = rng(1).integers(0, k, r)
    agree = rng(2).random(r) < opts["rho"]
    other = (labels + rng(3).integers(1, k, r)) % k
    cue = np.where(split == TEST, rng(4).integers(0, k, r), np.where(agree, labels, other))
    mode = rng(7).integers(0, centres.shape[1], r)
    noise = np.float32(opts["noise"]) * rng(5).standard_normal((r, centres.shape[2]), np.float32)
    core = centres[labels, mode] + noise
    cue_part = np.float32(CUE_NOISE) * rng(6).standard_normal((r, codes.shape[1]), np.float32)
    if opts["cue"]:
        cue_part += codes[cue]
    x = np.concatenate([core, cue_part], axis=1) @ rotation
    return x, labels, {"cue": cue.astype(np.int8)}

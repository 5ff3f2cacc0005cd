"""The `blobs` builtin: Gaussian clusters of any size and dimension, with a group attribute.

The group follows the cluster (label mod groups) with probability `group_corr`, and each
group shifts its samples by its own offset: a protected attribute the latents can learn.
"""

from __future__ import annotations

import functools

import numpy as np

from hill_viz.core.data.dataset import Dataset
from hill_viz.core.data.generate import MAX_GENERATED_N, ChunkRng, Generator, generate
from hill_viz.core.data.options import require_range
from hill_viz.core.data.splits import SPLIT_BLOCK, block_counts

_GROUP_NAMES = ("g0", "g1", "g2", "g3")


def load_blobs(n: int, seed: int, opts: dict) -> Dataset:
    require_range("dataset 'blobs'", "n", n, SPLIT_BLOCK, MAX_GENERATED_N)
    gen = blobs_generator(seed, opts)
    return generate(gen, n, seed, {"name": gen.name, "n": n, "seed": seed, **opts})


def blobs_generator(seed: int, opts: dict) -> Generator:
    """The chunked generator of `blobs` for these (resolved) options; also writes Parquet folders."""
    what = "dataset 'blobs'"
    require_range(what, "dim", opts["dim"], 1, 1024)
    require_range(what, "centers", opts["centers"], 2, 1000)
    require_range(what, "groups", opts["groups"], 2, 4)
    require_range(what, "group_corr", opts["group_corr"], 0.0, 1.0)
    require_range(what, "std", opts["std"], 1e-6, 1e6)
    require_range(what, "spread", opts["spread"], 0.0, 1e6)
    require_range(what, "group_shift", opts["group_shift"], 0.0, 1e6)
    rng = np.random.default_rng([seed, 0xB1])
    centers = (opts["spread"] * rng.standard_normal((opts["centers"], opts["dim"]))).astype(np.float32)
    offsets = rng.standard_normal((opts["groups"], opts["dim"]))
    offsets *= opts["group_shift"] / np.linalg.norm(offsets, axis=1, keepdims=True)
    return Generator(
        name="blobs",
        n_features=opts["dim"],
        class_names=tuple(f"c{k}" for k in range(opts["centers"])),
        attribute_categories={"group": _GROUP_NAMES[: opts["groups"]]},
        split_counts=block_counts(opts["splits"]),
        chunk=functools.partial(_blobs_chunk, opts=opts, centers=centers, offsets=offsets.astype(np.float32)),
    )


def _blobs_chunk(split: np.ndarray, rng: ChunkRng, *, opts: dict, centers: np.ndarray, offsets: np.ndarray):
    r, k, groups = len(split), len(centers), len(offsets)
    labels = rng(1).integers(0, k, r)
    # the group follows the cluster (label mod groups) with probability group_corr
    group = np.where(rng(2).random(r) < opts["group_corr"], labels % groups, rng(3).integers(0, groups, r))
    noise = rng(4).standard_normal((r, centers.shape[1]), dtype=np.float32)
    x = centers[labels] + np.float32(opts["std"]) * noise + offsets[group]
    return x, labels, {"group": group.astype(np.int8)}

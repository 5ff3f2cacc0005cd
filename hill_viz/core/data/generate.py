"""Chunked generation of the synthetic builtins, in memory or through the memmap cache.

Chunk k draws from its own random streams, seeded by (seed, k, stream), and every draw is
element-wise sequential, so sample i depends only on (seed, i, options): the first m
samples of a larger n are the m samples of n=m. Above `MEMMAP_THRESHOLD_BYTES` of
features the arrays go to the cache folder and come back as a read-only `np.memmap`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hill_viz.core.data.cache import cache_dir, cached_arrays
from hill_viz.core.data.dataset import Dataset, jsonable
from hill_viz.core.data.splits import SPLIT_BLOCK, block_split

GENERATOR_VERSION = 1  # bump when generated values change; part of the cache key
CHUNK_SIZE = 25_600  # samples per generated chunk; a multiple of SPLIT_BLOCK
MEMMAP_THRESHOLD_BYTES = 256 * 2**20  # generated features above this go to a memmap
MAX_GENERATED_N = 10**9

# rng(stream) -> the chunk's generator for that stream (0 draws the split)
ChunkRng = Callable[[int], np.random.Generator]


@dataclass(frozen=True)
class Generator:
    """A chunked generator: `chunk(split, rng)` -> features (r, F), labels (r,), attributes."""

    name: str
    n_features: int
    class_names: tuple[str, ...]
    attribute_categories: dict[str, tuple[str, ...]]
    split_counts: np.ndarray
    chunk: Callable[[np.ndarray, ChunkRng], tuple]
    image_shape: tuple[int, int] | None = None


def generate(gen: Generator, n: int, seed: int, params: dict) -> Dataset:
    """n samples of `gen`; `params` rebuild the dataset and key its cache entry."""
    assert CHUNK_SIZE % SPLIT_BLOCK == 0, "chunks must hold whole split blocks"
    if n * gen.n_features * 4 > MEMMAP_THRESHOLD_BYTES:
        folder = cache_dir() / "datasets" / f"{gen.name}-{_cache_key(params)}"
        meta = {"params": jsonable(params), "version": GENERATOR_VERSION}
        features, labels, split, attributes = cached_arrays(
            folder, (n, gen.n_features), tuple(gen.attribute_categories), functools.partial(fill, gen, n, seed),
            meta, f"generating {gen.name} with n={n}")
    else:
        features = np.empty((n, gen.n_features), np.float32)
        labels, split, attributes = fill(gen, n, seed, features)
    return Dataset(
        name=gen.name,
        features=features,
        labels=labels,
        class_names=gen.class_names,
        split=split,
        ids=np.arange(n, dtype=np.int64),
        attributes=attributes,
        attribute_categories=dict(gen.attribute_categories),
        image_shape=gen.image_shape,
        params=params,
    )


def fill(gen: Generator, n: int, seed: int, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Generate n samples chunk by chunk into `features`; return labels, split, attributes."""
    labels = np.empty(n, np.int64)
    split = np.empty(n, np.int8)
    attributes = {key: np.empty(n, np.int8) for key in gen.attribute_categories}
    for index, start in enumerate(range(0, n, CHUNK_SIZE)):
        stop = min(start + CHUNK_SIZE, n)
        rng = functools.partial(_chunk_rng, seed, index)
        part = block_split(stop - start, gen.split_counts, rng(0))
        x, y, attrs = gen.chunk(part, rng)
        features[start:stop] = x
        labels[start:stop], split[start:stop] = y, part
        for key, codes in attrs.items():
            attributes[key][start:stop] = codes
    return labels, split, attributes


def _chunk_rng(seed: int, chunk: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, stream, 0x4811])


def _cache_key(params: dict) -> str:
    key = {"params": jsonable(params), "version": GENERATOR_VERSION, "chunk": CHUNK_SIZE}
    blob = json.dumps(key, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

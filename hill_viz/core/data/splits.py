"""Train/val/test splits and random subsets, all driven by a seeded generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hill_viz.core.data.dataset import TEST, TRAIN, VAL
from hill_viz.errors import DataError

SPLIT_BLOCK = 100  # generated splits are exact within each block of 100 samples


def stratified_split(labels: np.ndarray, fractions: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """Split codes with the fractions applied within each class (at least one train per class)."""
    n = len(labels)
    order = np.lexsort((rng.random(n), labels))  # classes contiguous, random order inside
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, n])
    n_val = np.rint(sizes * fractions[VAL]).astype(np.int64)
    n_test = np.rint(sizes * fractions[TEST]).astype(np.int64)
    n_val = np.minimum(n_val, sizes - 1)
    n_test = np.minimum(n_test, sizes - 1 - n_val)
    n_train = sizes - n_val - n_test
    rank = np.arange(n) - np.repeat(starts, sizes)
    first_val = np.repeat(n_train, sizes)
    first_test = first_val + np.repeat(n_val, sizes)
    codes = np.where(rank < first_val, TRAIN, np.where(rank < first_test, VAL, TEST)).astype(np.int8)
    split = np.empty(n, np.int8)
    split[order] = codes
    return split


def block_counts(fractions: Sequence[float]) -> np.ndarray:
    """Largest-remainder counts of train/val/test in a block of `SPLIT_BLOCK` samples."""
    exact = np.asarray(fractions) * SPLIT_BLOCK
    counts = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - counts), kind="stable")[: SPLIT_BLOCK - counts.sum()]:
        counts[i] += 1
    if counts[TRAIN] == 0:
        counts[np.argmax(counts)] -= 1
        counts[TRAIN] = 1
    return counts


def block_split(n: int, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split codes for n samples: each block of 100 is a shuffle of exactly `counts`."""
    n_blocks = -(-n // SPLIT_BLOCK)
    pattern = np.repeat(np.arange(3, dtype=np.int8), counts)  # (100,)
    order = rng.random((n_blocks, SPLIT_BLOCK)).argsort(axis=1)
    return pattern[order].ravel()[:n]


def subsample(total: int, n: int | None, seed: int, what: str) -> np.ndarray | None:
    """Sorted positions of a random subset of n of `total` rows, or None to keep all."""
    if n is None or n == total:
        return None
    if n > total:
        raise DataError(f"n={n} but {what} has only {total} samples; lower n or leave it out")
    rng = np.random.default_rng([seed, 0x5B])
    return np.sort(rng.choice(total, size=n, replace=False))

"""The digits builtins: scikit-learn's 8x8 digits, and `digits-shortcut`, digits with a planted cue.

digits-shortcut: the cue lives in the left border strip of the 8x8 image (rows 0-4 of
column 0, which the digits leave blank). Cue value c lights the c-th pair of those 5
pixels, so each of the 10 values has its own 2-pixel pattern. The cue agrees with the
label with probability rho in train and val, and is uniform in test.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from hill_viz.core.data.dataset import TEST, Dataset
from hill_viz.core.data.generate import MAX_GENERATED_N, ChunkRng, Generator, generate
from hill_viz.core.data.options import require_range
from hill_viz.core.data.splits import SPLIT_BLOCK, block_counts, stratified_split, subsample

CUE_PIXELS: tuple[int, ...] = (0, 8, 16, 24, 32)  # flat pixel indices, row * 8 + col
CUE_PATTERNS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(CUE_PIXELS, 2))
_TEST_POOL_FRACTION = 0.25  # share of the base digit images reserved for the test split
_DIGIT_CLASSES = tuple(str(d) for d in range(10))


@functools.cache
def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: images (1797, 8, 8) float32 in [0, 1], labels int64."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_digits(n: int | None, seed: int, opts: dict) -> Dataset:
    images, labels = _digit_images()
    keep = subsample(len(labels), n, seed, "digits")
    ids = np.arange(len(labels), dtype=np.int64) if keep is None else keep
    labels = labels[ids]
    split = stratified_split(labels, opts["splits"], np.random.default_rng([seed, 0xD1]))
    return Dataset(
        name="digits",
        features=images[ids].reshape(len(ids), 64).copy(),
        labels=labels.copy(),
        class_names=_DIGIT_CLASSES,
        split=split,
        ids=ids,
        attributes={},
        attribute_categories={},
        image_shape=(8, 8),
        params={"name": "digits", "n": n, "seed": seed, **opts},
    )


def load_digits_shortcut(n: int, seed: int, opts: dict) -> Dataset:
    what = "dataset 'digits-shortcut'"
    require_range(what, "n", n, SPLIT_BLOCK, MAX_GENERATED_N)
    require_range(what, "rho", opts["rho"], 0.0, 1.0)
    require_range(what, "noise", opts["noise"], 0.0, 1.0)
    require_range(what, "shift", opts["shift"], 0, 2)
    require_range(what, "rotate", opts["rotate"], 0.0, 45.0)
    _, digit_labels = _digit_images()
    pool_split = stratified_split(
        digit_labels, (1 - _TEST_POOL_FRACTION, 0.0, _TEST_POOL_FRACTION), np.random.default_rng([seed, 0xB0])
    )
    pools = (np.flatnonzero(pool_split != TEST), np.flatnonzero(pool_split == TEST))
    gen = Generator(
        name="digits-shortcut",
        n_features=64,
        class_names=_DIGIT_CLASSES,
        attribute_categories={"cue": _DIGIT_CLASSES},
        split_counts=block_counts(opts["splits"]),
        chunk=functools.partial(_shortcut_chunk, opts=opts, pools=pools),
        image_shape=(8, 8),
    )
    return generate(gen, n, seed, {"name": gen.name, "n": n, "seed": seed, **opts})


def _shortcut_chunk(split: np.ndarray, rng: ChunkRng, *, opts: dict, pools: tuple):
    images, digit_labels = _digit_images()
    r = len(split)
    trainval_pool, test_pool = pools
    u = rng(1).random(r)  # picks the base image within the split's pool
    base = np.where(
        split == TEST,
        test_pool[(u * len(test_pool)).astype(np.int64)],
        trainval_pool[(u * len(trainval_pool)).astype(np.int64)],
    )
    labels = digit_labels[base]
    cue = _draw_cue(labels, split, opts["rho"], rng)
    x = _augment(images[base], opts["shift"], opts["rotate"], rng(5), rng(6)).reshape(r, 64)
    x[:, CUE_PIXELS] = 0.0
    if opts["cue"]:
        x[np.arange(r)[:, None], np.asarray(CUE_PATTERNS)[cue]] = 1.0
    x += np.float32(opts["noise"]) * rng(7).standard_normal((r, 64), dtype=np.float32)
    np.clip(x, 0.0, 1.0, out=x)
    return x, labels, {"cue": cue}


def _draw_cue(labels: np.ndarray, split: np.ndarray, rho: float, rng: ChunkRng) -> np.ndarray:
    """Cue = label with probability rho (else a random other class); uniform in test."""
    r = len(labels)
    agree = rng(2).random(r) < rho
    other = (labels + rng(3).integers(1, 10, r)) % 10
    uniform = rng(4).integers(0, 10, r)
    cue = np.where(split == TEST, uniform, np.where(agree, labels, other))
    return cue.astype(np.int8)


def _augment(images: np.ndarray, shift: int, rotate: float, rng_shift, rng_angle) -> np.ndarray:
    """Shift each (8, 8) image by up to `shift` px and rotate it by up to `rotate` degrees (bilinear)."""
    r, h, w = images.shape
    d = rng_shift.integers(-shift, shift + 1, size=(r, 2)).astype(np.float32)  # (r, 2) row, col
    theta = np.deg2rad(rng_angle.uniform(-rotate, rotate, r)).astype(np.float32)[:, None]  # (r, 1)
    rows, cols = np.mgrid[0:h, 0:w].reshape(2, 1, h * w).astype(np.float32) - np.float32((h - 1) / 2)
    py, px = rows - d[:, :1], cols - d[:, 1:]  # (r, 64) output pixel, shift undone
    cos, sin = np.cos(theta), np.sin(theta)
    # source coordinates in the zero-padded image: index 0 is the pad row/column
    sy = np.clip(cos * py - sin * px + (h - 1) / 2 + 1, 0, h + 1)
    sx = np.clip(sin * py + cos * px + (w - 1) / 2 + 1, 0, w + 1)
    y0 = np.minimum(np.floor(sy), h).astype(np.int64)
    x0 = np.minimum(np.floor(sx), w).astype(np.int64)
    wy, wx = sy - y0, sx - x0
    flat = np.pad(images, ((0, 0), (1, 1), (1, 1))).reshape(r, (h + 2) * (w + 2))

    def at(yy, xx):
        return np.take_along_axis(flat, yy * (w + 2) + xx, axis=1)

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32).reshape(r, h, w)

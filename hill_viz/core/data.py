"""Datasets: the `Dataset` record, builtin generators, user-file loaders, validation.

`load_dataset("digits")`, `load_dataset("blobs", n=10**6, dim=16)` and
`load_dataset(path="my.parquet")` all return a `Dataset`; `ds.params` holds the keyword
arguments that rebuild it (`load_dataset(**ds.params)`).

Generated builtins (`digits-shortcut`, `blobs`) are built in chunks of `CHUNK_SIZE`
samples. Chunk k draws from its own random streams, seeded by (seed, k, stream), and every
draw is element-wise sequential, so sample i depends only on (seed, i, options): the first
m samples of a larger n are the m samples of n=m. Above `MEMMAP_THRESHOLD_BYTES` of
features the arrays are written to a cache folder (`$HILL_VIZ_CACHE`, else
`~/.cache/hill-viz`) and the features come back as a read-only `np.memmap`.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import shutil
import tomllib
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hill_viz.errors import DataError

__all__ = [
    "CUE_PATTERNS",
    "CUE_PIXELS",
    "SPLITS",
    "Dataset",
    "DatasetCard",
    "list_datasets",
    "load_dataset",
]

SPLITS = ("train", "val", "test")  # split codes 0, 1, 2 (np.int8)
TRAIN, VAL, TEST = 0, 1, 2
DEFAULT_SPLIT_FRACTIONS = (0.7, 0.15, 0.15)

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
GENERATOR_VERSION = 1  # bump when generated values change; part of the cache key
CHUNK_SIZE = 25_600  # samples per generated chunk; a multiple of _SPLIT_BLOCK
MEMMAP_THRESHOLD_BYTES = 256 * 2**20  # generated features above this go to a memmap
_SPLIT_BLOCK = 100  # generated splits are exact within each block of 100 samples
_MAX_GENERATED_N = 10**9

# digits-shortcut: the cue lives in the left border strip of the 8x8 image (rows 0-4 of
# column 0, which the digits leave blank). Cue value c lights the c-th pair of those 5
# pixels, so each of the 10 values has its own 2-pixel pattern.
CUE_PIXELS: tuple[int, ...] = (0, 8, 16, 24, 32)  # flat pixel indices, row * 8 + col
CUE_PATTERNS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(CUE_PIXELS, 2))
_TEST_POOL_FRACTION = 0.25  # share of the base digit images reserved for the test split


# ---------------------------------------------------------------------------- records


@dataclass(eq=False)
class Dataset:
    """Samples with labels, a train/val/test split, stable ids and categorical attributes."""

    name: str
    features: np.ndarray  # (N, F) float32; may be an np.memmap
    labels: np.ndarray  # (N,) int64 in [0, n_classes)
    class_names: tuple[str, ...]
    split: np.ndarray  # (N,) int8 codes into SPLITS
    ids: np.ndarray  # (N,) int64, unique
    attributes: dict[str, np.ndarray]  # name -> (N,) int8/int16 codes
    attribute_categories: dict[str, tuple[str, ...]]  # name -> category names
    image_shape: tuple[int, int] | None = None
    params: dict = field(default_factory=dict)  # load_dataset(**params) rebuilds it

    def __post_init__(self) -> None:
        if not (isinstance(self.features, np.ndarray) and self.features.dtype == np.float32):
            self.features = np.asarray(self.features, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.split = np.asarray(self.split, dtype=np.int8)
        self.ids = np.asarray(self.ids, dtype=np.int64)
        self.class_names = tuple(str(c) for c in self.class_names)
        n = self.features.shape[0] if self.features.ndim == 2 else -1
        if n < 0:
            raise DataError(f"dataset {self.name!r}: features must be 2-D (N, F), got shape {self.features.shape}")
        for what, arr in (("labels", self.labels), ("split", self.split), ("ids", self.ids)):
            if arr.shape != (n,):
                raise DataError(f"dataset {self.name!r}: {what} has shape {arr.shape}, expected ({n},)")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise DataError(f"dataset {self.name!r}: labels must lie in [0, {len(self.class_names)})")
        if n and (self.split.min() < 0 or self.split.max() > TEST):
            raise DataError(f"dataset {self.name!r}: split codes must be 0 (train), 1 (val) or 2 (test)")
        for key, codes in self.attributes.items():
            if codes.shape != (n,) or key not in self.attribute_categories:
                raise DataError(f"dataset {self.name!r}: attribute {key!r} needs shape ({n},) and categories")

    @property
    def n_samples(self) -> int:
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def indices(self, split: str) -> np.ndarray:
        """Row positions (int64) of the samples in `split` ("train", "val" or "test")."""
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return np.flatnonzero(self.split == SPLITS.index(split)).astype(np.int64)

    def describe(self) -> dict:
        """A JSON-serializable summary (sizes, classes, split counts, attributes, params)."""
        split_counts = np.bincount(self.split, minlength=len(SPLITS))
        return {
            "name": self.name,
            "n_samples": self.n_samples,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "class_names": list(self.class_names),
            "class_counts": np.bincount(self.labels, minlength=self.n_classes).tolist(),
            "splits": {name: int(count) for name, count in zip(SPLITS, split_counts)},
            "attributes": {k: list(v) for k, v in self.attribute_categories.items()},
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "params": _jsonable(self.params),
        }


@dataclass(frozen=True)
class DatasetCard:
    """What `datasets/<name>.toml` says about a builtin dataset."""

    name: str
    title: str
    description: str
    kind: str
    defaults: dict
    attributes: tuple[str, ...]
    citation: str


# ---------------------------------------------------------------------------- entry points


def list_datasets() -> list[DatasetCard]:
    """The dataset cards in `DATASETS_DIR`, sorted by name."""
    return sorted((_read_card(p) for p in DATASETS_DIR.glob("*.toml")), key=lambda c: c.name)


def load_dataset(
    name: str | None = None,
    *,
    path: str | os.PathLike | None = None,
    n: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Dataset:
    """Load a builtin dataset by `name`, or a Parquet/CSV/NPZ file by `path`.

    Parameters
    ----------
    n : number of samples. Generated builtins make exactly n; `digits` and files keep a
        random subset of n rows (by `seed`), with their original ids.
    seed : drives every random choice (generation, split, subset).
    **options : builtin options (see the dataset's card), or for files `features=[...]`,
        `attributes=[...]` (Parquet/CSV) and `splits=(train, val, test)` fractions.
    """
    if (name is None) == (path is None):
        raise DataError("give exactly one of name=... (a builtin dataset) or path=... (a Parquet, CSV or NPZ file)")
    seed, n = _check_seed(seed), _check_n(n)
    if path is not None:
        return _load_file(Path(path), n, seed, options)
    if name not in _BUILTINS:
        hint = "; to load a file use path=..." if Path(str(name)).suffix else ""
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(_BUILTINS))}{hint}")
    builtin = _BUILTINS[name]
    opts = _resolve_options(f"dataset {name!r}", options, builtin.defaults, ("n", "seed"))
    return builtin.load(builtin.default_n if n is None else n, seed, opts)


def _read_card(path: Path) -> DatasetCard:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise DataError(f"dataset card {path.name} is not valid TOML: {err}") from err
    missing = [k for k in ("name", "title", "description", "kind") if k not in raw]
    if missing:
        raise DataError(f"dataset card {path.name} lacks {', '.join(missing)}; add them to the file")
    return DatasetCard(
        name=str(raw["name"]),
        title=str(raw["title"]),
        description=str(raw["description"]).strip(),
        kind=str(raw["kind"]),
        defaults=dict(raw.get("defaults", {})),
        attributes=tuple(raw.get("attributes", ())),
        citation=str(raw.get("citation", "")).strip(),
    )


# ---------------------------------------------------------------------------- options


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_n(n: Any) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"n must be a positive integer (number of samples), got {n!r}")
    return int(n)


def _resolve_options(what: str, given: dict, defaults: dict, also: Sequence[str] = ()) -> dict:
    """Defaults overridden by `given`, each value checked against its default's type."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        accepted = ", ".join([*also, *defaults]) or "none"
        raise DataError(f"unknown option {unknown[0]!r} for {what}; accepted options: {accepted}")
    resolved = {key: list(v) if isinstance(v, list) else v for key, v in defaults.items()}  # no shared lists
    for key, value in given.items():
        resolved[key] = _coerce_option(what, key, value, defaults[key])
    return resolved


def _coerce_option(what: str, key: str, value: Any, default: Any) -> Any:
    def bad(kind: str) -> DataError:
        return DataError(f"option {key!r} of {what} must be {kind}, got {value!r}")

    if key == "splits":
        return _check_split_fractions(value)
    if key in ("features", "attributes"):
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad("a list of column names")
        return list(value)
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise bad("true or false")
        return bool(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise bad("an integer")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise bad("a number")
        if not np.isfinite(value):
            raise bad("a finite number")
        return float(value)
    return value


def _check_split_fractions(value: Any) -> list[float]:
    msg = f"splits must be three fractions (train, val, test) that sum to 1, e.g. [0.7, 0.15, 0.15]; got {value!r}"
    try:
        fractions = [float(v) for v in value]
    except (TypeError, ValueError):
        raise DataError(msg) from None
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(msg)
    if fractions[TRAIN] == 0:
        raise DataError(f"splits: the train fraction must be above 0; got {value!r}")
    return fractions


def _require_range(what: str, key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise DataError(f"option {key!r} of {what} must lie in [{low}, {high}], got {value!r}")


# ---------------------------------------------------------------------------- splits


def _stratified_split(labels: np.ndarray, fractions: Sequence[float], rng: np.random.Generator) -> np.ndarray:
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


def _block_counts(fractions: Sequence[float]) -> np.ndarray:
    """Largest-remainder counts of train/val/test in a block of `_SPLIT_BLOCK` samples."""
    exact = np.asarray(fractions) * _SPLIT_BLOCK
    counts = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - counts), kind="stable")[: _SPLIT_BLOCK - counts.sum()]:
        counts[i] += 1
    if counts[TRAIN] == 0:
        counts[np.argmax(counts)] -= 1
        counts[TRAIN] = 1
    return counts


def _block_split(n: int, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split codes for n samples: each block of 100 is a shuffle of exactly `counts`."""
    n_blocks = -(-n // _SPLIT_BLOCK)
    pattern = np.repeat(np.arange(3, dtype=np.int8), counts)  # (100,)
    order = rng.random((n_blocks, _SPLIT_BLOCK)).argsort(axis=1)
    return pattern[order].ravel()[:n]


def _subsample(total: int, n: int | None, seed: int, what: str) -> np.ndarray | None:
    """Sorted positions of a random subset of n of `total` rows, or None to keep all."""
    if n is None or n == total:
        return None
    if n > total:
        raise DataError(f"n={n} but {what} has only {total} samples; lower n or leave it out")
    rng = np.random.default_rng([seed, 0x5B])
    return np.sort(rng.choice(total, size=n, replace=False))


# ---------------------------------------------------------------------------- builtins


@dataclass(frozen=True)
class _Builtin:
    load: Callable[[int | None, int, dict], Dataset]
    defaults: dict  # options besides n and seed
    default_n: int | None


@dataclass(frozen=True)
class _Generator:
    """A chunked generator: `chunk(split, rng)` -> features (r, F), labels (r,), attributes."""

    name: str
    n_features: int
    class_names: tuple[str, ...]
    attribute_categories: dict[str, tuple[str, ...]]
    split_counts: np.ndarray
    chunk: Callable[[np.ndarray, Callable[[int], np.random.Generator]], tuple]
    image_shape: tuple[int, int] | None = None


@functools.cache
def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: images (1797, 8, 8) float32 in [0, 1], labels int64."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


_DIGIT_CLASSES = tuple(str(d) for d in range(10))


def _load_digits(n: int | None, seed: int, opts: dict) -> Dataset:
    images, labels = _digit_images()
    keep = _subsample(len(labels), n, seed, "digits")
    ids = np.arange(len(labels), dtype=np.int64) if keep is None else keep
    labels = labels[ids]
    split = _stratified_split(labels, opts["splits"], np.random.default_rng([seed, 0xD1]))
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


def _load_digits_shortcut(n: int, seed: int, opts: dict) -> Dataset:
    what = "dataset 'digits-shortcut'"
    _require_range(what, "n", n, _SPLIT_BLOCK, _MAX_GENERATED_N)
    _require_range(what, "rho", opts["rho"], 0.0, 1.0)
    _require_range(what, "noise", opts["noise"], 0.0, 1.0)
    _require_range(what, "shift", opts["shift"], 0, 2)
    _require_range(what, "rotate", opts["rotate"], 0.0, 45.0)
    _, digit_labels = _digit_images()
    pool_split = _stratified_split(
        digit_labels, (1 - _TEST_POOL_FRACTION, 0.0, _TEST_POOL_FRACTION), np.random.default_rng([seed, 0xB0])
    )
    pools = (np.flatnonzero(pool_split != TEST), np.flatnonzero(pool_split == TEST))
    gen = _Generator(
        name="digits-shortcut",
        n_features=64,
        class_names=_DIGIT_CLASSES,
        attribute_categories={"cue": _DIGIT_CLASSES},
        split_counts=_block_counts(opts["splits"]),
        chunk=functools.partial(_shortcut_chunk, opts=opts, pools=pools),
        image_shape=(8, 8),
    )
    return _generate(gen, n, seed, {"name": gen.name, "n": n, "seed": seed, **opts})


def _shortcut_chunk(split: np.ndarray, rng: Callable[[int], np.random.Generator], *, opts: dict, pools: tuple):
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


def _draw_cue(labels: np.ndarray, split: np.ndarray, rho: float, rng: Callable) -> np.ndarray:
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


_GROUP_NAMES = ("g0", "g1", "g2", "g3")


def _load_blobs(n: int, seed: int, opts: dict) -> Dataset:
    what = "dataset 'blobs'"
    _require_range(what, "n", n, _SPLIT_BLOCK, _MAX_GENERATED_N)
    _require_range(what, "dim", opts["dim"], 1, 1024)
    _require_range(what, "centers", opts["centers"], 2, 1000)
    _require_range(what, "groups", opts["groups"], 2, 4)
    _require_range(what, "group_corr", opts["group_corr"], 0.0, 1.0)
    _require_range(what, "std", opts["std"], 1e-6, 1e6)
    _require_range(what, "spread", opts["spread"], 0.0, 1e6)
    _require_range(what, "group_shift", opts["group_shift"], 0.0, 1e6)
    rng = np.random.default_rng([seed, 0xB1])
    centers = (opts["spread"] * rng.standard_normal((opts["centers"], opts["dim"]))).astype(np.float32)
    offsets = rng.standard_normal((opts["groups"], opts["dim"]))
    offsets *= opts["group_shift"] / np.linalg.norm(offsets, axis=1, keepdims=True)
    gen = _Generator(
        name="blobs",
        n_features=opts["dim"],
        class_names=tuple(f"c{k}" for k in range(opts["centers"])),
        attribute_categories={"group": _GROUP_NAMES[: opts["groups"]]},
        split_counts=_block_counts(opts["splits"]),
        chunk=functools.partial(_blobs_chunk, opts=opts, centers=centers, offsets=offsets.astype(np.float32)),
    )
    return _generate(gen, n, seed, {"name": gen.name, "n": n, "seed": seed, **opts})


def _blobs_chunk(split: np.ndarray, rng: Callable, *, opts: dict, centers: np.ndarray, offsets: np.ndarray):
    r, k, groups = len(split), len(centers), len(offsets)
    labels = rng(1).integers(0, k, r)
    # the group follows the cluster (label mod groups) with probability group_corr
    group = np.where(rng(2).random(r) < opts["group_corr"], labels % groups, rng(3).integers(0, groups, r))
    noise = rng(4).standard_normal((r, centers.shape[1]), dtype=np.float32)
    x = centers[labels] + np.float32(opts["std"]) * noise + offsets[group]
    return x, labels, {"group": group.astype(np.int8)}


_BUILTINS: dict[str, _Builtin] = {
    "digits": _Builtin(_load_digits, {"splits": list(DEFAULT_SPLIT_FRACTIONS)}, None),
    "digits-shortcut": _Builtin(
        _load_digits_shortcut,
        {"rho": 0.9, "cue": True, "noise": 0.1, "shift": 1, "rotate": 10.0, "splits": list(DEFAULT_SPLIT_FRACTIONS)},
        10_000,
    ),
    "blobs": _Builtin(
        _load_blobs,
        {
            "dim": 16,
            "centers": 8,
            "std": 1.0,
            "spread": 1.0,
            "groups": 3,
            "group_corr": 0.6,
            "group_shift": 0.5,
            "splits": list(DEFAULT_SPLIT_FRACTIONS),
        },
        100_000,
    ),
}


# ---------------------------------------------------------------------------- chunked generation + cache


def _chunk_rng(seed: int, chunk: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, stream, 0x4811])


def _fill(gen: _Generator, n: int, seed: int, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Generate n samples chunk by chunk into `features`; return labels, split, attributes."""
    labels = np.empty(n, np.int64)
    split = np.empty(n, np.int8)
    attributes = {key: np.empty(n, np.int8) for key in gen.attribute_categories}
    for index, start in enumerate(range(0, n, CHUNK_SIZE)):
        stop = min(start + CHUNK_SIZE, n)
        rng = functools.partial(_chunk_rng, seed, index)
        part = _block_split(stop - start, gen.split_counts, rng(0))
        x, y, attrs = gen.chunk(part, rng)
        features[start:stop] = x
        labels[start:stop], split[start:stop] = y, part
        for key, codes in attrs.items():
            attributes[key][start:stop] = codes
    return labels, split, attributes


def _generate(gen: _Generator, n: int, seed: int, params: dict) -> Dataset:
    assert CHUNK_SIZE % _SPLIT_BLOCK == 0, "chunks must hold whole split blocks"
    if n * gen.n_features * 4 > MEMMAP_THRESHOLD_BYTES:
        features, labels, split, attributes = _cached(gen, n, seed, params)
    else:
        features = np.empty((n, gen.n_features), np.float32)
        labels, split, attributes = _fill(gen, n, seed, features)
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


def cache_dir() -> Path:
    """Where large generated datasets are kept: `$HILL_VIZ_CACHE`, else `~/.cache/hill-viz`."""
    root = os.environ.get("HILL_VIZ_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "hill-viz"


def _cache_key(params: dict) -> str:
    key = {"params": _jsonable(params), "version": GENERATOR_VERSION, "chunk": CHUNK_SIZE}
    blob = json.dumps(key, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cached(gen: _Generator, n: int, seed: int, params: dict):
    """Features as a read-only memmap from the cache folder, building the entry if needed."""
    folder = cache_dir() / "datasets" / f"{gen.name}-{_cache_key(params)}"
    if not (folder / "meta.json").exists():
        _build_cache_entry(folder, gen, n, seed, params)
    features = np.load(folder / "features.npy", mmap_mode="r")
    if features.shape != (n, gen.n_features):
        raise DataError(f"cache entry {folder} is inconsistent; delete that folder and load again")
    attributes = {key: np.load(folder / f"attr_{key}.npy") for key in gen.attribute_categories}
    return features, np.load(folder / "labels.npy"), np.load(folder / "split.npy"), attributes


def _build_cache_entry(folder: Path, gen: _Generator, n: int, seed: int, params: dict) -> None:
    # built under a temporary name and renamed at the end, so a folder that exists is complete
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    needed = n * (gen.n_features * 4 + 9 + len(gen.attribute_categories))
    try:
        tmp.mkdir(parents=True)
        free = shutil.disk_usage(tmp).free
        if free < needed:
            raise DataError(
                f"generating {gen.name} with n={n} needs {needed / 2**30:.1f} GiB in {folder.parent}, "
                f"but only {free / 2**30:.1f} GiB is free; lower n or set HILL_VIZ_CACHE to a larger disk"
            )
        shape = (n, gen.n_features)
        features = np.lib.format.open_memmap(tmp / "features.npy", mode="w+", dtype=np.float32, shape=shape)
        labels, split, attributes = _fill(gen, n, seed, features)
        features.flush()
        del features
        np.save(tmp / "labels.npy", labels)
        np.save(tmp / "split.npy", split)
        for key, codes in attributes.items():
            np.save(tmp / f"attr_{key}.npy", codes)
        (tmp / "meta.json").write_text(json.dumps({"params": _jsonable(params), "version": GENERATOR_VERSION}))
        os.rename(tmp, folder)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if (folder / "meta.json").exists():  # another process finished the same entry first
            return
        raise DataError(
            f"could not write the dataset cache in {folder.parent}: {err}; set HILL_VIZ_CACHE to a writable folder"
        ) from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------------- user files

_FILE_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv", ".npz": "npz"}
_RESERVED_COLUMNS = ("label", "split", "id")
_NPZ_KEYS = ("X", "y", "split", "ids")


@dataclass
class _Raw:
    """A file's content before validation: arrays as read, plus names for messages."""

    features: np.ndarray  # (N, F) float32
    feature_name: Callable[[int], str]  # column j -> how to name it in a message
    labels: Any
    split: Any | None
    ids: Any | None
    attributes: dict[str, Any]
    image_shape: tuple[int, int] | None = None
    where: str = "column"  # "column" (tables) or "array" (npz)


def _file_kind(path: Path) -> tuple[str, str]:
    """('parquet' | 'csv' | 'npz', the file's name without that extension)."""
    lower = path.name.lower()
    for suffix, kind in sorted(_FILE_KINDS.items(), key=lambda kv: -len(kv[0])):
        if lower.endswith(suffix):
            return kind, path.name[: -len(suffix)]
    raise DataError(f"cannot read {path.name}: unknown file type; use one of {', '.join(_FILE_KINDS)}")


def _load_file(path: Path, n: int | None, seed: int, options: dict) -> Dataset:
    if not path.is_file():
        raise DataError(f"{path} is a folder; give the path of a file" if path.is_dir() else f"file not found: {path}")
    kind, stem = _file_kind(path)
    defaults: dict = {"splits": list(DEFAULT_SPLIT_FRACTIONS)}
    if kind != "npz":
        defaults = {"features": None, "attributes": None, **defaults}
    opts = _resolve_options(f"{kind} file {path.name}", options, defaults, ("n", "seed"))
    if kind == "npz":
        raw = _read_npz(path)
    else:
        raw = _read_table(path, kind, opts["features"], opts["attributes"])
    dataset = _assemble(raw, name=stem, n=n, seed=seed, fractions=opts["splits"])
    dataset.params = {"path": str(path.resolve()), "n": n, "seed": seed, **opts}
    return dataset


def _read_table(path: Path, kind: str, features: list | None, attributes: list | None) -> _Raw:
    frame, vectors, n_rows = _read_columns(path, kind)
    if n_rows == 0:
        raise DataError(f"{path.name} has no rows; it needs at least one sample per class")
    columns = [*frame.columns, *vectors]
    if "label" not in columns:
        found = ", ".join(map(str, columns))
        raise DataError(f"{path.name} has no 'label' column (columns: {found}); rename your label column to 'label'")
    feature_cols, attribute_cols = _column_roles(frame, vectors, features, attributes)
    if len(feature_cols) == 1 and feature_cols[0] in vectors:
        vector = feature_cols[0]
        x = _vector_column(vectors[vector], vector)

        def feature_name(j: int) -> str:
            return f"{vector!r} element {j}"

    else:
        x = np.empty((n_rows, len(feature_cols)), np.float32)
        for j, col in enumerate(feature_cols):
            x[:, j] = frame[col].to_numpy(dtype=np.float32, na_value=np.nan)

        def feature_name(j: int) -> str:
            return repr(feature_cols[j])
    return _Raw(
        features=x,
        feature_name=feature_name,
        labels=frame["label"],
        split=frame["split"] if "split" in frame.columns else None,
        ids=frame["id"] if "id" in frame.columns else None,
        attributes={col: frame[col] for col in attribute_cols},
    )


def _read_columns(path: Path, kind: str) -> tuple[pd.DataFrame, dict, int]:
    """Scalar columns as a DataFrame, list-typed Parquet columns as arrow arrays, row count."""
    if kind == "csv":
        try:
            frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name} is empty; it needs a header row and at least one sample") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
            raise DataError(f"could not read {path.name} as CSV: {err}") from err
        unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ")]
        if unnamed:
            raise DataError(
                f"{path.name}: a column has no header (pandas calls it {unnamed[0]!r}; often an index "
                "written by to_csv); name it, or save with to_csv(..., index=False)"
            )
        return frame, {}, len(frame)
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"could not read {path.name} as Parquet: {err}") from err
    list_types = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    vector_names = [f.name for f in table.schema if any(t(f.type) for t in list_types)]
    frame = table.drop_columns(vector_names).to_pandas().reset_index(drop=True)
    return frame, {name: table.column(name) for name in vector_names}, table.num_rows


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _column_roles(frame: pd.DataFrame, vectors: dict, features: list | None, attributes: list | None):
    """Which columns are features and which are attributes (explicit lists win)."""
    known = set(frame.columns) | set(vectors)
    for option, names in (("features", features), ("attributes", attributes)):
        for col in names or ():
            if col not in known:
                found = ", ".join(map(str, sorted(known, key=str)))
                raise DataError(f"{option} names column {col!r}, which the file does not have (columns: {found})")
            if col in _RESERVED_COLUMNS:
                reserved = ", ".join(_RESERVED_COLUMNS)
                raise DataError(f"column {col!r} is reserved ({reserved}); remove it from {option}=[...]")
    both = set(features or ()) & set(attributes or ())
    if both:
        raise DataError(f"column {sorted(both)[0]!r} is listed under both features and attributes; pick one")
    free = [c for c in frame.columns if c not in _RESERVED_COLUMNS]
    if attributes is None:
        attributes = [c for c in free if not _is_numeric(frame[c]) and c not in (features or ())]
        for col in attributes:
            _reject_numeric_typo(frame[col], col)
    if features is None:
        numeric = [c for c in free if c not in attributes]
        if vectors and (numeric or len(vectors) > 1):
            cols = ", ".join(map(repr, [*vectors, *numeric]))
            raise DataError(f"cannot tell the feature columns apart ({cols}); say which with features=[...]")
        features = list(vectors) or numeric
    if not features:
        raise DataError(
            "no feature columns: every column is label, split, id or an attribute; "
            "add numeric feature columns or list them with features=[...]"
        )
    if any(c in vectors for c in features) and len(features) > 1:
        listed = ", ".join(map(repr, features))
        raise DataError(f"features: a list/vector column cannot be combined with other columns ({listed})")
    for col in features:
        if col in frame.columns and not _is_numeric(frame[col]):
            raise DataError(
                f"feature column {col!r} is not numeric (dtype {frame[col].dtype}); "
                "list it under attributes=[...] if it is a category, or drop it"
            )
    return list(features), list(attributes)


def _reject_numeric_typo(column: pd.Series, name: str) -> None:
    """A text column whose values are nearly all numbers is a feature column with a typo."""
    as_number = pd.to_numeric(column, errors="coerce")
    bad = as_number.isna() & column.notna()
    if bad.any() and as_number.notna().mean() >= 0.9:
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"feature column {name!r} is not numeric: row {row} holds {_show(column.iloc[row])}; "
            "fix that value, or list the column under attributes=[...] if it is a category"
        )


def _vector_column(column, name: str) -> np.ndarray:
    """An arrow list column of equal-length numeric vectors as an (N, F) float32 array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    value_type = column.type.value_type
    if not (pa.types.is_integer(value_type) or pa.types.is_floating(value_type)):
        raise DataError(f"feature column {name!r} holds lists of {value_type}, not numbers; store numeric vectors")
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"feature column {name!r} has no vector at row {row}; fill or drop such rows")
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if (lengths != lengths[0]).any():
        row = int(np.flatnonzero(lengths != lengths[0])[0])
        raise DataError(
            f"feature column {name!r}: row {row} has {lengths[row]} values but row 0 has {lengths[0]}; "
            "vectors must have equal length"
        )
    if lengths[0] == 0:
        raise DataError(f"feature column {name!r} holds empty vectors; no features")
    values = column.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32).reshape(len(column), int(lengths[0]))


def _read_npz(path: Path) -> _Raw:
    if not zipfile.is_zipfile(path):
        raise DataError(f"could not read {path.name} as NPZ: not a zip archive; write it with np.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise DataError(
                f"{path.name} holds Python object arrays, which are not loaded (unsafe); "
                "save strings as fixed-width arrays, e.g. np.array(values, dtype=str)"
            ) from None
        raise DataError(f"could not read {path.name} as NPZ: {err}") from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"could not read {path.name} as NPZ: {err}") from err
    unexpected = [k for k in arrays if k not in _NPZ_KEYS and not (k.startswith("attr_") and len(k) > 5)]
    if unexpected:
        raise DataError(
            f"{path.name} holds an unexpected array {unexpected[0]!r}; "
            "expected X, y, and optionally split, ids, attr_<name>"
        )
    for key in ("X", "y"):
        if key not in arrays:
            raise DataError(
                f"{path.name} has no array {key!r}; save features as X (N, F) or (N, H, W) and labels as y (N,)"
            )
    x = arrays["X"]
    if x.dtype.kind not in "biuf" or x.ndim not in (2, 3):
        raise DataError(
            f"array 'X' in {path.name} must be numeric with shape (N, F) or (N, H, W); got {x.dtype} {x.shape}"
        )
    if len(x) == 0:
        raise DataError(f"{path.name} has no rows (X is empty)")
    for key, arr in arrays.items():
        if key != "X" and (arr.ndim != 1 or len(arr) != len(x)):
            raise DataError(
                f"array {key!r} in {path.name} has shape {arr.shape} but X has {len(x)} rows; it must be ({len(x)},)"
            )
    image_shape = tuple(int(s) for s in x.shape[1:]) if x.ndim == 3 else None
    return _Raw(
        features=x.reshape(len(x), -1).astype(np.float32),
        feature_name=lambda j: f"'X' column {j}",
        labels=arrays["y"],
        split=arrays.get("split"),
        ids=arrays.get("ids"),
        attributes={key[5:]: arr for key, arr in arrays.items() if key.startswith("attr_")},
        image_shape=image_shape,
        where="array",
    )


# ---------------------------------------------------------------------------- validation

_MESSAGE_NAMES = {
    "column": ("column 'label'", "column 'split'", "column 'id'"),
    "array": ("array 'y'", "array 'split'", "array 'ids'"),
}


def _assemble(raw: _Raw, *, name: str, n: int | None, seed: int, fractions: Sequence[float]) -> Dataset:
    """Validate a file's arrays and build the Dataset (rows are 0-based in messages)."""
    label_name, split_name, id_name = _MESSAGE_NAMES[raw.where]
    labels, class_names = _label_codes(raw.labels, label_name)
    ids = np.arange(len(labels), dtype=np.int64) if raw.ids is None else _id_values(raw.ids, id_name)
    if raw.split is None:
        split = _stratified_split(labels, fractions, np.random.default_rng([seed, 0x5F]))
    else:
        split = _split_codes(raw.split, split_name)
    _check_finite(raw.features, raw.feature_name)
    attributes, categories = {}, {}
    for key, values in raw.attributes.items():
        attributes[key], categories[key] = _attribute_codes(values, key)
    keep = _subsample(len(labels), n, seed, f"file {name!r}")
    if keep is not None:
        labels, split, ids = labels[keep], split[keep], ids[keep]
        attributes = {key: codes[keep] for key, codes in attributes.items()}
    features = raw.features if keep is None else raw.features[keep]
    if not (split == TRAIN).any():
        raise DataError("no training samples: the split has no 'train' rows; mark at least one row as train")
    return Dataset(
        name=name,
        features=features,
        labels=labels,
        class_names=class_names,
        split=split,
        ids=ids,
        attributes=attributes,
        attribute_categories=categories,
        image_shape=raw.image_shape,
    )


def _show(value: Any) -> str:
    """A value as a message shows it: 5, 'oops', nan (no numpy type names)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _label_codes(values: Any, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as codes into sorted class names; ints and strings accepted."""
    values = pd.Series(values)
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{where} is missing at row {_first(missing)} (NaN); fill or drop rows without a label")
    if _is_numeric(values):
        arr = values.to_numpy()
        if arr.dtype.kind == "f":
            fractional = arr != np.round(arr)
            if fractional.any():
                row = _first(fractional)
                raise DataError(f"{where} must hold integers or strings; row {row} holds {_show(arr[row])}")
            arr = arr.astype(np.int64)
        uniques, codes = np.unique(arr, return_inverse=True)
    else:
        uniques, codes = np.unique(values.astype(str).to_numpy(), return_inverse=True)
    class_names = tuple(str(u) for u in uniques)
    if len(class_names) < 2:
        raise DataError(f"{where} holds a single class ({class_names[0]!r}); a classifier needs at least two classes")
    return codes.astype(np.int64), class_names


def _split_codes(values: Any, where: str) -> np.ndarray:
    """train/val/test strings (or codes 0/1/2) as int8 codes."""
    values = pd.Series(values)
    if _is_numeric(values):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isin(arr, (TRAIN, VAL, TEST))
        codes = np.where(bad, 0, arr)
    else:
        mapped = values.map({name: code for code, name in enumerate(SPLITS)})
        bad = mapped.isna().to_numpy()
        codes = mapped.fillna(0).to_numpy()
    if bad.any():
        row = _first(bad)
        raise DataError(f"{where} holds {_show(values.iloc[row])} at row {row}; use train, val or test")
    return codes.astype(np.int8)


def _id_values(values: Any, where: str) -> np.ndarray:
    values = pd.Series(values)
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan) if _is_numeric(values) else None
    if arr is None or not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise DataError(f"{where} must hold integers (no text, fractions or NaN); drop it to number rows 0..N-1")
    ids = values.to_numpy().astype(np.int64)
    order = np.argsort(ids, kind="stable")
    dup = ids[order][1:] == ids[order][:-1]
    if dup.any():
        i = _first(dup)
        rows = sorted((int(order[i]), int(order[i + 1])))
        duplicate = _show(ids[order[i]])
        raise DataError(f"{where} holds duplicate id {duplicate} (rows {rows[0]} and {rows[1]}); ids must be unique")
    return ids


def _check_finite(features: np.ndarray, feature_name: Callable[[int], str], rows_per_pass: int = 2**16) -> None:
    for start in range(0, len(features), rows_per_pass):
        block = features[start : start + rows_per_pass]
        bad = ~np.isfinite(block)
        if bad.any():
            row = _first(bad.any(axis=1))
            col = _first(bad[row])
            raise DataError(
                f"feature {feature_name(col)} holds {_show(block[row, col])} at row {start + row}; "
                "features must be finite numbers: fill or drop such rows"
            )


def _attribute_codes(values: Any, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """An attribute as small-int codes; missing values become the category '(missing)'."""
    values = pd.Series(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy().astype(np.int64), list(values.cat.categories)
    else:
        if values.dtype == object:
            values = values.where(values.isna(), values.astype(str))
        codes, uniques = pd.factorize(values, sort=True)
    categories = [str(u) for u in uniques]
    if (codes < 0).any():
        categories.append("(missing)")
        codes = np.where(codes < 0, len(categories) - 1, codes)
    if len(categories) > np.iinfo(np.int16).max:
        raise DataError(
            f"attribute {name!r} has {len(categories)} distinct values, too many for a category; "
            "drop it or list it under features=[...]"
        )
    dtype = np.int8 if len(categories) <= np.iinfo(np.int8).max else np.int16
    return codes.astype(dtype), tuple(categories)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value

"""The `Dataset` record every loader returns, and the card that describes a builtin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hill_viz.errors import DataError

SPLITS = ("train", "val", "test")  # split codes 0, 1, 2 (np.int8)
TRAIN, VAL, TEST = 0, 1, 2
DEFAULT_SPLIT_FRACTIONS = (0.7, 0.15, 0.15)


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
            "params": jsonable(self.params),
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


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars as Python ones and tuples as lists (dict keys as str)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value

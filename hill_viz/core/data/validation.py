"""A user file's arrays checked and turned into a `Dataset`; messages name the row and the fix.

Readers (`tables`, `npz`) return a `Raw`: the arrays as read. `assemble` checks labels,
split, ids, features and attributes, subsamples, and builds the Dataset. Rows are 0-based
in messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hill_viz.core.data.dataset import SPLITS, TEST, TRAIN, VAL, Dataset
from hill_viz.core.data.splits import stratified_split, subsample
from hill_viz.errors import DataError

_MESSAGE_NAMES = {
    "column": ("column 'label'", "column 'split'", "column 'id'"),
    "array": ("array 'y'", "array 'split'", "array 'ids'"),
}


@dataclass
class Raw:
    """A file's content before validation: arrays as read, plus names for messages."""

    features: np.ndarray  # (N, F) float32
    feature_name: Callable[[int], str]  # column j -> how to name it in a message
    labels: Any
    split: Any | None
    ids: Any | None
    attributes: dict[str, Any]
    image_shape: tuple[int, int] | None = None
    where: str = "column"  # "column" (tables) or "array" (npz)


def assemble(raw: Raw, *, name: str, n: int | None, seed: int, fractions: Sequence[float]) -> Dataset:
    """Validate a file's arrays and build the Dataset (a random n rows of it when n is given)."""
    label_name, split_name, id_name = _MESSAGE_NAMES[raw.where]
    labels, class_names = _label_codes(raw.labels, label_name)
    ids = np.arange(len(labels), dtype=np.int64) if raw.ids is None else _id_values(raw.ids, id_name)
    if raw.split is None:
        split = stratified_split(labels, fractions, np.random.default_rng([seed, 0x5F]))
    else:
        split = _split_codes(raw.split, split_name)
    _check_finite(raw.features, raw.feature_name)
    attributes, categories = {}, {}
    for key, values in raw.attributes.items():
        attributes[key], categories[key] = _attribute_codes(values, key)
    keep = subsample(len(labels), n, seed, f"file {name!r}")
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


def show(value: Any) -> str:
    """A value as a message shows it: 5, 'oops', nan (no numpy type names)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _label_codes(values: Any, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as codes into sorted class names; ints and strings accepted."""
    values = pd.Series(values)
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{where} is missing at row {_first(missing)} (NaN); fill or drop rows without a label")
    if is_numeric(values):
        arr = values.to_numpy()
        if arr.dtype.kind == "f":
            fractional = arr != np.round(arr)
            if fractional.any():
                row = _first(fractional)
                raise DataError(f"{where} must hold integers or strings; row {row} holds {show(arr[row])}")
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
    if is_numeric(values):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isin(arr, (TRAIN, VAL, TEST))
        codes = np.where(bad, 0, arr)
    else:
        mapped = values.map({name: code for code, name in enumerate(SPLITS)})
        bad = mapped.isna().to_numpy()
        codes = mapped.fillna(0).to_numpy()
    if bad.any():
        row = _first(bad)
        raise DataError(f"{where} holds {show(values.iloc[row])} at row {row}; use train, val or test")
    return codes.astype(np.int8)


def _id_values(values: Any, where: str) -> np.ndarray:
    values = pd.Series(values)
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan) if is_numeric(values) else None
    if arr is None or not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise DataError(f"{where} must hold integers (no text, fractions or NaN); drop it to number rows 0..N-1")
    ids = values.to_numpy().astype(np.int64)
    order = np.argsort(ids, kind="stable")
    dup = ids[order][1:] == ids[order][:-1]
    if dup.any():
        i = _first(dup)
        rows = sorted((int(order[i]), int(order[i + 1])))
        duplicate = show(ids[order[i]])
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
                f"feature {feature_name(col)} holds {show(block[row, col])} at row {start + row}; "
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

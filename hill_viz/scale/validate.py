"""Validation and decoding of a Parquet dataset folder, one partition at a time.

The rules and messages are those of `load_dataset(path=...)`: each partition goes through
the validators of `hill_viz.core.data`, and a message names the file and counts its row in
that file. What no single partition can know (the class names, the attribute categories,
ids unique across files) is merged from small per-partition summaries.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from hill_viz.core.data.dataset import TRAIN
from hill_viz.core.data.splits import stratified_split as _stratified_split
from hill_viz.core.data.tables import _reject_numeric_typo, _vector_column
from hill_viz.core.data.validation import _attribute_codes, _check_finite, _id_values, _label_codes, _split_codes
from hill_viz.core.data.validation import is_numeric as _is_numeric
from hill_viz.errors import DataError

__all__ = ["decode_part", "in_file", "part_frame", "scan"]

_LABEL, _SPLIT, _ID = "column 'label'", "column 'split'", "column 'id'"
_ROWS = re.compile(r"\b(rows? )(\d+)(?:( and )(\d+))?")
SPLIT_SEED_TAG = 0x5F  # as for a single file; the partition index is added to the seed


@contextmanager
def in_file(part):
    """Re-raise a DataError with the file's name in front and its rows counted in the file."""
    try:
        yield
    except DataError as err:
        raise DataError(f"{part.file.name}: {_shift_rows(str(err), part.file_offset)}") from None


def _shift_rows(message: str, offset: int) -> str:
    if not offset:
        return message

    def shifted(m: re.Match) -> str:
        out = f"{m.group(1)}{int(m.group(2)) + offset}"
        return out + (f"{m.group(3)}{int(m.group(4)) + offset}" if m.group(3) else "")

    return _ROWS.sub(shifted, message)


# ---------------------------------------------------------------------------- scan


@dataclass
class PartScan:
    """What one partition says about the folder's categories, splits and ids."""

    label_numeric: bool
    label_values: np.ndarray                    # distinct labels: int64 if numeric, else str
    split_counts: np.ndarray | None             # (3,) or None without a split column
    id_range: tuple[int, int] | None
    attribute_values: dict[str, np.ndarray]     # distinct non-missing values, as typed
    attribute_missing: dict[str, bool]


def scan(source):
    """Check every partition's small columns on the cluster; return the source with its names filled in."""
    import dask

    scans = dask.compute(*[dask.delayed(scan_part, pure=True)(p, source.roles) for p in source.parts])
    class_names, label_values = _merge_labels(scans)
    values, categories = {}, {}
    for name in source.roles.attributes:
        values[name], categories[name] = _merge_attribute(name, scans)
    split_counts = None
    if source.roles.has_split:
        split_counts = tuple(int(c) for c in np.sum([s.split_counts for s in scans], axis=0))
        if split_counts[TRAIN] == 0:
            raise DataError("no training samples: the split has no 'train' rows; mark at least one row as train")
    if source.roles.has_id:
        _check_ids_across_parts(source, [s.id_range for s in scans])
    return replace(source, class_names=class_names, label_values=label_values, attribute_values=values,
                   attribute_categories=categories, split_counts=split_counts)


def scan_part(part, roles) -> PartScan:
    from hill_viz.scale.source import column_series, read_table

    columns = ["label", *(["split"] if roles.has_split else []), *(["id"] if roles.has_id else []),
               *roles.attributes]
    table = read_table(part, columns)
    with in_file(part):
        numeric, labels = _label_values(column_series(table, "label"))
        split_counts = None
        if roles.has_split:
            split_counts = np.bincount(_split_codes(column_series(table, "split"), _SPLIT), minlength=3)
        id_range = None
        if roles.has_id:
            ids = _id_values(column_series(table, "id"), _ID)
            id_range = (int(ids.min()), int(ids.max()))
        attr_values, attr_missing = {}, {}
        for name in roles.attributes:
            column = column_series(table, name)
            if roles.inferred_attributes:
                _reject_numeric_typo(column, name)
            column = _attribute_input(column)
            attr_missing[name] = bool(column.isna().any())
            attr_values[name] = np.asarray(pd.unique(column.dropna()))
    return PartScan(numeric, labels, split_counts, id_range, attr_values, attr_missing)


def _label_values(values: pd.Series) -> tuple[bool, np.ndarray]:
    """(numeric?, distinct labels), checked by the single-file rules (NaN, fractions)."""
    if values.nunique(dropna=False) == 1 and values.notna().all():
        # one class in this partition is fine; the one-file check wants two, so give it a partner
        first = values.iloc[0]
        partner = first + 1 if _is_numeric(values) else f"{first}\0"
        _label_codes(pd.concat([values, pd.Series([partner])], ignore_index=True), _LABEL)
    else:
        _label_codes(values, _LABEL)
    if _is_numeric(values):
        return True, np.unique(values.to_numpy().astype(np.int64))
    return False, np.unique(values.astype(str).to_numpy())


def _merge_labels(scans: list[PartScan]) -> tuple[tuple[str, ...], np.ndarray | None]:
    numeric = all(s.label_numeric for s in scans)
    if numeric:
        values = np.unique(np.concatenate([s.label_values for s in scans]))
    else:  # text somewhere: every label is compared as text
        values = np.unique(np.concatenate([s.label_values.astype(str) for s in scans]))
    _, names = _label_codes(values, _LABEL)  # the one-file rule for a single class, and its message
    return names, (values if numeric else None)


def _attribute_input(column: pd.Series) -> pd.Series:
    """An attribute column as `_attribute_codes` sees it (categories as plain values: files differ)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(column.cat.categories.dtype)
    if column.dtype == object:
        column = column.where(column.isna(), column.astype(str))
    return column


def _merge_attribute(name: str, scans: list[PartScan]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sorted distinct values over the folder and their category names ('(missing)' last if any)."""
    merged = pd.Series(np.concatenate([s.attribute_values[name] for s in scans]))
    _, uniques = pd.factorize(merged, sort=True)
    values = np.asarray(uniques)
    missing = any(s.attribute_missing[name] for s in scans)
    probe = pd.Series(values)
    if missing:  # as one file would hold it: a missing value makes numbers floats
        probe = pd.concat([probe, pd.Series([np.nan if probe.dtype.kind in "iuf" else None])], ignore_index=True)
    _, categories = _attribute_codes(probe, name)  # the one-file naming (and its too-many-values error)
    return values, categories


def _check_ids_across_parts(source, ranges: list[tuple[int, int]]) -> None:
    """Ids are unique within each partition (checked); across partitions only ranges that overlap can clash."""
    order = np.argsort([lo for lo, _ in ranges], kind="stable")
    highs = np.maximum.accumulate([ranges[i][1] for i in order])
    if all(ranges[order[k]][0] > highs[k - 1] for k in range(1, len(order))):
        return
    import dask
    import dask.dataframe as dd

    ids = dd.from_map(_part_ids, source.parts, meta=pd.Series([], dtype=np.int64, name="id"))
    counts = ids.value_counts()
    dup = counts[counts > 1].head(1, npartitions=-1)
    if not len(dup):
        return
    value = int(dup.index[0])
    hits = dask.compute(*[dask.delayed(_rows_of_id)(p, value) for p in source.parts])
    where = [f"{p.file.name} row {p.file_offset + int(r)}" for p, rows in zip(source.parts, hits) for r in rows][:2]
    raise DataError(f"{_ID} holds duplicate id {value} ({' and '.join(where)}); ids must be unique")


def _part_ids(part) -> pd.Series:
    from hill_viz.scale.source import column_series, read_table

    return pd.Series(column_series(read_table(part, ["id"]), "id").to_numpy().astype(np.int64), name="id")


def _rows_of_id(part, value: int) -> np.ndarray:
    return np.flatnonzero(_part_ids(part).to_numpy() == value)


# ---------------------------------------------------------------------------- decode


def decode_part(source, part):
    """One partition's arrays with the folder's codes; DataError naming the file and row."""
    from hill_viz.scale.source import PartArrays, column_series, read_table

    roles = source.roles
    columns = [*roles.features, "label", *(["split"] if roles.has_split else []),
               *(["id"] if roles.has_id else []), *roles.attributes]
    table = read_table(part, columns)
    with in_file(part):
        features = _features(table, roles, source.n_features)
        labels = _label_codes_of(source, column_series(table, "label"))
        if roles.has_split:
            split = _split_codes(column_series(table, "split"), _SPLIT)
        else:
            rng = np.random.default_rng([source.seed, SPLIT_SEED_TAG, part.index])
            split = _stratified_split(labels, source.fractions, rng)
        rows = np.arange(part.offset, part.offset + part.n_rows, dtype=np.int64)
        ids = _id_values(column_series(table, "id"), _ID) if roles.has_id else rows.copy()
        attributes = {name: _attribute_codes_of(source, name, column_series(table, name))
                      for name in roles.attributes}
    return PartArrays(features, labels, split, ids, attributes, rows)


def _features(table, roles, n_features: int) -> np.ndarray:
    if roles.vector:
        name = roles.features[0]
        x = _vector_column(table.column(name), name)
        if x.shape[1] != n_features:
            raise DataError(f"feature column {name!r}: row 0 has {x.shape[1]} values but the folder's first file "
                            f"has {n_features}; vectors must have equal length")

        def feature_name(j: int) -> str:
            return f"{name!r} element {j}"
    else:
        x = np.empty((table.num_rows, len(roles.features)), np.float32)
        for j, col in enumerate(roles.features):
            series = table.column(col).to_pandas()
            if not _is_numeric(series):
                raise DataError(f"feature column {col!r} is not numeric (dtype {series.dtype}); "
                                "list it under attributes=[...] if it is a category, or drop it")
            x[:, j] = series.to_numpy(dtype=np.float32, na_value=np.nan)

        def feature_name(j: int) -> str:
            return repr(roles.features[j])
    _check_finite(x, feature_name)
    return x


def _label_codes_of(source, values: pd.Series) -> np.ndarray:
    if source.label_values is not None and _is_numeric(values):
        known, given = source.label_values, values.to_numpy().astype(np.int64)
    else:
        known = np.asarray(source.class_names)
        given = np.asarray(values.to_numpy().astype(np.int64) if _is_numeric(values) else values, dtype=str)
    codes = np.clip(np.searchsorted(known, given), 0, len(known) - 1)
    if not (known[codes] == given).all():
        raise DataError("its labels changed since the folder was opened; open the folder again")
    return codes.astype(np.int64)


def _attribute_codes_of(source, name: str, values: pd.Series) -> np.ndarray:
    known = source.attribute_values[name]
    cats = source.attribute_categories[name]
    column = pd.Series(pd.Categorical(_attribute_input(values), categories=known))
    codes, _ = _attribute_codes(column, name)  # missing -> the code after the known values: '(missing)'
    if (codes == len(known)).any() and (len(cats) == len(known)):
        raise DataError(f"attribute {name!r} has values the folder did not have when opened; open it again")
    return codes.astype(np.int8 if len(cats) <= np.iinfo(np.int8).max else np.int16)


def part_frame(part, source) -> pd.DataFrame:
    """One partition as a DataFrame: features, label, split, id, attributes, `_row` (empty for part=None)."""
    if part is None:
        a = _empty_arrays(source)
    else:
        a = decode_part(source, part)
    names = feature_column_names(source)
    cols = {name: a.features[:, j] for j, name in enumerate(names)}
    cols.update({"label": a.labels, "split": a.split, "id": a.ids, **a.attributes, "_row": a.rows})
    return pd.DataFrame(cols, copy=False)


def feature_column_names(source) -> list[str]:
    if source.roles.vector:
        return [f"{source.roles.features[0]}[{j}]" for j in range(source.n_features)]
    return list(source.roles.features)


def _empty_arrays(source):
    from hill_viz.scale.source import PartArrays

    attr_dtype = {name: np.int8 if len(c) <= np.iinfo(np.int8).max else np.int16
                  for name, c in source.attribute_categories.items()}
    return PartArrays(np.empty((0, source.n_features), np.float32), np.empty(0, np.int64), np.empty(0, np.int8),
                      np.empty(0, np.int64), {n: np.empty(0, d) for n, d in attr_dtype.items()},
                      np.empty(0, np.int64))

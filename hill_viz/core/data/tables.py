"""Parquet and CSV files: which columns are features, attributes, label, split and id.

Reserved columns: `label` (required), `split` (train/val/test) and `id`. Numeric columns
are features and text columns attributes unless `features=[...]` / `attributes=[...]`
say otherwise; a Parquet list column of equal-length vectors can be the features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hill_viz.core.data.validation import Raw, is_numeric, show
from hill_viz.errors import DataError

RESERVED_COLUMNS = ("label", "split", "id")


def read_table(path: Path, kind: str, features: list | None, attributes: list | None) -> Raw:
    """A CSV or Parquet file's columns sorted into features, attributes, label, split and id."""
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
    return Raw(
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


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _column_roles(frame: pd.DataFrame, vectors: dict, features: list | None, attributes: list | None):
    """Which columns are features and which are attributes (explicit lists win)."""
    known = set(frame.columns) | set(vectors)
    for option, names in (("features", features), ("attributes", attributes)):
        for col in names or ():
            if col not in known:
                found = ", ".join(map(str, sorted(known, key=str)))
                raise DataError(f"{option} names column {col!r}, which the file does not have (columns: {found})")
            if col in RESERVED_COLUMNS:
                reserved = ", ".join(RESERVED_COLUMNS)
                raise DataError(f"column {col!r} is reserved ({reserved}); remove it from {option}=[...]")
    both = set(features or ()) & set(attributes or ())
    if both:
        raise DataError(f"column {sorted(both)[0]!r} is listed under both features and attributes; pick one")
    free = [c for c in frame.columns if c not in RESERVED_COLUMNS]
    if attributes is None:
        attributes = [c for c in free if not is_numeric(frame[c]) and c not in (features or ())]
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
        if col in frame.columns and not is_numeric(frame[col]):
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
            f"feature column {name!r} is not numeric: row {row} holds {show(column.iloc[row])}; "
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

"""NPZ files: arrays X (N, F) or (N, H, W), y, and optionally split, ids, attr_<name>."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from hill_viz.core.data.validation import Raw
from hill_viz.errors import DataError

_NPZ_KEYS = ("X", "y", "split", "ids")


def read_npz(path: Path) -> Raw:
    """The arrays of an NPZ file (no pickles), checked for names and shapes."""
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
    return Raw(
        features=x.reshape(len(x), -1).astype(np.float32),
        feature_name=lambda j: f"'X' column {j}",
        labels=arrays["y"],
        split=arrays.get("split"),
        ids=arrays.get("ids"),
        attributes={key[5:]: arr for key, arr in arrays.items() if key.startswith("attr_")},
        image_shape=image_shape,
        where="array",
    )

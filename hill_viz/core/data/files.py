"""User files: a Parquet, CSV or NPZ file by its extension, read, validated, made a Dataset."""

from __future__ import annotations

from pathlib import Path

from hill_viz.core.data.dataset import DEFAULT_SPLIT_FRACTIONS, Dataset
from hill_viz.core.data.npz import read_npz
from hill_viz.core.data.options import resolve_options
from hill_viz.core.data.tables import read_table
from hill_viz.core.data.validation import assemble
from hill_viz.errors import DataError

FILE_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv", ".npz": "npz"}


def load_file(path: Path, n: int | None, seed: int, options: dict) -> Dataset:
    """The dataset in `path`; `options` are `features`, `attributes` (tables) and `splits`."""
    if not path.is_file():
        raise DataError(f"{path} is a folder; give the path of a file" if path.is_dir() else f"file not found: {path}")
    kind, stem = _file_kind(path)
    defaults: dict = {"splits": list(DEFAULT_SPLIT_FRACTIONS)}
    if kind != "npz":
        defaults = {"features": None, "attributes": None, **defaults}
    opts = resolve_options(f"{kind} file {path.name}", options, defaults, ("n", "seed"))
    if kind == "npz":
        raw = read_npz(path)
    else:
        raw = read_table(path, kind, opts["features"], opts["attributes"])
    dataset = assemble(raw, name=stem, n=n, seed=seed, fractions=opts["splits"])
    dataset.params = {"path": str(path.resolve()), "n": n, "seed": seed, **opts}
    return dataset


def _file_kind(path: Path) -> tuple[str, str]:
    """('parquet' | 'csv' | 'npz', the file's name without that extension)."""
    lower = path.name.lower()
    for suffix, kind in sorted(FILE_KINDS.items(), key=lambda kv: -len(kv[0])):
        if lower.endswith(suffix):
            return kind, path.name[: -len(suffix)]
    raise DataError(f"cannot read {path.name}: unknown file type; use one of {', '.join(FILE_KINDS)}")

"""The entry points: `load_dataset` (a builtin by name, or a user file) and `list_datasets`.

Each builtin has a loader and its option defaults here, and a card in `datasets/<name>.toml`
that says what it is (a test keeps the card's defaults equal to these).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hill_viz.core.data.blobs import load_blobs
from hill_viz.core.data.dataset import DEFAULT_SPLIT_FRACTIONS, Dataset, DatasetCard
from hill_viz.core.data.digits import load_digits, load_digits_shortcut
from hill_viz.core.data.files import load_file
from hill_viz.core.data.tabular import load_tabular_shortcut
from hill_viz.core.data.options import check_n, check_seed, resolve_options
from hill_viz.errors import DataError

DATASETS_DIR = Path(__file__).resolve().parents[3] / "datasets"


@dataclass(frozen=True)
class Builtin:
    load: Callable[[int | None, int, dict], Dataset]
    defaults: dict  # options besides n and seed
    default_n: int | None


BUILTINS: dict[str, Builtin] = {
    "digits": Builtin(load_digits, {"splits": list(DEFAULT_SPLIT_FRACTIONS)}, None),
    "digits-shortcut": Builtin(
        load_digits_shortcut,
        {"rho": 0.9, "cue": True, "noise": 0.1, "shift": 1, "rotate": 10.0, "splits": list(DEFAULT_SPLIT_FRACTIONS)},
        10_000,
    ),
    "blobs": Builtin(
        load_blobs,
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
    "tabular-shortcut": Builtin(
        load_tabular_shortcut,
        {"rho": 0.9, "cue": True, "noise": 0.2, "modes": 4, "classes": 5, "dim": 32,
         "splits": list(DEFAULT_SPLIT_FRACTIONS)},
        10_000,
    ),
}


def builtin_default_n(name: str) -> int | None:
    """How many samples a builtin makes when no n is given (None: unknown name or all of its data)."""
    builtin = BUILTINS.get(name)
    return None if builtin is None else builtin.default_n


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
    seed, n = check_seed(seed), check_n(n)
    if path is not None and Path(path).is_dir():  # a Parquet dataset folder (hill_viz.scale)
        from hill_viz.scale.stream import folder_dataset

        return folder_dataset(path, n, seed, options)
    if path is not None:
        return load_file(Path(path), n, seed, options)
    if name not in BUILTINS:
        hint = "; to load a file use path=..." if Path(str(name)).suffix else ""
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(BUILTINS))}{hint}")
    builtin = BUILTINS[name]
    opts = resolve_options(f"dataset {name!r}", options, builtin.defaults, ("n", "seed"))
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

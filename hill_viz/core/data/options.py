"""Checks on what a caller passes to `load_dataset`: seed, n and each dataset's options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hill_viz.core.data.dataset import TRAIN
from hill_viz.errors import DataError


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_n(n: Any) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"n must be a positive integer (number of samples), got {n!r}")
    return int(n)


def resolve_options(what: str, given: dict, defaults: dict, also: Sequence[str] = ()) -> dict:
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
        return check_split_fractions(value)
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


def check_split_fractions(value: Any) -> list[float]:
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


def require_range(what: str, key: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise DataError(f"option {key!r} of {what} must lie in [{low}, {high}], got {value!r}")

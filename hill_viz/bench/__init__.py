"""Benchmarks: each module has `add_arguments(parser)` and `run(args) -> list[dict]` of figures.

A figure is `{"name", "n", "value", "unit", "baseline", "baseline_value", "ratio"}`, the
baseline measured in the same run (ratio = value / baseline_value): these machines are
noisy, so only ratios compare across runs.
"""
from __future__ import annotations

import time

__all__ = ["BENCHES", "best_time", "figure"]

BENCHES = ("training", "timeline", "render", "select", "ids", "bias", "ui", "projection",
           "serve", "scale")  # modules of this package


def figure(name: str, n: int, value: float, unit: str, baseline: str, baseline_value: float, **extra) -> dict:
    return {"name": name, "n": n, "value": value, "unit": unit, "baseline": baseline,
            "baseline_value": baseline_value,
            "ratio": value / baseline_value if baseline_value else float("nan"), **extra}


def best_time(fn, repeat: int = 3) -> float:
    """Best wall time of `repeat` calls, in seconds (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best

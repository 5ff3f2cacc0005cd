"""The fixed colours of hill-viz, shared by the cloud, its legend and every bar chart.

Categories take Okabe & Ito's colour-blind-safe palette first, then Paul Tol's "muted"
palette, with the two light colours (yellow, sand) last since they fade on the white
plot; past 17 categories the colours repeat. Continuous columns use viridis without its
palest end.
"""
from __future__ import annotations

__all__ = ["CONTINUOUS", "OKABE_ITO", "SEMANTIC", "TOL_MUTED", "UNSELECTED", "palette"]

# Okabe, M. and Ito, K. (2008). Color Universal Design. Black is kept for the 8th category.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#F0E442")
# Tol, P. (2021). Colour schemes, SRON/EPS/TN/09-002: "muted".
TOL_MUTED = ("#332288", "#CC6677", "#117733", "#882255", "#44AA99", "#999933", "#88CCEE", "#AA4499", "#DDCC77")
# viridis at eight evenly spaced stops up to 7/8 (datashader interpolates between them)
CONTINUOUS = ("#440154", "#472D7B", "#3B528B", "#2C728E", "#21918C", "#28AE80", "#5EC962", "#ADDC30")
# columns whose categories have a fixed meaning
SEMANTIC = {"correct": ("#D55E00", "#0072B2")}  # wrong: vermillion, right: blue
UNSELECTED = "#BBBBBB"  # the population next to a selection in bar charts
_CATEGORICAL = OKABE_ITO[:-1] + TOL_MUTED[:-1] + (OKABE_ITO[-1], TOL_MUTED[-1])


def palette(n: int, column: str | None = None) -> tuple[str, ...]:
    """n colours for the categories 0..n-1 of a column (every category gets one)."""
    if n < 0:
        raise ValueError(f"palette size must be >= 0, got {n}")
    fixed = SEMANTIC.get(column or "")
    base = fixed if fixed and len(fixed) >= n else _CATEGORICAL
    return tuple(base[i % len(base)] for i in range(n))

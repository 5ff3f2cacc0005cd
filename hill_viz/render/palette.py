"""The fixed colours of hill-viz, shared by the cloud, its legend and every bar chart.

Categories take Okabe & Ito's colour-blind-safe palette first, then Paul Tol's "muted"
palette, with the two light colours (yellow, sand) last since they fade on the white
plot. Past those 17, colorcet's Glasbey palette for white backgrounds (no pale colours)
continues, leaving out its entries close to the first 17: about 220 distinct colours
before any repeats. Continuous columns use viridis without its palest end.
"""
from __future__ import annotations

from functools import cache

import colorcet
import numpy as np

__all__ = ["CONTINUOUS", "GLASBEY", "OKABE_ITO", "SEMANTIC", "TOL_MUTED", "UNSELECTED", "categorical", "palette"]

# Okabe, M. and Ito, K. (2008). Color Universal Design. Black is kept for the 8th category.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#F0E442")
# Tol, P. (2021). Colour schemes, SRON/EPS/TN/09-002: "muted".
TOL_MUTED = ("#332288", "#CC6677", "#117733", "#882255", "#44AA99", "#999933", "#88CCEE", "#AA4499", "#DDCC77")
# viridis at eight evenly spaced stops up to 7/8 (datashader interpolates between them)
CONTINUOUS = ("#440154", "#472D7B", "#3B528B", "#2C728E", "#21918C", "#28AE80", "#5EC962", "#ADDC30")
# columns whose categories have a fixed meaning
SEMANTIC = {"correct": ("#D55E00", "#0072B2")}  # wrong: vermillion, right: blue
UNSELECTED = "#BBBBBB"  # the population next to a selection in bar charts
_FIRST = OKABE_ITO[:-1] + TOL_MUTED[:-1] + (OKABE_ITO[-1], TOL_MUTED[-1])
GLASBEY = "glasbey_bw_minc_20_maxl_70"  # colorcet: min chroma 20, max lightness 70
_MIN_RGB_DISTANCE = 40.0  # a Glasbey colour this close to one of the first 17 is skipped


def palette(n: int, column: str | None = None) -> tuple[str, ...]:
    """n colours for the categories 0..n-1 of a column (every category gets one)."""
    if n < 0:
        raise ValueError(f"palette size must be >= 0, got {n}")
    fixed = SEMANTIC.get(column or "")
    base = fixed if fixed and len(fixed) >= n else categorical()
    return tuple(base[i % len(base)] for i in range(n))


@cache
def categorical() -> tuple[str, ...]:
    """Every distinct categorical colour in order: the 17 colour-blind-safe ones, then Glasbey's."""
    def rgb(colors):
        return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float)

    extra = [c.upper() for c in colorcet.palette[GLASBEY]]
    gap = np.sqrt(((rgb(extra)[:, None] - rgb(_FIRST)[None]) ** 2).sum(-1)).min(axis=1)
    return _FIRST + tuple(c for c, g in zip(extra, gap) if g >= _MIN_RGB_DISTANCE)

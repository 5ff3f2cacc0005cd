"""Aggregate and shade a latent frame with Datashader: plain functions over plain data.

`render_frame(frame, viewport, color_by)` is what the latent view draws for each new
viewport: one Datashader pass over the columns (no copies unless `rows` picks a subset),
shading with the shared palette, and a little spreading so sparse regions stay visible.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import datashader as ds
import datashader.transfer_functions as tf
import numba
import numpy as np
import pandas as pd
import xarray as xr

from hill_viz.core.frame import CONTINUOUS_COLUMNS, LatentFrame
from hill_viz.core.geometry import box_mask
from hill_viz.errors import ConfigError
from hill_viz.render.palette import CONTINUOUS, palette

__all__ = ["ColorSpec", "Viewport", "aggregate", "color_spec", "count_in", "render_frame", "shade",
           "shade_categorical", "to_rgba"]

MAX_PIXELS = 4096  # per side; larger plot sizes are clipped
MIN_ALPHA_FRACTION = 0.6  # a lone point's opacity relative to the densest pixel's: visible, yet density shows


@dataclass(frozen=True)
class Viewport:
    """What part of the view plane to draw, at how many pixels."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int = 800
    height: int = 600

    def __post_init__(self):
        for name, (lo, hi) in (("x_range", self.x_range), ("y_range", self.y_range)):
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise ConfigError(f"viewport {name} must be two finite numbers, low < high; got ({lo}, {hi})")
        object.__setattr__(self, "width", int(min(max(self.width, 1), MAX_PIXELS)))
        object.__setattr__(self, "height", int(min(max(self.height, 1), MAX_PIXELS)))

    @classmethod
    def of_frame(cls, frame: LatentFrame, width: int = 800, height: int = 600, pad: float = 0.05) -> "Viewport":
        """The whole cloud, with `pad` of its span added on each side."""
        x0, x1, y0, y1 = frame.extent()
        dx, dy = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
        return cls((x0 - pad * dx, x1 + pad * dx), (y0 - pad * dy, y1 + pad * dy), width, height)

    def resized(self, width: int, height: int) -> "Viewport":
        return replace(self, width=width, height=height)

    def around(self, x: np.ndarray, y: np.ndarray, pad: int = 0) -> "Viewport | None":
        """The window of this viewport's pixels that holds the points (x, y), `pad` pixels more
        on each side (clipped to this viewport): a render of it is the same pixels as that part
        of a render of this viewport, and fewer bytes to send. None if no point is inside."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        inside = box_mask(x, y, x0, y0, x1, y1)
        if not inside.any():
            return None
        step_x, step_y = (x1 - x0) / self.width, (y1 - y0) / self.height
        i0, i1 = _pixel_window(x[inside], x0, step_x, self.width, pad)
        j0, j1 = _pixel_window(y[inside], y0, step_y, self.height, pad)
        return Viewport((x0 + i0 * step_x, x0 + i1 * step_x), (y0 + j0 * step_y, y0 + j1 * step_y), i1 - i0, j1 - j0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top), as HoloViews wants them."""
        return self.x_range[0], self.y_range[0], self.x_range[1], self.y_range[1]


def _pixel_window(values: np.ndarray, start: float, step: float, n: int, pad: int) -> tuple[int, int]:
    """First and one-past-last pixel (of `n` of size `step` from `start`) holding `values`, padded."""
    first = min(int(np.floor((values.min() - start) / step)), n - 1)
    last = min(int(np.floor((values.max() - start) / step)), n - 1)
    return max(first - pad, 0), min(last + 1 + pad, n)


@dataclass(frozen=True)
class ColorSpec:
    """How to colour the points: a categorical column with one colour per category, or a
    continuous column through a colour map over a fixed span."""

    column: str
    kind: str                                  # "categorical" or "continuous"
    categories: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()               # one per category, or the colour map's stops
    span: tuple[float, float] | None = None    # continuous only

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"


def color_spec(frame: LatentFrame, column: str) -> ColorSpec:
    """The colouring of `column`: categories and their fixed colours, or a map and a span."""
    if column in CONTINUOUS_COLUMNS:
        return ColorSpec(column, "continuous", colors=CONTINUOUS, span=_span(frame, column))
    if column not in frame.categorical_columns:
        raise ConfigError(f"cannot colour by {column!r}; use one of "
                          f"{', '.join(frame.categorical_columns + CONTINUOUS_COLUMNS)}")
    cats = frame.categories(column)
    return ColorSpec(column, "categorical", cats, palette(len(cats), column))


def _span(frame: LatentFrame, column: str) -> tuple[float, float]:
    if column == "confidence":
        return (1.0 / max(len(frame.class_names), 1), 1.0)
    values = frame.column(column)
    sample = values[:: max(1, len(values) // 100_000)]  # a strided sample is plenty for a colour span
    hi = float(np.nanquantile(sample, 0.99)) if len(sample) else 1.0
    return (0.0, hi if np.isfinite(hi) and hi > 0 else 1.0)


def _points(frame: LatentFrame, spec: ColorSpec, rows: np.ndarray | None) -> pd.DataFrame:
    """x, y and the colour column as a DataFrame over the frame's arrays (no copy without rows)."""
    value = frame.codes(spec.column) if spec.is_categorical else frame.column(spec.column)
    cols = {"x": frame.column("x"), "y": frame.column("y"), "v": value}
    if rows is not None:
        cols = {k: v[rows] for k, v in cols.items()}
    return pd.DataFrame(cols, copy=False)


def aggregate(frame: LatentFrame, viewport: Viewport, spec: ColorSpec, rows: np.ndarray | None = None) -> xr.DataArray:
    """Per-pixel counts by category (H, W, K), or the mean of a continuous column (H, W)."""
    canvas = ds.Canvas(viewport.width, viewport.height, viewport.x_range, viewport.y_range)
    if spec.is_categorical:
        reduction = ds.by(ds.category_modulo("v", len(spec.categories)), ds.count())
    else:
        reduction = ds.mean("v")
    return canvas.points(_points(frame, spec, rows), "x", "y", agg=reduction)


def shade(agg: xr.DataArray, spec: ColorSpec, *, alpha: int = 255, spread: int = 2) -> tf.Image:
    """RGBA image of an aggregate; `spread` (pixels, at most) grows isolated points."""
    if spec.is_categorical:
        img = shade_categorical(agg, spec.colors, alpha=alpha, min_alpha=int(alpha * MIN_ALPHA_FRACTION))
    else:
        img = tf.shade(agg, cmap=list(spec.colors), how="linear", span=spec.span, alpha=alpha)
    return tf.dynspread(img, threshold=0.75, max_px=spread) if spread > 0 else img


def shade_categorical(agg: xr.DataArray, colors, *, alpha: int = 255, min_alpha: int = 40) -> tf.Image:
    """Shade per-category counts (H, W, K) as `tf.shade(agg, color_key=colors, how="eq_hist")` does.

    A pixel's colour is the count-weighted mean of its categories' colours; its opacity
    runs from `min_alpha` (the fewest points) to `alpha` (the most), histogram-equalized.
    One numba pass instead of datashader's numpy passes over (H, W, K): several times faster.
    """
    counts = np.ascontiguousarray(agg.values, dtype=np.uint32)  # (H, W, K)
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=np.float64)  # (K, 3)
    totals = _totals(counts)  # (H, W)
    level = _eq_hist_levels(totals)
    packed = _shade_categorical(counts, rgb, totals, level, float(min_alpha), float(alpha))
    y_dim, x_dim = agg.dims[:2]
    return tf.Image(xr.DataArray(packed, coords={y_dim: agg.coords[y_dim], x_dim: agg.coords[x_dim]},
                                 dims=(y_dim, x_dim)))


def _eq_hist_levels(totals: np.ndarray) -> np.ndarray:
    """Per pixel, the share of filled pixels with a smaller total, rescaled to [0, 1]."""
    filled = totals[totals > 0]
    if not len(filled):
        return np.zeros(totals.shape, dtype=np.float64)
    values, counts = np.unique(filled, return_counts=True)
    cdf = np.cumsum(counts) / len(filled)
    lo = cdf[0]
    scaled = (cdf - lo) / (1.0 - lo) if lo < 1.0 else np.ones_like(cdf)
    level = np.zeros(totals.shape, dtype=np.float64)
    mask = totals > 0
    level[mask] = scaled[np.searchsorted(values, totals[mask])]
    return level


@numba.njit(parallel=True, nogil=True, cache=True)
def _totals(counts):
    h, w, k = counts.shape
    out = np.zeros((h, w), dtype=np.uint64)
    for i in numba.prange(h):
        for j in range(w):
            for c in range(k):
                out[i, j] += counts[i, j, c]
    return out


@numba.njit(parallel=True, nogil=True, cache=True)
def _shade_categorical(counts, rgb, totals, level, min_alpha, alpha):
    h, w, k = counts.shape
    out = np.zeros((h, w), dtype=np.uint32)
    for i in numba.prange(h):
        for j in range(w):
            total = totals[i, j]
            if total == 0:
                continue
            r = g = b = 0.0
            for c in range(k):
                n = counts[i, j, c]
                if n:
                    r += n * rgb[c, 0]
                    g += n * rgb[c, 1]
                    b += n * rgb[c, 2]
            a = min_alpha + (alpha - min_alpha) * level[i, j]
            out[i, j] = (np.uint32(r / total) | (np.uint32(g / total) << 8) | (np.uint32(b / total) << 16)
                         | (np.uint32(a) << 24))
    return out


def render_frame(frame: LatentFrame, viewport: Viewport, color_by: str | ColorSpec = "label",
                 rows: np.ndarray | None = None, *, alpha: int = 255, spread: int = 2) -> tf.Image:
    """Aggregate and shade the frame (or only `rows`) in the viewport."""
    spec = color_by if isinstance(color_by, ColorSpec) else color_spec(frame, color_by)
    return shade(aggregate(frame, viewport, spec, rows), spec, alpha=alpha, spread=spread)


def warm_up() -> None:
    """Render a tiny frame as the latent view does (cloud, highlighted rows, a continuous colour),
    so numba compiles the kernels now: a first render pays tens of seconds on a busy machine."""
    rng = np.random.default_rng(0)
    frame = LatentFrame.from_arrays(rng.random(64), rng.random(64), label=np.arange(64) % 3,
                                    confidence=rng.random(64))
    viewport = Viewport.of_frame(frame, 32, 32)
    render_frame(frame, viewport, "label")
    render_frame(frame, viewport, "label", rows=np.arange(8))
    render_frame(frame, viewport, "confidence")


def to_rgba(img: tf.Image) -> np.ndarray:
    """(H, W, 4) uint8, first row at the top (datashader's first row is the bottom)."""
    data = np.ascontiguousarray(img.data, dtype=np.uint32)
    return data.view(np.uint8).reshape(*data.shape, 4)[::-1]


def count_in(frame: LatentFrame, viewport: Viewport) -> int:
    """How many points lie in the viewport."""
    (x0, x1), (y0, y1) = viewport.x_range, viewport.y_range
    return int(np.count_nonzero(box_mask(frame.column("x"), frame.column("y"), x0, y0, x1, y1)))

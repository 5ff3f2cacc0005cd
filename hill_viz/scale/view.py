"""The cloud of a Dask latent frame: Datashader aggregates the partitions on the cluster.

The same stages as `hill_viz.render` (colour spec -> aggregate -> shade), and the same
shading: only the aggregation differs, running `Canvas.points` over the Dask frame so that
only the (H, W, K) counts come back to this process.
"""
from __future__ import annotations

import datashader as ds
import datashader.transfer_functions as tf
import numpy as np
import pandas as pd
import xarray as xr

from hill_viz.core.frame import LatentFrame
from hill_viz.render.aggregate import ColorSpec, Viewport, shade
from hill_viz.render.aggregate import aggregate as _aggregate
from hill_viz.render.aggregate import color_spec as _color_spec
from hill_viz.render.palette import CONTINUOUS
from hill_viz.scale.frame import DaskLatentFrame

__all__ = ["aggregate", "color_spec", "render_frame"]


def color_spec(frame: DaskLatentFrame, column: str) -> ColorSpec:
    """As `hill_viz.render.color_spec`; the loss span from Dask's approximate 99th percentile."""
    if column != "loss":
        return _color_spec(frame, column)
    hi = float(frame.df["loss"].quantile(0.99).compute()) if len(frame) else 1.0
    return ColorSpec("loss", "continuous", colors=CONTINUOUS, span=(0.0, hi if hi > 0 else 1.0))


def aggregate(frame: DaskLatentFrame, viewport: Viewport, spec: ColorSpec) -> xr.DataArray:
    """Per-pixel counts by category (H, W, K), or the mean of a continuous column (H, W).

    Categorical counts: each partition is aggregated on its worker by the in-memory
    `hill_viz.render.aggregate` (Datashader's pandas path, compiled once per worker) and the
    counts are summed in a tree on the cluster, so only the final (H, W, K) array comes here.
    (Datashader's own Dask path ships its freshly built numba kernels with every call, which
    costs seconds on worker processes.) Means go through Datashader's Dask path.
    """
    import dask

    if not spec.is_categorical:
        canvas = ds.Canvas(viewport.width, viewport.height, viewport.x_range, viewport.y_range)
        return canvas.points(frame.df, "x", "y", agg=ds.mean(spec.column))
    names = (frame.class_names, frame.attribute_categories)
    level = [dask.delayed(_aggregate_part)(part, names, viewport, spec) for part in frame.df.to_delayed()]
    while len(level) > 1:
        level = [dask.delayed(_sum)(*level[i:i + _FAN_IN]) for i in range(0, len(level), _FAN_IN)]
    template = _aggregate(_empty(frame), viewport, spec)
    if not level:
        return template
    (counts,) = dask.compute(level[0])
    return template.copy(data=counts)


_FAN_IN = 8  # partial aggregates summed per task


def _aggregate_part(part: pd.DataFrame, names, viewport: Viewport, spec: ColorSpec) -> np.ndarray:
    return _aggregate(LatentFrame(part, *names), viewport, spec).values


def _sum(*counts: np.ndarray) -> np.ndarray:
    total = counts[0].copy()
    for c in counts[1:]:
        total += c
    return total


def _empty(frame: DaskLatentFrame) -> LatentFrame:
    return LatentFrame(frame.df._meta, frame.class_names, frame.attribute_categories)


def render_frame(frame: DaskLatentFrame, viewport: Viewport, color_by: str | ColorSpec = "label", *,
                 alpha: int = 255, spread: int = 2) -> tf.Image:
    """Aggregate on the cluster and shade here, as `hill_viz.render.render_frame` does in memory."""
    spec = color_by if isinstance(color_by, ColorSpec) else color_spec(frame, color_by)
    return shade(aggregate(frame, viewport, spec), spec, alpha=alpha, spread=spread)

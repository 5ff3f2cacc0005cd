"""The cloud of a Dask latent frame: Datashader aggregates the partitions on the cluster.

The same stages as `hill_viz.render` (colour spec -> aggregate -> shade), and the same
shading: only the aggregation differs, running `Canvas.points` over the Dask frame so that
only the (H, W, K) counts come back to this process.
"""
from __future__ import annotations

import datashader as ds
import datashader.transfer_functions as tf
import xarray as xr

from hill_viz.render.aggregate import ColorSpec, Viewport, shade
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
    """Per-pixel counts by category (H, W, K), or the mean of a continuous column (H, W)."""
    canvas = ds.Canvas(viewport.width, viewport.height, viewport.x_range, viewport.y_range)
    if spec.is_categorical:
        reduction = ds.by(ds.category_modulo(spec.column, len(spec.categories)), ds.count())
    else:
        reduction = ds.mean(spec.column)
    return canvas.points(frame.df, "x", "y", agg=reduction)


def render_frame(frame: DaskLatentFrame, viewport: Viewport, color_by: str | ColorSpec = "label", *,
                 alpha: int = 255, spread: int = 2) -> tf.Image:
    """Aggregate on the cluster and shade here, as `hill_viz.render.render_frame` does in memory."""
    spec = color_by if isinstance(color_by, ColorSpec) else color_spec(frame, color_by)
    return shade(aggregate(frame, viewport, spec), spec, alpha=alpha, spread=spread)

"""Rendering: Datashader aggregation and shading over a latent frame, and the shared palette.

Plain functions over plain data; nothing here imports Panel, HoloViews, Bokeh or the session.
"""
from hill_viz.render.aggregate import (ColorSpec, Viewport, aggregate, color_spec, count_in, render_frame,
                                       shade, shade_categorical, to_rgba, warm_up)
from hill_viz.render.palette import CONTINUOUS, OKABE_ITO, SEMANTIC, TOL_MUTED, UNSELECTED, palette

__all__ = ["CONTINUOUS", "OKABE_ITO", "SEMANTIC", "TOL_MUTED", "UNSELECTED", "ColorSpec", "Viewport",
           "aggregate", "color_spec", "count_in", "palette", "render_frame", "shade", "shade_categorical",
           "to_rgba", "warm_up"]

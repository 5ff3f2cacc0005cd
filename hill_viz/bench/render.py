"""Rendering a new viewport of a large frame vs bare Datashader; vs matplotlib and Bokeh at 10^6; memory."""
from __future__ import annotations

import gc
import io
import json
import tempfile

import numpy as np

from hill_viz.bench import best_time, figure

PLOT_SIZE = (800, 600)
SMALL_N = 10**6  # the size compared with matplotlib and Bokeh
PNG_LEVEL = 1  # zlib level of every PNG written here, ours and matplotlib's alike


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=10**7, help="points in the frame (default 10^7)")
    parser.add_argument("--repeat", type=int, default=5, help="viewports timed per figure; the best counts")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the memory figures")


def _viewports(frame, count: int, seed: int = 1):
    """`count` different zoomed viewports, so nothing can be reused between calls."""
    from hill_viz.render import Viewport

    rng = np.random.default_rng(seed)
    x0, x1, y0, y1 = frame.extent()
    out = []
    for _ in range(count):
        span = rng.uniform(0.3, 0.9) * (x1 - x0)
        cx, cy = rng.uniform(x0 + span / 2, x1 - span / 2), rng.uniform(y0 + span / 2, y1 - span / 2)
        aspect = PLOT_SIZE[1] / PLOT_SIZE[0]
        out.append(Viewport((cx - span / 2, cx + span / 2), (cy - aspect * span / 2, cy + aspect * span / 2),
                            *PLOT_SIZE))
    return out


def _timed_each(fn, viewports) -> float:
    """Best time of fn(viewport) over the viewports (each one new to the call)."""
    times = []
    for vp in viewports:
        times.append(best_time(lambda: fn(vp), 1))
    return min(times)


def _bare_datashader(frame):
    """The reference: one Canvas.points + shade call on the same arrays, nothing else."""
    import datashader as ds
    import datashader.transfer_functions as tf
    import pandas as pd

    from hill_viz.render import palette

    k = len(frame.class_names)
    df = pd.DataFrame({"x": frame.column("x"), "y": frame.column("y"), "label": frame.column("label")}, copy=False)
    key = list(palette(k))

    def bare(vp):
        canvas = ds.Canvas(vp.width, vp.height, vp.x_range, vp.y_range)
        return tf.shade(canvas.points(df, "x", "y", agg=ds.by(ds.category_modulo("label", k), ds.count())),
                        color_key=key)
    return bare


def _viewport_figures(frame, repeat: int) -> list[dict]:
    import holoviews as hv

    from hill_viz.render import render_frame
    from hill_viz.session import Session
    from hill_viz.ui.latent_view import LatentView

    hv.extension("bokeh")
    n = len(frame)
    bare = _bare_datashader(frame)
    ours = lambda vp: render_frame(frame, vp, "label")  # noqa: E731
    session = Session(tempfile.mkdtemp(prefix="hill-bench-render-"))
    session.show_frame(frame)
    view = LatentView(session=session)

    def view_layers(vp):  # what the server computes for one zoom: every layer of the view
        args = dict(x_range=vp.x_range, y_range=vp.y_range, width=vp.width, height=vp.height)
        view._cloud(**args), view._highlight(**args), view._hover_points(x_range=vp.x_range, y_range=vp.y_range)

    warm = _viewports(frame, 1, seed=0)[0]
    bare(warm), ours(warm), view_layers(warm)  # first calls compile; not timed
    t_bare, t_ours, t_view = [], [], []
    for i in range(2):  # interleave, so drifting machine load hits every variant
        vps = _viewports(frame, repeat, seed=10 + i)
        t_bare.append(_timed_each(bare, vps))
        t_ours.append(_timed_each(ours, vps))
        t_view.append(_timed_each(view_layers, vps))
    x0, x1, y0, y1 = frame.extent()
    view.select_box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)  # a quarter of the plane: dimmed cloud + highlight
    t_view_sel = _timed_each(view_layers, _viewports(frame, repeat, seed=20))
    base = min(t_bare) * 1e3
    return [
        figure("render_viewport", n, min(t_ours) * 1e3, "ms", "datashader_points_shade", base,
               color_by="label", size=list(PLOT_SIZE), note="aggregate by label + shade + dynspread"),
        figure("view_zoom_all_layers", n, min(t_view) * 1e3, "ms", "datashader_points_shade", base,
               note="LatentView cloud + highlight + hover callbacks, no selection"),
        figure("view_zoom_all_layers_selection", n, t_view_sel * 1e3, "ms", "datashader_points_shade", base,
               selected=int(len(view.selected_rows)), note="with a selection: dimmed cloud + highlight layer"),
    ]


def _png_figures(repeat: int) -> list[dict]:
    """At 10^6 points: to a PNG with ours vs matplotlib scatter; vs Bokeh's scatter payload."""
    import matplotlib
    from bokeh.embed import json_item
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure as bokeh_figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba_array
    from matplotlib.figure import Figure

    from hill_viz.bench.synthetic import synthetic_frame
    from hill_viz.render import Viewport, palette, render_frame

    matplotlib.use("Agg")
    frame = synthetic_frame(SMALL_N, seed=3)
    x, y, label = frame.column("x"), frame.column("y"), frame.column("label")
    key = np.asarray(palette(len(frame.class_names)))
    rgba = to_rgba_array(key)[label]          # per-point colours, prepared outside the timings
    hex_colors = key[label]
    vp = Viewport.of_frame(frame, *PLOT_SIZE)

    def ours():
        buffer = io.BytesIO()
        render_frame(frame, vp, "label").to_pil().save(buffer, format="png", compress_level=PNG_LEVEL)
        return buffer

    def with_matplotlib():
        fig = Figure(figsize=(PLOT_SIZE[0] / 100, PLOT_SIZE[1] / 100), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.scatter(x, y, s=1, c=rgba, linewidths=0)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", pil_kwargs={"compress_level": PNG_LEVEL})
        return buffer

    def with_bokeh():
        source = ColumnDataSource({"x": x, "y": y, "color": hex_colors})
        plot = bokeh_figure(width=PLOT_SIZE[0], height=PLOT_SIZE[1])
        plot.scatter("x", "y", source=source, size=1, color="color")
        return json.dumps(json_item(plot))

    ours()  # warm-up
    t_ours = best_time(ours, repeat)
    t_mpl = best_time(with_matplotlib, 2)
    t_bokeh = best_time(with_bokeh, 2)
    return [
        figure("render_png_1e6", SMALL_N, t_ours * 1e3, "ms", "matplotlib_scatter_png", t_mpl * 1e3,
               speedup=t_mpl / t_ours, png_compress_level=PNG_LEVEL),
        figure("render_png_1e6", SMALL_N, t_ours * 1e3, "ms", "bokeh_scatter_json_payload", t_bokeh * 1e3,
               speedup=t_bokeh / t_ours),
    ]


def _memory_figures(n: int) -> list[dict]:
    """RSS added by a frame of n points plus a live LatentView (rendered, with a selection)."""
    import holoviews as hv
    import panel as pn

    from hill_viz.bench.synthetic import rss_mb, synthetic_frame
    from hill_viz.session import Session
    from hill_viz.ui.latent_view import LatentView

    hv.extension("bokeh")
    session = Session(tempfile.mkdtemp(prefix="hill-bench-memory-"))
    gc.collect()
    before = rss_mb()
    frame = synthetic_frame(n, seed=5)
    session.show_frame(frame)
    view = LatentView(session=session)
    root = pn.panel(view).get_root()  # the Bokeh models of a live page, initial render included
    x0, x1, y0, y1 = frame.extent()
    view.select_box(x0, y0, (x0 + x1) / 2, y1)
    for layer in (view.cloud, view.highlight, view.hover):
        layer[()]
    gc.collect()
    added = rss_mb() - before
    del root
    return [
        figure("frame_bytes_per_point", n, frame.nbytes / n, "bytes", "budget_40_bytes", 40.0),
        figure("rss_frame_and_view", n, added, "MiB", "budget_1GiB", 1024.0, selected=int(len(view.selected_rows))),
    ]


def run(args) -> list[dict]:
    from hill_viz.bench.synthetic import synthetic_frame

    figures = []
    if not args.skip_memory:  # first, while the process is still small
        figures += _memory_figures(args.points)
        gc.collect()
    frame = synthetic_frame(args.points)
    figures += _viewport_figures(frame, args.repeat)
    del frame
    gc.collect()
    figures += _png_figures(args.repeat)
    return figures

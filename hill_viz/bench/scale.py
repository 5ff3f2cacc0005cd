"""Past one machine: viewport, lasso, latents and memory of an N-point frame on a local Dask cluster.

Figures (baselines measured in the same run):
- scale_viewport: a new 800x600 viewport of the Dask frame (ours: aggregate on the cluster,
  shade here) vs bare Datashader Canvas.points + shade on the same persisted Dask frame;
- scale_lasso_summary / scale_lasso_ids: a 50-vertex lasso over N points (count, breakdowns
  and a sample; then every id) vs the in-process numba kernel's time on sampled partitions,
  scaled to N; the ids on those partitions are checked against matplotlib's Path. On the
  frame sorted along a Hilbert curve (`sort_spatially`, made once and kept with --data),
  whose block index lets the lasso skip blocks; `..._source_order`: the same on the frame
  in its written order, where every block spans the cloud and every point is tested;
- scale_driver_peak_rss: this process's peak RSS while aggregating N points vs the bytes
  the in-memory frame would hold;
- scale_latents: latents of --latent-points samples with 2 workers vs 1 (samples/s);
- scale_stream_epoch: one epoch of seeded training batches streamed from the latents'
  source dataset: time and peak RSS vs the bytes of its features;
- scale_train_stream (with --train-data FOLDER): `hill-viz train --engine dask|memory --stream`
  on that folder, one epoch over every training row, then an edit's epoch (the teacher covers
  one class over the whole folder; on dask the latents of every row on the local cluster):
  peak RSS of the whole run (the command and its cluster's processes) vs the folder's features.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from hill_viz.bench import best_time, figure

PART_ROWS = 1_000_000  # rows per partition of the benchmark frame


def add_arguments(parser) -> None:
    parser.add_argument("--points", type=int, default=10**7, help="points in the frame (default 10^7)")
    parser.add_argument("--latent-points", type=int, default=10**7,
                        help="samples for the latents figure (default 10^7; 0 leaves it out)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--vertices", type=int, default=50, help="lasso vertices (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per figure; the best counts")
    parser.add_argument("--in-process", action="store_true",
                        help="workers as threads of this process: a quick check, not a measurement")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder for the generated data (kept and reused); default: a temporary folder")
    parser.add_argument("--train-data", type=Path, default=None,
                        help="a Parquet dataset folder to train one streamed epoch on (scale_train_stream; "
                             "only that figure is measured)")
    parser.add_argument("--train-engine", choices=("dask", "memory"), default="dask",
                        help="for --train-data: dask (latents of every row on a local cluster) or memory "
                             "(one process; the view shows the 200,000-row sample)")


def run(args) -> list[dict]:
    from distributed import wait

    from hill_viz.scale.cluster import ClusterSpec, connect

    work = args.data or Path(tempfile.mkdtemp(prefix="hill-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.train_data is not None:
            return [_train_figure(args.train_data, work, args.train_engine)]
        figures = []
        with connect(ClusterSpec(n_workers=args.workers, processes=not args.in_process)):
            frame = _bench_frame(work / f"frame-{args.points}", args.points).persist()
            wait(frame.df)
            figures += _viewport_figures(frame, args.repeat)
            figures += _lasso_figures(frame, args.vertices, args.repeat, suffix="_source_order")
            spatial = _spatial_frame(work / f"frame-{args.points}-hilbert", frame)
            del frame
            spatial = spatial.persist()
            wait(spatial.df)
            figures += _lasso_figures(spatial, args.vertices, args.repeat)
            del spatial
        if args.latent_points:
            figures += _latent_figures(work, args.latent_points, processes=not args.in_process)
        return figures
    finally:
        if args.data is None:
            shutil.rmtree(work, ignore_errors=True)


# -- the frame -------------------------------------------------------------------------------

def _bench_frame(folder: Path, n: int):
    """A synthetic frame of n points as a frame folder (written in parallel once, then reused)."""
    import dask

    from hill_viz.bench.synthetic import N_CLASSES, synthetic_frame
    from hill_viz.scale.cluster import run_tasks
    from hill_viz.scale.frame import META_FILE, combine_extents, open_frame, write_meta

    if not (folder / META_FILE).exists():
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        starts = range(0, n, PART_ROWS)
        tasks = [dask.delayed(_write_synthetic_part)(tmp / f"part-{k:05d}.parquet", start, min(n, start + PART_ROWS))
                 for k, start in enumerate(starts)]
        stats = run_tasks(tasks)
        sample = synthetic_frame(10)
        write_meta(tmp, class_names=[str(c) for c in range(N_CLASSES)],
                   attribute_categories=sample.attribute_categories, n_rows=n, part_rows=[s[0] for s in stats],
                   extent=combine_extents(s[1:] for s in stats))
        tmp.rename(folder)
    return open_frame(folder)


def _spatial_frame(folder: Path, frame):
    """The frame sorted along a Hilbert curve (written once, then reused)."""
    from hill_viz.scale.frame import META_FILE, open_frame
    from hill_viz.scale.spatial import sort_spatially

    return open_frame(folder) if (folder / META_FILE).exists() else sort_spatially(frame, folder)


def _write_synthetic_part(path: Path, start: int, stop: int):
    from hill_viz.bench.synthetic import synthetic_frame

    df = synthetic_frame(stop - start, seed=start).df
    df = df.assign(id=np.arange(start, stop, dtype=np.int64))
    df.to_parquet(path, index=False)
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    return len(df), float(x.min()), float(x.max()), float(y.min()), float(y.max())


# -- viewport and memory ----------------------------------------------------------------------

def _viewport_figures(frame, repeat: int) -> list[dict]:
    from hill_viz.bench.render import _timed_each, _viewports
    from hill_viz.scale.view import render_frame

    n = len(frame)
    bare = _bare_datashader(frame)
    ours = lambda vp: render_frame(frame, vp, "label")  # noqa: E731
    ours(_viewports(frame, 1, seed=99)[0])  # compile (or load the numba cache) outside the timings
    bare(_viewports(frame, 1, seed=98)[0])
    t_ours = _timed_each(ours, _viewports(frame, repeat, seed=1))
    t_bare = _timed_each(bare, _viewports(frame, repeat, seed=2))
    with _PeakRss() as peak:
        for vp in _viewports(frame, repeat, seed=3):
            ours(vp)
    frame_mb = n * 32 / 2**20  # the in-memory LatentFrame's columns for these points
    return [
        figure("scale_viewport", n, t_ours * 1e3, "ms", "bare_datashader_points_shade_same_dask_frame",
               t_bare * 1e3, partitions=frame.npartitions, workers=_workers(), plot=[800, 600]),
        figure("scale_driver_peak_rss", n, peak.peak_mb, "MiB", "in_memory_frame_columns", frame_mb,
               rss_before_mb=peak.start_mb, growth_mb=peak.peak_mb - peak.start_mb,
               note="this process only; the frame lives on the workers"),
    ]


def _bare_datashader(frame):
    import datashader as ds
    import datashader.transfer_functions as tf

    from hill_viz.render import palette

    k = len(frame.class_names)
    key = list(palette(k))

    def bare(vp):
        canvas = ds.Canvas(vp.width, vp.height, vp.x_range, vp.y_range)
        agg = canvas.points(frame.df, "x", "y", agg=ds.by(ds.category_modulo("label", k), ds.count()))
        return tf.shade(agg, color_key=key)
    return bare


class _PeakRss:
    """Peak resident memory of this process (or of `pid` and its children, summed) while the block
    runs, sampled every 20 ms."""

    def __init__(self, pid: int | None = None):
        self.pid = pid

    def __enter__(self):
        import psutil

        self._proc = psutil.Process(self.pid)
        self.start_mb = self.peak_mb = self._rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _rss_mb(self) -> float:
        import psutil

        procs = [self._proc] + (self._proc.children(recursive=True) if self.pid is not None else [])
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:  # ended between the listing and the reading
                pass
        return total / 2**20

    def _poll(self):
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.pid is None:
            self.peak_mb = max(self.peak_mb, self._rss_mb())


def _workers() -> int:
    from distributed import default_client

    return len(default_client().scheduler_info()["workers"])


# -- lasso ----------------------------------------------------------------------------------

def _lasso_figures(frame, vertices: int, repeat: int, suffix: str = "") -> list[dict]:
    from hill_viz.bench.synthetic import lasso_polygon
    from hill_viz.core.edits import Selector
    from hill_viz.core.geometry import lasso_mask
    from hill_viz.scale import select

    n = len(frame)
    polygon = lasso_polygon(vertices)
    selector = Selector.of_lasso(polygon)
    select.summarize(frame, Selector.of_lasso(lasso_polygon(vertices, seed=5)))  # compile on the workers
    t_summary = best_time(lambda: select.summarize(frame, selector), repeat)
    summary = select.summarize(frame, selector)
    t_ids = best_time(lambda: select.selected_ids(frame, selector), max(1, repeat - 1))
    ids = select.selected_ids(frame, selector)
    checked, t_kernel = _check_sampled_partitions(frame, polygon, ids, lasso_mask)
    baseline = t_kernel * n / checked  # the kernel's in-process time per point, times N
    work = _rows_by_state(frame, selector)
    return [
        figure("scale_lasso_summary" + suffix, n, t_summary * 1e3, "ms", "lasso_mask_in_process_scaled_to_n",
               baseline * 1e3, vertices=vertices, selected=summary.count, sample=len(summary.sample),
               same_ids_as_matplotlib_on_points=checked, partitions=frame.npartitions, **work),
        figure("scale_lasso_ids" + suffix, n, t_ids * 1e3, "ms", "lasso_mask_in_process_scaled_to_n", baseline * 1e3,
               vertices=vertices, selected=len(ids), same_ids_as_matplotlib_on_points=checked),
    ]


def _rows_by_state(frame, selector) -> dict:
    """Rows the selection skips, takes whole, and tests point by point (by the block index)."""
    from hill_viz.core.geometry import INSIDE, MIXED, OUTSIDE
    from hill_viz.scale.select import block_states

    states = block_states(frame, selector)
    if states is None:
        return {"rows_skipped": 0, "rows_taken_whole": 0, "rows_tested": len(frame)}
    rows = frame.blocks.stop - frame.blocks.start
    return {"rows_skipped": int(rows[states == OUTSIDE].sum()), "rows_taken_whole": int(rows[states == INSIDE].sum()),
            "rows_tested": int(rows[states == MIXED].sum())}


def _check_sampled_partitions(frame, polygon, ids, lasso_mask, k: int = 3) -> tuple[int, float]:
    """The lasso's ids on k sampled partitions equal matplotlib's; the kernel's time on them."""
    from matplotlib.path import Path as MplPath

    rng = np.random.default_rng(0)
    picked = rng.choice(frame.npartitions, size=min(k, frame.npartitions), replace=False)
    checked, t_kernel = 0, 0.0
    for p in picked:
        part = frame.df.get_partition(int(p)).compute()
        x, y, pid = part["x"].to_numpy(), part["y"].to_numpy(), part["id"].to_numpy()
        expected = pid[MplPath(polygon).contains_points(np.column_stack([x, y]).astype(np.float64))]
        got = np.intersect1d(ids, pid, assume_unique=True)  # the selected ids of this partition
        if not np.array_equal(np.sort(expected), got):
            raise AssertionError(f"lasso ids differ from matplotlib's on partition {p}")
        t_kernel += best_time(lambda: lasso_mask(x, y, polygon), 2)
        checked += len(part)
    return checked, t_kernel


# -- latents and streaming ---------------------------------------------------------------------

def _latent_figures(work: Path, n: int, processes: bool = True) -> list[dict]:
    from hill_viz.core.model import ModelSpec, build_model, infer
    from hill_viz.core.projection import Projection
    from hill_viz.scale.cluster import ClusterSpec, connect
    from hill_viz.scale.generate import write_blobs
    from hill_viz.scale.latents import write_latents
    from hill_viz.scale.source import open_source

    folder = work / f"blobs-{n}"
    throughput = {}
    for workers in (1, 2):
        with connect(ClusterSpec(n_workers=workers, processes=processes)):
            if not folder.exists():
                write_blobs(folder, n, seed=0)
            source = open_source(folder)
            model = build_model(ModelSpec(source.n_features, source.n_classes), seed=0)
            z, _ = infer(model, source.dataset(source.parts[0]).features[:20_000])
            projection = Projection().fit(z)
            start = time.perf_counter()
            write_latents(source, model, projection, work / f"latents-{workers}")
            throughput[workers] = n / (time.perf_counter() - start)
    shutil.rmtree(work / "latents-1", ignore_errors=True)
    return [figure("scale_latents", n, throughput[2], "samples/s", "same_with_1_worker", throughput[1],
                   note="ratio = speedup of 2 workers over 1 (reads Parquet, infers, writes the frame)"),
            _stream_figure(source)]


def _stream_figure(source) -> dict:
    from hill_viz.scale.stream import BatchStream

    stream = BatchStream(source, batch_size=4096, seed=0, buffer_rows=1 << 20)
    rows = 0
    with _PeakRss() as peak:
        start = time.perf_counter()
        for batch in stream.batches(0):
            rows += len(batch.rows)
        elapsed = time.perf_counter() - start
    features_mb = source.n_samples * source.n_features * 4 / 2**20
    return figure("scale_stream_epoch", source.n_samples, peak.peak_mb, "MiB", "dataset_features", features_mb,
                  seconds=elapsed, rows=rows, buffer_rows=1 << 20, rss_before_mb=peak.start_mb,
                  growth_mb=peak.peak_mb - peak.start_mb,
                  note="peak RSS of this process over one epoch of shuffled batches (no model step)")


# -- training streamed from a folder ------------------------------------------------------------

def _train_figure(folder: Path, work: Path, engine: str) -> dict:
    """`hill-viz train --engine ENGINE --stream` on the folder as a child process: its peak RSS with
    its local cluster's processes, if any (summed, so pages they share count twice: an upper bound)."""
    import json
    import subprocess
    import sys

    from hill_viz.scale.stream import cached_source

    source = cached_source(folder)
    edits = work / "train-edits.json"
    edits.write_text(json.dumps([{"op": "contract", "selector": {"kind": "label", "label": 1},
                                  "params": {"factor": 0.5}}]))
    workspace = work / f"train-ws-{time.strftime('%Y%m%d-%H%M%S')}"
    sample = ["--sample", "200000"] if engine == "dask" else ["--n", "200000"]
    cmd = [sys.executable, "-m", "hill_viz.cli", "train", "--data", str(folder), "--engine", engine, *sample,
           "--stream", "--epochs", "1", "--edits", str(edits), "--edit-epochs", "1", "--projection", "pca",
           "--workspace", str(workspace), "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _PeakRss(proc.pid) as tree:
        out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"hill-viz train failed ({proc.returncode}): {err.strip()[-2000:]}")
    result = json.loads(out)
    shutil.rmtree(workspace, ignore_errors=True)
    features_mb = source.n_samples * source.n_features * 4 / 2**20
    return figure("scale_train_stream", source.n_samples, tree.peak_mb, "MiB", "dataset_features", features_mb,
                  seconds=elapsed, epochs=result["epochs"], val_acc=result["val_acc"], engine=result["engine"],
                  command=" ".join(cmd[1:]),
                  note="peak RSS of the train command and its cluster's processes, summed; one epoch over "
                       "every training row, then one with a teacher over a class (its ids over the folder); "
                       "on dask the latents of every row after each")

"""Where a Session's data lives: in memory (today's path) or on a Dask cluster.

The rule (`choose_engine`): a dataset folder whose float32 features, times
`MEMORY_FACTOR` (features, latents, frame, training copies: a 10^6 x 64 file peaks at about
6x its 256 MB of features), fit in the memory budget (half of this machine's RAM unless
given) is loaded in memory; a larger one runs on Dask. `--scheduler` always means Dask;
`engine="memory"` / `"dask"` overrides the rule.

On Dask (`ScaleState`): the whole folder's latents are computed per partition on the
cluster into `WORKSPACE/latents/` (a Parquet frame folder) and the cloud, selections'
counts and edits' ids come from it; the Session's in-memory `Dataset` and `LatentFrame`
are a seeded sample of at most `sample` rows, which training, the gallery and the table use.

With `stream_buffer` set (either engine), training streams instead: every epoch goes over
every training row of the folder in seeded batches from `BatchStream` (a shuffling buffer
of that many rows), the teachers cover the edits' ids over the whole folder (read from it
when applied: only the covered samples), and the in-memory sample serves validation, the
gallery and the table. The dataset's params record the buffer, so replay streams the same.

`EngineVerbs` is the Session's side of it (a mixin, like `editing.EditingVerbs`): its
settings (`engine`, `scheduler`, `sample`, `stream_buffer`), what the page shows
(`engine_status`, `latents_progress`, `big_frame`, `selection_count`) and `load_data`.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import param

from hill_viz.core.data import Dataset
from hill_viz.core.edits import Edit, ResolvedEdit, Selector
from hill_viz.core.ids import IdIndex
from hill_viz.core.teacher import Teacher
from hill_viz.errors import ConfigError
from hill_viz.session.access import mutating
from hill_viz.session.pending import PendingEdit

__all__ = ["DEFAULT_SAMPLE", "ENGINES", "EngineChoice", "EngineVerbs", "MEMORY_FACTOR", "ScaleState",
           "choose_engine", "teachable"]

ENGINES = ("auto", "memory", "dask")
MEMORY_FACTOR = 6
DEFAULT_SAMPLE = 200_000  # rows the Session holds in memory on Dask (training, gallery, table)


@dataclass(frozen=True)
class EngineChoice:
    engine: str            # "memory" | "dask"
    reason: str            # why, in words
    feature_bytes: int
    budget_bytes: int


def memory_budget() -> int:
    import psutil

    return psutil.virtual_memory().total // 2


def choose_engine(n_samples: int, n_features: int, *, engine: str = "auto", scheduler: str | None = None,
                  budget_bytes: int | None = None) -> EngineChoice:
    """Memory or Dask for a dataset of this size (see the module's rule)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if scheduler and engine == "memory":
        raise ConfigError("--scheduler needs the dask engine; drop --engine memory or the scheduler")
    budget = memory_budget() if budget_bytes is None else int(budget_bytes)
    need = int(n_samples) * int(n_features) * 4
    if scheduler:
        return EngineChoice("dask", f"scheduler {scheduler} given", need, budget)
    if engine != "auto":
        return EngineChoice(engine, "asked for", need, budget)
    fits = need * MEMORY_FACTOR <= budget
    reason = (f"{MEMORY_FACTOR} x {_gb(need)} of features {'fits' if fits else 'exceeds'} "
              f"the {_gb(budget)} memory budget")
    return EngineChoice("memory" if fits else "dask", reason, need, budget)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


class ScaleState:
    """The Dask side of a Session: cluster, source, and the whole folder's latent frame."""

    def __init__(self, folder: str | Path, choice: EngineChoice, scheduler: str | None, frame_folder: Path,
                 options: dict, seed: int = 0, workers: int | None = None, processes: bool = True):
        from hill_viz.scale.cluster import ClusterSpec, acquire, release
        from hill_viz.scale.stream import cached_source

        self.choice, self.frame_folder = choice, Path(frame_folder)
        # one cluster per spec in this process: a server's pages share it
        self.cluster = acquire(ClusterSpec(scheduler=scheduler, n_workers=workers, processes=processes))
        try:
            self.source = cached_source(folder, seed=seed, **options)
        except BaseException:
            release(self.cluster)
            raise
        self.frame = None  # DaskLatentFrame of every row, after `rebuild`
        self._version = 0
        shutil.rmtree(self.frame_folder, ignore_errors=True)  # derived data of an earlier run

    def status(self, sample_rows: int) -> str:
        """The page's and the CLI's one line on where the work runs."""
        d = self.cluster.describe()
        where = "a local Dask cluster" if d["local"] else f"Dask at {d['scheduler']}"
        parts = len(self.source.parts)
        return (f"engine: dask ({self.choice.reason}) on {where}, {d['workers']} workers, "
                f"{d['threads']} threads; {self.source.n_samples:,} rows in {parts} partition{'s' * (parts != 1)}, "
                f"training and samples on {sample_rows:,} of them")

    def rebuild(self, model, projection, progress=None):
        """Latents of every row, per partition on the cluster, into a new folder under `frame_folder`
        (the one before it is kept, the older ones go), then held in the workers' memory: the
        cloud and every selection read no Parquet (a frame's memory is freed once nothing refers to it)."""
        from hill_viz.scale import write_latents

        self._version += 1  # a new folder each time: the page may still be drawing the previous one
        self.frame = write_latents(self.source, model, projection, self.frame_folder / f"v{self._version:05d}",
                                   progress=progress).persist()
        for old in self.frame_folder.glob("v*"):
            if old.name < f"v{self._version - 1:05d}":
                shutil.rmtree(old, ignore_errors=True)
        return self.frame

    def summarize(self, selector: Selector, sample_size: int = 0):
        from hill_viz.scale import summarize

        return summarize(self.frame, selector, sample_size=sample_size)

    def resolve(self, edit: Edit, context) -> ResolvedEdit:
        """An edit's ids over every row (materialized now, as an edit is made)."""
        from hill_viz.core.edit_bounds import check_scale
        from hill_viz.scale import selected_ids

        check_scale(edit.op, dict(edit.params), context.x, context.y)
        partner = edit.partner
        return ResolvedEdit(edit, selected_ids(self.frame, edit.selector),
                            selected_ids(self.frame, partner) if partner is not None else None)

    def close(self) -> None:
        from hill_viz.scale.cluster import release

        release(self.cluster)


def teachable(resolved: ResolvedEdit, dataset: Dataset) -> ResolvedEdit:
    """The edit restricted to the ids the (sampled) training dataset holds."""
    index = IdIndex.of(dataset)
    keep = index.contains(resolved.ids)
    other = resolved.other_ids
    if other is not None:
        other = other[index.contains(other)]
    if keep.all() and (other is None or len(other) == len(resolved.other_ids)):
        return resolved
    return ResolvedEdit(resolved.edit, resolved.ids[keep], other)


class EngineVerbs(param.Parameterized):
    """The Session on a Parquet dataset folder: in memory, or on Dask with a sample in memory."""

    engine = param.Selector(default="auto", objects=list(ENGINES),
                            doc="Where a dataset folder goes: auto (`choose_engine`'s rule), memory or dask")
    scheduler = param.String(default="", doc="Address of an existing Dask scheduler for a dataset folder "
                             "('' : a local cluster when the data needs one)")
    sample = param.Integer(default=None, allow_None=True, bounds=(1, None),
                           doc="On Dask: rows held in memory for training, gallery and table "
                               "(None: DEFAULT_SAMPLE)")
    stream_buffer = param.Integer(default=None, allow_None=True, bounds=(2, None),
                                  doc="For a dataset folder: train on every training row, streamed through a "
                                      "seeded shuffling buffer of this many rows (None: on the in-memory rows)")
    engine_status = param.String(default="", doc="One line on where the data lives (memory or Dask)")
    latents_progress = param.Tuple(default=(0, 0), length=2, doc="(partitions done, partitions) of the "
                                   "Dask latents being computed; (0, 0) when none")
    big_frame = param.Parameter(default=None, doc="On Dask: the whole folder's DaskLatentFrame the cloud shows")
    selection_count = param.Integer(default=0, doc="Selected points over the whole data (on Dask, more than "
                                    "the sample `selection` holds)")

    _scale: ScaleState | None = None  # while the data runs on Dask
    _stream: tuple | None = None      # (ParquetSource, buffer rows) while training streams from a folder
    _latents_told = None              # load_data's progress callback

    @mutating
    def load_data(self, folder: str | Path, *, engine: str | None = None, scheduler: str | None = None,
                  sample: int | None = None, memory_budget: int | None = None, workers: int | None = None,
                  processes: bool = True, progress=None, n: int | None = None, seed: int = 0,
                  stream: int | None = None, **options) -> Dataset:
        """Open a Parquet dataset folder in memory or on Dask (`choose_engine`'s rule).

        `engine`, `scheduler` and `sample` default to the Session's settings; `n`: at most
        this many rows in memory (a seeded subset). On Dask the in-memory dataset is the
        seeded subset of `sample` rows (default `n`, else DEFAULT_SAMPLE) that training, the
        gallery and the table use (`folder_dataset`: the memory engine with the same `n`
        holds the same rows); every frame refresh computes the whole folder's latents on
        the cluster, and `progress(done, partitions)` is told as partitions finish.
        `stream` (default `stream_buffer`): train streamed, see the module.
        """
        from hill_viz.scale.stream import cached_source
        from hill_viz.session.session import UPLOADS

        self._require_idle()
        folder = self.limits.data_path(folder, own=[self.workspace.resolve(UPLOADS)])
        engine, scheduler = engine or self.engine, scheduler or self.scheduler or None
        source = cached_source(folder, seed=seed, **options)
        stream = stream or self.stream_buffer
        recorded = dict(options, **({"stream": stream} if stream else {}))
        rows = min(n or source.n_samples, source.n_samples)
        choice = choose_engine(rows, source.n_features, engine=engine, scheduler=scheduler,
                               budget_bytes=memory_budget)
        if choice.engine == "memory":
            self.limits.check_n(rows, str(folder))
            dataset = self._load(None, folder, dict(recorded, n=n, seed=seed))
            self._stream = (source, stream) if stream else None
            self.engine_status = f"engine: in memory ({choice.reason}); {dataset.n_samples:,} rows{self._streamed()}"
            return dataset
        rows = min(source.n_samples, sample or self.sample or n or DEFAULT_SAMPLE)
        self.limits.check_n(rows, f"the in-memory sample of {folder}")
        state = ScaleState(folder, choice, scheduler, self.workspace.path / "latents", options, seed,
                           workers, processes)
        try:
            dataset = self._load(None, folder, dict(recorded, n=rows, seed=seed))
        except BaseException:
            state.close()
            raise
        self._scale, self._latents_told = state, progress
        self._stream = (source, stream) if stream else None
        self.engine_status = state.status(dataset.n_samples) + self._streamed()
        return dataset

    def _follow_stream(self, params: dict | None) -> None:
        """A restored dataset trains as its params say: streamed from its folder, or not."""
        from hill_viz.scale.stream import cached_source

        buffer_rows = (params or {}).get("stream")
        if not buffer_rows:
            self._stream = None
            return
        options = {k: params[k] for k in ("features", "attributes", "splits") if params.get(k) is not None}
        self._stream = (cached_source(params["path"], seed=params["seed"], **options), buffer_rows)

    def _streamed(self) -> str:
        if self._stream is None:
            return ""
        source, buffer_rows = self._stream
        return f"; training streams every training row of {source.n_samples:,} (buffer {buffer_rows:,} rows)"

    def _batch_stream(self, trainer):
        """The epochs' batches when training streams (None: the in-memory dataset's rows)."""
        from hill_viz.scale.stream import BatchStream

        if self._stream is None:
            return None
        source, buffer_rows = self._stream
        return BatchStream(source, batch_size=trainer.config.batch_size, seed=trainer.config.seed,
                           buffer_rows=buffer_rows)

    def _teacher(self, pending: list[PendingEdit], config) -> Teacher:
        """The pending edits' teacher: on the in-memory dataset, or when training streams, on the
        samples they cover over the whole folder (read from it now), scaled by the in-memory sample."""
        from hill_viz.scale.stream import read_rows, rows_of_ids

        if self._stream is None:
            return Teacher(self.model, self.dataset, self.projection, [p.resolved for p in self._held(pending)],
                           config, seed=self.model_seed)
        resolved = [p.resolved for p in pending]
        ids = np.unique(np.concatenate([r.ids if r.other_ids is None else np.r_[r.ids, r.other_ids]
                                        for r in resolved]))                     # (K,) sorted int64
        covered = read_rows(self._stream[0], rows_of_ids(self._stream[0], ids))
        teacher = Teacher(self.model, covered, self.projection, resolved, config, seed=self.model_seed,
                          scale_from=self.dataset)
        teacher.check_streamable()
        return teacher

    def _drop_scale(self) -> None:
        if self._scale is not None:
            self._scale.close()
        self._scale = self._stream = None
        self._set(big_frame=None, engine_status="", latents_progress=(0, 0))

    def _refresh_big_frame(self) -> None:
        """On Dask: the whole folder's latents for the current model and projection (live
        rebuilds while training are paced by this cost too)."""
        if self._scale is not None:
            started = time.monotonic()
            self.big_frame = self._scale.rebuild(self.model, self.projection, self._tell_latents)
            self._frames.took_also(time.monotonic() - started)

    def _tell_latents(self, done: int, total: int) -> None:
        self.latents_progress = (done, total) if done < total else (0, 0)
        if self._latents_told is not None:
            self._latents_told(done, total)

    def _count_selected(self, selector: Selector, mask: np.ndarray) -> int:
        """Selected points over every row (the frame's mask in memory, the cluster's count on Dask)."""
        return int(mask.sum()) if self._scale is None else self._scale.summarize(selector).count

    def _resolve_edit(self, edit: Edit) -> ResolvedEdit:
        """An edit's ids on the current view: the frame's, or every row's on Dask."""
        context = self._require_frame().context()
        return edit.resolve(context) if self._scale is None else self._scale.resolve(edit, context)

    def _held(self, pending: list[PendingEdit]) -> list[PendingEdit]:
        """Pending edits as the in-memory dataset holds them (on Dask: the sample's ids only),
        for the teacher and the bias reports."""
        if self._scale is None:
            return pending
        return [PendingEdit(p.edit_id, teachable(p.resolved, self.dataset)) for p in pending]

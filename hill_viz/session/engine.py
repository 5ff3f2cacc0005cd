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
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hill_viz.core.edits import Edit, ResolvedEdit, Selector
from hill_viz.errors import ConfigError

__all__ = ["DEFAULT_SAMPLE", "ENGINES", "EngineChoice", "MEMORY_FACTOR", "ScaleState", "choose_engine"]

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
        from hill_viz.scale import ClusterSpec, connect
        from hill_viz.scale.stream import cached_source

        self.choice, self.frame_folder = choice, Path(frame_folder)
        self.cluster = connect(ClusterSpec(scheduler=scheduler, n_workers=workers, processes=processes))
        try:
            self.source = cached_source(folder, seed=seed, **options)
        except BaseException:
            self.cluster.close()
            raise
        self.frame = None  # DaskLatentFrame of every row, after `rebuild`

    def status(self, sample_rows: int) -> str:
        """The page's and the CLI's one line on where the work runs."""
        d = self.cluster.describe()
        where = "a local Dask cluster" if d["local"] else f"Dask at {d['scheduler']}"
        return (f"engine: dask ({self.choice.reason}) on {where}, {d['workers']} workers, "
                f"{d['threads']} threads; {self.source.n_samples:,} rows in {len(self.source.parts)} partitions, "
                f"training and samples on {sample_rows:,} of them")

    def rebuild(self, model, projection, progress=None):
        """Latents of every row, per partition on the cluster, into the frame folder."""
        from hill_viz.scale import write_latents

        self.frame = write_latents(self.source, model, projection, self.frame_folder, progress=progress)
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
        self.cluster.close()


def teachable(resolved: ResolvedEdit, dataset_ids: np.ndarray) -> ResolvedEdit:
    """The edit restricted to the ids the (sampled) training dataset holds."""
    keep = np.isin(resolved.ids, dataset_ids)
    other = resolved.other_ids
    if other is not None:
        other = other[np.isin(other, dataset_ids)]
    if keep.all() and (other is None or len(other) == len(resolved.other_ids)):
        return resolved
    return ResolvedEdit(resolved.edit, resolved.ids[keep], other)

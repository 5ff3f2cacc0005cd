"""The study: simulated users steering training, per strategy and seed, plus the oracle.

Every simulated session is a real `Session` on a workspace, driven the way a person
drives the app: train a while, look at the view, make edits, apply them (training with
the teacher), and again, for `rounds` rounds. Every strategy gets the same epochs and the
same teacher: the default `TeacherConfig()`, the one the app's Apply uses. The data is a
builtin with an attribute or a user's file with the attribute the users look at; for
builtins with a cue-free twin (`cue=False`), the oracle is the same model and budget
trained on that twin.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

import numpy as np

from hill_viz.core.teacher import TeacherConfig
from hill_viz.errors import ConfigError
from hill_viz.sim.stats import METRICS, summarize
from hill_viz.sim.strategies import STRATEGIES, View, make_strategy

Progress = Callable[[str], None]  # called after every epoch with the run's name


DEFAULT_SEEDS = tuple(range(8))  # enough for a paired 95% interval of a one-point difference


def sim_datasets() -> dict[str, tuple[str, ...]]:
    """The builtins the study runs on: those with an attribute, each with its attributes."""
    from hill_viz.core.data import list_datasets

    return {card.name: card.attributes for card in list_datasets() if card.attributes}


def has_oracle(dataset: str | None) -> bool:
    """Whether a builtin has a cue-free twin (a `cue` option) to train the oracle on."""
    from hill_viz.core.data.registry import BUILTINS

    return dataset in BUILTINS and isinstance(BUILTINS[dataset].defaults.get("cue"), bool)


@dataclass(frozen=True)
class StudyConfig:
    dataset: str | None = "digits-shortcut"  # a builtin with an attribute, or None with `data`
    data: str | None = None          # a Parquet, CSV or NPZ file instead of a builtin
    n: int | None = 10_000           # samples (a file: a random subset; None: all rows)
    attribute: str | None = None     # what the users see the view coloured by (None: the builtin's first)
    strategies: tuple[str, ...] = STRATEGIES
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    warmup_epochs: int = 4           # plain training before the first look
    rounds: int = 3
    round_epochs: int = 4            # training after each round's edits
    latent_dim: int = 16
    teacher: TeacherConfig = TeacherConfig()
    data_options: tuple[tuple[str, object], ...] = ()  # e.g. (("rho", 0.95),)
    projection: str | None = None    # the view's method: None = the sessions' default (umap)

    def __post_init__(self):
        if (self.dataset is None) == (self.data is None):
            raise ConfigError("give a builtin dataset (--dataset NAME) or a file (--data FILE --attribute NAME), "
                              "not both")
        if self.data is not None and not self.attribute:
            raise ConfigError(f"name the attribute the simulated users look at: --attribute COLUMN "
                              f"(a categorical column of {Path(self.data).name})")
        if self.dataset is not None:
            known = sim_datasets()
            if self.dataset not in known:
                raise ConfigError(f"simulate needs a builtin with an attribute (or --data FILE); "
                                  f"use {', '.join(known)} (got {self.dataset!r})")
            if self.attribute is None:
                object.__setattr__(self, "attribute", known[self.dataset][0])
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or not self.strategies:
            raise ConfigError(f"unknown strategy {unknown[0] if unknown else '(none given)'!r}; "
                              f"use one or more of {', '.join(STRATEGIES)}")
        if len(set(self.strategies)) != len(self.strategies) or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("each strategy and each seed may be named only once")
        if not self.seeds or min(self.seeds) < 0:
            raise ConfigError("give one or more non-negative seeds, e.g. --seeds 0,1,2")
        if self.rounds < 1 or self.round_epochs < 1 or self.warmup_epochs < 0:
            raise ConfigError("rounds and epochs per round must be at least 1, warm-up epochs at least 0")

    @property
    def total_epochs(self) -> int:
        return self.warmup_epochs + self.rounds * self.round_epochs

    @property
    def has_oracle(self) -> bool:
        return has_oracle(self.dataset)

    def load_options(self, seed: int, oracle: bool = False) -> dict:
        """The keyword arguments of `Session.load_dataset` for one seed (the oracle: the cue-free twin)."""
        source = {"name": self.dataset} if self.data is None else {"path": self.data}
        return {**source, "n": self.n, "seed": seed, **dict(self.data_options), **({"cue": False} if oracle else {})}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["teacher"] = self.teacher.to_dict()
        d["data_options"] = dict(self.data_options)
        return d


def check_data(config: StudyConfig) -> StudyConfig:
    """Load the first seed's data once: the attribute exists and has two values or more in the
    training split, and there is a test split. A file's numeric column is read as the attribute."""
    from hill_viz.core.data import load_dataset

    options = config.load_options(config.seeds[0])
    ds = load_dataset(**options)
    where = Path(config.data).name if config.data else f"dataset {config.dataset!r}"
    if config.attribute not in ds.attributes and config.data is not None:
        extra = (("attributes", [*ds.attributes, config.attribute]),)  # a numeric column, or a missing one
        config = replace(config, data_options=(*config.data_options, *extra))
        ds = load_dataset(**config.load_options(config.seeds[0]))
    if config.attribute not in ds.attributes:
        raise ConfigError(f"{where} has no attribute {config.attribute!r}; its attributes: "
                          f"{', '.join(ds.attributes) or 'none'}")
    train = ds.attributes[config.attribute][ds.indices("train")]
    if len(np.unique(train)) < 2:
        value = ds.attribute_categories[config.attribute][int(train[0])] if len(train) else "none"
        raise ConfigError(f"attribute {config.attribute!r} of {where} has one value ({value!r}) in the training "
                          "split; the study needs an attribute with two values or more")
    if len(ds.indices("test")) == 0:
        raise ConfigError(f"{where} has no test split; the study reports test accuracy: give rows "
                          "split=test, or drop the split column for a seeded split")
    return config


# -- one simulated session ----------------------------------------------------------------

def simulate(strategy: str, seed: int, config: StudyConfig, workspace: str | Path | None = None,
             oracle: bool = False, progress: Progress | None = None) -> dict:
    """One simulated session: its final metrics, its metrics after every round, its edit count.

    With `workspace` None the session records into a temporary workspace, removed after.
    `oracle` trains the same model and budget on the data without the cue, with no edits.
    """
    name = "oracle" if oracle else strategy
    user = make_strategy("none" if oracle else strategy)
    rng = np.random.default_rng([seed, 0x5E])
    with _workspace(workspace) as ws:
        s = _start_session(ws, name, seed, config, oracle, progress, bias_reports=workspace is not None)
        start = time.perf_counter()
        if config.warmup_epochs:
            s.train(config.warmup_epochs, wait=True)
        rounds = [_round_row(s, 0, 0, config.attribute)]
        for r in range(1, config.rounds + 1):
            edits = user.plan(View.of(s.frame, config.attribute), rng)  # look at the view, decide
            for edit in edits:
                s.add_edit(edit)
            if edits:
                s.apply_edits(config.round_epochs, config.teacher, wait=True)
            else:
                s.train(config.round_epochs, wait=True)
            rounds.append(_round_row(s, r, len(edits), config.attribute))
    final = rounds[-1]
    return {"strategy": name, "seed": seed, **{k: final[k] for k in METRICS},
            "n_edits": sum(r["n_edits"] for r in rounds), "epochs": final["epoch"],
            "seconds": round(time.perf_counter() - start, 2), "rounds": rounds}


def _start_session(ws, name: str, seed: int, config: StudyConfig, oracle: bool, progress: Progress | None,
                   bias_reports: bool):
    """A session on `ws` with the dataset loaded and a fresh model, as a person would start.

    Bias reports around each applied edit are for review: only worth their time in a kept workspace.
    """
    from hill_viz.session import Session  # torch: only when a study runs

    s = Session(ws, actor=f"simulated-{name}")
    s.live_frame = False  # the user looks once per round, not every epoch
    s.auto_bias = bias_reports
    if progress is not None:
        s.extra_callbacks = [_EpochHook(lambda: progress(f"{name} seed {seed}"))]
    s.load_dataset(**config.load_options(seed, oracle))
    s.build_model(latent_dim=config.latent_dim, seed=seed, projection=config.projection)
    return s


@contextlib.contextmanager
def _workspace(path: str | Path | None):
    """The given workspace, or a temporary one (no fsync: it is removed at the end)."""
    from hill_viz.core.provenance import Workspace

    temp = None if path is not None else tempfile.mkdtemp(prefix="hill-sim-")
    try:
        ws = Workspace(path) if path is not None else Workspace(temp, durable=False)
        try:
            yield ws
        finally:
            ws.close()
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _round_row(session, round_: int, n_edits: int, attribute: str) -> dict:
    """Metrics after a round, as the workspace recorded them at the end of its training segment,
    and the worst (label, attribute value) group of the test split for the users' attribute."""
    from hill_viz.core.group_metrics import worst_group_accuracy
    from hill_viz.core.training import predict

    segments = session.workspace.store.events(("training_segment",))
    m = segments[-1].metrics if segments else session.metrics()  # the user never sees test accuracy
    ds = session.dataset
    rows = ds.indices("test")
    correct = predict(session.model, ds, rows) == ds.labels[rows]
    worst, _, _ = worst_group_accuracy(ds.labels[rows], correct, ds.attributes[attribute][rows])
    return {"round": round_, "epoch": session.trainer.epoch, "n_edits": n_edits,
            "val_acc": m["val_acc"], "ood_acc": m["test_acc"], "worst_group_acc": worst,
            "gap": m["train_acc"] - m["val_acc"], "test_gap": m["train_acc"] - m["test_acc"]}


class _EpochHook:
    """A trainer callback that calls `fn` after every epoch."""

    def __init__(self, fn: Callable[[], None]):
        self.fn = fn

    def on_fit_start(self, trainer, total_steps): ...
    def on_batch_end(self, trainer, step, total_steps, loss): ...
    def on_fit_end(self, trainer, metrics): ...

    def on_epoch_end(self, trainer, epoch, metrics):
        self.fn()


# -- the study ------------------------------------------------------------------------------

def run_study(config: StudyConfig = StudyConfig(), workspace: str | Path | None = None,
              progress: Progress | None = None, jobs: int = 1) -> dict:
    """Every strategy and the oracle on every seed; returns rows, summary, oracle and targets.

    `workspace` records the one simulated session there (one strategy and one seed only).
    `jobs` > 1 runs that many sessions at once in worker processes (same results: every
    session is seeded and trains single-threaded).
    """
    if workspace is not None and (len(config.strategies) != 1 or len(config.seeds) != 1):
        raise ConfigError("a --workspace records one session: give one strategy and one seed "
                          f"(got {len(config.strategies)} strategies and {len(config.seeds)} seeds)")
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    config = check_data(config)
    tasks = [(strategy, seed, config, workspace, False) for seed in config.seeds for strategy in config.strategies]
    if config.has_oracle:
        tasks += [("none", seed, config, None, True) for seed in config.seeds]
    wall, cpu = time.perf_counter(), _cpu_seconds()
    runs = _run_parallel(tasks, jobs, progress) if jobs > 1 else [
        simulate(st, seed, cfg, ws, oracle=oracle, progress=progress) for st, seed, cfg, ws, oracle in tasks]
    result = summarize(runs)
    result["config"] = {**config.to_dict(), "jobs": jobs}
    result["timing"] = {"wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(_cpu_seconds() - cpu, 1),
                        "runs": len(runs), "epochs_per_run": config.total_epochs}
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _run_parallel(tasks: list[tuple], jobs: int, progress: Progress | None) -> list[dict]:
    """The sessions in `jobs` worker processes, results in task order; progress relayed by a queue."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
    with ctx.Manager() as manager, ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        queue = manager.Queue()
        relay = _QueueProgress(queue) if progress is not None else None
        futures = [pool.submit(simulate, st, seed, cfg, ws, oracle, relay) for st, seed, cfg, ws, oracle in tasks]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2)
            while progress is not None and not queue.empty():
                progress(queue.get())
        while progress is not None and not queue.empty():
            progress(queue.get())
        return [f.result() for f in futures]


class _QueueProgress:
    """A picklable progress callback for worker processes: puts the run's name on a queue."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, name: str) -> None:
        self.queue.put(name)

"""The study: simulated users steering training, per strategy and seed, plus the oracle.

Every simulated session is a real `Session` on a workspace, driven the way a person
drives the app: train a while, look at the view, make edits, apply them (training with
the teacher), and again, for `rounds` rounds. Every strategy gets the same epochs and the
same teacher settings. The oracle is the same model and budget trained on the twin
dataset without the planted cue.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

import numpy as np

from hill_viz.core.teacher import TeacherConfig
from hill_viz.errors import ConfigError
from hill_viz.sim.strategies import STRATEGIES, View, make_strategy

METRICS = ("val_acc", "ood_acc", "worst_group_acc", "gap")
SIM_DATASETS = ("digits-shortcut",)  # builtins with a planted cue and a cue-free twin (the oracle)

# The relational reading of an edit carries the user's intent; the position term only
# nudges (a large one drags points wherever a careless edit says, see docs/results.md).
STUDY_TEACHER = TeacherConfig(lambda_=0.1, relational=1.0, positives="across")

Progress = Callable[[str], None]  # called after every epoch with the run's name


@dataclass(frozen=True)
class StudyConfig:
    dataset: str = "digits-shortcut"
    n: int = 10_000
    attribute: str = "cue"           # the attribute the users see the view coloured by
    strategies: tuple[str, ...] = STRATEGIES
    seeds: tuple[int, ...] = (0, 1, 2)
    warmup_epochs: int = 4           # plain training before the first look
    rounds: int = 3
    round_epochs: int = 4            # training after each round's edits
    latent_dim: int = 16
    teacher: TeacherConfig = STUDY_TEACHER
    data_options: tuple[tuple[str, object], ...] = ()  # e.g. (("rho", 0.95),)
    projection: str | None = None    # the view's method: None = the sessions' default (umap)

    def __post_init__(self):
        if self.dataset not in SIM_DATASETS:
            raise ConfigError(f"simulate needs a dataset with a planted cue and a cue-free twin for the oracle; "
                              f"use {', '.join(SIM_DATASETS)} (got {self.dataset!r})")
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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["teacher"] = self.teacher.to_dict()
        d["data_options"] = dict(self.data_options)
        return d


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
        rounds = [_round_row(s, 0, 0)]
        for r in range(1, config.rounds + 1):
            edits = user.plan(View.of(s.frame, config.attribute), rng)  # look at the view, decide
            for edit in edits:
                s.add_edit(edit)
            if edits:
                s.apply_edits(config.round_epochs, config.teacher, wait=True)
            else:
                s.train(config.round_epochs, wait=True)
            rounds.append(_round_row(s, r, len(edits)))
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
    options = {**dict(config.data_options), **({"cue": False} if oracle else {})}
    s.load_dataset(config.dataset, n=config.n, seed=seed, **options)
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


def _round_row(session, round_: int, n_edits: int) -> dict:
    """Metrics after a round, as the workspace recorded them at the end of its training segment."""
    segments = session.workspace.store.events(("training_segment",))
    m = segments[-1].metrics if segments else session.metrics()  # the user never sees test accuracy
    return {"round": round_, "epoch": session.trainer.epoch, "n_edits": n_edits,
            "val_acc": m["val_acc"], "ood_acc": m["test_acc"], "worst_group_acc": m["worst_group_acc"],
            "gap": m["train_acc"] - m["val_acc"]}


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
    tasks = [(strategy, seed, config, workspace, False) for seed in config.seeds for strategy in config.strategies]
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


def summarize(runs: list[dict]) -> dict:
    """The JSON result: rows, summary per strategy, oracle, per-round rows and the issue's targets."""
    rows = [{k: r[k] for k in ("strategy", "seed", *METRICS, "n_edits")} for r in runs if r["strategy"] != "oracle"]
    per_round = [{"strategy": r["strategy"], "seed": r["seed"], **x} for r in runs for x in r["rounds"]]
    oracle_runs = [r for r in runs if r["strategy"] == "oracle"]
    oracle = _mean_std(oracle_runs) if oracle_runs else {}
    summary = {}
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        summary[strategy] = {**_mean_std(mine), "n_edits": float(np.mean([r["n_edits"] for r in mine]))}
    if "none" in summary and oracle:
        span = oracle["ood_acc"] - summary["none"]["ood_acc"]
        for s in summary.values():
            s["ood_gap_closed"] = (s["ood_acc"] - summary["none"]["ood_acc"]) / span if span > 0 else None
    return {"rows": rows, "summary": summary, "oracle": oracle, "per_round": per_round,
            "targets": targets(rows, summary)}


def _mean_std(runs: list[dict]) -> dict:
    out = {"n_seeds": len(runs)}
    for k in METRICS:
        values = np.array([r[k] for r in runs], dtype=float)
        out[k] = float(values.mean())
        out[f"{k}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def targets(rows: list[dict], summary: dict) -> dict:
    """The issue's done-criteria, measured (absent when a strategy they need was not run)."""
    out = {}
    if "none" not in summary:
        return out
    none = summary["none"]
    if "expert" in summary and summary["expert"].get("ood_gap_closed") is not None:
        e = summary["expert"]
        out["expert_closes_half_the_ood_gap"] = {"value": e["ood_gap_closed"], "target": ">= 0.5",
                                                 "met": e["ood_gap_closed"] >= 0.5}
        loss = none["val_acc"] - e["val_acc"]
        out["expert_val_acc_loss"] = {"value": loss, "target": "<= 0.03", "met": loss <= 0.03}
    if "biased" in summary:
        diff = summary["biased"]["ood_acc"] - none["ood_acc"]
        out["biased_ood_below_none"] = {"value": diff, "target": "< 0", "met": diff < 0}
    if "random" in summary:
        diff, se = paired_difference(rows, "random", "none", "ood_acc")
        out["random_ood_within_noise_of_none"] = {
            "value": diff, "noise": None if se is None else 2 * se, "target": "|difference| <= 2 paired SE",
            "met": None if se is None else abs(diff) <= 2 * se}
    return out


def paired_difference(rows: list[dict], a: str, b: str, metric: str) -> tuple[float, float | None]:
    """Mean over seeds of a - b, and its standard error from the per-seed differences."""
    by = {(r["strategy"], r["seed"]): r[metric] for r in rows}
    seeds = sorted({s for (st, s) in by if st == a} & {s for (st, s) in by if st == b})
    diffs = np.array([by[(a, s)] - by[(b, s)] for s in seeds])
    if len(diffs) < 2:
        return float(diffs.mean()) if len(diffs) else float("nan"), None
    return float(diffs.mean()), float(diffs.std(ddof=1) / np.sqrt(len(diffs)))

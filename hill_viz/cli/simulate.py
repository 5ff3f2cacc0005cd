"""`hill-viz simulate`: simulated users steer training; prints the results table (or JSON)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hill_viz.cli._common import add_projection_option, finite_float, non_negative_int, positive_int, print_json
from hill_viz.errors import ConfigError

DEFAULT_JOBS = min(2, os.cpu_count() or 1)


def register(sub) -> None:
    from hill_viz.sim.strategies import STRATEGIES
    from hill_viz.sim.study import SIM_DATASETS, StudyConfig

    d = StudyConfig()
    p = sub.add_parser("simulate", help="simulated users steer training: expert, biased and random edits vs none",
                       description="Scripted users train a while, look at the latent view, edit it through the "
                       "same Session API the app uses, and train again, for R rounds. Reports val, OOD and "
                       "worst-group accuracy per strategy and seed, and the oracle (no cue in the data).")
    p.add_argument("--dataset", default=d.dataset, choices=SIM_DATASETS, help=f"default {d.dataset}")
    p.add_argument("--n", type=positive_int, default=d.n, help=f"samples (default {d.n})")
    p.add_argument("--strategy", type=_names(STRATEGIES), default=d.strategies,
                   help=f"comma-separated strategies: {', '.join(STRATEGIES)} (default all)")
    p.add_argument("--rounds", type=positive_int, default=d.rounds, help=f"look-edit-train rounds (default {d.rounds})")
    p.add_argument("--round-epochs", type=positive_int, default=d.round_epochs,
                   help=f"epochs trained after each round's edits (default {d.round_epochs})")
    p.add_argument("--warmup-epochs", type=non_negative_int, default=d.warmup_epochs,
                   help=f"plain epochs before the first look (default {d.warmup_epochs})")
    p.add_argument("--seeds", type=_seeds, default=d.seeds, help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--lambda", dest="lambda_", type=finite_float, default=d.teacher.lambda_,
                   help=f"teacher position weight (default {d.teacher.lambda_})")
    p.add_argument("--relational", type=finite_float, default=d.teacher.relational,
                   help=f"teacher contrastive weight (default {d.teacher.relational})")
    p.add_argument("--positives", choices=("group", "across"), default=d.teacher.positives,
                   help=f"contrastive positives (default {d.teacher.positives})")
    p.add_argument("--jobs", type=positive_int, default=DEFAULT_JOBS,
                   help=f"sessions run at once, in worker processes (default {DEFAULT_JOBS}: one per core, up to 2)")
    p.add_argument("--workspace", type=Path,
                   help="record the simulated session in this workspace (one strategy and one seed)")
    p.add_argument("--out", type=Path, help="write results.csv, summary.csv, results.md, ood_by_round.png here")
    add_projection_option(p)
    p.add_argument("--json", action="store_true", help='print one JSON object {"rows", "summary", "oracle", ...}')
    p.set_defaults(run=run)


def _names(allowed):
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in names if t not in allowed]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"unknown strategy {bad[0] if bad else text!r}; "
                                             f"use one or more of {', '.join(allowed)}, comma-separated")
        return names
    return parse


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be whole numbers, comma-separated (e.g. 0,1,2), got {text!r}")
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be numbers >= 0, comma-separated, got {text!r}")
    return seeds


def run(args) -> int:
    from tqdm import tqdm

    from hill_viz.core.teacher import TeacherConfig
    from hill_viz.sim.report import write_outputs
    from hill_viz.sim.study import StudyConfig, run_study

    teacher = TeacherConfig(lambda_=args.lambda_, relational=args.relational, positives=args.positives)
    config = StudyConfig(dataset=args.dataset, n=args.n, strategies=args.strategy, seeds=args.seeds,
                         rounds=args.rounds, round_epochs=args.round_epochs, warmup_epochs=args.warmup_epochs,
                         teacher=teacher, projection=args.projection)
    if args.workspace is not None and args.workspace.exists() and any(args.workspace.iterdir()):
        raise ConfigError(f"workspace {args.workspace} is not empty; give a new folder for the simulated session")
    total = (len(config.strategies) + 1) * len(config.seeds) * config.total_epochs
    with tqdm(total=total, desc="simulating", unit="epoch", file=sys.stderr, leave=False) as bar:
        def progress(name: str) -> None:
            bar.set_description(name, refresh=False)
            bar.update(1)
        result = run_study(config, workspace=args.workspace, progress=progress, jobs=args.jobs)
    if args.out is not None:
        paths = write_outputs(result, args.out)
        result["outputs"] = [str(p) for p in paths]
    if args.workspace is not None:
        result["workspace"] = str(args.workspace)
    if args.json:
        print_json(result)
    else:
        _print_report(result, args.out)
    return 0


def _print_report(result: dict, out: Path | None) -> None:
    from hill_viz.sim.report import to_markdown

    print(to_markdown(result), end="")
    for name, t in result["targets"].items():
        met = {True: "met", False: "NOT met", None: "n/a (needs 2+ seeds)"}[t["met"]]
        print(f"{name}: {t['value']:+.3f} (target {t['target']}): {met}")
    timing = result["timing"]
    print(f"{timing['runs']} sessions of {timing['epochs_per_run']} epochs in {timing['wall_s']:.0f} s "
          f"({timing['cpu_s']:.0f} s CPU)" + (f"; outputs in {out}" if out else ""))

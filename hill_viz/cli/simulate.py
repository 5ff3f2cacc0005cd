"""`hill-viz simulate`: simulated users steer training; prints the results table (or JSON)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hill_viz.cli._common import add_projection_option, non_negative_int, positive_int, print_json
from hill_viz.cli.teacher_options import add_teacher_options, teacher_config
from hill_viz.errors import ConfigError

DEFAULT_JOBS = min(2, os.cpu_count() or 1)


def register(sub) -> None:
    from hill_viz.sim.strategies import STRATEGIES
    from hill_viz.sim.study import StudyConfig, sim_datasets

    d = StudyConfig()
    p = sub.add_parser("simulate", help="simulated users steer training: expert, biased and random edits vs none",
                       description="Scripted users train a while, look at the latent view coloured by an "
                       "attribute, edit it through the same Session API the app uses, and train again, for R "
                       "rounds. Reports val, test and worst (label, attribute) group accuracy per strategy "
                       "with 95% intervals over seeds, and for builtins with a cue-free twin the oracle.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", choices=sorted(sim_datasets()),
                     help=f"a builtin with an attribute (default {d.dataset})")
    src.add_argument("--data", type=Path, help="a Parquet, CSV or NPZ file with a categorical attribute column")
    p.add_argument("--attribute", help="the attribute the users look at (required with --data; "
                   "default: the builtin's, e.g. cue)")
    p.add_argument("--n", type=positive_int, help=f"samples (default {d.n} for builtins, all rows of a file)")
    p.add_argument("--strategy", type=_names(STRATEGIES), default=d.strategies,
                   help=f"comma-separated strategies: {', '.join(STRATEGIES)} (default all)")
    p.add_argument("--rounds", type=positive_int, default=d.rounds, help=f"look-edit-train rounds (default {d.rounds})")
    p.add_argument("--round-epochs", type=positive_int, default=d.round_epochs,
                   help=f"epochs trained after each round's edits (default {d.round_epochs})")
    p.add_argument("--warmup-epochs", type=non_negative_int, default=d.warmup_epochs,
                   help=f"plain epochs before the first look (default {d.warmup_epochs})")
    p.add_argument("--seeds", type=_seeds, default=d.seeds,
                   help=f"comma-separated seeds (default {','.join(map(str, d.seeds))})")
    add_teacher_options(p)
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

    from hill_viz.sim.report import write_outputs
    from hill_viz.sim.study import StudyConfig, check_data, run_study

    source = {"dataset": None, "data": str(args.data), "n": args.n} if args.data else {
        "dataset": args.dataset or StudyConfig.dataset, "n": args.n or StudyConfig.n}
    config = StudyConfig(**source, attribute=args.attribute, strategies=args.strategy, seeds=args.seeds,
                         rounds=args.rounds, round_epochs=args.round_epochs, warmup_epochs=args.warmup_epochs,
                         teacher=teacher_config(args), projection=args.projection)
    config = check_data(config)  # a missing or one-valued attribute: one line, before any training
    if args.workspace is not None and args.workspace.exists() and any(args.workspace.iterdir()):
        raise ConfigError(f"workspace {args.workspace} is not empty; give a new folder for the simulated session")
    total = (len(config.strategies) + config.has_oracle) * len(config.seeds) * config.total_epochs
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
        ci = f", 95% CI [{t['ci95'][0]:+.3f}, {t['ci95'][1]:+.3f}], p={t['p']:.2f}" if t.get("ci95") else ""
        print(f"{name}: {t['value']:+.3f}{ci} (target {t['target']}): {met}")
    timing = result["timing"]
    print(f"{timing['runs']} sessions of {timing['epochs_per_run']} epochs in {timing['wall_s']:.0f} s "
          f"({timing['cpu_s']:.0f} s CPU)" + (f"; outputs in {out}" if out else ""))

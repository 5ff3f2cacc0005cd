"""The teacher's options on the command line: one set, defaults from `TeacherConfig()`.

`hill-viz train --edits` and `hill-viz simulate` both read them, so both start from the
same evidence-backed teacher the app's Apply uses.
"""
from __future__ import annotations

from hill_viz.cli._common import finite_float
from hill_viz.core.teacher import LOSS_MODES, POSITIVES, TeacherConfig


def add_teacher_options(parser) -> None:
    d = TeacherConfig()
    g = parser.add_argument_group("teacher (defaults: the evidence-backed teacher, see docs/results.md)")
    g.add_argument("--lambda", dest="lambda_", type=finite_float, default=d.lambda_,
                   help=f"position term weight (default {d.lambda_})")
    g.add_argument("--relational", type=finite_float, default=d.relational,
                   help=f"contrastive term weight (default {d.relational})")
    g.add_argument("--positives", choices=POSITIVES, default=d.positives,
                   help=f"contrastive positives (default {d.positives})")
    g.add_argument("--tau", type=finite_float, default=d.tau, help=f"contrastive temperature (default {d.tau})")
    g.add_argument("--mu", type=finite_float, default=d.mu,
                   help=f"anchor weight for uncovered samples (default {d.mu})")
    g.add_argument("--loss-mode", choices=LOSS_MODES, default=d.mode, help=f"position term (default {d.mode})")


def teacher_config(args) -> TeacherConfig:
    """The TeacherConfig the parsed options name (raises ConfigError on a bad value)."""
    return TeacherConfig(lambda_=args.lambda_, mode=args.loss_mode, mu=args.mu, relational=args.relational,
                         tau=args.tau, positives=args.positives)

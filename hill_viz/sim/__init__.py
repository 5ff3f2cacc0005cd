"""Simulated users: scripted people who steer training by editing the latent view.

`run_study` runs every strategy and the oracle on every seed; `write_outputs` writes the
table (CSV, Markdown) and the plot; `stats` the intervals and paired tests over seeds.
`hill-viz simulate` is the command line for both.
"""
from hill_viz.sim.report import rows_table, summary_table, to_markdown, write_outputs
from hill_viz.sim.strategies import STRATEGIES, Biased, Expert, RandomEdits, Strategy, View, make_strategy
from hill_viz.sim.stats import combine, paired, summarize
from hill_viz.sim.study import DEFAULT_SEEDS, StudyConfig, check_data, run_study, sim_datasets, simulate

__all__ = [
    "STRATEGIES",
    "DEFAULT_SEEDS",
    "Biased",
    "Expert",
    "RandomEdits",
    "Strategy",
    "StudyConfig",
    "View",
    "check_data",
    "combine",
    "make_strategy",
    "paired",
    "rows_table",
    "run_study",
    "sim_datasets",
    "simulate",
    "summarize",
    "summary_table",
    "to_markdown",
    "write_outputs",
]

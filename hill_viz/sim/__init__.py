"""Simulated users: scripted people who steer training by editing the latent view.

`run_study` runs every strategy and the oracle on every seed; `write_outputs` writes the
table (CSV, Markdown) and the plot. `hill-viz simulate` is the command line for both.
"""
from hill_viz.sim.report import rows_table, summary_table, to_markdown, write_outputs
from hill_viz.sim.strategies import STRATEGIES, Biased, Expert, RandomEdits, Strategy, View, make_strategy
from hill_viz.sim.study import STUDY_TEACHER, StudyConfig, run_study, simulate, summarize

__all__ = [
    "STRATEGIES",
    "STUDY_TEACHER",
    "Biased",
    "Expert",
    "RandomEdits",
    "Strategy",
    "StudyConfig",
    "View",
    "make_strategy",
    "rows_table",
    "run_study",
    "simulate",
    "summarize",
    "summary_table",
    "to_markdown",
    "write_outputs",
]

"""Lasso/box selection vs matplotlib Path.contains_points. Same as `hill-viz bench select`.

(Not named select.py: a script of that name would shadow the standard library module `select`.)
"""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "select", *sys.argv[1:]]))

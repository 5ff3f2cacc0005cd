"""Bias alert rates of scripted edits over 5 seeds, and the predicted-report time at 10^6 samples.

Same as `hill-viz bench bias`; pass its options (e.g. --seeds 0,1,2 --big-n 0).
"""
import os
import sys

# this folder holds scripts named like stdlib modules (select.py): keep it off the import path
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]

from hill_viz.cli import main  # noqa: E402

sys.exit(main(["bench", "bias", *sys.argv[1:]]))

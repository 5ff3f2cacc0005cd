"""Bias alert rates of scripted edits over 5 seeds, and the predicted-report time at 10^6 samples.

Same as `hill-viz bench bias`; pass its options (e.g. --seeds 0,1,2 --big-n 0).
"""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "bias", *sys.argv[1:]]))

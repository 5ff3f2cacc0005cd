"""Bias calibration of single edits on digits-shortcut and tabular-shortcut over 3 seeds: per
edit kind the share of ok / warn / alert in each phase, per indicator the ROC AUC of biased
vs benign; and, with --big-n 1000000, the predicted-report time at 10^6 samples.

Same as `hill-viz bench bias`; pass its options (e.g. --quick, --seeds 0,1,2 --cases 3).
"""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "bias", *sys.argv[1:]]))

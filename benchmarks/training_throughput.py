"""Training throughput, plain vs distillation epoch. Same as `hill-viz bench training`."""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "training", *sys.argv[1:]]))

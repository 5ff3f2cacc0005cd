"""A 10,000-event workspace opens and draws its timeline in < 1 s. Same as `hill-viz bench timeline`."""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "timeline", *sys.argv[1:]]))

"""Id -> row lookups with one IdIndex vs an argsort per call. Same as `hill-viz bench ids`."""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "ids", *sys.argv[1:]]))

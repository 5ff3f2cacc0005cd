"""Box-selection round trip in the browser, training running vs idle. Same as `hill-viz bench ui`."""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "ui", *sys.argv[1:]]))

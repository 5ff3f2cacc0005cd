"""Viewport rendering vs bare Datashader, matplotlib and Bokeh; memory. Same as `hill-viz bench render`."""
import sys

from hill_viz.cli import main

sys.exit(main(["bench", "render", *sys.argv[1:]]))

import sys

from hill_viz.cli import main

sys.exit(main())

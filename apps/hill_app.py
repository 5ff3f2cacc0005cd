"""The HILL app for `panel serve apps/hill_app.py` (each browser session runs this script:
its own Session on its own sub-workspace of workspaces/default). `hill-viz serve` is the
same app with options."""
from hill_viz.ui.app import build_app, new_session

build_app(new_session()).servable()

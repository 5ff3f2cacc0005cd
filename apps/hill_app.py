"""The HILL app for `panel serve apps/hill_app.py`: the workspace list of workspaces/default,
and each workspace at `/hill_app?workspace=ID` (review: `&mode=review`). `hill-viz serve` is
the same site with options."""
import panel as pn

from hill_viz.ui.app import DEFAULT_WORKSPACE_ROOT
from hill_viz.ui.site import Site

site = pn.state.as_cached("hill-viz-site", lambda: Site(DEFAULT_WORKSPACE_ROOT))  # one per server
site.factory().servable()

"""Panel components, one per concern: each a SessionComponent (a Viewer holding the Session it shows)."""
from hill_viz.ui.breakdown import Breakdown
from hill_viz.ui.component import SessionComponent
from hill_viz.ui.explore import explore_app, explore_session
from hill_viz.ui.gallery import Gallery
from hill_viz.ui.latent_view import LatentView
from hill_viz.ui.selection_table import SelectionTable

__all__ = ["Breakdown", "Gallery", "LatentView", "SelectionTable", "SessionComponent", "explore_app",
           "explore_session"]

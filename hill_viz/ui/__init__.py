"""Panel components, one per concern: each a Viewer holding the Session it shows."""
from hill_viz.ui.breakdown import Breakdown
from hill_viz.ui.explore import explore_app, explore_session
from hill_viz.ui.gallery import Gallery
from hill_viz.ui.latent_view import LatentView
from hill_viz.ui.selection_table import SelectionTable

__all__ = ["Breakdown", "Gallery", "LatentView", "SelectionTable", "explore_app", "explore_session"]

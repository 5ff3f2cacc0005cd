"""Serving a team: sign-in options, the lazily built page, limits, and the operator view.

    config    ServeConfig (what `hill-viz serve` was told) and Auth (Panel's sign-in options)
    pages     PageRegistry: the open pages, the session limit, the training queue, disk use
    page      the page factory: an empty shell on GET; the Site (workspace list, app, review)
              built into it once the websocket opens
    admin     the operator view (admins only)
    housekeeping  retention: old workspaces pruned on start and every hour
    server    make_server: pn.serve with all of the above
"""
from hill_viz.serve.config import Auth, ServeConfig
from hill_viz.serve.pages import PageRegistry
from hill_viz.serve.server import make_server

__all__ = ["Auth", "PageRegistry", "ServeConfig", "make_server"]

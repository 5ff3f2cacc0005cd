"""make_server: one Panel server for the app, with sign-in, limits and the operator view."""
from __future__ import annotations

import panel as pn

from hill_viz.core.foreground import set_busy_test
from hill_viz.serve.admin import admin_factory
from hill_viz.serve.config import Auth, ServeConfig
from hill_viz.serve.heartbeat import Heartbeat
from hill_viz.serve.page import TITLE, page_factory
from hill_viz.serve.pages import PageRegistry
from hill_viz.ui.upload import CHUNK_BYTES

__all__ = ["WEBSOCKET_MAX_BYTES", "make_server"]

# uploads travel in CHUNK_BYTES pieces, so one message never needs more than this
WEBSOCKET_MAX_BYTES = max(20 * 2**20, 4 * CHUNK_BYTES)
# permessage-deflate: the cloud travels as raw RGBA images (about 4 MB at 1000 x 1050 pixels) that are
# mostly transparent; zlib level 1 takes a few ms to send a sparse cloud as 1-15% of that
WEBSOCKET_COMPRESSION_LEVEL = 1


def make_server(config: ServeConfig, auth: Auth = Auth(), port: int = 0, address: str = "127.0.0.1",
                origins: list[str] | None = None, threaded: bool = False):
    """A Panel server, not yet started (threaded=True: running in a thread of its own).

    `.registry` holds its pages, `.site` the Site it serves at `/` (workspace list, app,
    review: `hill_viz.ui.site`), `.heartbeat` its event loop's lag, which training steps in
    this process wait on (`hill_viz.core.foreground`). Process-wide settings (torch threads,
    the dataset cache) are the caller's: see `hill_viz.cli.serve`.
    """
    registry = PageRegistry(config.root, config.max_sessions, config.max_trainings, config.limits.disk)
    page = page_factory(config, registry)
    apps = {"/": page}
    if config.admins:
        apps["/admin"] = admin_factory(config, registry)
    server = pn.serve(apps, port=port, address=address, show=False, start=threaded, threaded=threaded,
                      title=TITLE, verbose=False, websocket_origin=origins or [f"127.0.0.1:{port}", f"localhost:{port}"],
                      websocket_max_message_size=WEBSOCKET_MAX_BYTES,
                      websocket_compression_level=WEBSOCKET_COMPRESSION_LEVEL, **auth.serve_kwargs())
    server.registry, server.site = registry, page.site
    loop = server.asyncio_loop if threaded else server.io_loop.asyncio_loop  # threaded: a StoppableThread
    server.heartbeat = Heartbeat(loop)
    set_busy_test(server.heartbeat.busy)  # training steps wait while the pages need the loop
    return server

"""Explore a model's latent space: `panel serve apps/explore.py`.

Each browser session trains its own model on its own temporary workspace. Choose the data
with URL arguments (`?dataset=blobs&n=1000000&epochs=0`) or environment variables
(HILL_VIZ_DATASET, HILL_VIZ_N, HILL_VIZ_EPOCHS); the default is digits-shortcut,
10,000 samples, 2 epochs.
"""
import os

import holoviews as hv
import panel as pn

from hill_viz.ui.explore import explore_app, explore_session

hv.extension("bokeh")
pn.extension("tabulator", notifications=True)


def _option(name: str, default: str) -> str:
    values = pn.state.session_args.get(name) if pn.state.session_args else None
    return values[0].decode() if values else os.environ.get(f"HILL_VIZ_{name.upper()}", default)


session = explore_session(_option("dataset", "digits-shortcut"), n=int(_option("n", "10000")),
                          epochs=int(_option("epochs", "2")))
explore_app(session).servable()

"""The explore app: a model's latent view with its breakdown, gallery and table. No editing.

`explore_session` loads a dataset, builds a model and starts training in the Session's
worker; `explore_app(session)` lays the components out around that Session. Both are
used by `apps/explore.py` (one Session per browser session) and by the tests.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import panel as pn

from hill_viz.session import Session
from hill_viz.ui.app import PAGE_TEMPLATE
from hill_viz.ui.breakdown import Breakdown
from hill_viz.ui.gallery import Gallery
from hill_viz.ui.latent_view import LatentView, ensure_bokeh
from hill_viz.ui.selection_table import SelectionTable
from hill_viz.ui.session_watch import page_tick

__all__ = ["explore_app", "explore_session"]

STATUS_POLL_MS = 500


def explore_session(dataset: str = "digits-shortcut", n: int | None = 10_000, epochs: int = 2,
                    workspace: str | Path | None = None, **dataset_options) -> Session:
    """A Session with `dataset` loaded, a fresh model, and `epochs` epochs training in its worker.

    The workspace defaults to a new folder under `$HILL_VIZ_WORKSPACES` (else the system's
    temporary folder).
    """
    if workspace is None:
        root = os.environ.get("HILL_VIZ_WORKSPACES") or tempfile.gettempdir()
        Path(root).mkdir(parents=True, exist_ok=True)
        workspace = tempfile.mkdtemp(prefix="hill-explore-", dir=root)
    session = Session(workspace)
    session.load_dataset(dataset, **({"n": n} if n else {}), **dataset_options)
    session.build_model()
    if epochs:
        session.train(epochs)
    return session


def _status(session: Session) -> str:
    ds = session.dataset
    what = f"**{ds.name}**, {ds.n_samples:,} samples, {ds.n_classes} classes" if ds is not None else "no dataset"
    state = session.status
    if state in ("training", "paused"):
        state = f"{state} ({session.progress:.0%})"
    last = session.history[-1] if session.history else None
    scores = "".join(f" · {k} {last[k]:.3f}" for k in ("train_acc", "val_acc") if last and k in last)
    return f"{what} · model: {state}{scores}"


def explore_app(session: Session, title: str = "hill-viz · explore") -> pn.template.FastListTemplate:
    """The page: latent view on top, breakdown and gallery beside each other, then the table."""
    ensure_bokeh()
    pn.extension("tabulator")
    view = LatentView(session=session)
    breakdown = Breakdown(session=session)
    gallery = Gallery(session=session)
    table = SelectionTable(session=session)
    status = pn.pane.Markdown(_status(session), css_classes=["hill-status"])
    template = pn.template.FastListTemplate(
        title=title, accent=PAGE_TEMPLATE["header_background"], main_layout=None, **PAGE_TEMPLATE,
        main=[pn.Column(status, view, pn.Row(pn.Column("### Selection breakdown", breakdown, sizing_mode="stretch_width"),
                                             pn.Column("### Gallery", gallery), sizing_mode="stretch_width"),
                        "### Selected rows", table, sizing_mode="stretch_width")])
    template.explore = {"view": view, "breakdown": breakdown, "gallery": gallery, "table": table, "status": status}
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        page_tick(lambda: setattr(status, "object", _status(session)), STATUS_POLL_MS)
        pn.state.on_session_destroyed(lambda context: session.cancel())
    return template

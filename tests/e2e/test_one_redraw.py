"""On a page in chromium, one Session change redraws the latent view's plot once, whatever layers it touched.

HoloViews updates the whole overlay for each stream triggered alone; a selection used to
cost three such updates (the cloud dimmed, the highlight, the edit handle).
"""
import numpy as np
import panel as pn

from hill_viz.bench.browser import wait_until
from hill_viz.core.edits import Selector
from hill_viz.ui.edit_tools import EditTools
from hill_viz.ui.latent_view import VIEW_CLASS, LatentView

VIEW = f".{VIEW_CLASS}"
BROWSER_STREAMS = {"RangeXY", "PlotSize"}


def test_a_selection_redraws_cloud_highlight_and_handle_in_one_plot_update(page, session, serve_pages,
                                                                             monkeypatch):
    session.train(1, wait=True)
    built = []

    def build(k):
        view = LatentView(session=session)
        tools = EditTools(session=session, latent_view=view)
        built.append((view, tools))
        return pn.Row(view, tools)

    with serve_pages(build) as (url, _):
        page.goto(url)
        page.locator(f"{VIEW} .bk-events").first.wait_for(state="visible", timeout=60_000)
        wait_until(lambda: built and built[0][0].page is not None and built[0][0].axis_ranges(), 60, "the page", page)
        view, tools = built[0]
        ((plot, _),) = view._pane._plots.values()
        updates = []  # per plot update, the streams that triggered it
        update_frame = type(plot).update_frame

        def counted(self, *args, **kwargs):
            if self is plot:
                updates.append({type(stream).__name__ for stream in plot.streams if stream._triggering})
            return update_frame(self, *args, **kwargs)
        page.wait_for_timeout(1000)  # the page's first range and size events are handled
        monkeypatch.setattr(type(plot), "update_frame", counted)
        x0, x1, y0, y1 = session.frame.extent()
        session.select(Selector.of_box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2))  # off the page's loop
        count = f"**{len(session.selection):,}** selected"
        wait_until(lambda: count in view.status.object and tools.anchor is not None, 30, "the status line", page)
        page.wait_for_timeout(1000)  # anything else the selection scheduled has run by now
        ours = [u for u in updates if u - BROWSER_STREAMS]  # not a resize or pan the browser sent meanwhile
        assert len(ours) == 1, f"{len(ours)} plot updates for one selection: {ours}"
        assert ours[0] >= {"CloudState", "HighlightState", "Pipe"}  # dimmed cloud, highlight, handle
        assert view._cloud_state.dimmed and view._highlight_state.selection == 1
        (handle_plot,) = [sub for sub in plot.subplots.values() if sub.current_frame is tools.handle.last]
        handle = handle_plot.handles["source"].data
        assert np.allclose([handle["x"][0], handle["y"][0]], tools.anchor)

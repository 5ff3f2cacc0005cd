"""SessionComponent: the one base of the UI components (session, actions, watch, spawn, report)."""
import asyncio
import threading

import numpy as np
import pytest

from hill_viz.core.edits import Selector
from hill_viz.errors import ConfigError, EditError
from hill_viz.session import Session
from hill_viz.ui.actions import FAILED, Actions
from hill_viz.ui.app import COMPONENTS, HillApp
from hill_viz.ui.component import SessionComponent
from hill_viz.ui.edit_tools import EditTools
from hill_viz.ui.training_panel import TrainingPanel


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    s = Session(tmp_path_factory.mktemp("ws") / "s")
    s.load_dataset("blobs", n=1000)
    s.build_model(latent_dim=4, hidden=16)
    return s


def test_every_component_derives_from_the_base_and_needs_a_session():
    for cls in [*COMPONENTS.values(), EditTools, TrainingPanel, HillApp]:
        assert issubclass(cls, SessionComponent), cls
        with pytest.raises(ConfigError, match=f"{cls.__name__} needs a session"):
            cls()


def test_spawn_without_a_loop_runs_here_and_reports_failures(session):
    component = SessionComponent(session=session)
    assert isinstance(component.actions, Actions)
    results = []
    component.spawn(lambda: threading.get_ident(), then=results.append)
    assert results == [threading.get_ident()]
    component.spawn(session.selection_selector, then=results.append)  # nothing selected: a user mistake
    assert results[-1] is FAILED
    assert component.actions.messages[-1] == ("error", "the selection is empty; select points on the latent view first")


def test_spawn_on_a_loop_runs_off_it_and_continues_on_it(session):
    component = SessionComponent(session=session)
    seen = {}

    async def click():
        seen["loop"] = threading.get_ident()
        component.spawn(lambda: threading.get_ident(), then=lambda r: seen.update(worker=r, then=threading.get_ident()))
        assert component._tasks  # kept while running
        await asyncio.gather(*component._tasks)
    asyncio.run(click())
    assert seen["worker"] != seen["loop"] and seen["then"] == seen["loop"]
    assert component.actions.busy == 0


def test_report_takes_a_message_or_what_a_call_raised(session):
    component = SessionComponent(session=session)
    component.report("choose a file first")
    component.report(EditError("contract factor must be between 0 and 100"))
    component.report(RuntimeError("boom"))
    levels, texts = zip(*component.actions.messages)
    assert levels == ("error",) * 3
    assert texts[:2] == ("choose a file first", "contract factor must be between 0 and 100")
    assert texts[2].startswith("internal error (RuntimeError: boom)") and "recorded work is kept" in texts[2]


def test_watch_follows_the_sessions_parameters_until_stopped(session):
    component = SessionComponent(session=session)
    changes = []
    watch = component.watch(("selection",), changes.append)
    session.select(Selector.of_label(0))
    session.select(None)
    assert changes == [{"selection"}, {"selection"}]
    watch.stop()
    session.select(Selector.of_label(1))
    assert len(changes) == 2


def test_remembered_selections_use_their_ids_once_the_cloud_moved(tmp_path):
    s = Session(tmp_path / "ws")
    s.load_dataset("blobs", n=1000)
    s.build_model(latent_dim=4, hidden=16)
    tools = EditTools(session=s)
    x, y = s.frame.column("x"), s.frame.column("y")
    box = Selector.of_box(float(x.min()), float(y.min()), float(np.median(x)), float(np.median(y)))
    ids = s.select(box)
    tools.remember("A")
    assert tools.memory["A"].selector_now(s) == box  # the same view: as drawn
    s.train(1, wait=True)
    moved = tools.memory["A"].selector_now(s)
    assert moved.kind == "ids" and np.array_equal(np.array(moved.ids), ids)

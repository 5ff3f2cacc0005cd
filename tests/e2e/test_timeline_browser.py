"""The Timeline in the served app, in headless chromium: click an event, revert to it, see the branch.

The server runs in this process, so the test asserts on the very Session and event store
the page drives.
"""

import pytest

from hill_viz.bench.browser import served, wait_until
from hill_viz.core.edits import Edit, Selector
from hill_viz.session import Session
from hill_viz.ui.app import build_app

TIMELINE = ".hill-timeline"



@pytest.fixture
def recorded(tmp_path):
    s = Session(tmp_path / "ws", auto_bias=False)
    s.load_dataset("digits")
    s.build_model(seed=0, arch="mlp", hidden=32)
    s.train(1, wait=True)
    s.add_edit(Edit.translate(Selector.of_label(3), 1.5, 0.5))
    s.apply_edits(1, wait=True)
    return s


def test_click_an_event_revert_to_it_and_the_next_action_branches(recorded, page, artifacts):
    session, store = recorded, recorded.workspace.store
    apps = []

    def factory():
        template = build_app(session, pretrain_epochs=0)
        apps.append(template.hill_app)
        return template

    first_segment = next(e for e in store.path_to() if e.kind == "training_segment")
    old_tip = store.head
    with served(factory) as url:
        page.goto(url)
        page.locator(".bk-tab", has_text="Timeline").first.click()
        row = page.locator(f"{TIMELINE} .tabulator-row", has_text="trained to epoch 1")
        row.wait_for(state="visible", timeout=60_000)
        timeline = apps[-1].components["timeline"]  # the page's
        row.click()
        wait_until(lambda: timeline.selected == first_segment.id, 30, "the clicked event", page)
        page.locator(".hill-timeline-header", has_text=f"Event {first_segment.id}").wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "timeline-selected.png"), full_page=True)

        page.locator(".hill-revert button").click()
        wait_until(lambda: store.get(store.head).kind == "revert", 30, "the revert event", page)
        revert = store.get(store.head)
        assert revert.parent_id == first_segment.id and revert.params["from"] == old_tip
        assert session.trainer.epoch == 1 and session.teachers == []
        page.locator(".hill-status", has_text="epoch 1 ·").wait_for(timeout=30_000)  # the page shows the revert

        page.get_by_placeholder("A note on this event…").fill("back to plain training: the edit hurt class 8")
        page.locator(".hill-annotate button").click()
        wait_until(lambda: store.get(store.head).kind == "annotation", 30, "the note", page)
        note = store.get(store.head)
        assert note.parent_id == revert.id  # the next action starts the new branch
        assert note.params["text"] == "back to plain training: the edit hurt class 8"

        page.locator(f"{TIMELINE} .tabulator-row", has_text="note on event").wait_for(timeout=30_000)
        table = timeline.table.set_index("id")
        assert table.loc[old_tip, "lane"] == 1 and not table.loc[old_tip, "on_head"]  # the old branch
        assert table.loc[note.id, "lane"] == 0 and table.loc[revert.id, "on_head"]
        page.screenshot(path=str(artifacts / "timeline-branched.png"), full_page=True)
    assert not [e for e in page.console_errors if "Bokeh" in e or "Error" in e]
    for app in apps:
        app.close()

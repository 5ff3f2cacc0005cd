"""The pending edit's bias lights in headless chromium: green for a plain class move, not for
a biased merge, whose warning says what to try instead.

Edits are made with the page's buttons; the selection they act on is made through the
Session the page drives (what a click on a class's bar in the breakdown selects).
"""
import numpy as np
import pytest

from hill_viz.bench.browser import wait_until
from hill_viz.session import Session
from hill_viz.sim.strategies import Biased, View

N = 3000
PRETRAIN = 4
SUMMARY = ".hill-bias-summary"


@pytest.fixture
def app_server(tmp_path, serve_apps):
    with serve_apps(lambda k: Session(tmp_path / f"ws-{k}"), dataset="digits-shortcut", n=N,
                     pretrain_epochs=PRETRAIN) as served_pages:
        yield served_pages


def open_trained(page, url, apps):
    page.goto(url, timeout=180_000)  # a loaded machine builds the page slowly
    wait_until(lambda: any(a.loaded.is_set() for a in apps), 60, "the page to open", page)
    (app,) = [a for a in apps if a.loaded.is_set()]
    s = app.session
    wait_until(lambda: s.trainer is not None and s.trainer.epoch == PRETRAIN and s.status == "ready", 420,
               "the pre-training", page)
    return app


def pending_lights(page, app, timeout: float = 120):
    """The summary's lights once the pending edit's prediction is on the page: (classes of the
    lights, the overall word and the warnings' text)."""
    wait_until(lambda: len(app.session.pending) == 1, 30, "the edit", page)
    lights = page.locator(f"{SUMMARY} .hill-light")
    wait_until(lambda: lights.count() == 7, timeout, "the predicted lights on the page", page)
    warnings = page.locator(f"{SUMMARY} .hill-bias-warning")
    text = " ".join([page.locator(f"{SUMMARY} b").first.inner_text()]
                    + [warnings.nth(i).inner_text() for i in range(warnings.count())])
    return [lights.nth(i).get_attribute("class") for i in range(7)], text


def test_a_plain_class_move_is_green(page, app_server, artifacts):
    url, apps = app_server
    app = open_trained(page, url, apps)
    s = app.session
    app.components["breakdown"].select_category("label", 3)  # as a click on class 3's bar
    wait_until(lambda: app.edit_tools.anchor is not None, 30, "the edit tools to show the selection", page)
    app.edit_tools.param.update(dx=0.15 * float(np.ptp(s.frame.column("x"))), dy=0.0)  # the dx, dy fields
    page.get_by_role("button", name="Translate by dx, dy").click()
    classes, text = pending_lights(page, app)
    page.screenshot(path=str(artifacts / "bias-lights-class-move.png"), full_page=True)
    assert s.pending[0].edit.op == "translate"
    assert not [c for c in classes if "hill-light-warn" in c or "hill-light-alert" in c], classes
    assert sum("hill-light-ok" in c for c in classes) == 6 and sum("hill-light-context" in c for c in classes) == 1
    assert text == "OK"  # the overall word, and no warning under it


def test_a_biased_merge_is_not_green_and_says_what_to_do(page, app_server, artifacts):
    url, apps = app_server
    app = open_trained(page, url, apps)
    s = app.session
    view = View.of(s.frame, "cue")
    merges = Biased(min_group=5, split_apart=0.0).plan(view, np.random.default_rng(0))
    sizes = [len(s.select(m.selector)) for m in merges]
    merge = merges[int(np.argmax(sizes))]  # the biggest cue group of a class onto the cue's class
    s.select(merge.selector)
    page.locator(".hill-edit-groups .bk-tab", has_text="Group").first.click()  # merge tools live under Group
    page.get_by_role("button", name="Remember as A").click()
    wait_until(lambda: "A" in app.edit_tools.memory, 30, "A remembered", page)
    s.select(merge.partner)
    page.get_by_role("button", name="Remember as B").click()
    wait_until(lambda: "B" in app.edit_tools.memory, 30, "B remembered", page)
    page.get_by_role("button", name="Merge A onto B").click()
    classes, text = pending_lights(page, app)
    page.screenshot(path=str(artifacts / "bias-lights-biased-merge.png"), full_page=True)
    assert s.pending[0].edit.op == "merge"
    assert [c for c in classes if "hill-light-warn" in c or "hill-light-alert" in c], classes
    assert "WARN" in text or "ALERT" in text
    assert "Try instead" in text  # the warning names what to do

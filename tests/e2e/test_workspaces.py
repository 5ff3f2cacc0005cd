"""Workspaces in the served app, in headless chromium: resume by URL, two pages, review, the report.

The Site runs in this process (`served`), so the tests assert on the very Sessions the
pages drive, and on the workspace log they write.
"""
import hashlib
import shutil

import pytest

from hill_viz.bench.browser import VIEWPORT, served, wait_until
from hill_viz.core.access import share
from hill_viz.core.edits import Edit, Selector
from hill_viz.core.review_report import write_review_report
from hill_viz.session import Session
from hill_viz.ui.app import HillApp
from hill_viz.ui.latent_view import VIEW_CLASS
from hill_viz.ui.review import ReviewPage
from hill_viz.ui.site import Site

N = 2000  # digits-shortcut samples: an epoch in about a second
VIEW = f".{VIEW_CLASS}"


def model_hash(session) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(session.model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().numpy().tobytes())
    return h.hexdigest()


@pytest.fixture
def site(tmp_path, recorded_workspace, page):
    """A served Site over a root holding a copy of the recorded workspace ("recorded", one pending edit)."""
    root = tmp_path / "root"
    shutil.copytree(recorded_workspace, root / "recorded")
    s = Session.open(root / "recorded")
    s.add_edit(Edit.contract(Selector.of_label(7), 0.6))  # pending, so the page shows an edit and its lights
    for user in ("alice", "bob"):  # its owner (the OS user who recorded it) lets them edit it; dave may not
        share(s.workspace, user, by=s.workspace.owner)
    s.workspace.close()
    users = iter(["alice", "bob", "rita", "dave"])
    site = Site(root, n=N, pretrain_epochs=1, user=lambda: next(users, "someone"))
    page.set_default_navigation_timeout(180_000)  # a page is built before the server answers (busy machines)
    with served(site.factory) as url:
        yield url, site
    for page in site.built:
        if isinstance(page, HillApp):
            page.close()


def app_page(site, before: int, page) -> HillApp:
    wait_until(lambda: any(isinstance(p, HillApp) and p.loaded.is_set() for p in site.built[before:]), 240,
               "the app page to open", page)
    app = next(p for p in site.built[before:] if isinstance(p, HillApp))
    wait_until(app.ready.is_set, 240, "a model", page)
    page.locator(f"{VIEW} .bk-events").first.wait_for(state="visible", timeout=30_000)
    return app


def box_select(page, session) -> None:
    """Drag a box over the middle of the cloud with the box-select tool (again if a redraw ate it)."""
    area = page.locator(f"{VIEW} .bk-events").first.bounding_box()
    before = session.selection
    for _ in range(3):
        page.locator(f"{VIEW} .bk-tool-icon-box-select").first.click()
        x0, y0 = area["x"] + 0.25 * area["width"], area["y"] + 0.25 * area["height"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + 1, y0 + 1, steps=2)
        page.mouse.move(area["x"] + 0.75 * area["width"], area["y"] + 0.75 * area["height"], steps=20)
        page.wait_for_timeout(100)
        page.mouse.up()
        try:
            wait_until(lambda: session.selection is not before and len(session.selection) > 0, 20,
                       "the box selection", page)
            return
        except TimeoutError:
            continue
    page.screenshot(path="test-artifacts/workspaces-box-select-failed.png")
    raise TimeoutError("no selection reached the server")


def test_train_edit_reload_same_state_back(page, site):
    url, site = site
    page.goto(url + "?workspace=new")
    app = app_page(site, 0, page)
    s = app.session
    wait_until(lambda: s.trainer.epoch == 1 and s.status == "ready", 120, "the first epoch", page)
    assert f"workspace={s.workspace.path.name}" in page.url  # the URL names the new workspace
    page.wait_for_timeout(1000)  # the cloud redraws for the trained model
    box_select(page, s)
    page.locator(".hill-edit-groups .bk-tab", has_text="Pin").first.click()
    page.get_by_role("button", name="Pin selection").click()
    wait_until(lambda: len(s.pending) == 1, 30, "the pin edit", page)
    state = (model_hash(s), [(p.edit_id, p.edit.op, len(p.resolved.ids)) for p in s.pending], len(s.selection))

    before = len(site.built)
    site.user = lambda: s.actor  # the same person reloads (the fixture's next user would only review it)
    page.reload()
    again = app_page(site, before, page)
    r = again.session
    assert r is not s and r.workspace.path == s.workspace.path
    wait_until(lambda: not r.read_only, 30, "the reloaded page to take the editing seat", page)
    assert (model_hash(r), [(p.edit_id, p.edit.op, len(p.resolved.ids)) for p in r.pending],
            len(r.selection)) == state
    assert r.trainer.epoch == 1 and len(r.history) == len(s.history)
    assert s.read_only  # the page that went away cannot write any more


def test_a_second_page_is_read_only_and_says_who_holds_it(browser, page, site):
    url, site = site
    page.goto(url + "?workspace=recorded")
    first = app_page(site, 0, page)
    assert not first.session.read_only and first.session.actor == "alice"
    other = browser.new_context(viewport=VIEWPORT).new_page()
    other.set_default_navigation_timeout(180_000)
    try:
        other.goto(url + "?workspace=recorded")
        second = app_page(site, 1, other)
        assert second.session.read_only and second.session.read_only_reason.startswith("alice is editing it")
        other.get_by_text("alice is editing it").first.wait_for(timeout=30_000)  # the banner says who
        other.get_by_text("Read-only", exact=True).first.wait_for(timeout=30_000)
        count = second.session.workspace.store.count()
        other.get_by_role("button", name="Train", exact=True).click()  # the Session refuses; the page says why
        other.locator(".notyf__message", has_text="read-only here").first.wait_for(timeout=30_000)
        assert second.session.workspace.store.count() == count and second.session.status == "ready"
    finally:
        other.context.close()


def test_review_shows_an_edit_then_and_now_and_records_a_comment(page, site):
    url, site = site
    page.goto(url + "?workspace=recorded&mode=review")
    wait_until(lambda: any(isinstance(p, ReviewPage) for p in site.built), 60, "the review page", page)
    review = next(p for p in site.built if isinstance(p, ReviewPage))
    assert review.session.read_only and review.session.actor == "alice"  # the first user of this server
    page.locator(".hill-review-edits .tabulator-row", has_text="translate").first.click()
    wait_until(lambda: review.edit_id == 1, 30, "edit #1 to show", page)
    then, now = page.locator(".hill-review-then img").first, page.locator(".hill-review-now img").first
    then.wait_for(timeout=30_000)
    now.wait_for(timeout=30_000)
    a, b = then.bounding_box(), now.bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and a["x"] + a["width"] <= b["x"] and a["width"] == b["width"]  # side by side
    page.get_by_text("predicted bias report").first.wait_for(timeout=30_000)
    page.get_by_text("measured bias report").first.wait_for(timeout=30_000)
    count = review.session.workspace.store.count()
    page.locator(".hill-review-note textarea").first.fill("moving 3 right looks deliberate")
    page.get_by_role("button", name="Add review comment").click()
    store = review.session.workspace.store
    wait_until(lambda: store.count() == count + 1, 30, "the comment to be recorded", page)
    note = store.events(("annotation",))[-1]
    edit_event = next(e for e in store.events(("edit_added",)) if e.params["edit_id"] == 1)
    assert (note.actor, note.params["event_id"], note.params["text"]) == (
        "alice", edit_event.id, "moving 3 right looks deliberate")
    page.get_by_text("moving 3 right looks deliberate").first.wait_for(timeout=30_000)  # shown beside the edit


def test_the_html_report_opens_without_errors_and_holds_every_edit(page, recorded_workspace, tmp_path):
    ws = shutil.copytree(recorded_workspace, tmp_path / "ws")
    path = write_review_report(ws, tmp_path / "review.html")
    page.goto(path.as_uri())
    rows = page.locator("tr.edit-row")
    s = Session.open(ws)
    edit_ids = sorted({int(e.params["edit_id"]) for e in s.workspace.store.events(("edit_added",))})
    s.workspace.close()
    assert [int(rows.nth(k).get_attribute("data-edit")) for k in range(rows.count())] == edit_ids
    images = page.locator("img")
    assert images.count() == 2 * len(edit_ids)
    assert all(images.nth(k).evaluate("img => img.complete && img.naturalWidth > 0") for k in range(images.count()))
    assert page.console_errors == []


def test_the_list_links_to_a_workspace_and_the_page_layout(page, site, artifacts):
    url, site = site
    page.goto(url)
    page.locator(".hill-workspace-list .tabulator-row", has_text="recorded").first.wait_for(timeout=60_000)
    page.locator(".hill-workspace-list a.hill-open").first.click(no_wait_after=True)
    app = app_page(site, 1, page)
    assert app.session.workspace.path.name == "recorded" and "workspace=recorded" in page.url
    page.wait_for_timeout(2500)  # the lights and the strip draw
    page.screenshot(path=str(artifacts / "app-1600x1000.png"))
    cloud = page.locator(f"{VIEW} .bk-events").first.bounding_box()
    assert cloud["width"] * cloud["height"] >= 0.5 * VIEWPORT["width"] * VIEWPORT["height"]
    for part in (".hill-timeline-strip", ".hill-bias-lights", ".hill-edit-groups"):
        box = page.locator(part).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], part  # no scrolling


def test_every_column_of_the_list_is_in_view_at_1600_px(page, tmp_path, artifacts):
    from hill_viz.core.workspaces import WorkspaceIndex
    from hill_viz.ui.workspace_list import COLUMNS

    root = tmp_path / "root"
    for k, owner in enumerate(("alice-from-the-lab-downstairs", "bob")):  # long names, titles: the widest rows
        s = Session(root / f"20261202-19000{k}-abc12{k}", actor=owner)
        s.load_dataset("blobs", n=300)
        s.workspace.set_title("a title that goes on and on about what this study is for " * 3)
        share(s.workspace, "erin", by=owner)
        s.workspace.close()
        WorkspaceIndex(root).verify(s.workspace.path.name)
    site = Site(root, user=lambda: "erin")
    with served(site.factory) as url:
        page.goto(url)
        page.locator(".hill-workspace-list .tabulator-row", has_text="edit (shared)").first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "workspace-list-1600x1000.png"))
        table = page.locator(".hill-workspace-list .tabulator").first.bounding_box()
        boxes = {title: page.locator(".hill-workspace-list .tabulator-col", has_text=title).first.bounding_box()
                 for title in COLUMNS.values()}
    spans = sorted((b["x"], b["x"] + b["width"], title) for title, b in boxes.items())
    assert all(table["x"] - 1 <= x0 and x1 <= table["x"] + table["width"] + 1 for x0, x1, _ in spans), spans
    assert all(a[1] <= b[0] + 1 for a, b in zip(spans, spans[1:])), spans  # none hidden under a frozen one

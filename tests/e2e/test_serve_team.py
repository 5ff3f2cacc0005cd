"""Serving a team, on a real server on 127.0.0.1: sign-in, actor, data roots, upload limit, training queue,
operator view. Users alice and bob sign in with basic auth; carol is the admin."""
import asyncio
import gc
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import weakref

import numpy as np
import pandas as pd
from playwright.sync_api import TimeoutError as PlaywrightTimeout
import pytest

from hill_viz import errors
from hill_viz.bench.bokeh_client import PageClient
from hill_viz.bench.browser import free_port, wait_until
from hill_viz.core.access import DataRoots, Limits
from hill_viz.serve import Auth, ServeConfig, make_server

USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """(url, registry, root, data_root): the app with sign-in, 1 MB uploads, one training at a time."""
    yield from _team(tmp_path_factory.mktemp("team"), max_sessions=4)


def _team(tmp, max_sessions):
    users = tmp / "users.json"
    users.write_text(json.dumps(USERS))
    data_root, secret = tmp / "data", tmp / "secret"
    data_root.mkdir(), secret.mkdir()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    frame["label"] = rng.integers(0, 3, 400)
    frame.to_csv(data_root / "mine.csv", index=False)
    (secret / "keys.csv").write_text("aws_secret_access_key=SHOULD-NOT-LEAK\n1\n")
    config = ServeConfig(root=tmp / "ws", dataset="blobs", n=600, pretrain_epochs=0,
                         limits=Limits(max_n=5000, max_epochs=10_000, upload_max_bytes=2**20,
                                       data_roots=DataRoots([data_root])),
                         admins=("carol",), max_sessions=max_sessions, max_trainings=1)
    config.root.mkdir()
    port = free_port()
    server = make_server(config, Auth(basic_auth=users, cookie_secret="test-secret"), port=port, threaded=True)
    url = f"http://127.0.0.1:{port}/"
    wait_until(lambda: _status(url) is not None, 60, "the server")
    yield url, server.registry, config.root, data_root
    for app in server.registry.apps():
        app.close()
    server.stop()


def _status(url):
    try:
        return urllib.request.urlopen(url, timeout=5).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _client(url, user=None):
    """An HTTP client (urllib opener) signed in as `user` (None: nobody)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    if user is not None:
        opener.open(url + "login", urllib.parse.urlencode({"username": user, "password": USERS[user]}).encode())
    return opener


def sign_in(page, url, user, then="/"):
    """Sign in as `user`; the browser then goes to `then` (Panel's `next`)."""
    page.goto(url + "login?" + urllib.parse.urlencode({"next": then}))
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user])
    page.click("button[type=submit]")


def show_data_tab(page):
    """The dataset, model and upload widgets sit in a tab below the cloud."""
    tab = page.locator(".hill-tabs .bk-tab", has_text="Data, model and curves").first
    tab.click()
    widgets = page.locator(".hill-tabs select").first
    try:
        widgets.wait_for(state="visible", timeout=30_000)
    except PlaywrightTimeout:  # once in about 5 suite runs the tab's content never came (cause not found)
        page.locator(".hill-tabs .bk-tab", has_text="Timeline").first.click()
        tab.click()
        widgets.wait_for(state="visible", timeout=60_000)


def open_as(page, url, registry, user, then="/?workspace=new"):
    if registry.max_pages is not None:  # earlier tests' closed pages count until the server drops them
        wait_until(lambda: len(registry) < registry.max_pages, 120, "a page under the server's limit")
    before = set(map(id, registry.apps()))  # pages of earlier tests may still be closing

    def new_pages():
        return [a for a in registry.apps() if id(a) not in before and a.session.actor == user]
    sign_in(page, url, user, then)
    wait_until(lambda: new_pages(), 120, f"{user}'s page", page)
    (app,) = new_pages()
    wait_until(app.ready.is_set, 90, "the first model", page)
    return app


def test_without_credentials_nothing_is_served_or_built(team):
    url, registry, root, _ = team
    for path in ("", "admin"):
        response = _client(url).open(url + path)
        assert response.url.startswith(url + "login")  # sent to sign in
        html = response.read().decode()
        assert 'name="password"' in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from elsewhere (offline teams)
    assert "signed out" in _client(url, "alice").open(url + "logout").read().decode()
    phishing = _client(url).open(url + "login?error=Your+account+is+locked,+call+555").read().decode()
    assert "call 555" not in phishing and "Wrong user name or password." in phishing
    assert len(registry) == 0 and list(root.iterdir()) == []
    wrong = _client(url)
    wrong.open(url + "login", b"username=alice&password=guess")
    assert wrong.open(url).url.startswith(url + "login")


def test_the_load_tests_protocol_client_is_refused_with_a_wrong_password(team):
    url, registry, root, _ = team
    with pytest.raises(RuntimeError, match="^signing in as 'alice' failed: no session cookie$"):
        asyncio.run(PageClient.open(url, "alice", "guess"))
    assert len(registry) == 0 and list(root.iterdir()) == []


def test_a_plain_get_builds_no_workspace(team):
    url, registry, root, _ = team
    before = set(root.iterdir())
    for _ in range(5):
        assert "hill-viz" in _client(url, "bob").open(url).read().decode()
    assert set(root.iterdir()) == before and len(registry) == 0


def test_the_signed_in_user_is_the_actor_and_outside_paths_get_one_neutral_line(page, team):
    url, registry, _, data_root = team
    app = open_as(page, url, registry, "alice")
    session = app.session
    assert session.workspace.store.count() > 0
    assert {e.actor for e in session.workspace.store.events()} == {"alice"}
    show_data_tab(page)
    page.locator(".hill-tabs select").first.select_option("a file…")
    path_box = page.get_by_placeholder("/data/my.parquet")
    lines = []
    for trick in ("../secret/keys.csv", f"{data_root}/../secret/keys.csv", str(data_root.parent / "secret" / "keys.csv"),
                  str(data_root.parent / "secret" / "nothing.csv")):
        path_box.fill(trick)
        path_box.press("Enter")
        wait_until(lambda: app.training.settings.path == trick, 60, "the path", page)
        page.get_by_role("button", name="Load data & build model").click()
        wait_until(lambda: len(app.actions.messages) > len(lines), 30, "the error", page)
        lines.append(app.actions.messages[-1][1].replace(repr(trick), "PATH"))
    assert len(set(lines)) == 1 and "\n" not in lines[0] and "SHOULD-NOT-LEAK" not in lines[0]
    assert lines[0].startswith("cannot open PATH: this server reads only dataset files under its data roots")
    page.locator(".bk-notification, .notyf__toast").first.wait_for(state="visible", timeout=10_000)
    path_box.fill("mine.csv")  # inside the root it loads
    path_box.press("Enter")
    app.training.settings.n = None  # all 400 rows
    page.get_by_role("button", name="Load data & build model").click()
    wait_until(lambda: session.dataset is not None and session.dataset.n_samples == 400 and session.model is not None,
               60, "the file", page)
    assert {e.actor for e in session.workspace.store.events()} == {"alice"}


def test_an_oversized_upload_gets_a_notification_and_the_page_stays_connected(page, team, tmp_path):
    url, registry, _, _ = team
    app = open_as(page, url, registry, "bob")
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,label\n" + b"1.0,1\n" * 600_000)  # 3.6 MB, over the 1 MB limit
    show_data_tab(page)
    page.locator(".filepond--browser").first.set_input_files(str(big))
    wait_until(lambda: any("too large" in text for _, text in app.actions.messages), 60, "the refusal", page)
    level, text = [m for m in app.actions.messages if "too large" in m[1]][0]
    assert level == "error" and text.startswith("big.csv is too large to upload") and "1 MB" in text
    assert not app.training.upload.value  # nothing of it was kept
    page.get_by_role("button", name="Train", exact=True).click(timeout=120_000)  # browser -> server still works
    wait_until(lambda: len(app.session.history) >= 1 and not app.session.is_busy, 90, "training", page)
    page.locator(".hill-status", has_text="epoch").first.wait_for(timeout=30_000)  # server -> browser too


def test_the_training_past_the_limit_waits_in_the_queue_the_page_shows(browser, team):
    url, registry, _, _ = team
    pages = [browser.new_context().new_page() for _ in range(2)]
    first, second = (open_as(p, url, registry, u) for p, u in zip(pages, ("alice", "bob")))
    try:
        first.session.train(10_000)
        wait_until(lambda: first.session.status == "training", 60, "the first training", pages[0])
        pages[1].get_by_role("button", name="Train", exact=True).click(timeout=120_000)
        pages[1].locator(".hill-status", has_text="waiting for a training slot (place 1 in line)").first.wait_for(
            timeout=30_000)
        assert second.session.status == "queued"
        first.session.cancel()
        wait_until(lambda: second.session.history and not second.session.is_busy, 120, "the queued training",
                   pages[1])
    finally:
        first.session.cancel()
        for p in pages:
            p.context.close()


def test_a_closed_page_lets_its_app_session_and_model_go(browser, team):
    url, registry, _, _ = team
    page = browser.new_context().new_page()
    app = open_as(page, url, registry, "alice")
    refs = [weakref.ref(app), weakref.ref(app.session), weakref.ref(app.session.model)]
    del app
    page.context.close()  # the server drops the page's session once it notices (tens of seconds)
    wait_until(lambda: gc.collect() >= 0 and all(ref() is None for ref in refs), 120,
               "the closed page's app, Session and model to be collected")


def test_the_operator_view_is_for_admins(browser, team):
    url, _, _, _ = team
    for user, shown in (("bob", "for the server's admins"), ("carol", "Pages open")):
        page = browser.new_context().new_page()
        sign_in(page, url, user)
        page.goto(url + "admin")
        page.get_by_text(shown).first.wait_for(timeout=60_000)
        if user == "carol":
            for text in ("Trainings:", "Memory (RSS):", "Workspaces on disk:", "Largest workspaces"):
                page.get_by_text(text).first.wait_for(timeout=10_000)
        page.context.close()


@pytest.fixture
def workspaces_team(tmp_path):
    """A server of its own (pages of the tests above may still count against the session limit)."""
    yield from _team(tmp_path, max_sessions=None)


def test_the_list_is_the_landing_page_and_others_workspaces_open_read_only(page, workspaces_team):
    from hill_viz.session import Session

    url, registry, root, _ = workspaces_team
    alices = Session(root / "alice-study", actor="alice")
    alices.load_dataset("blobs", n=300)
    alices.build_model(latent_dim=2, hidden=8)
    alices.workspace.close()
    sign_in(page, url, "bob")  # lands on /: the workspace list
    row = page.locator(".hill-workspace-list .tabulator-row", has_text="alice-study").first
    row.wait_for(timeout=60_000)
    assert "review" in row.inner_text() and row.locator("a.hill-open").inner_text() == "view"
    assert len(registry.apps()) == 0  # the list opens no Session

    app = open_as(page, url, registry, "bob", "/?workspace=alice-study")  # by URL: read-only, says whose
    assert app.session.read_only and "belongs to alice" in app.session.read_only_reason
    page.get_by_text("belongs to alice").first.wait_for(timeout=30_000)
    with pytest.raises(errors.ReadOnlyError):
        app.session.load_dataset("blobs", n=300)

    lines = set()
    for bad in ("../team", "alice-study/..", str(root / "alice-study"), "nothing-here"):
        page.goto(url + "?" + urllib.parse.urlencode({"workspace": bad}))
        alert = page.get_by_text("there is no workspace").first
        alert.wait_for(timeout=60_000)
        lines.add(alert.inner_text().replace(repr(bad), "ID").strip())
    (line,) = lines  # the same line, whatever the ID points at
    assert line.startswith("there is no workspace ID here; open one from the workspace list") and "\n" not in line
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["alice-study"]  # nothing made or opened


def test_the_owner_shares_from_the_page_and_the_other_user_then_edits(browser, workspaces_team):
    url, registry, _, _ = workspaces_team
    alice_page, bob_page = (browser.new_context().new_page() for _ in range(2))
    try:
        alice = open_as(alice_page, url, registry, "alice")
        ws_id = alice.session.workspace.path.name
        card = alice_page.locator(".hill-sharing").first
        card.get_by_text("Sharing", exact=True).first.click()
        box = card.locator(".hill-share-user input").first
        box.fill("bob")
        box.press("Enter")
        wait_until(lambda: alice.sharing.user_input.value == "bob", 30, "the name", alice_page)
        card.get_by_role("button", name="Share for editing").click()
        wait_until(lambda: alice.session.editors == ("bob",), 30, "the sharing", alice_page)
        card.get_by_text("Shared for editing with").first.wait_for(timeout=30_000)
        (event,) = alice.session.workspace.store.events(("sharing",))
        assert (event.actor, event.params["user"]) == ("alice", "bob")
        alice_page.context.close()  # her page goes: the editing seat frees up

        sign_in(bob_page, url, "bob")  # the list says what bob may do with alice's workspace now
        row = bob_page.locator(".hill-workspace-list .tabulator-row", has_text=ws_id).first
        row.wait_for(timeout=60_000)
        assert "edit (shared)" in row.inner_text() and row.locator("a.hill-open").inner_text() == "edit"
        bobs = open_as(bob_page, url, registry, "bob", f"/?workspace={ws_id}")
        wait_until(lambda: not bobs.session.read_only, 60, "bob's page to take the editing seat", bob_page)
        assert not bobs.sharing.visible and not bob_page.locator(".hill-sharing").first.is_visible()  # owner only
        n = len(bobs.session.history)
        bob_page.get_by_role("button", name="Train", exact=True).click(timeout=120_000)
        wait_until(lambda: len(bobs.session.history) > n and not bobs.session.is_busy, 120, "bob's training",
                   bob_page)
        assert bobs.session.workspace.store.events(("training_segment",))[-1].actor == "bob"

        alice_page = browser.new_context().new_page()  # alice comes back (read-only: bob holds the seat)
        alice = open_as(alice_page, url, registry, "alice", f"/?workspace={ws_id}")
        assert alice.session.read_only and alice.sharing.visible
        card = alice_page.locator(".hill-sharing").first
        card.get_by_text("Sharing", exact=True).first.click()
        card.get_by_role("button", name="Stop sharing").click()
        wait_until(lambda: bobs.session.read_only, 30, "bob's page to turn read-only", alice_page)
        assert alice.session.editors == () and "belongs to alice" in bobs.session.read_only_reason
        wait_until(lambda: any("read-only now" in text for _, text in bobs.actions.messages), 30,
                   "bob's notification", bob_page)
    finally:
        for p in (alice_page, bob_page):
            p.context.close()

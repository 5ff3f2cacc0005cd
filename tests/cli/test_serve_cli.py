"""`hill-viz serve`: the main job starts and serves the app; bad arguments get one line and exit 2."""
import re
import socket
import subprocess
import sys
import urllib.request

import pytest


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "nope"], "unknown dataset 'nope'; known datasets: blobs, digits, digits-shortcut, tabular-shortcut"),
    (["--data", "missing.parquet"], "data file missing.parquet does not exist; check the path"),
    (["--port", "99999"], "argument --port: expected a number from 0 to 65535, got 99999"),
    (["--n", "0"], "argument --n: expected a number >= 1, got 0"),
    (["--retain-days", "0"], "argument --retain-days: expected a number > 0, got '0'"),
])
def test_bad_arguments_get_one_line(cli, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("serve", "--workspace", str(tmp_path / "ws"), *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_file_as_workspace_folder_and_a_taken_port_are_reported(cli, tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    code, _, err = cli("serve", "--workspace", str(afile))
    assert code == 2 and err.strip() == f"hill-viz: error: workspace folder {afile} is a file; give a folder path"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("serve", "--workspace", str(tmp_path / "ws"), "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err


def test_serve_starts_the_app_on_localhost(tmp_path):
    cmd = [sys.executable, "-m", "hill_viz.cli", "serve", "--port", "0", "--n", "500", "--pretrain-epochs", "0",
           "--workspace", str(tmp_path / "ws")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:  # Panel's launch line, then ours
            lines.append(line)
            if line.startswith("hill-viz: serving"):
                break
        match = re.search(r"on http://localhost:(\d+)/", lines[-1])
        assert match, "".join(lines)
        page = urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=60).read().decode()
        assert "hill-viz · Human in the Latent Loop" in page
        assert (tmp_path / "ws").is_dir() and list((tmp_path / "ws").iterdir()) == []  # built once a websocket opens
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_team_server_prunes_old_workspaces_and_asks_for_sign_in(tmp_path):
    """The README's "Serving a team" example, on 127.0.0.1: retention runs on start; no credentials, no page."""
    import os
    import time
    import urllib.error

    from hill_viz.core.provenance import Workspace
    from hill_viz.core.retention import DAY_S

    root, data = tmp_path / "ws", tmp_path / "data"
    data.mkdir()
    with Workspace(root / "stale") as ws:
        ws.store.append("annotation", {"text": "left behind"})
    when = time.time() - 60 * DAY_S
    for f in (root / "stale").rglob("*"):
        os.utime(f, (when, when))
    users = tmp_path / "users.json"
    users.write_text('{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}')
    cmd = [sys.executable, "-m", "hill_viz.cli", "serve", "--port", "0", "--n", "500", "--pretrain-epochs", "0",
           "--workspace", str(root), "--basic-auth", str(users), "--cookie-secret", "s3cret", "--admin", "carol",
           "--data-root", str(data), "--max-sessions", "8", "--max-trainings", "2", "--max-disk-gb", "20",
           "--retain-days", "30"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("hill-viz: serving"):
                break
        text = "".join(lines)
        assert "removed 1 workspace(s) not opened or changed for 30 days" in text, text
        assert not (root / "stale").exists()
        port = re.search(r"on http://localhost:(\d+)/", lines[-1]).group(1)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{port}/", timeout=60)
        assert refused.value.code == 302 and "login" in refused.value.headers["Location"]
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize("argv, message", [
    (["--address", "0.0.0.0"], "serving on 0.0.0.0 without sign-in would let anyone who reaches the port use the "
                               "app; add --basic-auth FILE (or --oauth-provider ...), or --insecure-no-auth"),
    (["--admin", "carol"], "--admin needs sign-in (--basic-auth or --oauth-provider)"),
    (["--basic-auth", "USERS", "--oauth-provider", "github"], "choose one way to sign in"),
    (["--oauth-provider", "github"], "--oauth-provider github needs --oauth-key and --oauth-secret"),
    (["--data-root", "NOT-A-FOLDER"], "is not a folder; give existing folders to --data-root"),
    (["--n", "2000", "--max-n", "1000"], "digits-shortcut with n=2,000 is above this server's limit of 1,000"),
])
def test_team_options_are_checked_before_serving(cli, tmp_path, argv, message):
    users = tmp_path / "users.json"
    users.write_text('{"alice": "pw"}')
    argv = [str(users) if a == "USERS" else str(tmp_path / a) if a == "NOT-A-FOLDER" else a for a in argv]
    code, _, err = cli("serve", "--workspace", str(tmp_path / "ws"), *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON; write an object like"),
    ('["alice"]', "must be a JSON object of user name -> password"),
    ('{"alice": ""}', "must be a JSON object of user name -> password"),
])
def test_a_bad_users_file_gets_one_line(cli, tmp_path, content, message):
    users = tmp_path / "users.json"
    users.write_text(content)
    code, _, err = cli("serve", "--workspace", str(tmp_path / "ws"), "--basic-auth", str(users))
    assert code == 2 and message in err and "Traceback" not in err

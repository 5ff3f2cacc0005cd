"""`hill-viz share WORKSPACE USER [--revoke]`: the owner shares a workspace from the command line."""
import json

import pytest

from hill_viz.core.access import may_edit
from hill_viz.core.provenance import Workspace



@pytest.fixture
def root(tmp_path):
    with Workspace(tmp_path / "a-study") as ws:
        ws.store.append("dataset_loaded", {"dataset": {"name": "blobs"}}, actor="alice")
        ws.claim_owner("alice")
    return tmp_path


def test_the_owner_shares_and_revokes_and_the_list_follows(cli, root):
    code, out, err = cli("share", "a-study", "bob", "--root", str(root), "--as", "alice")
    assert code == 0 and out.strip() == "a-study: owner alice; shared for editing with bob", err
    code, out, _ = cli("workspaces", "--root", str(root), "--json")
    assert json.loads(out)["workspaces"][0]["editors"] == ["bob"]
    with Workspace(root / "a-study", read_only=True) as ws:
        assert may_edit("bob", ws)[0] and ws.store.events()[-1].actor == "alice"
    code, out, _ = cli("share", str(root / "a-study"), "bob", "--revoke", "--as", "alice", "--json")
    assert code == 0 and json.loads(out)["editors"] == []
    code, out, _ = cli("workspaces", "--root", str(root), "--json")
    assert json.loads(out)["workspaces"][0]["editors"] == []


@pytest.mark.parametrize("argv, line", [
    (("nope", "bob"), "there is no workspace 'nope' here; open one from the workspace list"),
    (("a-study", "bob", "--as", "mallory"), "only alice, who owns this workspace, can share it for editing"),
    (("a-study", " ", "--as", "alice"), "name the user to share the workspace with"),
    (("a-study", "bob", "--revoke", "--as", "alice"), "bob is not among the editors of this workspace (none)"),
])
def test_mistakes_are_one_line_and_record_nothing(cli, root, argv, line):
    code, out, err = cli("share", *argv[:2], "--root", str(root), *argv[2:])
    assert code == 2 and err.startswith(f"hill-viz: error: {line}") and err.count("\n") == 1, err
    with Workspace(root / "a-study", read_only=True) as ws:
        assert ws.store.count() == 1


def test_a_workspace_someone_writes_is_refused_in_one_line(cli, root):
    with Workspace(root / "a-study"):  # a server's page holds it
        code, _, err = cli("share", "a-study", "bob", "--root", str(root), "--as", "alice")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err

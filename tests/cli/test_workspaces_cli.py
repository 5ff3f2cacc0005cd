"""`hill-viz workspaces` and `hill-viz serve --open`: the list the app shows, from the command line."""
import json
import shutil




def test_list_rename_report_and_mistakes(cli, tmp_path, recorded_workspace):
    root = tmp_path / "root"
    shutil.copytree(recorded_workspace, root / "study")
    code, out, _ = cli("workspaces", "--root", str(root), "--title", "study", "cue study", "--json")
    assert code == 0
    (row,) = json.loads(out)["workspaces"]
    assert (row["id"], row["title"], row["dataset"], row["n_edits"]) == ("study", "cue study", "digits", 2)
    assert row["verify_badge"] == "not checked" and row["val_acc"] is not None
    code, out, _ = cli("workspaces", "--root", str(root), "--verify")
    assert code == 0 and "study" in out and " ok " in out
    report = tmp_path / "r.html"
    code, out, _ = cli("workspaces", "--root", str(root), "--report", "study", "--out", str(report))
    assert code == 0 and report.read_text().count("class='edit-row'") == 2
    code, _, err = cli("workspaces", "--root", str(root), "--report", "nope")
    assert code == 2 and "there is no workspace 'nope'" in err and "Traceback" not in err
    code, _, err = cli("workspaces", "--root", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
    code, _, err = cli("serve", "--workspace", str(root), "--open", "../study")
    assert code == 2 and err.strip() == ("hill-viz: error: there is no workspace '../study' here; open one from "
                                         "the workspace list (`hill-viz workspaces` lists them)")

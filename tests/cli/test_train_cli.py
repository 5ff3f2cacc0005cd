import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


def test_train_digits_reaches_95_percent(cli, tmp_path):
    code, out, _ = cli("train", "--dataset", "digits", "--epochs", "20", "--json",
                       "--workspace", str(tmp_path / "ws"))
    assert code == 0
    result = json.loads(out)
    assert result["test_acc"] >= 0.95
    assert {"train_acc", "val_acc", "per_class_acc", "group_acc", "epochs", "workspace"} <= set(result)
    assert result["epochs"] == 20 and (tmp_path / "ws" / "hill.sqlite").exists()


def test_train_with_edits_is_deterministic(cli, tmp_path):
    edits = [{"op": "contract", "selector": {"kind": "label", "label": 2}, "params": {"factor": 0.5}},
             {"op": "translate", "selector": {"kind": "attribute", "attribute": "cue", "value": "3"},
              "params": {"dx": 1.0, "dy": -1.0}}]
    (tmp_path / "edits.json").write_text(json.dumps(edits))
    results = []
    for k in range(2):
        code, out, _ = cli("train", "--dataset", "digits-shortcut", "--n", "2000", "--epochs", "2",
                           "--edits", str(tmp_path / "edits.json"), "--edit-epochs", "2", "--json",
                           "--workspace", str(tmp_path / f"ws{k}"))
        assert code == 0
        results.append(json.loads(out))
    a, b = ({k: v for k, v in r.items() if k != "workspace"} for r in results)
    assert a == b
    assert a["epochs"] == 4 and a["n_edits"] == 2 and "cue" in a["group_acc"]


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--data", "{tmp}/missing.csv"], "missing.csv"),
    (["--data", "{tmp}/nan.csv"], "holds nan at row 1"),
    (["--data", "{tmp}/one_class.csv"], "class"),
    (["--dataset", "digits", "--edits", "{tmp}/broken.json"], "not valid JSON"),
    (["--dataset", "digits", "--edits", "{tmp}/empty_sel.json"], "is empty"),
    (["--dataset", "digits", "--lambda", "-1", "--edits", "{tmp}/ok.json"], "lambda must be between"),
])
def test_user_mistakes_give_one_line_and_exit_2(cli, tmp_path, argv, message):
    pd.DataFrame({"f0": [0.0, np.nan, 1.0], "f1": [1.0, 2.0, 3.0], "label": [0, 1, 0]}).to_csv(tmp_path / "nan.csv", index=False)
    pd.DataFrame({"f0": [0.0, 1.0, 2.0], "label": [1, 1, 1]}).to_csv(tmp_path / "one_class.csv", index=False)
    (tmp_path / "broken.json").write_text("[{")
    box = {"op": "pin", "selector": {"kind": "box", "box": [1e6, 1e6, 1e6 + 1, 1e6 + 1]}}
    (tmp_path / "empty_sel.json").write_text(json.dumps([box]))
    (tmp_path / "ok.json").write_text(json.dumps([{"op": "pin", "selector": {"kind": "label", "label": 1}}]))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = cli("train", "--epochs", "1", "--workspace", str(tmp_path / "ws"), *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hill-viz: error:") and message in lines[0]
    assert "Traceback" not in err


def test_console_script_reports_bad_arguments_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hill_viz.cli", "train", "--epochs", "-3"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "expected a number >= 0" in proc.stderr and "Traceback" not in proc.stderr


def test_datasets_lists_builtins(cli):
    code, out, _ = cli("datasets", "--json")
    names = {d["name"] for d in json.loads(out)["datasets"]}
    assert {"digits", "digits-shortcut", "blobs"} <= names

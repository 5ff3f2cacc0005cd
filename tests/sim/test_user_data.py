"""The study on a user's file: the attribute the user names, no oracle, clear mistakes."""
import json

import numpy as np
import pandas as pd
import pytest

from hill_viz.cli import main
from hill_viz.core.data import load_dataset

TINY = ["--n", "1200", "--rounds", "1", "--round-epochs", "1", "--warmup-epochs", "1", "--seeds", "0,1",
        "--jobs", "1"]


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    """A tabular shortcut as a user would have it: numeric features, a text label, a text `site`
    that agrees with the label in train/val, is independent of it in test, and a constant `clinic`."""
    ds = load_dataset("tabular-shortcut", n=1200, seed=5, classes=3, dim=8)
    frame = pd.DataFrame(ds.features, columns=[f"f{j}" for j in range(ds.features.shape[1])])
    frame["label"] = np.array(["cat", "dog", "fox"])[ds.labels]
    frame["site"] = np.array(["north", "south", "west"])[ds.attributes["cue"]]
    frame["clinic"] = "only-one"
    frame["split"] = np.array(["train", "val", "test"])[ds.split]
    path = tmp_path_factory.mktemp("user") / "patients.parquet"
    frame.to_parquet(path)
    return path


def test_simulate_on_a_parquet_file_reports_test_and_worst_group_without_an_oracle(parquet, capsys):
    code = main(["simulate", "--data", str(parquet), "--attribute", "site", "--json", *TINY])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["oracle"] == {} and result["config"]["attribute"] == "site"
    assert [(r["strategy"], r["seed"]) for r in result["rows"]] == [
        (s, k) for k in (0, 1) for s in ("none", "expert", "biased", "random")]
    for r in result["rows"]:
        assert 0 <= r["worst_group_acc"] <= r["ood_acc"] <= 1
        assert r["test_gap"] == pytest.approx(r["gap"] + r["val_acc"] - r["ood_acc"])
    assert all(r["n_edits"] > 0 for r in result["rows"] if r["strategy"] == "expert")
    assert "expert_closes_half_the_ood_gap" not in result["targets"]  # no oracle, no gap to close
    assert result["targets"]["random_ood_within_noise_of_none"]["ci95"] is not None


def test_the_worst_group_is_over_label_x_the_named_attribute(parquet, capsys):
    main(["simulate", "--data", str(parquet), "--attribute", "site", "--json", "--strategy", "none", *TINY])
    none = json.loads(capsys.readouterr()[0])["rows"]
    # a model that learned the site shortcut fails the (label, site) groups that contradict it
    assert max(r["worst_group_acc"] for r in none) < min(r["ood_acc"] for r in none)


@pytest.mark.parametrize("attribute, message", [
    ("ward", "names column 'ward', which the file does not have (columns: clinic, f0"),
    ("clinic", "attribute 'clinic' of patients.parquet has one value ('only-one') in the training split"),
])
def test_a_missing_or_constant_attribute_is_one_clear_line(parquet, capsys, attribute, message):
    assert main(["simulate", "--data", str(parquet), "--attribute", attribute, *TINY]) == 2
    err = capsys.readouterr()[1].strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert message in err


def test_a_file_needs_an_attribute(parquet, capsys):
    assert main(["simulate", "--data", str(parquet), *TINY]) == 2
    assert "--attribute COLUMN" in capsys.readouterr()[1]

"""`hill-viz bench`: each benchmark prints JSON figures with a same-run baseline (small sizes here)."""
import json

import pytest

from hill_viz.cli import main

FIGURE_KEYS = {"name", "n", "value", "unit", "baseline", "baseline_value", "ratio"}


@pytest.mark.parametrize("argv, names", [
    (["select", "--points", "50000", "--repeat", "1"], {"lasso_mask", "session_select_lasso", "box_mask"}),
    (["training", "--n", "1500", "--epochs", "1"], {"train_epoch_plain", "train_epoch_distill"}),
    (["timeline", "--events", "300", "--repeat", "1"], {"timeline_open_data", "timeline_open_draw"}),
])
def test_figures_are_json_lines_with_a_baseline_ratio(capsys, argv, names):
    assert main(["bench", *argv, "--json"]) == 0
    figures = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {f["name"] for f in figures} >= names
    for f in figures:
        assert FIGURE_KEYS <= set(f)
        assert f["value"] > 0 and f["ratio"] == pytest.approx(f["value"] / f["baseline_value"])

"""`hill-viz bench projection --quick`: the figures' JSON shape on tiny sizes (umap-learn skipped)."""
import json

import pytest

from hill_viz.cli import main

FIGURE_KEYS = {"name", "n", "value", "unit", "baseline", "baseline_value", "ratio"}


@pytest.mark.slow
def test_projection_figures_are_json_lines_with_a_baseline(capsys):
    assert main(["bench", "projection", "--quick", "--no-umap-learn", "--json"]) == 0
    figures = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = {f["name"] for f in figures}
    assert len(names) == len(figures)  # one figure per name
    for case in ("digits1", "digits2", "embeddings"):
        for method in ("pca", "learned"):
            assert {f"trustworthiness_{method}_{case}", f"label_accuracy_{method}_{case}"} <= names
        assert f"fit_seconds_learned_{case}" in names
    assert {"trustworthiness_learned_heldout_embeddings", "transform_seconds_learned",
            "faithfulness_seconds_n300", "faithfulness_seconds_n3000"} <= names
    for f in figures:
        assert FIGURE_KEYS <= set(f)
        assert f["value"] > 0 and f["ratio"] == pytest.approx(f["value"] / f["baseline_value"])
    by_name = {f["name"]: f for f in figures}
    for case in ("digits1", "digits2", "embeddings"):
        assert 0.5 < by_name[f"trustworthiness_pca_{case}"]["value"] <= 1.0
        acc = by_name[f"label_accuracy_learned_{case}"]
        assert 0 < acc["value"] <= 1 and isinstance(acc["target_met"], bool)
    assert by_name["transform_seconds_learned"]["n"] == 100_000

"""`hill-viz bench scale` prints its figures as JSON lines with same-run baselines (tiny sizes here)."""
import json

import pytest

from hill_viz.cli import main

FIGURE_KEYS = {"name", "n", "value", "unit", "baseline", "baseline_value", "ratio"}


@pytest.mark.slow
def test_scale_bench_figures(capsys, tmp_path):
    argv = ["bench", "scale", "--points", "300000", "--latent-points", "120000", "--workers", "2",
            "--repeat", "1", "--in-process", "--data", str(tmp_path), "--json"]
    assert main(argv) == 0
    figures = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {f["name"] for f in figures} == {"scale_viewport", "scale_driver_peak_rss", "scale_lasso_summary",
                                            "scale_lasso_ids", "scale_lasso_summary_source_order",
                                            "scale_lasso_ids_source_order", "scale_latents", "scale_stream_epoch"}
    for f in figures:
        assert FIGURE_KEYS <= set(f)
        assert f["value"] > 0 and f["ratio"] == pytest.approx(f["value"] / f["baseline_value"])
    lasso = next(f for f in figures if f["name"] == "scale_lasso_ids")
    assert lasso["same_ids_as_matplotlib_on_points"] == 300_000 and lasso["selected"] > 0
    same = next(f for f in figures if f["name"] == "scale_lasso_ids_source_order")
    assert same["selected"] == lasso["selected"]
    spatial = next(f for f in figures if f["name"] == "scale_lasso_summary")  # blocks of 65,536: all tested here
    assert spatial["rows_skipped"] + spatial["rows_taken_whole"] + spatial["rows_tested"] == 300_000
    stream = next(f for f in figures if f["name"] == "scale_stream_epoch")
    assert stream["rows"] == 84_000  # the train split of 120,000 blobs: 70%
    assert (tmp_path / "frame-300000").is_dir() and (tmp_path / "blobs-120000").is_dir()  # kept for reuse
    assert (tmp_path / "frame-300000-hilbert").is_dir()

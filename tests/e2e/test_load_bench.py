"""The load test's script runs end to end against a real `hill-viz serve` (one user, small data), on
both drivers: a page that changed its layout must not leave the benchmark timing nothing."""
import argparse
import math

import pytest

from hill_viz.bench import serve as load_test


@pytest.mark.timeout(900)
@pytest.mark.parametrize("driver", ["chromium", "bokeh"])
def test_one_user_runs_the_whole_script_and_every_action_is_logged(driver):
    args = argparse.Namespace(users=1, driver=driver, n=600, max_trainings=1, settle=0.0, timeout=300.0,
                              artifacts=None)
    figures = {f["name"]: f for f in load_test.run(args)}
    report = figures["serve_selection_round_trip_p50"]
    log = "\n".join(report.get("server_log_tail", []))
    assert report["errors"] == 0, (report["error_messages"], log)
    assert report["warmup_errors"] == [], (report["warmup_errors"], log)
    assert report["pages_with_lost_events"] == 0 and report["pages_failing_verify"] == 0
    assert all(math.isfinite(f["value"]) and f["value"] > 0 for f in figures.values())
    assert report["driver"] == load_test.DRIVERS[driver]
    assert report["server_cpu_s"] > 0 and report["driver_cpu_s"] > 0

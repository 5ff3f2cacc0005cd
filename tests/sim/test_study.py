"""The study end to end on a tiny size: real sessions, real training, real workspaces."""
import json

import numpy as np
import pandas as pd
import pytest

from hill_viz.cli import main
from hill_viz.core.provenance import Workspace
from hill_viz.errors import ConfigError
from hill_viz.sim import StudyConfig, combine, run_study, simulate, summary_table, to_markdown, write_outputs
from hill_viz.sim.report import TABLE_COLUMNS
from hill_viz.sim.strategies import STRATEGIES

TINY = dict(n=1500, warmup_epochs=2, rounds=2, round_epochs=1)
from hill_viz.sim.stats import METRICS


@pytest.fixture(scope="module")
def study():
    return run_study(StudyConfig(seeds=(0, 1), **TINY))


def test_every_strategy_and_the_oracle_run_on_every_seed_with_the_same_budget(study):
    rows = study["rows"]
    assert [(r["strategy"], r["seed"]) for r in rows] == [(s, k) for k in (0, 1) for s in STRATEGIES]
    for r in rows:
        assert set(r) == {"strategy", "seed", *METRICS, "n_edits"}
        assert 0 <= r["ood_acc"] <= 1 and 0 <= r["val_acc"] <= 1 and -1 <= r["gap"] <= 1
    epochs = {(r["strategy"], r["seed"]): r["epoch"] for r in study["per_round"] if r["round"] == 2}
    assert set(epochs.values()) == {2 + 2 * 1} and len(epochs) == 2 * (len(STRATEGIES) + 1)


def test_the_users_edit_and_random_copies_the_experts_count(study):
    by = {(r["strategy"], r["seed"]): r["n_edits"] for r in study["rows"]}
    assert all(by[("none", k)] == 0 for k in (0, 1))
    assert all(by[(s, k)] > 0 for s in ("expert", "biased") for k in (0, 1))
    first = {(r["strategy"], r["seed"]): r["n_edits"] for r in study["per_round"] if r["round"] == 1}
    for k in (0, 1):  # round 1 looks at the same view in both sessions
        assert first[("random", k)] == first[("expert", k)]


def test_summary_oracle_and_targets(study):
    summary, oracle = study["summary"], study["oracle"]
    assert list(summary) == list(STRATEGIES)
    for stats in (*summary.values(), oracle):
        for m in METRICS:
            assert f"{m}_std" in stats and f"{m}_ci" in stats and np.isfinite(stats[m])
    assert summary["none"]["val_acc_ci"] == pytest.approx(  # t(0.975, 1 dof) * std / sqrt(2)
        12.706 * np.std([r["val_acc"] for r in study["rows"] if r["strategy"] == "none"], ddof=1) / np.sqrt(2),
        rel=1e-3)
    none = [r["ood_acc"] for r in study["rows"] if r["strategy"] == "none"]
    assert summary["none"]["ood_acc"] == pytest.approx(np.mean(none))
    assert summary["none"]["ood_gap_closed"] == pytest.approx(0.0)
    assert set(study["targets"]) == {"expert_closes_half_the_ood_gap", "expert_val_acc_loss",
                                     "expert_worst_group_vs_none", "biased_ood_below_none",
                                     "random_ood_within_noise_of_none"}
    random = study["targets"]["random_ood_within_noise_of_none"]
    lo, hi = random["ci95"]
    assert lo <= random["value"] <= hi and 0 <= random["p"] <= 1 and random["met"] == (lo <= 0 <= hi)
    json.dumps(study)  # all plain data


def test_table_columns_markdown_and_files(study, tmp_path):
    table = summary_table(study)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert list(table["strategy"]) == [*STRATEGIES, "oracle"]
    md = to_markdown(study)
    assert md.splitlines()[0] == ("| strategy | val acc | test acc (OOD) | worst-group acc | train-val gap "
                                  "| train-test gap | OOD gap closed | worst-group gap closed | edits |")
    assert sum(line.startswith("| ") for line in md.splitlines()) == 1 + len(STRATEGIES) + 1  # head, rows, oracle
    paths = write_outputs(study, tmp_path / "out")
    assert [p.name for p in paths] == ["results.csv", "summary.csv", "results.md", "ood_by_round.png"]
    rows = pd.read_csv(paths[0])
    assert list(rows.columns[:8]) == ["strategy", "seed", *METRICS, "n_edits"]
    assert {"ood_acc_round_0", "ood_acc_round_2"} <= set(rows.columns) and len(rows) == 2 * 5
    assert tuple(pd.read_csv(paths[1]).columns) == TABLE_COLUMNS
    assert paths[3].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_simulated_session_is_recorded_in_its_workspace_and_is_deterministic(tmp_path):
    config = StudyConfig(**TINY)
    result = simulate("expert", 0, config, workspace=tmp_path / "ws")
    ws = Workspace(tmp_path / "ws", create=False)
    kinds = [e.kind for e in ws.store.events()]
    assert kinds[:2] == ["dataset_loaded", "model_built"]
    assert kinds.count("edit_added") == result["n_edits"] > 0
    assert kinds.count("edits_applied") == sum(r["n_edits"] > 0 for r in result["rounds"])
    assert kinds.count("training_segment") == 1 + config.rounds
    applied = [e for e in ws.store.events(("edits_applied",))]
    assert applied[0].params["teacher_config"] == config.teacher.to_dict()
    assert {e.actor for e in ws.store.events()} == {"simulated-expert"}
    ws.close()
    again = simulate("expert", 0, config)  # a temporary workspace this time
    assert {m: again[m] for m in METRICS} == {m: result[m] for m in METRICS}


def test_config_mistakes():
    with pytest.raises(ConfigError, match="unknown strategy 'lazy'"):
        StudyConfig(strategies=("expert", "lazy"))
    with pytest.raises(ConfigError, match="builtin with an attribute"):
        StudyConfig(dataset="digits")
    with pytest.raises(ConfigError, match="--attribute COLUMN"):
        StudyConfig(dataset=None, data="x.parquet")
    assert StudyConfig(dataset="blobs").attribute == "group" and not StudyConfig(dataset="blobs").has_oracle
    assert StudyConfig(dataset="tabular-shortcut").has_oracle
    with pytest.raises(ConfigError, match="one strategy and one seed"):
        run_study(StudyConfig(strategies=("expert", "none"), seeds=(0,), **TINY), workspace="unused")


def test_cli_json_shape(capsys, tmp_path):
    code = main(["simulate", "--n", "1000", "--strategy", "expert", "--seeds", "3", "--rounds", "1",
                 "--round-epochs", "1", "--warmup-epochs", "1", "--json", "--workspace", str(tmp_path / "ws"),
                 "--jobs", "2"])
    out, _ = capsys.readouterr()
    assert code == 0
    result = json.loads(out)
    assert {"rows", "summary", "oracle"} <= set(result)
    assert [r["strategy"] for r in result["rows"]] == ["expert"]
    assert set(result["oracle"]) >= {"val_acc", "ood_acc", "worst_group_acc"}
    assert (tmp_path / "ws" / "hill.sqlite").exists()
    assert result["config"]["jobs"] == 2  # sessions in worker processes: same results as one process
    serial = run_study(StudyConfig(n=1000, strategies=("expert",), seeds=(3,), rounds=1, round_epochs=1,
                                   warmup_epochs=1), jobs=1)
    assert serial["rows"] == result["rows"] and serial["oracle"] == result["oracle"]


def test_cli_mistakes_exit_2(capsys, tmp_path):
    assert main(["simulate", "--n", "1000", "--seeds", "0,1", "--workspace", str(tmp_path / "w")]) == 2
    assert "one strategy and one seed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--strategy", "expert,lazy"])
    assert exc.value.code == 2
    assert "unknown strategy 'lazy'" in capsys.readouterr().err


def test_a_study_run_a_seed_at_a_time_combines_into_the_same_table(study):
    pieces = [{"per_round": [r for r in study["per_round"] if r["seed"] == k], "config": study["config"],
               "timing": study["timing"]} for k in (1, 0)]
    whole = combine(pieces)
    assert whole["rows"] == study["rows"] and whole["summary"] == study["summary"]
    assert whole["oracle"] == study["oracle"] and whole["targets"] == study["targets"]
    assert whole["timing"]["runs"] == 2 * study["timing"]["runs"]

"""Timeline open: a workspace with 10,000 events opens and draws its timeline in under 1 s.

The log is a realistic session written through the real event store: rounds of a
selection, edits (200 ids each, inline), an update, apply, five checkpoints, a training
segment with per-class and per-group metrics, a bias report; a revert and a note every
ten rounds (so there are branches). Figures, each against reading the raw rows with
sqlite3 in the same run (the least any timeline could do):
- `timeline_open_data`: open the workspace and build the timeline table (lanes, summaries,
  accuracies, bias severities);
- `timeline_open_draw`: the same plus the Timeline component's plots rendered to Bokeh
  models (what the browser is sent).
"""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import numpy as np

from hill_viz.bench import best_time, figure

TARGET_S = 1.0


def add_arguments(parser) -> None:
    parser.add_argument("--events", type=int, default=10_000, help="events in the log (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per figure, best kept (default 3)")


def build_log(path: str | Path, n_events: int, seed: int = 0) -> Path:
    """Write a workspace at `path` holding about `n_events` events of a plausible session."""
    from hill_viz.core.provenance import Workspace

    rng = np.random.default_rng(seed)
    ws = Workspace(path, durable=False)  # throwaway: no fsync per event
    add = ws.store.append
    add("dataset_loaded", {"dataset": {"name": "digits-shortcut", "n": 100_000, "seed": 0}},
        {"n_samples": 100_000, "n_classes": 10})
    add("model_built", {"spec": {"n_features": 64, "n_classes": 10, "latent_dim": 16, "hidden": 128,
                                 "image_shape": [8, 8], "arch": "auto"}, "seed": 0, "train_config": {}})
    add("projection_fitted", {"projection": {"method": "pca"}, "reason": "model built"})
    epoch, edit_id, rnd = 0, 0, 0
    while ws.store.count() < n_events:
        rnd += 1
        add("selection", {"selector": {"kind": "label", "label": int(rng.integers(10))}}, {"n_selected": 900})
        applied = []
        for _ in range(3):
            edit_id += 1
            applied.append(edit_id)
            ids = np.sort(rng.choice(100_000, 200, replace=False)).tolist()
            add("edit_added", {"edit_id": edit_id, "edit": {"op": "translate"}, "ids": ids,
                               "description": f"translate label {edit_id % 10} by (0.5, 0.1)"}, {"n_ids": 200})
        add("edit_updated", {"edit_id": edit_id, "edit": {"op": "contract"}, "ids": ids,
                             "description": "contract 200 ids by x0.5"}, {"n_ids": 200})
        add("edits_applied", {"edit_ids": applied, "teacher_config": {}, "epochs": 5}, {"n_covered": 600})
        history = []
        for _ in range(5):
            epoch += 1
            history.append({"epoch": epoch, "train_loss": float(rng.random()), "val_acc": float(rng.random())})
            add("checkpoint", {"epoch": epoch, "step": epoch * 1000})
        acc = {str(c): float(rng.random()) for c in range(10)}
        add("training_segment", {"epochs": 5},
            {"epoch": epoch, "train_acc": 0.9, "val_acc": float(rng.random()), "test_acc": 0.5,
             "per_class_acc": acc, "group_acc": {"cue": acc}, "worst_group_acc": 0.2, "history": history})
        add("bias_report", {"phase": "measured", "edit_ids": applied},
            {"indicators": [{"name": name, "value": float(rng.random()), "baseline": 0.5, "delta": 0.1,
                             "severity": ["ok", "warn", "alert"][int(rng.integers(3))]}
                            for name in ("leakage", "worst_group_acc", "dp_difference", "label_conflict")]})
        if rnd % 10 == 0:
            back = ws.store.path_to()[-15]
            ws.store.append("revert", {"to": back.id}, parent_id=back.id)
            add("annotation", {"event_id": back.id, "text": "went back: the edit hurt class 3"})
    ws.close()
    return Path(path)


def run(args) -> list[dict]:
    import holoviews as hv

    from hill_viz.core.provenance import DB_NAME, Workspace
    from hill_viz.core.review import timeline_table
    from hill_viz.session import Session
    from hill_viz.ui.timeline import Timeline

    hv.extension("bokeh")
    with tempfile.TemporaryDirectory() as tmp:
        path = build_log(Path(tmp) / "ws", args.events)
        n = Workspace(path, create=False).store.count()

        def raw_rows():
            db = sqlite3.connect(path / DB_NAME)
            db.execute("SELECT * FROM events ORDER BY seq").fetchall()
            db.close()

        def open_data():
            ws = Workspace(path, create=False)
            timeline_table(ws.store)
            ws.close()

        def open_draw():
            session = Session(Workspace(path, create=False))
            Timeline(session=session).render_plots()
            session.workspace.close()

        base = best_time(raw_rows, args.repeat)
        data = best_time(open_data, args.repeat)
        draw = best_time(open_draw, args.repeat)
    return [
        figure("timeline_open_data", n, data, "s", "sqlite3_read_all_rows", base,
               target_s=TARGET_S, meets_target=data < TARGET_S),
        figure("timeline_open_draw", n, draw, "s", "sqlite3_read_all_rows", base,
               target_s=TARGET_S, meets_target=draw < TARGET_S),
    ]

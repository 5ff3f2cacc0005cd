"""The Session on a Parquet dataset folder: Dask (a small local cluster) against memory, same data."""
import numpy as np
import pytest

from hill_viz.core.data import load_dataset
from hill_viz.core.edits import Edit, Selector
from hill_viz.errors import ConfigError
from hill_viz.render import Viewport, render_frame
from hill_viz.session import Session
from hill_viz.session.engine import choose_engine

N = 6_000


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The blobs builtin as a user's folder: 3 files (3 partitions), row groups of 1,000."""
    import pandas as pd

    ds = load_dataset("blobs", n=N, seed=5, dim=6)
    table = pd.DataFrame(ds.features, columns=[f"f{j}" for j in range(ds.n_features)])
    table["label"], table["split"], table["id"] = ds.labels, ds.split, ds.ids
    table["group"] = np.asarray(ds.attribute_categories["group"])[ds.attributes["group"]]
    out = tmp_path_factory.mktemp("folder")
    for k, rows in enumerate(np.array_split(np.arange(N), 3)):
        table.iloc[rows].to_parquet(out / f"part-{k}.parquet", row_group_size=1_000, index=False)
    return out


def _run(session: Session, box: Selector) -> dict:
    session.auto_bias = False
    session.build_model(latent_dim=8, hidden=32, seed=0)
    session.train(1, wait=True)
    selected = session.select(box).copy()
    count = session.selection_count
    session.add_edit(Edit.translate(box, 1.0, 0.5))
    teacher = session.apply_edits(epochs=1, wait=True)
    weights = {k: v.clone() for k, v in session.model.state_dict().items()}
    return {"selected": selected, "count": count, "teacher_rows": teacher.rows.copy(),
            "target": teacher.target_view.copy(), "weights": weights}


@pytest.mark.parametrize("sample", [None, 2_000])
def test_dask_session_matches_the_memory_one(folder, tmp_path, sample):
    """Dask holds every row or a seeded sample in memory; memory holds the same rows (n=sample).

    The cloud, selection count and edit ids cover every row on Dask; the teacher and the
    trained weights are those of the in-memory path on the rows it holds, bit for bit.
    """
    mem, big = Session(tmp_path / "mem"), Session(tmp_path / "dask")
    try:
        mem.load_data(folder, engine="memory", n=sample)
        told = []
        big.load_data(folder, engine="dask", sample=sample, workers=2, processes=False,
                      progress=lambda d, t: told.append((d, t)))
        assert mem.engine_status.startswith("engine: in memory") and "engine: dask" in big.engine_status
        np.testing.assert_array_equal(mem.dataset.features, big.dataset.features)
        np.testing.assert_array_equal(mem.dataset.ids, big.dataset.ids)

        mem.build_model(latent_dim=8, hidden=32, seed=0)
        big.build_model(latent_dim=8, hidden=32, seed=0)
        x0, x1, y0, y1 = mem.frame.extent()
        box = Selector.of_box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
        a, b = _run(mem, box), _run(big, box)
        assert told and told[-1][0] == told[-1][1] > 1  # per-partition progress
        assert big.big_frame is not None and len(big.big_frame) == N
        vp = Viewport(x_range=(x0, x1), y_range=(y0, y1), width=200, height=150)
        from hill_viz.scale.view import render_frame as render_dask

        assert mem.dataset.n_samples == big.dataset.n_samples == (sample or N)
        np.testing.assert_array_equal(a["selected"], b["selected"])
        assert a["count"] == len(a["selected"]) > 0
        if sample is None:  # one data set: the same image, the same count
            np.testing.assert_array_equal(render_frame(mem.frame, vp, "label").data,
                                          render_dask(big.big_frame, vp, "label").data)
            assert b["count"] == a["count"]
        else:  # the count and the edit's ids are over every row; the teacher holds the sample's
            assert b["count"] > a["count"]
            added = [e for e in big.workspace.store.events() if e.kind == "edit_added"][0]
            assert len(added.params["ids"]) == b["count"]
        np.testing.assert_array_equal(a["teacher_rows"], b["teacher_rows"])
        np.testing.assert_array_equal(a["target"], b["target"])
        for name, w in a["weights"].items():
            assert np.array_equal(w.numpy(), b["weights"][name].numpy()), name
    finally:
        mem.close()
        big.close()


def test_hover_limit_counts_the_cloud_on_dask_not_the_sample(folder, tmp_path):
    """On Dask the hover layer lists sample rows, but only once the viewport shows at most
    `hover_limit` of the whole frame's points (estimated: sample rows x rows per sample row)."""
    import holoviews as hv

    from hill_viz.core.geometry import box_mask
    from hill_viz.ui.latent_view import LatentView

    hv.extension("bokeh")
    s = Session(tmp_path / "dask")
    try:
        s.load_data(folder, engine="dask", sample=1_500, workers=1, processes=False)
        s.build_model(latent_dim=8, hidden=32, seed=0)
        assert len(s.big_frame) == N and len(s.frame) == 1_500
        view = LatentView(session=s, hover_limit=2_000)
        assert len(view.hover[()].data) == 0  # 1,500 (<= 2,000) sample rows stand for 6,000 points
        x, y = s.frame.column("x"), s.frame.column("y")
        cx, cy = float(np.median(x)), float(np.median(y))
        for w in np.linspace(0.5, 0.01, 25) * float(np.ptp(x)):  # zoom in until few enough points show
            inside = int(box_mask(x, y, cx - w, cy - w, cx + w, cy + w).sum())
            if inside * 4 <= 2_000:
                break
        assert len(view._hover_points(x_range=(cx - w, cx + w), y_range=(cy - w, cy + w)).data) == inside > 0
        wider = 1.0 * float(np.ptp(x))
        assert len(view._hover_points(x_range=(cx - wider, cx + wider), y_range=(cy - wider, cy + wider)).data) == 0
    finally:
        s.close()


def test_engine_rule_and_overrides():
    small = choose_engine(10_000, 16, budget_bytes=10**9)
    assert small.engine == "memory" and "fits" in small.reason
    large = choose_engine(10**8, 16, budget_bytes=10**9)
    assert large.engine == "dask" and "exceeds" in large.reason
    assert choose_engine(10, 2, engine="dask").engine == "dask"
    assert choose_engine(10**9, 64, engine="memory").engine == "memory"
    assert choose_engine(10, 2, scheduler="tcp://h:8786").engine == "dask"
    with pytest.raises(ConfigError, match="scheduler needs the dask engine"):
        choose_engine(10, 2, engine="memory", scheduler="tcp://h:8786")
    with pytest.raises(ConfigError, match="unknown engine"):
        choose_engine(10, 2, engine="spark")


def test_cli_trains_on_a_sample_of_a_folder_on_dask_as_in_memory(folder, tmp_path, capsys):
    """`hill-viz train --data FOLDER --scheduler ADDRESS --sample K` = `--engine memory --n K`."""
    import json

    from distributed import LocalCluster

    from hill_viz.cli import main

    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps([{"op": "contract", "selector": {"kind": "label", "label": 1},
                                  "params": {"factor": 0.5}}]))
    common = ["train", "--data", str(folder), "--epochs", "1", "--edits", str(edits), "--edit-epochs", "1",
              "--latent-dim", "8", "--json"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert main([*common, "--scheduler", cluster.scheduler_address, "--sample", "1500",
                     "--workspace", str(tmp_path / "dask")]) == 0
        on_dask = json.loads(capsys.readouterr().out)
    assert main([*common, "--engine", "memory", "--n", "1500", "--workspace", str(tmp_path / "mem")]) == 0
    in_memory = json.loads(capsys.readouterr().out)
    assert on_dask["engine"].startswith("engine: dask (scheduler tcp://127.0.0.1")
    assert "6,000 rows in 3 partitions, training and samples on 1,500" in on_dask["engine"]
    assert in_memory["engine"].startswith("engine: in memory (asked for); 1,500 rows")
    for key in ("train_acc", "val_acc", "test_acc", "per_class_acc", "epochs", "dataset"):
        assert on_dask[key] == in_memory[key], key


def test_a_served_session_opens_folders_under_its_data_roots_only(folder, tmp_path):
    """`load_dataset(path=FOLDER)` goes to `load_data`; the data roots apply to folders as to files."""
    from hill_viz.core.access import DataRoots, Limits
    from hill_viz.errors import DataError

    s = Session(tmp_path / "ws", limits=Limits(max_n=N, data_roots=DataRoots([folder.parent])))
    try:
        s.load_dataset(path=folder.name)  # relative: from the first root
        assert s.dataset.n_samples == N and s.engine_status.startswith("engine: in memory")
        with pytest.raises(DataError, match="reads only dataset files under its data roots"):
            s.load_dataset(path="/etc")  # a folder outside the roots
        capped = Session(tmp_path / "ws2", limits=Limits(max_n=N - 1))
        with pytest.raises(ConfigError, match="above this server's limit"):
            capped.load_dataset(path=str(folder))
        capped.close()
    finally:
        s.close()


def test_streamed_training_covers_every_row_and_replays_exactly(folder, tmp_path):
    """--stream on Dask: epochs over every training row of the folder through a buffer smaller than
    the split, a teacher over the edit's ids in the whole folder; replay rebuilds the same weights."""
    from hill_viz.core.provenance import Workspace
    from hill_viz.core.replay import replay

    s = Session(tmp_path / "ws")
    try:
        s.load_data(folder, engine="dask", sample=2_000, stream=1_500, workers=2, processes=False)
        assert "training streams every training row of 6,000 (buffer 1,500 rows)" in s.engine_status
        loaded = s.workspace.store.events(("dataset_loaded",))[-1]
        assert loaded.params["dataset"]["stream"] == 1_500
        s.auto_bias = False
        s.build_model(latent_dim=8, hidden=32, seed=0)
        s.train(1, wait=True)
        folder_train = len(load_dataset("blobs", n=N, seed=5, dim=6).indices("train"))
        assert s.trainer.step == -(-folder_train // s.trainer.config.batch_size)  # every row, not the sample's
        x0, x1, y0, y1 = s.frame.extent()
        box = Selector.of_box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
        s.select(box)
        s.add_edit(Edit.translate(box, 1.0, 0.5))
        teacher = s.apply_edits(epochs=1, wait=True)
        held = np.isin(teacher.ids, s.dataset.ids).sum()
        assert teacher.n_covered > held > 0  # covered samples outside the in-memory sample are taught too
    finally:
        s.close()
    s = Session.open(tmp_path / "ws", auto_bias=False)  # reopened, it streams as its log says
    try:
        before = s.trainer.step
        s.train(1, wait=True)
        assert s.trainer.step - before == -(-folder_train // s.trainer.config.batch_size)
    finally:
        s.close()
    again = Session(tmp_path / "replay", live_frame=False, auto_bias=False)
    try:
        report = replay(Workspace(tmp_path / "ws", read_only=True), again)
        assert report.exact and report.weights_equal and report.teachers == [(report.teachers[0][0], True)]
    finally:
        again.close()


def test_cli_streams_a_folder_and_replays_it(folder, tmp_path, capsys):
    """`hill-viz train --data FOLDER --stream N` then `hill-viz replay`: exit 0 (exact)."""
    import json

    from hill_viz.cli import main

    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps([{"op": "contract", "selector": {"kind": "label", "label": 1},
                                  "params": {"factor": 0.5}}]))
    assert main(["train", "--data", str(folder), "--engine", "memory", "--n", "2000", "--stream", "1000",
                 "--epochs", "1", "--edits", str(edits), "--edit-epochs", "1", "--latent-dim", "8",
                 "--workspace", str(tmp_path / "ws"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"]["stream"] == 1000 and "training streams" in result["engine"]
    assert main(["replay", "--workspace", str(tmp_path / "ws"), "--out", str(tmp_path / "out"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exact"] is True
    assert main(["train", "--dataset", "digits", "--stream", "1000"]) == 2
    assert "--stream apply to a dataset folder" in capsys.readouterr().err

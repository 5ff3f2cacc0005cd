"""IdIndex: exact id -> row for any id order, and the shuffled-ids bug through every caller."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from hill_viz.core.bias import BiasConfig, EditTargets, predict_report
from hill_viz.core.data import load_dataset
from hill_viz.core.edits import Edit, SelectionContext, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.ids import IdIndex
from hill_viz.core.model import ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.core.teacher import Teacher
from hill_viz.errors import EditError
from hill_viz.session import Session


def shuffled_with_fixed_ends(n: int, seed: int = 0) -> np.ndarray:
    """A permutation of 0..n-1 that starts at 0 and ends at n-1: looks like 0..n-1 at both ends."""
    middle = np.random.default_rng(seed).permutation(np.arange(1, n - 1))
    return np.r_[0, middle, n - 1].astype(np.int64)


LAYOUTS = {
    "identity": lambda n: np.arange(n, dtype=np.int64),
    "shuffled, fixed ends": shuffled_with_fixed_ends,
    "shuffled": lambda n: np.random.default_rng(1).permutation(n).astype(np.int64),
    "gapped, increasing": lambda n: np.arange(n, dtype=np.int64) * 7 + 3,
    "gapped, shuffled": lambda n: np.random.default_rng(2).permutation(n).astype(np.int64) * 5 + 1000,
    "negative": lambda n: np.random.default_rng(3).permutation(n).astype(np.int64) - n // 2,
    "0..n-1 with one gap": lambda n: np.r_[np.arange(n - 2), n - 1, n].astype(np.int64),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rows_match_a_dictionary_for_every_layout(layout):
    ids = LAYOUTS[layout](500)
    index = IdIndex(ids)
    truth = {int(i): r for r, i in enumerate(ids)}
    wanted = np.random.default_rng(4).choice(ids, 60, replace=False)
    assert index.rows(wanted).tolist() == [truth[int(i)] for i in wanted]
    assert index.rows(ids).tolist() == list(range(500))
    assert index.is_identity == (layout == "identity")
    assert (index.nbytes == 0) == (layout in ("identity", "gapped, increasing", "0..n-1 with one gap"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_missing_id_is_named(layout):
    ids = LAYOUTS[layout](300)
    missing = int(ids.max()) + 11
    index = IdIndex(ids)
    with pytest.raises(EditError, match=rf"1 of the 3 selected ids are not in the dataset \(first: {missing}\)"):
        index.rows([ids[5], missing, ids[7]])
    assert index.contains([ids[5], missing, int(ids.min()) - 1]).tolist() == [True, False, False]


def test_empty_index_and_empty_query():
    assert IdIndex(np.empty(0, np.int64)).rows([]).tolist() == []
    with pytest.raises(EditError, match="first: 4"):
        IdIndex(np.empty(0, np.int64)).rows([4])
    assert IdIndex(np.array([5, 2], np.int64)).rows(np.empty(0, np.int64)).dtype == np.int64


def test_one_index_per_dataset_rebuilt_when_its_ids_change():
    ds = load_dataset("blobs", n=200, dim=4)
    assert IdIndex.of(ds) is IdIndex.of(ds)
    ds.ids = shuffled_with_fixed_ends(200)
    index = IdIndex.of(ds)
    assert index.ids is ds.ids and index.rows([ds.ids[17]]).tolist() == [17]


def test_a_frame_keeps_one_index_and_its_context_uses_it():
    ids = shuffled_with_fixed_ends(50)
    frame = LatentFrame.from_arrays(np.zeros(50), np.zeros(50), ids=ids)
    assert frame.id_index is frame.id_index
    assert frame.context().id_index is frame.id_index
    assert frame.rows_of_ids([ids[9], ids[3]]).tolist() == [9, 3]
    assert frame.context().rows_of_ids([ids[9]]).tolist() == [9]


# -- through the selectors ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_id_selectors_select_the_chosen_points(layout):
    n = 178  # the wine data of the bug report
    ids = LAYOUTS[layout](n)
    rng = np.random.default_rng(5)
    ctx = SelectionContext(ids=ids, x=rng.normal(size=n).astype(np.float32), y=rng.normal(size=n).astype(np.float32),
                           labels=rng.integers(0, 3, n))
    chosen = ids[[111, 89, 100]]
    assert Selector.of_ids(chosen).resolve(ctx).tolist() == sorted(chosen.tolist())
    both = Selector.all_of(Selector.of_ids(ids[:40]), Selector.of_label(1)).resolve(ctx)
    assert both.tolist() == sorted(ids[:40][ctx.labels[:40] == 1].tolist())
    with pytest.raises(EditError, match="not in the dataset"):
        Selector.of_ids([int(ids.max()) + 1]).resolve(ctx)


# -- through the teacher and the bias report ------------------------------------------------------------

@pytest.fixture(scope="module")
def model_and_view():
    ds = load_dataset("digits-shortcut", n=800, seed=0)
    model = build_model(ModelSpec(ds.n_features, ds.n_classes, latent_dim=8, arch="mlp"), 0)
    proj = Projection().fit(infer(model, ds.features, ds.indices("train"))[0])
    return ds, model, proj


@pytest.mark.parametrize("layout", ["shuffled, fixed ends", "gapped, shuffled", "negative"])
def test_teacher_and_bias_report_cover_exactly_the_chosen_ids(model_and_view, layout):
    base, model, proj = model_and_view
    ds = dataclasses.replace(base, ids=LAYOUTS[layout](base.n_samples))
    frame = LatentFrame.build(model, proj, ds)
    train = ds.indices("train")
    chosen = ds.ids[train[::7]]
    partner = ds.ids[train[3::11]]
    partner = partner[~np.isin(partner, chosen)]
    edits = [Edit.translate(Selector.of_ids(chosen), 1.0, 0.5).resolve(frame.context()),
             Edit.merge(Selector.of_ids(chosen[:20]), Selector.of_ids(partner)).resolve(frame.context())]
    teacher = Teacher(model, ds, proj, edits)
    assert sorted(ds.ids[teacher.rows].tolist()) == sorted(np.r_[chosen, partner].tolist())
    z, _ = infer(model, ds.features, teacher.rows)
    moved = teacher.target_view[np.isin(ds.ids[teacher.rows], chosen[20:])] - \
        proj.transform(z)[np.isin(ds.ids[teacher.rows], chosen[20:])]
    np.testing.assert_allclose(moved, np.broadcast_to([1.0, 0.5], moved.shape), atol=1e-4)
    targets = EditTargets.from_edits(edits, ds, model, proj, np.c_[frame.column("x"), frame.column("y")])
    assert np.array_equal(targets.rows, teacher.rows)
    report = predict_report(model, ds, proj, targets, [1, 2], BiasConfig(n_reference=400, n_eval=200, n_probe=200,
                                                                         n_distortion=100))
    assert report.sizes["n_covered"] == len(chosen) + len(partner)


# -- a user's file, end to end --------------------------------------------------------------------------

def write_wine_csv(path) -> pd.DataFrame:
    """sklearn's wine data with an `id` column that is 0..n-1 at both ends and shuffled between."""
    wine = load_wine()
    table = pd.DataFrame(wine.data, columns=[f"f{j}" for j in range(wine.data.shape[1])])
    table["label"] = wine.target
    table["id"] = shuffled_with_fixed_ends(len(wine.target))
    table.to_csv(path, index=False)
    return table


def test_csv_with_shuffled_ids_teaches_exactly_the_chosen_points(tmp_path):
    table = write_wine_csv(tmp_path / "wine.csv")
    s = Session(tmp_path / "ws")
    ds = s.load_dataset(path=tmp_path / "wine.csv")
    s.build_model(latent_dim=4, hidden=16, seed=0)
    train_ids = ds.ids[ds.indices("train")]
    chosen = train_ids[[40, 7, 19, 3, 55]]
    selected = s.select(Selector.of_ids(chosen))
    assert sorted(selected.tolist()) == sorted(chosen.tolist())
    s.add_edit(Edit.translate(s.selection_selector(), 0.5, 0.0))
    teacher = s.apply_edits(1, wait=True)
    assert sorted(ds.ids[teacher.rows].tolist()) == sorted(chosen.tolist())
    by_id = table.set_index("id")  # what the file says about each taught id
    np.testing.assert_allclose(ds.features[teacher.rows], by_id.loc[ds.ids[teacher.rows]].iloc[:, :13], rtol=1e-6)


def test_the_lookup_benchmark_prints_figures_with_a_baseline(capsys):
    from hill_viz.cli import main

    assert main(["bench", "ids", "--points", "20000", "--query", "500", "--repeat", "1"]) == 0
    figures = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {f["name"] for f in figures} == {"id_rows_shuffled", "id_index_build_shuffled", "id_rows_identity"}
    for f in figures:
        assert f["value"] > 0 and f["ratio"] == pytest.approx(f["value"] / f["baseline_value"])


def test_the_cli_applies_an_id_edit_of_a_shuffled_file_to_those_ids(tmp_path):
    from hill_viz.cli import main
    from hill_viz.core.provenance import Workspace

    write_wine_csv(tmp_path / "wine.csv")
    ds = load_dataset(path=tmp_path / "wine.csv")
    chosen = ds.ids[ds.indices("train")][[111, 89, 100]].tolist()  # the ids of the bug report's rows
    edits = [Edit.translate(Selector.of_ids(chosen), 0.5, 0.0).to_dict()]
    (tmp_path / "edits.json").write_text(json.dumps(edits))
    assert main(["train", "--data", str(tmp_path / "wine.csv"), "--epochs", "1", "--latent-dim", "4",
                 "--edits", str(tmp_path / "edits.json"), "--edit-epochs", "1",
                 "--workspace", str(tmp_path / "ws"), "--json"]) == 0
    ws = Workspace(tmp_path / "ws", create=False)
    added, = ws.store.events(("edit_added",))
    assert added.params["ids"] == sorted(chosen)
    applied, = ws.store.events(("edits_applied",))
    with np.load(ws.resolve(applied.artifact("teacher")["path"])) as teacher:
        assert sorted(ds.ids[teacher["rows"]].tolist()) == sorted(chosen)

"""A Parquet dataset folder, opened lazily, validated per partition with the single-file rules."""
import numpy as np
import pandas as pd
import pytest

from hill_viz.core.data import load_dataset
from hill_viz.errors import DataError
from hill_viz.scale.source import open_source

from .conftest import N


def _read_all(source):
    parts = [source.read(p) for p in source.parts]
    return {k: np.concatenate([getattr(a, k) for a in parts]) for k in ("features", "labels", "split", "ids", "rows")}, \
        {name: np.concatenate([a.attributes[name] for a in parts]) for name in source.attribute_categories}


def test_generated_folder_is_the_blobs_dataset_sample_for_sample(source, blobs):
    assert source.n_samples == N and len(source.parts) == 3
    assert [(p.file.name, p.file_offset, p.offset) for p in source.parts] == [
        ("part-00000.parquet", 0, 0), ("part-00000.parquet", 25_600, 25_600), ("part-00001.parquet", 0, 51_200)]
    cols, attrs = _read_all(source)
    np.testing.assert_array_equal(cols["features"], blobs.features)
    np.testing.assert_array_equal(cols["labels"], blobs.labels)
    np.testing.assert_array_equal(cols["split"], blobs.split)
    np.testing.assert_array_equal(cols["ids"], blobs.ids)
    np.testing.assert_array_equal(cols["rows"], np.arange(N))
    np.testing.assert_array_equal(attrs["group"], blobs.attributes["group"])
    assert source.attribute_categories == blobs.attribute_categories
    assert source.split_counts == tuple(np.bincount(blobs.split, minlength=3))


def _user_table(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    colour[rng.random(n) < 0.05] = None
    return pd.DataFrame({"a": rng.normal(size=n).astype(np.float32), "b": rng.normal(size=n),
                         "label": rng.choice(["cat", "dog", "emu"], n), "colour": colour,
                         "split": rng.choice(["train", "val", "test"], n),
                         "id": rng.permutation(10 * n)[:n]})


def _write_folder(folder, table, cuts, row_group_size=None):
    folder.mkdir()
    bounds = [0, *cuts, len(table)]
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        table.iloc[a:b].to_parquet(folder / f"f{k}.parquet", index=False, row_group_size=row_group_size)
    return folder


def test_folder_decodes_as_the_same_rows_in_one_file(tmp_path, cluster):
    table = _user_table()
    table.to_parquet(tmp_path / "all.parquet", index=False)
    # the first file holds only cats: one class in a partition is fine, the folder has three
    table = table.sort_values("label", kind="stable").reset_index(drop=True)
    table.to_parquet(tmp_path / "sorted.parquet", index=False)
    one = load_dataset(path=tmp_path / "sorted.parquet")
    source = open_source(_write_folder(tmp_path / "folder", table, [500, 1700], row_group_size=400),
                         partition_rows=800)
    cols, attrs = _read_all(source)
    assert source.class_names == one.class_names and source.attribute_categories == one.attribute_categories
    np.testing.assert_array_equal(cols["features"], one.features)
    for name in ("labels", "split", "ids"):
        np.testing.assert_array_equal(cols[name], getattr(one, name))
    np.testing.assert_array_equal(attrs["colour"], one.attributes["colour"])


def test_without_split_and_id_columns_rows_are_ids_and_every_partition_trains_every_class(tmp_path, cluster):
    table = _user_table().drop(columns=["split", "id"])
    source = open_source(_write_folder(tmp_path / "f", table, [1000, 2000]), seed=7)
    assert source.split_counts is None
    cols, _ = _read_all(source)
    np.testing.assert_array_equal(cols["ids"], np.arange(len(table)))
    for part in source.parts:
        a = source.read(part)
        assert set(a.labels[a.split == 0]) == set(a.labels)
    again = open_source(tmp_path / "f", seed=7)
    np.testing.assert_array_equal(_read_all(again)[0]["split"], cols["split"])


@pytest.mark.parametrize("spoil, message", [
    (lambda t: t.assign(b=t["b"].where(t.index != 2345, np.nan)),
     "f1.parquet: feature 'b' holds nan at row 845; features must be finite numbers"),
    (lambda t: t.assign(split=t["split"].where(t.index != 2100, "holdout")),
     "f1.parquet: column 'split' holds 'holdout' at row 600; use train, val or test"),
    (lambda t: t.assign(label=t["label"].where(t.index != 1600, None)),
     "f1.parquet: column 'label' is missing at row 100 (NaN)"),
    (lambda t: t.assign(id=t["id"].where(t.index != 2999, t["id"][10])),
     "column 'id' holds duplicate id"),
])
def test_validation_errors_name_the_file_and_the_row_in_it(tmp_path, cluster, spoil, message):
    folder = _write_folder(tmp_path / "bad", spoil(_user_table()), [1500], row_group_size=500)
    with pytest.raises(DataError, match=None) as err:
        source = open_source(folder, partition_rows=500)
        for part in source.parts:
            source.read(part)
    assert message in str(err.value)


def test_duplicate_id_across_files_names_both(tmp_path, cluster):
    table = _user_table()
    table.loc[2999, "id"] = table.loc[10, "id"]
    with pytest.raises(DataError) as err:
        open_source(_write_folder(tmp_path / "dup", table, [1500]))
    assert f"duplicate id {table.loc[10, 'id']} (f0.parquet row 10 and f1.parquet row 1499)" in str(err.value)


def test_folder_level_mistakes(tmp_path, cluster):
    with pytest.raises(DataError, match="holds no .parquet files"):
        open_source((tmp_path / "empty").mkdir() or tmp_path / "empty")
    with pytest.raises(DataError, match="folder not found"):
        open_source(tmp_path / "nowhere")
    table = _user_table()
    folder = _write_folder(tmp_path / "cols", table, [1000])
    table.drop(columns=["colour"]).to_parquet(folder / "f2.parquet", index=False)
    with pytest.raises(DataError, match="f2.parquet has other columns than f0.parquet .differing: colour."):
        open_source(folder)
    with pytest.raises(DataError, match="has no 'label' column"):
        open_source(_write_folder(tmp_path / "nolabel", table.rename(columns={"label": "y"}), []))
    with pytest.raises(DataError, match="holds a single class"):
        open_source(_write_folder(tmp_path / "one", table.assign(label="cat"), [1000]))

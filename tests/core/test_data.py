"""Datasets: builtins, generation by chunks and memmap cache, user files, validation."""

import json

import numpy as np
import pandas as pd
import pytest

from hill_viz.core.data import generate, registry
from hill_viz.core.data import CUE_PATTERNS, CUE_PIXELS, SPLITS, Dataset, list_datasets, load_dataset
from hill_viz.errors import DataError, HillError

SMALL = {"digits-shortcut": {"n": 2000}, "blobs": {"n": 2000}, "digits": {}, "tabular-shortcut": {"n": 2000}}


def assert_same(a: Dataset, b: Dataset) -> None:
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.split, b.split)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert a.attributes.keys() == b.attributes.keys()
    for key in a.attributes:
        np.testing.assert_array_equal(a.attributes[key], b.attributes[key])
    assert a.class_names == b.class_names
    assert a.attribute_categories == b.attribute_categories


def split_fractions(ds: Dataset) -> np.ndarray:
    return np.bincount(ds.split, minlength=3) / ds.n_samples


# ---------------------------------------------------------------- cards and registry


def test_cards_cover_the_builtins_with_their_code_defaults():
    cards = {card.name: card for card in list_datasets()}
    assert set(cards) == {"digits", "digits-shortcut", "blobs", "tabular-shortcut"}
    for name, card in cards.items():
        builtin = registry.BUILTINS[name]
        expected = {"seed": 0, **builtin.defaults}
        if builtin.default_n is not None:
            expected["n"] = builtin.default_n
        assert card.defaults == expected, name
        assert card.kind == "builtin" and card.title and card.description and card.citation
    assert cards["digits-shortcut"].attributes == ("cue",)
    assert cards["blobs"].attributes == ("group",)
    assert cards["tabular-shortcut"].attributes == ("cue",)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_builtin_contract(name):
    ds = load_dataset(name, **SMALL[name])
    n = ds.n_samples
    assert ds.features.dtype == np.float32 and ds.features.shape == (n, ds.n_features)
    assert ds.labels.dtype == np.int64 and ds.labels.min() >= 0 and ds.labels.max() < ds.n_classes
    assert ds.split.dtype == np.int8 and set(np.unique(ds.split)) == {0, 1, 2}
    assert ds.ids.dtype == np.int64 and len(np.unique(ds.ids)) == n
    assert np.isfinite(ds.features).all()
    np.testing.assert_allclose(split_fractions(ds), [0.7, 0.15, 0.15], atol=0.01)
    for key, codes in ds.attributes.items():
        assert codes.dtype in (np.int8, np.int16) and codes.shape == (n,)
        assert codes.min() >= 0 and codes.max() < len(ds.attribute_categories[key])
    summary = json.loads(json.dumps(ds.describe()))
    assert summary["n_samples"] == n and summary["name"] == name
    assert sum(summary["splits"].values()) == n
    assert_same(load_dataset(**summary["params"]), ds)  # params survive JSON


def test_digits_is_the_sklearn_set_scaled():
    from sklearn.datasets import load_digits

    ds = load_dataset("digits")
    ref = load_digits()
    assert ds.n_samples == 1797 and ds.image_shape == (8, 8) and ds.attributes == {}
    np.testing.assert_allclose(ds.features, ref.data / 16, atol=1e-6)
    np.testing.assert_array_equal(ds.labels, ref.target)
    np.testing.assert_array_equal(ds.ids, np.arange(1797))
    for c in range(10):  # stratified: every class split about 70/15/15
        in_class = ds.split[ds.labels == c]
        np.testing.assert_allclose(np.bincount(in_class, minlength=3) / len(in_class), [0.7, 0.15, 0.15], atol=0.02)


def test_digits_split_follows_the_seed_and_n_keeps_original_ids():
    a, b, c = load_dataset("digits"), load_dataset("digits"), load_dataset("digits", seed=1)
    np.testing.assert_array_equal(a.split, b.split)
    assert (a.split != c.split).any()
    sub = load_dataset("digits", n=300, seed=2)
    assert sub.n_samples == 300 and (np.diff(sub.ids) > 0).all()
    np.testing.assert_array_equal(sub.features, a.features[sub.ids])
    with pytest.raises(DataError, match="n=5000 but digits has only 1797"):
        load_dataset("digits", n=5000)


@pytest.mark.parametrize("name", ["digits-shortcut", "blobs", "tabular-shortcut"])
def test_generated_builtins_are_deterministic_by_seed(name):
    a = load_dataset(name, n=1000, seed=3)
    assert_same(a, load_dataset(name, n=1000, seed=3))
    b = load_dataset(name, n=1000, seed=4)
    assert not np.array_equal(a.features, b.features)
    assert (a.labels != b.labels).any() and (a.split != b.split).any()


def test_indices_and_unknown_split():
    ds = load_dataset("blobs", n=1000)
    parts = [ds.indices(s) for s in SPLITS]
    assert [len(p) for p in parts] == [700, 150, 150]  # exact within blocks of 100
    assert all(p.dtype == np.int64 for p in parts)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1000))
    with pytest.raises(DataError, match="unknown split 'validation'.*train, val, test"):
        ds.indices("validation")


# ---------------------------------------------------------------- digits-shortcut


def test_shortcut_cue_agrees_with_label_rho_in_train_val_and_chance_in_test():
    ds = load_dataset("digits-shortcut", n=20000, seed=1)
    agree = ds.attributes["cue"] == ds.labels
    for split, expected in (("train", 0.9), ("val", 0.9), ("test", 0.1)):
        assert agree[ds.indices(split)].mean() == pytest.approx(expected, abs=0.025), split
    assert ds.attribute_categories["cue"] == ds.class_names == tuple("0123456789")
    wrong = ~agree & (ds.split != 2)  # a disagreeing cue is spread over the other classes
    assert len(np.unique(ds.attributes["cue"][wrong & (ds.labels == 3)])) == 9
    low = load_dataset("digits-shortcut", n=20000, seed=1, rho=0.5)
    assert agree_rate(low, "train") == pytest.approx(0.5, abs=0.03)


def agree_rate(ds: Dataset, split: str) -> float:
    idx = ds.indices(split)
    return float((ds.attributes["cue"][idx] == ds.labels[idx]).mean())


def test_shortcut_cue_pattern_is_planted_and_cue_false_only_removes_it():
    clean = {"noise": 0.0, "n": 500}
    ds = load_dataset("digits-shortcut", **clean)
    patterns = np.asarray(CUE_PATTERNS)[ds.attributes["cue"]]  # (N, 2)
    region = ds.features[:, CUE_PIXELS]
    assert (np.take_along_axis(ds.features, patterns, axis=1) == 1.0).all()
    assert (region.sum(axis=1) == 2.0).all()  # exactly the two pattern pixels lit
    oracle = load_dataset("digits-shortcut", cue=False, **clean)
    assert (oracle.features[:, CUE_PIXELS] == 0).all()
    rest = np.setdiff1d(np.arange(64), CUE_PIXELS)
    np.testing.assert_array_equal(oracle.features[:, rest], ds.features[:, rest])
    np.testing.assert_array_equal(oracle.attributes["cue"], ds.attributes["cue"])
    assert oracle.params["cue"] is False


def test_shortcut_patterns_are_distinct_pairs_in_the_border():
    assert len(set(CUE_PATTERNS)) == 10 and all(len(p) == 2 for p in CUE_PATTERNS)
    assert {px for pair in CUE_PATTERNS for px in pair} == set(CUE_PIXELS)


def test_shortcut_test_split_uses_other_base_images():
    from sklearn.datasets import load_digits

    plain = dict(n=3000, noise=0.0, shift=0, rotate=0.0, cue=False)
    ds = load_dataset("digits-shortcut", **plain)
    bases = (load_digits().data / 16).astype(np.float32)
    bases[:, CUE_PIXELS] = 0
    lookup = {row.tobytes(): i for i, row in enumerate(bases)}  # the 1797 images are distinct
    base = np.array([lookup[row.tobytes()] for row in ds.features])
    test = ds.split == 2
    assert not set(base[test]) & set(base[~test])
    np.testing.assert_array_equal(ds.labels, load_digits().target[base])


def test_shortcut_augmentation_changes_images_within_range():
    ds = load_dataset("digits-shortcut", n=500)
    plain = load_dataset("digits-shortcut", n=500, noise=0.0, shift=0, rotate=0.0)
    assert ds.features.min() >= 0 and ds.features.max() <= 1
    np.testing.assert_array_equal(ds.labels, plain.labels)
    assert np.abs(ds.features - plain.features).mean() > 0.05


def test_generation_is_chunk_aligned_and_prefix_stable(monkeypatch):
    monkeypatch.setattr(generate, "CHUNK_SIZE", 300)
    for name in ("digits-shortcut", "blobs", "tabular-shortcut"):
        big = load_dataset(name, n=1000)  # 3 full chunks + a partial one
        small = load_dataset(name, n=650)  # ends inside the third chunk
        np.testing.assert_array_equal(big.features[:650], small.features)
        np.testing.assert_array_equal(big.labels[:650], small.labels)
        np.testing.assert_array_equal(big.split[:650], small.split)
        key = next(iter(big.attributes))
        np.testing.assert_array_equal(big.attributes[key][:650], small.attributes[key])
        # chunks are seeded independently: no two chunks repeat each other
        assert not np.array_equal(big.features[:300], big.features[300:600])


# ---------------------------------------------------------------- tabular-shortcut


def test_tabular_shortcut_cue_agrees_rho_in_train_val_and_is_independent_in_test():
    ds = load_dataset("tabular-shortcut", n=20000, seed=1)
    assert ds.features.shape == (20000, 32) and ds.image_shape is None
    assert ds.attribute_categories["cue"] == ds.class_names == ("c0", "c1", "c2", "c3", "c4")
    for split, expected in (("train", 0.9), ("val", 0.9), ("test", 0.2)):
        assert agree_rate(ds, split) == pytest.approx(expected, abs=0.025), split
    test = ds.indices("test")  # independent in test: every (label, cue) group about equally full
    counts = np.bincount(ds.labels[test] * 5 + ds.attributes["cue"][test], minlength=25)
    assert counts.min() > 0.6 * counts.mean()
    assert agree_rate(load_dataset("tabular-shortcut", n=20000, seed=1, rho=0.5), "train") == pytest.approx(0.5, abs=0.03)


def test_tabular_shortcut_cue_false_removes_only_the_code():
    ds = load_dataset("tabular-shortcut", n=3000, seed=2, noise=0.0, modes=1)
    oracle = load_dataset("tabular-shortcut", n=3000, seed=2, noise=0.0, modes=1, cue=False)
    np.testing.assert_array_equal(ds.labels, oracle.labels)
    np.testing.assert_array_equal(ds.attributes["cue"], oracle.attributes["cue"])
    # without core noise, the cue alone separates the samples of one class
    same_class = ds.labels == 0
    by_cue = [ds.features[same_class & (ds.attributes["cue"] == c)].mean(0) for c in range(5)]
    assert min(np.linalg.norm(by_cue[0] - by_cue[c]) for c in range(1, 5)) > 1.0
    cue_free = [oracle.features[same_class & (oracle.attributes["cue"] == c)].mean(0) for c in range(5)]
    assert max(np.linalg.norm(cue_free[0] - cue_free[c]) for c in range(1, 5)) < 0.1
    # the cue is read off the rotated features, by no single column
    assert np.abs(np.corrcoef(ds.features.T, ds.attributes["cue"] == 1)[-1, :-1]).max() < 0.9


def test_tabular_shortcut_options_are_checked():
    with pytest.raises(DataError, match=r"option 'classes' .* must lie in \[2, 20\]"):
        load_dataset("tabular-shortcut", n=1000, classes=1)
    with pytest.raises(DataError, match=r"option 'dim' .* must lie in \[6, 1024\]"):
        load_dataset("tabular-shortcut", n=1000, dim=5)


# ---------------------------------------------------------------- blobs


def test_blobs_options_and_group_attribute():
    ds = load_dataset("blobs", n=5000, dim=5, centers=4, groups=2, group_corr=1.0)
    assert ds.n_features == 5 and ds.n_classes == 4
    assert ds.attribute_categories == {"group": ("g0", "g1")}
    np.testing.assert_array_equal(ds.attributes["group"], ds.labels % 2)
    loose = load_dataset("blobs", n=5000, group_corr=0.0)
    assert np.bincount(loose.attributes["group"]) / 5000 == pytest.approx([1 / 3] * 3, abs=0.03)


def test_large_generated_data_goes_to_a_reused_memmap(monkeypatch, tmp_path):
    in_memory = load_dataset("blobs", n=3000, seed=5)
    monkeypatch.setenv("HILL_VIZ_CACHE", str(tmp_path))
    monkeypatch.setattr(generate, "MEMMAP_THRESHOLD_BYTES", 1000)
    mapped = load_dataset("blobs", n=3000, seed=5)
    assert isinstance(mapped.features, np.memmap) and not mapped.features.flags.writeable
    assert_same(mapped, in_memory)
    entries = list((tmp_path / "datasets").iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("blobs-")  # no temp folders left

    def no_regeneration(*args, **kwargs):
        raise AssertionError("a complete cache entry must be reused")

    monkeypatch.setattr(generate, "fill", no_regeneration)
    assert_same(load_dataset("blobs", n=3000, seed=5), in_memory)
    with pytest.raises(AssertionError):  # other params: a new entry
        load_dataset("blobs", n=3000, seed=6)


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of name=.*or path="),
        ({"name": "digits", "path": "x.csv"}, "exactly one of"),
        ({"name": "mnist"}, "unknown dataset 'mnist'; known datasets: blobs, digits, digits-shortcut, tabular-shortcut"),
        ({"name": "my.parquet"}, "use path="),
        ({"name": "digits-shortcut", "rh0": 0.9}, "unknown option 'rh0'.*accepted options: n, seed, rho, cue"),
        ({"name": "digits", "dim": 3}, "unknown option 'dim' for dataset 'digits'"),
        ({"name": "digits-shortcut", "rho": "high"}, "option 'rho' .* must be a number"),
        ({"name": "digits-shortcut", "rho": 1.5}, r"option 'rho' .* must lie in \[0.0, 1.0\]"),
        ({"name": "digits-shortcut", "cue": 1}, "option 'cue' .* must be true or false"),
        ({"name": "blobs", "dim": 2.5}, "option 'dim' .* must be an integer"),
        ({"name": "blobs", "groups": 7}, r"'groups' .* \[2, 4\]"),
        ({"name": "blobs", "n": 10}, r"option 'n' .* must lie in \[100,"),
        ({"name": "blobs", "n": 0}, "n must be a positive integer"),
        ({"name": "blobs", "seed": -1}, "seed must be a non-negative integer"),
        ({"name": "blobs", "splits": [0.5, 0.5]}, "splits must be three fractions"),
        ({"name": "blobs", "splits": [0.0, 0.5, 0.5]}, "train fraction must be above 0"),
    ],
)
def test_option_errors_say_what_to_fix(kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset(**kwargs)


def test_custom_split_fractions():
    ds = load_dataset("blobs", n=1000, splits=[0.5, 0.25, 0.25])
    assert np.bincount(ds.split).tolist() == [500, 250, 250]
    assert ds.params["splits"] == [0.5, 0.25, 0.25]


def test_data_errors_reach_the_user_as_one_hill_error_line():
    with pytest.raises(HillError) as caught:  # what the CLI and the app catch
        load_dataset("digits", n=5000)
    assert type(caught.value) is DataError
    assert str(caught.value) == "n=5000 but digits has only 1797 samples; lower n or leave it out"


def test_dataset_checks_its_arrays():
    with pytest.raises(DataError, match="labels has shape"):
        Dataset("x", np.zeros((3, 2)), np.zeros(2), ("a", "b"), np.zeros(3), np.arange(3), {}, {})
    with pytest.raises(DataError, match=r"labels must lie in \[0, 2\)"):
        Dataset("x", np.zeros((3, 2)), np.array([0, 1, 2]), ("a", "b"), np.zeros(3), np.arange(3), {}, {})
    ds = Dataset("x", np.zeros((3, 2)), [0, 1, 1], ("a", "b"), [0, 0, 2], [5, 6, 7], {}, {})
    assert ds.features.dtype == np.float32 and ds.labels.dtype == np.int64 and ds.split.dtype == np.int8


# ---------------------------------------------------------------- user files


def table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, n),
            "label": np.where(np.arange(n) % 2 == 0, "cat", "dog"),
            "color": rng.choice(["red", "blue", "green"], n),
            "flag": np.arange(n) % 3 == 0,
            "split": np.tile(["train", "train", "val", "test"], n // 4),
            "id": np.arange(n) * 10 + 7,
        }
    )


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_table_round_trip(tmp_path, suffix):
    frame = table()
    path = tmp_path / f"pets.{suffix}"
    frame.to_parquet(path) if suffix == "parquet" else frame.to_csv(path, index=False)
    ds = load_dataset(path=path)
    assert ds.name == "pets" and ds.n_samples == 40 and ds.n_features == 2
    np.testing.assert_allclose(ds.features, frame[["a", "b"]].to_numpy(), rtol=1e-6)
    assert ds.class_names == ("cat", "dog")
    np.testing.assert_array_equal(ds.labels, (frame["label"] == "dog").astype(int))
    np.testing.assert_array_equal(ds.split, pd.Series(frame["split"]).map({"train": 0, "val": 1, "test": 2}))
    np.testing.assert_array_equal(ds.ids, frame["id"])
    assert ds.attribute_categories == {"color": ("blue", "green", "red"), "flag": ("False", "True")}
    names = np.asarray(ds.attribute_categories["color"])[ds.attributes["color"]]
    np.testing.assert_array_equal(names, frame["color"])
    defaults = {"n": None, "seed": 0, "features": None, "attributes": None, "splits": [0.7, 0.15, 0.15]}
    assert ds.params == {"path": str(path.resolve()), **defaults}
    assert_same(load_dataset(**json.loads(json.dumps(ds.params))), ds)


def test_table_without_split_or_id_gets_a_seeded_stratified_split(tmp_path):
    frame = table(200).drop(columns=["split", "id"])
    frame["label"] = np.arange(200) % 4  # integer labels
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(path=path, seed=3)
    assert ds.class_names == ("0", "1", "2", "3")
    np.testing.assert_array_equal(ds.ids, np.arange(200))
    assert np.bincount(ds.split).tolist() == [136, 32, 32]  # per class of 50: 34 / 8 / 8
    assert_same(ds, load_dataset(path=path, seed=3))
    assert (ds.split != load_dataset(path=path, seed=4).split).any()
    sub = load_dataset(path=path, n=50, seed=3)
    assert sub.n_samples == 50
    np.testing.assert_array_equal(sub.features, ds.features[sub.ids])


def test_explicit_feature_and_attribute_columns(tmp_path):
    path = tmp_path / "t.parquet"
    table().to_parquet(path)
    ds = load_dataset(path=path, features=["a"], attributes=["b", "color"])
    assert ds.n_features == 1
    assert set(ds.attributes) == {"b", "color"}
    assert ds.attribute_categories["b"] == ("0", "1", "2", "3", "4")
    assert_same(load_dataset(**ds.params), ds)


def test_parquet_vector_column(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 6)).astype(np.float32)
    frame = pd.DataFrame({"emb": list(vectors), "label": np.arange(30) % 3, "site": ["x", "y", "z"] * 10})
    path = tmp_path / "emb.parquet"
    frame.to_parquet(path)
    ds = load_dataset(path=path)
    np.testing.assert_array_equal(ds.features, vectors)
    assert set(ds.attributes) == {"site"}


def test_npz_round_trip_with_images(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((24, 4, 5))
    path = tmp_path / "imgs.npz"
    np.savez(
        path,
        X=x,
        y=np.arange(24) % 3,
        split=np.array(["train", "val", "test", "train"] * 6),
        ids=np.arange(24)[::-1],
        attr_site=np.array(["a", "b"] * 12),
    )
    ds = load_dataset(path=path)
    assert ds.image_shape == (4, 5) and ds.n_features == 20
    np.testing.assert_allclose(ds.features, x.reshape(24, 20), rtol=1e-6)
    np.testing.assert_array_equal(ds.ids, np.arange(24)[::-1])
    assert np.bincount(ds.split).tolist() == [12, 6, 6]
    assert ds.attribute_categories == {"site": ("a", "b")}
    codes = tmp_path / "codes.npz"
    np.savez(codes, X=x.reshape(24, 20), y=np.arange(24) % 3, split=np.tile([0, 1, 2, 0], 6))
    np.testing.assert_array_equal(load_dataset(path=codes).split, ds.split)
    assert_same(load_dataset(**ds.params), ds)


# ---------------------------------------------------------------- validation of user files


def write(tmp_path, frame: pd.DataFrame, suffix: str = "csv"):
    path = tmp_path / f"bad.{suffix}"
    frame.to_parquet(path) if suffix == "parquet" else frame.to_csv(path, index=False)
    return path


def mutate(change) -> pd.DataFrame:
    frame = table().drop(columns=["flag"])
    change(frame)
    return frame


def set_cell(column, row, value):
    def change(frame):
        if isinstance(value, str) and frame[column].dtype != object:
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.pop("label"), "no 'label' column .*rename your label column"),
        (lambda f: f.__setitem__("label", "cat"), "single class \\('cat'\\)"),
        (set_cell("a", 5, np.nan), "feature 'a' holds nan at row 5"),
        (set_cell("a", 7, np.inf), "feature 'a' holds inf at row 7"),
        (set_cell("label", 3, None), "column 'label' is missing at row 3"),
        (set_cell("split", 6, "validation"), "column 'split' holds 'validation' at row 6; use train, val or test"),
        (set_cell("id", 9, 7), "duplicate id 7 \\(rows 0 and 9\\)"),
        (lambda f: f.__setitem__("split", "val"), "no training samples"),
        (lambda f: (f.pop("a"), f.pop("b")), "no feature columns"),
        (set_cell("a", 4, "oops"), "feature column 'a' is not numeric: row 4 holds 'oops'.*attributes="),
    ],
)
@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_table_errors_name_the_column_and_row(tmp_path, change, message, suffix):
    frame = mutate(change)
    if suffix == "parquet" and "a" in frame and frame["a"].dtype == object:
        frame["a"] = frame["a"].astype(str)  # parquet needs one type per column
    with pytest.raises(DataError, match=message):
        load_dataset(path=write(tmp_path, frame, suffix))


def test_nan_label_in_integer_column(tmp_path):
    frame = table().drop(columns=["flag"])
    frame["label"] = (np.arange(40) % 2).astype(float)
    frame.loc[11, "label"] = np.nan
    with pytest.raises(DataError, match="column 'label' is missing at row 11"):
        load_dataset(path=write(tmp_path, frame))
    frame.loc[11, "label"] = 0.5
    with pytest.raises(DataError, match="integers or strings; row 11 holds 0.5"):
        load_dataset(path=write(tmp_path, frame))


def test_explicit_non_numeric_feature_is_rejected(tmp_path):
    path = write(tmp_path, table(), "parquet")
    with pytest.raises(DataError, match="feature column 'color' is not numeric.*attributes="):
        load_dataset(path=path, features=["a", "color"])
    with pytest.raises(DataError, match="feature column 'color' is not numeric"):
        load_dataset(path=path, attributes=["flag"])  # color left over as a feature
    with pytest.raises(DataError, match="names column 'colour', which the file does not have"):
        load_dataset(path=path, features=["colour"])
    with pytest.raises(DataError, match="both features and attributes"):
        load_dataset(path=path, features=["a"], attributes=["a"])
    with pytest.raises(DataError, match="unknown option 'feature'.*features, attributes, splits"):
        load_dataset(path=path, feature=["a"])


@pytest.mark.parametrize(
    "content, name, message",
    [
        (None, "missing.csv", "file not found"),
        (b"a,b\n1,2\n", "data.xlsx", "unknown file type; use one of .parquet"),
        (b"", "empty.csv", "empty.csv is empty"),
        (b"a,label\n", "header.csv", "header.csv has no rows"),
        (b"not parquet at all", "junk.parquet", "could not read junk.parquet as Parquet"),
        (b"not a zip", "junk.npz", "could not read junk.npz as NPZ"),
    ],
)
def test_unreadable_files(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_dataset(path=path)


def test_csv_with_an_index_column(tmp_path):
    path = tmp_path / "indexed.csv"
    table().to_csv(path)  # index=True: a column without a header
    with pytest.raises(DataError, match="no header.*index=False"):
        load_dataset(path=path)


def test_empty_parquet(tmp_path):
    path = write(tmp_path, table().iloc[:0], "parquet")
    with pytest.raises(DataError, match="has no rows"):
        load_dataset(path=path)


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"X": np.zeros((4, 2))}, "no array 'y'"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0]}, r"array 'y' .* has shape \(3,\) but X has 4 rows"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "labels": [0, 1, 0, 1]}, "unexpected array 'labels'"),
        ({"X": np.array([["a", "b"]] * 4), "y": [0, 1, 0, 1]}, "array 'X' .* must be numeric"),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, "no rows"),
        ({"X": [[0, 1], [2, np.nan], [0, 0], [1, 1]], "y": [0, 1, 0, 1]}, "feature 'X' column 1 holds nan at row 1"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, np.nan, 1]}, "array 'y' is missing at row 2"),
        ({"X": np.zeros((4, 2)), "y": [1, 1, 1, 1]}, "single class"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "split": ["train", "val", "tst", "train"]}, "'tst' at row 2"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "split": [0, 1, 5, 0]}, "holds 5 at row 2"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "ids": [3, 4, 3, 5]}, r"duplicate id 3 \(rows 0 and 2\)"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "ids": ["a", "b", "c", "d"]}, "'ids' must hold integers"),
        ({"X": np.zeros((4, 2)), "y": [0, 1, 0, 1], "split": ["test", "val", "val", "test"]}, "no training samples"),
    ],
)
def test_npz_errors(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    with pytest.raises(DataError, match=message):
        load_dataset(path=path)


def test_npz_object_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array(["a", None], dtype=object))
    with pytest.raises(DataError, match="object arrays.*dtype=str"):
        load_dataset(path=path)


def test_vector_column_errors(tmp_path):
    ragged = pd.DataFrame({"emb": [[1.0, 2.0], [3.0], [4.0, 5.0]], "label": [0, 1, 0]})
    with pytest.raises(DataError, match="'emb': row 1 has 1 values but row 0 has 2"):
        load_dataset(path=write(tmp_path, ragged, "parquet"))
    mixed = pd.DataFrame({"emb": [[1.0, 2.0]] * 3, "a": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    with pytest.raises(DataError, match="say which with features="):
        load_dataset(path=write(tmp_path, mixed, "parquet"))
    with_nan = pd.DataFrame({"emb": [[1.0, 2.0], [3.0, np.nan], [1.0, 1.0]], "label": [0, 1, 0]})
    with pytest.raises(DataError, match="feature 'emb' element 1 holds nan at row 1"):
        load_dataset(path=write(tmp_path, with_nan, "parquet"))

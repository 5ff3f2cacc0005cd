"""Training from the Parquet folder: the in-memory batches and weights when the split fits the
buffer; a seeded shuffling buffer that replays exactly when it does not."""
import numpy as np
import pytest
import torch

from hill_viz.core.model import ModelSpec, build_model
from hill_viz.core.training import TrainConfig, Trainer
from hill_viz.errors import ConfigError, DataError
from hill_viz.scale.stream import BatchStream, sample_dataset


class _Recording(Trainer):
    """The real Trainer, noting the rows of every step."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = []

    def _step(self, features, labels, rows, ids, teachers):
        self.steps.append(rows.copy())
        return super()._step(features, labels, rows, ids, teachers)


def _small_model(ds):
    return build_model(ModelSpec(ds.n_features, ds.n_classes, latent_dim=4, hidden=8), seed=0)


def test_batches_are_the_trainers_when_the_split_fits(source, blobs):
    cfg = TrainConfig(epochs=2, batch_size=512, seed=5)
    trainer = _Recording(_small_model(blobs), cfg)
    trainer.fit(blobs, epochs=2)
    stream = BatchStream(source, batch_size=512, seed=5, buffer_rows=blobs.n_samples)
    assert stream.exact
    streamed = [b for epoch in range(2) for b in stream.batches(epoch)]
    assert len(streamed) == len(trainer.steps)
    for batch, rows in zip(streamed, trainer.steps):
        np.testing.assert_array_equal(batch.rows, rows)
        np.testing.assert_array_equal(batch.features, blobs.features[rows])
        np.testing.assert_array_equal(batch.labels, blobs.labels[rows])
        np.testing.assert_array_equal(batch.ids, blobs.ids[rows])


def test_training_on_the_folder_gives_the_in_memory_weights(source, blobs):
    from_folder = sample_dataset(source, source.n_samples)  # every row: the in-memory Dataset
    weights = []
    for ds in (blobs, from_folder):
        trainer = Trainer(_small_model(ds), TrainConfig(epochs=1, batch_size=1024, seed=2))
        trainer.fit(ds)
        weights.append(trainer.model.state_dict())
    for name, w in weights[0].items():
        assert torch.equal(w, weights[1][name]), name


def test_sampled_subset_is_seeded_and_keeps_ids(source, blobs):
    a = sample_dataset(source, 5000, seed=1, epoch=3)
    b = sample_dataset(source, 5000, seed=1, epoch=3)
    c = sample_dataset(source, 5000, seed=1, epoch=4)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert not np.array_equal(a.ids, c.ids)
    rows = a.ids  # blobs ids are its rows
    np.testing.assert_array_equal(a.features, blobs.features[rows])
    np.testing.assert_array_equal(a.split, blobs.split[rows])
    np.testing.assert_array_equal(a.attributes["group"], blobs.attributes["group"][rows])
    with pytest.raises(DataError, match="n must be between 1 and the folder's 60000 samples"):
        sample_dataset(source, 70_000)


def test_shuffling_buffer_covers_the_split_once_and_replays_exactly(source, blobs):
    stream = BatchStream(source, batch_size=1000, seed=9, buffer_rows=12_000)
    assert not stream.exact
    epoch0 = list(stream.batches(0))
    rows = np.concatenate([b.rows for b in epoch0])
    np.testing.assert_array_equal(np.sort(rows), blobs.indices("train"))
    assert all(len(b.rows) == 1000 for b in epoch0[:-1]) and 0 < len(epoch0[-1].rows) <= 1000
    for b in epoch0[:5]:
        np.testing.assert_array_equal(b.features, blobs.features[b.rows])
        np.testing.assert_array_equal(b.labels, blobs.labels[b.rows])
    again = list(BatchStream(source, batch_size=1000, seed=9, buffer_rows=12_000).batches(0))
    assert all(np.array_equal(a.rows, b.rows) for a, b in zip(epoch0, again)) and len(again) == len(epoch0)
    epoch1 = np.concatenate([b.rows for b in stream.batches(1)])
    assert not np.array_equal(rows, epoch1)
    # shuffled across row groups: the first batch draws from several of them
    assert len(np.unique(epoch0[0].rows // 25_600)) > 1


def test_stream_settings_are_checked(source):
    with pytest.raises(ConfigError, match="buffer_rows must hold at least two batches"):
        BatchStream(source, batch_size=1000, buffer_rows=1500)
    with pytest.raises(DataError, match="unknown split 'dev'"):
        BatchStream(source, split="dev")


def test_rows_of_ids_and_read_rows(source, blobs, tmp_path, cluster):
    from hill_viz.errors import EditError
    from hill_viz.scale.source import open_source
    from hill_viz.scale.stream import read_rows, rows_of_ids

    ids = np.array([59_999, 3, 25_600, 40_000])
    np.testing.assert_array_equal(rows_of_ids(source, ids), ids)  # blobs ids are rows
    got = read_rows(source, rows_of_ids(source, ids))
    np.testing.assert_array_equal(got.ids, np.sort(ids))
    np.testing.assert_array_equal(got.features, blobs.features[np.sort(ids)])
    # ids that are not rows: a shuffled id column over two files
    import pandas as pd
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=1000), "label": rng.integers(0, 3, 1000),
                          "id": rng.permutation(5000)[:1000]})
    (tmp_path / "ids").mkdir()
    table.iloc[:600].to_parquet(tmp_path / "ids" / "a.parquet", index=False)
    table.iloc[600:].to_parquet(tmp_path / "ids" / "b.parquet", index=False)
    folder = open_source(tmp_path / "ids")
    wanted = table["id"].to_numpy()[[999, 0, 600, 599]]
    np.testing.assert_array_equal(rows_of_ids(folder, wanted), [999, 0, 600, 599])
    with pytest.raises(EditError, match="1 selected ids are not in the dataset"):
        rows_of_ids(folder, [wanted[0], 5001])

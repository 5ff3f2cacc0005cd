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


def _teachers(source, blobs, model, projection):
    """A box edit's teacher on the whole in-memory dataset, and the one streamed training uses:
    on the covered samples read from the folder, scaled by the in-memory dataset."""
    from hill_viz.core.edits import Edit, Selector
    from hill_viz.core.frame import LatentFrame
    from hill_viz.core.teacher import Teacher
    from hill_viz.scale.stream import read_rows, rows_of_ids

    frame = LatentFrame.build(model, projection, blobs)
    x0, x1, y0, y1 = frame.extent()
    box = Selector.of_box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    edits = [Edit.translate(box, 1.0, 0.5).resolve(frame.context())]
    covered = read_rows(source, rows_of_ids(source, edits[0].ids))
    return Teacher(model, blobs, projection, edits), Teacher(model, covered, projection, edits, scale_from=blobs)


def _trained(model, blobs, teacher, stream=None):
    import copy

    trainer = Trainer(copy.deepcopy(model), TrainConfig(batch_size=1024, seed=4))
    trainer.fit(blobs, 2, [teacher], stream=stream)
    return trainer


def test_streamed_training_with_a_teacher_gives_the_in_memory_weights(source, blobs, model_and_projection):
    """Split within the buffer: the stream's batches are the in-memory ones, the teachers find the
    same covered samples by id as by row, and the weights are equal bit for bit."""
    model, projection = model_and_projection
    in_memory, streamed = _teachers(source, blobs, model, projection)
    for name in ("ids", "target_view", "target_latent", "weight", "group", "origin"):
        np.testing.assert_array_equal(getattr(in_memory, name), getattr(streamed, name), err_msg=name)
    assert (in_memory.view_scale2, in_memory.latent_scale2) == (streamed.view_scale2, streamed.latent_scale2)
    assert streamed.n_covered > 1000 and len(streamed.rows) == streamed.n_covered  # it holds the covered only
    a = _trained(model, blobs, in_memory)
    b = _trained(model, blobs, streamed, BatchStream(source, batch_size=1024, seed=4, buffer_rows=blobs.n_samples))
    assert a.step == b.step == 2 * -(-len(blobs.indices("train")) // 1024)
    for name, w in a.model.state_dict().items():
        assert torch.equal(w, b.model.state_dict()[name]), name


def test_streamed_training_through_a_small_buffer_is_seeded(source, blobs, model_and_projection):
    """Buffer smaller than the split: every training row once an epoch, the same weights every run."""
    model, projection = model_and_projection
    in_memory, teacher = _teachers(source, blobs, model, projection)
    runs = [_trained(model, blobs, teacher, BatchStream(source, batch_size=1024, seed=4, buffer_rows=10_000))
            for _ in range(2)]
    memory = _trained(model, blobs, in_memory)
    assert runs[0].step == memory.step  # ceil(train rows / batch) steps an epoch, as in memory
    states = [r.model.state_dict() for r in runs]
    assert all(torch.equal(w, states[1][k]) for k, w in states[0].items())
    assert not all(torch.equal(w, memory.model.state_dict()[k]) for k, w in states[0].items())

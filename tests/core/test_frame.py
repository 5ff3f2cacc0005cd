"""LatentFrame: columns, memory per point, building from a model, readable rows."""
import numpy as np
import pytest

from hill_viz.core.data import load_dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import ModelSpec, build_model, infer
from hill_viz.core.projection import Projection
from hill_viz.errors import DataError, EditError


def test_build_matches_model_outputs_and_stays_under_40_bytes_per_point():
    ds = load_dataset("blobs", n=3000, dim=8, groups=3)
    model = build_model(ModelSpec(ds.n_features, ds.n_classes, latent_dim=4, hidden=16), seed=0)
    z, logits = infer(model, ds.features)
    proj = Projection().fit(z)
    frame = LatentFrame.build(model, proj, ds, batch_size=700)  # several batches, a ragged last one
    xy = proj.transform(z)
    np.testing.assert_allclose(frame.column("x"), xy[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(frame.column("y"), xy[:, 1], rtol=1e-5, atol=1e-6)
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    np.testing.assert_array_equal(frame.column("pred"), prob.argmax(1))
    np.testing.assert_allclose(frame.column("confidence"), prob.max(1), rtol=1e-5)
    np.testing.assert_allclose(frame.column("loss"), -np.log(prob[np.arange(len(ds.labels)), ds.labels]),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(frame.column("correct"), frame.column("pred") == ds.labels)
    assert frame.column("x").dtype == np.float32 and frame.column("label").dtype == np.int16
    assert frame.nbytes / len(frame) <= 40
    assert frame.attribute_names == ("group",)


def test_from_arrays_shares_memory_and_fills_defaults():
    x = np.arange(5, dtype=np.float32)
    frame = LatentFrame.from_arrays(x, x[::-1].copy())
    assert np.shares_memory(frame.column("x"), x)
    assert frame.column("id").tolist() == [0, 1, 2, 3, 4]
    assert frame.column("correct").all() and frame.class_names == ("0",)
    assert frame.extent() == (0.0, 4.0, 0.0, 4.0)
    with pytest.raises(DataError, match="shape"):
        LatentFrame.from_arrays(x, x[:3])
    with pytest.raises(DataError, match="categories"):
        LatentFrame.from_arrays(x, x, attributes={"g": np.zeros(5, np.int8)})


def test_categories_codes_and_readable_rows():
    frame = LatentFrame.from_arrays(
        np.zeros(4, np.float32), np.zeros(4, np.float32), label=[0, 1, 2, 1], pred=[0, 2, 2, 1],
        class_names=["cat", "dog", "eel"], ids=[10, 11, 12, 13],
        attributes={"g": np.array([1, 0, 1, 0], np.int8)}, attribute_categories={"g": ("u", "v")})
    assert frame.categorical_columns == ("label", "pred", "correct", "split", "g")
    assert frame.categories("correct") == ("wrong", "right")
    assert frame.codes("correct").tolist() == [1, 0, 1, 1]
    table = frame.describe_rows(frame.rows_of_ids([13, 11]))
    assert table["id"].tolist() == [13, 11]
    assert table["label"].tolist() == ["dog", "dog"] and table["pred"].tolist() == ["dog", "eel"]
    assert table["correct"].tolist() == ["right", "wrong"] and table["g"].tolist() == ["u", "u"]
    with pytest.raises(DataError, match="not a categorical column"):
        frame.categories("confidence")
    with pytest.raises(EditError):
        frame.rows_of_ids([99])

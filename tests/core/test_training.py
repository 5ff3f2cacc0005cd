
import numpy as np
import pytest
import torch

from hill_viz.core.data import load_dataset
from hill_viz.core.group_metrics import worst_group_accuracy, worst_group_over_attributes
from hill_viz.core.model import ModelSpec, build_model
from hill_viz.core.training import Callback, TrainConfig, Trainer, evaluate, predict
from hill_viz.errors import ConfigError, WorkspaceError


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def make_trainer(ds, seed=0, **cfg):
    spec = ModelSpec(ds.n_features, ds.n_classes, latent_dim=8, image_shape=ds.image_shape, arch="mlp")
    return Trainer(build_model(spec, seed), TrainConfig(batch_size=64, seed=seed, **cfg))


def weights(trainer):
    return torch.cat([p.detach().flatten() for p in trainer.model.parameters()])


def test_same_seed_same_model_different_seed_different(digits):
    a, b, c = make_trainer(digits), make_trainer(digits), make_trainer(digits, seed=1)
    ma, mb = a.fit(digits, 3), b.fit(digits, 3)
    c.fit(digits, 3)
    assert torch.equal(weights(a), weights(b)) and ma == mb
    assert not torch.equal(weights(a), weights(c))


def test_resume_from_checkpoint_equals_unbroken_run(digits, tmp_path):
    unbroken = make_trainer(digits)
    unbroken.fit(digits, 4)
    first = make_trainer(digits)
    first.fit(digits, 2)
    first.save_checkpoint(tmp_path / "ck.pt")
    resumed = make_trainer(digits, seed=0)
    resumed.load_checkpoint(tmp_path / "ck.pt")
    assert resumed.epoch == 2
    resumed.fit(digits, 2)
    assert torch.equal(weights(unbroken), weights(resumed))


def test_cancel_rolls_back_the_partial_epoch(digits):
    t = make_trainer(digits)
    t.fit(digits, 1)
    before = weights(t).clone()

    class StopMidEpoch(Callback):
        def on_batch_end(self, trainer, step, total, loss):
            if step >= 5:
                trainer.cancel()

    t.config = TrainConfig(batch_size=64, progress_every=1)
    metrics = t.fit(digits, 2, callbacks=[StopMidEpoch()])
    assert metrics == {} and t.epoch == 1
    assert torch.equal(weights(t), before)


def test_progress_callbacks_see_every_epoch(digits):
    seen = []

    class Record(Callback):
        def on_epoch_end(self, trainer, epoch, metrics):
            seen.append((epoch, metrics["val_acc"]))

    make_trainer(digits).fit(digits, 3, callbacks=[Record()])
    assert [e for e, _ in seen] == [1, 2, 3]
    assert seen[-1][1] > 0.5


def test_evaluate_reports_groups(digits):
    ds = load_dataset("digits-shortcut", n=2000, seed=0)
    t = make_trainer(ds)
    t.fit(ds, 1)
    m = evaluate(t.model, ds)
    assert set(m["per_class_acc"]) == set(ds.class_names)
    assert set(m["group_acc"]) == {"cue"}
    rows = ds.indices("test")
    correct = predict(t.model, ds, rows) == ds.labels[rows]
    assert m["worst_group_acc"] == pytest.approx(reference_worst_group(ds.labels[rows], ds.attributes["cue"][rows],
                                                                      correct, min_group=10))


def reference_worst_group(labels, values, correct, min_group):
    """Worst-group accuracy by hand: (label, value) groups of at least min_group samples, and the
    smaller ones pooled into one group that counts once it has min_group samples itself."""
    groups = {}
    for key, ok in zip(zip(labels.tolist(), values.tolist()), correct.tolist()):
        groups.setdefault(key, []).append(ok)
    accs = [sum(g) / len(g) for g in groups.values() if len(g) >= min_group]
    rare = [ok for g in groups.values() if len(g) < min_group for ok in g]
    if len(rare) >= min_group:
        accs.append(sum(rare) / len(rare))
    return min(accs) if accs else None


def test_worst_group_is_one_definition_for_training_and_bias():
    rng = np.random.default_rng(0)
    labels, values = rng.integers(0, 3, 400), rng.integers(0, 4, 400)
    correct = rng.random(400) < 0.8
    correct[(labels == 2) & (values == 1)] = False  # one group the model fails
    assert worst_group_accuracy(labels, correct, values)[0] == reference_worst_group(labels, values, correct, 10)
    assert worst_group_over_attributes(labels, correct, [values, np.zeros(400, int)]) == 0.0
    assert worst_group_over_attributes(labels, correct, []) == pytest.approx(
        min(correct[labels == c].mean() for c in range(3)))  # no attribute: the label groups
    assert worst_group_over_attributes(labels[:5], correct[:5], [values[:5]]) is None  # no group of 10


def test_bad_settings_and_damaged_checkpoints(digits, tmp_path):
    with pytest.raises(ConfigError, match="learning rate"):
        TrainConfig(lr=0)
    with pytest.raises(ConfigError, match="batch size"):
        TrainConfig(batch_size=0)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WorkspaceError, match="cannot be read"):
        make_trainer(digits).load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(WorkspaceError, match="missing"):
        make_trainer(digits).load_checkpoint(tmp_path / "none.pt")

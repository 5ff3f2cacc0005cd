
import pytest
import torch

from hill_viz.core.data import load_dataset
from hill_viz.core.model import ModelSpec, build_model
from hill_viz.core.training import Callback, TrainConfig, Trainer, evaluate
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
    assert m["worst_group_acc"] <= min(m["per_class_acc"].values())


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

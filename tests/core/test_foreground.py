"""Training gives way to a busy foreground (a server's event loop), without changing what it learns."""
import threading
import pytest
import torch

from hill_viz.core import foreground
from hill_viz.core.data import load_dataset
from hill_viz.core.model import ModelSpec, build_model
from hill_viz.core.training import TrainConfig, Trainer


@pytest.fixture
def busy_test():
    """Install a foreground test for one test; `calls` counts how often it was asked."""
    state = {"busy": False, "calls": 0}

    def test():
        state["calls"] += 1
        return state["busy"]
    foreground.set_busy_test(test)
    yield state
    foreground.set_busy_test(None)


def train(epochs=1):
    ds = load_dataset("digits")
    spec = ModelSpec(ds.n_features, ds.n_classes, latent_dim=8, arch="mlp")
    trainer = Trainer(build_model(spec, 0), TrainConfig(batch_size=64, seed=0))
    trainer.fit(ds, epochs)
    return trainer, torch.cat([p.detach().flatten() for p in trainer.model.parameters()])


def test_without_a_foreground_nothing_waits():
    foreground.set_busy_test(None)
    assert foreground.pause_while_busy() == 0.0


def test_a_busy_foreground_holds_a_step_until_it_is_free(busy_test):
    busy_test["busy"] = True
    threading.Timer(0.05, lambda: busy_test.update(busy=False)).start()
    waited = foreground.pause_while_busy(max_pause_s=30)
    assert 0.0 < waited < 30 and not busy_test["busy"]


def test_a_saturated_foreground_slows_a_step_but_never_stops_it(busy_test):
    busy_test["busy"] = True
    assert foreground.pause_while_busy(max_pause_s=0.05) >= 0.05


def test_training_asks_before_every_step_and_learns_the_same_weights(busy_test, monkeypatch):
    _, free = train()
    asked = busy_test["calls"]
    trainer, _ = train()
    steps = trainer.step
    assert busy_test["calls"] - asked == steps > 0  # once per batch

    busy_test["busy"] = True  # every step waits its longest: the weights do not change
    monkeypatch.setattr(foreground, "MAX_PAUSE_S", 0.002)
    _, paused = train()
    assert torch.equal(free, paused)

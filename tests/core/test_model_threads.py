"""Model builds draw from their own generator: builds and trainings on several threads at once are exact."""
import threading

import torch

from hill_viz.core.data import load_dataset
from hill_viz.core.model import LatentModel, ModelSpec, build_model
from hill_viz.core.training import TrainConfig, Trainer


def _weights(model) -> list[torch.Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_build_draws_what_a_global_seed_drew_and_leaves_the_global_rng_alone():
    for spec in (ModelSpec(64, 10, 16, 32, (8, 8)), ModelSpec(20, 5, 8, 32)):
        torch.manual_seed(11)
        before = torch.random.get_rng_state()
        built = build_model(spec, seed=11)
        assert torch.equal(torch.random.get_rng_state(), before)  # nothing drawn from the global RNG
        torch.manual_seed(11)
        assert _same(_weights(built), _weights(LatentModel(spec)))  # older workspaces replay the same


def test_builds_and_trainings_on_several_threads_are_bit_identical():
    data = load_dataset("blobs", n=1500, dim=8)
    spec = ModelSpec(data.n_features, data.n_classes, latent_dim=4, hidden=16)

    def build_and_train():
        model = build_model(spec, seed=5)
        built = _weights(model)
        Trainer(model, TrainConfig(batch_size=64, seed=5)).fit(data, 2)
        return built, _weights(model)

    reference = build_and_train()  # alone, on this thread
    results, errors = [None] * 6, []
    start = threading.Barrier(len(results) + 1)
    stop = threading.Event()

    def run(i):
        try:
            start.wait()
            results[i] = build_and_train()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def stir_global_rng():  # someone else using torch's global RNG meanwhile
        start.wait()
        k = 0
        while not stop.is_set():
            torch.manual_seed(k)
            torch.rand(8)
            k += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
    stirrer = threading.Thread(target=stir_global_rng)
    for t in [*threads, stirrer]:
        t.start()
    for t in threads:
        t.join(300)
    stop.set()
    stirrer.join(10)
    assert not errors, errors
    for built, trained in results:
        assert _same(built, reference[0])
        assert _same(trained, reference[1])
    assert not _same(reference[0], reference[1])  # training changed the weights: the comparison means something

"""Training throughput: samples/s of a plain CE epoch vs a CE + distillation epoch."""
from __future__ import annotations

import time

from hill_viz.bench import figure


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=int, default=20000, help="digits-shortcut samples (default 20000)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per mode (default 2)")


def run(args) -> list[dict]:
    from hill_viz.core.data import load_dataset
    from hill_viz.core.edits import Edit, Selector
    from hill_viz.core.frame import LatentFrame
    from hill_viz.core.model import ModelSpec, build_model, infer
    from hill_viz.core.projection import Projection
    from hill_viz.core.teacher import Teacher
    from hill_viz.core.training import TrainConfig, Trainer

    ds = load_dataset("digits-shortcut", n=args.n, seed=0)
    n_train = len(ds.indices("train"))
    spec = ModelSpec(ds.n_features, ds.n_classes, image_shape=ds.image_shape)
    trainer = Trainer(build_model(spec, 0), TrainConfig(batch_size=64, seed=0))
    trainer.fit(ds, 1)  # warm-up, and latents worth editing
    proj = Projection().fit(infer(trainer.model, ds.features, ds.indices("train"))[0])
    ctx = LatentFrame.build(trainer.model, proj, ds).context()
    edits = [Edit.translate(Selector.of_label(c), 1.0, 0.5).resolve(ctx) for c in range(3)]
    teacher = Teacher(trainer.model, ds, proj, edits)

    def rate(teachers) -> float:
        start = time.perf_counter()
        trainer.fit(ds, args.epochs, teachers)
        return n_train * args.epochs / (time.perf_counter() - start)

    plain, distill = [], []
    for _ in range(2):  # interleave so drift in machine load hits both modes
        plain.append(rate(()))
        distill.append(rate([teacher]))
    plain_rate, distill_rate = max(plain), max(distill)
    return [
        figure("train_epoch_plain", n_train, plain_rate, "samples/s", "train_epoch_plain", plain_rate),
        figure("train_epoch_distill", n_train, distill_rate, "samples/s", "train_epoch_plain", plain_rate,
               covered=teacher.n_covered, cost_ratio=plain_rate / distill_rate),
    ]

"""View projections: faithfulness of PCA, the learned projection and umap-learn; fit and transform time.

Cases (issue 11): digits-shortcut (5,000 samples; model after 2 and after 10 epochs) and a
generated embeddings file (10^6 rows, 20 classes, 64-d; model after 1 epoch). On each case
the three views are fitted and scored on the same sample of training latents:
trustworthiness@10 (baseline: PCA's) and leave-one-out 10-NN label accuracy in the view
(baseline: the latent space's). On the embeddings file the learned projection is also
scored on held-out rows it was not fitted on. Then: fit time of the learned projection
(baseline: umap-learn on the same sample; CPU seconds too, since the machine is shared),
time to project 10^7 latents (baseline: the PCA projection in the same run), and the time
to measure faithfulness on 5,000 and 50,000 points.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

import numpy as np

from hill_viz.bench import figure

LEARNED = "umap"  # the learned method


def add_arguments(parser) -> None:
    parser.add_argument("--digits-n", type=int, default=5000, help="digits-shortcut samples (default 5000)")
    parser.add_argument("--embeddings-n", type=int, default=10**6, help="rows of the generated file (default 10^6)")
    parser.add_argument("--transform-n", type=int, default=10**7, help="latents projected in the timing (default 10^7)")
    parser.add_argument("--sample", type=int, default=None, help="fit sample of the learned projection "
                        "(default: the projection's default)")
    parser.add_argument("--eval-n", type=int, default=5000, help="points scored per view (default 5000)")
    parser.add_argument("--steps", type=int, default=None, help="learned projection steps (default: its default)")
    parser.add_argument("--faithfulness-n", default="5000,50000",
                        help="comma-separated sample sizes timed for the faithfulness measure (default 5000,50000)")
    parser.add_argument("--no-umap-learn", action="store_true", help="skip the umap-learn baseline")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the figures")


@dataclass
class Case:
    name: str
    describe: str
    fit_z: np.ndarray        # (S, d) latents the views are fitted on
    fit_y: np.ndarray
    held_z: np.ndarray | None = None  # (H, d) other training latents, for the held-out score
    held_y: np.ndarray | None = None


def run(args) -> list[dict]:
    from hill_viz.core.projection import DEFAULT_SAMPLE

    if args.quick:
        args.digits_n, args.embeddings_n, args.transform_n = 800, 20_000, 100_000
        args.eval_n, args.steps, args.sample = 300, args.steps or 100, args.sample or 1000
        args.faithfulness_n = "300,3000"
    sample = args.sample or DEFAULT_SAMPLE[LEARNED]
    options = {"sample_size": sample, **({} if args.steps is None else {"steps": args.steps})}
    figures = []
    for case, latents in _cases(args, sample):
        case_figures, fitted = _score_case(case, options, not args.no_umap_learn)
        figures += case_figures
        if latents is not None:
            figures += _transform_figures(fitted, latents, args.transform_n)
            figures += _faithfulness_time_figures(latents, [int(n) for n in args.faithfulness_n.split(",")])
    return figures


def _cases(args, sample: int):
    """(Case, all latents of the dataset or None) for each case, built one at a time."""
    from hill_viz.core.data import load_dataset

    ds = load_dataset("digits-shortcut", n=args.digits_n, seed=0)
    trainer = _trainer(ds)
    for epochs in (2, 10) if not args.quick else (1, 2):
        trainer.fit(ds, epochs - trainer.epoch)
        z, y = _latents(trainer.model, ds, _train_sample(ds, sample, 0))
        yield Case(f"digits{epochs}", f"digits-shortcut {args.digits_n}, {epochs} epochs", z, y), None
    with tempfile.TemporaryDirectory(prefix="hill-bench-projection-") as folder:
        from hill_viz.bench.embeddings import write_embeddings

        path = write_embeddings(f"{folder}/embeddings.parquet", n=args.embeddings_n, n_classes=20, dim=64)
        ds = load_dataset(path=str(path))
    trainer = _trainer(ds)
    trainer.fit(ds, 1)
    rows = _train_sample(ds, sample + args.eval_n, 1)
    z, y = _latents(trainer.model, ds, rows)
    from hill_viz.core.model import infer

    everything = infer(trainer.model, ds.features)[0]                    # (N, d)
    yield Case("embeddings", f"embeddings {args.embeddings_n} x 64, 20 classes, 1 epoch",
               z[:sample], y[:sample], z[sample:], y[sample:]), everything


def _trainer(ds):
    """The model and trainer a Session builds for this dataset by default."""
    from hill_viz.core.model import ModelSpec, build_model
    from hill_viz.core.training import TrainConfig, Trainer

    batch = 64 if len(ds.indices("train")) <= 50_000 else 512
    spec = ModelSpec(ds.n_features, ds.n_classes, image_shape=ds.image_shape)
    return Trainer(build_model(spec, 0), TrainConfig(batch_size=batch, seed=0))


def _train_sample(ds, size: int, seed: int) -> np.ndarray:
    rows = ds.indices("train")
    if len(rows) <= size:
        return rows
    return np.random.default_rng([seed, 0xB]).permutation(rows)[:size]


def _latents(model, ds, rows):
    from hill_viz.core.model import infer

    return infer(model, ds.features, rows)[0], ds.labels[rows]


def _score_case(case: Case, options: dict, with_umap_learn: bool):
    from hill_viz.core.faithfulness import measure_faithfulness
    from hill_viz.core.projection import Projection

    z, y, n = case.fit_z, case.fit_y, len(case.fit_z)
    views, fit_time = {}, {}
    for method, make in (("pca", lambda: Projection("pca")), ("learned", lambda: Projection(LEARNED, **options))):
        started, cpu = time.perf_counter(), time.process_time()
        proj = make().fit(z)
        fit_time[method] = (time.perf_counter() - started, time.process_time() - cpu)
        views[method] = proj.transform(z)
        if method == "learned":
            learned = proj
    if with_umap_learn:
        views["umap_learn"], fit_time["umap_learn"], import_s = _umap_learn(z)
    scores = {m: measure_faithfulness(z, v, y) for m, v in views.items()}
    latent_acc = scores["pca"].label_accuracy_latent
    tag = {"case": case.describe, "sample": n}
    out = []
    for m, s in scores.items():
        out.append(figure(f"trustworthiness_{m}_{case.name}", n, s.trustworthiness, "trustworthiness@10",
                          f"trustworthiness_pca_{case.name}", scores["pca"].trustworthiness, **tag))
        out.append(figure(f"label_accuracy_{m}_{case.name}", n, s.label_accuracy_view, "10-NN accuracy",
                          f"label_accuracy_latent_{case.name}", latent_acc,
                          gap_points=100 * (latent_acc - s.label_accuracy_view), **tag))
        if m == "learned":
            out[-1]["target_met"] = s.trustworthiness >= 0.95 and latent_acc - s.label_accuracy_view <= 0.03
    if case.held_z is not None and len(case.held_z) > 20:
        held = measure_faithfulness(case.held_z, learned.transform(case.held_z), case.held_y)
        out.append(figure(f"trustworthiness_learned_heldout_{case.name}", held.n, held.trustworthiness,
                          "trustworthiness@10", f"trustworthiness_learned_{case.name}",
                          scores["learned"].trustworthiness, **tag))
        out.append(figure(f"label_accuracy_learned_heldout_{case.name}", held.n, held.label_accuracy_view,
                          "10-NN accuracy", f"label_accuracy_latent_heldout_{case.name}", held.label_accuracy_latent,
                          gap_points=100 * (held.label_accuracy_latent - held.label_accuracy_view), **tag))
    base = "umap_learn" if with_umap_learn else "pca"
    wall, cpu = fit_time["learned"]
    extra = {"cpu_seconds": cpu, **tag, **({"umap_learn_import_seconds": import_s} if with_umap_learn else {})}
    out.append(figure(f"fit_seconds_learned_{case.name}", n, wall, "s", f"fit_seconds_{base}_{case.name}",
                      fit_time[base][0], **extra))
    return out, learned


def _umap_learn(z: np.ndarray):
    """Non-parametric UMAP of the sample: (view, (wall s, cpu s) of the fit, import seconds)."""
    import warnings

    started = time.perf_counter()
    import umap  # compiles numba kernels on first import

    import_s = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by setting random_state"
        view = umap.UMAP(n_neighbors=15, random_state=0).fit_transform(z)
    return view.astype(np.float32), (time.perf_counter() - started, time.process_time() - cpu), import_s


def _transform_figures(learned, latents: np.ndarray, n: int) -> list[dict]:
    """Project n latents (the dataset's latents, tiled) with the learned view and with PCA."""
    from hill_viz.core.projection import Projection

    big = np.resize(latents, (n, latents.shape[1]))                       # (n, d) float32
    pca = Projection("pca").fit(latents)
    times = {}
    for name, proj in (("pca", pca), ("learned", learned)):
        started, cpu = time.perf_counter(), time.process_time()
        proj.transform(big)
        times[name] = (time.perf_counter() - started, time.process_time() - cpu)
    return [figure("transform_seconds_learned", n, times["learned"][0], "s", "transform_seconds_pca",
                   times["pca"][0], cpu_seconds=times["learned"][1], pca_cpu_seconds=times["pca"][1],
                   latent_dim=int(latents.shape[1]), note="learned: one torch thread, batches of 8,192; "
                   "pca: numpy (BLAS threads)")]


def _faithfulness_time_figures(latents: np.ndarray, sizes: list[int]) -> list[dict]:
    """Seconds to measure faithfulness on each sample size (baseline: sklearn's trustworthiness at
    the first size; at the others, ours at the first size)."""
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness

    from hill_viz.core.faithfulness import measure_faithfulness

    rng = np.random.default_rng(2)
    out, first = [], None
    for n in sizes:
        z = latents[np.sort(rng.choice(len(latents), min(n, len(latents)), replace=False))]
        view = z[:, :2].copy()
        started, cpu = time.perf_counter(), time.process_time()
        measure_faithfulness(z, view, np.zeros(len(z), dtype=np.int64), sample_size=len(z))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if first is None:
            started = time.perf_counter()
            sklearn_trustworthiness(z, view, n_neighbors=10)
            first = (len(z), wall)
            out.append(figure(f"faithfulness_seconds_n{len(z)}", len(z), wall, "s", "sklearn_trustworthiness_seconds",
                              time.perf_counter() - started, cpu_seconds=cpu,
                              note="ours: trustworthiness and both label accuracies; sklearn: trustworthiness only"))
        else:
            out.append(figure(f"faithfulness_seconds_n{len(z)}", len(z), wall, "s", f"faithfulness_seconds_n{first[0]}",
                              first[1], cpu_seconds=cpu, note="sklearn's needs several n x n arrays here"))
    return out

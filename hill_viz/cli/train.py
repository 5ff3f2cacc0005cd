"""`hill-viz train`: train a model, optionally apply edits from a JSON file, print metrics."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from hill_viz.cli._common import (ProgressBar, add_engine_options, add_projection_option, check_engine_options,
                                  finite_float, non_negative_int, positive_int, print_json)
from hill_viz.core.edits import edits_from_json
from hill_viz.cli.teacher_options import add_teacher_options, teacher_config
from hill_viz.errors import ConfigError, EditError


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model on a dataset (and apply edits)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", default=None, help="builtin dataset name (see `hill-viz datasets`); default digits")
    src.add_argument("--data", type=Path, help="your own .parquet, .csv or .npz file, or a folder of Parquet files")
    p.add_argument("--n", type=positive_int, help="number of samples for generated datasets (a seeded subset of a folder)")
    p.add_argument("--epochs", type=non_negative_int, default=20, help="plain training epochs (default 20)")
    p.add_argument("--latent-dim", type=positive_int, default=16, help="latent dimension d (default 16)")
    p.add_argument("--batch-size", type=positive_int, help="default: 64, or 512 past 50,000 training samples")
    p.add_argument("--lr", type=finite_float, default=1e-3)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--edits", type=Path, help="JSON file of edits, applied after the plain epochs")
    p.add_argument("--edit-epochs", type=positive_int, default=5, help="distillation epochs for --edits (default 5)")
    add_teacher_options(p)
    p.add_argument("--workspace", type=Path, help="workspace folder (default: workspaces/<dataset>-<time>)")
    add_projection_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics")
    add_engine_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.session import Session  # torch import is slow: only when needed

    check_engine_options(args)
    name = args.dataset or (None if args.data else "digits")
    edits = _read_edits(args.edits) if args.edits else []
    teacher = teacher_config(args)
    workspace = args.workspace or Path("workspaces") / f"{name or args.data.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    session = Session(workspace)
    options = {"n": args.n} if args.n else {}
    if args.data and args.data.is_dir():
        session.load_data(args.data, engine=args.engine, scheduler=args.scheduler, sample=args.sample,
                          stream=args.stream, progress=_tell_partitions, **options)
        print(session.engine_status, file=sys.stderr, flush=True)
    elif args.data:
        session.load_dataset(path=args.data, **options)
    else:
        session.load_dataset(name, **options)
    session.build_model(latent_dim=args.latent_dim, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
                        projection=args.projection)
    session.extra_callbacks = [ProgressBar("training")]
    session.train(args.epochs, wait=True)
    if edits:
        for edit in edits:
            session.add_edit(edit)
        session.extra_callbacks = [ProgressBar("distilling edits")]
        session.apply_edits(args.edit_epochs, teacher, wait=True)
    result = session.metrics()
    result.update(epochs=session.trainer.epoch, workspace=str(session.workspace.path),
                  n_edits=len(edits), dataset=session.dataset.params, engine=session.engine_status)
    session.close()
    if args.json:
        print_json(result)
    else:
        print(f"train {result['train_acc']:.3f}  val {result['val_acc']:.3f}  test {result['test_acc']:.3f}"
              f"  after {result['epochs']} epochs; workspace: {result['workspace']}")
    return 0


def _tell_partitions(done: int, total: int) -> None:
    print(f"latents: {done}/{total} partitions", file=sys.stderr, flush=True)


def _read_edits(path: Path):
    try:
        text = path.read_text()
    except OSError as exc:
        raise EditError(f"cannot read edits file {path}: {exc.strerror}") from None
    edits = edits_from_json(text)
    if not edits:
        raise ConfigError(f"edits file {path} holds no edits; remove --edits or add edits")
    return edits

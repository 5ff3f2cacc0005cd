"""Helpers shared by the commands: argument types with one-line errors, JSON output, progress."""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys

from tqdm import tqdm

from hill_viz.core.training import Callback


def _whole_number(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"expected a number {bounds}, got {value}")
        return value
    return parse


positive_int = _whole_number(1)
non_negative_int = _whole_number(0)
port_number = _whole_number(0, 65535)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def add_engine_options(p) -> None:
    """--scheduler / --engine / --sample / --stream: where a dataset folder (--data FOLDER) runs."""
    from hill_viz.scale.stream import DEFAULT_BUFFER_ROWS

    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:8786) for a dataset folder")
    p.add_argument("--engine", choices=("auto", "memory", "dask"), default="auto",
                   help="for a dataset folder: in memory, on Dask, or auto (Dask when 6x its float32 "
                        "features exceed half this machine's RAM; default)")
    p.add_argument("--sample", type=positive_int, default=None,
                   help="on Dask: rows held in memory for training and the gallery (default 200000)")
    p.add_argument("--stream", type=_whole_number(2), nargs="?", const=DEFAULT_BUFFER_ROWS, default=None,
                   metavar="BUFFER_ROWS",
                   help="train on every training row of the folder, streamed in seeded batches through a "
                        f"shuffling buffer of BUFFER_ROWS rows (default {DEFAULT_BUFFER_ROWS}); --sample rows "
                        "then serve validation and the gallery")


def check_engine_options(args) -> None:
    """The engine options mean something only for a dataset folder."""
    from hill_viz.errors import ConfigError

    folder = args.data is not None and args.data.is_dir()
    if not folder and (args.scheduler or args.engine != "auto" or args.sample or args.stream):
        raise ConfigError("--scheduler, --engine, --sample and --stream apply to a dataset folder; "
                          "give --data FOLDER")
    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # workers' shutdown chatter is no user's news


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


PROJECTIONS = ("umap", "pca")  # what --projection offers (2-D latents are shown as they are)


def add_projection_option(parser: argparse.ArgumentParser) -> None:
    """`--projection umap|pca`: the view's method; default the sessions' (umap, or $HILL_VIZ_PROJECTION)."""
    parser.add_argument("--projection", choices=PROJECTIONS, default=None,
                        help="the 2-D view of the latents: umap (a learned, neighbourhood-preserving "
                             "network; the default) or pca (linear)")


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=None, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    sys.stdout.write("\n")


class ProgressBar(Callback):
    """A tqdm bar on stderr over a training segment (only when stderr is a terminal)."""

    def __init__(self, desc: str = "training", disable: bool | None = None):
        self.desc, self.disable, self.bar = desc, disable, None
        self._last = 0

    def on_fit_start(self, trainer, total_steps):
        self.bar = tqdm(total=total_steps, desc=self.desc, unit="step", file=sys.stderr,
                        disable=self.disable, leave=False)
        self._last = 0

    def on_batch_end(self, trainer, step, total_steps, loss):
        self.bar.update(step - self._last)
        self._last = step
        self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    def on_epoch_end(self, trainer, epoch, metrics):
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items() if isinstance(v, float)}, refresh=False)

    def on_fit_end(self, trainer, metrics):
        self.bar.close()

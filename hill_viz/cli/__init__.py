"""`hill-viz` command line. One module per command, each with `register(subparsers)`.

User mistakes (HillError) print one line on stderr and exit 2; nothing is lost.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from hill_viz.errors import HillError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = ("datasets", "train", "simulate", "serve", "workspaces", "history", "replay", "verify", "bias", "bench")  # modules of this package, in help order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hill-viz", description="Human in the Latent Loop: see, edit and "
                                     "retrain a model's latent space.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"hill_viz.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except HillError as exc:
        print(f"hill-viz: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hill-viz: interrupted; everything recorded so far is kept in the workspace", file=sys.stderr)
        return 130

"""`hill-viz` command line. One module per command, each with `register(subparsers)`.

User mistakes (HillError) and storage failures (read-only folder, full disk) print one line on
stderr and exit 2; nothing already recorded is lost.
"""
from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys

from hill_viz.errors import HillError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = ("datasets", "train", "simulate", "serve", "workspaces", "share", "prune", "history", "replay", "verify", "bias", "bench")  # modules of this package, in help order


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
    except (OSError, sqlite3.Error) as exc:  # the disk, not the user's input: still one line, the real cause
        from hill_viz.core.provenance.files import storage_error

        where = getattr(exc, "filename", None)
        what = f"cannot use {where}" if where else "a file could not be written or read"
        print(f"hill-viz: error: {storage_error(exc, what)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hill-viz: interrupted; everything recorded so far is kept in the workspace", file=sys.stderr)
        return 130

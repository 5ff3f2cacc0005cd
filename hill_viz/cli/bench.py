"""`hill-viz bench NAME`: print benchmark figures as JSON, one object per line."""
from __future__ import annotations

import importlib
import json

from hill_viz.bench import BENCHES


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print JSON figures")
    names = p.add_subparsers(dest="bench", metavar="NAME", required=True)
    for name in BENCHES:
        module = importlib.import_module(f"hill_viz.bench.{name}")
        q = names.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(q)
        q.add_argument("--json", action="store_true", help="(figures are always JSON; accepted for symmetry)")
        q.set_defaults(run=lambda args, module=module: _run(module, args))


def _run(module, args) -> int:
    for fig in module.run(args):
        print(json.dumps(fig), flush=True)
    return 0

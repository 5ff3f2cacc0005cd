"""`hill-viz datasets`: the builtin datasets and how to load a file of your own."""
from __future__ import annotations

from hill_viz.cli._common import print_json
from hill_viz.core.data import list_datasets


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list the builtin datasets")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    cards = list_datasets()
    if args.json:
        print_json({"datasets": [{"name": c.name, "title": c.title, "description": c.description,
                                  "defaults": c.defaults, "attributes": list(c.attributes)} for c in cards]})
        return 0
    width = max(len(c.name) for c in cards)
    for c in cards:
        print(f"{c.name:<{width}}  {c.title}")
        defaults = ", ".join(f"{k}={v}" for k, v in c.defaults.items())
        if defaults:
            print(f"{'':<{width}}  options: {defaults}")
    print("\nYour own data: --data FILE (.parquet, .csv or .npz with a 'label' column / y array).")
    return 0

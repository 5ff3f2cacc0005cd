"""`hill-viz history`: list a workspace's events (the tree, the head path marked)."""
from __future__ import annotations

import sys
from pathlib import Path

from hill_viz.cli._common import print_json
from hill_viz.errors import WorkspaceError


def register(sub) -> None:
    p = sub.add_parser("history", help="list the events recorded in a workspace")
    p.add_argument("--workspace", type=Path, required=True, help="workspace folder")
    p.add_argument("--branch", action="store_true", help="only the current branch (root to head)")
    p.add_argument("--json", action="store_true", help="print the whole history as one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.provenance import Workspace, row_problem
    from hill_viz.core.review import timeline_table

    ws = Workspace(args.workspace, read_only=True)
    for row in ws.store.rows():  # a damaged row is named, and the listing goes on
        problem = row_problem(row)
        if problem:
            print(f"hill-viz: warning: event {row[0]} (seq {row[2]}) is malformed: {problem}", file=sys.stderr)
    try:
        head = ws.store.head
    except WorkspaceError as exc:
        head = None
        print(f"hill-viz: warning: {exc}", file=sys.stderr)
    if args.json:
        doc = ws.export_history()
        if args.branch:
            table = timeline_table(ws.store)
            on_path = set(table["id"][table["on_head"]].tolist())
            doc["events"] = [e for e in doc["events"] if e["id"] in on_path]
        print_json(doc)
        return 0
    table = timeline_table(ws.store)
    if args.branch:
        table = table[table["on_head"]]
    print(f"{'':1} {'id':>6} {'parent':>6} {'lane':>4}  {'time (UTC)':19}  {'actor':12} {'kind':17} summary")
    for r in table.itertuples():
        mark = "*" if r.on_head else " "
        parent = "-" if r.parent_id < 0 else str(r.parent_id)
        print(f"{mark:1} {r.id:>6} {parent:>6} {r.lane:>4}  {r.ts[:19].replace('T', ' '):19}  {r.actor[:12]:12} "
              f"{r.kind:17} {r.summary}")
    lanes = int(table["lane"].max()) + 1 if len(table) else 0
    print(f"{ws.store.count()} events, {lanes} lane(s); head: event {head}; "
          "* marks the current branch. `hill-viz verify` checks them.")
    return 0

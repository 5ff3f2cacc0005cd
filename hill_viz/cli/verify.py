"""`hill-viz verify`: check a workspace's hash chain and artifact hashes (exit 1 if broken)."""
from __future__ import annotations

import sys
from pathlib import Path

from hill_viz.cli._common import print_json


def register(sub) -> None:
    p = sub.add_parser("verify", help="check a workspace's event hash chain and artifact files")
    p.add_argument("--workspace", type=Path, required=True, help="workspace folder")
    p.add_argument("--no-artifacts", action="store_true", help="check the hash chain only (fast)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.provenance import Workspace

    report = Workspace(args.workspace, create=False).verify(artifacts=not args.no_artifacts)
    if args.json:
        print_json(report.to_dict())
    elif report.ok:
        print(f"ok: {report.n_events} events and {report.n_artifacts} artifacts match their recorded hashes")
    else:
        print(f"FAILED: {report.first_bad}", file=sys.stderr)
        for problem in report.problems[1:]:
            print(f"  also: {problem}", file=sys.stderr)
    return 0 if report.ok else 1

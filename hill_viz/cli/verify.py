"""`hill-viz verify`: check a workspace's hash chain, files, seal and receipt (exit 1 if anything is wrong).

With no receipt given, the one the writer left for this folder (in the key folder) is used
when there is one. `--save-receipt FILE` writes a receipt of the log as it is now, to keep
elsewhere and check later with `--receipt FILE`. `--accept` records (as an annotation) that
you accept changes made outside hill-viz, so the workspace can be written to again.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from hill_viz.cli._common import print_json


def register(sub) -> None:
    p = sub.add_parser("verify", help="check a workspace's event hash chain, artifact files, seal and receipt")
    p.add_argument("--workspace", type=Path, required=True, help="workspace folder")
    p.add_argument("--no-artifacts", action="store_true", help="skip the files (hash chain, seal and receipt only)")
    p.add_argument("--receipt", type=Path, metavar="FILE", help="check the log against this receipt")
    p.add_argument("--save-receipt", type=Path, metavar="FILE",
                   help="after checking, write a receipt of the log as it is now to FILE")
    p.add_argument("--accept", action="store_true",
                   help="record that you accept changes made outside hill-viz (needs the writer lock)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.provenance import Workspace, read_receipt
    from hill_viz.core.provenance.files import atomic_write

    receipt = read_receipt(args.receipt) if args.receipt else None
    if args.accept:
        with Workspace(args.workspace, create=False, accept_changes=True):
            pass
    ws = Workspace(args.workspace, read_only=True)
    report = ws.verify(artifacts=not args.no_artifacts, receipt=receipt)
    saved = ws.receipt() if args.save_receipt else None
    if saved is not None:
        atomic_write(args.save_receipt, lambda fh: fh.write(json.dumps(saved, indent=1).encode()))
    if args.json:
        print_json(report.to_dict())
        return 0 if report.ok else 1
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if report.ok:
        checked = {"ok": "seal ok", "unchecked": "seal not checked", "absent": "not sealed"}[report.seal]
        if report.receipt:
            checked += f", receipt ok (seq {report.receipt['last_seq']})"
        print(f"ok: {report.n_events} events and {report.n_artifacts} artifacts match their recorded hashes; "
              f"{checked}")
    else:
        print(f"FAILED: {report.first_bad}", file=sys.stderr)
        for problem in report.problems[1:]:
            print(f"  also: {problem}", file=sys.stderr)
    if saved is not None:
        print(f"receipt of seq {saved['last_seq']} written to {args.save_receipt}")
    return 0 if report.ok else 1

"""`hill-viz workspaces`: the workspaces under a folder, as the served app's list shows them."""
from __future__ import annotations

from pathlib import Path

from hill_viz.cli._common import print_json


def register(sub) -> None:
    p = sub.add_parser("workspaces", help="list the workspaces under a folder (owner, title, dataset, accuracy, bias)")
    p.add_argument("--root", type=Path, default=None,
                   help="the folder holding the workspaces (default workspaces/default, as `hill-viz serve`)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every workspace")
    p.add_argument("--verify", action="store_true", help="verify every workspace first (hash chain and files)")
    p.add_argument("--title", nargs=2, metavar=("ID", "TITLE"), help="rename workspace ID")
    p.add_argument("--report", metavar="ID", help="write workspace ID's review as one self-contained HTML file")
    p.add_argument("--out", type=Path, help="where --report writes (default review-ID.html)")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.retention import workspace_disk
    from hill_viz.core.workspaces import WorkspaceIndex
    from hill_viz.ui.app import DEFAULT_WORKSPACE_ROOT

    index = WorkspaceIndex(args.root or DEFAULT_WORKSPACE_ROOT, create=False)
    if args.title:
        index.set_title(*args.title)
    if args.report:
        return _report(index, args.report, args.out)
    if args.verify:
        for row in index.list():
            index.verify(row.id)
    rows = index.list()
    disk = {r.id: workspace_disk(index.path_of(r.id)) for r in rows}  # checkpoints: kept while the workspace is
    if args.json:
        print_json({"root": str(index.root), "workspaces": [
            {**r.to_dict(), "disk_bytes": disk[r.id].bytes, "checkpoint_bytes": disk[r.id].checkpoint_bytes,
             "n_checkpoints": disk[r.id].n_checkpoints} for r in rows]})
        return 0
    print(f"{'id':24} {'owner':10} {'title':24} {'dataset':16} {'model':10} {'events':>6} {'edits':>5} "
          f"{'val':>5} {'test':>5} {'bias':5} {'verify':14} {'MB':>7} {'ckpt MB':>7} last change (UTC)")
    for r in rows:
        d = disk[r.id]
        print(f"{r.id[:24]:24} {r.owner[:10]:10} {r.title[:24]:24} {r.dataset[:16]:16} {r.model[:10]:10} "
              f"{r.n_events:>6} {r.n_edits:>5} {_acc(r.val_acc):>5} {_acc(r.test_acc):>5} {r.severity or '-':5} "
              f"{r.verify_badge[:14]:14} {d.bytes / 2**20:>7.1f} {d.checkpoint_bytes / 2**20:>7.1f} "
              f"{r.last_change[:19].replace('T', ' ')}")
    print(f"{len(rows)} workspace(s) in {index.root}; `hill-viz serve --open ID` opens one.")
    return 0


def _acc(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _report(index, ws_id: str, out: Path | None) -> int:
    from hill_viz.core.review_report import write_review_report

    path = write_review_report(index.path_of(ws_id), out or Path(f"review-{ws_id}.html"))
    print(f"hill-viz: review of {ws_id} written to {path}")
    return 0

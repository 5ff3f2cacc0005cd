"""`hill-viz prune`: remove workspaces nobody opened or changed for some days (what `serve --retain-days` does
on its own every hour), and show what the workspace folder uses against a quota."""
from __future__ import annotations

from pathlib import Path

from hill_viz.cli._common import positive_float, print_json


def register(sub) -> None:
    p = sub.add_parser("prune", help="remove workspaces not opened or changed for --retain-days days")
    p.add_argument("--root", type=Path, default=None,
                   help="the folder holding the workspaces (default workspaces/default, as `hill-viz serve`)")
    p.add_argument("--retain-days", type=positive_float, required=True, metavar="DAYS",
                   help="keep workspaces opened or changed within this many days; remove the others")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.retention import folder_bytes, prune_workspaces
    from hill_viz.errors import WorkspaceError
    from hill_viz.ui.app import DEFAULT_WORKSPACE_ROOT

    root = (args.root or DEFAULT_WORKSPACE_ROOT).expanduser()
    if not root.is_dir():
        raise WorkspaceError(f"workspace folder {root} does not exist; give the folder that "
                             "`hill-viz serve --workspace` uses")
    report = prune_workspaces(root, args.retain_days, dry_run=args.dry_run)
    if args.json:
        print_json({**report.to_dict(), "bytes_in_use": folder_bytes(root)})
        return 0
    for row in report.removed:
        print(f"{'would remove' if args.dry_run else 'removed'} {row['name']}  "
              f"({row['bytes'] / 2**20:.1f} MB, last change {row['last_change'].replace('T', ' ')})")
    for name in report.kept_open:
        print(f"kept {name}: open for writing")
    print(f"hill-viz: {report.summary()}; the folder now uses {folder_bytes(root) / 2**20:.1f} MB")
    return 0

"""`hill-viz share WORKSPACE USER [--revoke]`: let USER edit a workspace too, or no longer.

Only the workspace's owner may (`--as` names who runs the command; default: your OS
user, as the actor of the events you record). The change is a `sharing` event in the
workspace's log, as when the owner uses the app page's *Sharing* card. Without USER it
prints the owner and the editors. Needs the workspace's writer lock: a workspace open in a
page of a running server is shared from that page instead.
"""
from __future__ import annotations

from pathlib import Path

from hill_viz.cli._common import print_json


def register(sub) -> None:
    p = sub.add_parser("share", help="share a workspace for editing with a user (or --revoke), as its owner")
    p.add_argument("workspace", metavar="WORKSPACE", help="a workspace ID under --root, or a workspace folder")
    p.add_argument("user", metavar="USER", nargs="?", help="who may edit it too (their sign-in name); "
                   "without it: print the owner and the editors")
    p.add_argument("--revoke", action="store_true", help="USER may no longer edit it")
    p.add_argument("--root", type=Path, default=None,
                   help="the folder holding the workspaces (default workspaces/default, as `hill-viz serve`)")
    p.add_argument("--as", dest="actor", default=None, metavar="NAME",
                   help="who shares it (must be its owner; default: your OS user)")
    p.add_argument("--json", action="store_true", help="print {workspace, owner, editors} as one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.access import editors_of, owner_of, share
    from hill_viz.core.provenance import Workspace, default_actor

    folder = _folder(args.workspace, args.root)
    if args.user is None:
        ws = Workspace(folder, create=False, read_only=True)
    else:
        ws = Workspace(folder, create=False)  # WorkspaceLockedError names who writes it
    with ws:
        if args.user is not None:
            share(ws, args.user, by=args.actor or default_actor(), revoke=args.revoke)
        owner, editors = owner_of(ws) or "", editors_of(ws)
    if args.json:
        print_json({"workspace": str(folder), "owner": owner, "editors": list(editors)})
    else:
        print(f"{folder.name}: owner {owner or '-'}; shared for editing with {', '.join(editors) or 'nobody'}")
    return 0


def _folder(workspace: str, root: Path | None) -> Path:
    """A workspace folder given as a path (it holds a log), else the ID under `root` (one neutral line if none)."""
    from hill_viz.core.provenance import DB_NAME
    from hill_viz.core.workspaces import workspace_folder
    from hill_viz.ui.app import DEFAULT_WORKSPACE_ROOT

    path = Path(workspace).expanduser()
    if ("/" in workspace or root is None) and (path / DB_NAME).is_file():
        return path
    return workspace_folder(root or DEFAULT_WORKSPACE_ROOT, workspace)

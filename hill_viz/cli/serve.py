"""`hill-viz serve`: serve the HILL app (one server process, one Session per browser session).

The page at `/` lists the workspaces under `--workspace`; `/?workspace=ID` opens one (a
reload comes back to it; editing if the signed-in user may edit it and no other page does,
else read-only), `&mode=review` reviews it read-only, `?workspace=new` starts one;
`--open ID` makes `/` open ID.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
from pathlib import Path

from hill_viz.cli._common import (add_engine_options, add_projection_option, check_engine_options, non_negative_int,
                                  port_number, positive_float, positive_int)
from hill_viz.errors import ConfigError, DataError, WorkspaceError

LOCAL = "127.0.0.1"
TRAINING_NICENESS = 10  # training threads of a server run this much nicer than its event loop


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the HILL app in the browser (the main job)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", default=None, help="builtin dataset (see `hill-viz datasets`); "
                                                     "default digits-shortcut")
    src.add_argument("--data", type=Path, help="your own .parquet, .csv or .npz file, or a folder of Parquet files")
    p.add_argument("--n", type=positive_int, help="number of samples (default 5000 for digits-shortcut)")
    p.add_argument("--pretrain-epochs", type=non_negative_int, default=2,
                   help="epochs trained when a page opens, so the first view means something (default 2)")
    p.add_argument("--workspace", type=Path, default=None,
                   help="folder of the workspaces the app lists; each new workspace is a sub-folder "
                        "(default workspaces/default)")
    p.add_argument("--open", metavar="ID", default=None,
                   help="open workspace ID (a sub-folder of --workspace) at / instead of the workspace list")
    p.add_argument("--port", type=port_number, default=5006, help="port (default 5006; 0 picks a free one)")
    p.add_argument("--address", default=LOCAL, help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="extra host allowed to open the app (needed when serving beyond localhost)")
    add_projection_option(p)
    p.add_argument("--show", action="store_true", help="open a browser tab")
    add_engine_options(p)
    _register_team_options(p)
    p.set_defaults(run=run)


def _register_team_options(p) -> None:
    """Sign-in, who is admin, what the pages may read, and limits ("Serving a team" in the README)."""
    a = p.add_argument_group("sign-in (Panel's own; the signed-in user is the actor of every event)")
    a.add_argument("--basic-auth", type=Path, metavar="FILE", help='JSON users file {"alice": "password", ...}')
    a.add_argument("--cookie-secret", default=os.environ.get("HILL_VIZ_COOKIE_SECRET"),
                   help="secret that signs the login cookies (default $HILL_VIZ_COOKIE_SECRET, else a random "
                        "one: sign-ins then end when the server restarts)")
    a.add_argument("--oauth-provider", help="OAuth provider (github, gitlab, google, azure, okta, generic, ...)")
    a.add_argument("--oauth-key", help="OAuth client id")
    a.add_argument("--oauth-secret", default=os.environ.get("HILL_VIZ_OAUTH_SECRET"),
                   help="OAuth client secret (default $HILL_VIZ_OAUTH_SECRET)")
    a.add_argument("--oauth-redirect-uri", help="OAuth redirect URI, if not this server's own")
    a.add_argument("--oauth-encryption-key", help="key that encrypts OAuth tokens in the cookies")
    a.add_argument("--oauth-extra-params", type=_json_object, default={}, metavar="JSON",
                   help="extra OAuth parameters as a JSON object")
    a.add_argument("--admin", action="append", default=[], metavar="USER",
                   help="a user who sees and may edit every workspace and opens /admin (repeatable)")
    a.add_argument("--insecure-no-auth", action="store_true",
                   help="serve beyond this machine without sign-in (anyone who reaches the port uses the app)")
    g = p.add_argument_group("what the pages may read and use")
    g.add_argument("--data-root", type=Path, action="append", default=[], metavar="DIR",
                   help="folder whose dataset files pages may open by path (repeatable; none: no path box, "
                        "uploads only)")
    g.add_argument("--max-sessions", type=positive_int, default=20, help="pages open at once (default 20)")
    g.add_argument("--max-trainings", type=positive_int, default=2,
                   help="trainings running at once; others wait in a queue the page shows (default 2)")
    g.add_argument("--max-n", type=positive_int, default=1_000_000,
                   help="largest n a page may generate or load (default 1000000)")
    g.add_argument("--max-epochs", type=positive_int, default=50, help="epochs per Train/Apply click (default 50)")
    g.add_argument("--max-upload-mb", type=positive_int, default=100, help="largest upload in MB (default 100)")
    g.add_argument("--max-disk-gb", type=positive_int, default=None,
                   help="disk quota of the workspace folder (workspaces and dataset cache): past it no new "
                        "workspace, upload or training starts (default: no quota)")
    g.add_argument("--retain-days", type=positive_float, default=None, metavar="DAYS",
                   help="remove workspaces nobody opened or changed for DAYS days, on start and every hour; "
                        "open ones are kept (default: keep everything; see also `hill-viz prune`)")


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _check_source(args) -> tuple[str | None, Path | None, int | None]:
    from hill_viz.core.data import list_datasets
    from hill_viz.ui.app import DEFAULT_DATASET, DEFAULT_N

    if args.data is not None:
        if not args.data.exists():
            raise DataError(f"data file {args.data} does not exist; check the path")
        return None, args.data.resolve(), args.n
    name = args.dataset or DEFAULT_DATASET
    known = [card.name for card in list_datasets()]
    if name not in known:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(known)}")
    n = args.n if args.n is not None else (DEFAULT_N if name == DEFAULT_DATASET else None)
    return name, None, n


def _check_workspace_root(root: Path) -> Path:
    root = root.expanduser()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"workspace folder {root} is a file; give a folder path")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create workspace folder {root}: {exc.strerror}") from None
    return root.resolve()


def _origins(address: str, port: int, extra: list[str]) -> list[str]:
    hosts = {LOCAL, "localhost", address}
    origins = [f"{h}:{port}" for h in sorted(hosts) if h not in ("0.0.0.0", "::")]
    return origins + list(extra)


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _auth(args):
    from hill_viz.serve import Auth

    auth = Auth(basic_auth=args.basic_auth, cookie_secret=args.cookie_secret, oauth_provider=args.oauth_provider,
                oauth_key=args.oauth_key, oauth_secret=args.oauth_secret, oauth_redirect_uri=args.oauth_redirect_uri,
                oauth_encryption_key=args.oauth_encryption_key, oauth_extra_params=args.oauth_extra_params)
    from hill_viz.serve.config import is_loopback
    if not auth.enabled and not is_loopback(args.address) and not args.insecure_no_auth:
        raise ConfigError(f"serving on {args.address} without sign-in would let anyone who reaches the port use "
                          "the app; add --basic-auth FILE (or --oauth-provider ...), or --insecure-no-auth "
                          "if that is what you want")
    if args.admin and not auth.enabled:
        raise ConfigError("--admin needs sign-in (--basic-auth or --oauth-provider): without it nobody is an admin")
    auth.serve_kwargs()  # checks the users file and the OAuth options now, with one-line errors
    return auth


def _config(args, name, path, n, root):
    from hill_viz.core.access import DataRoots, Limits
    from hill_viz.core.retention import DiskQuota
    from hill_viz.serve import ServeConfig

    roots = DataRoots(args.data_root, files=[path] if path else ())
    quota = None if args.max_disk_gb is None else DiskQuota(root, args.max_disk_gb * 2**30)
    limits = Limits(max_n=args.max_n, max_epochs=args.max_epochs, upload_max_bytes=args.max_upload_mb * 2**20,
                    data_roots=roots, disk=quota)
    limits.check_n(n, name or "--n")
    return ServeConfig(root=root, dataset=name, path=path, n=n, pretrain_epochs=args.pretrain_epochs,
                       limits=limits, admins=tuple(args.admin), max_sessions=args.max_sessions,
                       max_trainings=args.max_trainings, retain_days=args.retain_days, open_id=args.open,
                       session_params={"engine": args.engine, "scheduler": args.scheduler or "", "sample": args.sample,
                                       "stream_buffer": args.stream})


def _start_pruning(server, config) -> None:
    from hill_viz.serve.housekeeping import prune_now, schedule_pruning

    report = prune_now(config, server.registry)
    if report is not None:
        print(f"hill-viz: {report.summary()}", flush=True)
        schedule_pruning(server, config, server.registry)


def run(args) -> int:
    from hill_viz.core.model import fix_threads
    from hill_viz.core.workspaces import workspace_folder
    from hill_viz.render import warm_up
    from hill_viz.session.worker import set_training_niceness
    from hill_viz.serve import make_server
    from hill_viz.serve.pages import limit_heap_growth
    from hill_viz.ui.app import DEFAULT_WORKSPACE_ROOT

    check_engine_options(args)
    name, path, n = _check_source(args)
    root = _check_workspace_root(args.workspace or DEFAULT_WORKSPACE_ROOT)
    if args.open is not None:
        workspace_folder(root, args.open)  # the same check, and line, as an ID in the URL
    auth = _auth(args)
    config = _config(args, name, path, n, root)
    fix_threads()  # once, before any page: every thread then trains with the same settings
    limit_heap_growth()  # a closed page's memory goes back to the system
    set_training_niceness(TRAINING_NICENESS)  # pages (selections, redraws) before training
    os.environ.setdefault("HILL_VIZ_CACHE", str(root / ".dataset-cache"))  # not the server user's home
    if args.projection is not None:  # every page's Session reads the default from here
        os.environ["HILL_VIZ_PROJECTION"] = args.projection
    port = args.port or _free_port(args.address)
    try:
        server = make_server(config, auth, port=port, address=args.address,
                             origins=_origins(args.address, port, args.allow_websocket_origin))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.address}:{port} ({exc.strerror}); "
                          "choose another --port or --address") from None
    _start_pruning(server, config)
    threading.Thread(target=warm_up, name="hill-warm-up", daemon=True).start()  # before the first page asks
    host = "localhost" if args.address in (LOCAL, "0.0.0.0", "::") else args.address
    url = f"http://{host}:{port}/"
    if args.open:
        url += f"?workspace={args.open}"
    sign_in = "sign-in: basic auth" if args.basic_auth else ("sign-in: " + args.oauth_provider
                                                             if args.oauth_provider else "no sign-in")
    print(f"hill-viz: serving the HILL app on {url}  (workspaces in {root}; {sign_in}; Ctrl+C stops)", flush=True)
    if args.show:
        server.io_loop.add_callback(server.show, "/" + url.split("/", 3)[3])
    server.start()
    try:
        server.io_loop.start()
    finally:
        sys.stdout.flush()
    return 0

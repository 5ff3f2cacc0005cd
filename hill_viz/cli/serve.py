"""`hill-viz serve`: serve the HILL app (one server process, one Session per browser session)."""
from __future__ import annotations

import socket
import sys
from pathlib import Path

from hill_viz.cli._common import (add_engine_options, check_engine_options, non_negative_int, port_number,
                                  positive_int)
from hill_viz.errors import ConfigError, DataError, WorkspaceError

LOCAL = "127.0.0.1"


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
                   help="folder for the workspaces; each browser session gets its own sub-folder "
                        "(default workspaces/default)")
    p.add_argument("--port", type=port_number, default=5006, help="port (default 5006; 0 picks a free one)")
    p.add_argument("--address", default=LOCAL, help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="extra host allowed to open the app (needed when serving beyond localhost)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    add_engine_options(p)
    p.set_defaults(run=run)


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


def make_factory(name: str | None, path: Path | None, n: int | None, root: Path, pretrain_epochs: int,
                 engine: dict | None = None):
    """What the server calls once per browser session; `engine`: Session settings for a folder."""
    from hill_viz.ui.app import build_app, new_session

    def factory():
        session = new_session(root)
        session.param.update(**(engine or {}))
        return build_app(session, dataset=name or "", path=str(path or ""), n=n,
                         pretrain_epochs=pretrain_epochs)
    return factory


def run(args) -> int:
    import panel as pn

    from hill_viz.ui.app import DEFAULT_WORKSPACE_ROOT

    check_engine_options(args)
    name, path, n = _check_source(args)
    root = _check_workspace_root(args.workspace or DEFAULT_WORKSPACE_ROOT)
    engine = {"engine": args.engine, "scheduler": args.scheduler or "", "sample": args.sample}
    factory = make_factory(name, path, n, root, args.pretrain_epochs, engine)
    port = args.port or _free_port(args.address)
    try:
        server = pn.serve(factory, port=port, address=args.address, show=False, start=False,
                          title="hill-viz", websocket_origin=_origins(args.address, port, args.allow_websocket_origin))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.address}:{port} ({exc.strerror}); "
                          "choose another --port or --address") from None
    host = "localhost" if args.address in (LOCAL, "0.0.0.0", "::") else args.address
    url = f"http://{host}:{port}/"
    print(f"hill-viz: serving the HILL app on {url}  (workspaces in {root}; Ctrl+C stops)", flush=True)
    if args.show:
        server.io_loop.add_callback(server.show, "/")
    server.start()
    try:
        server.io_loop.start()
    finally:
        sys.stdout.flush()
    return 0

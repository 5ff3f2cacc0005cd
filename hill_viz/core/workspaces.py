"""The workspace index: one row per workspace under a root folder, for the list people open.

`WorkspaceIndex(root)` keeps `hill-index.sqlite` in the root: per workspace its owner,
title, dataset, model, events, edits, last change, latest val/test accuracy, worst bias
severity on the current branch, the editors its owner shared it with (the latest `sharing`
event) and the last verify result. Listing does not read the
logs: it stats each folder's log files and re-reads only those changed since they were
indexed (a workspace copied in, or written by a hill-viz without the index). Sessions
keep their row current as they record (`index_event`, called by the Recorder after each
event): appending on the head folds the one event in; a revert re-reads the head path.
The index is derived data: delete it and the next listing rebuilds it.
"""
from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from hill_viz.core.access import LATEST_SHARING_SQL, SHARING_EVENT, editors_in
from hill_viz.core.provenance import DB_NAME, Event, Workspace
from hill_viz.core.review import SEVERITIES, worst_severity
from hill_viz.errors import WorkspaceError

__all__ = ["INDEX_NAME", "WorkspaceIndex", "WorkspaceSummary", "index_event", "workspace_folder"]

INDEX_NAME = "hill-index.sqlite"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
log = logging.getLogger(__name__)

_COLUMNS = ("id", "owner", "title", "dataset", "model", "n_events", "n_edits", "last_change", "val_acc",
            "test_acc", "worst_severity", "head", "verify", "verify_problem", "verified_events", "editors", "stamp")

# per event on the head path: what the summary needs, without decoding long id lists
_PATH_SQL = """
WITH RECURSIVE up(id) AS (SELECT ? UNION ALL
  SELECT e.parent_id FROM events e JOIN up ON e.id = up.id WHERE e.parent_id IS NOT NULL)
SELECT kind, ts, json_object(
   'dataset', json_extract(params, '$.dataset'), 'spec', json_extract(params, '$.spec'),
   'edit_id', json_extract(params, '$.edit_id')),
  CASE WHEN kind IN ('training_segment', 'bias_report') THEN metrics ELSE '{}' END
FROM events JOIN up USING (id) ORDER BY seq
"""


@dataclass
class WorkspaceSummary:
    """One row of the workspace list."""

    id: str
    owner: str = ""
    title: str = ""
    dataset: str = ""
    model: str = ""
    n_events: int = 0
    n_edits: int = 0
    last_change: str = ""
    val_acc: float | None = None
    test_acc: float | None = None
    worst_severity: int = -1          # -1 no report, 0 ok, 1 warn, 2 alert
    head: int | None = None
    verify: str = ""                  # "" not checked, "ok", "failed"
    verify_problem: str = ""
    verified_events: int = 0          # events the last verify covered
    editors: str = "[]"               # JSON list: who else may edit it (`core.access.editors_of`)
    stamp: str = ""                   # the log files' size and mtime when indexed

    @property
    def severity(self) -> str:
        return SEVERITIES[self.worst_severity] if self.worst_severity >= 0 else ""

    @property
    def verify_badge(self) -> str:
        """'ok', 'ok to event N' (newer events unchecked), 'failed' or 'not checked'."""
        if not self.verify:
            return "not checked"
        if self.verify == "ok" and self.verified_events < self.n_events:
            return f"ok to event {self.verified_events}"
        return self.verify

    @property
    def editor_names(self) -> tuple[str, ...]:
        return editors_in({"editors": json.loads(self.editors or "[]")})

    def to_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "stamp"}, "severity": self.severity,
                "verify_badge": self.verify_badge, "editors": list(self.editor_names)}


# -- folding events into a summary ------------------------------------------------------------------

def _fold(row: WorkspaceSummary, kind: str, ts: str, params: dict, metrics: dict) -> None:
    """Advance a summary by one event on the head path."""
    row.last_change = max(row.last_change, ts)
    if kind == "dataset_loaded":
        d = params.get("dataset") or {}
        row.dataset = str(d.get("name") or Path(str(d.get("path", "?"))).name)
        row.model, row.val_acc, row.test_acc, row.worst_severity, row.n_edits = "", None, None, -1, 0
    elif kind == "model_built":
        spec = params.get("spec") or {}
        row.model = f"{spec.get('arch', '?')} d={spec.get('latent_dim', '?')}"
        row.val_acc, row.test_acc, row.worst_severity, row.n_edits = None, None, -1, 0
    elif kind == "edit_added":
        row.n_edits += 1
    elif kind == "training_segment":
        row.val_acc, row.test_acc = metrics.get("val_acc"), metrics.get("test_acc")
    elif kind == "bias_report":
        row.worst_severity = max(row.worst_severity, worst_severity(metrics))
    elif kind == SHARING_EVENT and "editors" in params:  # the head path's SQL leaves them out: see summarize
        row.editors = json.dumps(list(editors_in(params)))


def summarize(path: Path) -> WorkspaceSummary:
    """The summary of the workspace folder `path`, read from its log (read-only, light SQL)."""
    row = WorkspaceSummary(id=path.name)
    with _reader(path / DB_NAME) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        row.head = int(meta["head"]) if "head" in meta else None
        row.n_events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        first = db.execute("SELECT actor FROM events ORDER BY seq LIMIT 1").fetchone()
        row.owner = meta.get("owner") or (first[0] if first else "")
        row.title = meta.get("title", "")
        if row.head is not None:
            for kind, ts, params, metrics in db.execute(_PATH_SQL, (row.head,)):
                _fold(row, kind, ts, json.loads(params), json.loads(metrics))
        sharing = db.execute(LATEST_SHARING_SQL).fetchone()  # on any branch: a revert does not undo it
        row.editors = json.dumps(list(editors_in(sharing[0]) if sharing else ()))
    row.stamp = _stamp(path)
    return row


def _reader(db_path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot read {db_path} ({exc})") from None


def _stamp(path: Path) -> str:
    """Size and mtime of the log and its WAL: changes whenever an event is committed."""
    parts = []
    for name in (DB_NAME, DB_NAME + "-wal"):
        try:
            st = (path / name).stat()
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            parts.append("-")
    return "/".join(parts)


# -- which folders are workspaces ------------------------------------------------------------------

def _is_workspace(root: Path, folder: Path) -> bool:
    """A plain name, a real sub-folder of the (resolved) `root`, not a link out of it, holding a log."""
    if not _ID.match(folder.name):
        return False
    try:
        return folder.resolve(strict=True).parent == root and (folder / DB_NAME).is_file()
    except (OSError, RuntimeError):
        return False


def workspace_folder(root: str | Path, ws_id) -> Path:
    """The folder of workspace `ws_id` under `root`.

    Anything else (`../x`, a path, a link out of the root, a folder without a log, a name
    that does not exist) gets the same one-line WorkspaceError, which says nothing about
    what lies outside the root: ids come from URLs and command lines.
    """
    root = Path(root).expanduser()
    if isinstance(ws_id, str) and _ID.match(ws_id) and _is_workspace(root.resolve(), root / ws_id):
        return root / ws_id
    shown = repr(ws_id if not isinstance(ws_id, str) or len(ws_id) <= 80 else ws_id[:80] + "…")
    raise WorkspaceError(f"there is no workspace {shown} here; open one from the workspace list "
                         "(`hill-viz workspaces` lists them)")


# -- the index file ---------------------------------------------------------------------------------

class WorkspaceIndex:
    """The workspaces under `root` (each a sub-folder holding a hill-viz log) and their summaries."""

    def __init__(self, root: str | Path, create: bool = True):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            if not create:
                raise WorkspaceError(f"workspace folder {self.root} does not exist; check the path")
            self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / INDEX_NAME
        with self._db() as db:
            known = [r[1] for r in db.execute("PRAGMA table_info(workspaces)")]
            if known and known != list(_COLUMNS):  # written by another version: derived data, rebuilt
                db.execute("DROP TABLE workspaces")
            cols = ", ".join(f"{c} {'TEXT PRIMARY KEY' if c == 'id' else ''}" for c in _COLUMNS)
            db.execute(f"CREATE TABLE IF NOT EXISTS workspaces ({cols})")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # derived data: rebuilt if lost
        return _Closing(db)

    # -- reading ------------------------------------------------------------------------------
    def list(self) -> list[WorkspaceSummary]:
        """Every workspace under the root, newest change first; re-reads only changed logs."""
        with self._db() as db:
            rows = {r[0]: _summary(r) for r in db.execute(f"SELECT {', '.join(_COLUMNS)} FROM workspaces")}
            found = {}
            root = self.root.resolve()
            for entry in self.root.iterdir():
                if _is_workspace(root, entry):
                    found[entry.name] = entry
            for gone in set(rows) - set(found):
                db.execute("DELETE FROM workspaces WHERE id=?", (gone,))
                rows.pop(gone)
            for ws_id, folder in found.items():
                known = rows.get(ws_id)
                if known is None or known.stamp != _stamp(folder):
                    rows[ws_id] = self._resummarize(db, folder, known)
        return sorted(rows.values(), key=lambda r: r.last_change, reverse=True)

    def get(self, ws_id: str) -> WorkspaceSummary:
        folder = self.path_of(ws_id)
        with self._db() as db:
            r = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM workspaces WHERE id=?", (ws_id,)).fetchone()
            known = None if r is None else _summary(r)
            if known is None or known.stamp != _stamp(folder):
                known = self._resummarize(db, folder, known)
            return known

    def path_of(self, ws_id: str) -> Path:
        """The folder of workspace `ws_id`; one neutral WorkspaceError if there is none (`workspace_folder`)."""
        return workspace_folder(self.root, ws_id)

    def new_id(self) -> str:
        """A fresh workspace name (date, time, random tail); the folder is not created."""
        return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"

    # -- writing ------------------------------------------------------------------------------
    def refresh(self, ws_id: str) -> WorkspaceSummary:
        """Re-read one workspace's log into its row."""
        folder = self.path_of(ws_id)
        with self._db() as db:
            r = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM workspaces WHERE id=?", (ws_id,)).fetchone()
            return self._resummarize(db, folder, None if r is None else _summary(r))

    def record(self, folder: Path, event: Event) -> None:
        """Fold one event just recorded in `folder` into its row (a branch or revert: re-read)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                r = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM workspaces WHERE id=?", (folder.name,)).fetchone()
                row = None if r is None else _summary(r)
                if row is None or row.head != event.parent_id or row.n_events != event.seq - 1:
                    self._resummarize(db, folder, row)
                else:
                    _fold(row, event.kind, event.ts, event.params, event.metrics)
                    row.n_events, row.head, row.stamp = event.seq, event.id, _stamp(folder)
                    _write(db, row)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def set_title(self, ws_id: str, title: str, workspace: Workspace | None = None) -> WorkspaceSummary:
        """Rename a workspace (its log's meta value, and its row), through `workspace` if this
        process has it open, else opening it for writing for the moment."""
        folder = self.path_of(ws_id)
        if workspace is not None:
            workspace.set_title(title)
        else:
            with Workspace(folder, create=False) as ws:  # WorkspaceLockedError names who writes it
                ws.set_title(title)
        return self.refresh(ws_id)

    def verify(self, ws_id: str) -> WorkspaceSummary:
        """Run `Workspace.verify` (hash chain and artifacts) and keep the result as the row's badge."""
        folder = self.path_of(ws_id)
        ws = _open_for_reading(folder)
        try:
            report = ws.verify()
        finally:
            ws.close()
        row = self.refresh(ws_id)
        row.verify = "ok" if report.ok else "failed"
        row.verify_problem = "" if report.ok else str(report.first_bad)
        row.verified_events = report.n_events
        with self._db() as db:
            _write(db, row)
        return row

    def _resummarize(self, db, folder: Path, known: WorkspaceSummary | None) -> WorkspaceSummary:
        row = summarize(folder)
        if known is not None:  # the verify result stays until the next verify
            row.verify, row.verify_problem, row.verified_events = known.verify, known.verify_problem, known.verified_events
        _write(db, row)
        return row


class _Closing:
    """A connection closed when its `with` block ends (sqlite3's own `with` only commits)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()


def _open_for_reading(folder: Path) -> Workspace:
    return Workspace(folder, create=False, read_only=True)  # no writer lock: works while someone edits


def _summary(r: tuple) -> WorkspaceSummary:
    return WorkspaceSummary(**dict(zip(_COLUMNS, r)))


def _write(db, row: WorkspaceSummary) -> None:
    values = [getattr(row, c) for c in _COLUMNS]
    db.execute(f"INSERT OR REPLACE INTO workspaces ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
               values)


def index_event(workspace: Workspace, event: Event) -> None:
    """Keep the index of the workspace's parent folder current (if that folder has one); never raises."""
    index_file = workspace.path.parent / INDEX_NAME
    if not index_file.is_file():
        return
    try:
        WorkspaceIndex(workspace.path.parent).record(workspace.path, event)
    except Exception:  # the index is derived data: a failure here must not stop recording
        log.warning("workspace index not updated for %s", workspace.path, exc_info=True)

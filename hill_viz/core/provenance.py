"""Provenance: an append-only event store in the workspace's SQLite file.

Every action is an event committed (WAL, synchronous=FULL) before the caller returns.
Events form a tree: each has a parent; the workspace's `head` is the tip of the branch
being worked on, and reverting moves the head to an earlier event so the next event
starts a branch. Each event's hash covers its content and its parent's hash, so editing
any recorded event breaks the chain from there on.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hill_viz.errors import WorkspaceError

SCHEMA_VERSION = 1
DB_NAME = "hill.sqlite"

EVENT_KINDS = (
    "dataset_loaded", "model_built", "projection_fitted", "selection", "edit_added",
    "edit_updated", "edit_removed", "edits_applied", "training_segment", "checkpoint",
    "bias_report", "revert", "annotation",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES events(id),
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    metrics TEXT NOT NULL,
    artifacts TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Event:
    id: int
    parent_id: int | None
    seq: int
    ts: str
    actor: str
    kind: str
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    artifacts: list = field(default_factory=list)  # [{"name", "path" (relative), "sha256"}]
    hash: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "parent_id": self.parent_id, "seq": self.seq, "ts": self.ts,
                "actor": self.actor, "kind": self.kind, "params": self.params,
                "metrics": self.metrics, "artifacts": self.artifacts, "hash": self.hash}


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True, default=_jsonable)


def _jsonable(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def event_hash(parent_hash: str, seq: int, ts: str, actor: str, kind: str,
               params: dict, metrics: dict, artifacts: list) -> str:
    body = canonical_json([parent_hash, seq, ts, actor, kind, params, metrics, artifacts])
    return hashlib.sha256(body.encode()).hexdigest()


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return os.environ.get("USER", "unknown")


class EventStore:
    """The event log of one workspace. Thread-safe: the trainer thread records too."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path} is not a hill-viz event store ({exc}); "
                                 "point --workspace at a hill-viz workspace folder or a new one") from None
        if version > SCHEMA_VERSION:
            raise WorkspaceError(f"{self.path} was written by a newer hill-viz (schema {version}); upgrade hill-viz")
        self._db.executescript(_SCHEMA)
        if version == 0:
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    # -- head: the tip of the branch being worked on -----------------------------------
    @property
    def head(self) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key='head'").fetchone()
        return int(row[0]) if row else None

    def set_head(self, event_id: int) -> None:
        self.get(event_id)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('head', ?)", (str(event_id),))

    # -- writing -----------------------------------------------------------------------
    def append(self, kind: str, params: dict | None = None, metrics: dict | None = None,
               artifacts: list | None = None, actor: str | None = None,
               parent_id: int | None | str = "head") -> Event:
        """Record an event as a child of `parent_id` (default: the head) and move the head to it."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        params, metrics, artifacts = params or {}, metrics or {}, artifacts or []
        # round-trip through JSON so the stored and hashed forms are identical
        params, metrics, artifacts = (json.loads(canonical_json(v)) for v in (params, metrics, artifacts))
        actor = actor or default_actor()
        with self._lock:
            parent = self.head if parent_id == "head" else parent_id
            parent_hash = self.get(parent).hash if parent is not None else ""
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()[0]
            ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
            digest = event_hash(parent_hash, seq, ts, actor, kind, params, metrics, artifacts)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO events(parent_id, seq, ts, actor, kind, params, metrics, artifacts, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (parent, seq, ts, actor, kind, canonical_json(params), canonical_json(metrics),
                     canonical_json(artifacts), digest))
                self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('head', ?)",
                                 (str(cur.lastrowid),))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return Event(cur.lastrowid, parent, seq, ts, actor, kind, params, metrics, artifacts, digest)

    # -- reading -----------------------------------------------------------------------
    def get(self, event_id: int) -> Event:
        row = self._db.execute("SELECT * FROM events WHERE id=?", (event_id,)).fetchone()
        if row is None:
            raise WorkspaceError(f"there is no event {event_id} in {self.path}")
        return _event(row)

    def events(self) -> list[Event]:
        return [_event(r) for r in self._db.execute("SELECT * FROM events ORDER BY seq")]

    def path_to(self, event_id: int | None = None) -> list[Event]:
        """Events from the root to `event_id` (default: the head), oldest first."""
        by_id = {e.id: e for e in self.events()}
        out, cur = [], self.head if event_id is None else event_id
        while cur is not None:
            out.append(by_id[cur])
            cur = by_id[cur].parent_id
        return out[::-1]


def _event(row) -> Event:
    id_, parent, seq, ts, actor, kind, params, metrics, artifacts, digest = row
    return Event(id_, parent, seq, ts, actor, kind, json.loads(params), json.loads(metrics),
                 json.loads(artifacts), digest)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Workspace:
    """A folder: hill.sqlite (events), checkpoints/, snapshots/, artifacts/."""

    def __init__(self, path: str | os.PathLike, create: bool = True):
        self.path = Path(path).expanduser()
        if self.path.exists() and not self.path.is_dir():
            raise WorkspaceError(f"workspace {self.path} is a file; give a folder path")
        if not self.path.exists():
            if not create:
                raise WorkspaceError(f"workspace {self.path} does not exist; check the path")
            try:
                self.path.mkdir(parents=True)
            except OSError as exc:
                raise WorkspaceError(f"cannot create workspace {self.path}: {exc.strerror}") from None
        elif not create and not (self.path / DB_NAME).exists():
            raise WorkspaceError(f"{self.path} is not a hill-viz workspace (no {DB_NAME}); check the path")
        for sub in ("checkpoints", "snapshots", "artifacts"):
            (self.path / sub).mkdir(exist_ok=True)
        self.store = EventStore(self.path / DB_NAME)

    def artifact(self, relpath: str | os.PathLike, name: str | None = None) -> dict:
        """Reference to a file inside the workspace, with its SHA-256, for an event."""
        rel = Path(relpath)
        return {"name": name or rel.stem, "path": rel.as_posix(), "sha256": sha256_file(self.path / rel)}

    def resolve(self, relpath: str) -> Path:
        return self.path / relpath

    def close(self) -> None:
        self.store.close()

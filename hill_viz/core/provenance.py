"""Provenance: an append-only event store in the workspace's SQLite file.

Every action is an event committed (WAL, synchronous=FULL) before the caller returns.
Events form a tree: each has a parent; the workspace's `head` is the tip of the branch
being worked on, and reverting moves the head to an earlier event so the next event
starts a branch. Each event's hash covers its content and its parent's hash, so editing
any recorded event breaks the chain from there on; artifacts (checkpoints, teachers,
latent snapshots) are referenced with their SHA-256. `Workspace.verify()` checks both.

The file's schema version lives in `PRAGMA user_version`; opening an older file runs
the missing steps of `MIGRATIONS` in order, each in its own transaction.
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
from typing import Callable

import numpy as np

from hill_viz.errors import WorkspaceError

DB_NAME = "hill.sqlite"
HISTORY_FORMAT = "hill-viz-history"

EVENT_KINDS = (
    "dataset_loaded", "model_built", "projection_fitted", "selection", "edit_added",
    "edit_updated", "edit_removed", "edits_applied", "training_segment", "checkpoint",
    "bias_report", "revert", "annotation",
)


# -- schema and its migrations ----------------------------------------------------------------

def _migrate_v1(db: sqlite3.Connection) -> None:
    """The first layout: events and a key-value meta table (holds the head)."""
    db.execute("""CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        parent_id INTEGER REFERENCES events(id),
        seq INTEGER NOT NULL,
        ts TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        params TEXT NOT NULL,
        metrics TEXT NOT NULL,
        artifacts TEXT NOT NULL,
        hash TEXT NOT NULL)""")
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _migrate_v2(db: sqlite3.Connection) -> None:
    """Indexes for trees of 10^4+ events (children, path to root, by kind) and a migration log."""
    db.execute("CREATE INDEX IF NOT EXISTS events_seq ON events(seq)")
    db.execute("CREATE INDEX IF NOT EXISTS events_parent ON events(parent_id)")
    db.execute("CREATE INDEX IF NOT EXISTS events_kind ON events(kind)")
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")


# version -> the step that brings a file from version - 1 to it; never edit a released step
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_v1, 2: _migrate_v2}
SCHEMA_VERSION = max(MIGRATIONS)


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise WorkspaceError(f"{path} was written by a newer hill-viz (schema {version}); upgrade hill-viz")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] >= target:  # another process did it
                db.execute("ROLLBACK")
                continue
            MIGRATIONS[target](db)
            if target >= 2:
                db.execute("INSERT OR REPLACE INTO schema_migrations VALUES (?, ?)", (target, _now()))
            db.execute(f"PRAGMA user_version={target}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


# -- events ----------------------------------------------------------------------------------

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

    def artifact(self, name: str) -> dict | None:
        """The first artifact reference called `name`, if any."""
        return next((a for a in self.artifacts if a.get("name") == name), None)


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Problem:
    """One thing `verify` found wrong, tied to the event it concerns."""

    event_id: int | None
    seq: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"event {self.event_id} ({self.kind}, seq {self.seq})" if self.event_id is not None else "workspace"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    n_events: int
    n_artifacts: int
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "n_events": self.n_events, "n_artifacts": self.n_artifacts,
                "first_bad_event": self.first_bad.event_id if self.first_bad else None,
                "problems": [{"event_id": p.event_id, "seq": p.seq, "kind": p.kind, "message": p.message}
                             for p in self.problems]}


class EventStore:
    """The event log of one workspace. Thread-safe: the trainer thread records too.

    `durable=False` turns off the fsync per commit: only for bulk-building throwaway
    stores (benchmarks); a user's workspace is always durable.
    """

    def __init__(self, path: str | os.PathLike, durable: bool = True):
        self.path = Path(path)
        self._lock = threading.RLock()  # one connection shared by the UI and trainer threads
        self.closed = False
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
            _migrate(self._db, self.path)
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path} is not a hill-viz event store ({exc}); "
                                 "point --workspace at a hill-viz workspace folder or a new one") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self.closed = True

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    @property
    def schema_version(self) -> int:
        return self._one("PRAGMA user_version")[0]

    # -- head: the tip of the branch being worked on -----------------------------------
    @property
    def head(self) -> int | None:
        row = self._one("SELECT value FROM meta WHERE key='head'")
        return int(row[0]) if row else None

    def set_head(self, event_id: int) -> None:
        self.get(event_id)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('head', ?)", (str(event_id),))

    # -- meta: small named values beside the log (head, owner, title) ------------------
    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Write a meta value (not the head: only events move it)."""
        if key == "head":
            raise ValueError("the head moves only with events (append, set_head)")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

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
            self._db.execute("BEGIN IMMEDIATE")  # head, seq and insert in one writer's transaction
            try:
                parent = self.head if parent_id == "head" else parent_id
                parent_hash = ""
                if parent is not None:
                    row = self._db.execute("SELECT hash FROM events WHERE id=?", (parent,)).fetchone()
                    if row is None:
                        raise WorkspaceError(f"there is no event {parent} in {self.path}")
                    parent_hash = row[0]
                seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()[0]
                ts = _now()
                digest = event_hash(parent_hash, seq, ts, actor, kind, params, metrics, artifacts)
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
        row = self._one("SELECT * FROM events WHERE id=?", (event_id,))
        if row is None:
            raise WorkspaceError(f"there is no event {event_id} in {self.path}; "
                                 "`hill-viz history` lists the events")
        return _event(row)

    def events(self, kinds: tuple[str, ...] | None = None) -> list[Event]:
        if kinds:
            marks = ",".join("?" * len(kinds))
            rows = self._all(f"SELECT * FROM events WHERE kind IN ({marks}) ORDER BY seq", tuple(kinds))
        else:
            rows = self._all("SELECT * FROM events ORDER BY seq")
        return [_event(r) for r in rows]

    def count(self) -> int:
        return self._one("SELECT COUNT(*) FROM events")[0]

    def last_seq(self) -> int:
        return self._one("SELECT COALESCE(MAX(seq), 0) FROM events")[0]

    def children(self, event_id: int) -> list[Event]:
        return [_event(r) for r in self._all("SELECT * FROM events WHERE parent_id=? ORDER BY seq", (event_id,))]

    def path_to(self, event_id: int | None = None) -> list[Event]:
        """Events from the root to `event_id` (default: the head), oldest first."""
        start = self.head if event_id is None else event_id
        if start is None:
            return []
        self.get(start)
        rows = self._all(
            "WITH RECURSIVE up(id) AS (SELECT ? UNION ALL "
            " SELECT e.parent_id FROM events e JOIN up ON e.id = up.id WHERE e.parent_id IS NOT NULL)"
            " SELECT events.* FROM events JOIN up USING (id) ORDER BY seq", (start,))
        return [_event(r) for r in rows]

    def max_int_param(self, key: str, kinds: tuple[str, ...]) -> int | None:
        """The largest integer `params[key]` over events of `kinds` (e.g. edit ids), or None."""
        marks = ",".join("?" * len(kinds))
        row = self._one(f"SELECT MAX(CAST(json_extract(params, ?) AS INTEGER)) FROM events "
                        f"WHERE kind IN ({marks})", (f"$.{key}", *kinds))
        return None if row[0] is None else int(row[0])

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a read-only SQL query over `events` (review code: cheap, no full JSON decoding)."""
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            raise ValueError("EventStore.query runs SELECT statements only")
        return self._all(sql, args)

    # -- integrity ---------------------------------------------------------------------
    def verify_chain(self) -> list[Problem]:
        """Recompute every event's hash from its content and its parent's stored hash.

        An edited event fails its own check; an event whose hash was also rewritten
        breaks its children's checks. Gaps in the sequence show deleted events.
        """
        problems: list[Problem] = []
        hashes: dict[int, tuple[str, int]] = {}
        expected_seq = 1
        for row in self._all("SELECT * FROM events ORDER BY seq"):
            try:
                ev = _event(row)
            except (ValueError, TypeError):
                problems.append(Problem(row[0], row[2], str(row[5]), "its stored content is not valid JSON"))
                hashes[row[0]] = (row[9], row[2])
                expected_seq = row[2] + 1
                continue
            if ev.seq != expected_seq:
                problems.append(Problem(ev.id, ev.seq, ev.kind,
                                        f"events with seq {expected_seq}..{ev.seq - 1} are missing (deleted?)"))
            expected_seq = ev.seq + 1
            parent_hash = ""
            if ev.parent_id is not None:
                if ev.parent_id not in hashes:
                    problems.append(Problem(ev.id, ev.seq, ev.kind,
                                            f"its parent {ev.parent_id} is missing or recorded after it"))
                else:
                    parent_hash = hashes[ev.parent_id][0]
            if ev.kind not in EVENT_KINDS:
                problems.append(Problem(ev.id, ev.seq, ev.kind, "unknown event kind"))
            recomputed = event_hash(parent_hash, ev.seq, ev.ts, ev.actor, ev.kind, ev.params, ev.metrics,
                                    ev.artifacts)
            if recomputed != ev.hash:
                problems.append(Problem(ev.id, ev.seq, ev.kind,
                                        "its content or its parent's hash does not match its recorded hash "
                                        "(changed after it was recorded)"))
            hashes[ev.id] = (ev.hash, ev.seq)
        head = self.head
        if head is not None and head not in hashes:
            problems.append(Problem(None, None, "", f"the head points at event {head}, which does not exist"))
        return problems


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


# -- the workspace folder -----------------------------------------------------------------------

class Workspace:
    """A folder: hill.sqlite (events), checkpoints/, snapshots/, artifacts/."""

    def __init__(self, path: str | os.PathLike, create: bool = True, durable: bool = True):
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
        self.store = EventStore(self.path / DB_NAME, durable=durable)
        self._reserve_lock = threading.Lock()

    def artifact(self, relpath: str | os.PathLike, name: str | None = None) -> dict:
        """Reference to a file inside the workspace, with its SHA-256, for an event."""
        rel = Path(relpath)
        return {"name": name or rel.stem, "path": rel.as_posix(), "sha256": sha256_file(self.path / rel)}

    def resolve(self, relpath: str) -> Path:
        return self.path / relpath

    def reserve(self, relpath: str) -> str:
        """A file name like `relpath` that no event uses yet (`epoch-00003-2.pt` after a revert).

        Claims it by creating it empty, so two branches never overwrite each other's files.
        """
        rel = Path(relpath)
        with self._reserve_lock:
            for k in range(1, 1_000_000):
                candidate = rel if k == 1 else rel.with_name(f"{rel.stem}-{k}{rel.suffix}")
                try:
                    fd = os.open(self.path / candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    continue
                os.close(fd)
                return candidate.as_posix()
        raise WorkspaceError(f"no free file name like {relpath} in {self.path}")

    def close(self) -> None:
        self.store.close()

    # -- who made it, what it is called (meta values, not events: a label is not part of the work)
    TITLE_MAX = 200

    @property
    def owner(self) -> str:
        """The actor who created the workspace (older workspaces: the actor of their first event)."""
        owner = self.store.meta("owner")
        if owner:
            return owner
        first = self.store.query("SELECT actor FROM events ORDER BY seq LIMIT 1")
        return first[0][0] if first else ""

    def claim_owner(self, actor: str) -> str:
        """Record `actor` as the owner if none is recorded yet; the owner either way."""
        if not self.store.meta("owner"):
            self.store.set_meta("owner", self.owner or actor)
        return self.owner

    @property
    def title(self) -> str:
        """The title people gave the workspace ('' until one is set)."""
        return self.store.meta("title") or ""

    def set_title(self, title: str) -> str:
        """Name the workspace (a meta write, not an event: renaming changes none of the recorded work)."""
        title = self.clean_title(title)
        self.store.set_meta("title", title)
        return title

    @classmethod
    def clean_title(cls, title: str) -> str:
        """A title on one line, spaces collapsed; WorkspaceError if too long."""
        title = " ".join(str(title or "").split())
        if len(title) > cls.TITLE_MAX:
            raise WorkspaceError(f"a title holds at most {cls.TITLE_MAX} characters, got {len(title)}; shorten it")
        return title

    # -- integrity and export ----------------------------------------------------------
    def verify(self, artifacts: bool = True) -> VerifyReport:
        """Check the hash chain and (by default) every artifact's SHA-256; problems in seq order."""
        problems = self.store.verify_chain()
        n_artifacts = 0
        if artifacts:
            for ev in self.store.events():
                for ref in ev.artifacts:
                    n_artifacts += 1
                    message = self._artifact_problem(ref)
                    if message:
                        problems.append(Problem(ev.id, ev.seq, ev.kind, message))
        problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
        return VerifyReport(self.store.count(), n_artifacts, tuple(problems))

    def _artifact_problem(self, ref: dict) -> str | None:
        rel = str(ref.get("path", ""))
        target = (self.path / rel).resolve()
        if not rel or Path(rel).is_absolute() or self.path.resolve() not in target.parents:
            return f"artifact {rel!r} points outside the workspace"
        if not target.is_file():
            return f"artifact {rel} is missing"
        if sha256_file(target) != ref.get("sha256"):
            return f"artifact {rel} does not match its recorded SHA-256 (changed after it was recorded)"
        return None

    def export_history(self, path: str | os.PathLike | None = None) -> dict:
        """The whole event tree as one JSON-ready dict (written to `path` if given)."""
        doc = {"format": HISTORY_FORMAT, "schema_version": self.store.schema_version,
               "workspace": str(self.path), "exported_at": _now(), "head": self.store.head,
               "events": [e.to_dict() for e in self.store.events()]}
        if path is not None:
            Path(path).write_text(json.dumps(doc, indent=1, allow_nan=True))
        return doc


# -- latent snapshots: small Parquet frames for the timeline ------------------------------------

SNAPSHOT_COLUMNS = ("id", "x", "y", "label", "pred")
SNAPSHOT_MAX_ROWS = 100_000  # larger frames keep a fixed random subset (same rows every time)


def snapshot_rows(n: int, max_rows: int = SNAPSHOT_MAX_ROWS) -> np.ndarray:
    """Rows kept in a snapshot of an n-row frame: all, or a subset fixed by n alone."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(n).choice(n, max_rows, replace=False))


def write_snapshot(workspace: Workspace, frame_df, stem: str, max_rows: int = SNAPSHOT_MAX_ROWS) -> dict:
    """Write a LatentFrame's id, x, y, label, pred to snapshots/<stem>.parquet; return its artifact ref."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = snapshot_rows(len(frame_df), max_rows)
    table = pa.table({c: np.asarray(frame_df[c].to_numpy())[rows] for c in SNAPSHOT_COLUMNS})
    rel = workspace.reserve(f"snapshots/{stem}.parquet")
    target = workspace.resolve(rel)
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return workspace.artifact(rel, "snapshot")


def read_snapshot(workspace: Workspace, relpath: str):
    """A snapshot as a pandas DataFrame (columns SNAPSHOT_COLUMNS)."""
    import pandas as pd

    try:
        return pd.read_parquet(workspace.resolve(relpath))
    except FileNotFoundError:
        raise WorkspaceError(f"snapshot {relpath} is missing from {workspace.path}") from None

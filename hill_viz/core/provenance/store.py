"""The event log of one workspace: an append-only SQLite table, sealed on every write.

Every action is an event committed (WAL, synchronous=FULL) before the caller returns.
Events form a tree: each has a parent; the `head` is the tip of the branch being worked
on, and reverting moves the head to an earlier event so the next event starts a branch.
A writer (one per workspace: see lock.py) also updates the seal (seal.py) in the same
transaction and hands it to `on_commit` once committed. A reader opens the file
read-only and never changes it, so a read-only folder can still be reviewed.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Callable

from hill_viz.core.provenance.events import (EVENT_KINDS, Event, canonical_json, decode_row, default_actor,
                                             event_hash, now_utc, row_problem)
from hill_viz.core.provenance.files import storage_error
from hill_viz.core.provenance.schema import check_version, migrate
from hill_viz.core.provenance.seal import SEAL_FIELDS, SealKey, digest_step, log_digest
from hill_viz.errors import WorkspaceError


class EventStore:
    """The event log of one workspace. Thread-safe: the trainer thread records too.

    `durable=False` turns off the fsync per commit: only for bulk-building throwaway
    stores (benchmarks); a user's workspace is always durable. `read_only=True` opens the
    file for reading only (no migration, no lock needed, `append` refuses).
    """

    def __init__(self, path: str | os.PathLike, durable: bool = True, read_only: bool = False,
                 key: SealKey | None = None, on_commit: Callable[[dict], None] | None = None):
        self.path = Path(path)
        self.read_only, self.key, self.on_commit = read_only, key, on_commit
        self._lock = threading.RLock()  # one connection shared by the UI and trainer threads
        self.closed = False
        try:
            self._db = _connect_read_only(self.path) if read_only else _connect(self.path, durable)
            self.opened_version = check_version(self._db, self.path)  # before migrating: was it sealed?
            if not read_only:
                migrate(self._db, self.path)
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or \
                    "not a database" in str(exc) or "no such table" in str(exc):
                raise WorkspaceError(f"{self.path} is not a hill-viz event store ({exc}); "
                                     "point --workspace at a hill-viz workspace folder or a new one") from None
            raise storage_error(exc, f"cannot open the event log {self.path}", self.path.parent) from None
        self.workspace_id = self._meta("workspace_id")

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self._db.close()
                self.closed = True

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return None if row is None else row[0]

    @property
    def schema_version(self) -> int:
        return self._one("PRAGMA user_version")[0]

    # -- head: the tip of the branch being worked on -----------------------------------
    @property
    def head(self) -> int | None:
        value = self._meta("head")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise WorkspaceError(f"the head of {self.path} is {value!r}, not an event id; "
                                 "run `hill-viz verify`") from None

    # -- named values beside the log (owner, title): not events, not sealed -----------------
    def meta(self, key: str) -> str | None:
        return self._meta(key)

    def set_meta(self, key: str, value: str) -> None:
        """Write a meta value; the head and the seal move only with events."""
        if key in ("head", "seal", "workspace_id"):
            raise ValueError(f"meta {key!r} is written by the store itself")
        self._write(f"set the {key}", lambda: self._set_meta(key, str(value)))

    def set_head(self, event_id: int) -> None:
        self.get(event_id)
        self._write("move the head", lambda: self._set_meta("head", str(event_id)))

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
        made = {}

        def insert():
            parent = self.head if parent_id == "head" else parent_id
            parent_hash = ""
            if parent is not None:
                row = self._db.execute("SELECT hash FROM events WHERE id=?", (parent,)).fetchone()
                if row is None:
                    raise WorkspaceError(f"there is no event {parent} in {self.path}")
                parent_hash = row[0]
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()[0]
            ts = now_utc()
            digest = event_hash(parent_hash, seq, ts, actor, kind, params, metrics, artifacts)
            cur = self._db.execute(
                "INSERT INTO events(parent_id, seq, ts, actor, kind, params, metrics, artifacts, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (parent, seq, ts, actor, kind, canonical_json(params), canonical_json(metrics),
                 canonical_json(artifacts), digest))
            self._set_meta("head", str(cur.lastrowid))
            made["event"] = Event(cur.lastrowid, parent, seq, ts, actor, kind, params, metrics, artifacts, digest)
            return digest

        self._write(f"record a {kind} event", insert)
        return made["event"]

    def reseal(self) -> dict | None:
        """Seal the log as it is now, from scratch (a new or migrated file, or changes accepted)."""
        return self._write("seal the log", lambda: None, trust_previous=False)

    def _write(self, what: str, change: Callable[[], str | None], trust_previous: bool = True) -> dict | None:
        """Run `change` and re-seal in one IMMEDIATE transaction; a SQLite failure is one line, the real cause."""
        if self.read_only:
            raise WorkspaceError(f"{self.path.parent} is open read-only; open it for writing to change it")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")  # head, seq, insert and seal in one writer's transaction
                new_hash = change()
                seal = self._seal(new_hash, trust_previous)
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:  # a failed COMMIT may already have rolled back
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.Error):
                    raise storage_error(exc, f"cannot {what} in {self.path}", self.path.parent) from None
                raise
            if seal is not None and self.on_commit is not None:
                self.on_commit(seal)
            return seal

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def _seal(self, new_hash: str | None, trust_previous: bool) -> dict | None:
        """Write the seal of the state inside the open transaction (O(1) after the first)."""
        if self.key is None:
            return None
        previous = _json_or_none(self._meta("seal"))
        if trust_previous and isinstance(previous, dict) and all(k in previous for k in SEAL_FIELDS) \
                and previous["workspace_id"] == self.workspace_id and self.key.signed(previous):
            n, digest = previous["n_events"], previous["digest"]
            if new_hash is not None:
                n, digest = n + 1, digest_step(digest, new_hash)
        else:
            hashes = [h for (h,) in self._db.execute("SELECT hash FROM events ORDER BY seq")]
            n, digest = len(hashes), log_digest(hashes)
        seal = self.key.sign({**self.state(count=False), "n_events": n, "digest": digest})
        self._set_meta("seal", canonical_json(seal))
        return seal

    # -- reading -----------------------------------------------------------------------
    def get(self, event_id: int) -> Event:
        row = self._one("SELECT * FROM events WHERE id=?", (event_id,))
        if row is None:
            raise WorkspaceError(f"there is no event {event_id} in {self.path}; "
                                 "`hill-viz history` lists the events")
        return decode_row(row)

    def events(self, kinds: tuple[str, ...] | None = None, skip_malformed: bool = False) -> list[Event]:
        """Events in seq order; a malformed row raises a one-line error, or is left out."""
        if kinds:
            marks = ",".join("?" * len(kinds))
            rows = self._all(f"SELECT * FROM events WHERE kind IN ({marks}) ORDER BY seq", tuple(kinds))
        else:
            rows = self._all("SELECT * FROM events ORDER BY seq")
        if skip_malformed:
            rows = [r for r in rows if row_problem(r) is None]
        return [decode_row(r) for r in rows]

    def rows(self) -> list[tuple]:
        """Every stored row as it is, in seq order (readers that report damaged rows and go on)."""
        return self._all("SELECT * FROM events ORDER BY seq")

    def count(self) -> int:
        return self._one("SELECT COUNT(*) FROM events")[0]

    def last_seq(self) -> int:
        return self._one("SELECT COALESCE(MAX(seq), 0) FROM events")[0]

    def children(self, event_id: int) -> list[Event]:
        return [decode_row(r) for r in self._all("SELECT * FROM events WHERE parent_id=? ORDER BY seq", (event_id,))]

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
        return [decode_row(r) for r in rows]

    def max_int_param(self, key: str, kinds: tuple[str, ...]) -> int | None:
        """The largest integer `params[key]` over events of `kinds` (e.g. edit ids), or None."""
        marks = ",".join("?" * len(kinds))
        row = self._one(f"SELECT MAX(CAST(json_extract(params, ?) AS INTEGER)) FROM events "
                        f"WHERE kind IN ({marks}) AND json_valid(params)", (f"$.{key}", *kinds))
        return None if row[0] is None else int(row[0])

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a read-only SQL query over `events` (review code: cheap, no full JSON decoding)."""
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            raise ValueError("EventStore.query runs SELECT statements only")
        return self._all(sql, args)

    # -- what the seal covers ------------------------------------------------------------
    def seal(self):
        """The stored seal: a dict, None (never sealed), or whatever unreadable value is there."""
        return _json_or_none(self._meta("seal"), keep_bad=True)

    def state(self, count: bool = True) -> dict:
        """The sealed fields but the digest, read cheaply: identity, size, last event, head."""
        last = self._one("SELECT id, seq, hash FROM events ORDER BY seq DESC LIMIT 1") or (None, 0, "")
        try:
            head = self.head
        except WorkspaceError:
            head = self._meta("head")
        head_row = self._one("SELECT hash FROM events WHERE id=?", (head,)) if isinstance(head, int) else None
        return {"workspace_id": self.workspace_id, "n_events": self.count() if count else None,
                "last_seq": last[1], "last_id": last[0], "last_hash": last[2], "head": head,
                "head_hash": head_row[0] if head_row else None}

    def seq_hashes(self) -> list[tuple[int, str]]:
        return self._all("SELECT seq, hash FROM events ORDER BY seq")


def _connect(path: Path, durable: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
    return db


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """mode=ro; where the folder cannot hold SQLite's shared-memory file, `immutable` (no writer can run there)."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    for suffix in ("", "&immutable=1"):
        db = sqlite3.connect(uri + suffix, uri=True, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            check_version(db, path)
            db.execute("SELECT id FROM events LIMIT 0")
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if "no such table" in str(exc) or suffix:
                raise
    raise AssertionError("unreachable")


def _json_or_none(text: str | None, keep_bad: bool = False):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text if keep_bad else None

"""The event store's schema and its migrations.

The file's schema version lives in `PRAGMA user_version`; a writer opening an older file
runs the missing steps of `MIGRATIONS` in order, each in its own transaction. Readers
never migrate (they may not be allowed to write): every version can be read as it is.
"""
from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Callable

from hill_viz.core.provenance.events import now_utc
from hill_viz.errors import WorkspaceError


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


def _migrate_v3(db: sqlite3.Connection) -> None:
    """A workspace identity (`meta.workspace_id`): seals and receipts name it. From v3 on the log is sealed."""
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('workspace_id', ?)", (uuid.uuid4().hex,))


# version -> the step that brings a file from version - 1 to it; never edit a released step
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_v1, 2: _migrate_v2, 3: _migrate_v3}
SCHEMA_VERSION = max(MIGRATIONS)
SEALED_SINCE = 3  # a file at this version or later with events always holds a seal


def check_version(db: sqlite3.Connection, path: Path) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise WorkspaceError(f"{path} was written by a newer hill-viz (schema {version}); upgrade hill-viz")
    return version


def migrate(db: sqlite3.Connection, path: Path) -> None:
    version = check_version(db, path)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] >= target:  # another process did it
                db.execute("ROLLBACK")
                continue
            MIGRATIONS[target](db)
            if target >= 2:
                db.execute("INSERT OR REPLACE INTO schema_migrations VALUES (?, ?)", (target, now_utc()))
            db.execute(f"PRAGMA user_version={target}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

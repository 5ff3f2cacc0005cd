"""Provenance: the workspace's append-only event log, its artifacts, and their integrity.

Every action is an event committed to SQLite before the caller returns; events form a
tree whose `head` is the tip of the branch being worked on. Each event's hash covers its
content and its parent's hash; artifacts (checkpoints, teachers, latent snapshots) are
referenced with their SHA-256 and checked before they are loaded. One process writes a
workspace at a time (an OS file lock); every write also updates a signed seal, and a
receipt is left outside the workspace, so a cut tail or a rolled-back head is detected.
Modules: events (what an event is), store (the SQLite log), lock (one writer), seal (seal,
key, receipts), workspace (the folder), verify (the checks), snapshots, files, schema.
"""
from hill_viz.core.provenance.events import (EVENT_KINDS, Event, canonical_json, decode_row, default_actor,
                                             event_hash, row_problem)
from hill_viz.core.provenance.files import atomic_write, sha256_file, storage_error
from hill_viz.core.provenance.lock import LOCK_NAME, WriterLock
from hill_viz.core.provenance.schema import MIGRATIONS, SCHEMA_VERSION
from hill_viz.core.provenance.seal import (KEY_ENV, SealKey, key_dir, load_key, read_receipt, receipt_path,
                                           write_receipt)
from hill_viz.core.provenance.snapshots import (SNAPSHOT_COLUMNS, SNAPSHOT_MAX_ROWS, read_snapshot, snapshot_rows,
                                                write_snapshot)
from hill_viz.core.provenance.store import EventStore
from hill_viz.core.provenance.verify import Problem, VerifyReport
from hill_viz.core.provenance.workspace import ARTIFACT_DIRS, DB_NAME, HISTORY_FORMAT, Workspace

__all__ = [
    "ARTIFACT_DIRS", "DB_NAME", "EVENT_KINDS", "Event", "EventStore", "HISTORY_FORMAT", "KEY_ENV", "LOCK_NAME",
    "MIGRATIONS", "Problem", "SCHEMA_VERSION", "SNAPSHOT_COLUMNS", "SNAPSHOT_MAX_ROWS", "SealKey", "VerifyReport",
    "Workspace", "WriterLock", "atomic_write", "canonical_json", "decode_row", "default_actor", "event_hash",
    "key_dir", "load_key", "read_receipt", "read_snapshot", "receipt_path", "row_problem", "sha256_file",
    "snapshot_rows", "storage_error", "write_receipt", "write_snapshot",
]

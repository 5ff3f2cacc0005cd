"""The workspace folder: hill.sqlite (events), checkpoints/, snapshots/, artifacts/.

A `Workspace` opens for writing by default: it takes the folder's writer lock (one writer
per workspace, released on `close()`, on exit and on crash), loads or creates the user's
signing key, and refuses to write on top of a log that was changed outside hill-viz since
it was last written (its seal or receipt does not match) unless told to accept it.
`read_only=True` opens for review: no lock, no key needed, nothing written. Artifacts
are checked against their recorded SHA-256 before they are loaded (`checked`).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from hill_viz.core.provenance.events import Event, decode_row, now_utc, row_problem
from hill_viz.core.provenance.files import atomic_write, sha256_file, storage_error
from hill_viz.core.provenance.lock import WriterLock
from hill_viz.core.provenance.seal import SealKey, load_key, make_receipt, receipt_path, write_receipt
from hill_viz.core.provenance.store import EventStore
from hill_viz.errors import HillError, IntegrityError, WorkspaceError

DB_NAME = "hill.sqlite"
HISTORY_FORMAT = "hill-viz-history"
ARTIFACT_DIRS = ("checkpoints", "snapshots", "artifacts")
log = logging.getLogger(__name__)


class Workspace:
    """A folder: hill.sqlite (events), checkpoints/, snapshots/, artifacts/. Use as a context manager."""

    def __init__(self, path: str | os.PathLike, create: bool = True, durable: bool = True,
                 read_only: bool = False, accept_changes: bool = False):
        self.path = Path(path).expanduser()
        self.read_only, self.durable = read_only, durable
        self.lock: WriterLock | None = None
        self.key: SealKey | None = None
        self._claimed: set[str] = set()
        self._reserve_lock = threading.Lock()
        self._check_folder(create and not read_only)
        if read_only:
            self.key = _reader_key()
            self.store = EventStore(self.path / DB_NAME, read_only=True)
            return
        self.lock = WriterLock(self.path)
        self.store = None
        try:
            for sub in ARTIFACT_DIRS:
                try:
                    (self.path / sub).mkdir(exist_ok=True)
                except OSError as exc:
                    raise storage_error(exc, f"cannot write in workspace {self.path}", self.path) from None
            self.key = load_key(create=True)
            self.store = EventStore(self.path / DB_NAME, durable=durable, key=self.key,
                                    on_commit=_Receipts(self.path, self.key) if durable else None)
            self._take_over(accept_changes)
        except BaseException:
            self.close()
            raise

    def _check_folder(self, create: bool) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise WorkspaceError(f"workspace {self.path} is a file; give a folder path")
        if not self.path.exists():
            if not create:
                raise WorkspaceError(f"workspace {self.path} does not exist; check the path")
            try:
                self.path.mkdir(parents=True)
            except OSError as exc:
                raise storage_error(exc, f"cannot create workspace {self.path}", self.path) from None
        elif not create and not (self.path / DB_NAME).exists():
            raise WorkspaceError(f"{self.path} is not a hill-viz workspace (no {DB_NAME}); check the path")

    def _take_over(self, accept_changes: bool) -> None:
        """Refuse to write on a log changed outside hill-viz (or record that the user accepts it); seal it."""
        from hill_viz.core.provenance.verify import integrity

        check = integrity(self, full=False)
        if check.problems and not accept_changes:
            raise IntegrityError(
                f"workspace {self.path} was changed outside hill-viz since it was last written "
                f"({check.problems[0]}); `hill-viz verify --workspace {self.path}` shows what changed, and "
                "`--accept` there records that you accept it")
        if check.problems or (check.status != "ok" and self.store.count()):
            self.store.reseal()
        head = self.store.head
        if check.problems and head is not None:
            self.store.append("annotation", {"event_id": head, "event_kind": self.store.get(head).kind,
                                             "text": "accepted changes made outside hill-viz: "
                                                     + "; ".join(check.problems)})

    def close(self) -> None:
        """Close the log and let go of the writer lock (idempotent)."""
        if getattr(self, "store", None) is not None:
            self.store.close()
        if self.lock is not None:
            self.lock.release()

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

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- files --------------------------------------------------------------------------
    def artifact(self, relpath: str | os.PathLike, name: str | None = None) -> dict:
        """Reference to a file inside the workspace, with its SHA-256, for an event."""
        rel = Path(relpath)
        try:
            digest = sha256_file(self.path / rel)
        except OSError as exc:
            raise storage_error(exc, f"cannot read {self.path / rel}", self.path) from None
        return {"name": name or rel.stem, "path": rel.as_posix(), "sha256": digest}

    def resolve(self, relpath: str) -> Path:
        return self.path / relpath

    def reserve(self, relpath: str) -> str:
        """A file name like `relpath` that no file and no event uses yet (`epoch-00003-2.pt` after a revert).

        Claimed in memory: the writer lock makes this process the only one naming files here,
        and nothing is left on disk if the write then fails.
        """
        if self.read_only:
            raise WorkspaceError(f"{self.path} is open read-only; open it for writing to add files")
        rel = Path(relpath)
        with self._reserve_lock:
            for k in range(1, 1_000_000):
                candidate = (rel if k == 1 else rel.with_name(f"{rel.stem}-{k}{rel.suffix}")).as_posix()
                if candidate in self._claimed or (self.path / candidate).exists() or self._referenced(candidate):
                    continue
                self._claimed.add(candidate)
                return candidate
        raise WorkspaceError(f"no free file name like {relpath} in {self.path}")

    def _referenced(self, relpath: str) -> bool:
        return bool(self.store.query("SELECT 1 FROM events WHERE instr(artifacts, ?) LIMIT 1",
                                     (json.dumps(relpath),)))

    def artifact_problem(self, ref) -> str | None:
        """What is wrong with an artifact reference and its file, or None."""
        if not isinstance(ref, dict):
            return f"artifact reference {ref!r} is not a {{name, path, sha256}} object"
        rel = str(ref.get("path", ""))
        target = (self.path / rel).resolve()
        if not rel or Path(rel).is_absolute() or self.path.resolve() not in target.parents:
            return f"artifact {rel!r} points outside the workspace"
        if not target.is_file():
            return f"artifact {rel} is missing"
        if sha256_file(target) != ref.get("sha256"):
            return f"artifact {rel} does not match its recorded SHA-256 (changed after it was recorded)"
        return None

    def checked(self, ref: dict | None, event: Event) -> Path:
        """The file of an event's artifact, once its SHA-256 matches the event; else a one-line IntegrityError."""
        problem = "it records no such file" if ref is None else self.artifact_problem(ref)
        if problem:
            raise IntegrityError(f"event {event.id} ({event.kind}): {problem}; it is not loaded. Revert to an "
                                 f"earlier event or restore the file (`hill-viz verify --workspace {self.path}`)")
        return self.path / ref["path"]

    def checked_file(self, relpath: str) -> Path:
        """`checked` for a file named by its path: the newest event that recorded it vouches for it."""
        needle = json.dumps(str(relpath))
        for row in self.store.query("SELECT * FROM events WHERE instr(artifacts, ?) ORDER BY seq DESC", (needle,)):
            event = decode_row(row)
            ref = next((a for a in event.artifacts if a.get("path") == str(relpath)), None)
            if ref is not None:
                return self.checked(ref, event)
        raise IntegrityError(f"{relpath} is not recorded by any event in {self.path}; it is not loaded")

    # -- integrity and export ----------------------------------------------------------
    def verify(self, artifacts: bool = True, receipt: dict | None = None):
        """Hash chain, artifacts, orphan files, seal and receipt; a VerifyReport, problems in seq order."""
        from hill_viz.core.provenance.verify import verify_workspace

        return verify_workspace(self, artifacts=artifacts, receipt=receipt)

    def receipt(self) -> dict:
        """A receipt for the log as it is now (signed when the key is here), to keep somewhere else."""
        from hill_viz.core.provenance.seal import SEAL_FIELDS, log_digest

        state = self.store.state()
        hashes = [h for _, h in self.store.seq_hashes()]
        seal = {**state, "digest": log_digest(hashes)}
        return make_receipt(self.path, {k: seal[k] for k in SEAL_FIELDS}, self.key)

    @property
    def receipt_path(self) -> Path:
        """Where the writer leaves this folder's receipt after each event (outside the workspace)."""
        return receipt_path(self.path)

    def export_history(self, path: str | os.PathLike | None = None) -> dict:
        """The whole event tree as one JSON-ready dict (written to `path` if given); damaged rows say what is wrong."""
        events = []
        for row in self.store.rows():
            problem = row_problem(row)
            events.append(decode_row(row).to_dict() if problem is None else
                          {"id": row[0], "seq": row[2], "kind": row[5], "malformed": problem})
        try:
            head = self.store.head
        except WorkspaceError:
            head = None
        doc = {"format": HISTORY_FORMAT, "schema_version": self.store.schema_version,
               "workspace": str(self.path), "exported_at": now_utc(), "head": head, "events": events}
        if path is not None:
            atomic_write(path, lambda fh: fh.write(json.dumps(doc, indent=1, allow_nan=True).encode()))
        return doc


class _Receipts:
    """After each commit: the receipt outside the workspace (best effort: the event is already recorded).

    Not fsynced (it would triple an append's cost): after a power cut a receipt may be
    one event behind, or unreadable, which `verify` reports as a note, never as tampering.

    Holds no reference to its Workspace, so a forgotten Workspace is collected (and its lock let go) at once.
    """

    def __init__(self, path: Path, key: SealKey):
        self.path, self.key, self.warned = path, key, False

    def __call__(self, seal: dict) -> None:
        try:
            write_receipt(make_receipt(self.path, seal, self.key), receipt_path(self.path), durable=False)
        except HillError as exc:
            if not self.warned:
                log.warning("hill-viz: no receipt written for %s (%s)", self.path, exc)
                self.warned = True


def _reader_key() -> SealKey | None:
    """A reviewer's key if there is a usable one; reading never needs it."""
    try:
        return load_key(create=False)
    except HillError as exc:
        log.warning("hill-viz: the signing key is not usable (%s); seals are not checked", exc)
        return None

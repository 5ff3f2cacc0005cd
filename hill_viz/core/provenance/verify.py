"""`verify`: everything a workspace can say about its own integrity, as a list of problems.

- the hash chain: each event's hash recomputed from its content and its parent's hash;
  gaps in the sequence; damaged rows (named, and the check goes on past them);
- artifacts: each recorded file's SHA-256; files no event references (orphans);
- the seal: the signed size, last event, head and digest of the whole log (needs the key);
- a receipt: the log still holds, unchanged, every event the receipt vouches for.
What each check can and cannot detect is in docs/provenance.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hill_viz.core.provenance.events import EVENT_KINDS, event_hash, read_row
from hill_viz.core.provenance.files import TMP_SUFFIX
from hill_viz.core.provenance.schema import SEALED_SINCE
from hill_viz.core.provenance.seal import (key_dir, log_digest, read_receipt, receipt_log_problems, receipt_path,
                                           receipt_signature, seal_problems)
from hill_viz.errors import WorkspaceError

if TYPE_CHECKING:
    from hill_viz.core.provenance.workspace import Workspace


@dataclass(frozen=True)
class Problem:
    """One thing `verify` found wrong, tied to the event it concerns (None: the workspace as a whole)."""

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
    notes: tuple[str, ...] = ()          # what could not be checked here, and why
    seal: str = "absent"                 # ok, broken, unchecked, absent
    receipt: dict | None = None          # {"path", "last_seq"} of the receipt checked

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
                             for p in self.problems],
                "notes": list(self.notes), "seal": self.seal, "receipt": self.receipt}


@dataclass
class Integrity:
    """The seal's and the receipt's verdict (workspace-level)."""

    status: str = "absent"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    receipt: dict | None = None


def verify_workspace(ws: "Workspace", artifacts: bool = True, receipt: dict | None = None) -> VerifyReport:
    rows = ws.store.rows()
    problems = chain_problems(rows, ws.store)
    n_artifacts = 0
    if artifacts:
        referenced: set[str] = set()
        for row in rows:
            refs = _artifact_refs(row)
            for ref in refs:
                n_artifacts += 1
                message = ws.artifact_problem(ref)
                if message:
                    problems.append(Problem(row[0], row[2], str(row[5]), message))
                if isinstance(ref, dict):
                    referenced.add(str(ref.get("path", "")))
        problems += orphan_problems(ws, referenced)
    check = integrity(ws, full=True, receipt=receipt)
    problems += [Problem(None, None, "", m) for m in check.problems]
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return VerifyReport(len(rows), n_artifacts, tuple(problems), tuple(check.notes), check.status, check.receipt)


def chain_problems(rows: list[tuple], store) -> list[Problem]:
    """Recompute every event's hash from its content and its parent's stored hash.

    An edited event fails its own check; an event whose hash was also rewritten breaks
    its children's checks. Gaps in the sequence show deleted events.
    """

    problems: list[Problem] = []
    hashes: dict[int, str] = {}
    expected_seq = 1
    for row in rows:
        ev, why = read_row(row)
        if ev is None:
            problems.append(Problem(row[0], row[2], str(row[5]), f"the stored row is malformed: {why}"))
            hashes[row[0]] = str(row[9])
            expected_seq = row[2] + 1 if isinstance(row[2], int) else expected_seq + 1
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
                parent_hash = hashes[ev.parent_id]
        if ev.kind not in EVENT_KINDS:
            problems.append(Problem(ev.id, ev.seq, ev.kind, "unknown event kind"))
        recomputed = event_hash(parent_hash, ev.seq, ev.ts, ev.actor, ev.kind, ev.params, ev.metrics, ev.artifacts)
        if recomputed != ev.hash:
            problems.append(Problem(ev.id, ev.seq, ev.kind,
                                    "its content or its parent's hash does not match its recorded hash "
                                    "(changed after it was recorded)"))
        hashes[ev.id] = ev.hash
    try:
        head = store.head
    except WorkspaceError as exc:
        problems.append(Problem(None, None, "", str(exc)))
    else:
        if head is not None and head not in hashes:
            problems.append(Problem(None, None, "", f"the head points at event {head}, which does not exist"))
    return problems


def _artifact_refs(row: tuple) -> list:
    """The artifact references of a row, as far as its artifacts column can be read."""
    try:
        refs = json.loads(row[8])
    except (TypeError, ValueError):
        return []
    return refs if isinstance(refs, list) else []


def orphan_problems(ws: "Workspace", referenced: set[str]) -> list[Problem]:
    """Files under checkpoints/, snapshots/, artifacts/ that no event references."""
    out = []
    for sub in ("checkpoints", "snapshots", "artifacts"):
        folder = ws.path / sub
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            rel = f.relative_to(ws.path).as_posix()
            if not f.is_file() or rel in referenced:
                continue
            why = ("an unfinished write" if rel.endswith(TMP_SUFFIX) else
                   "its event was removed, or a crash came between writing the file and recording it")
            out.append(Problem(None, None, "", f"file {rel} is not referenced by any event ({why})"))
    return out


def integrity(ws: "Workspace", full: bool = True, receipt: dict | None = None) -> Integrity:
    """The seal and a receipt (given, or the one the writer left for this folder) against the log.

    full=False is the cheap check a writer runs when it opens the workspace (no digest of
    the whole log); full=True is `verify`.
    """
    store = ws.store
    state = store.state()
    seq_hashes = store.seq_hashes() if full else None
    digest = log_digest(h for _, h in seq_hashes) if full else None
    out = Integrity()
    out.status, out.problems = seal_problems(store.seal(), ws.key, state, digest)
    if out.status == "absent" and state["n_events"]:
        if store.opened_version >= SEALED_SINCE:
            out.status = "broken"
            out.problems.append("the log's seal is missing (removed outside hill-viz?)")
        else:
            out.notes.append(f"this log predates sealing (schema {store.opened_version}): a cut tail cannot be "
                             "detected until hill-viz writes to it again")
    elif out.status == "unchecked":
        out.notes.append(f"the seal was made with key {store.seal().get('key_id')}, which is not in {key_dir()}: "
                         "it was not checked (only its owner can)")
    _check_receipt(ws, out, receipt, seq_hashes)
    return out


def _check_receipt(ws: "Workspace", out: Integrity, receipt: dict | None, seq_hashes) -> None:
    store = ws.store
    source = "given"
    if receipt is None:
        path = receipt_path(ws.path)
        try:
            if not path.exists():
                return
            receipt = read_receipt(path)
        except (OSError, WorkspaceError) as exc:
            out.notes.append(f"this folder's receipt is unreadable ({exc})")
            return
        source = str(path)
        if receipt["workspace_id"] != store.workspace_id:
            if store.workspace_id is None:
                out.problems.append(f"a sealed workspace was recorded in this folder (receipt {path}), but this "
                                    "log has no identity and no seal: they were removed")
            else:
                out.notes.append(f"the receipt {path} is of an earlier workspace in this folder; not used")
            return
    problems, notes = receipt_signature(receipt, ws.key, store.workspace_id)
    if not problems:
        problems = _receipt_log(store, receipt, seq_hashes)
    out.problems += problems
    out.notes += notes
    out.receipt = {"path": source, "last_seq": receipt["last_seq"]}


def _receipt_log(store, receipt: dict, seq_hashes) -> list[str]:
    seq = receipt["last_seq"]
    if seq_hashes is None:  # cheap: the receipt's last event and the count up to it
        row = store.query("SELECT seq, hash FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT 1", (seq,))
        n = store.query("SELECT COUNT(*) FROM events WHERE seq <= ?", (seq,))[0][0]
        return receipt_log_problems(receipt, n, row[0] if row else None)
    upto = [(s, h) for s, h in seq_hashes if s <= seq]
    return receipt_log_problems(receipt, len(upto), upto[-1] if upto else None, log_digest(h for _, h in upto))

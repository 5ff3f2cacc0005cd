"""Events: what one recorded action holds, how it is hashed, and how a stored row is read back.

Each event's hash covers its content and its parent's hash, so editing any recorded
event breaks the chain from there on. A stored row that cannot be read (invalid JSON,
wrong types) is named, never a traceback: `decode_row` raises a one-line WorkspaceError
and `row_problem` says what is wrong for the readers that go on past it.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hill_viz.errors import WorkspaceError

EVENT_KINDS = (
    "dataset_loaded", "model_built", "projection_fitted", "selection", "edit_added",
    "edit_updated", "edit_removed", "edits_applied", "training_segment", "checkpoint",
    "bias_report", "revert", "annotation", "sharing",
)
COLUMNS = ("id", "parent_id", "seq", "ts", "actor", "kind", "params", "metrics", "artifacts", "hash")


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


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


# -- reading stored rows ---------------------------------------------------------------------------

def read_row(row: tuple) -> tuple[Event | None, str | None]:
    """(the event, None) or (None, what is wrong with the row)."""
    if len(row) != len(COLUMNS):
        return None, f"it has {len(row)} columns, expected {len(COLUMNS)}"
    id_, parent, seq, ts, actor, kind, params, metrics, artifacts, digest = row
    for name, value, types, want in (("id", id_, int, "a whole number"), ("seq", seq, int, "a whole number"),
                                     ("parent_id", parent, (int, type(None)), "a whole number or null"),
                                     ("ts", ts, str, "text"), ("actor", actor, str, "text"),
                                     ("kind", kind, str, "text"), ("hash", digest, str, "text")):
        if not isinstance(value, types) or isinstance(value, bool):
            return None, f"its {name} is {value!r}, not {want}"
    decoded = {}
    for name, text, want in (("params", params, dict), ("metrics", metrics, dict), ("artifacts", artifacts, list)):
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as exc:
            return None, f"its {name} is not valid JSON ({exc})"
        if not isinstance(value, want):
            return None, f"its {name} is a JSON {type(value).__name__}, not a{'n object' if want is dict else ' list'}"
        decoded[name] = value
    if not all(isinstance(a, dict) for a in decoded["artifacts"]):
        return None, "its artifacts are not all {name, path, sha256} objects"
    return Event(id_, parent, seq, ts, actor, kind, decoded["params"], decoded["metrics"],
                 decoded["artifacts"], digest), None


def row_problem(row: tuple) -> str | None:
    """What is wrong with a stored event row, or None if it reads as an Event."""
    return read_row(row)[1]


def decode_row(row: tuple) -> Event:
    """The Event of a stored row; a one-line WorkspaceError naming the row if it is malformed."""
    event, problem = read_row(row)
    if event is None:
        raise WorkspaceError(f"event {row_label(row)} is malformed: {problem}; "
                             "`hill-viz verify` lists every damaged event")
    return event


def row_label(row: tuple) -> str:
    """'7 (seq 7)' for messages, as far as the row can say."""
    id_ = row[0] if row else "?"
    seq = row[2] if len(row) > 2 else "?"
    return f"{id_} (seq {seq})"

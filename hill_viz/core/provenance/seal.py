"""A tail that cannot be cut silently: the signed head (seal) and receipts.

The hash chain alone cannot show that events were removed from the end, or that the head
was moved back, and anyone can recompute unkeyed hashes. So every append also writes a
**seal** in the same transaction: the number of events, the last one (seq, id, hash), the
head (id, hash) and a running digest of every event hash in seq order, signed with HMAC
by a key kept outside the workspace (`$HILL_VIZ_KEY_DIR/head.key`, default
`~/.config/hill-viz/`, created on first use, mode 0600). After each committed event the
writer also leaves a **receipt** (the same fields, signed) outside the workspace, in
`<key dir>/receipts/`, one per workspace folder; `hill-viz verify --receipt FILE` checks
any receipt kept elsewhere. docs/provenance.md states what each one detects.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from hill_viz.core.provenance.events import canonical_json, now_utc
from hill_viz.core.provenance.files import atomic_write, storage_error
from hill_viz.errors import ConfigError, WorkspaceError

KEY_ENV = "HILL_VIZ_KEY_DIR"
KEY_NAME = "head.key"
RECEIPT_FORMAT = "hill-viz-receipt"
SEAL_FIELDS = ("workspace_id", "n_events", "last_seq", "last_id", "last_hash", "head", "head_hash", "digest")


def key_dir() -> Path:
    """$HILL_VIZ_KEY_DIR, else $XDG_CONFIG_HOME/hill-viz, else ~/.config/hill-viz."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME") or "~/.config").expanduser() / "hill-viz"


@dataclass(frozen=True)
class SealKey:
    secret: bytes = field(repr=False)
    path: Path

    @property
    def key_id(self) -> str:
        """A public name for the key (not the key): which key signed a seal or receipt."""
        return hashlib.sha256(b"hill-viz key id:" + self.secret).hexdigest()[:16]

    def mac(self, doc: dict) -> str:
        body = canonical_json({k: v for k, v in doc.items() if k != "mac"})
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()

    def sign(self, doc: dict) -> dict:
        doc = {**doc, "key_id": self.key_id}
        return {**doc, "mac": self.mac(doc)}

    def owns(self, doc: dict) -> bool:
        return doc.get("key_id") == self.key_id

    def signed(self, doc: dict) -> bool:
        return self.owns(doc) and hmac.compare_digest(self.mac(doc), str(doc.get("mac", "")))


def load_key(create: bool = False) -> SealKey | None:
    """The user's signing key; created (0600, in a 0700 folder) when `create` and missing."""
    folder = key_dir()
    path = folder / KEY_NAME
    try:
        present = path.exists()
    except OSError as exc:
        raise storage_error(exc, f"cannot look for the signing key in {folder}", folder) from None
    if not present:
        if not create:
            return None
        _create_key(folder, path)
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise storage_error(exc, f"cannot read the signing key {path}", folder) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"the signing key {path} can be read by others (mode {stat.S_IMODE(mode):o}); "
                          f"run `chmod 600 {path}`")
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise ConfigError(f"the signing key {path} is damaged; restore it from a backup (or move it away "
                          "to start a new one: seals made with the old key can then not be checked)")
    return SealKey(secret, path)


def _create_key(folder: Path, path: Path) -> None:
    tmp = folder / f".{KEY_NAME}.{os.getpid()}.tmp"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
    except OSError as exc:
        raise storage_error(exc, f"cannot create the signing key in {folder} (set {KEY_ENV} to a folder "
                            "only you can write)", folder) from None
    finally:
        tmp.unlink(missing_ok=True)


# -- the digest of a whole log ------------------------------------------------------------------------

def digest_step(digest: str, event_hash: str) -> str:
    return hashlib.sha256(f"{digest}:{event_hash}".encode()).hexdigest()


def log_digest(hashes) -> str:
    """The running digest of event hashes in seq order ('' for no events)."""
    digest = ""
    for h in hashes:
        digest = digest_step(digest, str(h))
    return digest


# -- seals ----------------------------------------------------------------------------------------

def seal_problems(seal, key: SealKey | None, state: dict, digest: str | None = None) -> tuple[str, list[str]]:
    """(status, problems) of a stored seal against the log's `state` (and full `digest` if known).

    status: "ok", "broken", "unchecked" (no key, or another user's key), "absent".
    """
    if seal is None:
        return "absent", []
    if not isinstance(seal, dict) or any(k not in seal for k in SEAL_FIELDS):
        return "broken", ["the log's seal is unreadable (edited outside hill-viz)"]
    if key is None or not key.owns(seal):
        return "unchecked", []
    if not key.signed(seal):
        return "broken", ["the log's seal does not match its signature: it was written without the key "
                          "(forged or edited outside hill-viz)"]
    problems = state_problems(seal, state, "sealed")
    if not problems and digest is not None and digest != seal["digest"]:
        problems.append("the recorded events' hashes differ from the sealed ones: an event was rewritten, "
                        "removed or inserted outside hill-viz")
    return ("broken" if problems else "ok"), problems


def state_problems(signed: dict, state: dict, word: str) -> list[str]:
    """How the log's current `state` differs from a signed one (a seal, or a receipt's word)."""
    if signed["workspace_id"] != state["workspace_id"]:
        return [f"it was {word} for workspace {signed['workspace_id']}, this is {state['workspace_id']}"]
    out = []
    n, seq = state["n_events"], state["last_seq"]
    if (seq, n) != (signed["last_seq"], signed["n_events"]):
        if seq < signed["last_seq"] or n < signed["n_events"]:
            out.append(f"the log ends at seq {seq} with {n} events but was {word} at seq {signed['last_seq']} "
                       f"with {signed['n_events']}: events were removed (the tail was cut)")
        else:
            out.append(f"the log ends at seq {seq} with {n} events but was {word} at seq {signed['last_seq']} "
                       f"with {signed['n_events']}: events were added without the key")
    elif state["last_hash"] != signed["last_hash"]:
        out.append(f"the last event (seq {seq}) is not the one {word}: it was rewritten")
    if state["head"] != signed["head"]:
        out.append(f"the head is event {state['head']} but was {word} at event {signed['head']}: "
                   "it was moved outside hill-viz")
    elif state["head_hash"] != signed["head_hash"]:
        out.append(f"the head event {state['head']} is not the one {word}: it was rewritten")
    return out


# -- receipts -------------------------------------------------------------------------------------

def receipt_path(workspace: str | os.PathLike) -> Path:
    """Where the writer leaves the receipt of the workspace folder at this path."""
    name = hashlib.sha256(str(Path(workspace).resolve()).encode()).hexdigest()[:32]
    return key_dir() / "receipts" / f"{name}.json"


def make_receipt(workspace: str | os.PathLike, seal: dict, key: SealKey | None) -> dict:
    doc = {"format": RECEIPT_FORMAT, "workspace": str(Path(workspace).resolve()), "ts": now_utc(),
           **{k: seal[k] for k in SEAL_FIELDS}}
    return key.sign(doc) if key is not None else doc


def write_receipt(receipt: dict, path: str | os.PathLike, durable: bool = True) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, f"cannot write the receipt {path}", path.parent) from None
    return atomic_write(path, lambda fh: fh.write(json.dumps(receipt, indent=1).encode()), durable)


def read_receipt(path: str | os.PathLike) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise WorkspaceError(f"cannot read the receipt {path}: {exc.strerror}; check the path") from None
    except ValueError:
        raise WorkspaceError(f"{path} is not a hill-viz receipt (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != RECEIPT_FORMAT or any(k not in doc for k in SEAL_FIELDS):
        raise WorkspaceError(f"{path} is not a hill-viz receipt (format {RECEIPT_FORMAT!r} with "
                             f"{', '.join(SEAL_FIELDS)})")
    return doc


def receipt_signature(receipt: dict, key: SealKey | None, workspace_id: str | None) -> tuple[list[str], list[str]]:
    """(problems, notes) about the receipt itself: its signature, and whose workspace it names."""
    if key is not None and key.owns(receipt):
        if not key.signed(receipt):
            return ["the receipt does not match its signature (edited)"], []
        notes = []
    else:
        notes = ["the receipt's signature was not checked (signed by another key, or none here)"]
    if receipt["workspace_id"] != workspace_id:
        return [f"the receipt is for workspace {receipt['workspace_id']}, this is {workspace_id}"], notes
    return [], notes


def receipt_log_problems(receipt: dict, n_upto: int, last: tuple[int, str] | None,
                         digest_upto: str | None = None) -> list[str]:
    """Does the log still hold, unchanged, every event the receipt vouches for?

    `n_upto`: events with seq <= the receipt's; `last`: (seq, hash) of the last of them;
    `digest_upto`: their running digest, when the whole log was read.
    """
    seq, h = last or (0, "")
    if seq != receipt["last_seq"] or n_upto != receipt["n_events"]:
        return [f"the receipt vouches for {receipt['n_events']} events up to seq {receipt['last_seq']}, "
                f"the log holds {n_upto} up to seq {seq}: events were removed (the tail was cut, or the log "
                "was rolled back)"]
    if h != receipt["last_hash"] or (digest_upto is not None and digest_upto != receipt["digest"]):
        return [f"the log up to seq {receipt['last_seq']} differs from the receipt: events were rewritten"]
    return []

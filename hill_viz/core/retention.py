"""Keeping a folder of workspaces within bounds: a disk quota, and retention of old workspaces.

- `DiskQuota(root, max_bytes)`: the bytes under `root` (workspaces and the dataset cache),
  re-measured at most every `DISK_CHECK_S`; `check(what)` refuses, in one line, work that
  would write more once the quota is used up.
- `prune_workspaces(root, retain_days)`: removes whole workspaces nobody has opened or
  changed for `retain_days` days. A workspace open for writing anywhere holds its writer
  lock and is skipped; so is any folder in `keep` (pages reviewing it read-only). The
  removal is taken under the workspace's own writer lock, so nobody can open it meanwhile,
  and its receipt (kept outside the folder) goes with it, so a new workspace at the same
  path is not taken for a rolled-back one. Checkpoints are never pruned one by one: revert
  and `verify` need every recorded artifact, so a workspace is kept whole or removed whole.
- `workspace_disk(folder)`: a workspace's bytes, and how many of them are checkpoints (what
  a long-lived workspace grows by, one per trained epoch), for the operator view and
  `hill-viz workspaces`; `DiskQuota.by_workspace()` gives them for every workspace, measured
  with the total.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hill_viz.core.provenance import DB_NAME, WriterLock, receipt_path
from hill_viz.errors import ConfigError, WorkspaceLockedError

__all__ = ["DISK_CHECK_S", "DiskQuota", "PruneReport", "WorkspaceDisk", "folder_bytes", "last_change",
           "prune_workspaces", "workspace_disk", "workspace_folders"]

DISK_CHECK_S = 30.0  # disk use is re-measured at most this often
DAY_S = 86_400.0


def _files(root: Path):
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                yield os.lstat(os.path.join(folder, name))
            except OSError:  # removed while we walked
                pass


def folder_bytes(root: str | os.PathLike) -> int:
    """Bytes of every file under `root` (links not followed)."""
    return sum(st.st_size for st in _files(Path(root)))


def last_change(folder: str | os.PathLike) -> float:
    """When anything in the folder was last written (its log, an artifact, or its lock by an open)."""
    return max((st.st_mtime for st in _files(Path(folder))), default=os.lstat(folder).st_mtime)


@dataclass(frozen=True)
class WorkspaceDisk:
    """What one workspace holds on disk."""

    name: str
    bytes: int
    checkpoint_bytes: int
    n_checkpoints: int

    def to_dict(self) -> dict:
        return asdict(self)


def workspace_disk(folder: str | os.PathLike) -> WorkspaceDisk:
    """The bytes under a workspace folder, and those of its checkpoints (`checkpoints/*.pt`)."""
    folder = Path(folder)
    checkpoints = [st.st_size for st in _files(folder / "checkpoints")]
    return WorkspaceDisk(folder.name, folder_bytes(folder), sum(checkpoints), len(checkpoints))


def workspace_folders(root: str | os.PathLike) -> list[Path]:
    """The workspaces directly under `root` (folders holding a log), by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / DB_NAME).is_file())


class DiskQuota:
    """At most `max_bytes` under `root` (None: only measured); measured lazily, shared by a server's pages."""

    def __init__(self, root: str | os.PathLike, max_bytes: int | None):
        if max_bytes is not None and max_bytes <= 0:
            raise ConfigError(f"a disk quota must be positive, got {max_bytes} bytes")
        self.root, self.max_bytes = Path(root), max_bytes
        self._measured = (-float("inf"), 0)  # (monotonic time, bytes)
        self._per_workspace: tuple[float, list[WorkspaceDisk]] = (-float("inf"), [])
        self._lock = threading.Lock()

    def used(self, fresh: bool = False) -> int:
        with self._lock:
            at, used = self._measured
            if fresh or time.monotonic() - at > DISK_CHECK_S:
                used = folder_bytes(self.root)
                self._measured = (time.monotonic(), used)
            return used

    def by_workspace(self, fresh: bool = False) -> list[WorkspaceDisk]:
        """Every workspace's disk use (and its checkpoints'), largest first; re-measured as `used` is."""
        with self._lock:
            at, rows = self._per_workspace
            if fresh or time.monotonic() - at > DISK_CHECK_S:
                rows = sorted((workspace_disk(f) for f in workspace_folders(self.root)), key=lambda r: -r.bytes)
                self._per_workspace = (time.monotonic(), rows)
            return rows

    @property
    def full(self) -> bool:
        return self.max_bytes is not None and self.used() >= self.max_bytes

    def check(self, what: str = "this") -> None:
        """A one-line ConfigError when the quota is used up (nothing recorded is touched)."""
        if self.full:
            raise ConfigError(f"cannot start {what}: this server's workspaces use {self.used() / 2**30:.2f} GB of "
                              f"their {self.max_bytes / 2**30:.2f} GB disk quota; ask its operator to free space "
                              "(`hill-viz prune`)")


@dataclass
class PruneReport:
    """What a prune did (or, with dry_run, would do)."""

    root: str
    retain_days: float
    dry_run: bool = False
    removed: list[dict] = field(default_factory=list)   # {"name", "bytes", "last_change"}
    kept_open: list[str] = field(default_factory=list)  # old enough, but open: skipped
    kept: int = 0                                        # younger than retain_days

    @property
    def freed_bytes(self) -> int:
        return sum(r["bytes"] for r in self.removed)

    def to_dict(self) -> dict:
        return {**asdict(self), "freed_bytes": self.freed_bytes}

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        line = (f"{verb} {len(self.removed)} workspace(s) not opened or changed for {self.retain_days:g} days "
                f"({self.freed_bytes / 2**20:.1f} MB) from {self.root}; kept {self.kept}")
        return line + (f"; skipped {len(self.kept_open)} open" if self.kept_open else "")


def prune_workspaces(root: str | os.PathLike, retain_days: float, keep: tuple[str | os.PathLike, ...] = (),
                     dry_run: bool = False, now: float | None = None) -> PruneReport:
    """Remove the workspaces under `root` unchanged for `retain_days` days and not open; the report."""
    if not retain_days > 0:
        raise ConfigError(f"retention must be a positive number of days, got {retain_days}")
    now = time.time() if now is None else now
    keep_real = {Path(k).resolve() for k in keep}
    report = PruneReport(root=str(root), retain_days=retain_days, dry_run=dry_run)
    for folder in workspace_folders(root):
        changed = last_change(folder)
        if now - changed < retain_days * DAY_S:
            report.kept += 1
            continue
        if folder.resolve() in keep_real:
            report.kept_open.append(folder.name)
            continue
        row = {"name": folder.name, "bytes": folder_bytes(folder),
               "last_change": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(changed))}
        if dry_run:
            report.removed.append(row)
        elif _remove(folder):
            report.removed.append(row)
        else:
            report.kept_open.append(folder.name)
    return report


def _remove(folder: Path) -> bool:
    """Remove a workspace under its writer lock; False when somebody has it open for writing."""
    try:
        lock = WriterLock(folder)
    except WorkspaceLockedError:
        return False
    try:
        receipt = receipt_path(folder)
        shutil.rmtree(folder)
        receipt.unlink(missing_ok=True)
    finally:
        lock.release()
    return True

"""Who may touch what: workspace ownership and sharing, data roots, and a served session's limits.

Plain data and checks, no UI: the Session applies them (so a page cannot get around
them), and `hill-viz serve` builds them from its options.

- `may_edit(user, workspace, admins)`: the owner, the editors the owner shared the
  workspace with, and admins may change it; everybody else reviews it read-only. A
  workspace without an owner (local use, no sign-in) is open to whoever opens it.
- `share(workspace, user, by, admins, revoke=False)`: the owner (or an admin) lets `user`
  edit it too, or no longer. Each change is a `sharing` event in the workspace's log (who
  changed it, for whom, the editors after it); the latest one says who the editors are
  (`editors_of`), on any branch: sharing is not part of the work, a revert does not undo it.
- `DataRoots`: the folders whose files a served session may read; every other path, and
  every `../` or symlink that leads out of them, gets one neutral message that does not
  say whether the path exists.
- `Limits`: caps on generated `n`, on epochs per call and on uploads, the data roots, and
  the disk quota of the server's workspaces (`hill_viz.core.retention.DiskQuota`).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hill_viz.errors import ConfigError, DataError, WorkspaceError

if TYPE_CHECKING:
    from hill_viz.core.retention import DiskQuota

__all__ = ["SHARING_EVENT", "DataRoots", "Limits", "edit_role", "editors_in", "editors_of", "may_edit", "may_share",
           "owner_of", "share"]

SHARING_EVENT = "sharing"  # the event kind that records a change of the editors
USER_MAX = 200             # characters in a user name
LATEST_SHARING_SQL = f"SELECT params FROM events WHERE kind='{SHARING_EVENT}' ORDER BY seq DESC LIMIT 1"


# -- ownership ---------------------------------------------------------------------------------
def owner_of(workspace) -> str | None:
    """The workspace's owner: its recorded owner, else the author of its first event (None: nobody)."""
    owner = getattr(workspace, "owner", None)
    if owner:
        return str(owner)
    first = workspace.store._one("SELECT actor FROM events ORDER BY seq LIMIT 1")
    return first[0] if first else None


def editors_in(params) -> tuple[str, ...]:
    """The editors a `sharing` event's params (a dict, or its JSON text) name; () if unreadable."""
    try:
        data = json.loads(params) if isinstance(params, (str, bytes)) else params
        return tuple(str(u) for u in data.get("editors", []))
    except (ValueError, AttributeError, TypeError):
        return ()


def editors_of(workspace) -> tuple[str, ...]:
    """Users the owner shared the workspace with for editing (its latest `sharing` event's editors)."""
    rows = workspace.store.query(LATEST_SHARING_SQL)
    return editors_in(rows[0][0]) if rows else ()


def may_share(user: str | None, workspace, admins: Iterable[str] = ()) -> bool:
    """Whether `user` may change who edits the workspace: its owner or an admin (anyone, if it has no owner)."""
    return _may_share(user, owner_of(workspace), admins)


def _may_share(user: str | None, owner: str | None, admins: Iterable[str]) -> bool:
    return owner is None or (user is not None and (user == owner or user in set(admins)))


def share(workspace, user: str, by: str | None, admins: Iterable[str] = (), revoke: bool = False,
          record: Callable[[str, dict], object] | None = None) -> tuple[str, ...]:
    """Let `user` edit the workspace too (`revoke`: no longer); only its owner or an admin may. The editors after.

    The change is a `sharing` event by `by`, recorded through `record(kind, params)` (a
    Session's recorder), else appended to the workspace's log directly. Sharing with an
    editor again records nothing.
    """
    owner = owner_of(workspace)
    if not _may_share(by, owner, admins):
        raise ConfigError(f"only {owner}, who owns this workspace, can share it for editing")
    user = _user_name(user)
    editors = editors_of(workspace)
    if revoke:
        if user not in editors:
            raise ConfigError(f"{user} is not among the editors of this workspace ({', '.join(editors) or 'none'}); "
                              "there is nothing to stop sharing")
        after = tuple(e for e in editors if e != user)
    elif user == owner:
        raise ConfigError(f"{user} owns this workspace and may edit it already; name someone else")
    elif user in editors:
        return editors
    else:
        after = (*editors, user)
    if getattr(workspace, "read_only", False):
        raise WorkspaceError("cannot change who may edit this workspace: it is open read-only here (another "
                             "process writes it); try again once it is closed there")
    params = {"action": "revoke" if revoke else "share", "user": user, "editors": list(after)}
    if record is not None:
        record(SHARING_EVENT, params)
    else:
        from hill_viz.core.workspaces import index_event  # the list's row follows (workspaces imports us)

        index_event(workspace, workspace.store.append(SHARING_EVENT, params, actor=by))
    return after


def _user_name(user) -> str:
    user = str(user or "").strip()
    if not user:
        raise ConfigError("name the user to share the workspace with (their sign-in name)")
    if len(user) > USER_MAX or any(not c.isprintable() for c in user):
        raise ConfigError(f"{user[:40]!r}… is not a user name: give a sign-in name on one line, at most "
                          f"{USER_MAX} characters")
    return user


def edit_role(user: str | None, owner: str | None, editors: Iterable[str] = (), admins: Iterable[str] = ()) -> str:
    """Why `user` may change a workspace of `owner`: 'owner', 'editor' (shared with them), 'admin',
    'anyone' (it has no owner); '' when they may only review it."""
    if not owner:
        return "anyone"
    if user == owner:
        return "owner"
    if user is not None and user in set(editors):
        return "editor"
    if user is not None and user in set(admins):
        return "admin"
    return ""


def may_edit(user: str | None, workspace, admins: Iterable[str] = ()) -> tuple[bool, str]:
    """(True, "") when `user` may change the workspace; else (False, why, in one line)."""
    owner = owner_of(workspace)
    if edit_role(user, owner, editors_of(workspace) if owner and user != owner else (), admins):
        return True, ""
    return False, (f"this workspace belongs to {owner}; you can review it read-only "
                   f"unless {owner} shares it with you for editing")


# -- data roots ---------------------------------------------------------------------------------
class DataRoots:
    """The folders a served session may read files from (after resolving symlinks)."""

    def __init__(self, roots: Sequence[str | os.PathLike], files: Sequence[str | os.PathLike] = ()):
        self.roots = tuple(Path(r).expanduser().resolve() for r in roots)
        self.files = tuple(Path(f).expanduser().resolve() for f in files)  # single files offered too
        missing = [str(r) for r in self.roots if not r.is_dir()]
        if missing:
            raise ConfigError(f"data root {missing[0]} is not a folder; give existing folders to --data-root")

    def __bool__(self) -> bool:
        """True when a page may type paths (there are folders to read from)."""
        return bool(self.roots)

    def resolve(self, path: str | os.PathLike, also: Sequence[Path] = ()) -> Path:
        """`path` resolved, if it is a file or folder under a root (or under one of `also`); else one neutral
        DataError.

        A relative path is taken from the first root. The message is the same whether the
        path is outside, missing or a link out of a root.
        """
        roots = (*self.roots, *(Path(a).resolve() for a in also))
        text = os.fspath(path)
        candidate = Path(text).expanduser()
        if not text or "\x00" in text or not (candidate.is_absolute() or roots):
            raise self.refused(text)
        if not candidate.is_absolute():
            candidate = roots[0] / candidate
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise self.refused(text) from None
        inside = real in self.files or any(r in real.parents for r in roots)
        if not inside or not (real.is_file() or real.is_dir()):  # a folder: a Parquet dataset
            raise self.refused(text)
        return real

    def refused(self, text: str) -> DataError:
        where = ", ".join(str(r) for r in self.roots) or "none configured: upload the file instead"
        return DataError(f"cannot open {text!r}: this server reads only dataset files under its data roots "
                         f"({where})")


# -- limits of a served session ----------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """What one session may ask of the server. None: no limit (local use)."""

    max_n: int | None = None            # generated samples / subset size
    max_epochs: int | None = None       # epochs per train or apply call
    upload_max_bytes: int | None = None
    data_roots: DataRoots | None = field(default=None, compare=False)  # None: any path (local use)
    disk: "DiskQuota | None" = field(default=None, compare=False)      # None: no quota (local use)

    def check_n(self, n: int | None, what: str = "the dataset") -> None:
        if self.max_n is not None and n is not None and n > self.max_n:
            raise ConfigError(f"{what} with n={n:,} is above this server's limit of {self.max_n:,} samples; "
                              "choose a smaller n")

    def check_epochs(self, epochs: int) -> None:
        if self.max_epochs is not None and epochs > self.max_epochs:
            raise ConfigError(f"{epochs} epochs is above this server's limit of {self.max_epochs} per click; "
                              "train in several steps")

    def check_disk(self, what: str = "this") -> None:
        """Refuse work that writes to the workspaces once their disk quota is used up."""
        if self.disk is not None:
            self.disk.check(what)

    def check_upload(self, size: int, name: str) -> None:
        self.check_disk(f"the upload of {name}")
        if self.upload_max_bytes is not None and size > self.upload_max_bytes:
            raise DataError(f"{name} is too large to upload ({size / 2**20:.1f} MB); this server accepts up to "
                            f"{self.upload_max_bytes / 2**20:.0f} MB")

    def data_path(self, path: str | os.PathLike, own: Sequence[Path] = ()) -> Path:
        """The file a session may read at `path` (anywhere without data roots, else under them or `own`)."""
        if self.data_roots is None:
            return Path(path)
        return self.data_roots.resolve(path, also=own)

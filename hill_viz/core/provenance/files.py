"""Files in a workspace: hashing, writing whole or not at all, and saying why a write failed.

`atomic_write` writes to a temporary file beside the target, fsyncs and renames, and on
any failure removes the temporary file: a reader sees the old file or the new one, and
a full disk leaves nothing behind. `storage_error` turns an OSError or a SQLite error
into one line that names the real cause (read-only folder, disk full, file size limit).
"""
from __future__ import annotations

import errno
import hashlib
import os
import resource
import shutil
import sqlite3
from pathlib import Path
from typing import BinaryIO, Callable

from hill_viz.errors import StorageError

_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
TMP_SUFFIX = ".tmp"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None], durable: bool = True) -> Path:
    """Call `write(fh)` on a temporary file, fsync it, rename it to `path`; all or nothing."""
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        cause = os_error_in(exc)
        if cause is not None:
            raise storage_error(cause, f"cannot write {path}", path.parent) from None
        raise
    return path


def os_error_in(exc: BaseException | None) -> OSError | None:
    """The OSError behind an exception (writers such as torch.save re-raise it as a RuntimeError)."""
    for _ in range(8):
        if exc is None or isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def storage_error(exc: BaseException, what: str, where: str | os.PathLike | None = None) -> StorageError:
    """One line: what could not be done, the real cause, and what to do about it."""
    if isinstance(exc, StorageError):
        return exc
    folder = Path(where) if where is not None else None
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
        cause = f"{exc} ({name})"
        full = name.startswith(("SQLITE_FULL", "SQLITE_IOERR"))
        read_only = name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"))
    elif isinstance(exc, OSError):
        code = exc.errno
        cause = f"{exc.strerror or exc}" + (f" ({errno.errorcode[code]})" if code in errno.errorcode else "")
        full, read_only = code in _FULL, code in _READ_ONLY
    else:
        text = str(exc).strip().splitlines()
        cause = text[0] if text else type(exc).__name__
        full, read_only = False, False
    hint = ""
    if full:
        hint = _space_hint(folder)
    elif read_only:
        hint = "; the folder is read-only for you: open the workspace read-only to review it, or use one you can write"
    return StorageError(f"{what}: {cause}{hint}")


def _space_hint(folder: Path | None) -> str:
    """Why a write ran out of room: the file size limit (`ulimit -f`) or the free space."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    parts = []
    if limit != resource.RLIM_INFINITY:
        parts.append(f"this process may write files of at most {limit} bytes (`ulimit -f`)")
    if folder is not None:
        try:
            parts.append(f"{shutil.disk_usage(_existing(folder)).free // 2**20} MiB free on its disk")
        except OSError:
            pass
    return ("; " + ", ".join(parts) if parts else "") + "; free some space or raise the limit, then go on: " \
        "everything recorded so far is kept"


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path

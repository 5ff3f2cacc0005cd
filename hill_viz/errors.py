"""Errors a user can cause. Each message names what was wrong and how to fix it."""


class HillError(Exception):
    """Base class: a mistake in the user's input, shown as one line (CLI exit 2, UI notification)."""


class DataError(HillError):
    """A dataset file or dataset option is invalid."""


class EditError(HillError):
    """An edit or selector is invalid (unknown op, NaN parameter, empty selection)."""


class ConfigError(HillError):
    """A setting is out of range or unknown."""


class WorkspaceError(HillError):
    """A workspace folder is missing, unreadable, or inconsistent."""


class StateError(HillError):
    """An action was asked for at the wrong time (e.g. apply with no pending edits)."""


class ReadOnlyError(HillError):
    """A change was asked of a Session opened read-only (for review, or while someone else edits it)."""


class WorkspaceLockedError(WorkspaceError):
    """Another process (or Session) is writing to the workspace; `holder` says who."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = holder or {}


class StorageError(WorkspaceError):
    """The disk refused a write (read-only folder, disk full, file size limit, SQLite failure)."""


class IntegrityError(WorkspaceError):
    """A recorded file or the log itself no longer matches what was recorded (changed outside hill-viz)."""


class TrainingError(HillError):
    """Training stopped because it could not go on safely (e.g. the loss became NaN or infinite)."""

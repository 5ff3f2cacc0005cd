"""The Session: one person's work on one workspace, driven by the app, the CLI and the tests.

    session.py    state (param parameters the UI watches), data/model/training verbs
    editing.py    select, edit and bias-check verbs (a mixin of Session)
    reopen.py     open, reload, revert, annotate (a mixin of Session)
    access.py     the read-only guard (`@mutating`) and opening a workspace someone else writes
    registry.py   OpenWorkspaces: a server's open workspaces, one editing seat each
    recording.py  events, checkpoints, snapshots and edit records in the workspace
    worker.py     the training thread, its live queue, pause and cancel
    bias_job.py   the bias reports of pending and applied edits
    pending.py    PendingEdit and lookups in the pending list
"""
from hill_viz.session.pending import PendingEdit
from hill_viz.session.session import Session

__all__ = ["PendingEdit", "Session"]

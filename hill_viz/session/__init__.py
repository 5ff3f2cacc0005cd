"""The Session: one person's work on one workspace, driven by the app, the CLI and the tests.

    session.py    state (param parameters the UI watches) and the public verbs
    recording.py  events, checkpoints, snapshots and edit records in the workspace
    worker.py     the training thread, its live queue, pause and cancel
    bias_job.py   the bias reports of pending and applied edits
    pending.py    PendingEdit and lookups in the pending list
"""
from hill_viz.session.pending import PendingEdit
from hill_viz.session.session import Session

__all__ = ["PendingEdit", "Session"]

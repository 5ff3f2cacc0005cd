"""The training worker: runs the Session's training segments in a thread it owns.

A `Segment` says what to train and what to do around it: `before` runs first in the
worker (the predicted bias report), `on_epoch` after each epoch (checkpoint, live frame),
`finish` after the fit with the number of epochs done (records the segment). The worker
publishes progress in the Session's `status` and `progress` parameters and in a queue of
live records the UI drains on its own loop (`drain`).

Cancel is the trainer's own flag, `trainer.should_stop`, which its loop checks between
steps. Pause is a gate: while it is closed the loop waits at its next progress report
(every `TrainConfig.progress_every` steps) until `unpause` or `cancel` opens it again.
"""
from __future__ import annotations

import collections
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from hill_viz.core.data import Dataset
from hill_viz.core.teacher import Teacher
from hill_viz.core.training import Callback, Trainer
from hill_viz.errors import HillError, StateError, TrainingError

if TYPE_CHECKING:
    from hill_viz.session.session import Session

__all__ = ["LIVE_QUEUE_MAX", "Segment", "TrainingWorker", "set_training_niceness"]

LIVE_QUEUE_MAX = 100_000  # live records kept for the UI to drain; the oldest drop first
log = logging.getLogger(__name__)
_niceness = 0  # added to a training thread's niceness (a server's pages come first); 0: unchanged


def set_training_niceness(niceness: int) -> None:
    """Run every later training thread this much nicer (Linux: a thread's niceness is its own),
    so the OS gives a server's event loop the cores first. Once, at server start."""
    global _niceness
    _niceness = max(0, int(niceness))


def _lower_priority() -> None:
    if _niceness and hasattr(os, "setpriority"):
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + _niceness))
        except OSError:  # not allowed here: train at the usual priority
            pass


@dataclass
class Segment:
    """One training run of whole epochs, and the Session's hooks around it."""

    trainer: Trainer
    dataset: Dataset
    epochs: int
    teachers: list[Teacher]
    finish: Callable[..., None]                         # (epochs done, stopped=why or None) -> record it
    on_epoch: Callable[[dict], None] = lambda metrics: None
    before: Callable[[], None] | None = None
    callbacks: list[Callback] = field(default_factory=list)
    stream: object = None                               # the epochs' batches when training streams (Trainer.fit)


class TrainingWorker:
    """One training segment at a time for one Session: thread, live queue, pause and cancel."""

    def __init__(self, session: "Session"):
        self._session = session
        self._thread: threading.Thread | None = None
        self._live: collections.deque = collections.deque(maxlen=LIVE_QUEUE_MAX)  # worker -> UI
        self._open = threading.Event()   # the pause gate: set while training may go on
        self._open.set()
        self._control = threading.Lock()  # pause, unpause and cancel decide one at a time
        self._cancelled = False           # cancel asked before the fit began (fit clears should_stop)
        self._trainer: Trainer | None = None

    # -- running -----------------------------------------------------------------------------
    def start(self, segment: Segment, wait: bool) -> None:
        """Mark the Session training and run the segment in a new thread (here if wait=True)."""
        self._open.set()
        self._cancelled = False
        self._trainer = segment.trainer
        self._session.last_error = ""  # one at a time: see Session._set
        self._session.status = "training" if self._session.training_queue is None else "queued"
        if wait:
            self._run(segment)
            return
        self._thread = threading.Thread(target=self._run_nicely, args=(segment,), name="hill-trainer", daemon=True)
        self._thread.start()

    def _run_nicely(self, segment: Segment) -> None:
        _lower_priority()
        self._run(segment)

    def _run(self, segment: Segment) -> None:
        s = self._session
        start = segment.trainer.epoch
        ticket = None
        try:
            ticket = self._take_slot()
            if segment.before is not None:
                segment.before()
            segment.trainer.fit(segment.dataset, segment.epochs, segment.teachers,
                                callbacks=[_Progress(self, segment), *segment.callbacks], stream=segment.stream)
            segment.finish(segment.trainer.epoch - start)
        except TrainingError as exc:  # rolled back to the last good epoch: record the segment as it ended
            self.report_error(str(exc))
            segment.finish(segment.trainer.epoch - start, stopped=str(exc))
            if threading.current_thread() is threading.main_thread():
                raise
        except HillError as exc:
            self.report_error(str(exc))
            if threading.current_thread() is threading.main_thread():
                raise
        except Exception as exc:  # a bug, not a user mistake: keep the session usable and say so
            log.exception("training failed")
            self.report_error(f"training stopped by an internal error ({type(exc).__name__}: {exc}); "
                              "everything recorded so far is kept")
            if threading.current_thread() is threading.main_thread():
                raise
        finally:
            if s.training_queue is not None:
                s.training_queue.release(ticket)
            s.progress = 1.0 if s.status != "empty" else 0.0
            s.status = "ready"

    def _take_slot(self) -> int | None:
        """Wait in the server's training queue (if any) for a slot; None when there is no queue or
        the training was cancelled while waiting (the fit then stops at its first check)."""
        s = self._session
        if s.training_queue is None:
            return None
        ticket = s.training_queue.acquire(str(s.actor or ""), lambda place: setattr(s, "queue_position", place),
                                          self._stopping)
        s.status = "training"
        return ticket

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running segment's thread ends (none running: return at once)."""
        if self._thread is not None:
            self._thread.join(timeout)

    # -- control (any thread) ------------------------------------------------------------------
    def pause(self) -> None:
        with self._control:
            if self._session.status != "training" or self._stopping():
                raise StateError("nothing is training; start training before pausing")
            self._open.clear()

    def unpause(self) -> None:
        with self._control:
            if self._session.status not in ("paused", "training"):
                raise StateError("training is not paused")
            self._open.set()

    def cancel(self) -> None:
        with self._control:
            if self._trainer is not None and self._session.status in ("queued", "training", "paused"):
                self._cancelled = True
                self._trainer.cancel()
                self._open.set()

    def _stopping(self) -> bool:
        return self._cancelled or (self._trainer is not None and self._trainer.should_stop)

    def _hold_if_paused(self) -> None:
        """Called by the loop between steps: wait here while the gate is closed."""
        if self._open.is_set() or self._stopping():
            return
        self._session.status = "paused"
        self._open.wait()  # opened by unpause or cancel
        self._session.status = "training"

    # -- live records -----------------------------------------------------------------------------
    def publish(self, record: dict) -> None:
        self._live.append(record)

    def report_error(self, message: str) -> None:
        """A background job failed: the Session's `last_error` and an error record say so."""
        self._session.last_error = message
        self._live.append({"kind": "error", "message": message})

    def drain(self) -> list[dict]:
        """Live records since the last call, oldest first (thread-safe; one consumer)."""
        out = []
        while True:
            try:
                out.append(self._live.popleft())
            except IndexError:
                return out


class _Progress(Callback):
    """The worker's hooks in the trainer's loop: progress, live records, the pause gate."""

    def __init__(self, worker: TrainingWorker, segment: Segment):
        self.worker = worker
        self.segment = segment
        self.steps_per_epoch = segment.trainer.steps_per_epoch(segment.dataset, segment.stream)

    def on_fit_start(self, trainer, total_steps):
        self.worker._session.progress = 0.0
        if self.worker._cancelled:  # cancelled before the loop began: stop at its first check
            trainer.should_stop = True

    def on_batch_end(self, trainer, step, total_steps, loss):
        self.worker._session.progress = step / max(total_steps, 1)
        within = ((step - 1) % self.steps_per_epoch + 1) / self.steps_per_epoch  # fits are whole epochs
        self.worker.publish({"kind": "batch", "epoch": trainer.epoch + within, "loss": float(loss)})
        self.worker._hold_if_paused()

    def on_epoch_end(self, trainer, epoch, metrics):
        self.segment.on_epoch(metrics)
        self.worker.publish({"kind": "epoch", **metrics})

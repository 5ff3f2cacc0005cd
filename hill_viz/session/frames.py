"""The latent frame: building it from the model, pacing the rebuilds, telling frames apart.

Each rebuild redraws every view, so while training the frame is rebuilt at most every
`interval` seconds, and at most `1/duty` of the time goes to rebuilding (large datasets).
A rebuilt frame is a new object: "the same view" is an identity check (`frame_ref`).
"""
from __future__ import annotations

import time
import weakref
from typing import Callable

import numpy as np

from hill_viz.core.data import Dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel
from hill_viz.core.projection import Projection
from hill_viz.errors import HillError

__all__ = ["FrameClock", "RowsCache", "frame_ref"]

_NO_ROWS = np.empty(0, dtype=np.int64)


class FrameClock:
    """Builds frames, and remembers which frame was built when, at which step, at what cost."""

    def __init__(self):
        self.frame: LatentFrame | None = None  # the last frame built from a model
        self.step: int | None = None           # the trainer's step it shows
        self.built_at = 0.0                    # time.monotonic() when it was built
        self.cost = 0.0                        # seconds its build took

    def build(self, model: LatentModel, projection: Projection, dataset: Dataset, step: int | None) -> LatentFrame:
        started = time.monotonic()
        frame = LatentFrame.build(model, projection, dataset)
        now = time.monotonic()
        self.frame, self.step, self.built_at, self.cost = frame, step, now, now - started
        return frame

    def took_also(self, seconds: float) -> None:
        """The rebuild also took `seconds` elsewhere (the whole folder's latents on Dask): pace by both."""
        self.cost += seconds
        self.built_at = time.monotonic()

    def due(self, interval: float, duty: float) -> bool:
        """True when a live rebuild may happen now."""
        return time.monotonic() - self.built_at >= max(interval, duty * self.cost)

    def shows(self, frame: LatentFrame | None, step: int | None) -> bool:
        """True if `frame` is the last one built and shows the model at `step`."""
        return frame is not None and frame is self.frame and step is not None and step == self.step


def frame_ref(frame: LatentFrame | None) -> Callable[[], LatentFrame | None]:
    """A weak reference to `frame` (calling it gives the frame, or None once it is gone).

    "Drawn on this frame?" is an identity check; holding old frames strongly would keep
    10^7-point arrays alive after the view moved on.
    """
    return weakref.ref(frame) if frame is not None else _no_frame


def _no_frame() -> None:
    return None


class RowsCache:
    """Rows of a selection's ids in a frame, looked up once per (frame, selection)."""

    def __init__(self):
        self._last: tuple = (_no_frame, None, _NO_ROWS)

    def rows(self, frame: LatentFrame | None, ids: np.ndarray) -> np.ndarray:
        """Row positions of `ids` in `frame`; empty when there is none or the frame lacks them."""
        ref, last_ids, rows = self._last
        if frame is not None and ref() is frame and last_ids is ids:
            return rows
        rows = _NO_ROWS
        if frame is not None and len(ids):
            try:
                rows = frame.rows_of_ids(ids)
            except HillError:  # a selection made on another dataset
                pass
        self._last = (frame_ref(frame), ids, rows)
        return rows

"""Building the latent frame from the model, and pacing the rebuilds while training.

Each rebuild redraws every view, so while training the frame is rebuilt at most every
`interval` seconds, and at most `1/duty` of the time goes to rebuilding (large datasets).
"""
from __future__ import annotations

import time

from hill_viz.core.data import Dataset
from hill_viz.core.frame import LatentFrame
from hill_viz.core.model import LatentModel
from hill_viz.core.projection import Projection

__all__ = ["FrameClock"]


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

    def due(self, interval: float, duty: float) -> bool:
        """True when a live rebuild may happen now."""
        return time.monotonic() - self.built_at >= max(interval, duty * self.cost)

    def shows(self, frame: LatentFrame | None, step: int | None) -> bool:
        """True if `frame` is the last one built and shows the model at `step`."""
        return frame is not None and frame is self.frame and step is not None and step == self.step

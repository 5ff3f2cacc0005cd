"""The Session's view verbs: fit, refit and show the projection, and say how far to trust it
(a mixin of `Session`).

A new model is first shown through PCA, fast; when the session's method is a learned one,
that view is owed (`_learned_owed`) and fitted in the training worker as soon as a whole
training segment ends with no edit pending, on latents that mean something. A view is never
fitted anew under pending edits: their offsets and margins are in the units of the view they
were drawn on. Every fit, the deferred one too, is a recorded `projection_fitted` event, so
reopening and replay see the same views.
"""
from __future__ import annotations

import numpy as np

from hill_viz.core.faithfulness import DEFAULT_K, Faithfulness, measure_faithfulness
from hill_viz.core.frame import LatentFrame
from hill_viz.core.ids import IdIndex
from hill_viz.core.model import infer
from hill_viz.core.projection import LEARNED_METHODS, Projection
from hill_viz.core.training import Trainer
from hill_viz.errors import StateError
from hill_viz.session.access import mutating

__all__ = ["FAITHFULNESS_SAMPLE", "LEARNED_AFTER_TRAINING", "ViewingVerbs"]

FAITHFULNESS_SAMPLE = 3_000  # points the on-screen faithfulness is measured on (about a second)
LEARNED_AFTER_TRAINING = "first training segment"  # the reason recorded with a deferred learned fit


class _ViewFitCancelled(Exception):
    """Training was cancelled while the owed learned view was being fitted."""


class ViewingVerbs:
    """Fit the view projection (now, or once the model has trained), show frames, measure trust."""

    _learned_owed: str | None = None  # a learned method to fit after the next whole training segment

    @property
    def learned_view_owed(self) -> str | None:
        """The learned method this (PCA) view stands in for until the first training segment ends."""
        return self._learned_owed

    @mutating
    def refit_projection(self, method: str | None = None, reason: str = "user asked",
                         progress=None) -> Projection:
        """Fit the view projection anew on the current latents (an explicit, logged action).

        method: "umap" (learned) or "pca"; default and remembered: `projection_method`.
        progress(fraction): called during a learned fit (it may raise to cancel).
        """
        self._require_idle()
        self._require_no_pending_edits()
        if method is not None:
            self.projection_method = method  # validated by the parameter
        return self._fit_view(self.projection_method, reason, progress)

    @mutating
    def use_projection(self, projection: Projection, reason: str = "restored") -> Projection:
        """View through a given fitted projection (a recorded one, on replay); logged like a refit."""
        self._require_idle()
        self._require_model()
        method = "pca" if projection.method == "identity" else projection.method
        if method in self.param.projection_method.objects:
            self.projection_method = method  # what a refit uses from now on, as after fitting it here
        return self._view_through(projection, reason)

    def _first_view(self, method: str | None, latent_dim: int) -> Projection:
        """The view of a newly built model: PCA now when the method is a learned one (fitting it
        on untrained latents would slow the first view and show little), the learned one owed."""
        if method is not None:
            self.projection_method = method
        if self.projection_method in LEARNED_METHODS and latent_dim > 2:
            return self._fit_view("pca", "model built", learned_after=self.projection_method)
        return self._fit_view(self.projection_method, "model built")

    def _fit_view(self, method: str, reason: str, progress=None, learned_after: str | None = None) -> Projection:
        ds, model = self._require_dataset(), self._require_model()
        options = self.projection_options if method in LEARNED_METHODS else {}
        proj = Projection(method, seed=self.model_seed, **options)
        rows = ds.indices("train")
        if len(rows) > proj.sample_size:
            rows = np.sort(np.random.default_rng(self.model_seed).choice(rows, proj.sample_size, replace=False))
        z, _ = infer(model, ds.features, rows)
        return self._view_through(proj.fit(z, progress), reason, learned_after, fitted_here=True)

    def _fit_owed_view(self, trainer: Trainer) -> None:
        """In the worker, after a whole training segment: fit the learned view owed since
        `build_model`. It stays owed (the next segment fits it) when the training is cancelled
        during the fit, or while edits drawn on this view are pending."""
        def progress(fraction: float) -> None:
            if trainer.should_stop:
                raise _ViewFitCancelled

        if self.pending:
            return
        try:
            self._fit_view(self._learned_owed, LEARNED_AFTER_TRAINING, progress)
        except _ViewFitCancelled:
            pass
        except StateError:
            if not self.pending:
                raise
            # an edit was drawn during the fit: the view stays as the edit saw it

    def _view_through(self, projection: Projection, reason: str, learned_after: str | None = None,
                      fitted_here: bool = False) -> Projection:
        """Show the view through `projection`. A view fitted here waits for no pending edit (a
        replayed one follows its log, as recorded)."""
        with self._lock:  # the check and the switch as one step: `add_edit` takes the lock too
            if fitted_here:
                self._require_no_pending_edits()
            self.projection = projection
            self._learned_owed = learned_after
            self._refresh_frame()
        self._recorder.projection(projection, reason, self._recorder.snapshot(self.frame, "projection"),
                                  learned_after)
        return projection

    def _require_no_pending_edits(self) -> None:
        """A pending edit's moves are drawn in this view's units (a translate's dx, a margin): a new
        view would apply them somewhere else."""
        if self.pending:
            ids = ", ".join(str(p.edit_id) for p in self.pending)
            which, them = (f"edits {ids} are", "them") if len(self.pending) > 1 else (f"edit {ids} is", "it")
            raise StateError(f"{which} pending on this view: apply or remove {them} before the view is fitted "
                             "anew (an edit's moves are drawn in this view's units)")

    @mutating
    def show_frame(self, frame: LatentFrame) -> None:
        """Show a prebuilt latent frame (benchmarks, latents computed elsewhere); no model needed.

        The next epoch or projection refit replaces it with the model's own frame.
        """
        self.frame = frame

    def _refresh_frame(self) -> None:
        """Show the model as it is now."""
        step = self.trainer.step if self.trainer else None
        frame = self._frames.build(self.model, self.projection, self.dataset, step)
        self._refresh_big_frame()  # on Dask, before `frame` changes: the views redraw from both
        self.frame = frame

    def view_faithfulness(self, sample_size: int = FAITHFULNESS_SAMPLE, seed: int = 0) -> Faithfulness | None:
        """How far the current view can be trusted: trustworthiness@10 and 10-NN label
        accuracy in the view and in the latent space, on a seeded sample of the frame's
        points (their latents inferred again). None while training (the model is moving and
        the worker owns it) or when the frame has no model behind it."""
        frame, model, ds = self.frame, self.model, self.dataset
        if frame is None or model is None or ds is None or self.is_busy or len(frame) < 2 * DEFAULT_K + 2:
            return None
        rows = np.arange(len(frame))
        if len(rows) > sample_size:
            rows = np.sort(np.random.default_rng(seed).choice(len(frame), sample_size, replace=False))
        z, _ = infer(model, ds.features, IdIndex.of(ds).rows(frame.column("id")[rows]))
        xy = np.column_stack([frame.column("x")[rows], frame.column("y")[rows]])
        return measure_faithfulness(z, xy, frame.column("label")[rows], sample_size=len(rows), seed=seed)

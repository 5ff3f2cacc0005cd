"""ProjectionPanel: which projection the cloud is drawn with, and how far to trust it.

Beside the cloud: a selector of the view's method and a Refit button (the explicit, logged
`session.refit_projection`), and the view's trustworthiness@10 and 10-NN label agreement
with the latent space on a sample (`session.view_faithfulness`), measured off the event
loop whenever the frame changes, with a visible warning when the picture misleads.
"""
from __future__ import annotations

import panel as pn
import param

from hill_viz.ui.component import FAILED, SessionComponent

__all__ = ["ProjectionPanel", "faithfulness_html"]

METHOD_LABELS = {"umap": "learned (UMAP)", "pca": "PCA"}
WARN_STYLE = "color:#8a1c00;background:#fff1e6;border-left:3px solid #d55e00;padding:4px 6px"


class ProjectionPanel(SessionComponent):
    """The projection selector, its Refit button and the view's faithfulness readout."""

    measuring = param.Boolean(default=False, doc="A faithfulness measurement runs off the event loop")
    refitting = param.Boolean(default=False, doc="A projection refit runs off the event loop")

    def __init__(self, **params):
        super().__init__(**params)
        options = {METHOD_LABELS[m]: m for m in self.session.param.projection_method.objects}
        self.method = pn.widgets.Select(label="Projection", options=options, value=self.session.projection_method,
                                        width=170)
        self.refit_button = pn.widgets.Button(label="Refit projection", width=170)
        self.refit_button.on_click(lambda event: self.refit())
        self.readout = pn.pane.HTML(faithfulness_html(None), width=170, margin=(5, 5),
                                    css_classes=["hill-faithfulness"])
        self._measured = None       # the frame the readout describes
        self._stale = False         # the frame changed while a measurement ran
        self.watch(("frame", "status"), self._on_change)
        self.watch(("projection_method",), lambda names: setattr(self.method, "value",
                                                                 self.session.projection_method))
        self._on_change({"frame"})

    def refit(self) -> None:
        """Refit the view with the selected method, off the event loop (a recorded action)."""
        if self.refitting:
            return
        self.refitting = True
        self.refit_button.disabled = True
        self.readout.object = faithfulness_html(None, "refitting the projection…")
        self.spawn(self.session.refit_projection, self.method.value, then=self._refit_done)

    def _refit_done(self, result) -> None:
        self.refitting = False
        self.refit_button.disabled = False
        self._on_change({"frame"})

    def _on_change(self, names: set[str]) -> None:
        frame = self.session.frame
        if frame is None or self.session.is_busy:
            self.readout.object = faithfulness_html(None, "measured when training stops" if frame is not None else "")
            return
        if frame is self._measured or self.refitting:
            return
        if self.measuring:
            self._stale = True
            return
        self.measuring, self._stale = True, False
        self.readout.object = faithfulness_html(None, "measuring how far to trust this view…")
        self.spawn(self.session.view_faithfulness, then=lambda result, f=frame: self._show(result, f))

    def _show(self, result, frame) -> None:
        self.measuring = False
        self._measured = frame
        owed = self.session.learned_view_owed
        note = (f"<div class='hill-view-owed'><small>PCA while the model is new: the {METHOD_LABELS[owed]} "
                f"view is fitted when a training ends with no edit pending</small></div>" if owed else "")
        self.readout.object = note + faithfulness_html(None if result is FAILED else result)
        if self._stale or frame is not self.session.frame:
            self._on_change({"frame"})

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        return pn.Column(self.method, self.refit_button, self.readout, width=180)


def faithfulness_html(result, note: str = "") -> str:
    """The readout: the figures of a `Faithfulness`, a warning when it misleads, or a note."""
    if result is None:
        return f"<div class='hill-faithfulness-note'><i>{note}</i></div>" if note else ""
    lines = [f"trustworthiness@{result.k}: <b>{result.trustworthiness:.3f}</b>"]
    if result.label_accuracy_view is not None:
        lines.append(f"{result.k}-NN label agreement: <b>{result.label_accuracy_view:.3f}</b> in the view, "
                     f"{result.label_accuracy_latent:.3f} in the latent space")
    lines.append(f"<small>on {result.n:,} sampled points</small>")
    body = "<br>".join(lines)
    if result.misleads:
        return (f"<div class='hill-faithfulness-warning' style='{WARN_STYLE}'><b>⚠ This picture misleads:</b> "
                f"points that look close may not be close for the model. Refit the projection or try "
                f"another method.<br>{body}</div>")
    return f"<div class='hill-faithfulness-ok'>{body}</div>"

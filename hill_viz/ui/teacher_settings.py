"""TeacherSettings: what Apply will teach, in one line, and the teacher's settings behind a
disclosure. The defaults are `TeacherConfig()`'s, the evidence-backed teacher the CLI and
the study use too; whatever is set here is recorded with the teacher when Apply runs.
"""
from __future__ import annotations

from typing import Sequence

import panel as pn
import param

from hill_viz.core.teacher import LOSS_MODES, POSITIVES, TeacherConfig
from hill_viz.errors import ConfigError

_DEFAULT = TeacherConfig()


class TeacherSettings(param.Parameterized):
    """The TeacherConfig the edit panel's Apply uses, as widgets."""

    lambda_ = param.Number(default=_DEFAULT.lambda_, label="λ (position weight)")
    mode = param.Selector(default=_DEFAULT.mode, objects=list(LOSS_MODES), label="Position term")
    relational = param.Number(default=_DEFAULT.relational, label="Contrastive weight")
    positives = param.Selector(default=_DEFAULT.positives, objects=list(POSITIVES), label="Positives")
    tau = param.Number(default=_DEFAULT.tau, label="τ (temperature)")
    mu = param.Number(default=_DEFAULT.mu, label="μ (anchor weight)")

    def config(self) -> TeacherConfig:
        """The settings as a TeacherConfig (ConfigError on a value out of range)."""
        return TeacherConfig(lambda_=self.lambda_, mode=self.mode, mu=self.mu, relational=self.relational,
                             tau=self.tau, positives=self.positives)

    def summary(self, ops: Sequence[str]) -> str:
        """One line: what Apply will teach for pending edits with these ops."""
        try:
            return "Apply teaches: " + self.config().teaches(ops)
        except ConfigError as err:
            return f"Teacher settings: {err}"

    def disclosure(self) -> pn.Card:
        """The settings in a collapsed card, defaults restorable with one button."""
        w, p = pn.widgets, self.param
        reset = w.Button(label="Evidence-backed defaults", width=200)
        reset.on_click(lambda e: self.param.update(**{k: getattr(_DEFAULT, k) for k in _DEFAULT.to_dict()}))
        return pn.Card(
            pn.Row(w.FloatInput.from_param(p.lambda_, width=120), w.Select.from_param(p.mode, width=110)),
            pn.Row(w.FloatInput.from_param(p.relational, width=120), w.Select.from_param(p.positives, width=110)),
            pn.Row(w.FloatInput.from_param(p.tau, width=120), w.FloatInput.from_param(p.mu, width=110)),
            reset, title="Teacher settings (advanced)", collapsed=True, width=360,
            css_classes=["hill-teacher-settings"])

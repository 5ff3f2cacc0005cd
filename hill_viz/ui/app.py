"""The HILL app: one page to train a model, watch its latent space, reshape it, retrain.

`build_app(session)` composes the components around one Session (one per browser
session: serve a factory, see `hill_viz.cli.serve`). A periodic callback on the page's
event loop drains the trainer's live records into the curves and keeps the edit tools
in step with the Session; heavy work runs off the loop and user mistakes show as
notifications, through one `Actions` the components share (`SessionComponent`). When the browser session ends, training is cancelled and the
workspace closed, with everything recorded kept.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

import holoviews as hv
import panel as pn
import param

from hill_viz.session import Session
from hill_viz.ui.bias_panel import BiasPanel
from hill_viz.ui.breakdown import Breakdown
from hill_viz.ui.component import SessionComponent
from hill_viz.ui.edit_tools import EditTools
from hill_viz.ui.gallery import Gallery
from hill_viz.ui.latent_view import LatentView
from hill_viz.ui.selection_table import SelectionTable
from hill_viz.ui.timeline import Timeline
from hill_viz.ui.training_panel import FILE_CHOICE, TrainingPanel, TrainingSettings

log = logging.getLogger(__name__)

DEFAULT_DATASET = "digits-shortcut"
DEFAULT_N = 5_000            # an epoch in about a second on one core
DEFAULT_PRETRAIN_EPOCHS = 2  # so the first view is meaningful
DEFAULT_WORKSPACE_ROOT = Path("workspaces") / "default"
POLL_MS = 300

# The panels around the edit tools, by slot; one that fails to build leaves a note in its slot.
COMPONENTS = {
    "latent_view": LatentView,
    "breakdown": Breakdown,
    "gallery": Gallery,
    "table": SelectionTable,
    "bias": BiasPanel,
    "timeline": Timeline,
}


def new_session(root: str | Path = DEFAULT_WORKSPACE_ROOT, actor: str | None = None, **params) -> Session:
    """A Session on a fresh sub-workspace of `root`, so browser sessions never share state."""
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return Session(Path(root).expanduser() / name, actor=actor, **params)


def _settings_of(session: Session) -> dict:
    """TrainingSettings values that describe the Session's dataset and model."""
    params = session.dataset.params
    settings = {"n": params.get("n")}
    name = params.get("name", session.dataset.name)
    if "path" in params:
        settings.update(dataset=FILE_CHOICE, path=str(params["path"]))
    elif name in TrainingSettings.param.dataset.objects:
        settings["dataset"] = name
    if session.model is not None:
        settings.update(latent_dim=session.model.spec.latent_dim, seed=session.model_seed,
                        lr=session.trainer.config.lr, batch_size=session.trainer.config.batch_size)
    return settings


class HillApp(SessionComponent):
    """All components of the app around one Session, and the page lifecycle."""

    dataset = param.String(default=DEFAULT_DATASET, doc="Dataset loaded on page load if the Session has none")
    path = param.String(default="", doc="A dataset file to load instead of `dataset`")
    n = param.Integer(default=DEFAULT_N, allow_None=True)
    pretrain_epochs = param.Integer(default=DEFAULT_PRETRAIN_EPOCHS, bounds=(0, None))

    def __init__(self, **params):
        super().__init__(**params)
        self.training = TrainingPanel(session=self.session, actions=self.actions)
        if self.session.dataset is not None:  # a reopened or shared Session: show what it holds
            self.training.settings.param.update(**_settings_of(self.session))
        elif self.path:
            self.training.settings.param.update(dataset=FILE_CHOICE, path=self.path, n=self.n)
        else:
            self.training.settings.param.update(dataset=self.dataset, n=self.n)
        self.component_errors: dict[str, str] = {}
        self.components = {key: self._make(key, cls) for key, cls in COMPONENTS.items()}
        self.latent_view = self.components["latent_view"]
        self.edit_tools = EditTools(session=self.session, actions=self.actions, latent_view=self.latent_view)
        self._periodic = None
        self._closed = False
        self.loaded = threading.Event()  # set when a browser has opened the page
        self.ready = threading.Event()   # set once the first model is built (tests wait on it)
        if self.session.model is not None:
            self.ready.set()

    def _make(self, key: str, cls: type):
        shared = {"actions": self.actions} if "actions" in cls.param else {}  # one place reports errors
        try:
            return cls(session=self.session, **shared)
        except Exception as exc:  # one broken panel must not take the page down: show it in its slot
            log.exception("building %s failed", cls.__name__)
            self.component_errors[key] = f"{type(exc).__name__}: {exc}"
            return None

    # -- layout -------------------------------------------------------------------------------
    def _slot(self, key: str, title: str):
        component = self.components[key]
        if component is not None:
            return component
        return pn.pane.Markdown(f"*{title}: failed to load ({self.component_errors[key]}).*",
                                css_classes=[f"hill-slot-{key}"])

    def main_area(self) -> pn.Column:
        # dynamic tabs: only the tab on screen has Bokeh models in the page. Every HoloViews
        # redraw walks all models of the page, so hidden panels would slow every selection.
        selection = pn.Row(
            self._slot("breakdown", "Selection breakdown"),
            pn.Tabs(("Gallery", self._slot("gallery", "Gallery")), ("Table", self._slot("table", "Selection table")),
                    dynamic=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        return pn.Column(
            pn.Row(self._slot("latent_view", "Latent view"), self._edit_column(), sizing_mode="stretch_width"),
            pn.Tabs(("Selection", selection), ("Bias", self._slot("bias", "Bias indicators")),
                    ("Timeline", self._slot("timeline", "Timeline")), dynamic=True, sizing_mode="stretch_width",
                    css_classes=["hill-tabs"]),
            sizing_mode="stretch_width",
        )

    def _edit_column(self) -> pn.Column:
        """The edit tools, and under the pending edits their predicted bias lights."""
        bias = self.components["bias"]
        return pn.Column(self.edit_tools, *([bias.summary] if bias is not None else []), width=390)

    def template(self) -> pn.template.BootstrapTemplate:
        # Bootstrap: every resource is served locally (the Fast/Material templates fetch web fonts)
        template = pn.template.BootstrapTemplate(
            title="hill-viz · Human in the Latent Loop", sidebar=[self.training], main=[self.main_area()],
            sidebar_width=360, header_background="#0072B2")
        self.actions.notifications = template.notifications
        return template

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.training, self.main_area())

    # -- lifecycle (inside a server session) ------------------------------------------------------
    def start(self) -> None:
        """Hook the page's periodic callback, first model and cleanup into the current session."""
        pn.state.onload(self._on_load)
        pn.state.on_session_destroyed(self._on_destroyed)

    async def _on_load(self) -> None:
        self.loaded.set()
        self._periodic = pn.state.add_periodic_callback(self.poll, period=POLL_MS)
        if self.session.model is None:
            await self._first_model()

    async def _first_model(self) -> None:
        built = await self.training.build()
        if built:
            self.ready.set()
            if self.pretrain_epochs:
                await self.training.train(self.pretrain_epochs)

    def poll(self) -> None:
        """One tick on the event loop: curves, progress, edit tools."""
        if self._closed:
            return
        try:
            self.training.poll()
            self.edit_tools.sync()
        except Exception:  # a broken tick must not stop the next one
            log.exception("periodic update failed")

    def _on_destroyed(self, session_context) -> None:
        self.close()

    def close(self) -> None:
        """Stop updates, cancel training; the workspace is closed once the trainer has stopped."""
        if self._closed:
            return
        self._closed = True
        if self._periodic is not None:
            self._periodic.stop()
        self.session.cancel()

        def finish():
            self.session.wait(timeout=120)
            if not self.session.is_busy:
                self.session.workspace.close()
        threading.Thread(target=finish, name="hill-close", daemon=True).start()


def build_app(session: Session, **options) -> pn.template.BootstrapTemplate:
    """The page for one Session; call inside a server session (e.g. from a `pn.serve` factory)."""
    hv.extension("bokeh")
    pn.extension("tabulator", "filedropper", notifications=True)
    app = HillApp(session=session, **options)
    template = app.template()
    template.hill_app = app  # for tests and embedding: the components behind the page
    app.start()
    return template

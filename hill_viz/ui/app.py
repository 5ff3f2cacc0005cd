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
from hill_viz.ui.session_watch import page_tick
from hill_viz.ui.sharing import SharingPanel
from hill_viz.ui.timeline import Timeline
from hill_viz.ui.training_panel import FILE_CHOICE, TrainingPanel, TrainingSettings

log = logging.getLogger(__name__)

DEFAULT_DATASET = "digits-shortcut"
DEFAULT_N = 5_000            # an epoch in about a second on one core
DEFAULT_PRETRAIN_EPOCHS = 2  # so the first view is meaningful
DEFAULT_WORKSPACE_ROOT = Path("workspaces") / "default"
POLL_MS = 300
CLOUD_HEIGHT = 840    # px: with the side column below, the cloud is over half of a 1600x1000 page
SIDE_WIDTH = 380      # px: edit tools, bias lights, timeline strip
HEADER_CSS = """
:host { color: white; } .bk-input { color: #222; } .hill-status p, .hill-status { color: white; margin: 0; }
"""
TITLE = "hill-viz · Human in the Latent Loop"
# every page's template: no busy indicator, as Panel's busy state is one per process (one user's
# click would spin every user's indicator, and each change redraws it on every open page)
PAGE_TEMPLATE = {"header_background": "#0072B2", "busy_indicator": None}
# back to the list from any page; "?" keeps the path, so a page served under /hill_app stays there
ALL_WORKSPACES = "<a href='?' style='color:white'>All workspaces</a>"

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
    release = param.Callable(default=None, doc="Called with the Session when the page ends and its training "
                             "has stopped (e.g. OpenWorkspaces.release); None: close the workspace")
    probe = param.Callable(default=None, doc="Called with (Session, connected) when the page starts: how to "
                           "tell the page is still connected (e.g. OpenWorkspaces.set_probe)")
    claim = param.Callable(default=None, doc="Called with the Session by a read-only page: True if it may "
                           "edit now (e.g. OpenWorkspaces.claim); None: it stays read-only")
    access_changed = param.Callable(default=None, doc="Called with the Session after its owner changed who "
                                    "may edit it (e.g. OpenWorkspaces.recheck)")
    follow_s = param.Number(default=2.0, bounds=(0.1, None),
                            doc="A read-only page reloads the log's head at most this often")

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
        self.sharing = SharingPanel(session=self.session, actions=self.actions, changed=self.access_changed)
        self._periodic = None
        self._closed = False
        self._followed_at = 0.0
        self._following = False
        self._was_read_only = self.session.read_only
        self.banner = self._banner()
        self.loaded = threading.Event()  # set when a browser has opened the page
        self.ready = threading.Event()   # set once the first model is built (tests wait on it)
        if self.session.model is not None:
            self.ready.set()

    def _make(self, key: str, cls: type):
        shared = {"actions": self.actions} if "actions" in cls.param else {}  # one place reports errors
        if key == "latent_view":
            shared["height"] = CLOUD_HEIGHT
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
        """Above the fold: the cloud, and beside it training, edit tools, bias lights and the timeline.
        Below it, in tabs: the full timeline, the selection's details, the bias panel, the settings."""
        # dynamic tabs: only the tab on screen has Bokeh models in the page. Every HoloViews
        # redraw walks all models of the page, so hidden panels would slow every selection.
        selection = pn.Row(
            self._slot("breakdown", "Selection breakdown"),
            pn.Tabs(("Gallery", self._slot("gallery", "Gallery")), ("Table", self._slot("table", "Selection table")),
                    dynamic=True, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        settings = pn.Row(pn.Column(self.training.dataset_widgets, self.training.model_widgets,
                                    self.training.build_button, width=360),
                          self.training.curves(), sizing_mode="stretch_width")
        tabs = pn.Tabs(("Timeline", self._slot("timeline", "Timeline")), ("Selection", selection),
                       ("Bias", self._slot("bias", "Bias indicators")), ("Data, model and curves", settings),
                       dynamic=True, sizing_mode="stretch_width", css_classes=["hill-tabs"])
        timeline = self.components["timeline"]
        if timeline is not None:  # redrawn only while its tab is open (the strip beside the cloud always)
            tabs.param.watch(lambda event: setattr(timeline, "shown", event.new == 0), "active")
        return pn.Column(
            self.banner,
            pn.Row(self._slot("latent_view", "Latent view"), self._side_column(), sizing_mode="stretch_width"),
            tabs,
            sizing_mode="stretch_width",
        )

    def training_strip(self) -> pn.Row:
        """Train, pause, resume, cancel, progress and status: in the page's header, always in view."""
        t = self.training
        t.epochs_input.name = ""  # labelled beside it: the header is one line high
        t.progress.param.update(width=110, sizing_mode="fixed", height=10, align="center")
        return pn.Row(pn.pane.HTML(ALL_WORKSPACES, margin=(12, 14)),
                      pn.pane.HTML("Epochs", margin=(12, 4)), t.epochs_input, t.train_button, t.pause_button,
                      t.resume_button, t.cancel_button, t.progress, t.status_line,
                      stylesheets=[HEADER_CSS], css_classes=["hill-training-strip"], margin=0)

    def _side_column(self) -> pn.Column:
        """Edit (grouped move/shape/group/pin); the pending edits' bias lights; the timeline strip; sharing."""
        bias, timeline = self.components["bias"], self.components["timeline"]
        parts = [self.edit_tools]
        if bias is not None:
            parts.append(pn.Column(pn.pane.Markdown("**Bias lights** (predicted, pending edits)", margin=(0, 10)),
                                   bias.summary, css_classes=["hill-bias-lights"]))
        if timeline is not None:
            parts.append(pn.Column(
                pn.pane.Markdown("**Timeline** (details: Timeline tab)", margin=(0, 10)),
                timeline.strip(),
                css_classes=["hill-timeline-strip"], sizing_mode="stretch_width"))
        parts.append(self.sharing)  # only its owner and admins see it
        return pn.Column(*parts, width=SIDE_WIDTH)

    def template(self) -> pn.template.BootstrapTemplate:
        # Bootstrap: every resource is served locally (the Fast/Material templates fetch web fonts)
        ws = self.session.workspace
        title = f"hill-viz · {ws.title or ws.path.name}"
        template = pn.template.BootstrapTemplate(title=title, main=[self.main_area()], header=[self.training_strip()],
                                                 **PAGE_TEMPLATE)
        self.actions.notifications = template.notifications
        return template

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.training_strip(), self.main_area(), sizing_mode="stretch_width")

    # -- lifecycle (inside a server session) ------------------------------------------------------
    def start(self) -> None:
        """Hook the page's periodic callback, first model and cleanup into the current session."""
        pn.state.onload(self._on_load)
        pn.state.on_session_destroyed(self._on_destroyed)
        context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
        if self.probe is not None and context is not None:
            self.probe(self.session, lambda: _connected(context))

    async def _on_load(self) -> None:
        if self.session.read_only:
            self._try_claim()
        self.loaded.set()
        self._periodic = page_tick(self.poll, POLL_MS)
        if self.session.model is None and not self.session.read_only:
            await self._first_model()

    def _banner(self) -> pn.Column:
        """Read-only: who holds the workspace. A training segment a crash cut short: resume it."""
        s = self.session
        items = []
        if s.read_only:
            items.append(pn.pane.Alert(f"**Read-only**: {s.read_only_reason}. You see the work as it is "
                                       "recorded; add review comments on the Timeline.", alert_type="warning",
                                       css_classes=["hill-read-only"], margin=(0, 5)))
        elif s.interrupted:
            left = s.interrupted["epochs"] - s.interrupted.get("done", 0)
            resume = pn.widgets.Button(label=f"Resume the interrupted training ({left} epochs left)",
                                       color="warning", css_classes=["hill-resume"])
            note = pn.Row(pn.pane.Markdown("A training run stopped before it finished (the server stopped or "
                                           "crashed); everything up to its last epoch is kept."), resume)
            resume.on_click(lambda event: self.spawn(s.resume_training, then=lambda r: setattr(note, "visible", False)))
            items.append(note)
        return pn.Column(*items, sizing_mode="stretch_width", margin=0)

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
            self._say_if_read_only()
            if self.session.read_only and not self._try_claim():
                self._follow()
        except Exception:  # a broken tick must not stop the next one
            log.exception("periodic update failed")

    def _say_if_read_only(self) -> None:
        """The page lost the editing seat (opened elsewhere, or no longer shared with its user): say why."""
        was, self._was_read_only = self._was_read_only, self.session.read_only
        if self.session.read_only and not was:
            self.actions.notify(f"this page is read-only now: {self.session.read_only_reason}", "warning")

    def _try_claim(self) -> bool:
        """A read-only page takes the editing seat once it is free (at most once a second)."""
        now = time.monotonic()
        if self.claim is None or now - getattr(self, "_claimed_at", 0.0) < 1.0:
            return False
        self._claimed_at = now
        if not self.claim(self.session):
            return False
        self.banner.objects = []
        self.actions.notify("you can edit this workspace now", "success")
        return True

    def _follow(self) -> None:
        """A read-only page shows the editor's work: reload when the log's head moved."""
        store = self.session.workspace.store
        now = time.monotonic()
        if (self._following or store.closed or store.head == self.session.head
                or now - self._followed_at < self.follow_s):
            return
        self._following, self._followed_at = True, now
        self.spawn(self.session.reload, then=lambda result: setattr(self, "_following", False))

    def _on_destroyed(self, session_context) -> None:
        self.close()

    def close(self) -> None:
        """Stop updates, cancel training; the workspace is closed once the trainer has stopped."""
        if self._closed:
            return
        self._closed = True
        if self._periodic is not None:
            self._periodic.stop()
        if not self.session.read_only:
            self.session.cancel()

        def finish():
            self.session.wait(timeout=120)
            if self.session.is_busy:
                return
            if self.release is not None:
                self.release(self.session)
            else:
                self.session.workspace.close()
        threading.Thread(target=finish, name="hill-close", daemon=True).start()


def _connected(context) -> bool:
    """The page's websocket is still open (a reload closes it long before the session is destroyed)."""
    try:
        return context.session.connection_count > 0
    except Exception:  # not a served session
        return True


def build_app(session: Session, **options) -> pn.template.BootstrapTemplate:
    """The page for one Session; call inside a server session (e.g. from a `pn.serve` factory)."""
    hv.extension("bokeh")
    pn.extension("tabulator", "filedropper", notifications=True)
    app = HillApp(session=session, **options)
    template = app.template()
    template.hill_app = app  # for tests and embedding: the components behind the page
    app.start()
    return template

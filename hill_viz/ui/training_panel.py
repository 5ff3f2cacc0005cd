"""TrainingPanel: dataset, model and training settings; train/pause/resume/cancel; live curves.

Settings live in `TrainingSettings` (param), widgets are built from it, and every button
calls a Session method off the event loop (`SessionComponent.run`). The trainer thread never
touches a widget: it appends records to the Session's live queue, and `poll()` (run by
the app's periodic callback on the event loop) drains them into the Bokeh sources of the
loss and accuracy curves (`stream`: only new points travel), and updates the progress bar
and status line.
"""
from __future__ import annotations

import time

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from hill_viz.core.data import list_datasets
from hill_viz.core.model import ModelSpec
from hill_viz.core.training import TrainConfig
from hill_viz.errors import ConfigError, DataError
from hill_viz.ui.component import FAILED, SessionComponent
from hill_viz.ui.upload import DatasetUpload

FILE_CHOICE = "a file…"
CURVE_PUSH_S = 1.0  # least seconds between loss-curve redraws while training
CURVE_POINTS = 20_000  # points kept per curve


def _dataset_choices() -> list[str]:
    return [card.name for card in list_datasets()] + [FILE_CHOICE]


class TrainingSettings(param.Parameterized):
    """What the next build/train uses. The Session validates the values (one-line errors)."""

    dataset = param.Selector(default="digits-shortcut", objects=_dataset_choices(),
                             doc="A builtin dataset, or a file (path on the server, or an upload)")
    n = param.Integer(default=None, allow_None=True, label="Samples (n)",
                      doc="Size of a generated dataset, or a random subset; empty: the dataset's default")
    path = param.String(default="", label="File path on the server", doc="Parquet, CSV or NPZ file")
    latent_dim = param.Integer(default=16, label="Latent dim")
    seed = param.Integer(default=0)
    lr = param.Number(default=1e-3, label="Learning rate")
    batch_size = param.Integer(default=0, label="Batch size (0 = auto)")
    epochs = param.Integer(default=2, label="Epochs", doc="Epochs per Train click")


def _check_model_settings(latent_dim: int, seed: int, lr: float, batch_size: int) -> None:
    """The same checks `build_model` makes, done before anything is replaced."""
    if batch_size < 0:
        raise ConfigError(f"batch size must be 0 (auto) or a positive number, got {batch_size}")
    if seed < 0:
        raise ConfigError(f"seed must be 0 or more, got {seed}")
    ModelSpec(n_features=1, n_classes=2, latent_dim=latent_dim)
    TrainConfig(lr=lr, batch_size=batch_size or 1, seed=seed)


class TrainingPanel(SessionComponent):
    """Settings, training controls, progress and live curves for one Session."""

    settings = param.ClassSelector(class_=TrainingSettings)

    def __init__(self, **params):
        params.setdefault("settings", TrainingSettings())
        super().__init__(**params)
        # plain Bokeh sources: `stream` sends only the new points, while a HoloViews redraw walks
        # every model of the page (about 150 ms on a full page, taken from selections)
        self.loss_source = ColumnDataSource({"epoch": [], "loss": []})
        self.acc_source = ColumnDataSource({"epoch": [], "val_acc": []})
        self._batches: list[tuple[float, float]] = []  # loss points not drawn yet
        self._pushed_at = 0.0
        self._seeded_until = -np.inf  # last epoch drawn from the Session's history
        self._history_seen: list[dict] = []  # the Session's history as last drawn
        self._curves_stale = False  # a new model was built: the curves start over at the next poll
        self.session.drain_live()  # what happened before this page opened comes from the history
        self._seed_curves()
        self._build_widgets()
        self.poll()

    # -- widgets ----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        s = self.settings
        w = pn.widgets
        limits = self.session.limits
        self.upload = DatasetUpload(accepted_filetypes=[".parquet", ".csv", ".npz"], multiple=False,
                                    max_bytes=limits.upload_max_bytes, on_refused=self._upload_refused,
                                    sizing_mode="stretch_width", height=90, layout="compact")
        upload_note = ("…or upload a file" + (f" (up to {limits.upload_max_bytes / 2**20:.0f} MB)"
                                              if limits.upload_max_bytes is not None else "") + ":")
        path_box = []  # a served session without data roots reads no server paths: no box
        if limits.data_roots is None or limits.data_roots:
            path_box = [w.TextInput.from_param(s.param.path, sizing_mode="stretch_width",
                                               placeholder="/data/my.parquet")]
        self.dataset_widgets = pn.Column(
            w.Select.from_param(s.param.dataset, sizing_mode="stretch_width"),
            w.IntInput.from_param(s.param.n, sizing_mode="stretch_width"),
            *path_box,
            pn.pane.Markdown(upload_note, margin=(0, 10)),
            self.upload,
        )
        self.model_widgets = pn.Column(
            pn.Row(w.IntInput.from_param(s.param.latent_dim, width=110), w.IntInput.from_param(s.param.seed, width=110)),
            pn.Row(w.FloatInput.from_param(s.param.lr, width=110, step=1e-4, format="0.[00000]"),
                   w.IntInput.from_param(s.param.batch_size, width=110)),
        )
        self.build_button = w.Button(label="Load data & build model", color="primary",
                                     sizing_mode="stretch_width")
        self.epochs_input = w.IntInput.from_param(s.param.epochs, width=90, css_classes=["hill-epochs"])
        self.train_button = w.Button(label="Train", color="success", width=90, css_classes=["hill-train"])
        self.pause_button = w.Button(label="Pause", width=80)
        self.resume_button = w.Button(label="Resume", width=80)
        self.cancel_button = w.Button(label="Cancel", color="danger", width=80)
        self.progress = pn.indicators.Progress(value=0, max=100, sizing_mode="stretch_width", height=14)
        self.status_line = pn.pane.Markdown("", css_classes=["hill-status"], margin=(0, 10))
        self.build_button.on_click(self._on_build)
        self.train_button.on_click(self._on_train)
        self.pause_button.on_click(self._on_pause)
        self.resume_button.on_click(self._on_resume)
        self.cancel_button.on_click(self._on_cancel)

    def curves(self) -> pn.Column:
        def curve(source: ColumnDataSource, column: str, title: str, color: str):
            fig = figure(title=title, height=170, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset,hover",
                         x_axis_label="epoch", y_axis_label=column, toolbar_location="above")
            line = fig.line("epoch", column, source=source, color=color, line_width=2)
            if column == "val_acc":  # one point per epoch: mark them (a lone first epoch shows too)
                fig.scatter("epoch", column, source=source, color=color, size=6)
            fig.hover.renderers = [line]
            fig.hover.tooltips = [("epoch", "@epoch{0.00}"), (column, f"@{column}{{0.000}}")]
            return pn.pane.Bokeh(fig, sizing_mode="stretch_width")
        return pn.Column(curve(self.loss_source, "loss", "Training loss", "#0072B2"),
                         curve(self.acc_source, "val_acc", "Validation accuracy", "#D55E00"),
                         sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown("### Data and model", margin=(0, 10)),
            self.dataset_widgets,
            self.model_widgets,
            self.build_button,
            pn.pane.Markdown("### Training", margin=(0, 10)),
            pn.Row(self.epochs_input, self.train_button),
            pn.Row(self.pause_button, self.resume_button, self.cancel_button),
            self.progress,
            self.status_line,
            self.curves(),
            sizing_mode="stretch_width",
        )

    # -- actions ----------------------------------------------------------------------------
    async def _on_build(self, event=None) -> None:
        await self.build()

    async def build(self) -> bool:
        """Load the chosen dataset and build a fresh model (off the event loop)."""
        s = self.settings
        upload = self._save_upload()
        if upload is FAILED:
            return False
        done = await self.run(self._build_sync, s.dataset, s.n, upload or s.path,
                                      s.latent_dim, s.seed, s.lr, s.batch_size)
        if done is FAILED:
            return False
        self._curves_stale = True  # redrawn by the next poll: Bokeh sources change only there
        self._refresh_controls()
        return True

    def _build_sync(self, dataset: str, n: int | None, path: str, latent_dim: int, seed: int,
                    lr: float, batch_size: int) -> None:
        _check_model_settings(latent_dim, seed, lr, batch_size)  # before the current model is dropped
        options = {} if n is None else {"n": n}
        if dataset == FILE_CHOICE:
            if not path:
                raise DataError("choose a file: type its path on the server or upload it")
            self.session.load_dataset(path=path, **options)
        else:
            self.session.load_dataset(dataset, **options)
        self.session.build_model(latent_dim=latent_dim, seed=seed, lr=lr, batch_size=batch_size or None)

    def _save_upload(self) -> str | None | object:
        """Write an uploaded file into the workspace; its path, None if nothing was uploaded."""
        upload = self.upload.file()
        if self.settings.dataset != FILE_CHOICE or upload is None:
            return None
        path = self.actions.call(self.session.store_upload, *upload)
        return FAILED if path is FAILED else str(path)

    def _upload_refused(self, name: str, at_least: int) -> None:
        limit = self.session.limits.upload_max_bytes
        self.report(f"{name} is too large to upload (over {at_least / 2**20:.0f} MB); "
                    f"this server accepts files up to {limit / 2**20:.0f} MB")

    async def _on_train(self, event=None) -> None:
        await self.train()

    async def train(self, epochs: int | None = None) -> bool:
        epochs = self.settings.epochs if epochs is None else epochs
        done = await self.run(self.session.train, epochs)
        self._refresh_controls()
        return done is not FAILED

    async def _on_pause(self, event=None) -> None:
        await self.run(self.session.pause)
        self._refresh_controls()

    async def _on_resume(self, event=None) -> None:
        await self.run(self.session.unpause)
        self._refresh_controls()

    async def _on_cancel(self, event=None) -> None:
        await self.run(self.session.cancel)
        self._refresh_controls()

    # -- live updates (event loop) ------------------------------------------------------------
    def poll(self) -> None:
        """Drain the Session's live records into the curves; refresh progress, status, buttons.

        Curves are redrawn at most every CURVE_PUSH_S (and at each epoch's end): each redraw
        costs the event loop tens of milliseconds that selections should get.
        """
        if self._curves_stale or self._history_replaced():
            self._reset_curves()
        self._history_seen = self.session.history
        epochs = []
        for record in self.session.drain_live():
            if record.get("epoch", np.inf) <= self._seeded_until:
                continue  # drawn from the history already
            if record["kind"] == "batch":
                self._batches.append((record["epoch"], record["loss"]))
            elif record["kind"] == "epoch":
                epochs.append((record["epoch"], record.get("val_acc", np.nan)))
            elif record["kind"] == "error":
                self.report(record["message"])
        now = time.monotonic()
        if self._batches and (epochs or not self.session.is_busy or now - self._pushed_at >= CURVE_PUSH_S):
            self._stream(self.loss_source, self._batches, "loss")
            self._batches, self._pushed_at = [], now
        if epochs:
            self._stream(self.acc_source, epochs, "val_acc")
        self._refresh_controls()

    def _refresh_controls(self) -> None:
        session = self.session
        status = session.status
        busy = session.is_busy
        self.progress.value = int(session.progress * 100) if busy or session.history else 0
        self.train_button.disabled = busy or status == "empty"
        self.build_button.disabled = busy
        self.pause_button.disabled = status != "training"
        self.resume_button.disabled = status != "paused"
        self.cancel_button.disabled = not busy
        self.status_line.object = self.status_text()

    def status_text(self) -> str:
        s = self.session
        if s.dataset is None:
            return "No dataset yet: choose one and click **Load data & build model**."
        parts = [f"**{s.dataset.name}** · {s.dataset.n_samples:,} samples"]
        if s.trainer is not None:
            parts.append(f"epoch {s.trainer.epoch}")
        if s.history:
            last = s.history[-1]
            if last.get("val_acc") is not None:
                parts.append(f"val acc {last['val_acc']:.3f}")
        state = {"empty": "no model", "ready": "idle", "paused": "paused",
                 "queued": f"waiting for a training slot (place {s.queue_position} in line)",
                 "training": f"training {s.progress:.0%}"}[s.status]
        parts.append(state)
        if s.teachers:
            parts.append(f"{len(s.teachers)} teacher{'s' if len(s.teachers) > 1 else ''}")
        return " · ".join(parts)

    @staticmethod
    def _stream(source: ColumnDataSource, points: list[tuple[float, float]], column: str) -> None:
        epochs, values = zip(*points)
        source.stream({"epoch": [float(e) for e in epochs],
                       column: [float("nan") if v is None else float(v) for v in values]}, rollover=CURVE_POINTS)

    def _history_replaced(self) -> bool:
        """True when the Session's history was swapped (a revert or reopen), not extended by training."""
        seen, now = self._history_seen, self.session.history
        return len(now) < len(seen) or (bool(seen) and now[len(seen) - 1] is not seen[-1])

    def _seed_curves(self) -> None:
        history = self._history_seen = self.session.history
        self._seeded_until = max((h["epoch"] for h in history), default=-np.inf)
        if history:
            self._stream(self.loss_source, [(h["epoch"], h.get("train_loss")) for h in history], "loss")
            self._stream(self.acc_source, [(h["epoch"], h.get("val_acc")) for h in history], "val_acc")

    def _reset_curves(self) -> None:
        self._curves_stale = False
        self.loss_source.data = {"epoch": [], "loss": []}
        self.acc_source.data = {"epoch": [], "val_acc": []}
        self._batches = []
        self._seed_curves()

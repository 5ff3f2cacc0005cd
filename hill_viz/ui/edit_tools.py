"""EditTools: turn the current selection into pending edits, show them, apply them.

With a selection made, a handle (a black dot) sits at its centroid. Drag it with the
point-draw tool, or switch on "click sets the destination" and click, to translate the
selection there; use the slider to contract/expand it; pin it; or remember selections as
A and B to separate or merge them. Pending edits are drawn over the cloud (arrows,
target outlines), listed, editable and removable until **Apply** freezes them into a
teacher and trains with it. A line above Apply says what it will teach; the teacher's
settings (`TeacherSettings`) sit in a collapsed card.

Everything goes through Session methods (`add_edit`, `update_edit`, `remove_edit`,
`apply_edits`); the component keeps only what the Session does not: the handle anchor and
the remembered A/B selections.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from hill_viz.core.edits import Edit, Selector
from hill_viz.core.frame import LatentFrame
from hill_viz.core.teacher import TeacherConfig
from hill_viz.errors import EditError
from hill_viz.session import Session
from hill_viz.session.frames import frame_ref
from hill_viz.ui.component import FAILED, SessionComponent
from hill_viz.ui.edit_overlay import centroid, edit_previews, preview_overlay
from hill_viz.ui.teacher_settings import TeacherSettings

HANDLE_COLOR = "black"
ARROW_HEAD_FRACTION = 0.03  # arrow head length as a fraction of the cloud's extent
_EMPTY_HANDLE = {"x": [], "y": []}


@dataclass(frozen=True)
class Remembered:
    """A selection kept as A or B: how it was drawn, its ids, and the view it was drawn on."""

    selector: Selector
    ids: np.ndarray
    drawn_on: Callable[[], LatentFrame | None]  # a weak reference: an old frame is not kept alive

    @classmethod
    def of(cls, session: Session) -> "Remembered":
        """The Session's current selection (EditError if it is empty)."""
        return cls(session.selection_selector(), session.selection.copy(), frame_ref(session.frame))

    def selector_now(self, session: Session) -> Selector:
        """The drawn selector while the view is unchanged; the ids once the cloud has moved."""
        return self.selector if self.drawn_on() is session.frame else Selector.of_ids(self.ids)


class EditTools(SessionComponent):
    """Edit controls for one Session; overlays itself on a LatentView if given one."""

    latent_view = param.Parameter(default=None, doc="The LatentView to draw the handle and previews on")

    dx = param.Number(default=0.0, label="dx", doc="Translation in view units")
    dy = param.Number(default=0.0, label="dy")
    factor = param.Number(default=0.5, bounds=(0.05, 3.0), step=0.05, label="Contract (<1) / expand (>1)")
    margin = param.Number(default=0.0, label="Separation margin")
    tap_moves = param.Boolean(default=False, label="Click on the cloud sets the destination")
    epochs = param.Integer(default=5, label="Epochs")
    teacher = param.ClassSelector(class_=TeacherSettings, doc="The teacher Apply builds (defaults: TeacherConfig())")
    edited = param.Integer(default=None, allow_None=True, label="Edit #", doc="The pending edit being edited")
    edit_value_1 = param.Number(default=0.0, label="")
    edit_value_2 = param.Number(default=0.0, label="")
    edit_weight = param.Number(default=1.0, label="Weight")

    def __init__(self, **params):
        params.setdefault("teacher", TeacherSettings())
        super().__init__(**params)
        self.memory: dict[str, Remembered] = {}
        self.anchor: tuple[float, float] | None = None   # the handle's position when the selection was drawn
        self.handle_edit: int | None = None               # the translate edit the handle is driving
        self.shown: tuple = (None, None, None)  # the Session's selection, frame and pending list on screen
        self.handle_pipe = hv.streams.Pipe(data=dict(_EMPTY_HANDLE))
        self.handle = hv.DynamicMap(self._handle_points, streams=[self.handle_pipe])
        self.draw = hv.streams.PointDraw(source=self.handle, num_objects=1, add=False, drag=True)
        self.draw.add_subscriber(self._on_handle_moved)
        self.tap = hv.streams.Tap(source=self.handle, x=None, y=None)
        self.tap.add_subscriber(self._on_tap)
        self._refresh = hv.streams.Stream.define("EditsRefresh", version=0)()
        self.previews = hv.DynamicMap(self._previews, streams=[self._refresh])
        self._build_widgets()
        self.watch(("selection", "frame", "pending"), lambda names: self.sync())
        if self.latent_view is not None:
            self.latent_view.add_overlay(self.previews)
            self.latent_view.add_overlay(self.handle)
        self.sync()

    # -- overlay elements ------------------------------------------------------------------------
    @staticmethod
    def _handle_points(data) -> hv.Points:
        return hv.Points(data, kdims=["x", "y"]).opts(
            color=HANDLE_COLOR, size=18, marker="circle", line_color="white", line_width=2,
            tools=[], active_tools=[])

    def _previews(self, version: int = 0) -> hv.Overlay:
        frame = self.session.frame
        previews = edit_previews(frame, self.session.pending) if frame is not None and self.session.pending else []
        return preview_overlay(previews, head=self._head_length())

    def _head_length(self) -> float:
        frame = self.session.frame
        if frame is None or not len(frame):
            return 0.1
        x, y = frame.column("x"), frame.column("y")
        extent = max(float(np.ptp(x)), float(np.ptp(y)), 1e-6)
        return ARROW_HEAD_FRACTION * extent

    # -- widgets -------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        w = pn.widgets
        self.selection_info = pn.pane.Markdown("", css_classes=["hill-selection"], margin=(0, 10))
        self.memory_info = pn.pane.Markdown("", margin=(0, 10))
        buttons = {
            "translate": w.Button(label="Translate by dx, dy", width=150),
            "contract": w.Button(label="Contract / expand", width=150),
            "pin": w.Button(label="Pin selection", width=150),
            "remember_a": w.Button(label="Remember as A", width=120),
            "remember_b": w.Button(label="Remember as B", width=120),
            "separate": w.Button(label="Separate A and B", width=150),
            "merge": w.Button(label="Merge A onto B", width=150),
            "update": w.Button(label="Update edit", width=110),
            "remove": w.Button(label="Remove edit", color="warning", width=110),
            "apply": w.Button(label="Apply edits", color="primary", width=150,
                              css_classes=["hill-apply"]),
        }
        self.buttons = buttons
        buttons["translate"].on_click(lambda e: self._spawn(self.translate_selection, self.dx, self.dy))
        buttons["contract"].on_click(lambda e: self._spawn(self.contract_selection, self.factor))
        buttons["pin"].on_click(lambda e: self._spawn(self.pin_selection))
        buttons["remember_a"].on_click(lambda e: self.remember("A"))
        buttons["remember_b"].on_click(lambda e: self.remember("B"))
        buttons["separate"].on_click(lambda e: self._spawn(self.separate_memory, self.margin))
        buttons["merge"].on_click(lambda e: self._spawn(self.merge_memory))
        buttons["update"].on_click(lambda e: self._spawn(self.update_edited))
        buttons["remove"].on_click(lambda e: self._spawn(self.remove_edited))
        buttons["apply"].on_click(self._on_apply)
        # a plain HTML table: Panel's Tabulator could keep showing no rows after its data changed
        # (seen in the load test, a page loaded on busy cores)
        self.pending_table = pn.pane.DataFrame(self._pending_frame(), index=False, max_height=120, width=360,
                                               css_classes=["hill-pending"])
        self.value_inputs = (w.FloatInput.from_param(self.param.edit_value_1, width=80, label="value"),
                             w.FloatInput.from_param(self.param.edit_value_2, width=80, label="–"))
        # the pending edit to change or remove, picked by name (the table's rows cannot be clicked)
        self.edit_picker = w.Select(label="Edit", options=self._edit_options(), width=190)
        self.edit_picker.param.watch(lambda e: setattr(self, "edited", e.new), "value")
        self.param.watch(self._on_edited_changed, "edited")
        self.teaches_info = pn.pane.Markdown("", css_classes=["hill-teaches"], margin=(0, 10), width=360)
        self.teacher.param.watch(lambda e: self._show_teaches(), [n for n in self.teacher.param if n != "name"])

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()  # Session changes made on other threads reach this page on its loop
        p, w = self.param, pn.widgets
        num = dict(width=90)
        # grouped by what a person wants to do with the selection: move it, reshape it,
        # relate it to another group, or hold it in place
        groups = pn.Tabs(
            ("Move", pn.Column(
                pn.pane.Markdown("Drag the black handle (point-draw tool) or click a destination:",
                                 margin=(0, 10)),
                w.Checkbox.from_param(p.tap_moves),
                pn.Row(w.FloatInput.from_param(p.dx, **num), w.FloatInput.from_param(p.dy, **num),
                       self.buttons["translate"]))),
            ("Shape", pn.Row(w.FloatSlider.from_param(p.factor, width=190), self.buttons["contract"])),
            ("Group", pn.Column(
                pn.Row(self.buttons["remember_a"], self.buttons["remember_b"]),
                self.memory_info,
                pn.Row(w.FloatInput.from_param(p.margin, width=120), self.buttons["separate"]),
                self.buttons["merge"])),
            ("Pin", self.buttons["pin"]),
            dynamic=False, css_classes=["hill-edit-groups"])
        return pn.Column(
            pn.pane.Markdown("### Edit the selection", margin=(0, 10)),
            self.selection_info,
            groups,
            pn.pane.Markdown("### Pending edits", margin=(0, 10)),
            self.pending_table,
            pn.Card(self.edit_picker,
                    pn.Row(*self.value_inputs, w.FloatInput.from_param(p.edit_weight, width=80)),
                    pn.Row(self.buttons["update"], self.buttons["remove"]),
                    title="Change or remove a pending edit", collapsed=True, sizing_mode="stretch_width",
                    css_classes=["hill-change-edit"]),  # collapsed: the side column fits a 1000 px page
            self.teaches_info,
            pn.Row(w.IntInput.from_param(p.epochs, width=80), self.buttons["apply"]),
            self.teacher.disclosure(),
            width=380,
        )

    # -- making edits --------------------------------------------------------------------------
    def translate_selection(self, dx: float, dy: float, redraw: bool = True):
        """Add a translate edit for the current selection (the handle then sits at its target)."""
        pending = self.session.add_edit(Edit.translate(self.session.selection_selector(), dx, dy))
        if self.anchor is not None:
            self.handle_edit = pending.edit_id
            self._place_handle(self.anchor[0] + dx, self.anchor[1] + dy, redraw)
        return pending

    def translate_to(self, x: float, y: float, redraw: bool = True):
        """Move the selection's centroid to (x, y): a new translate edit, or the handle's edit updated.

        redraw=False when the browser already shows the handle there (the user dragged it):
        redrawing a handle under the point-draw tool would break the user's next drag.
        """
        if self.anchor is None:
            raise EditError("the selection is empty; select points on the latent view first")
        dx, dy = x - self.anchor[0], y - self.anchor[1]
        if self.handle_edit is not None and any(p.edit_id == self.handle_edit for p in self.session.pending):
            old = next(p for p in self.session.pending if p.edit_id == self.handle_edit).edit
            pending = self.session.update_edit(self.handle_edit, Edit.translate(old.selector, dx, dy, old.weight))
            self._place_handle(x, y, redraw)
            return pending
        return self.translate_selection(dx, dy, redraw)

    def contract_selection(self, factor: float):
        return self.session.add_edit(Edit.contract(self.session.selection_selector(), factor))

    def pin_selection(self):
        return self.session.add_edit(Edit.pin(self.session.selection_selector()))

    def remember(self, slot: str) -> None:
        """Keep the current selection as A or B for separate/merge."""
        def keep():
            self.memory[slot] = Remembered.of(self.session)
        if self.actions.call(keep) is not FAILED:
            self._show_memory()

    def _memory(self, slot: str) -> Selector:
        if slot not in self.memory:
            raise EditError(f"no selection remembered as {slot}; select points and click 'Remember as {slot}'")
        return self.memory[slot].selector_now(self.session)

    def separate_memory(self, margin: float):
        return self.session.add_edit(Edit.separate(self._memory("A"), self._memory("B"), margin))

    def merge_memory(self):
        return self.session.add_edit(Edit.merge(self._memory("A"), self._memory("B")))

    # -- editing pending edits -------------------------------------------------------------------
    def _find(self, edit_id: int | None):
        for p in self.session.pending:
            if p.edit_id == edit_id:
                return p
        raise EditError("choose a pending edit first (in the Edit list under Change or remove a pending edit)")

    @staticmethod
    def _editable(op: str) -> tuple[str | None, str | None]:
        """The numeric parameters of an op that the editor's two value fields show."""
        return {"translate": ("dx", "dy"), "contract": ("factor", None), "separate": ("margin", None)}.get(
            op, (None, None))

    def update_edited(self):
        """Replace the chosen pending edit's parameters with the editor's values."""
        item = self._find(self.edited)
        e = item.edit
        v1, v2, weight = self.edit_value_1, self.edit_value_2, self.edit_weight
        if e.op == "translate":
            new = Edit.translate(e.selector, v1, v2, weight)
        elif e.op == "contract":
            new = Edit.contract(e.selector, v1, weight)
        elif e.op == "separate":
            new = Edit.separate(e.selector, e.partner, v1, weight)
        else:
            new = Edit(e.op, e.selector, e.params, weight)
        pending = self.session.update_edit(item.edit_id, new)
        if item.edit_id == self.handle_edit and self.anchor is not None and e.op == "translate":
            self._place_handle(self.anchor[0] + v1, self.anchor[1] + v2)
        return pending

    def remove_edited(self) -> None:
        item = self._find(self.edited)
        self.session.remove_edit(item.edit_id)
        if item.edit_id == self.handle_edit:
            self.handle_edit = None
            if self.anchor is not None:
                self._place_handle(*self.anchor)
        self.edited = None

    def _on_edited_changed(self, event) -> None:
        self.edit_picker.value = event.new
        try:
            e = self._find(event.new).edit
        except EditError:
            return
        names = self._editable(e.op)
        values = [float(e.param(name)) if name else 0.0 for name in names]
        for widget, name in zip(self.value_inputs, names):
            widget.label = name or "–"
            widget.disabled = name is None
        self.param.update(edit_value_1=values[0], edit_value_2=values[1], edit_weight=e.weight)

    # -- applying ----------------------------------------------------------------------------------
    def teacher_config(self) -> TeacherConfig:
        return self.teacher.config()

    def _show_teaches(self) -> None:
        self.teaches_info.object = self.teacher.summary([p.edit.op for p in self.session.pending])

    async def _on_apply(self, event=None) -> None:
        await self.apply()

    async def apply(self) -> bool:
        """Freeze the pending edits into a teacher and train with it (off the event loop)."""
        def go():
            return self.session.apply_edits(self.epochs, self.teacher_config())
        done = await self.run(go)
        self.sync()
        if done is FAILED:
            return False
        self.handle_edit = None
        self.actions.notify(f"training {self.epochs} epochs with the edits as teacher "
                            f"({done.n_covered:,} samples covered)")
        return True

    # -- handle events (event loop) -----------------------------------------------------------------
    def _on_handle_moved(self, data=None, **_) -> None:
        data = data or {}
        xs, ys = list(data.get("x", [])), list(data.get("y", []))
        if not xs or self.anchor is None:
            return
        x, y = float(xs[0]), float(ys[0])
        if self._handle_at(x, y):
            return  # an echo of where Python put the handle
        self._spawn(self.translate_to, x, y, False)

    def _on_tap(self, x=None, y=None, **_) -> None:
        if self.tap_moves and x is not None and y is not None:
            self._spawn(self.translate_to, float(x), float(y))

    def _handle_at(self, x: float, y: float) -> bool:
        current = self.handle_pipe.data or {}
        cx, cy = list(current.get("x", [])), list(current.get("y", []))
        return bool(cx) and abs(cx[0] - x) < 1e-9 and abs(cy[0] - y) < 1e-9

    def _place_handle(self, x: float, y: float, redraw: bool = True) -> None:
        data = {"x": [float(x)], "y": [float(y)]}
        if redraw:
            self._redraw(self.handle_pipe, data=data)
        else:  # keep the record without sending the browser what it already shows
            self.handle_pipe.update(data=data)

    def _redraw(self, stream: hv.streams.Stream, **contents) -> None:
        """Redraw the handle or the previews; on the latent view, with its own layers (one update)."""
        if self.latent_view is not None:
            self.latent_view.redraw(stream, **contents)
        else:
            stream.event(**contents)

    def _spawn(self, fn, *args) -> None:
        """Run a Session-changing call off the event loop, then resync."""
        self.spawn(fn, *args, then=lambda result: self.sync())

    # -- keeping up with the Session (event loop) ---------------------------------------------------
    def sync(self) -> None:
        """Refresh the handle, lists and previews if the selection, frame or edits changed."""
        s = self.session
        seen = (s.selection, s.frame, s.pending)
        selection_changed, frame_changed, edits_changed = (new is not old for new, old in zip(seen, self.shown))
        if not (selection_changed or frame_changed or edits_changed):
            return
        self.shown = seen
        if self.handle_edit is not None and not any(p.edit_id == self.handle_edit for p in s.pending):
            self.handle_edit = None  # applied or removed
        # only what changed is redrawn: during training the frame changes every few seconds
        if selection_changed or (frame_changed and len(s.selection)):
            self._follow_selection(keep_edit=not selection_changed)
        if selection_changed:
            self._show_selection()
        if edits_changed:
            self.pending_table.object = self._pending_frame()
            self.edit_picker.options = self._edit_options()
            if not any(p.edit_id == self.edited for p in s.pending):
                self.edited = None  # applied or removed
            self._show_teaches()
        if edits_changed or (frame_changed and s.pending):
            self._redraw(self._refresh, version=self._refresh.version + 1)

    def _follow_selection(self, keep_edit: bool) -> None:
        """Put the handle on the selection's centroid, or on the target of the edit it drives."""
        s = self.session
        if s.frame is None or not len(s.selection):
            self.anchor, self.handle_edit = None, None
            if self.handle_pipe.data != _EMPTY_HANDLE:
                self._redraw(self.handle_pipe, data=dict(_EMPTY_HANDLE))
            return
        self.anchor = centroid(s.frame, s.selection)
        if not keep_edit or self.handle_edit is None:
            self.handle_edit = None
            self._place_handle(*self.anchor)
            return
        edit = self._find(self.handle_edit).edit
        self._place_handle(self.anchor[0] + edit.param("dx"), self.anchor[1] + edit.param("dy"))

    def _show_selection(self) -> None:
        s = self.session
        if not len(s.selection):
            self.selection_info.object = "No selection: draw a box or lasso on the cloud."
            return
        how = s.selector.describe() if s.selector is not None else "ids"
        self.selection_info.object = f"**{len(s.selection):,} points selected** ({how})"

    def _show_memory(self) -> None:
        lines = [f"{slot}: {len(m.ids):,} points ({m.selector.describe()})" for slot, m in sorted(self.memory.items())]
        self.memory_info.object = "  \n".join(lines) or "A and B: none remembered yet"

    def _edit_options(self) -> dict[str, int | None]:
        return {"choose…": None} | {f"#{p.edit_id} {p.edit.op} ({len(p.resolved.ids):,} points)": p.edit_id
                                    for p in self.session.pending}

    def _pending_frame(self) -> pd.DataFrame:
        rows = [{"edit": p.edit_id, "op": p.edit.op, "points": len(p.resolved.ids),
                 "description": p.edit.describe(), "weight": p.edit.weight} for p in self.session.pending]
        return pd.DataFrame(rows, columns=["edit", "op", "points", "description", "weight"])

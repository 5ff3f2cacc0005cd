"""Bokeh recomputes a page's model graph when a freeze ends, even when nothing in it changed.

`DocumentModelManager.recompute` walks every model reachable from the document's roots, and
Bokeh runs it at the end of every `freeze()` block: HoloViews freezes around each plot update
and each browser event it handles, Panel around its own updates. A page of this app holds
about 450 models, and HoloViews' updates (new data, ranges, ticks) leave the graph as it was,
so most walks found nothing (40% of a selection's redraw, measured on a page in-process).
`skip_idle_recomputes` (run on import) makes a freeze end with a recompute only if the graph
may have changed inside it: Bokeh invalidated it (a property now refers to other models), or
the roots changed (`add_root` and `remove_root` rely on the freeze's end). Changes outside a
freeze recompute at once, as before.
"""
from __future__ import annotations

from bokeh.document.models import DocumentModelManager

__all__ = ["skip_idle_recomputes"]

_bokeh_invalidate = DocumentModelManager.invalidate


def _roots(manager: DocumentModelManager) -> tuple[int, ...]:
    document = manager._document()
    return tuple(map(id, document.roots)) if document is not None else ()


def _push_freeze(self: DocumentModelManager) -> None:
    if self._freeze_count == 0:
        self._hill_changed, self._hill_roots = False, _roots(self)
    self._freeze_count += 1


def _pop_freeze(self: DocumentModelManager) -> None:
    self._freeze_count -= 1
    if self._freeze_count == 0 and (self.__dict__.get("_hill_changed", True)
                                    or _roots(self) != self.__dict__.get("_hill_roots")):
        self.recompute()


def _invalidate(self: DocumentModelManager) -> None:
    self._hill_changed = True
    _bokeh_invalidate(self)


def skip_idle_recomputes() -> None:
    """Patch Bokeh's document model manager (once per process)."""
    DocumentModelManager._push_freeze = _push_freeze
    DocumentModelManager._pop_freeze = _pop_freeze
    DocumentModelManager.invalidate = _invalidate


skip_idle_recomputes()

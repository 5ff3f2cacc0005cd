"""DatasetUpload: a file drop box that sends files in chunks and refuses what is over a size limit.

Panel's FileInput sends a whole file, base64-encoded, in one websocket message: past the
server's message size the socket closes and the page goes dead without a word. FileDropper
sends chunks of `chunk_size` bytes, and the first chunk says how many follow, so a file over
`max_bytes` is refused at its first chunk (`on_refused(name, at_least_bytes)`, the page shows
one line) and its remaining chunks are dropped as they come: memory stays bounded and the
page stays connected.
"""
from __future__ import annotations

from typing import Callable

import panel as pn
import param

__all__ = ["CHUNK_BYTES", "DatasetUpload"]

CHUNK_BYTES = 1 << 20  # one websocket message per MiB


class DatasetUpload(pn.widgets.FileDropper):
    """FileDropper with a server-side size limit (None: no limit)."""

    max_bytes = param.Integer(default=None, allow_None=True, doc="Largest file accepted, in bytes")

    _rename = {**pn.widgets.FileDropper._rename, "max_bytes": None}  # checked here, not in the browser

    def __init__(self, on_refused: Callable[[str, int], None] = lambda name, size: None, **params):
        params.setdefault("chunk_size", CHUNK_BYTES)
        super().__init__(**params)
        self._on_refused = on_refused
        self._received: dict[str, int] = {}
        self._refused: set[str] = set()

    def _process_event(self, event) -> None:
        data = event.data
        if event.event_name == "upload_event":
            name = data["name"]
            if data["chunk"] == 1:
                self._refused.discard(name)
                self._received[name] = 0
            if name in self._refused:
                return
            self._received[name] = self._received.get(name, 0) + len(data["data"])
            at_least = max((data["total_chunks"] - 1) * self.chunk_size, self._received[name])
            if self.max_bytes is not None and at_least > self.max_bytes:
                self._refused.add(name)
                self._file_buffer.pop(name, None)
                self._on_refused(name, at_least)
                return
        super()._process_event(event)

    def file(self) -> tuple[str, bytes] | None:
        """The uploaded file's name and bytes (the last one dropped), or None."""
        if not self.value:
            return None
        name, content = list(self.value.items())[-1]
        return name, content.encode("utf-8") if isinstance(content, str) else bytes(content)

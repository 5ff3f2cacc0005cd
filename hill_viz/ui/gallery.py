"""Gallery: thumbnails of a capped sample of the selected samples, for image datasets.

The thumbnails are drawn into one PNG on the server (a grid of tiles, each captioned
`label>prediction`, red when the model is wrong), so 48 images cost the page one image.
"""
from __future__ import annotations

import io

import numpy as np
import panel as pn
import param
from PIL import Image, ImageDraw

from hill_viz.ui.component import SessionComponent

__all__ = ["Gallery", "mosaic", "sample_rows"]

WRONG = (213, 94, 0)     # Okabe-Ito vermillion, as in the palette's "wrong"
RIGHT = (40, 40, 40)


def sample_rows(rows: np.ndarray, cap: int, seed: int = 0) -> np.ndarray:
    """At most `cap` of the rows, sorted; the same rows give the same sample."""
    if len(rows) <= cap:
        return np.sort(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=cap, replace=False))


def mosaic(images: np.ndarray, captions: list[str], wrong: np.ndarray, columns: int = 8,
           scale: int = 6) -> Image.Image:
    """A grid of grey thumbnails (M, H, W), each scaled up `scale` times, with a caption line."""
    m, h, w = images.shape
    lo = images.reshape(m, -1).min(1)[:, None, None]
    hi = images.reshape(m, -1).max(1)[:, None, None]
    grey = 255 - (255 * (images - lo) / np.maximum(hi - lo, 1e-6)).astype(np.uint8)  # dark ink on white
    tile_w, tile_h, caption_h, gap = w * scale, h * scale, 14, 6
    rows = -(-m // columns)
    sheet = Image.new("RGB", (columns * (tile_w + gap) + gap, rows * (tile_h + caption_h + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for i in range(m):
        r, c = divmod(i, columns)
        x, y = gap + c * (tile_w + gap), gap + r * (tile_h + caption_h + gap)
        tile = np.kron(grey[i], np.ones((scale, scale), dtype=np.uint8))
        sheet.paste(Image.fromarray(tile, "L"), (x, y))
        draw.text((x + 2, y + tile_h + 1), captions[i], fill=WRONG if wrong[i] else RIGHT)
    return sheet


class Gallery(SessionComponent):
    """Thumbnails of up to `cap` selected samples of an image dataset."""

    cap = param.Integer(default=48, bounds=(1, 400), doc="Most thumbnails shown")
    columns = param.Integer(default=8, bounds=(1, 40))

    def __init__(self, **params):
        super().__init__(**params)
        self.shown_rows = np.empty(0, dtype=np.int64)
        self.image = pn.pane.PNG(None, css_classes=["hill-gallery"])
        self.caption = pn.pane.Markdown("", margin=(0, 10))
        self.watch(("frame", "selection"), self._refresh)
        self._refresh({"selection"})

    def _refresh(self, names: set[str]) -> None:
        s = self.session
        frame, dataset = s.frame, s.dataset
        if frame is None or dataset is None or dataset.image_shape is None:
            self.shown_rows = np.empty(0, dtype=np.int64)
            self.image.object = None
            self.caption.object = "*The gallery shows images of image datasets (e.g. digits).*"
            return
        rows = s.selected_rows()
        self.shown_rows = sample_rows(rows, self.cap)
        if not len(self.shown_rows):
            self.image.object = None
            self.caption.object = "*Select points to see their images.*"
            return
        images = np.asarray(dataset.features[self.shown_rows], dtype=np.float32)
        images = images.reshape(len(self.shown_rows), *dataset.image_shape)
        labels, preds = frame.column("label")[self.shown_rows], frame.column("pred")[self.shown_rows]
        names = frame.class_names
        captions = [f"{names[a]}>{names[b]}" for a, b in zip(labels, preds)]
        sheet = mosaic(images, captions, labels != preds, columns=self.columns)
        buffer = io.BytesIO()
        sheet.save(buffer, format="PNG")
        self.image.object = buffer.getvalue()
        self.image.width, self.image.height = sheet.size
        self.caption.object = (f"{len(self.shown_rows)} of {len(rows):,} selected samples · "
                               "caption: label>prediction, red when wrong")

    def __panel__(self) -> pn.viewable.Viewable:
        self.attach()
        return pn.Column(self.caption, self.image)

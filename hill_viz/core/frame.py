"""LatentFrame: the columnar table every view reads, one row per sample.

Columns: id (int64), x, y (float32 view position), label, pred (int16), correct (bool),
confidence (float32), split (int8), one small-int column per attribute. About 25 bytes a
point plus one or two per attribute; the latents themselves are not kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hill_viz.core.data import Dataset
from hill_viz.core.edits import SelectionContext
from hill_viz.core.model import LatentModel, infer
from hill_viz.core.projection import Projection

BASE_COLUMNS = ("id", "x", "y", "label", "pred", "correct", "confidence", "split")


@dataclass(eq=False)
class LatentFrame:
    df: pd.DataFrame                         # numpy-backed columns, wrapped with copy=False
    class_names: tuple[str, ...]
    attribute_categories: dict[str, tuple[str, ...]]

    @classmethod
    def build(cls, model: LatentModel, projection: Projection, dataset: Dataset,
              batch_size: int = 65536) -> "LatentFrame":
        n = dataset.n_samples
        x = np.empty(n, dtype=np.float32)
        y = np.empty(n, dtype=np.float32)
        pred = np.empty(n, dtype=np.int16)
        conf = np.empty(n, dtype=np.float32)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            z, logits = infer(model, dataset.features[start:stop], batch_size=batch_size)
            xy = projection.transform(z)
            x[start:stop], y[start:stop] = xy[:, 0], xy[:, 1]
            shifted = np.exp(logits - logits.max(1, keepdims=True))
            prob = shifted / shifted.sum(1, keepdims=True)
            pred[start:stop] = prob.argmax(1)
            conf[start:stop] = prob.max(1)
        labels = dataset.labels.astype(np.int16)
        columns = {"id": dataset.ids, "x": x, "y": y, "label": labels, "pred": pred,
                   "correct": pred == labels, "confidence": conf, "split": dataset.split}
        columns.update(dataset.attributes)
        return cls(pd.DataFrame(columns, copy=False), tuple(dataset.class_names),
                   dict(dataset.attribute_categories))

    def __len__(self) -> int:
        return len(self.df)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(self.attribute_categories)

    def column(self, name: str) -> np.ndarray:
        return self.df[name].to_numpy()

    def context(self) -> SelectionContext:
        """What selectors resolve against."""
        return SelectionContext(
            ids=self.column("id"), x=self.column("x"), y=self.column("y"), labels=self.column("label"),
            attributes={a: self.column(a) for a in self.attribute_names},
            attribute_categories=self.attribute_categories, class_names=self.class_names)

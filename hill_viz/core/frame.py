"""LatentFrame: the columnar table every view reads, one row per sample.

Columns: id (int64), x, y (float32 view position), label, pred (int16), correct (bool),
confidence, loss (float32), split (int8), one small-int column per attribute. That is
31 bytes a point plus one or two per attribute (at most 40 in all for up to four int8
attributes); the latents themselves are not kept. The columns are numpy arrays, wrapped
without copying in `df`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hill_viz.core.data import SPLITS, Dataset
from hill_viz.core.edits import SelectionContext
from hill_viz.core.ids import IdIndex
from hill_viz.core.model import LatentModel, infer
from hill_viz.core.projection import Projection
from hill_viz.errors import DataError

__all__ = ["BASE_COLUMNS", "CONTINUOUS_COLUMNS", "LatentFrame"]

BASE_COLUMNS = ("id", "x", "y", "label", "pred", "correct", "confidence", "loss", "split")
CONTINUOUS_COLUMNS = ("confidence", "loss")
CORRECT_CATEGORIES = ("wrong", "right")


@dataclass(eq=False)
class LatentFrame:
    df: pd.DataFrame                         # numpy-backed columns, wrapped with copy=False
    class_names: tuple[str, ...]
    attribute_categories: dict[str, tuple[str, ...]]
    _extent: tuple[float, float, float, float] | None = field(default=None, repr=False)
    _id_index: IdIndex | None = field(default=None, repr=False)

    @classmethod
    def build(cls, model: LatentModel, projection: Projection, dataset: Dataset,
              batch_size: int = 65536) -> "LatentFrame":
        """Infer every sample in batches; only one batch of features is in memory at a time."""
        n = dataset.n_samples
        x = np.empty(n, dtype=np.float32)
        y = np.empty(n, dtype=np.float32)
        pred = np.empty(n, dtype=np.int16)
        conf = np.empty(n, dtype=np.float32)
        loss = np.empty(n, dtype=np.float32)
        labels = dataset.labels.astype(np.int16)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            z, logits = infer(model, dataset.features[start:stop], batch_size=batch_size)  # (B, d), (B, C)
            xy = projection.transform(z)
            x[start:stop], y[start:stop] = xy[:, 0], xy[:, 1]
            log_prob = logits - logits.max(1, keepdims=True)
            log_prob -= np.log(np.exp(log_prob).sum(1, keepdims=True))
            pred[start:stop] = log_prob.argmax(1)
            conf[start:stop] = np.exp(log_prob.max(1))
            loss[start:stop] = -log_prob[np.arange(stop - start), labels[start:stop]]
        return cls.from_arrays(x, y, label=labels, pred=pred, confidence=conf, loss=loss,
                               ids=dataset.ids, split=dataset.split, class_names=dataset.class_names,
                               attributes=dataset.attributes, attribute_categories=dataset.attribute_categories)

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray, *, label: np.ndarray | None = None,
                    pred: np.ndarray | None = None, confidence: np.ndarray | None = None,
                    loss: np.ndarray | None = None, ids: np.ndarray | None = None,
                    split: np.ndarray | None = None, class_names=None,
                    attributes: dict[str, np.ndarray] | None = None,
                    attribute_categories: dict[str, tuple[str, ...]] | None = None) -> "LatentFrame":
        """A frame from view positions and whatever else is known (benchmarks, precomputed latents).

        Missing columns get neutral values: label 0, pred = label, confidence 1, loss 0,
        ids 0..N-1, split train. Arrays already of the frame's dtypes are not copied.
        """
        x = np.asarray(x, dtype=np.float32)
        n = len(x)
        y = np.asarray(y, dtype=np.float32)
        label = np.zeros(n, np.int16) if label is None else np.asarray(label, dtype=np.int16)
        pred = label if pred is None else np.asarray(pred, dtype=np.int16)
        if class_names is None:
            class_names = [str(c) for c in range(int(max(label.max(initial=0), pred.max(initial=0))) + 1)]
        attributes = dict(attributes or {})
        attribute_categories = {k: tuple(v) for k, v in (attribute_categories or {}).items()}
        columns = {
            "id": np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64),
            "x": x, "y": y, "label": label, "pred": pred, "correct": pred == label,
            "confidence": np.ones(n, np.float32) if confidence is None else np.asarray(confidence, np.float32),
            "loss": np.zeros(n, np.float32) if loss is None else np.asarray(loss, np.float32),
            "split": np.zeros(n, np.int8) if split is None else np.asarray(split, dtype=np.int8),
        }
        for name, codes in attributes.items():
            if name in columns or name not in attribute_categories:
                raise DataError(f"attribute {name!r} clashes with a frame column or has no categories; rename it "
                                "or give its categories")
            columns[name] = np.asarray(codes)
        for name, col in columns.items():
            if col.shape != (n,):
                raise DataError(f"frame column {name!r} has shape {col.shape}, expected ({n},) like x")
        return cls(pd.DataFrame(columns, copy=False), tuple(str(c) for c in class_names), attribute_categories)

    def __len__(self) -> int:
        return len(self.df)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(self.attribute_categories)

    @property
    def categorical_columns(self) -> tuple[str, ...]:
        """Columns a view can colour or break down by category."""
        return ("label", "pred", "correct", "split", *self.attribute_names)

    def categories(self, name: str) -> tuple[str, ...]:
        """Names of the codes 0..K-1 of a categorical column."""
        if name in ("label", "pred"):
            return self.class_names
        if name == "correct":
            return CORRECT_CATEGORIES
        if name == "split":
            return SPLITS
        if name in self.attribute_categories:
            return self.attribute_categories[name]
        raise DataError(f"{name!r} is not a categorical column; use one of {', '.join(self.categorical_columns)}")

    def codes(self, name: str) -> np.ndarray:
        """A categorical column as integer codes (bool `correct` viewed as int8, no copy)."""
        col = self.column(name)
        return col.view(np.int8) if col.dtype == np.bool_ else col

    def column(self, name: str) -> np.ndarray:
        return self.df[name].to_numpy()

    @property
    def nbytes(self) -> int:
        """Bytes held by the frame's columns."""
        return int(sum(self.column(c).nbytes for c in self.df.columns))

    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of the finite positions; a unit box if there are none."""
        if self._extent is None:
            x, y = self.column("x"), self.column("y")
            with np.errstate(invalid="ignore"):
                box = (np.nanmin(x), np.nanmax(x), np.nanmin(y), np.nanmax(y)) if len(x) else (np.nan,) * 4
            box = tuple(float(v) for v in box)
            self._extent = box if np.isfinite(box).all() else (0.0, 1.0, 0.0, 1.0)
        return self._extent

    def describe_rows(self, rows: np.ndarray) -> pd.DataFrame:
        """The given rows as people read them: category names instead of codes."""
        rows = np.asarray(rows, dtype=np.int64)
        out = {"id": self.column("id")[rows], "x": self.column("x")[rows], "y": self.column("y")[rows]}
        for name in ("label", "pred", "correct", "split", *self.attribute_names):
            names = np.asarray(self.categories(name), dtype=object)
            out[name] = names[np.clip(self.codes(name)[rows], 0, len(names) - 1)] if len(names) else ""
        out["confidence"] = self.column("confidence")[rows]
        out["loss"] = self.column("loss")[rows]
        return pd.DataFrame(out)

    @property
    def id_index(self) -> IdIndex:
        """The frame's id -> row index, built once."""
        if self._id_index is None:
            self._id_index = IdIndex(self.column("id"))
        return self._id_index

    def rows_of_ids(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of the given ids (EditError for an id not in the frame)."""
        return self.id_index.rows(ids)

    def context(self) -> SelectionContext:
        """What selectors resolve against."""
        return SelectionContext(
            ids=self.column("id"), x=self.column("x"), y=self.column("y"), labels=self.column("label"),
            attributes={a: self.column(a) for a in self.attribute_names},
            attribute_categories=self.attribute_categories, class_names=self.class_names, index=self.id_index)

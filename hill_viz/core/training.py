"""Trainer: the only training loop. CE + teacher loss; seeded, checkpointed, cancellable.

Callbacks are no-op hooks with one signature each; they steer the loop only through
`trainer.should_stop` (Lightning-style). Batch order for epoch e is drawn from
(seed, e), so a run resumed from an epoch checkpoint continues exactly as if unbroken.

An epoch goes over the dataset's train rows, or over a `stream`: anything with
`n_rows` (training rows an epoch) and `batches(epoch)` yielding batches with `ids`,
`features` and `labels` (a `hill_viz.scale.BatchStream` over a Parquet folder); the
teachers then find a batch's covered samples by id, and the dataset (a bounded sample)
serves only the validation accuracy.
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from hill_viz.core.data import Dataset
from hill_viz.core.foreground import pause_while_busy
from hill_viz.core.group_metrics import MIN_GROUP, worst_group_over_attributes
from hill_viz.core.model import LatentModel, infer
from hill_viz.core.teacher import Teacher
from hill_viz.core.provenance.files import atomic_write
from hill_viz.errors import ConfigError, TrainingError, WorkspaceError


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    progress_every: int = 20  # steps between on_batch_end calls

    def __post_init__(self):
        if not 0 <= self.epochs <= 10_000:
            raise ConfigError(f"epochs must be between 0 and 10000, got {self.epochs}")
        if not 1 <= self.batch_size <= 1_000_000:
            raise ConfigError(f"batch size must be between 1 and 1000000, got {self.batch_size}")
        if not (np.isfinite(self.lr) and 0 < self.lr <= 10):
            raise ConfigError(f"learning rate must be in (0, 10], got {self.lr}")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight decay must be >= 0, got {self.weight_decay}")

    def to_dict(self) -> dict:
        return asdict(self)


class Callback:
    """Hooks the trainer calls; override what you need."""

    def on_fit_start(self, trainer: "Trainer", total_steps: int) -> None: ...
    def on_batch_end(self, trainer: "Trainer", step: int, total_steps: int, loss: float) -> None: ...
    def on_epoch_end(self, trainer: "Trainer", epoch: int, metrics: dict) -> None: ...
    def on_fit_end(self, trainer: "Trainer", metrics: dict) -> None: ...


class Trainer:
    """Owns the optimizer state across `fit` calls, so training can go on in segments."""

    def __init__(self, model: LatentModel, config: TrainConfig = TrainConfig()):
        self.model = model
        self.config = config
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.epoch = 0          # epochs completed, over all segments
        self.step = 0           # optimizer steps, over all segments
        self.should_stop = False
        self.paused = False

    # -- the loop ----------------------------------------------------------------------
    def fit(self, dataset: Dataset, epochs: int | None = None, teachers: Sequence[Teacher] = (),
            callbacks=(), eval_split: str = "val", stream=None) -> dict:
        """Train `epochs` more epochs (default: config.epochs) with the teachers in force.

        stream: the epochs' batches (see the module), instead of the dataset's train rows.
        Returns the last completed epoch's metrics ({} if cancelled in the first epoch).
        """
        epochs = self.config.epochs if epochs is None else epochs
        if not 0 <= epochs <= 10_000:
            raise ConfigError(f"epochs must be between 0 and 10000, got {epochs}")
        self.should_stop = False
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # same arithmetic in any thread or process: replay is exact
        try:
            return self._fit(dataset, epochs, teachers, callbacks, eval_split, stream)
        finally:
            torch.set_num_threads(threads)

    def steps_per_epoch(self, dataset: Dataset, stream=None) -> int:
        rows = stream.n_rows if stream is not None else len(dataset.indices("train"))
        return max(1, -(-rows // self.config.batch_size))

    def _fit(self, dataset, epochs, teachers, callbacks, eval_split, stream) -> dict:
        steps_per_epoch = self.steps_per_epoch(dataset, stream)
        total = steps_per_epoch * epochs
        for cb in callbacks:
            cb.on_fit_start(self, total)
        metrics: dict = {}
        done = 0
        for _ in range(epochs):
            start_state = copy.deepcopy(self._weights_and_optimizer())
            self.model.train()
            running, steps = 0.0, 0
            for s, batch in enumerate(self._batches(dataset, stream)):
                if self.should_stop:
                    break
                pause_while_busy()  # a server's pages first
                loss, parts = self._step(*batch, teachers)
                if not math.isfinite(loss):
                    self._diverged(start_state, loss, callbacks, metrics)
                running += loss
                done += 1
                steps += 1
                if done % self.config.progress_every == 0 or s == steps_per_epoch - 1:
                    for cb in callbacks:
                        cb.on_batch_end(self, done, total, loss)
            if self.should_stop:  # roll back the partial epoch: a run is a whole number of epochs
                self.model.load_state_dict(start_state["model"])
                self.optimizer.load_state_dict(start_state["optimizer"])
                self.step = start_state["step"]
                break
            if not self.weights_finite():
                self._diverged(start_state, running, callbacks, metrics)
            self.epoch += 1
            metrics = {"epoch": self.epoch, "train_loss": running / max(steps, 1),
                       f"{eval_split}_acc": accuracy(self.model, dataset, eval_split)}
            for cb in callbacks:
                cb.on_epoch_end(self, self.epoch, metrics)
        for cb in callbacks:
            cb.on_fit_end(self, metrics)
        return metrics

    def _batches(self, dataset: Dataset, stream):
        """This epoch's batches as (features (B, F), labels (B,), dataset rows or None, ids or None)."""
        if stream is not None:
            for b in stream.batches(self.epoch):
                yield b.features, b.labels, None, b.ids
            return
        train_rows = dataset.indices("train")
        bs = self.config.batch_size
        perm = train_rows[np.random.default_rng([self.config.seed, self.epoch]).permutation(len(train_rows))]
        for start in range(0, len(perm), bs):
            rows = np.sort(perm[start:start + bs])
            yield dataset.features[rows], dataset.labels[rows], rows, None

    def _step(self, features: np.ndarray, labels: np.ndarray, rows: np.ndarray | None, ids: np.ndarray | None,
              teachers: Sequence[Teacher]):
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        z, logits = self.model(x)
        loss = F.cross_entropy(logits, torch.from_numpy(np.asarray(labels, dtype=np.int64)))
        parts = {}
        for k, teacher in enumerate(teachers):
            t_loss, t_parts = (teacher.loss(torch.from_numpy(rows), z) if rows is not None
                               else teacher.loss_of_ids(ids, z))
            loss = loss + t_loss
            parts.update({f"{name}_{k}": v for name, v in t_parts.items()})
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach()), parts

    def weights_finite(self) -> bool:
        return all(bool(torch.isfinite(t).all()) for t in self.model.state_dict().values() if t.is_floating_point())

    def _diverged(self, start_state: dict, loss: float, callbacks, metrics: dict) -> None:
        """A non-finite loss or weight: back to the start of the epoch (the last checkpoint), then stop."""
        self.model.load_state_dict(start_state["model"])
        self.optimizer.load_state_dict(start_state["optimizer"])
        self.step = start_state["step"]
        for cb in callbacks:
            cb.on_fit_end(self, metrics)
        what = f"the loss became {loss}" if not math.isfinite(loss) else "a weight became NaN or infinite"
        raise TrainingError(f"training stopped in epoch {self.epoch + 1}: {what}; the model is back where epoch "
                            f"{self.epoch} left it. Lower the learning rate, the edits' weights or moves, "
                            "or lambda, and train again")

    def _weights_and_optimizer(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step}

    def cancel(self) -> None:
        """Stop after the current step; the epoch in progress is rolled back."""
        self.should_stop = True

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "epoch": self.epoch, "step": self.step, "spec": self.model.spec.to_dict(),
                "config": self.config.to_dict()}

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write atomically (temp file, fsync, rename): a crash or a full disk never leaves half a checkpoint.

        Refuses weights that are NaN or infinite: such a checkpoint is never written.
        """
        if not self.weights_finite():
            raise TrainingError(f"checkpoint {Path(path).name} not written: the model's weights are NaN or "
                                "infinite; revert to an earlier event")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, lambda fh: torch.save(self.state_dict(), fh))

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        state = load_checkpoint_file(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])


def load_checkpoint_file(path: str | os.PathLike) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WorkspaceError(f"checkpoint {path} is missing; the workspace is incomplete") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise WorkspaceError(f"checkpoint {path} cannot be read ({type(exc).__name__}); "
                             "it may be damaged: revert to an earlier event") from None


# -- evaluation --------------------------------------------------------------------------

def predict(model: LatentModel, dataset: Dataset, rows: np.ndarray) -> np.ndarray:
    _, logits = infer(model, dataset.features, rows)
    return logits.argmax(1)


def accuracy(model: LatentModel, dataset: Dataset, split: str) -> float:
    rows = dataset.indices(split)
    if len(rows) == 0:
        return float("nan")
    return float((predict(model, dataset, rows) == dataset.labels[rows]).mean())


def evaluate(model: LatentModel, dataset: Dataset, min_group: int = MIN_GROUP) -> dict:
    """Accuracy per split; per class, per attribute value and worst (label, attribute value)
    group (`group_metrics.worst_group_over_attributes`) on the test split (held out), or on
    the val split when there is no test split."""
    out: dict = {}
    preds = {}
    for split in ("train", "val", "test"):
        rows = dataset.indices(split)
        preds[split] = (rows, predict(model, dataset, rows) if len(rows) else np.empty(0, dtype=np.int64))
        correct = preds[split][1] == dataset.labels[rows]
        out[f"{split}_acc"] = float(correct.mean()) if len(rows) else None
    rows, pred = preds["test"] if len(preds["test"][0]) else preds["val"]
    labels = dataset.labels[rows]
    correct = pred == labels
    out["per_class_acc"] = _group_acc(correct, labels, dataset.class_names)
    out["group_acc"] = {name: _group_acc(correct, codes[rows], dataset.attribute_categories[name])
                        for name, codes in dataset.attributes.items()}
    out["worst_group_acc"] = worst_group_over_attributes(
        labels, correct, (codes[rows] for codes in dataset.attributes.values()), min_group)
    return out


def _group_acc(correct: np.ndarray, codes: np.ndarray, names) -> dict:
    return {str(names[c]): float(correct[codes == c].mean()) for c in range(len(names)) if (codes == c).any()}

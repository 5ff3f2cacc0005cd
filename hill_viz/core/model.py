"""LatentModel: an encoder f: X -> Z in R^d and a linear head h: Z -> logits."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from hill_viz.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """How to build a LatentModel; stored in provenance so a replay rebuilds the same one."""

    n_features: int
    n_classes: int
    latent_dim: int = 16
    hidden: int = 128
    image_shape: tuple[int, int] | None = None  # set -> small CNN encoder
    arch: str = "auto"  # "auto" (CNN for images), "mlp" or "cnn"

    def __post_init__(self):
        if not 2 <= self.latent_dim <= 512:
            raise ConfigError(f"latent_dim must be between 2 and 512, got {self.latent_dim}")
        if self.hidden < 2:
            raise ConfigError(f"hidden must be at least 2, got {self.hidden}")
        if self.arch not in ("auto", "mlp", "cnn"):
            raise ConfigError(f"arch must be 'auto', 'mlp' or 'cnn', got {self.arch!r}")
        if self.arch == "cnn" and self.image_shape is None:
            raise ConfigError("arch='cnn' needs an image dataset (features with an image_shape)")

    @property
    def uses_cnn(self) -> bool:
        return self.arch == "cnn" or (self.arch == "auto" and self.image_shape is not None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_shape"] = list(self.image_shape) if self.image_shape else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        d = dict(d)
        d["image_shape"] = tuple(d["image_shape"]) if d.get("image_shape") else None
        return cls(**d)


class _MLPEncoder(nn.Module):
    def __init__(self, n_features: int, hidden: int, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, latent_dim),
        )

    def forward(self, x):  # (B, F) -> (B, d)
        return self.net(x)


class _CNNEncoder(nn.Module):
    """Two 3x3 conv blocks and a linear layer, for small single-channel images (e.g. 8x8)."""

    def __init__(self, image_shape: tuple[int, int], hidden: int, latent_dim: int):
        super().__init__()
        h, w = image_shape
        self.image_shape = (h, w)
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        )
        self.fc = nn.Sequential(nn.Linear(32 * h * w, hidden), nn.ReLU(), nn.Linear(hidden, latent_dim))

    def forward(self, x):  # (B, H*W) -> (B, d)
        x = x.view(-1, 1, *self.image_shape)
        return self.fc(self.conv(x).flatten(1))


class LatentModel(nn.Module):
    """encoder -> latent z (B, d) -> linear head -> logits (B, C)."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        if spec.uses_cnn:
            self.encoder = _CNNEncoder(spec.image_shape, spec.hidden, spec.latent_dim)
        else:
            self.encoder = _MLPEncoder(spec.n_features, spec.hidden, spec.latent_dim)
        self.head = nn.Linear(spec.latent_dim, spec.n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.head(z)


def build_model(spec: ModelSpec, seed: int = 0) -> LatentModel:
    """A freshly initialised model; the same spec and seed give the same weights.

    The weights are drawn from a `torch.Generator` of this build alone (never torch's
    global RNG), so builds on several threads at once stay exact. The draws are those of
    `torch.manual_seed(seed)` followed by constructing the modules, so older workspaces
    replay to the same weights.
    """
    with torch.device("meta"):  # shapes only: construction draws nothing
        model = LatentModel(spec)
    model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():  # construction order: the order the old global draws took
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                _reset(module, generator)
    return model


def _reset(module: nn.Linear | nn.Conv2d, generator: torch.Generator) -> None:
    """`reset_parameters` of Linear/Conv2d, drawing from `generator`."""
    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
    if module.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def fix_threads(intra_op: int = 1) -> None:
    """Set torch's thread counts once, at process start (a server): every thread then sees
    the same settings, and nothing changes them while sessions train side by side."""
    torch.set_num_threads(intra_op)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already ran: keep what is there
        pass


@torch.inference_mode()
def infer(model: LatentModel, features: np.ndarray, rows: np.ndarray | None = None,
          batch_size: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Latents (N, d) float32 and logits (N, C) float32 for the given rows, in batches.

    `features` may be a memory-mapped array: only one batch is in memory at a time.
    """
    model.eval()
    n = len(features) if rows is None else len(rows)
    z_out = np.empty((n, model.spec.latent_dim), dtype=np.float32)
    logit_out = np.empty((n, model.spec.n_classes), dtype=np.float32)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        idx = slice(start, stop) if rows is None else np.sort(rows[start:stop])
        x = torch.from_numpy(np.ascontiguousarray(features[idx], dtype=np.float32))
        z, logits = model(x)
        if rows is None:
            z_out[start:stop], logit_out[start:stop] = z.numpy(), logits.numpy()
        else:
            order = np.argsort(np.argsort(rows[start:stop]))  # back to the caller's row order
            z_out[start:stop], logit_out[start:stop] = z.numpy()[order], logits.numpy()[order]
    return z_out, logit_out

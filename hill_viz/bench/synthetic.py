"""A synthetic latent frame for benchmarks: blobs in the view plane, no model needed."""
from __future__ import annotations

import numpy as np

from hill_viz.core.frame import LatentFrame

N_CLASSES = 10
GROUPS = ("a", "b", "c")


def synthetic_frame(n: int, seed: int = 0) -> LatentFrame:
    """n points in 10 Gaussian blobs with labels, predictions (90% right) and a 3-value attribute."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, N_CLASSES, n, dtype=np.int16)
    angle = 2 * np.pi * label / N_CLASSES
    x = rng.standard_normal(n, dtype=np.float32)
    x += (4 * np.cos(angle)).astype(np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    y += (4 * np.sin(angle)).astype(np.float32)
    pred = np.where(rng.random(n, dtype=np.float32) < 0.9, label, (label + 1) % N_CLASSES).astype(np.int16)
    confidence = rng.random(n, dtype=np.float32)
    group = rng.integers(0, len(GROUPS), n, dtype=np.int8)
    return LatentFrame.from_arrays(x, y, label=label, pred=pred, confidence=confidence,
                                   class_names=[str(c) for c in range(N_CLASSES)],
                                   attributes={"group": group}, attribute_categories={"group": GROUPS})


def lasso_polygon(n_vertices: int = 50, seed: int = 0) -> np.ndarray:
    """A hand-drawn-like closed lasso (V, 2) around part of the synthetic cloud."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    r = 3.0 + 0.6 * np.sin(3 * t) + rng.uniform(-0.15, 0.15, n_vertices)
    return np.column_stack([1.0 + r * np.cos(t), 0.5 + 0.8 * r * np.sin(t)])


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

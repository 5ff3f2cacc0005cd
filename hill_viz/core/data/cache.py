"""The on-disk cache of large generated datasets, read back as a read-only memmap.

An entry is a folder of `.npy` files built under a temporary name and renamed when
complete, so a folder that exists is whole and two processes may race to build it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hill_viz.errors import DataError

# fill(features) writes the (N, F) features in place and returns labels, split, attributes
Fill = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]


def cache_dir() -> Path:
    """Where large generated datasets are kept: `$HILL_VIZ_CACHE`, else `~/.cache/hill-viz`."""
    root = os.environ.get("HILL_VIZ_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "hill-viz"


def cached_arrays(folder: Path, shape: tuple[int, int], attribute_keys: Sequence[str], fill: Fill, meta: dict,
                  what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Features (a read-only memmap), labels, split and attributes from `folder`, built first if needed.

    `what` names the work in messages ("generating blobs with n=..."); `meta` goes to meta.json.
    """
    if not (folder / "meta.json").exists():
        _build_entry(folder, shape, attribute_keys, fill, meta, what)
    features = np.load(folder / "features.npy", mmap_mode="r")
    if features.shape != shape:
        raise DataError(f"cache entry {folder} is inconsistent; delete that folder and load again")
    attributes = {key: np.load(folder / f"attr_{key}.npy") for key in attribute_keys}
    return features, np.load(folder / "labels.npy"), np.load(folder / "split.npy"), attributes


def _build_entry(folder: Path, shape: tuple[int, int], attribute_keys: Sequence[str], fill: Fill, meta: dict,
                 what: str) -> None:
    # built under a temporary name and renamed at the end, so a folder that exists is complete
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    n, n_features = shape
    needed = n * (n_features * 4 + 9 + len(attribute_keys))
    try:
        tmp.mkdir(parents=True)
        free = shutil.disk_usage(tmp).free
        if free < needed:
            raise DataError(
                f"{what} needs {needed / 2**30:.1f} GiB in {folder.parent}, "
                f"but only {free / 2**30:.1f} GiB is free; lower n or set HILL_VIZ_CACHE to a larger disk"
            )
        features = np.lib.format.open_memmap(tmp / "features.npy", mode="w+", dtype=np.float32, shape=shape)
        labels, split, attributes = fill(features)
        features.flush()
        del features
        np.save(tmp / "labels.npy", labels)
        np.save(tmp / "split.npy", split)
        for key, codes in attributes.items():
            np.save(tmp / f"attr_{key}.npy", codes)
        (tmp / "meta.json").write_text(json.dumps(meta))
        os.rename(tmp, folder)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if (folder / "meta.json").exists():  # another process finished the same entry first
            return
        raise DataError(
            f"could not write the dataset cache in {folder.parent}: {err}; set HILL_VIZ_CACHE to a writable folder"
        ) from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

"""Datasets: the `Dataset` record, builtin generators, user-file loaders, validation.

`load_dataset("digits")`, `load_dataset("blobs", n=10**6, dim=16)` and
`load_dataset(path="my.parquet")` all return a `Dataset`; `ds.params` holds the keyword
arguments that rebuild it (`load_dataset(**ds.params)`).

Modules, small pieces first:
    dataset     the Dataset record and DatasetCard
    options     checks on seed, n and each dataset's options
    splits      train/val/test splits and random subsets
    cache       large generated data on disk (`$HILL_VIZ_CACHE`), read back as a memmap
    generate    chunked, prefix-stable generation of the synthetic builtins
    digits      `digits` and `digits-shortcut` (digits with a planted cue)
    blobs       `blobs` (Gaussian clusters with a group attribute)
    tabular     `tabular-shortcut` (embedding-like features with a planted cue)
    validation  a user file's arrays checked and made a Dataset
    tables      Parquet and CSV files;  npz: NPZ files;  files: which reader, by extension
    registry    `load_dataset`, `list_datasets` and the builtins' defaults
"""

from hill_viz.core.data.cache import cache_dir
from hill_viz.core.data.dataset import DEFAULT_SPLIT_FRACTIONS, SPLITS, TEST, TRAIN, VAL, Dataset, DatasetCard
from hill_viz.core.data.digits import CUE_PATTERNS, CUE_PIXELS
from hill_viz.core.data.generate import CHUNK_SIZE, GENERATOR_VERSION, MEMMAP_THRESHOLD_BYTES
from hill_viz.core.data.registry import DATASETS_DIR, builtin_default_n, list_datasets, load_dataset

__all__ = [
    "CHUNK_SIZE",
    "CUE_PATTERNS",
    "CUE_PIXELS",
    "DATASETS_DIR",
    "DEFAULT_SPLIT_FRACTIONS",
    "GENERATOR_VERSION",
    "MEMMAP_THRESHOLD_BYTES",
    "SPLITS",
    "TEST",
    "TRAIN",
    "VAL",
    "Dataset",
    "builtin_default_n",
    "DatasetCard",
    "cache_dir",
    "list_datasets",
    "load_dataset",
]

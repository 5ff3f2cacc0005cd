"""IdIndex: sample id -> row position, exact for ids in any order; built once per id array.

Every id lookup (selectors, previews, tables, teacher targets, bias reports) goes through
one `IdIndex`. Which path it takes is decided once, at construction, from all the ids:
- ids equal to 0..N-1: the id is the row (no memory, O(1) a lookup);
- ids in increasing order (a subset of a builtin, gapped ids): a binary search of the ids;
- any other order: a binary search of a sorted copy, mapped back through the sort order.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from hill_viz.errors import EditError

__all__ = ["IdIndex"]


class IdIndex:
    """Row positions of sample ids. `IdIndex.of(dataset)` reuses one index per dataset."""

    def __init__(self, ids: np.ndarray):
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1:
            raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
        self.ids = ids                                        # (N,) row -> id
        n = len(ids)
        increasing = bool((ids[1:] > ids[:-1]).all())
        self.is_identity = increasing and (n == 0 or (ids[0] == 0 and ids[-1] == n - 1))
        self._order = None if increasing else np.argsort(ids, kind="stable")   # (N,) sorted -> row
        self._sorted = ids if self._order is None else ids[self._order]       # (N,) ids, increasing

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Bytes the index holds beyond the ids themselves."""
        return 0 if self._order is None else self._order.nbytes + self._sorted.nbytes

    def contains(self, ids) -> np.ndarray:
        """Mask of the given ids that are in the index."""
        return self.find(ids)[1]

    def find(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """(row positions, found mask) of the given ids; rows where not found are meaningless."""
        return self._lookup(np.asarray(ids, dtype=np.int64))

    def rows(self, ids) -> np.ndarray:
        """Row positions (int64) of the given ids, in their order; EditError naming the first id
        that is not in the index."""
        wanted = np.asarray(ids, dtype=np.int64)
        rows, ok = self._lookup(wanted)
        if not ok.all():
            missing = wanted[~ok]
            raise EditError(f"{len(missing)} of the {wanted.size} selected ids are not in the dataset "
                            f"(first: {int(missing.flat[0])}); select points that exist, and make edits "
                            "on the dataset they are applied to")
        return rows

    def _lookup(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.ids)
        if self.is_identity:
            ok = (wanted >= 0) & (wanted < n)
            return np.where(ok, wanted, 0), ok
        if n == 0:
            return np.zeros(wanted.shape, dtype=np.int64), np.zeros(wanted.shape, dtype=bool)
        flat = wanted.ravel()
        # binary searches for increasing needles walk memory in order: far fewer cache misses
        ascending = bool((flat[1:] >= flat[:-1]).all())
        needles = flat if ascending else np.argsort(flat, kind="stable")
        pos = np.minimum(np.searchsorted(self._sorted, flat if ascending else flat[needles]), n - 1)
        if not ascending:
            pos[needles] = pos.copy()
        ok = self._sorted[pos] == flat
        rows = pos if self._order is None else self._order[pos]
        return rows.astype(np.int64, copy=False).reshape(wanted.shape), ok.reshape(wanted.shape)

    # -- one index per dataset -----------------------------------------------------------------
    _cache: "weakref.WeakKeyDictionary[object, IdIndex]" = weakref.WeakKeyDictionary()
    _cache_lock = threading.Lock()

    @classmethod
    def of(cls, dataset) -> "IdIndex":
        """The index of a dataset's `ids`, built on first use and kept as long as the dataset.

        Anything with an `ids` array that can be weakly referenced and hashed by identity
        works (a `Dataset`); the index is rebuilt if `ids` was replaced by another array.
        """
        with cls._cache_lock:
            index = cls._cache.get(dataset)
        if index is not None and index.ids is dataset.ids:
            return index
        index = cls(dataset.ids)
        with cls._cache_lock:
            cls._cache[dataset] = index
        return index

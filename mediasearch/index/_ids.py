"""Which ids an index holds, checked in O(batch): a growable byte map indexed by id.

Segment ids are dense SQLite rowids, so one byte per id up to the largest is small (10 M
ids: 10 MB); ids past :data:`MAP_LIMIT` fall back to a set.
"""

from __future__ import annotations

import numpy as np

MAP_LIMIT = 1 << 31


class IdSet:
    def __init__(self) -> None:
        self._map = np.zeros(1024, dtype=np.uint8)
        self._big: set[int] = set()

    def _grow(self, top: int) -> None:
        if top >= self._map.size:
            size = self._map.size
            while size <= top:
                size *= 2
            grown = np.zeros(size, dtype=np.uint8)
            grown[: self._map.size] = self._map
            self._map = grown

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """(n,) bool: which of ``ids`` are held."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros(ids.shape, dtype=bool)
        small = ids < min(self._map.size, MAP_LIMIT)
        out[small] = self._map[ids[small]] != 0
        if self._big:
            for j in np.flatnonzero(ids >= MAP_LIMIT):
                out[j] = int(ids[j]) in self._big
        return out

    def add(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        small = ids[ids < MAP_LIMIT]
        if small.size:
            self._grow(int(small.max()))
            self._map[small] = 1
        self._big.update(int(i) for i in ids[ids >= MAP_LIMIT])

    def discard(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        small = ids[(ids < self._map.size)]
        self._map[small] = 0
        for i in ids[ids >= MAP_LIMIT]:
            self._big.discard(int(i))

"""Exact inner-product search in NumPy: the oracle every backend is tested against."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from mediasearch.errors import IndexCorruptError
from mediasearch.index._ids import IdSet
from mediasearch.index.base import DuplicateIdError, check_unit, check_vectors, empty_result
from mediasearch.index.serial import pack, unpack


class ExactIndex:
    """Brute force; ``search`` is a full matrix product, ties broken by smaller id."""

    kind = "exact"

    def __init__(self, dim: int, metric: str = "ip") -> None:
        self.dim = int(dim)
        self.metric = metric
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._ids = np.zeros((0,), dtype=np.int64)
        self._held = IdSet()

    @property
    def count(self) -> int:
        return int(self._ids.shape[0])

    def __len__(self) -> int:
        return self.count

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors, ids = check_vectors(vectors, ids, self.dim, metric=self.metric)
        held = self._held.contains(ids)
        if held.any():
            raise DuplicateIdError(ids[held])
        self._vectors = np.concatenate([self._vectors, vectors])
        self._ids = np.concatenate([self._ids, ids])
        self._held.add(ids)

    def remove(self, ids: np.ndarray) -> int:
        drop = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._held.discard(self._ids[drop])
        self._vectors = self._vectors[~drop]
        self._ids = self._ids[~drop]
        return int(drop.sum())

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        params: Mapping[str, object] | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        nq = queries.shape[0]
        scores_out, ids_out = empty_result(nq, k)
        if self.count == 0 or k <= 0:
            return scores_out, ids_out
        vectors, ids = self._vectors, self._ids
        if allowed is not None:
            keep = np.isin(ids, np.asarray(allowed, dtype=np.int64))
            vectors, ids = vectors[keep], ids[keep]
            if not len(ids):
                return scores_out, ids_out
        scores = queries @ vectors.T
        for q in range(nq):
            order = np.lexsort((ids, -scores[q]))[:k]
            scores_out[q, : len(order)] = scores[q, order]
            ids_out[q, : len(order)] = ids[order]
        return scores_out, ids_out

    def flush(self) -> None:
        return None

    def iter_batches(self, batch: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.count, batch):
            yield self._ids[start : start + batch].copy(), self._vectors[start : start + batch].copy()

    def serialize(self) -> np.ndarray:
        buf = io.BytesIO()
        np.savez(buf, vectors=self._vectors, ids=self._ids, metric=np.array(self.metric))
        return pack(self.kind, buf.getvalue())

    @classmethod
    def deserialize(cls, buf: bytes | np.ndarray, label: str | Path = "index") -> "ExactIndex":
        kind, payload = unpack(buf, label)
        if kind != cls.kind:
            raise IndexCorruptError(label, f"holds a {kind!r} index, not {cls.kind!r}")
        try:
            with np.load(io.BytesIO(payload.tobytes())) as data:
                vectors, ids, metric = data["vectors"], data["ids"], str(data["metric"])
        except Exception as exc:  # any unreadable payload is the same problem to the caller
            raise IndexCorruptError(label, str(exc)) from exc
        index = cls(int(vectors.shape[1]), metric)
        index._vectors, index._ids = vectors.astype(np.float32), ids.astype(np.int64)
        index._held.add(index._ids)
        return index


__all__ = ["ExactIndex", "check_unit"]

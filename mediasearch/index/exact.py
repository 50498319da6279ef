"""Exact inner-product search in NumPy: the reference the FAISS index is tested against."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mediasearch.errors import IndexCorruptError
from mediasearch.index.base import atomic_write_bytes, check_vectors


class ExactIndex:
    """Brute-force index; ``search`` is a full matrix product, ties broken by smaller id."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._ids = np.zeros((0,), dtype=np.int64)

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors, ids = check_vectors(vectors, ids, self.dim)
        self.remove(ids)
        self._vectors = np.concatenate([self._vectors, vectors])
        self._ids = np.concatenate([self._ids, ids])

    def remove(self, ids: np.ndarray) -> int:
        drop = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._vectors = self._vectors[~drop]
        self._ids = self._ids[~drop]
        return int(drop.sum())

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        nq = queries.shape[0]
        scores_out = np.full((nq, k), -np.inf, dtype=np.float32)
        ids_out = np.full((nq, k), -1, dtype=np.int64)
        if len(self) == 0 or k <= 0:
            return scores_out, ids_out
        scores = queries @ self._vectors.T
        for q in range(nq):
            order = np.lexsort((self._ids, -scores[q]))[:k]
            scores_out[q, : len(order)] = scores[q, order]
            ids_out[q, : len(order)] = self._ids[order]
        return scores_out, ids_out

    def save(self, path: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, vectors=self._vectors, ids=self._ids)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> "ExactIndex":
        try:
            with np.load(path) as data:
                vectors, ids = data["vectors"], data["ids"]
        except Exception as exc:  # any unreadable file is the same problem to the caller
            raise IndexCorruptError(path, str(exc)) from exc
        index = cls(int(vectors.shape[1]))
        index._vectors, index._ids = vectors.astype(np.float32), ids.astype(np.int64)
        return index

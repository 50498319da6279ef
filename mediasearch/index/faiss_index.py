"""FAISS inner-product index keyed by segment ids (IndexIDMap2 over IndexFlatIP).

Exact search is right up to ~100k vectors on this class of machine (PERFORMANCE.md);
the protocol leaves room for an HNSW backend past that.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from mediasearch.errors import IndexCorruptError
from mediasearch.index.base import atomic_write_bytes, check_vectors

# Batched queries go through BLAS from 20 queries on (7.4x on batches of 20-200 here).
BLAS_THRESHOLD = 20
faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD
_ALL_THREADS = faiss.omp_get_max_threads()


class FaissIndex:
    def __init__(self, dim: int, *, _index: "faiss.Index | None" = None) -> None:
        self.dim = dim
        self._index = _index if _index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors, ids = check_vectors(vectors, ids, self.dim)
        if len(ids) == 0:
            return
        self.remove(ids)
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0 or len(self) == 0:
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        nq = queries.shape[0]
        if len(self) == 0 or k <= 0:
            return np.full((nq, max(k, 0)), -np.inf, dtype=np.float32), np.full((nq, max(k, 0)), -1, dtype=np.int64)
        # A few queries run on one OpenMP thread: on a busy machine (a GUI, an indexing job)
        # OpenMP's spinning threads made single queries 30x slower here (48 ms vs 1.5 ms
        # for 10k x 256); batches still use every core.
        faiss.omp_set_num_threads(1 if nq < BLAS_THRESHOLD else _ALL_THREADS)
        try:
            scores, ids = self._index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(_ALL_THREADS)
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return scores, ids.astype(np.int64)

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, faiss.serialize_index(self._index).tobytes())

    @classmethod
    def load(cls, path: Path) -> "FaissIndex":
        try:
            data = np.fromfile(path, dtype=np.uint8)
            index = faiss.deserialize_index(data)
        except Exception as exc:
            raise IndexCorruptError(path, str(exc)) from exc
        return cls(int(index.d), _index=index)

"""FAISS backends: ``flat`` (exact inner product) and ``hnsw`` (IndexHNSWFlat, inner
product), both keyed by segment ids through an IndexIDMap.

Two measured habits: batched queries go through BLAS from 20 queries on (7.4x on batches
of 20-200), and fewer queries run on one OpenMP thread (on a busy machine OpenMP's
spinning threads made single queries 30x slower: 48 ms vs 1.5 ms for 10k x 256).

HNSW cannot delete: ``remove`` keeps tombstones, excluded at search time by a selector,
so a search still returns k live hits where they exist.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator, Mapping

import faiss
import numpy as np

from mediasearch.errors import IndexCorruptError
from mediasearch.index._ids import IdSet
from mediasearch.index.base import DuplicateIdError, check_unit, check_vectors, empty_result
from mediasearch.index.serial import pack, unpack

BLAS_THRESHOLD = 20
faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD
_ALL_THREADS = faiss.omp_get_max_threads()
_omp = threading.Lock()  # omp_set_num_threads is process-wide

#: HNSW graph degree and build effort (see docs/PERFORMANCE.md for the measurements)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64


class _FaissIndex:
    kind = ""

    def __init__(self, dim: int, metric: str = "ip") -> None:
        if metric != "ip":
            raise ValueError(f"unsupported metric {metric!r} (supported: ip)")
        self.dim = int(dim)
        self.metric = metric
        self._index = self._make()
        self._held = IdSet()
        self._removed = IdSet()
        self._n_removed = 0
        self._dead_cache: list | None = None  # [dead ids, their selector, its negation]

    def _make(self) -> "faiss.Index":  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def count(self) -> int:
        return int(self._index.ntotal) - self._n_removed

    def __len__(self) -> int:
        return self.count

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors, ids = check_vectors(vectors, ids, self.dim, metric=self.metric)
        if not len(ids):
            return
        held = self._held.contains(ids)
        if held.any():
            raise DuplicateIdError(ids[held])
        self._index.add_with_ids(vectors, ids)
        self._held.add(ids)

    def _params(self, params: Mapping[str, object] | None) -> "faiss.SearchParameters":
        return faiss.SearchParameters()

    def _selector(self, allowed: np.ndarray | None) -> tuple[object | None, list]:
        """A FAISS selector for ``allowed`` minus tombstones (and the objects to keep alive)."""
        keep: list = []
        if allowed is not None:
            allowed = np.unique(np.asarray(allowed, dtype=np.int64))
            allowed = allowed[self._held.contains(allowed)]
            if self._n_removed:
                allowed = allowed[~self._removed.contains(allowed)]
            arr = np.ascontiguousarray(allowed)
            sel = faiss.IDSelectorBatch(arr.size, faiss.swig_ptr(arr))
            keep += [arr, sel]
            return sel, keep
        if self._n_removed:
            if self._dead_cache is None:  # built once per remove(), not per search (O(n))
                dead = np.ascontiguousarray(self._dead_ids())
                inner = faiss.IDSelectorBatch(dead.size, faiss.swig_ptr(dead))
                self._dead_cache = [dead, inner, faiss.IDSelectorNot(inner)]
            keep += self._dead_cache
            return self._dead_cache[2], keep
        return None, keep

    def _dead_ids(self) -> np.ndarray:
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return ids[self._removed.contains(ids)]

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        params: Mapping[str, object] | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        nq = queries.shape[0]
        if self.count == 0 or k <= 0:
            return empty_result(nq, k)
        if queries.shape[1] != self.dim:
            raise ValueError(f"queries must be (n, {self.dim}), got {queries.shape}")
        search_params = self._params(params)
        sel, keep = self._selector(allowed)
        if allowed is not None and not keep[0].size:
            return empty_result(nq, k)
        if sel is not None:
            search_params.sel = sel
        with _omp:
            faiss.omp_set_num_threads(1 if nq < BLAS_THRESHOLD else _ALL_THREADS)
            try:
                scores, ids = self._index.search(queries, int(k), params=search_params)
            finally:
                faiss.omp_set_num_threads(_ALL_THREADS)
        del keep
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return scores, ids.astype(np.int64)

    def flush(self) -> None:
        return None

    def iter_batches(self, batch: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            vectors = self._index.index.reconstruct_n(start, len(chunk))
            live = ~self._removed.contains(chunk) if self._n_removed else np.ones(len(chunk), bool)
            if live.any():
                yield chunk[live], vectors[live].astype(np.float32)

    def serialize(self) -> np.ndarray:
        removed = self._dead_ids() if self._n_removed else np.zeros(0, np.int64)
        body = faiss.serialize_index(self._index)
        size = np.array([len(removed)], dtype="<i8")
        return pack(self.kind, body, removed.astype("<i8"), size)  # one copy of the body, not four

    @classmethod
    def deserialize(cls, buf: bytes | np.ndarray, label: str | Path = "index") -> "_FaissIndex":
        kind, payload = unpack(buf, label)
        if kind != cls.kind:
            raise IndexCorruptError(label, f"holds a {kind!r} index, not {cls.kind!r}")
        # views into the checked payload: no copy of a multi-GB body before FAISS reads it
        n_removed = int(payload[-8:].view("<i8")[0]) if payload.size >= 8 else -1
        cut = payload.size - 8 - 8 * n_removed
        if n_removed < 0 or cut < 0:
            raise IndexCorruptError(label, "damaged tombstone table")
        removed = payload[cut:-8].view("<i8").astype(np.int64)
        try:
            index = faiss.deserialize_index(payload[:cut])
        except Exception as exc:
            raise IndexCorruptError(label, str(exc)) from exc
        expected = faiss.IndexIDMap2 if cls.kind == "flat" else faiss.IndexIDMap
        if not isinstance(index, expected):
            raise IndexCorruptError(label, f"holds a FAISS {type(index).__name__}, not a {cls.kind} index")
        out = cls.__new__(cls)
        out.dim, out.metric = int(index.d), "ip"
        out._index = index
        out._held, out._removed = IdSet(), IdSet()
        ids = faiss.vector_to_array(out._index.id_map).astype(np.int64)
        out._held.add(ids)
        out._removed.add(removed)
        out._n_removed = int(len(removed))
        out._dead_cache = None
        out._after_load()
        return out

    def _after_load(self) -> None:
        return None


class FlatIndex(_FaissIndex):
    """Exact inner product (IndexIDMap2 over IndexFlatIP); remove deletes for real."""

    kind = "flat"

    def _make(self) -> "faiss.Index":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def remove(self, ids: np.ndarray) -> int:
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        ids = ids[self._held.contains(ids)]
        if not len(ids):
            return 0
        removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        self._held.discard(ids)
        return removed


class HNSWIndex(_FaissIndex):
    """Approximate inner product (IndexHNSWFlat). ``ef_search`` is the default search effort;
    ``params={"ef_search": n}`` overrides it per search."""

    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        metric: str = "ip",
        *,
        M: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> None:
        self.M, self.ef_construction, self.ef_search = M, ef_construction, ef_search
        super().__init__(dim, metric)

    def _make(self) -> "faiss.Index":
        hnsw = faiss.IndexHNSWFlat(self.dim, self.M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.ef_construction
        hnsw.hnsw.efSearch = self.ef_search
        return faiss.IndexIDMap(hnsw)

    def _after_load(self) -> None:
        inner = faiss.downcast_index(self._index.index)
        self.M = int(inner.hnsw.nb_neighbors(1))
        self.ef_construction = int(inner.hnsw.efConstruction)
        self.ef_search = int(inner.hnsw.efSearch)

    def _params(self, params: Mapping[str, object] | None) -> "faiss.SearchParameters":
        p = faiss.SearchParametersHNSW()
        p.efSearch = int((params or {}).get("ef_search") or self.ef_search)
        return p

    def search(self, queries: np.ndarray, k: int, *, params=None, allowed=None):  # type: ignore[no-untyped-def]
        knobs = dict(params or {})
        knobs["ef_search"] = max(int(knobs.get("ef_search") or self.ef_search), int(k))  # ef below k loses hits
        scores, ids = super().search(queries, k, params=knobs, allowed=allowed)
        if k <= 0 or self.count == 0:
            return scores, ids
        # A filtered graph walk (a selective ``allowed``, many tombstones) can stop with
        # fewer than k hits although k live ones exist (1% allowed: most queries came back
        # short); those rows are answered by an exact scan of the flat storage instead.
        found = (ids >= 0).sum(axis=1)
        if found.min() >= k:
            return scores, ids
        sel, keep = self._selector(allowed)
        available = self.count if allowed is None else int(keep[0].size)
        short = np.flatnonzero(found < min(int(k), available))
        if len(short):
            queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)[short]
            scores[short], ids[short] = self._scan(queries, int(k), sel)
        del keep
        return scores, ids

    def _scan(self, queries: np.ndarray, k: int, sel: object | None) -> tuple[np.ndarray, np.ndarray]:
        """Exact search of the graph's flat storage under ``sel`` (an id selector)."""
        storage = faiss.downcast_index(faiss.downcast_index(self._index.index).storage)
        search_params = faiss.SearchParameters()
        translated = None
        if sel is not None:  # storage rows are positions: translate them to ids for ``sel``
            translated = faiss.IDSelectorTranslated(self._index.id_map, sel)
            search_params.sel = translated
        with _omp:
            faiss.omp_set_num_threads(1 if len(queries) < BLAS_THRESHOLD else _ALL_THREADS)
            try:
                scores, rows = storage.search(queries, k, params=search_params)
            finally:
                faiss.omp_set_num_threads(_ALL_THREADS)
        del translated
        id_map = faiss.vector_to_array(self._index.id_map).astype(np.int64) if (rows >= 0).any() else np.zeros(1, np.int64)
        ids = np.where(rows >= 0, id_map[np.maximum(rows, 0)], -1)
        return np.where(ids < 0, -np.inf, scores).astype(np.float32), ids

    def remove(self, ids: np.ndarray) -> int:
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        ids = ids[self._held.contains(ids) & ~self._removed.contains(ids)]
        self._removed.add(ids)
        self._n_removed += len(ids)
        self._dead_cache = None
        return int(len(ids))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        super().add(vectors, ids)  # a removed id stays held: ids are never reused

    def serialize(self) -> np.ndarray:
        faiss.downcast_index(self._index.index).hnsw.efSearch = int(self.ef_search)
        return super().serialize()


__all__ = ["FlatIndex", "HNSWIndex", "check_unit"]

"""Hybrid text search: BM25 and dense sentence vectors, fused by reciprocal rank fusion.

Each side contributes its top ``depth`` candidates (default max(4k, 50)); the fused list
is ordered by RRF score, ties by ascending id. The dense side is either exact search over
vectors held here, or any ``dense_search(query_vector, n) -> (scores, ids)`` callable
(e.g. a library's FAISS index), so the same fusion serves tests and the real library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from mediasearch.textindex.bm25 import BM25Index
from mediasearch.textindex.fusion import RRF_K, rank_by_score, rrf_fuse

#: query vector (d,) float32 and a depth -> (scores (depth,), ids (depth,), -1 padded)
DenseSearch = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]
#: texts -> (n, d) float32, L2-normalised
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class TextHit:
    """A fused result: ``score`` is the RRF score; ranks are 1-based, None when absent from that side."""

    id: int
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    dense_score: float | None = None


class HybridTextIndex:
    """BM25 + dense search over texts keyed by int ids.

    Build it from ``texts`` and ``ids`` plus either ``vectors`` ((n, d) float32,
    L2-normalised, row i for ids[i]), or ``embed`` (then the texts are embedded here), or
    ``dense_search`` (an external vector index). ``embed`` is also how text queries get
    their vector; without it pass ``query_vector`` to :meth:`search`.
    """

    def __init__(
        self,
        texts: Sequence[str],
        ids: Sequence[int],
        *,
        embed: Embed | None = None,
        vectors: np.ndarray | None = None,
        dense_search: DenseSearch | None = None,
        bm25: BM25Index | None = None,
        rrf_k: int = RRF_K,
    ) -> None:
        self.ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self.bm25 = bm25 if bm25 is not None else BM25Index(texts, self.ids)
        self.embed = embed
        self.rrf_k = rrf_k
        self._vectors: np.ndarray | None = None
        if dense_search is None:
            if vectors is None and embed is not None:
                vectors = embed(list(texts)) if len(texts) else None
            if vectors is not None:
                self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
                if self._vectors.shape[0] != self.ids.size:
                    raise ValueError(f"{self._vectors.shape[0]} vectors but {self.ids.size} ids")
                dense_search = self._exact_search
        self.dense_search = dense_search

    def _exact_search(self, query_vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self._vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
        order = np.lexsort((self.ids, -scores))[:n]
        return scores[order], self.ids[order]

    def dense(self, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        """Dense ranking: the ``n`` best (id, cosine) best first (ties by ascending id)."""
        if self.dense_search is None or n <= 0:
            return []
        scores, ids = self.dense_search(np.asarray(query_vector, dtype=np.float32).reshape(-1), n)
        return rank_by_score(np.asarray(ids).reshape(-1), np.asarray(scores).reshape(-1))[:n]

    def search(
        self, query: str, k: int, *, query_vector: np.ndarray | None = None, depth: int | None = None
    ) -> list[TextHit]:
        """The ``k`` best fused hits for ``query``. Dense is skipped when there is no vector side."""
        depth = depth or max(4 * k, 50)
        lexical = self.bm25.search(query, depth)
        if query_vector is None and self.embed is not None and self.dense_search is not None:
            query_vector = self.embed([query])[0]
        semantic = self.dense(query_vector, depth) if query_vector is not None else []
        fused = rrf_fuse([[i for i, _ in lexical], [i for i, _ in semantic]], self.rrf_k, limit=k)
        lex = {i: (r, s) for r, (i, s) in enumerate(lexical, start=1)}
        sem = {i: (r, s) for r, (i, s) in enumerate(semantic, start=1)}
        return [
            TextHit(
                id=i,
                score=score,
                bm25_rank=lex.get(i, (None, None))[0],
                dense_rank=sem.get(i, (None, None))[0],
                bm25_score=lex.get(i, (None, None))[1],
                dense_score=sem.get(i, (None, None))[1],
            )
            for i, score in fused
        ]

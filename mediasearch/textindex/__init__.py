"""Text search over transcript segments: BM25 (bm25s), dense sentence vectors, and
reciprocal rank fusion of the two. Pure functions and small classes, no Library needed.

- :func:`tokenize`, :class:`BM25Index`, :func:`bm25_search` (lexical, exact keywords)
- :func:`rrf_fuse` (rank fusion, deterministic tie-break by id)
- :class:`HybridTextIndex` (BM25 + dense, fused)
"""

from mediasearch.textindex.bm25 import BM25Index, bm25_search, tokenize
from mediasearch.textindex.fusion import RRF_K, rank_by_score, rrf_fuse
from mediasearch.textindex.hybrid import HybridTextIndex, TextHit

__all__ = [
    "BM25Index",
    "HybridTextIndex",
    "RRF_K",
    "TextHit",
    "bm25_search",
    "rank_by_score",
    "rrf_fuse",
    "tokenize",
]

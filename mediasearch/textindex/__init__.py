"""Fusing text rankings: reciprocal rank fusion and the hybrid (BM25 + dense) rule.

The rankings themselves come from the library: BM25 from the catalog's FTS5 index over
transcript segments (kept transactionally by triggers), dense hits from the vector store.
"""

from mediasearch.textindex.fusion import RRF_K, rank_by_score, rrf_fuse
from mediasearch.textindex.hybrid import TextHit, depth_for, fuse_hybrid
from mediasearch.textindex.terms import STOP_WORDS, query_terms

__all__ = ["RRF_K", "STOP_WORDS", "TextHit", "depth_for", "fuse_hybrid", "query_terms", "rank_by_score", "rrf_fuse"]

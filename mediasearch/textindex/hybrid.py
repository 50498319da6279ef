"""Hybrid text search: a lexical (BM25) ranking and a dense (sentence vector) ranking of
the same segments, fused by reciprocal rank fusion.

The library supplies both sides (BM25 from the catalog's FTS5 index over transcript
segments, dense hits from the encoder's vector store); this module only fuses them, so
the rule is one function that the CLI, the GUI and the evaluation all share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mediasearch.textindex.fusion import RRF_K, rrf_fuse


@dataclass(frozen=True)
class TextHit:
    """A fused result: ``score`` is the RRF score; ranks are 1-based, None when absent from that side."""

    id: int
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    dense_score: float | None = None


def depth_for(k: int) -> int:
    """How many candidates each side contributes for ``k`` fused hits."""
    return max(4 * k, 50)


def fuse_hybrid(
    lexical: Sequence[tuple[int, float]],
    semantic: Sequence[tuple[int, float]],
    k: int,
    *,
    rrf_k: int = RRF_K,
) -> list[TextHit]:
    """The ``k`` best fused hits from two rankings [(id, score)] best first."""
    fused = rrf_fuse([[i for i, _ in lexical], [i for i, _ in semantic]], rrf_k, limit=k)
    lex = {i: (r, s) for r, (i, s) in reversed(list(enumerate(lexical, start=1)))}
    sem = {i: (r, s) for r, (i, s) in reversed(list(enumerate(semantic, start=1)))}
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

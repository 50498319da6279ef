"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009).

score(d) = sum over rankings r containing d of weight_r / (k + rank_r(d)), ranks from 1.
Ties (equal fused scores) are broken by ascending id, so the order never depends on
dict or set iteration.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

RRF_K = 60


def rank_by_score(ids: Iterable[int], scores: Iterable[float]) -> list[tuple[int, float]]:
    """(id, score) pairs best first: descending score, ties by ascending id; ids < 0 dropped."""
    pairs = [(int(i), float(s)) for i, s in zip(ids, scores) if int(i) >= 0]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    return pairs


def rrf_fuse(
    rankings: Sequence[Sequence[int]],
    k: int = RRF_K,
    *,
    weights: Sequence[float] | None = None,
    limit: int | None = None,
) -> list[tuple[int, float]]:
    """Fuse rankings (each a sequence of ids, best first) into (id, fused score) best first.

    An id repeated within one ranking counts at its best rank only. ``weights`` (one per
    ranking, default 1) scale each ranking's contribution; ``limit`` keeps the top ones.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        seen: set[int] = set()
        for rank, doc in enumerate(np.asarray(ranking, dtype=np.int64).tolist(), start=1):
            if doc in seen:
                continue
            seen.add(doc)
            fused[doc] = fused.get(doc, 0.0) + weight / (k + rank)
    # rounding keeps float summation noise from reordering true ties
    out = sorted(fused.items(), key=lambda p: (-round(p[1], 12), p[0]))
    return out[:limit] if limit is not None else out

"""Retrieval metrics over one ranked list and its relevance judgements.

A *ranking* is a sequence of document keys, best first (here: asset content hashes).
*qrels* map a key to a graded relevance: 0 = not relevant, 1 = relevant, 2 = highly
relevant. A key missing from qrels is *unjudged* and counts as not relevant (the TREC
convention); :func:`judged_at_k` says how much of a ranking that assumption touches.

Conventions, as in trec_eval:

- relevant means ``grade >= min_grade`` (1 by default);
- P@k divides by ``k`` even when the ranking is shorter than ``k``;
- AP divides by the number of relevant documents in qrels, retrieved or not;
- NDCG@k uses linear gains (gain = grade) and a log2(rank + 1) discount; the ideal DCG
  sorts every judged grade, retrieved or not;
- recall, AP, R-precision and NDCG are undefined (NaN) for a query without relevant
  judgements; callers leave such queries out of means.

When ``scores`` are given, NDCG treats tied scores as one group whose gain is shared
equally (McSherry & Najork 2008, as scikit-learn's ``ndcg_score``), so the result does not
depend on how the search happened to order ties. The other metrics use the order given.
"""

from __future__ import annotations

import logging
import math
from typing import Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

Qrels = Mapping[str, int]

#: recall levels of the interpolated precision-recall curve (trec_eval's iprec_at_recall)
RECALL_LEVELS: np.ndarray = np.linspace(0.0, 1.0, 11)


def _relevant_flags(ranking: Sequence[str], qrels: Qrels, k: int | None, min_grade: int) -> np.ndarray:
    """(min(k, n),) bool: whether each of the top ``k`` is relevant."""
    top = ranking if k is None else ranking[:k]
    return np.fromiter((qrels.get(doc, 0) >= min_grade for doc in top), dtype=bool, count=len(top))


def num_relevant(qrels: Qrels, *, min_grade: int = 1) -> int:
    """How many documents in ``qrels`` are relevant."""
    return sum(1 for g in qrels.values() if g >= min_grade)


def precision_at_k(ranking: Sequence[str], qrels: Qrels, k: int, *, min_grade: int = 1) -> float:
    """Relevant documents among the top ``k``, divided by ``k``."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return float(_relevant_flags(ranking, qrels, k, min_grade).sum()) / k


def recall_at_k(ranking: Sequence[str], qrels: Qrels, k: int, *, min_grade: int = 1) -> float:
    """Relevant documents among the top ``k``, divided by all relevant documents (NaN if none)."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return math.nan
    return float(_relevant_flags(ranking, qrels, k, min_grade).sum()) / total


def reciprocal_rank(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> float:
    """1 / rank of the first relevant document (ranks from 1); 0 when none is retrieved."""
    for rank, doc in enumerate(ranking, start=1):
        if qrels.get(doc, 0) >= min_grade:
            return 1.0 / rank
    return 0.0


def average_precision(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> float:
    """Mean over relevant documents of the precision at the rank each is retrieved
    (0 for those never retrieved); NaN when qrels hold no relevant document."""
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return math.nan
    flags = _relevant_flags(ranking, qrels, None, min_grade)
    if not flags.any():
        return 0.0
    ranks = np.flatnonzero(flags) + 1  # 1-based ranks of the relevant hits
    precisions = np.arange(1, len(ranks) + 1) / ranks
    return float(precisions.sum()) / total


def r_precision(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> float:
    """Precision at R, R = the number of relevant documents (NaN when R = 0)."""
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return math.nan
    return precision_at_k(ranking, qrels, total, min_grade=min_grade)


def judged_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float:
    """Fraction of the top ``k`` positions holding a judged document (any grade); a
    ranking shorter than ``k`` leaves its empty positions unjudged."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return sum(1 for doc in ranking[:k] if doc in qrels) / k


def _discounts(n: int) -> np.ndarray:
    """(n,) float64: 1 / log2(rank + 1) for ranks 1..n."""
    return 1.0 / np.log2(np.arange(2, n + 2, dtype=np.float64))


def _tie_groups(scores: Sequence[float]) -> list[tuple[int, int]]:
    """[start, end) index ranges of runs of equal scores in a ranking sorted best first."""
    groups: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(scores) + 1):
        if i == len(scores) or scores[i] != scores[start]:
            groups.append((start, i))
            start = i
    return groups


def dcg_at_k(gains: Sequence[float], k: int, *, scores: Sequence[float] | None = None) -> float:
    """Discounted cumulative gain of the first ``k`` gains (ranking order).

    With ``scores`` (same length, non-increasing), each run of tied scores shares the
    mean gain of the run over every position it covers: the expected DCG over all
    orderings of the ties.
    """
    gains_arr = np.asarray(gains, dtype=np.float64)
    n = min(k, len(gains_arr))
    discounts = _discounts(n)
    if scores is None:
        return float(np.dot(gains_arr[:n], discounts))
    if len(scores) != len(gains_arr):
        raise ValueError("scores and gains differ in length")
    total = 0.0
    for start, end in _tie_groups(list(scores)):
        if start >= n:
            break
        total += gains_arr[start:end].mean() * discounts[start : min(end, n)].sum()
    return float(total)


def ndcg_at_k(
    ranking: Sequence[str], qrels: Qrels, k: int, *, scores: Sequence[float] | None = None
) -> float:
    """DCG@k of the ranking over the ideal DCG@k of every judged grade (NaN when no
    document has a positive grade). Gains are the grades (0, 1, 2)."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)
    if not ideal:
        return math.nan
    ideal_dcg = dcg_at_k(ideal, k)
    gains = [max(qrels.get(doc, 0), 0) for doc in ranking]
    return dcg_at_k(gains, k, scores=scores) / ideal_dcg


def interpolated_precision(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> np.ndarray:
    """(11,) float64 interpolated precision at recall 0.0, 0.1, ..., 1.0: the best
    precision at any rank whose recall reaches the level (0 where it never does);
    NaN everywhere when no document is relevant."""
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return np.full(len(RECALL_LEVELS), np.nan)
    flags = _relevant_flags(ranking, qrels, None, min_grade)
    if len(flags) == 0:
        return np.zeros(len(RECALL_LEVELS))
    found = np.cumsum(flags)
    precision = found / np.arange(1, len(flags) + 1)
    recall = found / total
    out = np.zeros(len(RECALL_LEVELS))
    for i, level in enumerate(RECALL_LEVELS):
        reached = recall >= level - 1e-12
        if reached.any():
            out[i] = precision[reached].max()
    return out


#: metric names produced by :func:`evaluate_ranking` for cut-offs ``ks``, in report order
def metric_names(ks: Sequence[int]) -> list[str]:
    names = [f"P@{k}" for k in ks] + [f"R@{k}" for k in ks]
    names += ["MRR", "MAP", "R-prec"] + [f"NDCG@{k}" for k in ks] + [f"judged@{k}" for k in ks]
    return names


def evaluate_ranking(
    ranking: Sequence[str],
    qrels: Qrels,
    ks: Sequence[int],
    *,
    scores: Sequence[float] | None = None,
    min_grade: int = 1,
) -> dict[str, float]:
    """Every metric of :func:`metric_names` for one query. ``MRR`` and ``MAP`` are the
    per-query reciprocal rank and average precision (the means are taken over queries)."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"P@{k}"] = precision_at_k(ranking, qrels, k, min_grade=min_grade)
    for k in ks:
        out[f"R@{k}"] = recall_at_k(ranking, qrels, k, min_grade=min_grade)
    out["MRR"] = reciprocal_rank(ranking, qrels, min_grade=min_grade)
    out["MAP"] = average_precision(ranking, qrels, min_grade=min_grade)
    out["R-prec"] = r_precision(ranking, qrels, min_grade=min_grade)
    for k in ks:
        out[f"NDCG@{k}"] = ndcg_at_k(ranking, qrels, k, scores=scores)
    for k in ks:
        out[f"judged@{k}"] = judged_at_k(ranking, qrels, k)
    return out


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric over queries, ignoring NaN (undefined) values; NaN if all are."""
    if not per_query:
        return {}
    out: dict[str, float] = {}
    for name in per_query[0]:
        values = np.array([q[name] for q in per_query], dtype=np.float64)
        values = values[~np.isnan(values)]
        out[name] = float(values.mean()) if len(values) else math.nan
    return out

"""Retrieval metrics over one ranked list and its relevance judgements.

A *ranking* is a sequence of document keys, best first (here: asset content hashes).
*qrels* map a key to an integer grade: 0 = judged not relevant, higher = more relevant
(0, 1, 2 when judged in this tool; imported qrels may use any integer), negative =
unjudged (trec_eval's -1). A key missing from qrels is unjudged too and counts as not
relevant (the TREC convention); :func:`judged_at_k` says how much of a ranking that
assumption touches.

Conventions, those of trec_eval (``mediasearch.evaluation.trec`` scores foreign run files
with the same functions, and its tests hold them to trec_eval's own C code):

- relevant means ``grade >= min_grade`` (trec_eval's ``-l``; 1 by default);
- a ranking is ordered by score, highest first, ties by document key *descending*
  (trec_eval sorts ``(score desc, docno desc)`` and ignores the rank column):
  :func:`trec_order`;
- P@k divides by ``k`` even when the ranking is shorter than ``k``;
- AP divides by the number of relevant documents in qrels, retrieved or not;
- NDCG uses linear gains (gain = grade, negative grades gain 0) and a log2(rank + 1)
  discount; the ideal DCG sorts every positive grade in qrels, retrieved or not, and does
  not depend on ``min_grade``;
- a query without any relevant document scores 0 on every measure (it stays in the
  means unless the caller excludes such queries, which it then says).

F1@k, success@k and judged@k are not trec_eval measures; they are built from the same
parts (F1@k = harmonic mean of P@k and R@k, 0 when both are 0; success@k = 1 when a
relevant document is in the top k, trec_eval's ``success_k``).
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
    """How many documents in ``qrels`` are relevant (``min_grade`` >= 1)."""
    return sum(1 for g in qrels.values() if g >= min_grade)


def precision_at_k(ranking: Sequence[str], qrels: Qrels, k: int, *, min_grade: int = 1) -> float:
    """Relevant documents among the top ``k``, divided by ``k``."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return float(_relevant_flags(ranking, qrels, k, min_grade).sum()) / k


def recall_at_k(ranking: Sequence[str], qrels: Qrels, k: int, *, min_grade: int = 1) -> float:
    """Relevant documents among the top ``k``, divided by all relevant documents (0 if none)."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return 0.0
    return float(_relevant_flags(ranking, qrels, k, min_grade).sum()) / total


def f1_at_k(ranking: Sequence[str], qrels: Qrels, k: int, *, min_grade: int = 1) -> float:
    """Harmonic mean of P@k and R@k (0 when both are 0)."""
    p = precision_at_k(ranking, qrels, k, min_grade=min_grade)
    r = recall_at_k(ranking, qrels, k, min_grade=min_grade)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def success_at_k(ranking: Sequence[str], qrels: Qrels, k: int, *, min_grade: int = 1) -> float:
    """1.0 when a relevant document is among the top ``k``, else 0.0."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return 1.0 if _relevant_flags(ranking, qrels, k, min_grade).any() else 0.0


def num_relevant_retrieved(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> int:
    """How many relevant documents the whole ranking holds (trec_eval's num_rel_ret)."""
    return int(_relevant_flags(ranking, qrels, None, min_grade).sum())


def reciprocal_rank(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> float:
    """1 / rank of the first relevant document (ranks from 1); 0 when none is retrieved."""
    for rank, doc in enumerate(ranking, start=1):
        if qrels.get(doc, 0) >= min_grade:
            return 1.0 / rank
    return 0.0


def average_precision(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> float:
    """Mean over relevant documents of the precision at the rank each is retrieved
    (0 for those never retrieved); 0 when qrels hold no relevant document."""
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return 0.0
    flags = _relevant_flags(ranking, qrels, None, min_grade)
    if not flags.any():
        return 0.0
    ranks = np.flatnonzero(flags) + 1  # 1-based ranks of the relevant hits
    precisions = np.arange(1, len(ranks) + 1) / ranks
    return float(precisions.sum()) / total


def r_precision(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> float:
    """Precision at R, R = the number of relevant documents (0 when R = 0)."""
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return 0.0
    return precision_at_k(ranking, qrels, total, min_grade=min_grade)


def judged_at_k(ranking: Sequence[str], qrels: Qrels, k: int) -> float:
    """Fraction of the top ``k`` positions holding a judged document (grade >= 0); a
    ranking shorter than ``k`` leaves its empty positions unjudged."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    return sum(1 for doc in ranking[:k] if qrels.get(doc, -1) >= 0) / k


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
    ranking: Sequence[str], qrels: Qrels, k: int | None, *, scores: Sequence[float] | None = None
) -> float:
    """DCG@k of the ranking over the ideal DCG@k of every positive grade (0 when no
    document has a positive grade); ``k`` None = the whole ranking (trec_eval's ``ndcg``).
    Gains are the grades. ``scores`` share the gain of tied scores (expected DCG over the
    orderings of the ties; not trec_eval's rule, which :func:`evaluate_ranking` follows)."""
    if k is not None and k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)
    if not ideal:
        return 0.0
    if k is None:  # the whole ranking against the whole ideal ranking (trec_eval's ndcg)
        ideal_dcg = dcg_at_k(ideal, len(ideal))
        k = max(len(ranking), 1)
    else:
        ideal_dcg = dcg_at_k(ideal, k)
    gains = [max(qrels.get(doc, 0), 0) for doc in ranking]
    return dcg_at_k(gains, k, scores=scores) / ideal_dcg


def interpolated_precision(ranking: Sequence[str], qrels: Qrels, *, min_grade: int = 1) -> np.ndarray:
    """(11,) float64 interpolated precision at recall 0.0, 0.1, ..., 1.0: the best
    precision at any rank whose recall reaches the level (0 where it never does, and
    everywhere when no document is relevant)."""
    total = num_relevant(qrels, min_grade=min_grade)
    if total == 0:
        return np.zeros(len(RECALL_LEVELS))
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


def trec_order(docs: Sequence[str], scores: Sequence[float]) -> tuple[list[str], list[float]]:
    """``docs`` and ``scores`` reordered as trec_eval ranks them: score descending, ties
    broken by document key descending (byte order, as C's strcmp)."""
    if len(docs) != len(scores):
        raise ValueError("docs and scores differ in length")
    order = sorted(range(len(docs)), key=lambda i: docs[i].encode("utf-8", "surrogateescape"), reverse=True)
    order.sort(key=lambda i: -scores[i])  # stable: ties keep the descending key order
    return [docs[i] for i in order], [float(scores[i]) for i in order]


def metric_names(ks: Sequence[int]) -> list[str]:
    """Metric names produced by :func:`evaluate_ranking` for cut-offs ``ks``, in report order."""
    names = [f"P@{k}" for k in ks] + [f"R@{k}" for k in ks] + [f"F1@{k}" for k in ks] + [f"success@{k}" for k in ks]
    names += ["MRR", "MAP", "R-prec"] + [f"NDCG@{k}" for k in ks] + [f"judged@{k}" for k in ks]
    return names


def trec_name(name: str) -> str:
    """The trec_eval name of one of :func:`metric_names` (``P@5`` -> ``P_5``, ``MAP`` ->
    ``map``, ``NDCG@10`` -> ``ndcg_cut_10``...; F1@k and judged@k -> ``F1_k``, ``judged_k``)."""
    fixed = {"MRR": "recip_rank", "MAP": "map", "R-prec": "Rprec", "NDCG": "ndcg", "num_rel_ret": "num_rel_ret"}
    if name in fixed:
        return fixed[name]
    head, _, k = name.partition("@")
    prefix = {"P": "P", "R": "recall", "F1": "F1", "success": "success", "NDCG": "ndcg_cut", "judged": "judged"}[head]
    return f"{prefix}_{k}"


def evaluate_ranking(
    ranking: Sequence[str],
    qrels: Qrels,
    ks: Sequence[int],
    *,
    scores: Sequence[float] | None = None,
    min_grade: int = 1,
) -> dict[str, float]:
    """Every metric of :func:`metric_names` for one query. With ``scores`` the ranking is
    first put in :func:`trec_order` (so results do not depend on how ties came out);
    without, the order given is used. ``MRR`` and ``MAP`` are the per-query reciprocal
    rank and average precision (the means are taken over queries)."""
    if min_grade < 1:
        raise ValueError(f"the relevance level must be at least 1, got {min_grade}")
    if scores is not None:
        ranking, _ = trec_order(ranking, scores)
    out: dict[str, float] = {}
    for k in ks:
        out[f"P@{k}"] = precision_at_k(ranking, qrels, k, min_grade=min_grade)
    for k in ks:
        out[f"R@{k}"] = recall_at_k(ranking, qrels, k, min_grade=min_grade)
    for k in ks:
        out[f"F1@{k}"] = f1_at_k(ranking, qrels, k, min_grade=min_grade)
    for k in ks:
        out[f"success@{k}"] = success_at_k(ranking, qrels, k, min_grade=min_grade)
    out["MRR"] = reciprocal_rank(ranking, qrels, min_grade=min_grade)
    out["MAP"] = average_precision(ranking, qrels, min_grade=min_grade)
    out["R-prec"] = r_precision(ranking, qrels, min_grade=min_grade)
    for k in ks:
        out[f"NDCG@{k}"] = ndcg_at_k(ranking, qrels, k)
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

"""Judging help: the score threshold that best separates relevant from not relevant hits.

For one encoder, every *judged* hit (a ranked file with a grade >= 0) is a point
(score, relevant?). Calling every hit with ``score >= t`` relevant gives a precision and a
recall over those judged hits; :func:`best_threshold` picks the ``t`` with the highest F1
(ties: the higher threshold, the stricter cut). Unjudged hits take no part: they would
count as not relevant and drag the threshold up for encoders whose results were judged
less. Scores are in the encoder's own units (cosine similarity for most), so thresholds
compare within one encoder only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    """The best cut. ``threshold``: hits scoring at least this are called relevant (NaN
    without a relevant judged hit); ``f1``/``precision``/``recall`` over the ``judged``
    hits, ``relevant`` of which are relevant."""

    threshold: float
    f1: float
    precision: float
    recall: float
    judged: int
    relevant: int

    def to_json(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def best_threshold(scores: Sequence[float], relevant: Sequence[bool]) -> Threshold:
    """The threshold over judged hits' ``scores`` (n,) with the highest F1 against
    ``relevant`` (n,) bool."""
    s = np.asarray(scores, dtype=np.float64)
    r = np.asarray(relevant, dtype=bool)
    if s.shape != r.shape:
        raise ValueError("scores and relevant differ in length")
    total = int(r.sum())
    if total == 0:
        return Threshold(math.nan, 0.0, 0.0, 0.0, int(s.size), 0)
    order = np.argsort(-s, kind="stable")
    s, r = s[order], r[order]
    # candidate cuts at each distinct score: everything scoring >= it is called relevant
    last_of_run = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    tp = np.cumsum(r)[last_of_run]
    called = last_of_run + 1
    precision = tp / called
    recall = tp / total
    f1 = np.where(tp > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    best = int(np.flatnonzero(f1 >= f1.max() - 1e-12)[0])  # the first = the highest threshold
    return Threshold(float(s[last_of_run[best]]), float(f1[best]), float(precision[best]), float(recall[best]), int(s.size), total)


def encoder_thresholds(result, *, queries: Sequence[str] | None = None) -> dict[str, Threshold]:  # result: EvalResult
    """encoder -> :func:`best_threshold` over its judged hits of the scored queries (or
    of ``queries``, e.g. one comparison group's)."""
    wanted = set(queries) if queries is not None else None
    out: dict[str, Threshold] = {}
    for encoder, per in result.rankings.items():
        scores: list[float] = []
        relevant: list[bool] = []
        for info in result.queries:
            name = info.query.name
            if not info.evaluable or name not in per or (wanted is not None and name not in wanted):
                continue
            for doc, score in zip(per[name].docs, per[name].scores):
                grade = info.qrels.get(doc, -1)
                if grade >= 0:
                    scores.append(score)
                    relevant.append(grade >= result.options.rel_level)
        out[encoder] = best_threshold(scores, relevant)
    return out


__all__ = ["Threshold", "best_threshold", "encoder_thresholds"]

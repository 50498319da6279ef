"""Judging help: the score threshold with the best F1 over judged hits, hand-computed and against a brute-force search."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from mediasearch.evaluation.judging import best_threshold, encoder_thresholds


def test_hand_computed() -> None:
    # scores .9 R, .8 N, .7 R, .6 R, .2 N: cut at .6 -> tp 3 of 4 called, recall 1 -> F1 6/7
    t = best_threshold([0.9, 0.8, 0.7, 0.6, 0.2], [True, False, True, True, False])
    assert t.threshold == 0.6 and t.f1 == pytest.approx(6 / 7)
    assert (t.precision, t.recall, t.judged, t.relevant) == (pytest.approx(0.75), 1.0, 5, 3)
    # ties are cut together: both .5 are in or out
    t = best_threshold([0.5, 0.5, 0.1], [True, False, False])
    assert t.threshold == 0.5 and t.f1 == pytest.approx(2 / 3)
    # equal F1 at two cuts: the higher (stricter) one
    assert best_threshold([0.9, 0.1], [True, True]).threshold == 0.1
    assert best_threshold([0.9, 0.5, 0.1], [True, False, True]).threshold == 0.1  # 0.8 at .1 vs 0.667 at .9
    none = best_threshold([0.3, 0.2], [False, False])
    assert math.isnan(none.threshold) and none.f1 == 0.0 and none.to_json()["threshold"] is None


def test_agrees_with_brute_force() -> None:
    rng = random.Random(3)
    for _ in range(300):
        n = rng.randint(1, 25)
        scores = [rng.choice([0.1, 0.2, 0.5, 0.9, rng.random()]) for _ in range(n)]
        relevant = [rng.random() < 0.4 for _ in range(n)]
        got = best_threshold(scores, relevant)
        total = sum(relevant)
        best = (0.0, None)
        for t in sorted(set(scores), reverse=True):
            tp = sum(1 for s, r in zip(scores, relevant) if s >= t and r)
            called = sum(1 for s in scores if s >= t)
            f1 = 0.0 if tp == 0 else 2 * (tp / called) * (tp / total) / (tp / called + tp / total)
            if f1 > best[0] + 1e-12:
                best = (f1, t)
        assert got.f1 == pytest.approx(best[0], abs=1e-12)
        if best[1] is not None:
            assert got.threshold == best[1]


def test_per_encoder_over_judged_hits_only(tmp_path: Path) -> None:
    from test_eval_report import _result

    result = _result(tmp_path)
    found = encoder_thresholds(result)
    assert set(found) == {"good", "mid", "bad"}
    good = found["good"]
    judged = sum(
        1 for info in result.queries if info.evaluable for d in result.rankings["good"][info.query.name].docs if d in info.qrels
    )
    assert good.judged == judged and good.f1 > found["bad"].f1

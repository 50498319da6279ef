"""Retrieval metrics and paired tests: hand-computed cases and agreement with independent implementations."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, ndcg_score

from mediasearch.evaluation import metrics as m
from mediasearch.evaluation import significance as sig

# A tiny run: a (grade 1), b (judged 0), c (grade 2) retrieved; d, e unjudged;
# f (grade 1) relevant but never retrieved. R = 3.
RANKING = ["a", "b", "c", "d", "e"]
QRELS = {"a": 1, "b": 0, "c": 2, "f": 1}
IDCG3 = 2 + 1 / math.log2(3) + 1 / math.log2(4)  # ideal gains 2, 1, 1


class TestHandComputed:
    def test_precision(self) -> None:
        assert m.precision_at_k(RANKING, QRELS, 1) == 1.0
        assert m.precision_at_k(RANKING, QRELS, 3) == pytest.approx(2 / 3)
        assert m.precision_at_k(RANKING, QRELS, 5) == pytest.approx(2 / 5)
        # shorter than k: still divided by k (trec_eval)
        assert m.precision_at_k(RANKING, QRELS, 10) == pytest.approx(2 / 10)
        # graded: only grade 2 counts at min_grade=2
        assert m.precision_at_k(RANKING, QRELS, 3, min_grade=2) == pytest.approx(1 / 3)

    def test_recall(self) -> None:
        assert m.recall_at_k(RANKING, QRELS, 1) == pytest.approx(1 / 3)
        assert m.recall_at_k(RANKING, QRELS, 3) == pytest.approx(2 / 3)
        assert m.recall_at_k(RANKING, QRELS, 10) == pytest.approx(2 / 3)

    def test_reciprocal_rank(self) -> None:
        assert m.reciprocal_rank(RANKING, QRELS) == 1.0
        assert m.reciprocal_rank(["x", "b", "c"], QRELS) == pytest.approx(1 / 3)
        assert m.reciprocal_rank(["x", "y"], QRELS) == 0.0
        assert m.reciprocal_rank(RANKING, QRELS, min_grade=2) == pytest.approx(1 / 3)

    def test_average_precision(self) -> None:
        # relevant at ranks 1 and 3 (precision 1 and 2/3); f never retrieved counts 0
        assert m.average_precision(RANKING, QRELS) == pytest.approx((1 + 2 / 3) / 3)
        assert m.average_precision(["x", "y"], QRELS) == 0.0
        assert m.average_precision(["c", "a", "f"], QRELS) == 1.0

    def test_r_precision(self) -> None:
        assert m.r_precision(RANKING, QRELS) == pytest.approx(2 / 3)

    def test_judged(self) -> None:
        assert m.judged_at_k(RANKING, QRELS, 3) == 1.0
        assert m.judged_at_k(RANKING, QRELS, 5) == pytest.approx(3 / 5)
        assert m.judged_at_k(RANKING, QRELS, 10) == pytest.approx(3 / 10)

    def test_ndcg_graded(self) -> None:
        # DCG@3 = 1/log2(2) + 0 + 2/log2(4) = 2
        assert m.ndcg_at_k(RANKING, QRELS, 3) == pytest.approx(2 / IDCG3)
        assert m.ndcg_at_k(RANKING, QRELS, 5) == pytest.approx(2 / IDCG3)
        assert m.ndcg_at_k(["c", "a", "f"], QRELS, 3) == pytest.approx(1.0)
        assert m.ndcg_at_k(["c", "a", "f"], QRELS, 1) == pytest.approx(1.0)
        assert m.ndcg_at_k(["a", "c"], QRELS, 1) == pytest.approx(1 / 2)

    def test_ndcg_ties(self) -> None:
        ranking = ["a", "b", "c", "d"]
        qrels = {"a": 0, "b": 2, "c": 0, "d": 1}
        scores = [0.9, 0.5, 0.5, 0.1]
        idcg = 2 + 1 / math.log2(3)
        no_ties = (2 / math.log2(3) + 1 / math.log2(5)) / idcg
        # b and c tie: each of ranks 2 and 3 gets their mean gain 1
        tied = (1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)) / idcg
        assert m.ndcg_at_k(ranking, qrels, 4) == pytest.approx(no_ties)
        assert m.ndcg_at_k(ranking, qrels, 4, scores=scores) == pytest.approx(tied)
        # the tie straddles the cut-off: only rank 2 counts, with the mean gain
        assert m.ndcg_at_k(ranking, qrels, 2, scores=scores) == pytest.approx((1 / math.log2(3)) / idcg)
        # order inside a tie does not matter
        swapped = m.ndcg_at_k(["a", "c", "b", "d"], qrels, 4, scores=scores)
        assert swapped == pytest.approx(tied)
        expected = ndcg_score([[0, 2, 0, 1]], [scores], k=2)
        assert m.ndcg_at_k(ranking, qrels, 2, scores=scores) == pytest.approx(expected)

    def test_no_relevant_scores_zero(self) -> None:
        # trec_eval scores a judged query without relevant documents 0 on every measure
        qrels = {"a": 0}
        row = m.evaluate_ranking(RANKING, qrels, [1, 3])
        assert all(v == 0.0 for name, v in row.items() if not name.startswith("judged@"))
        assert m.ndcg_at_k(RANKING, qrels, None) == 0.0

    def test_f1_and_success(self) -> None:
        # P@3 = 2/3, R@3 = 2/3; P@1 = 1, R@1 = 1/3
        assert m.f1_at_k(RANKING, QRELS, 3) == pytest.approx(2 / 3)
        assert m.f1_at_k(RANKING, QRELS, 1) == pytest.approx(2 * (1 / 3) / (1 + 1 / 3))
        assert m.f1_at_k(["x", "y"], QRELS, 2) == 0.0
        assert m.success_at_k(RANKING, QRELS, 1) == 1.0
        assert m.success_at_k(["b", "x", "c"], QRELS, 2) == 0.0
        assert m.success_at_k(["b", "x", "c"], QRELS, 3) == 1.0
        assert m.success_at_k(RANKING, QRELS, 2, min_grade=2) == 0.0

    def test_ties_in_trec_order(self) -> None:
        # tied scores: document key descending decides, so b (relevant) before a
        row = m.evaluate_ranking(["a", "b"], {"b": 1}, [1], scores=[0.5, 0.5])
        assert row["P@1"] == 1.0 and row["MRR"] == 1.0
        assert m.trec_order(["a", "c", "b"], [0.1, 0.5, 0.5]) == (["c", "b", "a"], [0.5, 0.5, 0.1])
        with pytest.raises(ValueError, match="relevance level"):
            m.evaluate_ranking(["a"], {"a": 1}, [1], min_grade=0)

    def test_interpolated_precision(self) -> None:
        curve = m.interpolated_precision(["a", "x", "c", "y"], {"a": 1, "c": 1})
        # precision 1, .5, .667, .5 at recall .5, .5, 1, 1
        assert curve[:6] == pytest.approx([1.0] * 6)
        assert curve[6:] == pytest.approx([2 / 3] * 5)
        assert m.interpolated_precision(["x"], {"a": 1}) == pytest.approx([0.0] * 11)

    def test_bad_k(self) -> None:
        with pytest.raises(ValueError):
            m.precision_at_k(RANKING, QRELS, 0)

    def test_evaluate_and_mean(self) -> None:
        row = m.evaluate_ranking(RANKING, QRELS, [1, 3])
        assert list(row) == m.metric_names([1, 3])
        assert row["MAP"] == pytest.approx((1 + 2 / 3) / 3)
        means = m.mean_metrics([{"x": 1.0, "y": math.nan}, {"x": 0.0, "y": 0.5}])
        assert means == {"x": 0.5, "y": 0.5}


# -- an independent implementation: plain loops, written from the trec_eval definitions --


def ref_metrics(ranking: list[str], qrels: dict[str, int], k: int) -> dict[str, float]:
    rel = {d for d, g in qrels.items() if g >= 1}
    out = {}
    hits = 0
    for i in range(k):
        if i < len(ranking) and ranking[i] in rel:
            hits += 1
    out["P"] = hits / k
    out["R"] = hits / len(rel) if rel else 0.0
    rr = 0.0
    for i, d in enumerate(ranking):
        if d in rel:
            rr = 1 / (i + 1)
            break
    out["RR"] = rr
    s, found = 0.0, 0
    for i, d in enumerate(ranking):
        if d in rel:
            found += 1
            s += found / (i + 1)
    out["AP"] = s / len(rel) if rel else 0.0
    rcount = len(rel)
    out["Rprec"] = sum(1 for d in ranking[:rcount] if d in rel) / rcount if rel else 0.0
    dcg = sum(qrels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(qrels.values(), reverse=True)
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal[:k]))
    out["NDCG"] = dcg / idcg if idcg > 0 else 0.0
    return out


def random_case(rng: random.Random, n_docs: int = 30) -> tuple[list[str], dict[str, int]]:
    docs = [f"d{i}" for i in range(n_docs)]
    judged = rng.sample(docs, rng.randint(1, n_docs))
    qrels = {d: rng.choice([0, 0, 1, 2]) for d in judged}
    ranking = rng.sample(docs, rng.randint(0, n_docs))
    return ranking, qrels


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_agrees_with_reference_on_random_runs() -> None:
    rng = random.Random(7)
    for _ in range(500):
        ranking, qrels = random_case(rng)
        for k in (1, 5, 10, 40):
            ref = ref_metrics(ranking, qrels, k)
            assert _same(m.precision_at_k(ranking, qrels, k), ref["P"])
            assert _same(m.recall_at_k(ranking, qrels, k), ref["R"])
            assert _same(m.ndcg_at_k(ranking, qrels, k), ref["NDCG"])
        assert _same(m.reciprocal_rank(ranking, qrels), ref["RR"])
        assert _same(m.average_precision(ranking, qrels), ref["AP"])
        assert _same(m.r_precision(ranking, qrels), ref["Rprec"])


def test_agrees_with_scikit_learn_on_random_runs() -> None:
    """sklearn scores every document: give the ranked ones descending scores (with ties)
    and the rest one lower score, and compare at cut-offs within the ranking."""
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(300):
        n = int(rng.integers(5, 40))
        docs = [f"d{i}" for i in range(n)]
        grades = rng.choice([0, 0, 1, 2], size=n)
        if grades.max() == 0:
            continue
        qrels = {d: int(g) for d, g in zip(docs, grades)}
        depth = int(rng.integers(2, n + 1))
        order = rng.permutation(n)
        ranked_scores = np.sort(rng.integers(0, 6, size=depth))[::-1].astype(float)  # many ties
        y_score = np.full(n, -1.0)
        y_score[order[:depth]] = ranked_scores
        ranking = [docs[i] for i in order[:depth]]
        for k in sorted({1, min(3, depth), depth}):
            ours = m.ndcg_at_k(ranking, qrels, k, scores=list(ranked_scores))
            theirs = ndcg_score([grades], [y_score], k=k)
            assert ours == pytest.approx(theirs, abs=1e-12)
        checked += 1
        # AP: a full ranking with distinct scores, binary relevance
        full = [docs[i] for i in order]
        distinct = np.empty(n)
        distinct[order] = np.arange(n, 0, -1)
        binary = grades >= 1
        assert m.average_precision(full, qrels) == pytest.approx(average_precision_score(binary, distinct))
    assert checked > 200


# -- significance -----------------------------------------------------------------------


def test_randomization_exact_hand_computed() -> None:
    # diffs 1, 2, 3: of the 8 sign assignments, |mean| >= 2 for +++ and --- only
    result = sig.randomization_test([1, 2, 3], [0, 0, 0])
    assert result.p_value == pytest.approx(0.25)
    assert result.mean_diff == pytest.approx(2.0)
    assert "exact" in result.method
    assert sig.randomization_test([1, 1], [1, 1]).p_value == 1.0


def test_randomization_monte_carlo_matches_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(14), rng.random(14) * 0.8
    exact = sig.randomization_test(a, b).p_value
    monkeypatch.setattr(sig, "EXACT_MAX_N", 5)
    sampled = sig.randomization_test(a, b, n_resamples=50_000, seed=1).p_value
    assert sampled == pytest.approx(exact, abs=0.01)


def test_paired_t_test() -> None:
    # d = 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt 3)
    result = sig.paired_t_test([1, 2, 3], [0, 0, 0])
    assert result.statistic == pytest.approx(2 * math.sqrt(3))
    assert result.p_value == pytest.approx(2 * stats.t.sf(2 * math.sqrt(3), 2))
    rng = np.random.default_rng(5)
    for _ in range(20):
        a, b = rng.random(25), rng.random(25)
        expected = stats.ttest_rel(a, b)
        got = sig.paired_t_test(a, b)
        assert got.statistic == pytest.approx(expected.statistic)
        assert got.p_value == pytest.approx(expected.pvalue)
    assert sig.paired_t_test([1, 2], [0, 1]).p_value == 0.0  # constant non-zero difference
    assert math.isnan(sig.paired_t_test([1], [0]).p_value)


def test_holm() -> None:
    assert sig.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    adjusted = sig.holm([0.5, math.nan, 0.01])
    assert adjusted[0] == pytest.approx(0.5) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)


def test_compare_encoders_uses_shared_queries() -> None:
    per_query = {
        "good": {"q1": 1.0, "q2": 0.9, "q3": 0.8, "q4": math.nan},
        "bad": {"q1": 0.1, "q2": 0.2, "q3": 0.0, "q4": 0.5},
    }
    (pair,) = sig.compare_encoders(per_query, "MAP")
    assert pair.n == 3
    assert pair.mean_a - pair.mean_b == pytest.approx((0.9 + 0.7 + 0.8) / 3)
    assert pair.randomization.p_value == pytest.approx(0.25)  # 2 of 8 assignments, n = 3
    assert pair.to_json()["diff"] == pytest.approx(0.8)

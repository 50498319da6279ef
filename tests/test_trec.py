"""trec_eval-exact scoring of foreign run files: every measure agrees with trec_eval's C code (pytrec-eval-terrier) on random runs and on each edge case."""

from __future__ import annotations

import io
import math
import random

import pytest

from mediasearch.evaluation import metrics as m
from mediasearch.evaluation import trec
from mediasearch.evaluation.formats import FormatError

pytrec_eval = pytest.importorskip("pytrec_eval")

KS = (1, 3, 5, 10)
#: the measures both implementations have
SHARED = ["map", "Rprec", "recip_rank", "ndcg", "num_rel_ret", "num_rel", "num_ret"] + [
    f"{base}_{k}" for base in ("P", "recall", "ndcg_cut", "success") for k in KS
]


def reference(qrels: trec.TrecQrels, run: trec.Run, rel_level: int) -> dict[str, dict[str, float]]:
    """trec_eval's per-query figures (pytrec_eval gets the raw scores, not our order)."""
    raw = {q: dict(zip(docs, scores)) for q, (docs, scores) in run.rankings.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(SHARED), relevance_level=rel_level)
    return evaluator.evaluate(raw)


def ours(qrels: trec.TrecQrels, run: trec.Run, rel_level: int) -> trec.RunScores:
    return trec.score_run(qrels, run, measures=SHARED + [f"F1_{k}" for k in KS], rel_level=rel_level)


def assert_agree(qrels: trec.TrecQrels, run: trec.Run, rel_level: int = 1) -> int:
    """Every shared measure of every query within 1e-9; F1 from trec_eval's P and recall.
    Returns the number of (query, measure) values compared."""
    expected = reference(qrels, run, rel_level)
    got = ours(qrels, run, rel_level)
    assert set(got.per_query) == set(expected)
    n = 0
    for qid, row in expected.items():
        for name in SHARED:
            assert got.per_query[qid][name] == pytest.approx(row[name], abs=1e-9), (qid, name)
            n += 1
        for k in KS:
            p, r = row[f"P_{k}"], row[f"recall_{k}"]
            f1 = 0.0 if p + r == 0 else 2 * p * r / (p + r)
            assert got.per_query[qid][f"F1_{k}"] == pytest.approx(f1, abs=1e-9)
    return n


def random_case(rng: random.Random) -> tuple[trec.TrecQrels, trec.Run]:
    """A few queries over a small vocabulary of docnos: grades -1..4, scores from a small
    set (many ties), rankings of 0 to 25 documents, some queries never relevant."""
    docs = [f"d{i:02d}" for i in range(30)] + ["D1", "a", "z9", "doc-7"]
    qrels: trec.TrecQrels = {}
    rankings: dict[str, tuple[list[str], list[float]]] = {}
    for qi in range(rng.randint(1, 6)):
        qid = f"q{qi}"
        judged = rng.sample(docs, rng.randint(1, 15))
        grades = [-1, 0, 0, 1, 1, 2, 3, 4] if rng.random() > 0.15 else [-1, 0]
        qrels[qid] = {d: rng.choice(grades) for d in judged}
        # trec_eval's code misbehaves on a query whose every grade is negative (reports
        # num_ret 0, or never returns): our rule for it is pinned on its own below
        qrels[qid][judged[0]] = max(0, qrels[qid][judged[0]])
        retrieved = rng.sample(docs, rng.randint(0, 25))
        scores = [float(rng.choice([0.1, 0.5, 0.5, 1.0, 2.0, -3.0, rng.random()])) for _ in retrieved]
        if retrieved:
            rankings[qid] = m.trec_order(retrieved, scores)
    rankings["only-in-run"] = (["d01"], [1.0])
    return qrels, trec.Run("r", "<test>", rankings)


def test_agrees_with_trec_eval_on_random_runs() -> None:
    rng = random.Random(1234)
    compared = 0
    for _ in range(300):
        qrels, run = random_case(rng)
        compared += assert_agree(qrels, run, rel_level=rng.choice([1, 1, 2, 3]))
    assert compared > 10_000


def test_ties_ordered_by_score_then_docno_descending() -> None:
    qrels = {"q": {"a": 1, "b": 0, "c": 0}}
    # all tied: trec_eval ranks c, b, a; the rank column says a first and is ignored
    text = "q Q0 a 1 1.0 x\nq Q0 b 2 1.0 x\nq Q0 c 3 1.0 x\n"
    run = trec.read_trec_run(io.StringIO(text))
    assert run.rankings["q"][0] == ["c", "b", "a"]
    assert ours(qrels, run, 1).per_query["q"]["recip_rank"] == pytest.approx(1 / 3)
    assert_agree(qrels, run)
    # byte order, not case-folded: "B" < "a"
    assert m.trec_order(["B", "a", "b"], [0.0, 0.0, 0.0])[0] == ["b", "a", "B"]


def test_rank_column_ignored_scores_decide() -> None:
    text = "q Q0 low 1 0.1 x\nq Q0 high 99 0.9 x\n"
    run = trec.read_trec_run(io.StringIO(text))
    assert run.rankings["q"] == (["high", "low"], [0.9, 0.1])
    assert ours({"q": {"high": 1}}, run, 1).per_query["q"]["P_1"] == 1.0


def test_trailing_fields_and_tag() -> None:
    text = "q Q0 a 1 2.5 mytag extra fields here\n# comment\n\nq Q0 b x 1.5 mytag\n"
    run = trec.read_trec_run(io.StringIO(text))
    assert run.name == "mytag" and run.rankings["q"][0] == ["a", "b"]
    with pytest.raises(FormatError, match="fields"):
        trec.read_trec_run(io.StringIO("q Q0 a 1 2.5\n"))
    with pytest.raises(FormatError, match="twice"):
        trec.read_trec_run(io.StringIO("q Q0 a 1 2.5 t\nq Q0 a 2 2.0 t\n"))
    with pytest.raises(FormatError, match="number"):
        trec.read_trec_run(io.StringIO("q Q0 a 1 high t\n"))


def test_graded_qrels_any_grade_and_relevance_level() -> None:
    qrels = trec.read_trec_qrels(io.StringIO("q 0 a -1\nq 0 b 3\nq 0 c 1\nq 0 d -2\nq 0 e 0\nq 0 f 7\n"))
    assert qrels == {"q": {"a": -1, "b": 3, "c": 1, "d": -2, "e": 0, "f": 7}}
    run = trec.Run("r", "", {"q": (["a", "b", "c", "d", "e"], [5.0, 4.0, 3.0, 2.0, 1.0])})
    for level in (1, 2, 3, 4, 8):
        assert_agree(qrels, run, rel_level=level)
    got = trec.score_run(qrels, run, measures=["num_rel", "judged_5", "ndcg"], rel_level=3)
    assert got.per_query["q"]["num_rel"] == 2  # b (3) and f (7)
    assert got.per_query["q"]["judged_5"] == pytest.approx(3 / 5)  # -1 and -2 are unjudged
    with pytest.raises(FormatError, match="integer"):
        trec.read_trec_qrels(io.StringIO("q 0 a 1.5\n"))
    with pytest.raises(ValueError, match="at least 1"):
        trec.score_run(qrels, run, rel_level=0)


def test_minus_one_is_unjudged_not_zero() -> None:
    qrels = {"q": {"a": -1, "b": 1}}
    run = trec.Run("r", "", {"q": (["a", "b"], [2.0, 1.0])})
    assert_agree(qrels, run)
    got = trec.score_run(qrels, run, measures=["judged_1", "P_1", "map"]).per_query["q"]
    assert got == {"judged_1": 0.0, "P_1": 0.0, "map": 0.5}


def test_query_judged_only_unjudged_is_not_scored() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": -1}}
    run = trec.Run("r", "", {"q1": (["a"], [1.0]), "q2": (["b"], [1.0])})
    got = trec.score_run(qrels, run, measures=["map", "num_q"])
    assert list(got.per_query) == ["q1"] and got.summary["num_q"] == 1 and got.unjudged_queries == ["q2"]


def test_no_relevant_scored_zero_by_default_or_excluded() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    run = trec.Run("r", "", {"q1": (["a"], [1.0]), "q2": (["b"], [1.0])})
    assert_agree(qrels, run)
    kept = trec.score_run(qrels, run, measures=["map", "num_q"])
    assert kept.summary == {"map": 0.5, "num_q": 2.0} and kept.excluded == []
    dropped = trec.score_run(qrels, run, measures=["map", "num_q"], exclude_no_relevant=True)
    assert dropped.summary == {"map": 1.0, "num_q": 1.0} and dropped.excluded == ["q2"]
    assert "excluded from the means: q2" in trec.format_trec_eval([dropped])
    assert "scored 0 and kept" in trec.format_trec_eval([kept])


def test_summary_means_and_sums_like_trec_eval() -> None:
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 2}, "q3": {"x": 1}}
    run = trec.Run("r", "", {"q1": (["a", "z"], [1.0, 0.5]), "q2": (["y", "c"], [1.0, 0.5])})
    got = trec.score_run(qrels, run, measures=["map", "num_rel_ret", "num_q"])
    assert got.missing == ["q3"]
    assert got.summary == {"map": pytest.approx((0.5 + 0.5) / 2), "num_rel_ret": 2.0, "num_q": 2.0}
    # -c: the qrels' queries the run lacks count as zeros
    complete = trec.score_run(qrels, run, measures=["map", "num_q"], complete=True)
    assert complete.summary == {"map": pytest.approx(1 / 3), "num_q": 3.0}
    text = trec.format_trec_eval([got], per_query=True)
    assert "map                   \tq1\t0.5000" in text and "num_rel_ret           \tall\t2" in text


def test_measure_names() -> None:
    assert trec.expand_measures(["P.5,10", "map", "ndcg_cut.3", "map"]) == ["P_5", "P_10", "map", "ndcg_cut_3"]
    assert trec.parse_measure("ndcg_cut_10") == ("ndcg_cut", 10)
    for bad in ("P", "map_5", "bpref", "P_0"):
        with pytest.raises(ValueError, match="unknown measure"):
            trec.parse_measure(bad)
    # the library's metric names map onto trec_eval's
    assert [m.trec_name(n) for n in ("P@5", "R@10", "MRR", "MAP", "R-prec", "NDCG@10", "success@1")] == [
        "P_5", "recall_10", "recip_rank", "map", "Rprec", "ndcg_cut_10", "success_1"
    ]


def test_library_metrics_use_the_same_conventions() -> None:
    """evaluate_ranking (the library's eval) gives trec.score_query's figures on the same
    ranking, tie order included."""
    rng = random.Random(7)
    for _ in range(100):
        qrels, run = random_case(rng)
        for qid, (docs, scores) in run.rankings.items():
            if qid not in qrels:
                continue
            shuffled = list(zip(docs, scores))
            rng.shuffle(shuffled)  # evaluate_ranking must reorder by itself
            lib = m.evaluate_ranking([d for d, _ in shuffled], qrels[qid], KS, scores=[s for _, s in shuffled])
            ref = trec.score_query(docs, qrels[qid], [m.trec_name(n) for n in lib])
            for name, value in lib.items():
                assert value == pytest.approx(ref[m.trec_name(name)], abs=1e-12), name
            assert not any(math.isnan(v) for v in lib.values())

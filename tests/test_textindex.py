"""Transcript text search: BM25 finds exact keywords, RRF fuses rankings deterministically, the hybrid index combines both and persists."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bm25s")

from mediasearch.textindex import BM25Index, HybridTextIndex, bm25_search, rank_by_score, rrf_fuse, tokenize  # noqa: E402

TEXTS = [
    "The lighthouse keeper painted the old wooden boat bright yellow.",
    "Our quarterly budget meeting moves to Thursday afternoon.",
    "Bring the projector and the printed reports.",
    "A yellow submarine surfaced near the harbour.",
    "Thursday is the day the budget is due.",
    "",
]
IDS = [101, 102, 103, 104, 105, 106]


def test_tokenize() -> None:
    assert tokenize("The Lighthouse-keeper's BOAT, 3 times!") == ["lighthouse", "keepers", "boat", "3", "times"]
    assert tokenize("don\u2019t stop") == ["dont", "stop"]
    assert tokenize("Ça fait 20 ﬁles") == ["ça", "fait", "20", "files"]  # NFKC folds the ligature
    assert tokenize("a the of") == []


def test_bm25_finds_exact_keywords() -> None:
    index = BM25Index(TEXTS, IDS)
    assert [i for i, _ in index.search("lighthouse", 5)] == [101]
    assert [i for i, _ in index.search("projector", 5)] == [103]
    top = index.search("budget Thursday", 5)
    assert {i for i, _ in top} == {102, 105} and all(s > 0 for _, s in top)
    yellow = [i for i, _ in index.search("yellow", 5)]
    assert sorted(yellow) == [101, 104]
    assert index.search("giraffe", 5) == []  # no shared term: nothing, not random documents
    assert index.search("the of and", 5) == []  # stopwords only
    assert bm25_search(TEXTS, IDS, "submarine harbour", 1) == index.search("submarine harbour", 1)


def test_bm25_ties_break_by_id() -> None:
    texts = ["alpha beta", "alpha beta", "alpha beta", "gamma"]
    index = BM25Index(texts, [30, 10, 20, 40])
    hits = index.search("alpha", 2)
    assert [i for i, _ in hits] == [10, 20] and hits[0][1] == hits[1][1]


def test_bm25_empty_corpus() -> None:
    index = BM25Index([], [])
    assert len(index) == 0 and index.search("anything", 3) == []


def test_rrf_hand_computed() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 1]], k=60)
    expected = {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61}
    assert [i for i, _ in fused] == [1, 3, 2]
    for i, score in fused:
        assert score == pytest.approx(expected[i])
    assert rrf_fuse([[5, 5, 6]], k=1) == [(5, 1 / 2), (6, 1 / 4)]  # repeats count once, at their best rank
    weighted = rrf_fuse([[1], [2]], k=60, weights=[1.0, 2.0])
    assert [i for i, _ in weighted] == [2, 1]
    assert rrf_fuse([], k=60) == [] and rrf_fuse([[], []]) == []
    with pytest.raises(ValueError):
        rrf_fuse([[1]], weights=[1.0, 2.0])


def test_rrf_order_is_deterministic() -> None:
    # 7 and 3 swap places between the two rankings: equal fused scores, so the smaller id wins
    a, b = [7, 3, 9], [3, 7, 8]
    assert [i for i, _ in rrf_fuse([a, b])] == [3, 7, 8, 9]
    assert [i for i, _ in rrf_fuse([b, a])] == [3, 7, 8, 9]
    rng = random.Random(0)
    ids = list(range(200))
    rankings = [rng.sample(ids, 120) for _ in range(3)]
    first = rrf_fuse(rankings)
    for _ in range(5):  # same input, same output, whatever the hash seeds
        assert rrf_fuse([list(r) for r in rankings]) == first
    assert rrf_fuse(rankings, limit=10) == first[:10]


def test_rank_by_score() -> None:
    assert rank_by_score([4, -1, 2, 3], [0.5, 0.9, 0.5, 0.7]) == [(3, 0.7), (2, 0.5), (4, 0.5)]


def _toy_vectors(texts: list[str]) -> np.ndarray:
    """Bag-of-letters vectors: enough structure for dense search in a test, no model needed."""
    out = np.zeros((len(texts), 26), np.float32)
    for row, text in enumerate(texts):
        for ch in text.lower():
            if "a" <= ch <= "z":
                out[row, ord(ch) - 97] += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def test_hybrid_fuses_both_sides() -> None:
    hybrid = HybridTextIndex(TEXTS, IDS, embed=_toy_vectors)
    hits = hybrid.search("lighthouse", 3)
    assert hits[0].id == 101 and hits[0].bm25_rank == 1 and hits[0].dense_rank is not None
    assert hits[0].score == pytest.approx(1 / 61 + 1 / (60 + hits[0].dense_rank))
    # a query with no shared keyword still gets dense results
    fuzzy = hybrid.search("lighthous keper", 3)
    assert fuzzy and all(h.bm25_rank is None for h in fuzzy)
    assert hybrid.search("lighthouse", 3) == hits  # deterministic


def test_hybrid_with_external_dense_search() -> None:
    vectors = _toy_vectors(TEXTS)
    calls: list[int] = []

    def dense_search(query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append(n)
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")[:n]
        ids = np.full(n, -1, np.int64)
        out = np.full(n, -np.inf, np.float32)
        ids[: order.size], out[: order.size] = np.asarray(IDS)[order], scores[order]
        return out, ids  # -1 padded like FAISS

    hybrid = HybridTextIndex(TEXTS, IDS, dense_search=dense_search)
    hits = hybrid.search("projector", 2, query_vector=_toy_vectors(["projector"])[0])
    assert hits[0].id == 103 and calls == [50]
    bm25_only = HybridTextIndex(TEXTS, IDS).search("projector", 2)
    assert [h.id for h in bm25_only] == [103] and bm25_only[0].dense_rank is None


def test_bm25_persistence_and_signature(tmp_path: Path) -> None:
    index = BM25Index(TEXTS, IDS)
    folder = tmp_path / "whisper-tiny.bm25"
    index.save(folder, signature=[6, 621])
    loaded = BM25Index.load(folder, signature=[6, 621])
    assert loaded is not None and loaded.search("budget", 5) == index.search("budget", 5)
    assert BM25Index.load(folder, signature=[7, 700]) is None  # the catalog changed: rebuild
    assert BM25Index.load(tmp_path / "missing.bm25") is None
    index.save(folder, signature=[1])  # replaced whole
    assert BM25Index.load(folder, signature=[1]) is not None
    empty = tmp_path / "empty.bm25"
    BM25Index([], []).save(empty, signature=[0])
    assert len(BM25Index.load(empty, signature=[0])) == 0

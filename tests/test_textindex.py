"""Transcript text search: BM25 (the catalog's FTS5 index, kept by triggers) finds exact
keywords and follows every change without a rebuild; RRF fuses rankings deterministically."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from mediasearch.catalog import Catalog
from mediasearch.media import AssetStatus, MediaKind, Stream
from mediasearch.textindex import fuse_hybrid, query_terms, rank_by_score, rrf_fuse

TEXTS = [
    "The lighthouse keeper painted the old wooden boat bright yellow.",
    "Our quarterly budget meeting moves to Thursday afternoon.",
    "Bring the projector and the printed reports.",
    "A yellow submarine surfaced near the harbour.",
    "Thursday is the day the budget is due.",
    "",
]


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Catalog, list[int]]:
    cat = Catalog(tmp_path / "c.sqlite")
    with cat.transaction():
        aid = cat.upsert_asset(tmp_path / "talk.wav", kind=MediaKind.AUDIO, size=1, mtime_ns=1, content_hash="h",
                               status=AssetStatus.OK)
        ids = cat.add_segments(aid, Stream.SPEECH, [(float(i), i + 1.0) for i in range(len(TEXTS))],
                               texts=TEXTS, source="whisper-tiny.en")
        other = cat.add_segments(aid, Stream.SPEECH, [(0.0, 1.0)], texts=["lighthouse"], source="whisper-base")
    assert other
    return cat, ids


def _bm25(cat: Catalog, text: str, k: int = 5) -> list[tuple[int, float]]:
    return cat.speech_bm25("whisper-tiny.en", query_terms(text), k)


def test_query_terms() -> None:
    assert query_terms("The Lighthouse-keeper's BOAT, 3 times!") == ["lighthouse", "keepers", "boat", "3", "times"]
    assert query_terms("don\u2019t stop") == ["dont", "stop"]
    assert query_terms("Ça fait 20 ﬁles") == ["ça", "fait", "20", "files"]  # NFKC folds the ligature
    assert query_terms("a the of") == []
    assert query_terms('"; DROP TABLE segments; --') == ["drop", "table", "segments"]


def test_bm25_finds_exact_keywords(corpus) -> None:
    cat, ids = corpus
    assert [i for i, _ in _bm25(cat, "lighthouse")] == [ids[0]]  # the other encoder's segment is not searched
    assert [i for i, _ in _bm25(cat, "projector")] == [ids[2]]
    top = _bm25(cat, "budget Thursday")
    assert {i for i, _ in top} == {ids[1], ids[4]} and all(s > 0 for _, s in top)
    assert sorted(i for i, _ in _bm25(cat, "yellow")) == [ids[0], ids[3]]
    assert [i for i, _ in _bm25(cat, "reports")] == [ids[2]] == [i for i, _ in _bm25(cat, "report")]  # stemmed
    assert _bm25(cat, "giraffe") == []  # no shared term: nothing, not random segments
    assert _bm25(cat, "the of and") == []  # stop words only
    assert _bm25(cat, '"; DROP TABLE segments; --') == []  # FTS syntax is inert


def test_bm25_ties_break_by_id(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.sqlite")
    with cat.transaction():
        aid = cat.upsert_asset(tmp_path / "a.wav", kind=MediaKind.AUDIO, size=1, mtime_ns=1, content_hash="h",
                               status=AssetStatus.OK)
        ids = cat.add_segments(aid, Stream.SPEECH, [(0, 1)] * 4, texts=["alpha beta", "alpha beta", "alpha beta", "gamma"],
                               source="w")
    hits = cat.speech_bm25("w", ["alpha"], 2)
    assert [i for i, _ in hits] == ids[:2] and hits[0][1] == hits[1][1]
    assert cat.speech_bm25("nobody", ["alpha"], 3) == []


def test_bm25_follows_inserts_deletes_and_rollbacks_without_a_rebuild(corpus) -> None:
    cat, ids = corpus
    with cat.transaction():
        aid = cat.upsert_asset("/x/zebra.wav", kind=MediaKind.AUDIO, size=1, mtime_ns=1, content_hash="z",
                               status=AssetStatus.OK)
        (zebra,) = cat.add_segments(aid, Stream.SPEECH, [(0, 1)], texts=["zebras crossing"], source="whisper-tiny.en")
    assert [i for i, _ in _bm25(cat, "zebras")] == [zebra]
    with pytest.raises(RuntimeError):
        with cat.transaction():
            cat.delete_assets([aid])  # cascades to the segment, and the trigger to the FTS row
            assert _bm25(cat, "zebras") == []
            raise RuntimeError("rolled back")
    assert [i for i, _ in _bm25(cat, "zebras")] == [zebra]
    with cat.transaction():
        cat.delete_assets([aid])
    assert _bm25(cat, "zebras") == []
    assert [i for i, _ in _bm25(cat, "projector")] == [ids[2]]


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


def test_hybrid_fusion_of_both_sides() -> None:
    lexical = [(101, 9.0), (104, 3.0)]
    semantic = [(104, 0.9), (102, 0.8), (101, 0.7)]
    hits = fuse_hybrid(lexical, semantic, 3)
    assert [h.id for h in hits] == [104, 101, 102]
    top = hits[0]
    assert (top.bm25_rank, top.dense_rank) == (2, 1) and top.score == pytest.approx(1 / 62 + 1 / 61)
    assert hits[2].bm25_rank is None and hits[2].dense_score == pytest.approx(0.8)
    assert fuse_hybrid(lexical, semantic, 3) == hits  # deterministic
    assert [h.id for h in fuse_hybrid([], semantic, 2)] == [104, 102]  # no shared keyword: dense alone
    assert fuse_hybrid([], [], 5) == []

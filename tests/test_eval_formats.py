"""TREC qrels / run and CSV files round-trip; pooling lists unjudged first, depth by depth."""

from __future__ import annotations

import math

import io

import pytest

from mediasearch.evaluation import formats as f
from mediasearch.evaluation.pooling import pool

H1, H2 = "a" * 64, "b" * 64


def test_qrels_round_trip() -> None:
    rows = [f.QrelRow("cats", H1, 2), f.QrelRow("cats", H2, 0), f.QrelRow("dogs", H1, 1, at_s=12.5)]
    buf = io.StringIO()
    assert f.write_qrels(rows, buf) == 3
    text = buf.getvalue()
    assert text.splitlines() == [f"cats 0 {H1} 2", f"cats 0 {H2} 0", f"dogs 0 {H1}@12.5 1"]
    assert f.read_qrels(io.StringIO(text)) == rows


def test_qrels_reads_foreign_files_and_rejects_bad_lines() -> None:
    text = "# comment\n\n101 0 doc-1 1\n101\t0\tdoc-2\t0\n"
    assert f.read_qrels(io.StringIO(text)) == [f.QrelRow("101", "doc-1", 1), f.QrelRow("101", "doc-2", 0)]
    with pytest.raises(f.FormatError, match="x.qrels:2"):
        f.read_qrels(io.StringIO("q 0 d 1\nq 0 d\n"), source="x.qrels")
    with pytest.raises(f.FormatError, match="not an integer"):
        f.read_qrels(io.StringIO("q 0 d high\n"))
    with pytest.raises(ValueError, match="whitespace"):
        f.write_qrels([f.QrelRow("two words", H1, 1)], io.StringIO())


def test_run_round_trip() -> None:
    rows = [f.RunRow("cats", H1, 1, 0.93, "baseline-image"), f.RunRow("cats", H2, 2, 0.5, "baseline-image")]
    buf = io.StringIO()
    f.write_run(rows, buf)
    assert buf.getvalue().splitlines()[0] == f"cats Q0 {H1} 1 0.930000 baseline-image"
    back = f.read_run(io.StringIO(buf.getvalue()))
    assert back == rows
    assert f.run_rankings(reversed(back)) == {"baseline-image": {"cats": [H1, H2]}}
    with pytest.raises(f.FormatError):
        f.read_run(io.StringIO("cats Q0 x 1 high tag\n"))
    # trailing fields accepted; the rank column is ignored: scores order, ties by docno descending
    lines = "cats Q0 a 1 0.1 t extra\ncats Q0 b 2 0.9 t\ncats Q0 c one 0.9 t\n"
    assert f.run_rankings(f.read_run(io.StringIO(lines))) == {"t": {"cats": ["c", "b", "a"]}}


def test_csv_round_trip_with_awkward_paths() -> None:
    rows = [
        f.QrelRow("cats", H1, 2, path="/photos/a, b \"quoted\".jpg", rater="ann"),
        f.QrelRow("cats", H2, 1, at_s=3.0, path="/videos/clip one.mp4", rater=""),
    ]
    buf = io.StringIO()
    f.write_judgements_csv(rows, buf)
    assert buf.getvalue().splitlines()[0] == "query,path,content_hash,at_s,grade,rater"
    assert f.read_judgements_csv(io.StringIO(buf.getvalue())) == rows


def test_csv_by_path_only_and_errors() -> None:
    rows = f.read_judgements_csv(io.StringIO("query,path,grade\ncats,/x/y.jpg,1\n"))
    assert rows == [f.QrelRow("cats", "/x/y.jpg", 1, -1.0, "/x/y.jpg")]
    with pytest.raises(f.FormatError, match="header"):
        f.read_judgements_csv(io.StringIO("name,grade\nx,1\n"))
    with pytest.raises(f.FormatError, match=":2:"):
        f.read_judgements_csv(io.StringIO("query,path,grade\ncats,/x.jpg,maybe\n"))


def test_docno() -> None:
    assert f.split_docno(f.docno(H1, 7.25)) == (H1, 7.25)
    assert f.split_docno(H1) == (H1, -1.0)
    assert f.split_docno("user@host") == ("user@host", -1.0)  # not a time: left alone


def test_metric_table_csv() -> None:
    buf = io.StringIO()
    table = [{"group": "image queries → image", "encoder": "e1", "queries": 3, "means": {"MAP": 0.5, "P@1": float("nan")}}]
    f.write_metric_table_csv(table, ["MAP", "P@1"], buf)
    assert buf.getvalue().splitlines() == ["group,encoder,queries,MAP,P@1", "image queries → image,e1,3,0.500000,"]


# -- pooling ---------------------------------------------------------------------------


def test_pool_depth_order_unjudged_first_then_depth_then_agreement() -> None:
    rankings = {"enc-a": ["x", "y", "z", "w"], "enc-b": ["y", "v", "x", "u"]}
    qrels = {"x": 1}
    items = pool(rankings, qrels, depth=3, order="depth")
    # union of the top 3: x y z (a) + y v x (b) = x y z v; u and w are below the depth
    assert {it.doc for it in items} == {"x", "y", "z", "v"}
    # unjudged first: y (best rank 1, both encoders), v (rank 2 in b), z (rank 3 in a); judged x last
    assert [it.doc for it in items] == ["y", "v", "z", "x"]
    assert items[0].ranks == {"enc-a": 2, "enc-b": 1} and items[0].best_rank == 1
    assert items[-1].grade == 1 and items[-1].judged


def test_pool_label_next_puts_what_encoders_disagree_on_first() -> None:
    rankings = {"enc-a": ["x", "y", "z", "w"], "enc-b": ["y", "v", "x", "u"]}
    items = pool(rankings, {"x": 1}, depth=3)
    by_doc = {it.doc: it for it in items}
    # gains 1/log2(rank+1): y = |1/log2(3) - 1| = 0.369, v = 1/log2(3) - 0 = 0.631, z = 1/log2(4) - 0 = 0.5
    assert by_doc["y"].disagreement == pytest.approx(1 - 1 / math.log2(3))
    assert by_doc["v"].disagreement == pytest.approx(1 / math.log2(3))
    assert by_doc["z"].disagreement == pytest.approx(0.5)
    # what could move the comparison most first; y, which both placed near the top, last; judged x after all
    assert [it.doc for it in items] == ["v", "z", "y", "x"]
    # a hit every encoder ranked first changes no comparison
    same = pool({"a": ["p", "q"], "b": ["p", "r"]}, {}, depth=2)
    assert same[-1].doc == "p" and same[-1].disagreement == 0.0
    assert same[0].to_json()["disagreement"] == pytest.approx(1 / math.log2(3))
    with pytest.raises(ValueError):
        pool(rankings, {}, order="random")


def test_pool_ties_broken_by_agreement_then_key() -> None:
    rankings = {"a": ["p", "q"], "b": ["r", "q"], "c": ["s", "q"]}
    items = pool(rankings, {}, depth=2)
    # p, r, s are each rank 1 for one encoder; q is rank 2 for all three
    assert [it.doc for it in items] == ["p", "r", "s", "q"]
    items = pool({"a": ["p", "q"], "b": ["q", "p"]}, {}, depth=1)
    assert [it.doc for it in items] == ["p", "q"]
    with pytest.raises(ValueError):
        pool(rankings, {}, depth=0)


def test_pool_counts_judged_zero_as_judged() -> None:
    items = pool({"a": ["n", "m"]}, {"n": 0}, depth=5)
    assert [(it.doc, it.grade) for it in items] == [("m", None), ("n", 0)]
    assert items[1].to_json()["grade"] == 0

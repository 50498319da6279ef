"""Saved queries and judgements: CRUD, content-hash keys, moment folding, qrels/CSV import and export."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mediasearch.catalog import Catalog
from mediasearch.config import Settings
from mediasearch.errors import NotFoundError, QueryError
from mediasearch.evaluation import formats as f
from mediasearch.evaluation import groundtruth as gt
from mediasearch.media import AssetStatus, MediaKind, Modality


@pytest.fixture
def catalog(settings: Settings):
    cat = Catalog(settings.catalog_path)
    yield cat
    cat.close()


def _asset(catalog: Catalog, path: str, content_hash: str, kind: MediaKind = MediaKind.IMAGE) -> int:
    with catalog.transaction():
        return catalog.upsert_asset(
            path, kind=kind, size=1, mtime_ns=1, content_hash=content_hash, status=AssetStatus.OK
        )


def test_text_queries_crud(catalog: Catalog, settings: Settings) -> None:
    q1 = gt.add_query(catalog, settings, modality=Modality.TEXT, text="  A red Car!  ")
    q2 = gt.add_query(catalog, settings, modality=Modality.TEXT, text="a red car")
    assert (q1.name, q2.name) == ("a-red-car", "a-red-car-2")
    assert q1.text == "A red Car!" and q1.file is None
    named = gt.add_query(catalog, settings, modality=Modality.TEXT, text="dogs", name="dogs-1")
    assert [q.name for q in gt.list_queries(catalog, settings)] == ["a-red-car", "a-red-car-2", "dogs-1"]
    assert gt.get_query(catalog, settings, "dogs-1") == named
    assert gt.get_query(catalog, settings, str(named.id)) == named
    assert gt.get_query(catalog, settings, named.id) == named
    with pytest.raises(QueryError, match="already exists"):
        gt.add_query(catalog, settings, modality=Modality.TEXT, text="x", name="dogs-1")
    with pytest.raises(QueryError, match="without spaces"):
        gt.add_query(catalog, settings, modality=Modality.TEXT, text="x", name="two words")
    with pytest.raises(QueryError):
        gt.add_query(catalog, settings, modality=Modality.TEXT, text="   ")
    with pytest.raises(QueryError, match="needs a file"):
        gt.add_query(catalog, settings, modality=Modality.IMAGE, text="x")
    with pytest.raises(QueryError, match="not found"):
        gt.add_query(catalog, settings, modality=Modality.IMAGE, path=settings.library_dir / "missing.jpg")
    gt.remove_query(catalog, settings, "a-red-car")
    with pytest.raises(NotFoundError):
        gt.get_query(catalog, settings, "a-red-car")


def test_file_query_keeps_a_copy(catalog: Catalog, settings: Settings, tmp_path: Path) -> None:
    src = tmp_path / "Example Photo.JPG"
    src.write_bytes(b"\xff\xd8 not really a jpeg but bytes are bytes")
    q = gt.add_query(catalog, settings, modality=Modality.IMAGE, path=src)
    assert q.name == "example-photo" and q.file is not None
    assert q.file.parent.parent == settings.queries_dir and q.file.name == "Example Photo.JPG"
    assert q.file.read_bytes() == src.read_bytes() and q.file_hash
    src.unlink()  # the original may go: the query keeps working
    same = gt.add_query(catalog, settings, modality=Modality.IMAGE, path=q.file, name="again")
    assert same.file == q.file
    gt.remove_query(catalog, settings, q.name)
    assert same.file.exists()  # still used by "again"
    gt.remove_query(catalog, settings, "again")
    assert not same.file.exists() and not same.file.parent.exists()
    audio = tmp_path / "clip.wav"
    audio.write_bytes(b"RIFF....")
    a = gt.add_query(catalog, settings, modality=Modality.AUDIO, path=audio, start_s=1.0, end_s=3.5)
    assert (a.start_s, a.end_s) == (1.0, 3.5) and "clip" in a.describe()
    with pytest.raises(QueryError, match="empty"):
        gt.add_query(catalog, settings, modality=Modality.AUDIO, path=audio, start_s=3.0, end_s=1.0)


def test_judgements_keyed_by_hash_and_survive_moves(catalog: Catalog, settings: Settings, tmp_path: Path) -> None:
    q = gt.add_query(catalog, settings, modality=Modality.TEXT, text="cats")
    path = str(tmp_path / "a.jpg")
    aid = _asset(catalog, path, "h-a")
    j = gt.judge_path(catalog, q, path, 2)
    assert (j.content_hash, j.grade, j.at_s, j.path) == ("h-a", 2, -1.0, path)
    gt.judge_path(catalog, q, path, 1)  # re-judging replaces
    assert gt.asset_qrels(catalog, q.id) == {"h-a": 1}
    with pytest.raises(QueryError, match="grade"):
        gt.judge_path(catalog, q, path, 3)
    with pytest.raises(NotFoundError, match="indexed file"):
        gt.judge_path(catalog, q, tmp_path / "not-indexed.jpg", 1)

    # a move: the catalog row changes path; the judgement follows the hash
    moved = str(tmp_path / "sub" / "a-renamed.jpg")
    with catalog.transaction():
        catalog.move_asset(aid, moved, size=1, mtime_ns=2)
    assert gt.asset_qrels(catalog, q.id) == {"h-a": 1}
    assert gt.export_judgements(catalog)[0].path == moved
    # the asset forgotten entirely (a rebuild): the judgement stays, keyed by hash
    with catalog.transaction():
        catalog.delete_assets([aid])
    assert gt.asset_qrels(catalog, q.id) == {"h-a": 1}
    _asset(catalog, str(tmp_path / "again.jpg"), "h-a")
    assert gt.export_judgements(catalog)[0].path == str(tmp_path / "again.jpg")
    assert gt.remove_judgement(catalog, q, "h-a") and not gt.remove_judgement(catalog, q, "h-a")


def test_moment_judgements_fold_into_the_asset(catalog: Catalog, settings: Settings) -> None:
    q = gt.add_query(catalog, settings, modality=Modality.TEXT, text="goal")
    gt.set_judgement(catalog, q, content_hash="v1", grade=1, at_s=10.0)
    gt.set_judgement(catalog, q, content_hash="v1", grade=2, at_s=30.0)
    gt.set_judgement(catalog, q, content_hash="v2", grade=2, at_s=5.0)
    gt.set_judgement(catalog, q, content_hash="v2", grade=0)  # whole-file verdict wins
    gt.set_judgement(catalog, q, content_hash="v3", grade=0, at_s=1.0)
    assert gt.asset_qrels(catalog, q.id) == {"v1": 2, "v2": 0, "v3": 0}
    assert len(gt.judgements(catalog, q.id)) == 5


def test_qrels_and_csv_export_import_round_trip(catalog: Catalog, settings: Settings, tmp_path: Path) -> None:
    q = gt.add_query(catalog, settings, modality=Modality.TEXT, text="cats")
    gt.add_query(catalog, settings, modality=Modality.TEXT, text="dogs")
    _asset(catalog, str(tmp_path / "a.jpg"), "h-a")
    _asset(catalog, str(tmp_path / "b.mp4"), "h-b", MediaKind.VIDEO)
    gt.judge_path(catalog, q, tmp_path / "a.jpg", 2)
    gt.judge_path(catalog, q, tmp_path / "b.mp4", 1, at_s=4.5)
    gt.set_judgement(catalog, gt.get_query(catalog, settings, "dogs"), content_hash="h-a", grade=0)
    rows = gt.export_judgements(catalog)
    qrels_text, csv_text = io.StringIO(), io.StringIO()
    f.write_qrels(rows, qrels_text)
    f.write_judgements_csv(rows, csv_text)

    # into a fresh library that has the same queries but has not indexed anything yet
    for fmt, text in (("trec", qrels_text.getvalue()), ("csv", csv_text.getvalue())):
        other_settings = settings.with_(library_dir=tmp_path / f"other-{fmt}")
        other = Catalog(other_settings.catalog_path)
        try:
            gt.add_query(other, other_settings, modality=Modality.TEXT, text="cats")
            gt.add_query(other, other_settings, modality=Modality.TEXT, text="dogs")
            parsed = f.read_qrels(io.StringIO(text)) if fmt == "trec" else f.read_judgements_csv(io.StringIO(text))
            report = gt.import_judgements(other, other_settings, parsed)
            assert report.imported == 3 and not report.unknown_queries and not report.unresolved
            back = gt.export_judgements(other)
            assert [(r.query, r.doc, r.grade, r.at_s) for r in back] == [(r.query, r.doc, r.grade, r.at_s) for r in rows]
        finally:
            other.close()


def test_import_by_path_unknown_queries_and_bad_grades(catalog: Catalog, settings: Settings, tmp_path: Path) -> None:
    gt.add_query(catalog, settings, modality=Modality.TEXT, text="cats")
    _asset(catalog, str(tmp_path / "a.jpg"), "h-a")
    rows = [
        f.QrelRow("cats", str(tmp_path / "a.jpg"), 1),
        f.QrelRow("cats", str(tmp_path / "unknown.jpg"), 1),
        f.QrelRow("birds", "h-a", 2),
    ]
    report = gt.import_judgements(catalog, settings, rows)
    assert report.imported == 1
    assert report.unresolved == [str(tmp_path / "unknown.jpg")] and report.unknown_queries == ["birds"]
    assert gt.asset_qrels(catalog, 1) == {"h-a": 1}
    with pytest.raises(QueryError, match="grade"):
        gt.import_judgements(catalog, settings, [f.QrelRow("cats", "h-a", 2), f.QrelRow("cats", "h-z", 1.5)])  # type: ignore[arg-type]
    assert gt.asset_qrels(catalog, 1) == {"h-a": 1}  # nothing of the failed import stored


def test_import_keeps_any_grade_and_minus_one_as_unjudged(catalog: Catalog, settings: Settings) -> None:
    gt.add_query(catalog, settings, modality=Modality.TEXT, text="cats")
    rows = [f.QrelRow("cats", "h-a", 4), f.QrelRow("cats", "h-b", 3), f.QrelRow("cats", "h-c", -1), f.QrelRow("cats", "h-d", 0)]
    report = gt.import_judgements(catalog, settings, rows)
    assert report.imported == 4
    # -1 is trec_eval's "unjudged": stored (it exports again), but no judgement for evaluation
    assert gt.asset_qrels(catalog, 1) == {"h-a": 4, "h-b": 3, "h-d": 0}
    assert sorted((r.doc, r.grade) for r in gt.export_judgements(catalog)) == [("h-a", 4), ("h-b", 3), ("h-c", -1), ("h-d", 0)]
    # an unjudged whole-file row does not hide a judged moment of the file
    gt.import_judgements(catalog, settings, [f.QrelRow("cats", "h-c", 2, at_s=3.0)])
    assert gt.asset_qrels(catalog, 1)["h-c"] == 2


def test_removing_a_query_removes_its_judgements(catalog: Catalog, settings: Settings) -> None:
    q = gt.add_query(catalog, settings, modality=Modality.TEXT, text="cats")
    gt.set_judgement(catalog, q, content_hash="h", grade=1)
    gt.remove_query(catalog, settings, q.id)
    assert gt.judgements(catalog) == []

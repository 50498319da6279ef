"""The catalog keeps assets, segments and embeddings consistently, and upgrades old databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mediasearch.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog
from mediasearch.errors import CatalogError
from mediasearch.media import AssetStatus, MediaKind, Stream


def _add(cat: Catalog, path: str, *, h: str = "b2:aa") -> int:
    return cat.upsert_asset(path, kind=MediaKind.IMAGE, size=10, mtime_ns=1, content_hash=h, status=AssetStatus.OK)


def test_new_catalog_is_current_and_wal(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        assert cat.schema_version == SCHEMA_VERSION
        assert cat.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_a_v1_database_upgrades_it_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO assets(path, kind, size, mtime_ns, content_hash, status) VALUES('/x/a.jpg','image',5,7,'h','ok')"
    )
    conn.execute("INSERT INTO segments(asset_id, stream, start_s, end_s) VALUES(1,'image',NULL,NULL)")
    conn.execute("INSERT INTO embeddings(encoder, segment_id) VALUES('resnet50', 1)")
    conn.commit()
    conn.close()
    with Catalog(path) as cat:
        assert cat.previous_version == 1
        assert cat.schema_version == SCHEMA_VERSION
        asset = cat.asset_by_path("/x/a.jpg")
        assert asset is not None and asset.size == 5
        assert list(cat.embedded_ids("resnet50")) == [1]
        seg = cat.segments_of(asset.id)[0]
        assert seg.text is None  # v2 column, defaulted
        cat.conn.execute("SELECT * FROM judgements").fetchall()  # v2 table exists


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog(path)


def test_deleting_an_asset_cascades_to_segments_embeddings_labels(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        with cat.transaction():
            aid = _add(cat, "/a/1.jpg")
            sids = cat.add_segments(aid, Stream.AUDIO, [(0.0, 10.0), (5.0, 15.0)], source="panns-cnn14")
            cat.mark_embedded("panns-cnn14", sids)
            cat.set_labels("panns-cnn14", sids[0], [("Speech", 0.9), ("Music", 0.1)])
        assert cat.labels_of("panns-cnn14", sids)[sids[0]][0] == ("Speech", 0.9)
        with cat.transaction():
            cat.delete_assets([aid])
        assert len(cat.embedded_ids("panns-cnn14")) == 0
        assert cat.labels_of("panns-cnn14", sids) == {}


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        with pytest.raises(RuntimeError):
            with cat.transaction():
                _add(cat, "/a/1.jpg")
                raise RuntimeError("boom")
        assert cat.asset_by_path("/a/1.jpg") is None


def test_assets_under_matches_folder_prefix_only(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        with cat.transaction():
            _add(cat, "/photos/a.jpg")
            _add(cat, "/photos/sub/b.jpg")
            _add(cat, "/photos2/c.jpg")
        assert sorted(cat.assets_under(Path("/photos"))) == ["/photos/a.jpg", "/photos/sub/b.jpg"]


def test_counts_and_skipped(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite") as cat:
        with cat.transaction():
            aid = _add(cat, "/p/a.jpg")
            cat.mark_embedded("baseline-image", cat.add_segments(aid, Stream.IMAGE, [(None, None)]))
            cat.upsert_asset("/p/bad.jpg", kind=None, size=0, mtime_ns=1, content_hash=None,
                             status=AssetStatus.SKIPPED, skip_reason="empty file (0 bytes)")
        counts = cat.counts()
        assert counts["assets"]["image"]["ok"] == 1
        assert counts["assets"]["unknown"]["skipped"] == 1
        assert counts["encoders"]["baseline-image"]["segments"] == 1
        assert cat.skipped() == [("/p/bad.jpg", "empty file (0 bytes)")]


def test_library_meta_and_run_memory_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        assert cat.meta("vector_store") is None
        with cat.transaction():
            cat.set_meta("vector_store", "local")
            cat.set_meta("vector_store", "milvus-lite:///x.db")
            cat.record_run("e", started_at=1.0, wall_s=2.0, items=3, media_s=0.0, threads=1, machine="m", peak_rss_mb=512.5)
    with Catalog(path) as cat:
        assert cat.meta("vector_store") == "milvus-lite:///x.db"
        assert cat.runs("e")[0]["peak_rss_mb"] == 512.5
        with cat.transaction():
            cat.set_meta("vector_store", None)
        assert cat.meta("vector_store") is None

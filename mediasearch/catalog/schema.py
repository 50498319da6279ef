"""The catalog's schema: one SQL script per version, applied once and recorded.

The version lives in ``PRAGMA user_version``. Each step runs in its own transaction with
foreign keys off (SQLite's procedure for rebuilding a table, used by v3 to make segment
ids AUTOINCREMENT), then ``PRAGMA foreign_key_check`` must come back clean.
"""

from __future__ import annotations

import sqlite3

from mediasearch.errors import CatalogError

MIGRATIONS: list[str] = [
    # v1: assets, segments, which encoder embedded what
    """
    CREATE TABLE assets(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        kind TEXT,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT,
        status TEXT NOT NULL,
        skip_reason TEXT,
        duration_s REAL,
        indexed_at REAL
    );
    CREATE INDEX assets_hash ON assets(content_hash);
    CREATE TABLE segments(
        id INTEGER PRIMARY KEY,
        asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        stream TEXT NOT NULL,
        start_s REAL,
        end_s REAL
    );
    CREATE INDEX segments_asset ON segments(asset_id);
    CREATE TABLE embeddings(
        encoder TEXT NOT NULL,
        segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        PRIMARY KEY(encoder, segment_id)
    ) WITHOUT ROWID;
    CREATE TABLE asset_encoders(
        asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        encoder TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        updated_at REAL,
        PRIMARY KEY(asset_id, encoder)
    ) WITHOUT ROWID;
    """,
    # v2: segment text and producer (speech), labels, transcripts, saved queries,
    # judgements, indexing runs
    """
    ALTER TABLE assets ADD COLUMN width INTEGER;
    ALTER TABLE assets ADD COLUMN height INTEGER;
    ALTER TABLE segments ADD COLUMN text TEXT;
    ALTER TABLE segments ADD COLUMN source TEXT NOT NULL DEFAULT '';
    CREATE INDEX segments_source ON segments(asset_id, stream, source);
    CREATE TABLE segment_labels(
        segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        encoder TEXT NOT NULL,
        rank INTEGER NOT NULL,
        label TEXT NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY(segment_id, encoder, rank)
    ) WITHOUT ROWID;
    CREATE TABLE transcripts(
        asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        encoder TEXT NOT NULL,
        language TEXT,
        text TEXT NOT NULL,
        PRIMARY KEY(asset_id, encoder)
    ) WITHOUT ROWID;
    CREATE TABLE queries(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        modality TEXT NOT NULL,
        text TEXT,
        file_path TEXT,
        file_hash TEXT,
        start_s REAL,
        end_s REAL,
        created_at REAL NOT NULL
    );
    CREATE TABLE judgements(
        query_id INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        at_s REAL NOT NULL DEFAULT -1,
        path TEXT NOT NULL,
        grade INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY(query_id, content_hash, at_s)
    ) WITHOUT ROWID;
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        encoder TEXT NOT NULL,
        started_at REAL NOT NULL,
        wall_s REAL NOT NULL,
        items INTEGER NOT NULL,
        media_s REAL NOT NULL DEFAULT 0,
        threads INTEGER,
        machine TEXT
    );
    """,
    # v3 (store v2): segment ids never reused (AUTOINCREMENT, table rebuilt), indexes for
    # every cascading foreign key and hot lookup, per-encoder vector logs whose durable
    # length is committed with the segments, library roots, scan problems, store events,
    # and a full-text index over transcript segments kept by triggers.
    """
    CREATE TABLE segments_v3(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        stream TEXT NOT NULL,
        start_s REAL,
        end_s REAL,
        text TEXT,
        source TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO segments_v3(id, asset_id, stream, start_s, end_s, text, source)
        SELECT id, asset_id, stream, start_s, end_s, text, source FROM segments;
    DROP TABLE segments;
    ALTER TABLE segments_v3 RENAME TO segments;
    CREATE INDEX segments_asset ON segments(asset_id);
    CREATE INDEX segments_source ON segments(asset_id, stream, source);
    CREATE INDEX segments_stream_source ON segments(stream, source);
    CREATE INDEX embeddings_segment ON embeddings(segment_id);
    CREATE INDEX segment_labels_segment ON segment_labels(segment_id);
    CREATE INDEX asset_encoders_encoder ON asset_encoders(encoder, state);
    CREATE INDEX assets_status ON assets(status);
    ALTER TABLE assets ADD COLUMN partial_reason TEXT;
    ALTER TABLE asset_encoders ADD COLUMN attempt_key TEXT;
    CREATE TABLE vector_logs(
        encoder TEXT PRIMARY KEY,
        dim INTEGER NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0,
        count INTEGER NOT NULL DEFAULT 0,
        index_type TEXT,
        config TEXT,
        updated_at REAL
    );
    CREATE TABLE roots(
        path TEXT PRIMARY KEY,
        added_at REAL NOT NULL
    );
    CREATE TABLE scan_problems(
        path TEXT PRIMARY KEY,
        root TEXT NOT NULL,
        reason TEXT NOT NULL,
        seen_at REAL NOT NULL
    );
    CREATE TABLE store_events(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        encoder TEXT,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE VIRTUAL TABLE speech_fts USING fts5(text, source UNINDEXED, tokenize='porter unicode61');
    INSERT INTO speech_fts(rowid, text, source)
        SELECT id, COALESCE(text, ''), source FROM segments WHERE stream='speech';
    CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments WHEN new.stream='speech' BEGIN
        INSERT INTO speech_fts(rowid, text, source) VALUES(new.id, COALESCE(new.text, ''), new.source);
    END;
    CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments WHEN old.stream='speech' BEGIN
        DELETE FROM speech_fts WHERE rowid=old.id;
    END;
    CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments WHEN new.stream='speech' BEGIN
        UPDATE speech_fts SET text=COALESCE(new.text, '') WHERE rowid=new.id;
    END;
    """,
    # v4: library-wide settings that every process must agree on (the vector store's URI,
    # so the CLI and the GUI use the same backend), and the peak resident memory of each
    # indexing run (the model-selection report's memory column).
    """
    CREATE TABLE library_meta(
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ALTER TABLE runs ADD COLUMN peak_rss_mb REAL;
    """,
    # v5: several raters. A judgement carries its rater's name ('' for judgements made
    # before raters were recorded), so two people can grade the same hit and the report
    # can say how far they agree; the table is rebuilt because the key gains the rater.
    """
    CREATE TABLE judgements_v5(
        query_id INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        at_s REAL NOT NULL DEFAULT -1,
        rater TEXT NOT NULL DEFAULT '',
        path TEXT NOT NULL,
        grade INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY(query_id, content_hash, at_s, rater)
    ) WITHOUT ROWID;
    INSERT INTO judgements_v5(query_id, content_hash, at_s, rater, path, grade, updated_at)
        SELECT query_id, content_hash, at_s, '', path, grade, updated_at FROM judgements;
    DROP TABLE judgements;
    ALTER TABLE judgements_v5 RENAME TO judgements;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn`` to :data:`SCHEMA_VERSION`; returns the version found before."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise CatalogError(
            f"catalog schema version {found} is newer than this mediasearch understands ({SCHEMA_VERSION}); upgrade mediasearch"
        )
    if found == SCHEMA_VERSION:
        return found
    conn.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction, so before BEGIN
    try:
        for version in range(found, SCHEMA_VERSION):
            # executescript commits first; wrap each step so a failure leaves the old version
            try:
                conn.executescript(f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise CatalogError(f"catalog migration to v{version + 1} left {len(broken)} dangling references")
    finally:
        conn.execute("PRAGMA foreign_keys=ON")
    return found

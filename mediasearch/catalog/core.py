"""The catalog: SQLite metadata for assets, segments, embeddings, transcripts, queries
and judgements.

One connection per thread (open another Catalog in a worker thread); WAL mode lets a
reader run beside the indexing writer. The schema version lives in ``PRAGMA
user_version``; :data:`MIGRATIONS` upgrade an older database once, in a transaction.

Judgements are keyed by the asset's *content hash* (and remember the path for display),
never by asset id, so they survive re-indexing, moves and rebuilds.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from mediasearch.errors import CatalogError, NotFoundError
from mediasearch.media import Asset, AssetStatus, MediaKind, Segment, Stream

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
]

SCHEMA_VERSION = len(MIGRATIONS)

#: asset_encoders.state values
STATE_DONE = "done"
STATE_FAILED = "failed"


def _asset(row: sqlite3.Row) -> Asset:
    return Asset(
        id=row["id"],
        path=Path(row["path"]),
        kind=MediaKind(row["kind"]) if row["kind"] else None,
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        content_hash=row["content_hash"],
        status=AssetStatus(row["status"]),
        skip_reason=row["skip_reason"],
        duration_s=row["duration_s"],
    )


def _segment(row: sqlite3.Row) -> Segment:
    return Segment(
        id=row["id"],
        asset_id=row["asset_id"],
        stream=Stream(row["stream"]),
        start_s=row["start_s"],
        end_s=row["end_s"],
        text=row["text"],
    )


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn`` to :data:`SCHEMA_VERSION`; returns the version found before."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise CatalogError(
            f"catalog schema version {found} is newer than this mediasearch understands ({SCHEMA_VERSION}); upgrade mediasearch"
        )
    for version in range(found, SCHEMA_VERSION):
        # executescript commits first; wrap each step so a failure leaves the old version
        conn.executescript(f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
    return found


class Catalog:
    """A connection to the library's catalog. Not shared between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.previous_version = migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path}: cannot open catalog: {exc}") from exc
        self._depth = 0
        self._owner = threading.get_ident()

    # -- plumbing ---------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (nested uses join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- assets -----------------------------------------------------------------
    def asset(self, asset_id: int) -> Asset:
        row = self.conn.execute("SELECT * FROM assets WHERE id=?", (asset_id,)).fetchone()
        if row is None:
            raise NotFoundError("asset", asset_id)
        return _asset(row)

    def asset_by_path(self, path: Path | str) -> Asset | None:
        row = self.conn.execute("SELECT * FROM assets WHERE path=?", (str(path),)).fetchone()
        return _asset(row) if row else None

    def assets(self, *, status: AssetStatus | None = None, kind: MediaKind | None = None) -> list[Asset]:
        sql, args = "SELECT * FROM assets WHERE 1=1", []
        if status is not None:
            sql += " AND status=?"
            args.append(status.value)
        if kind is not None:
            sql += " AND kind=?"
            args.append(kind.value)
        return [_asset(r) for r in self.conn.execute(sql + " ORDER BY path", args)]

    def assets_under(self, root: Path) -> dict[str, Asset]:
        """Every asset whose path is ``root`` or inside it, by path string."""
        root_s = str(root)
        prefix = root_s.rstrip("/") + "/"
        rows = self.conn.execute(
            "SELECT * FROM assets WHERE path=? OR substr(path, 1, ?)=?", (root_s, len(prefix), prefix)
        )
        return {r["path"]: _asset(r) for r in rows}

    def assets_by_hash(self, content_hash: str) -> list[Asset]:
        rows = self.conn.execute("SELECT * FROM assets WHERE content_hash=? ORDER BY id", (content_hash,))
        return [_asset(r) for r in rows]

    def upsert_asset(
        self,
        path: Path | str,
        *,
        kind: MediaKind | None,
        size: int,
        mtime_ns: int,
        content_hash: str | None,
        status: AssetStatus,
        skip_reason: str | None = None,
        duration_s: float | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> int:
        """Insert or update the asset at ``path``; returns its id (kept on update)."""
        self.conn.execute(
            """INSERT INTO assets(path, kind, size, mtime_ns, content_hash, status, skip_reason,
                                  duration_s, width, height, indexed_at)
               VALUES(?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, size=excluded.size,
                 mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash,
                 status=excluded.status, skip_reason=excluded.skip_reason,
                 duration_s=excluded.duration_s, width=excluded.width, height=excluded.height,
                 indexed_at=excluded.indexed_at""",
            (
                str(path),
                kind.value if kind else None,
                size,
                mtime_ns,
                content_hash,
                status.value,
                skip_reason,
                duration_s,
                width,
                height,
                time.time(),
            ),
        )
        return self.conn.execute("SELECT id FROM assets WHERE path=?", (str(path),)).fetchone()[0]

    def set_duration(self, asset_id: int, duration_s: float | None) -> None:
        self.conn.execute("UPDATE assets SET duration_s=? WHERE id=?", (duration_s, asset_id))

    def move_asset(self, asset_id: int, new_path: Path | str, *, size: int, mtime_ns: int) -> None:
        """A rename: the asset (and its segments and vectors) now lives at ``new_path``."""
        self.conn.execute(
            "UPDATE assets SET path=?, size=?, mtime_ns=? WHERE id=?", (str(new_path), size, mtime_ns, asset_id)
        )

    def segment_ids_of_assets(self, asset_ids: Sequence[int]) -> np.ndarray:
        """(n,) int64 ids of every segment of these assets."""
        out: list[int] = []
        for chunk in _chunks(list(asset_ids), 500):
            marks = ",".join("?" * len(chunk))
            out.extend(r[0] for r in self.conn.execute(f"SELECT id FROM segments WHERE asset_id IN ({marks})", chunk))
        return np.asarray(out, dtype=np.int64)

    def delete_assets(self, asset_ids: Sequence[int]) -> None:
        """Forget assets; their segments, embeddings and labels go with them (cascade)."""
        for chunk in _chunks(list(asset_ids), 500):
            marks = ",".join("?" * len(chunk))
            self.conn.execute(f"DELETE FROM assets WHERE id IN ({marks})", chunk)

    # -- segments and embeddings -------------------------------------------------
    def add_segments(
        self,
        asset_id: int,
        stream: Stream,
        spans: Sequence[tuple[float | None, float | None]],
        *,
        texts: Sequence[str | None] | None = None,
        source: str = "",
    ) -> list[int]:
        """Insert segments of one asset; returns their ids in order. Times in seconds."""
        ids = []
        for i, (start_s, end_s) in enumerate(spans):
            text = texts[i] if texts is not None else None
            cur = self.conn.execute(
                "INSERT INTO segments(asset_id, stream, start_s, end_s, text, source) VALUES(?,?,?,?,?,?)",
                (asset_id, stream.value, start_s, end_s, text, source),
            )
            ids.append(int(cur.lastrowid))
        return ids

    def segments_of(self, asset_id: int, *, stream: Stream | None = None, source: str | None = None) -> list[Segment]:
        sql, args = "SELECT * FROM segments WHERE asset_id=?", [asset_id]
        if stream is not None:
            sql += " AND stream=?"
            args.append(stream.value)
        if source is not None:
            sql += " AND source=?"
            args.append(source)
        return [_segment(r) for r in self.conn.execute(sql + " ORDER BY start_s, id", args)]

    def delete_segments(self, segment_ids: Sequence[int]) -> None:
        for chunk in _chunks([int(i) for i in segment_ids], 500):
            marks = ",".join("?" * len(chunk))
            self.conn.execute(f"DELETE FROM segments WHERE id IN ({marks})", chunk)

    def segments_with_assets(self, segment_ids: Iterable[int]) -> dict[int, tuple[Segment, Asset]]:
        """Hydrate search results: segment id -> (segment, asset)."""
        ids = [int(i) for i in segment_ids]
        out: dict[int, tuple[Segment, Asset]] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"""SELECT s.id AS sid, s.asset_id, s.stream, s.start_s, s.end_s, s.text, a.*
                    FROM segments s JOIN assets a ON a.id = s.asset_id WHERE s.id IN ({marks})""",
                chunk,
            )
            for r in rows:
                seg = Segment(
                    id=r["sid"],
                    asset_id=r["asset_id"],
                    stream=Stream(r["stream"]),
                    start_s=r["start_s"],
                    end_s=r["end_s"],
                    text=r["text"],
                )
                out[seg.id] = (seg, _asset(r))
        return out

    def asset_ids_of_segments(self, segment_ids: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for chunk in _chunks([int(i) for i in segment_ids], 500):
            marks = ",".join("?" * len(chunk))
            out.update(r[0] for r in self.conn.execute(f"SELECT DISTINCT asset_id FROM segments WHERE id IN ({marks})", chunk))
        return out

    def segments_owned_by(self, encoder: str, segment_ids: Sequence[int]) -> list[int]:
        """Those of ``segment_ids`` that ``encoder`` made itself (source = encoder)."""
        out: list[int] = []
        for chunk in _chunks([int(i) for i in segment_ids], 500):
            marks = ",".join("?" * len(chunk))
            out.extend(
                r[0] for r in self.conn.execute(f"SELECT id FROM segments WHERE source=? AND id IN ({marks})", [encoder, *chunk])
            )
        return out

    def mark_embedded(self, encoder: str, segment_ids: Sequence[int]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO embeddings(encoder, segment_id) VALUES(?,?)", [(encoder, int(i)) for i in segment_ids]
        )

    def unmark_embedded(self, encoder: str, segment_ids: Sequence[int]) -> None:
        self.conn.executemany(
            "DELETE FROM embeddings WHERE encoder=? AND segment_id=?", [(encoder, int(i)) for i in segment_ids]
        )

    def embedded_ids(self, encoder: str) -> np.ndarray:
        """(n,) int64 sorted ids of the segments ``encoder`` has vectors for."""
        rows = self.conn.execute("SELECT segment_id FROM embeddings WHERE encoder=? ORDER BY segment_id", (encoder,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def encoders_with_embeddings(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT encoder FROM embeddings ORDER BY encoder")]

    def set_encoder_state(self, asset_id: int, encoder: str, state: str, reason: str | None = None) -> None:
        self.conn.execute(
            """INSERT INTO asset_encoders(asset_id, encoder, state, reason, updated_at) VALUES(?,?,?,?,?)
               ON CONFLICT(asset_id, encoder) DO UPDATE SET state=excluded.state, reason=excluded.reason,
               updated_at=excluded.updated_at""",
            (asset_id, encoder, state, reason, time.time()),
        )

    def encoder_state(self, asset_id: int, encoder: str) -> tuple[str, str | None] | None:
        row = self.conn.execute(
            "SELECT state, reason FROM asset_encoders WHERE asset_id=? AND encoder=?", (asset_id, encoder)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def clear_encoder_states(self, asset_id: int) -> None:
        self.conn.execute("DELETE FROM asset_encoders WHERE asset_id=?", (asset_id,))

    def forget_encoder_states(self, encoder: str, asset_ids: Sequence[int]) -> None:
        self.conn.executemany(
            "DELETE FROM asset_encoders WHERE encoder=? AND asset_id=?", [(encoder, int(a)) for a in asset_ids]
        )

    def assets_done_by(self, encoder: str) -> set[int]:
        rows = self.conn.execute("SELECT asset_id FROM asset_encoders WHERE encoder=?", (encoder,))
        return {r[0] for r in rows}

    def encoder_failures(self) -> list[tuple[str, str, str]]:
        """(path, encoder, reason) for every asset an encoder could not process."""
        rows = self.conn.execute(
            """SELECT a.path, e.encoder, e.reason FROM asset_encoders e JOIN assets a ON a.id=e.asset_id
               WHERE e.state=? ORDER BY a.path, e.encoder""",
            (STATE_FAILED,),
        )
        return [(r[0], r[1], r[2] or "") for r in rows]

    # -- labels and transcripts --------------------------------------------------
    def set_labels(self, encoder: str, segment_id: int, labels: Sequence[tuple[str, float]]) -> None:
        self.conn.execute("DELETE FROM segment_labels WHERE segment_id=? AND encoder=?", (segment_id, encoder))
        self.conn.executemany(
            "INSERT INTO segment_labels(segment_id, encoder, rank, label, score) VALUES(?,?,?,?,?)",
            [(segment_id, encoder, i, name, float(score)) for i, (name, score) in enumerate(labels)],
        )

    def labels_of(self, encoder: str, segment_ids: Iterable[int]) -> dict[int, list[tuple[str, float]]]:
        out: dict[int, list[tuple[str, float]]] = {}
        for chunk in _chunks([int(i) for i in segment_ids], 500):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"""SELECT segment_id, label, score FROM segment_labels WHERE encoder=? AND segment_id IN ({marks})
                    ORDER BY segment_id, rank""",
                [encoder, *chunk],
            )
            for r in rows:
                out.setdefault(r[0], []).append((r[1], r[2]))
        return out

    def set_transcript(self, asset_id: int, encoder: str, language: str | None, text: str) -> None:
        self.conn.execute(
            """INSERT INTO transcripts(asset_id, encoder, language, text) VALUES(?,?,?,?)
               ON CONFLICT(asset_id, encoder) DO UPDATE SET language=excluded.language, text=excluded.text""",
            (asset_id, encoder, language, text),
        )

    def transcript(self, asset_id: int, encoder: str) -> tuple[str | None, str] | None:
        row = self.conn.execute(
            "SELECT language, text FROM transcripts WHERE asset_id=? AND encoder=?", (asset_id, encoder)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def speech_segments(self, encoder: str) -> list[Segment]:
        """Every transcript segment produced by ``encoder`` (source = encoder name)."""
        rows = self.conn.execute(
            "SELECT * FROM segments WHERE stream=? AND source=? ORDER BY id", (Stream.SPEECH.value, encoder)
        )
        return [_segment(r) for r in rows]

    # -- runs ---------------------------------------------------------------------
    def record_run(
        self, encoder: str, *, started_at: float, wall_s: float, items: int, media_s: float, threads: int, machine: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO runs(encoder, started_at, wall_s, items, media_s, threads, machine) VALUES(?,?,?,?,?,?,?)",
            (encoder, started_at, wall_s, items, media_s, threads, machine),
        )

    def runs(self, encoder: str | None = None) -> list[sqlite3.Row]:
        if encoder is None:
            return list(self.conn.execute("SELECT * FROM runs ORDER BY id"))
        return list(self.conn.execute("SELECT * FROM runs WHERE encoder=? ORDER BY id", (encoder,)))

    # -- status -------------------------------------------------------------------
    def counts(self) -> dict:
        """Counts for ``status``: assets per kind and status, segments per encoder and stream."""
        kinds = {
            f"{r[0] or 'unknown'}": {"ok": 0, "skipped": 0}
            for r in self.conn.execute("SELECT DISTINCT kind FROM assets")
        }
        for r in self.conn.execute("SELECT kind, status, COUNT(*) FROM assets GROUP BY kind, status"):
            kinds[r[0] or "unknown"][r[1]] = r[2]
        encoders: dict[str, dict[str, int]] = {}
        for r in self.conn.execute(
            """SELECT e.encoder, s.stream, COUNT(*), COUNT(DISTINCT s.asset_id) FROM embeddings e
               JOIN segments s ON s.id=e.segment_id GROUP BY e.encoder, s.stream"""
        ):
            enc = encoders.setdefault(r[0], {"segments": 0, "assets": 0})
            enc["segments"] += r[2]
            enc["assets"] += r[3]
            enc[r[1]] = r[2]
        return {"assets": kinds, "encoders": encoders}

    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of every skipped file."""
        rows = self.conn.execute("SELECT path, skip_reason FROM assets WHERE status=? ORDER BY path", ("skipped",))
        return [(r[0], r[1] or "") for r in rows]


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

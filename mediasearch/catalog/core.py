"""The catalog: SQLite metadata for assets, segments, embeddings, vector logs,
transcripts, queries and judgements. All of the project's SQL lives in this package.

One connection per thread (open another Catalog in a worker thread); WAL mode lets
readers run beside the one writer. Every write goes through :meth:`Catalog.transaction`,
which first enters ``write_guard`` (the library's writer lock), so a process that does
not hold the lock cannot write by accident. The schema version lives in ``PRAGMA
user_version`` (:mod:`mediasearch.catalog.schema`); an upgrade is a write, done under
the guard by whoever opens an old catalog first.

Paths are stored as the file system's own bytes (``os.fsencode``) in TEXT columns and
read back with ``surrogateescape``, so a file name that is not valid UTF-8 round-trips
losslessly and one bad name never fails a batch. Range queries on those bytes find
everything under a root with the OS's separator (``path >= root+sep AND path <
root+chr(ord(sep)+1)``), which an index serves.

Judgements are keyed by the asset's *content hash* (and remember the path for display),
never by asset id, so they survive re-indexing, moves and rebuilds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, ContextManager, Iterable, Iterator, Sequence

import numpy as np

from mediasearch.errors import CatalogError, NotFoundError
from mediasearch.catalog.evaluation import EvaluationSQL
from mediasearch.catalog.schema import SCHEMA_VERSION, migrate
from mediasearch.media import Asset, AssetStatus, MediaKind, Segment, Stream

log = logging.getLogger(__name__)

#: enters the library's writer lock for one write (a context manager factory)
WriteGuard = Callable[[], ContextManager[object]]


def db_path(path: Path | str) -> bytes:
    """A path as the bytes stored in the catalog (bind with ``CAST(? AS TEXT)``)."""
    return os.fsencode(os.fspath(path))


def _decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def path_range(root: Path | str, sep: str = os.sep) -> tuple[bytes, bytes, bytes]:
    """(root, low, high) bytes such that a path is under ``root`` iff it equals root or
    low <= path < high. ``sep`` is the OS separator (a parameter so tests can use Windows')."""
    raw = os.fsencode(os.fspath(root))
    bsep = sep.encode()
    base = raw.rstrip(bsep) if raw.rstrip(bsep) else raw
    if base.endswith(bsep):  # the file-system root itself ("/")
        return base, base, base[:-1] + bytes([bsep[0] + 1])
    return base, base + bsep, base + bytes([bsep[0] + 1])


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


class Catalog(EvaluationSQL):
    """A connection to the library's catalog. Not shared between threads."""

    def __init__(
        self, path: Path, *, write_guard: WriteGuard | None = None, upgrade_guard: WriteGuard | None = None
    ) -> None:
        """``write_guard``: entered around every write transaction; ``upgrade_guard``:
        around creating or upgrading the schema (default: the write guard)."""
        self.path = Path(path)
        self.write_guard: WriteGuard = write_guard or nullcontext
        self._depth = 0
        self._owner = threading.get_ident()
        try:
            fresh = not self.path.exists()
            if fresh:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.text_factory = _decode_text
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=30000")
            found = self.conn.execute("PRAGMA user_version").fetchone()[0]
            self.previous_version = found
            if fresh or found < SCHEMA_VERSION:
                self.previous_version = self._upgrade(upgrade_guard or self.write_guard)
            elif found > SCHEMA_VERSION:
                migrate(self.conn)  # raises the "newer than this mediasearch" error
            self.conn.execute("PRAGMA synchronous=NORMAL")
            # checkpoint the WAL into the database once it holds 1 MiB (SQLite's default is
            # 4 MiB): each chunk of an index run rewrites the same asset and index pages, and
            # a 4 MB disk filled with WAL frames before the default threshold was reached
            self.conn.execute("PRAGMA wal_autocheckpoint=256")
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path}: cannot open catalog: {exc}", path=self.path, cause=str(exc)) from exc

    def _upgrade(self, guard: WriteGuard, timeout_s: float = 60.0) -> int:
        """Create or upgrade the schema under the guard; if another process holds the
        lock, wait until it has done so (it is brief) and use its work."""
        from mediasearch.errors import LibraryLockedError

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with guard():
                    self.conn.execute("PRAGMA journal_mode=WAL")
                    return migrate(self.conn)
            except LibraryLockedError:
                found = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if found == SCHEMA_VERSION:
                    return found
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

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
        with self.write_guard():
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
                self.conn.execute("COMMIT")  # a failing COMMIT (disk full) rolls back too
            except BaseException as exc:
                if self.conn.in_transaction:
                    try:
                        self.conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
                    # a catalog batch: room for its journal (the store adds its vectors' share)
                    exc.needed_bytes = getattr(exc, "needed_bytes", 0) or (4 << 20)  # type: ignore[attr-defined]
                raise
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
        row = self.conn.execute("SELECT * FROM assets WHERE path=CAST(? AS TEXT)", (db_path(path),)).fetchone()
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

    def assets_under(self, root: Path | str, *, sep: str = os.sep) -> dict[str, Asset]:
        """Every asset whose path is ``root`` or inside it, by path string (an index range scan)."""
        base, low, high = path_range(root, sep)
        rows = self.conn.execute(
            """SELECT * FROM assets WHERE path=CAST(? AS TEXT)
               OR (path >= CAST(? AS TEXT) AND path < CAST(? AS TEXT))""",
            (base, low, high),
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
               VALUES(CAST(? AS TEXT),?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(path) DO UPDATE SET kind=excluded.kind, size=excluded.size,
                 mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash,
                 status=excluded.status, skip_reason=excluded.skip_reason,
                 duration_s=excluded.duration_s, width=excluded.width, height=excluded.height,
                 indexed_at=excluded.indexed_at""",
            (
                db_path(path),
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
        return self.conn.execute("SELECT id FROM assets WHERE path=CAST(? AS TEXT)", (db_path(path),)).fetchone()[0]

    def set_partial(self, asset_id: int, reason: str | None) -> None:
        """Mark a truncated file: what decoded is indexed, ``reason`` says why it stops early."""
        self.conn.execute("UPDATE assets SET partial_reason=? WHERE id=?", (reason, asset_id))

    def partial_assets(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT path, partial_reason FROM assets WHERE partial_reason IS NOT NULL ORDER BY path")
        return [(r[0], r[1]) for r in rows]

    def integrity_problem(self) -> str | None:
        """None when SQLite's quick check passes, else its first complaint."""
        try:
            row = self.conn.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return None if row and row[0] == "ok" else str(row[0] if row else "unreadable")

    def set_duration(self, asset_id: int, duration_s: float | None) -> None:
        self.conn.execute("UPDATE assets SET duration_s=? WHERE id=?", (duration_s, asset_id))

    def move_asset(self, asset_id: int, new_path: Path | str, *, size: int, mtime_ns: int) -> None:
        """A rename: the asset (and its segments and vectors) now lives at ``new_path``."""
        self.conn.execute(
            "UPDATE assets SET path=CAST(? AS TEXT), size=?, mtime_ns=? WHERE id=?", (db_path(new_path), size, mtime_ns, asset_id)
        )

    def segment_ids_of_assets(self, asset_ids: Sequence[int]) -> np.ndarray:
        """(n,) int64 ids of every segment of these assets."""
        out: list[int] = []
        for chunk in _chunks(list(asset_ids), 500):
            marks = ",".join("?" * len(chunk))
            out.extend(r[0] for r in self.conn.execute(f"SELECT id FROM segments WHERE asset_id IN ({marks})", chunk))
        return np.asarray(out, dtype=np.int64)

    def delete_assets(self, asset_ids: Sequence[int]) -> None:
        """Forget assets with their segments, embeddings, labels, states and transcripts.

        Set-based: children go first in one statement each, so the cascades find nothing
        left to do (row-by-row cascades cost ~0.8 ms per asset; this ~0.2 ms)."""
        ids = [int(i) for i in asset_ids]
        if not ids:
            return
        with self.transaction():
            self._fill_temp("gone_assets", ids)
            self.conn.execute("DELETE FROM temp.gone_segments")
            self.conn.execute(
                "INSERT INTO temp.gone_segments SELECT id FROM segments WHERE asset_id IN (SELECT id FROM temp.gone_assets)"
            )
            self._delete_gone_segments()
            for table in ("asset_encoders", "transcripts"):
                self.conn.execute(f"DELETE FROM {table} WHERE asset_id IN (SELECT id FROM temp.gone_assets)")
            self.conn.execute("DELETE FROM assets WHERE id IN (SELECT id FROM temp.gone_assets)")

    def _fill_temp(self, name: str, ids: Sequence[int]) -> None:
        for table in ("gone_assets", "gone_segments"):
            self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}(id INTEGER PRIMARY KEY)")
        self.conn.execute(f"DELETE FROM temp.{name}")
        self.conn.executemany(f"INSERT OR IGNORE INTO temp.{name}(id) VALUES(?)", [(i,) for i in ids])

    def _delete_gone_segments(self) -> None:
        for table in ("embeddings", "segment_labels"):
            self.conn.execute(f"DELETE FROM {table} WHERE segment_id IN (SELECT id FROM temp.gone_segments)")
        self.conn.execute("DELETE FROM segments WHERE id IN (SELECT id FROM temp.gone_segments)")

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
        """Forget segments with their embeddings and labels (set-based, see delete_assets)."""
        ids = [int(i) for i in segment_ids]
        if not ids:
            return
        with self.transaction():
            self._fill_temp("gone_segments", ids)
            self._delete_gone_segments()

    def segments_with_assets(
        self, segment_ids: Iterable[int], *, encoder: str | None = None
    ) -> dict[int, tuple[Segment, Asset]]:
        """Hydrate search results: segment id -> (segment, asset). With ``encoder``, only
        segments the catalog says that encoder embedded (a reader's filter for vectors of
        deleted segments, which stay in the log as tombstones until compaction)."""
        ids = [int(i) for i in segment_ids]
        out: dict[int, tuple[Segment, Asset]] = {}
        join = "JOIN embeddings e ON e.segment_id = s.id AND e.encoder = ?" if encoder else ""
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"""SELECT s.id AS sid, s.asset_id, s.stream, s.start_s, s.end_s, s.text, a.*
                    FROM segments s JOIN assets a ON a.id = s.asset_id {join} WHERE s.id IN ({marks})""",
                ([encoder] if encoder else []) + chunk,
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
        """Record vectors of these segments (segments deleted meanwhile are left out)."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO embeddings(encoder, segment_id) SELECT ?, id FROM segments WHERE id=?",
            [(encoder, int(i)) for i in segment_ids],
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

    def set_encoder_state(
        self, asset_id: int, encoder: str, state: str, reason: str | None = None, *, attempt_key: str | None = None
    ) -> None:
        """``attempt_key``: the code and settings version a FAILED state was reached under."""
        self.conn.execute(
            """INSERT INTO asset_encoders(asset_id, encoder, state, reason, updated_at, attempt_key)
               SELECT ?,?,?,?,?,? WHERE EXISTS(SELECT 1 FROM assets WHERE id=?)
               ON CONFLICT(asset_id, encoder) DO UPDATE SET state=excluded.state, reason=excluded.reason,
               updated_at=excluded.updated_at, attempt_key=excluded.attempt_key""",
            (asset_id, encoder, state, reason, time.time(), attempt_key, asset_id),
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
        rows = self.conn.execute("SELECT asset_id FROM asset_encoders WHERE encoder=? AND state=?", (encoder, STATE_DONE))
        return {r[0] for r in rows}

    def assets_settled_by(self, encoder: str, attempt_key: str | None = None, *, retry_failed: bool = False) -> set[int]:
        """Assets ``encoder`` need not process again: done, or failed under this same
        ``attempt_key`` (None: under any key) unless ``retry_failed``."""
        if retry_failed:
            return self.assets_done_by(encoder)
        if attempt_key is None:
            rows = self.conn.execute("SELECT asset_id FROM asset_encoders WHERE encoder=?", (encoder,))
        else:
            rows = self.conn.execute(
                """SELECT asset_id FROM asset_encoders WHERE encoder=?
                   AND (state=? OR (state=? AND attempt_key IS ?))""",
                (encoder, STATE_DONE, STATE_FAILED, attempt_key),
            )
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
        self,
        encoder: str,
        *,
        started_at: float,
        wall_s: float,
        items: int,
        media_s: float,
        threads: int,
        machine: str,
        peak_rss_mb: float | None = None,
    ) -> None:
        """One indexing run's figures for one encoder (``peak_rss_mb``: the process's peak
        resident memory in MiB over the run, None when unknown)."""
        self.conn.execute(
            "INSERT INTO runs(encoder, started_at, wall_s, items, media_s, threads, machine, peak_rss_mb)"
            " VALUES(?,?,?,?,?,?,?,?)",
            (encoder, started_at, wall_s, items, media_s, threads, machine, peak_rss_mb),
        )

    # -- the write-ahead log ------------------------------------------------------
    def checkpoint_wal(self, *, truncate: bool = False) -> None:
        """(Writer only.) Copy the write-ahead log into the database now (commits do it by
        themselves past 1 MiB of WAL, see ``wal_autocheckpoint`` above); ``truncate`` also
        shrinks the file to nothing (a writing session's start: a run stopped by a full
        disk leaves a long WAL whose space the next run needs). Best effort: a busy reader
        or a full disk leaves it for the next time."""
        if self.conn.in_transaction:
            return
        try:
            self.conn.execute(f"PRAGMA wal_checkpoint({'TRUNCATE' if truncate else 'PASSIVE'})").fetchone()
        except sqlite3.OperationalError as exc:
            log.debug("WAL checkpoint left for later: %s", exc)

    # -- library-wide settings ------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A library-wide setting (e.g. ``vector_store``), or None when never set."""
        row = self.conn.execute("SELECT value FROM library_meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or with None, forget) a library-wide setting; call inside a transaction."""
        if value is None:
            self.conn.execute("DELETE FROM library_meta WHERE key=?", (key,))
        else:
            self.conn.execute(
                "INSERT INTO library_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def runs(self, encoder: str | None = None) -> list[sqlite3.Row]:
        if encoder is None:
            return list(self.conn.execute("SELECT * FROM runs ORDER BY id"))
        return list(self.conn.execute("SELECT * FROM runs WHERE encoder=? ORDER BY id", (encoder,)))

    # -- vector logs (the store's source of truth; see mediasearch/store/) -----------
    def vector_log(self, encoder: str) -> dict | None:
        """The encoder's log record: dim, generation, count (committed records), index_type, config."""
        row = self.conn.execute("SELECT * FROM vector_logs WHERE encoder=?", (encoder,)).fetchone()
        return _log_row(row) if row else None

    def vector_logs(self) -> list[dict]:
        return [_log_row(r) for r in self.conn.execute("SELECT * FROM vector_logs ORDER BY encoder")]

    def set_vector_log(
        self,
        encoder: str,
        *,
        dim: int,
        generation: int,
        count: int,
        index_type: str | None = None,
        config: dict | None = None,
    ) -> None:
        self.conn.execute(
            """INSERT INTO vector_logs(encoder, dim, generation, count, index_type, config, updated_at)
               VALUES(?,?,?,?,?,?,?)
               ON CONFLICT(encoder) DO UPDATE SET dim=excluded.dim, generation=excluded.generation,
                 count=excluded.count, index_type=excluded.index_type, config=excluded.config,
                 updated_at=excluded.updated_at""",
            (encoder, dim, generation, count, index_type, _json(config), time.time()),
        )

    def set_vector_count(self, encoder: str, count: int) -> None:
        """Record ``count`` committed records (call inside the transaction that marks them embedded)."""
        self.conn.execute("UPDATE vector_logs SET count=?, updated_at=? WHERE encoder=?", (count, time.time(), encoder))

    def set_index_type(self, encoder: str, index_type: str | None) -> None:
        self.conn.execute("UPDATE vector_logs SET index_type=? WHERE encoder=?", (index_type, encoder))

    def set_vector_config(self, encoder: str, config: dict) -> None:
        self.conn.execute("UPDATE vector_logs SET config=? WHERE encoder=?", (_json(config), encoder))

    def live_count(self, encoder: str) -> int:
        """Segments the catalog says ``encoder`` has a vector for."""
        return int(self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE encoder=?", (encoder,)).fetchone()[0])

    def embedded_in_asset(self, encoder: str, asset_id: int) -> set[int]:
        """Segment ids of one asset that ``encoder`` already has vectors for."""
        rows = self.conn.execute(
            """SELECT e.segment_id FROM embeddings e JOIN segments s ON s.id = e.segment_id
               WHERE s.asset_id=? AND e.encoder=?""",
            (asset_id, encoder),
        )
        return {int(r[0]) for r in rows}

    def known_embedded(self, encoder: str, segment_ids: Iterable[int]) -> set[int]:
        """Those of ``segment_ids`` the catalog says ``encoder`` has vectors for."""
        out: set[int] = set()
        for chunk in _chunks([int(i) for i in segment_ids], 500):
            marks = ",".join("?" * len(chunk))
            out.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT segment_id FROM embeddings WHERE encoder=? AND segment_id IN ({marks})", [encoder, *chunk]
                )
            )
        return out

    def max_segment_id(self) -> int:
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name='segments'").fetchone()
        top = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM segments").fetchone()[0]
        return max(int(row[0]) if row else 0, int(top))

    def ensure_id_floor(self, floor: int) -> None:
        """New segment ids will be above ``floor`` (after a salvage, vectors in the logs
        may carry ids the catalog lost: they must never name a new segment)."""
        if self.max_segment_id() >= floor:
            return
        if self.conn.execute("SELECT 1 FROM sqlite_sequence WHERE name='segments'").fetchone():
            self.conn.execute("UPDATE sqlite_sequence SET seq=? WHERE name='segments'", (floor,))
        else:
            self.conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES('segments', ?)", (floor,))

    def unembedded_segments(self, encoder: str, segment_ids: Iterable[int]) -> list[int]:
        """Those of ``segment_ids`` that exist as segments but are not marked embedded by ``encoder``."""
        out: list[int] = []
        for chunk in _chunks([int(i) for i in segment_ids], 500):
            marks = ",".join("?" * len(chunk))
            out.extend(
                r[0]
                for r in self.conn.execute(
                    f"""SELECT s.id FROM segments s WHERE s.id IN ({marks}) AND NOT EXISTS
                        (SELECT 1 FROM embeddings e WHERE e.segment_id = s.id AND e.encoder = ?)""",
                    [*chunk, encoder],
                )
            )
        return out

    def done_without_vectors(self, encoder: str, *, owns_segments: bool) -> list[int]:
        """Assets marked done by ``encoder`` whose vectors the catalog no longer records:
        a segment of theirs for this encoder is not embedded, or (visual encoders) they
        have no segment at all."""
        source = "s.source = ?" if owns_segments else "s.source = ''"
        args: list = [encoder, STATE_DONE] + ([encoder] if owns_segments else []) + [encoder]
        sql = f"""SELECT ae.asset_id FROM asset_encoders ae WHERE ae.encoder = ? AND ae.state = ? AND (
                    EXISTS (SELECT 1 FROM segments s WHERE s.asset_id = ae.asset_id AND {source}
                            AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.segment_id = s.id AND e.encoder = ?))"""
        if not owns_segments:
            sql += " OR NOT EXISTS (SELECT 1 FROM segments s WHERE s.asset_id = ae.asset_id AND s.source = '')"
        sql += ")"
        return [int(r[0]) for r in self.conn.execute(sql, args)]

    def coverage(self, encoder: str, kinds: Sequence[MediaKind]) -> dict[str, int]:
        """How many ok assets of ``kinds`` exist, and how many ``encoder`` has done or failed."""
        marks = ",".join("?" * len(kinds))
        row = self.conn.execute(
            f"""SELECT COUNT(*),
                       COALESCE(SUM(e.state = ?), 0),
                       COALESCE(SUM(e.state = ?), 0)
                FROM assets a LEFT JOIN asset_encoders e ON e.asset_id = a.id AND e.encoder = ?
                WHERE a.status = 'ok' AND a.kind IN ({marks})""",
            [STATE_DONE, STATE_FAILED, encoder, *[k.value for k in kinds]],
        ).fetchone()
        eligible, done, failed = (int(v) for v in row)
        return {"eligible": eligible, "done": done, "failed": failed, "missing": eligible - done - failed}

    def add_store_event(self, encoder: str | None, event: str, detail: str = "") -> None:
        self.conn.execute(
            "INSERT INTO store_events(at, encoder, event, detail) VALUES(?,?,?,?)", (time.time(), encoder, event, detail)
        )

    def store_events(self, limit: int = 20) -> list[dict]:
        """The latest store events (repairs, rebuilds, compactions), newest first."""
        rows = self.conn.execute("SELECT * FROM store_events ORDER BY id DESC LIMIT ?", (limit,))
        return [{"at": r["at"], "encoder": r["encoder"], "event": r["event"], "detail": r["detail"] or ""} for r in rows]

    # -- roots and scan problems -------------------------------------------------------
    def add_root(self, path: Path | str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO roots(path, added_at) VALUES(CAST(? AS TEXT), ?)", (db_path(path), time.time())
        )

    def remove_root(self, path: Path | str) -> bool:
        cur = self.conn.execute("DELETE FROM roots WHERE path=CAST(? AS TEXT)", (db_path(path),))
        return cur.rowcount > 0

    def roots(self) -> list[Path]:
        return [Path(r[0]) for r in self.conn.execute("SELECT path FROM roots ORDER BY path")]

    def record_scan_problems(self, root: Path | str, problems: Sequence[tuple[str, str]]) -> None:
        """Replace the problems recorded under ``root`` with ``problems`` [(path, reason)]."""
        base, low, high = path_range(root)
        self.conn.execute(
            """DELETE FROM scan_problems WHERE path=CAST(? AS TEXT)
               OR (path >= CAST(? AS TEXT) AND path < CAST(? AS TEXT))""",
            (base, low, high),
        )
        now = time.time()
        self.conn.executemany(
            "INSERT OR REPLACE INTO scan_problems(path, root, reason, seen_at) VALUES(CAST(? AS TEXT), CAST(? AS TEXT), ?, ?)",
            [(db_path(p), base, reason, now) for p, reason in problems],
        )

    def scan_problems(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.conn.execute("SELECT path, reason FROM scan_problems ORDER BY path")]

    # -- transcript full-text search (FTS5, kept by triggers on segments) -------------
    def speech_bm25(self, source: str, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """[(segment_id, score)] best first: BM25 over transcript segments made by ``source``
        for any of ``terms`` (see mediasearch.textindex.query_terms); ties by segment id.

        Scores are FTS5's bm25() negated (higher is better). Each term is quoted, so
        FTS syntax in user text is inert.
        """
        terms = [t.replace('"', "") for t in terms if t.replace('"', "")]
        if not terms or limit <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self.conn.execute(
            """SELECT rowid, bm25(speech_fts) AS rank FROM speech_fts
               WHERE speech_fts MATCH ? AND source=? ORDER BY rank, rowid LIMIT ?""",
            (match, source, limit),
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def speech_segment_count(self, source: str) -> int:
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM segments WHERE stream=? AND source=?", (Stream.SPEECH.value, source)
            ).fetchone()[0]
        )

    # -- status -------------------------------------------------------------------
    def counts(self) -> dict:
        """Counts for ``status``: assets per kind and status, segments per encoder and stream."""
        kinds = {
            f"{r[0] or 'unknown'}": {"ok": 0, "skipped": 0}
            for r in self.conn.execute("SELECT DISTINCT kind FROM assets WHERE status != 'not_media'")
        }
        for r in self.conn.execute(
            "SELECT kind, status, COUNT(*) FROM assets WHERE status != 'not_media' GROUP BY kind, status"
        ):
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

    def not_media(self) -> list[tuple[str, str]]:
        """(path, reason) of every file found under a root that is not media at all."""
        rows = self.conn.execute("SELECT path, skip_reason FROM assets WHERE status=? ORDER BY path", ("not_media",))
        return [(r[0], r[1] or "") for r in rows]

    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of every skipped file."""
        rows = self.conn.execute("SELECT path, skip_reason FROM assets WHERE status=? ORDER BY path", ("skipped",))
        return [(r[0], r[1] or "") for r in rows]


def _json(value: dict | None) -> str | None:
    import json

    return None if value is None else json.dumps(value, sort_keys=True)


def _log_row(row: sqlite3.Row) -> dict:
    import json

    return {
        "encoder": row["encoder"],
        "dim": int(row["dim"]),
        "generation": int(row["generation"]),
        "count": int(row["count"]),
        "index_type": row["index_type"],
        "config": json.loads(row["config"]) if row["config"] else None,
    }


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

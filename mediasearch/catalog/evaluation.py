"""SQL for saved queries, judgements and evaluation lookups (a mixin of Catalog).

Reads use ``self.conn`` (a WAL snapshot, no lock); every write goes through
``self.transaction()``, which holds the library's writer lock, so judging from the GUI
while an indexing run writes cannot interleave half-done writes. Paths
(``queries.file_path``, ``judgements.path``) are bound as OS bytes (``db_path``) cast to
TEXT, like every path of the catalog.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, ContextManager, Sequence


def _db_path(path: Path | str) -> bytes:
    # the same encoding as mediasearch.catalog.core.db_path (not imported: core imports this module)
    return os.fsencode(os.fspath(path))


class EvaluationSQL:
    """Saved queries and judgements. Mixed into :class:`~mediasearch.catalog.core.Catalog`;
    uses ``self.conn`` and ``self.transaction()``."""

    conn: sqlite3.Connection
    transaction: Callable[[], ContextManager[sqlite3.Connection]]  # Catalog's writer-locked transaction

    # -- saved queries ------------------------------------------------------------
    def query_names(self) -> set[str]:
        """Names of every saved query."""
        return {r[0] for r in self.conn.execute("SELECT name FROM queries")}

    def insert_query(
        self,
        *,
        name: str,
        modality: str,
        text: str | None,
        file_path: str | None,
        file_hash: str | None,
        start_s: float | None,
        end_s: float | None,
    ) -> int | None:
        """Save a query; returns its id, or None when ``name`` is taken (checked and
        inserted in one write transaction)."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM queries WHERE name=?", (name,)).fetchone():
                return None
            cur = conn.execute(
                """INSERT INTO queries(name, modality, text, file_path, file_hash, start_s, end_s, created_at)
                   VALUES(?,?,?,CAST(? AS TEXT),?,?,?,?)""",
                (
                    name,
                    modality,
                    text,
                    None if file_path is None else _db_path(file_path),
                    file_hash,
                    start_s,
                    end_s,
                    time.time(),
                ),
            )
            return int(cur.lastrowid)

    def query_rows(self) -> list[sqlite3.Row]:
        """Every saved query row, oldest first."""
        return self.conn.execute("SELECT * FROM queries ORDER BY id").fetchall()

    def query_row(self, *, name: str | None = None, query_id: int | None = None) -> sqlite3.Row | None:
        """One saved query row by name or by id."""
        if name is not None:
            return self.conn.execute("SELECT * FROM queries WHERE name=?", (name,)).fetchone()
        return self.conn.execute("SELECT * FROM queries WHERE id=?", (query_id,)).fetchone()

    def delete_query(self, query_id: int, file_path: str | None) -> bool:
        """Delete a query and its judgements; returns whether another query still uses
        the kept file ``file_path`` (so it must not be deleted)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM judgements WHERE query_id=?", (query_id,))
            conn.execute("DELETE FROM queries WHERE id=?", (query_id,))
            if file_path is None:
                return False
            return (
                conn.execute(
                    "SELECT 1 FROM queries WHERE file_path=CAST(? AS TEXT)", (_db_path(file_path),)
                ).fetchone()
                is not None
            )

    # -- judgements ---------------------------------------------------------------
    def upsert_judgements(self, rows: Sequence[tuple[int, str, float, str, int, str]]) -> None:
        """Record (or replace) judgements ``(query_id, content_hash, at_s, path, grade,
        rater)`` in one transaction; an empty ``path`` keeps the one stored. One rater's
        new grade replaces only that rater's earlier grade."""
        now = time.time()
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO judgements(query_id, content_hash, at_s, rater, path, grade, updated_at)
                   VALUES(?,?,?,?,CAST(? AS TEXT),?,?)
                   ON CONFLICT(query_id, content_hash, at_s, rater) DO UPDATE SET grade=excluded.grade,
                   path=CASE WHEN excluded.path != '' THEN excluded.path ELSE judgements.path END,
                   updated_at=excluded.updated_at""",
                [(q, h, at, rater, _db_path(p), g, now) for q, h, at, p, g, rater in rows],
            )

    def delete_judgement(self, query_id: int, content_hash: str, at_s: float, *, rater: str | None) -> bool:
        """Forget one judgement of ``rater`` (None: of every rater); returns whether one existed."""
        sql = "DELETE FROM judgements WHERE query_id=? AND content_hash=? AND at_s=?"
        args: list[object] = [query_id, content_hash, at_s]
        if rater is not None:
            sql += " AND rater=?"
            args.append(rater)
        with self.transaction() as conn:
            return conn.execute(sql, args).rowcount > 0

    def judgement_rows(self, query_id: int | None = None) -> list[sqlite3.Row]:
        """Stored judgements joined with their query's name (column ``qname``), by query
        then hash then time then rater."""
        sql = "SELECT j.*, q.name AS qname FROM judgements j JOIN queries q ON q.id = j.query_id"
        args: list[object] = []
        if query_id is not None:
            sql += " WHERE j.query_id=?"
            args.append(query_id)
        return self.conn.execute(sql + " ORDER BY q.id, j.content_hash, j.at_s, j.rater", args).fetchall()

    def judgement_grades(self, query_id: int, *, rater: str | None = None) -> list[tuple[str, float, int, str]]:
        """(content hash, at_s, grade, rater) of every judgement of one query (of one
        ``rater`` only when given)."""
        sql = "SELECT content_hash, at_s, grade, rater FROM judgements WHERE query_id=?"
        args: list[object] = [query_id]
        if rater is not None:
            sql += " AND rater=?"
            args.append(rater)
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(sql, args)]

    def raters(self) -> list[str]:
        """Every rater name with a stored judgement, sorted ('' = judged before raters were recorded)."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT rater FROM judgements ORDER BY rater")]

    # -- evaluation lookups -------------------------------------------------------
    def hashed_assets(self) -> dict[int, tuple[str, str, str | None]]:
        """asset id -> (content hash, path, kind) of every asset with a content hash."""
        rows = self.conn.execute("SELECT id, content_hash, path, kind FROM assets WHERE content_hash IS NOT NULL")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

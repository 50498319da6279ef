"""Rebuilding a damaged catalog from what can still be read of it.

SQLite reports a damaged page when a query touches it; rows on other pages are fine.
:func:`salvage` copies every table of a damaged catalog row by row into a fresh one
(saved queries and judgements first: they are the user's own work and cannot be
recomputed), stops a table at its first unreadable page, and says what it kept. The
damaged file is kept beside it. Vectors live outside the catalog; the writer's repair
afterwards re-queues whatever the salvaged catalog no longer describes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: copy order: the user's own work first, then what indexing can redo
TABLES = [
    "queries",
    "judgements",
    "library_meta",
    "roots",
    "assets",
    "segments",
    "embeddings",
    "asset_encoders",
    "segment_labels",
    "transcripts",
    "vector_logs",
    "runs",
    "store_events",
]


@dataclass
class SalvageReport:
    damaged_copy: Path
    rows: dict[str, int] = field(default_factory=dict)
    incomplete: dict[str, str] = field(default_factory=dict)


def _name(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def check(path: Path) -> str | None:
    """None when the catalog passes SQLite's integrity check, else the first problem."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if row and row[0] == "ok" else str(row[0] if row else "unreadable")


#: where copies of damaged catalogs are kept, inside the library folder
DAMAGED_DIR = "damaged"


def keep_damaged_copy(catalog_path: Path | str, *, now: float | None = None) -> Path | None:
    """Copy a damaged catalog (and its -wal / -journal files) into ``<library>/damaged/``.

    Returns the copy of the main file, or None when the catalog does not exist. A
    catalog already kept byte for byte is not copied again (a user who reruns a failing
    command ten times gets one copy). Raises OSError when the copy cannot be written.
    """
    src = Path(catalog_path)
    if not src.is_file():
        return None
    folder = src.parent / DAMAGED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    digest = _sha256(src)
    size = src.stat().st_size
    for old in sorted(folder.glob(f"{src.stem}-*{src.suffix}")):
        try:
            if old.stat().st_size == size and _sha256(old) == digest:
                log.debug("damaged catalog already kept at %s", old)
                return old
        except OSError:
            continue
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    dest = folder / f"{src.stem}-{stamp}{src.suffix}"
    n = 1
    while dest.exists():
        n += 1
        dest = folder / f"{src.stem}-{stamp}-{n}{src.suffix}"
    # Copy the side files first: a copy of the main file is only useful with them.
    for side in ("-wal", "-journal"):
        extra = src.with_name(src.name + side)
        if extra.is_file():
            shutil.copy2(extra, dest.with_name(dest.name + side))
    tmp = dest.with_name(dest.name + ".part")
    shutil.copy2(src, tmp)
    os.replace(tmp, dest)
    log.info("kept a copy of the damaged catalog at %s", dest)
    return dest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def salvage(path: Path) -> SalvageReport:
    """Replace the damaged catalog at ``path`` by a fresh one holding every readable row.
    The caller holds the writer lock."""
    from mediasearch.catalog.schema import migrate

    path = Path(path)
    copy = keep_damaged_copy(path)
    assert copy is not None
    report = SalvageReport(damaged_copy=copy)
    fresh = path.with_name(path.name + ".salvage")
    if fresh.exists():
        fresh.unlink()
    new = sqlite3.connect(str(fresh), isolation_level=None)
    new.text_factory = bytes
    migrate(new)
    new.execute("PRAGMA foreign_keys=OFF")
    old = sqlite3.connect(f"file:{report.damaged_copy}?mode=ro", uri=True)
    old.text_factory = bytes
    new.execute("BEGIN")
    for table in TABLES:
        try:
            info = list(new.execute(f"PRAGMA table_info({table})"))
            new_cols = [_name(r[1]) for r in info]
            types = {_name(r[1]): _name(r[2]).upper() for r in info}
            old_cols = [_name(r[1]) for r in old.execute(f"PRAGMA table_info({table})")]
        except sqlite3.DatabaseError as exc:
            report.incomplete[table] = str(exc)
            continue
        cols = [c for c in new_cols if c in old_cols]
        if not cols:
            continue
        names = ", ".join(cols)
        # text is read as raw bytes (file names need not be UTF-8) and written back as TEXT
        marks = ", ".join("CAST(? AS TEXT)" if types[c] == "TEXT" else "?" for c in cols)
        n = 0
        try:
            for row in old.execute(f"SELECT {names} FROM {table}"):
                new.execute(f"INSERT OR IGNORE INTO {table}({names}) VALUES({marks})", row)
                n += 1
        except sqlite3.DatabaseError as exc:
            report.incomplete[table] = f"{exc} after {n} rows"
        report.rows[table] = n
    # rows whose parent was lost go too (foreign keys were off while copying)
    for child, key, parent in (
        ("segments", "asset_id", "assets"),
        ("embeddings", "segment_id", "segments"),
        ("asset_encoders", "asset_id", "assets"),
        ("segment_labels", "segment_id", "segments"),
        ("transcripts", "asset_id", "assets"),
        ("judgements", "query_id", "queries"),
    ):
        new.execute(f"DELETE FROM {child} WHERE {key} NOT IN (SELECT id FROM {parent})")
    try:  # ids are never reused: carry the old high-water mark over
        row = old.execute("SELECT seq FROM sqlite_sequence WHERE name='segments'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row:
        new.execute("UPDATE sqlite_sequence SET seq=MAX(seq, ?) WHERE name='segments'", (int(row[0]),))
    new.execute("COMMIT")
    new.execute("PRAGMA foreign_keys=ON")
    new.close()
    old.close()
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            side.unlink()
    os.replace(fresh, path)
    return report

"""Ground truth: saved queries and relevance judgements in the catalog.

A saved query has a unique name (no whitespace, so it can be a TREC qid), a modality and
its input: the text, or a copy of the example file kept under ``settings.queries_dir``
(in a folder named by the file's sha256, so the query survives the original being moved or deleted).

A judgement grades a (query, asset) pair, or a (query, moment of an asset) pair:
0 = not relevant, 1 = relevant, 2 = highly relevant when judged here; imported qrels may
carry any integer grade (higher = more relevant, a gain for NDCG), and a negative grade
is trec_eval's "unjudged": it is stored as given (so it exports again) but counts as no
judgement at all. It is keyed by the asset's
*content hash* (``at_s`` = -1 for the whole asset, else the judged moment in seconds)
and remembers the path only for display, so judgements survive re-indexing, renames,
moves and rebuilding the index.

Several people may grade the same hit: each judgement carries its *rater* (by default
the OS user name, or ``MEDIASEARCH_RATER``; '' for judgements stored before raters were
recorded; a named rater's grade of the same hit supersedes such an unnamed one, so a
library judged before v5 keeps working for the person who judged it). One rater's new
grade replaces only their own. Where raters differ, the grade
used for scoring is the *lower median* of their grades (:func:`consensus`): a hit counts
as relevant only when at least half of its raters call it relevant, and two raters who
split 0/1 leave it not relevant. ``rater=`` on the readers scores one rater's
judgements alone; :mod:`mediasearch.evaluation.agreement` says how far raters agree.

For evaluation, which works per asset, :func:`asset_qrels` folds moment judgements into
the asset: a whole-asset judgement, when there is one, decides the asset's grade (it is
the user's explicit verdict on the file); otherwise the asset gets the highest grade of
its judged moments (one relevant moment makes a video relevant to the query). Negative
(unjudged) grades take no part in the folding.

All SQL is in :class:`mediasearch.catalog.evaluation.EvaluationSQL`; writes take the
library's writer lock through ``Catalog.transaction``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from mediasearch.catalog import Catalog
from mediasearch.config import Settings
from mediasearch.errors import NotFoundError, QueryError
from mediasearch.evaluation.formats import QrelRow
from mediasearch.media import AssetStatus, Modality

logger = logging.getLogger(__name__)

#: grades a user gives when judging here (imports take any integer)
GRADES = (0, 1, 2)
WHOLE_ASSET = -1.0


@dataclass(frozen=True)
class SavedQuery:
    """A saved query. ``file``: absolute path of the kept copy (None for text);
    ``file_hash``: content hash of the example file (as the indexer computes it), used to
    leave the example itself out of its own results; times in seconds."""

    id: int
    name: str
    modality: Modality
    text: str | None
    file: Path | None
    file_hash: str | None
    start_s: float | None
    end_s: float | None
    created_at: float

    def describe(self) -> str:
        if self.modality is Modality.TEXT:
            return repr(self.text)
        span = ""
        if self.start_s is not None or self.end_s is not None:
            span = f" [{self.start_s or 0:g} s - {'end' if self.end_s is None else f'{self.end_s:g} s'}]"
        return f"{self.file.name if self.file else '?'}{span}"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "modality": self.modality.value,
            "text": self.text,
            "file": str(self.file) if self.file else None,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Judgement:
    """A stored judgement. ``path``: where the asset was when judged (for display)."""

    query_id: int
    query: str
    content_hash: str
    at_s: float
    path: str
    grade: int
    updated_at: float
    rater: str = ""

    def to_json(self) -> dict:
        return {
            "query": self.query,
            "content_hash": self.content_hash,
            "at_s": None if self.at_s < 0 else self.at_s,
            "path": self.path,
            "grade": self.grade,
            "rater": self.rater,
        }


def default_rater() -> str:
    """Who is judging: ``MEDIASEARCH_RATER``, else the OS user name ('' when neither is known)."""
    import getpass
    import os

    name = os.environ.get("MEDIASEARCH_RATER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return ""


def consensus(grades: Sequence[int]) -> int:
    """The grade scored when several raters graded one hit: the lower median of their
    grades (see the module docstring). ``grades`` must be non-empty."""
    ordered = sorted(grades)
    return ordered[(len(ordered) - 1) // 2]


# -- saved queries ------------------------------------------------------------------


_NAME_OK = re.compile(r"^[^\s]+$")


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^\w.-]+", "-", text.strip().lower()).strip("-")
    return slug[:limit].rstrip("-") or "query"


def _file_digest(path: Path) -> str:
    """sha256 of a file (names the kept copy)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _row_to_query(row: sqlite3.Row, settings: Settings) -> SavedQuery:
    file_name = row["file_path"]
    return SavedQuery(
        id=row["id"],
        name=row["name"],
        modality=Modality(row["modality"]),
        text=row["text"],
        file=settings.queries_dir / file_name if file_name else None,
        file_hash=row["file_hash"],
        start_s=row["start_s"],
        end_s=row["end_s"],
        created_at=row["created_at"],
    )


def _stored_name(file: Path, settings: Settings) -> str:
    """The queries.file_path value of a kept copy: its path under the queries folder."""
    return file.relative_to(settings.queries_dir).as_posix()


def _unique_name(catalog: Catalog, base: str) -> str:
    taken = catalog.query_names()
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def add_query(
    catalog: Catalog,
    settings: Settings,
    *,
    modality: Modality,
    text: str | None = None,
    path: Path | str | None = None,
    name: str | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
) -> SavedQuery:
    """Save a query. Image and audio queries copy ``path`` into the library's queries
    folder; text queries keep ``text``. Without ``name``, one is made from the file stem or
    the text (made unique). Raises QueryError on bad input (missing file, name taken or
    with whitespace, text query without text, empty time range)."""
    if name is not None and not _NAME_OK.match(name):
        raise QueryError(f"query name {name!r} must be non-empty and without spaces (it is a TREC query id)")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise QueryError(f"query time range is empty ({start_s} s to {end_s} s)")
    file_name = file_hash = None
    if modality is Modality.TEXT:
        if not (text and text.strip()) or path is not None:
            raise QueryError("a text query needs text and no file")
        text = text.strip()
        base = _slug(text)
    else:
        if path is None or text is not None:
            raise QueryError(f"an {modality.value} query needs a file and no text")
        src = Path(path).expanduser()
        if not src.is_file():
            raise QueryError(f"query file not found: {src}")
        from mediasearch.hashing import content_hash

        digest = _file_digest(src)
        file_hash = content_hash(src)
        # queries/<sha256 prefix>/<original name>: one copy per content, the name kept for display
        file_name = f"{digest[:24]}/{src.name}"
        dest = settings.queries_dir / file_name
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dest)
        base = _slug(src.stem)
    with catalog.transaction():
        explicit = name is not None
        if name is None:
            name = _unique_name(catalog, base)
        query_id = catalog.insert_query(
            name=name, modality=modality.value, text=text, file_path=file_name, file_hash=file_hash,
            start_s=start_s, end_s=end_s,
        )
    if query_id is None:
        assert explicit  # a generated name was free inside the same transaction
        raise QueryError(f"a query named {name!r} already exists")
    logger.info("saved query %s (%s)", name, modality.value)
    return get_query(catalog, settings, query_id)


def list_queries(catalog: Catalog, settings: Settings) -> list[SavedQuery]:
    """Every saved query, oldest first."""
    return [_row_to_query(r, settings) for r in catalog.query_rows()]


def get_query(catalog: Catalog, settings: Settings, key: str | int) -> SavedQuery:
    """A saved query by name, or by id (an int, or a string of digits no query is named)."""
    row = None
    if isinstance(key, str):
        row = catalog.query_row(name=key)
        if row is None and key.isdigit():
            key = int(key)
    if row is None and isinstance(key, int):
        row = catalog.query_row(query_id=key)
    if row is None:
        raise NotFoundError("saved query", key)
    return _row_to_query(row, settings)


def remove_query(catalog: Catalog, settings: Settings, key: str | int) -> SavedQuery:
    """Delete a saved query and its judgements; its kept file goes too unless another
    query uses the same file."""
    query = get_query(catalog, settings, key)
    still_used = catalog.delete_query(query.id, None if query.file is None else _stored_name(query.file, settings))
    if query.file is not None and not still_used:
        query.file.unlink(missing_ok=True)
        try:
            query.file.parent.rmdir()  # the per-content folder, when now empty
        except OSError:
            pass
    logger.info("removed query %s", query.name)
    return query


# -- judgements ---------------------------------------------------------------------


def _check_grade(grade: int, *, any_integer: bool = False) -> int:
    """``grade`` as an int: one of :data:`GRADES`, or any integer for imports."""
    if isinstance(grade, bool) or int(grade) != grade:
        raise QueryError(f"grade must be an integer, got {grade!r}")
    if not any_integer and int(grade) not in GRADES:
        raise QueryError(f"grade must be one of {', '.join(map(str, GRADES))}, got {grade!r}")
    return int(grade)


def set_judgement(
    catalog: Catalog,
    query: SavedQuery,
    *,
    content_hash: str,
    grade: int,
    path: str = "",
    at_s: float = WHOLE_ASSET,
    rater: str | None = None,
) -> None:
    """Record (or replace) ``rater``'s grade (0, 1 or 2; default rater:
    :func:`default_rater`) of an asset, or of a moment of it, for ``query``."""
    grade = _check_grade(grade)
    at_s = WHOLE_ASSET if at_s is None or at_s < 0 else float(at_s)
    rater = default_rater() if rater is None else rater
    catalog.upsert_judgements([(query.id, content_hash, at_s, path, grade, rater)])


def resolve_asset(catalog: Catalog, path: Path | str) -> tuple[str, str]:
    """(content hash, path) of an indexed file; NotFoundError when the catalog does not
    know it (judge files after indexing them)."""
    from mediasearch.scan import normalise_root

    absolute = normalise_root(path)
    asset = catalog.asset_by_path(absolute)
    if asset is None or asset.content_hash is None or asset.status is not AssetStatus.OK:
        raise NotFoundError("indexed file", str(absolute))
    return asset.content_hash, str(asset.path)


def judge_path(
    catalog: Catalog,
    query: SavedQuery,
    path: Path | str,
    grade: int,
    *,
    at_s: float = WHOLE_ASSET,
    rater: str | None = None,
) -> Judgement:
    """Grade an indexed file (or a moment of it) for ``query`` as ``rater`` (default
    :func:`default_rater`); returns the judgement."""
    content_hash, stored_path = resolve_asset(catalog, path)
    at_s = WHOLE_ASSET if at_s is None or at_s < 0 else float(at_s)
    rater = default_rater() if rater is None else rater
    set_judgement(catalog, query, content_hash=content_hash, grade=grade, path=stored_path, at_s=at_s, rater=rater)
    return Judgement(query.id, query.name, content_hash, at_s, stored_path, int(grade), time.time(), rater)


def remove_judgement(
    catalog: Catalog, query: SavedQuery, content_hash: str, *, at_s: float = WHOLE_ASSET, rater: str | None = None
) -> bool:
    """Forget ``rater``'s judgement (default :func:`default_rater`); returns whether it existed."""
    rater = default_rater() if rater is None else rater
    return catalog.delete_judgement(query.id, content_hash, WHOLE_ASSET if at_s < 0 else float(at_s), rater=rater)


def judgements(catalog: Catalog, query_id: int | None = None) -> list[Judgement]:
    """Stored judgements (of one query, or all), by query then hash then time then rater."""
    rows = catalog.judgement_rows(query_id)
    return [
        Judgement(
            r["query_id"], r["qname"], r["content_hash"], r["at_s"], r["path"], r["grade"], r["updated_at"], r["rater"]
        )
        for r in rows
    ]


def _merged_grades(catalog: Catalog, query_id: int, rater: str | None) -> dict[tuple[str, float], int]:
    """(content hash, at_s) -> the grade scored: ``rater``'s, or the raters' :func:`consensus`.
    Negative (unjudged) grades take no part."""
    per: dict[tuple[str, float], dict[str, int]] = {}
    for content_hash, at_s, grade, who in catalog.judgement_grades(query_id, rater=rater):
        per.setdefault((content_hash, at_s), {})[who] = grade
    out: dict[tuple[str, float], int] = {}
    for key, by in per.items():
        grades = [g for g in supersede_unnamed(by).values() if g >= 0]
        if grades:
            out[key] = consensus(grades)
    return out


def supersede_unnamed(by_rater: dict[str, int]) -> dict[str, int]:
    """One hit's grades by rater, without the unnamed ('') one when a named rater graded it too."""
    if "" in by_rater and len(by_rater) > 1:
        return {r: g for r, g in by_rater.items() if r}
    return by_rater


def asset_qrels(catalog: Catalog, query_id: int, *, rater: str | None = None) -> dict[str, int]:
    """content hash -> grade of each judged asset for the query (moment judgements folded
    in and raters merged as the module docstring says; only ``rater``'s judgements when
    given; negative grades are unjudged and left out)."""
    whole: dict[str, int] = {}
    moments: dict[str, int] = {}
    for (content_hash, at_s), grade in _merged_grades(catalog, query_id, rater).items():
        if at_s < 0:
            whole[content_hash] = grade
        else:
            moments[content_hash] = max(moments.get(content_hash, 0), grade)
    return {**moments, **whole}


def current_paths(catalog: Catalog, hashes: Iterable[str]) -> dict[str, str]:
    """content hash -> where the catalog has the asset now (the first path, if several
    files share the bytes); hashes the catalog does not know are left out."""
    out: dict[str, str] = {}
    for h in set(hashes):
        assets = catalog.assets_by_hash(h)
        if assets:
            out[h] = str(assets[0].path)
    return out


# -- import and export --------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: rows stored, and rows left out (unknown query names, paths
    the catalog does not know)."""

    imported: int = 0
    unknown_queries: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"imported": self.imported, "unknown_queries": self.unknown_queries, "unresolved": self.unresolved}


def _looks_like_path(doc: str) -> bool:
    return "/" in doc or "\\" in doc


def import_judgements(
    catalog: Catalog, settings: Settings, rows: Sequence[QrelRow], *, rater: str | None = None
) -> ImportReport:
    """Store judgements read from qrels or CSV, with their grades as given (any integer;
    negative = unjudged, stored as such). A row's doc is a content hash (kept as is, even
    when no indexed file has it yet) or a path (resolved through the catalog). Rows naming
    an unknown query, or a path the catalog does not know, are reported, not stored. A
    row's rater is its own (a CSV ``rater`` column), else ``rater``, else
    :func:`default_rater`. All stored rows go in one write transaction."""
    fallback = default_rater() if rater is None else rater
    report = ImportReport()
    queries = {q.name: q for q in list_queries(catalog, settings)}
    grades = [_check_grade(row.grade, any_integer=True) for row in rows]
    known = current_paths(catalog, {row.doc for row in rows if not _looks_like_path(row.doc)})
    batch: list[tuple[int, str, float, str, int, str]] = []
    for row, grade in zip(rows, grades):
        query = queries.get(row.query)
        if query is None:
            if row.query not in report.unknown_queries:
                report.unknown_queries.append(row.query)
            continue
        if _looks_like_path(row.doc):
            try:
                content_hash, path = resolve_asset(catalog, row.doc)
            except NotFoundError:
                report.unresolved.append(row.doc)
                continue
        else:
            content_hash = row.doc
            path = known.get(content_hash, row.path)
        at_s = WHOLE_ASSET if row.at_s is None or row.at_s < 0 else float(row.at_s)
        batch.append((query.id, content_hash, at_s, path, grade, fallback if row.rater is None else row.rater))
    catalog.upsert_judgements(batch)
    report.imported = len(batch)
    return report


def export_judgements(
    catalog: Catalog, *, query_id: int | None = None, per_rater: bool = True, rater: str | None = None
) -> list[QrelRow]:
    """Stored judgements as rows for qrels or CSV (paths updated to where the asset is
    now): every rater's row (``per_rater``, for CSV), or one row per judged hit with the
    raters' :func:`consensus` grade (for TREC qrels, which have one grade per document);
    only ``rater``'s when given."""
    stored = [j for j in judgements(catalog, query_id) if rater is None or j.rater == rater]
    now = current_paths(catalog, (j.content_hash for j in stored))
    if per_rater:
        return [QrelRow(j.query, j.content_hash, j.grade, j.at_s, now.get(j.content_hash, j.path), j.rater) for j in stored]
    merged: dict[tuple[str, str, float], list[Judgement]] = {}
    for j in stored:
        merged.setdefault((j.query, j.content_hash, j.at_s), []).append(j)
    rows = []
    for (qname, content_hash, at_s), group in merged.items():
        graded = [g for g in supersede_unnamed({j.rater: j.grade for j in group}).values() if g >= 0]
        grade = consensus(graded) if graded else group[0].grade  # all unjudged: keep the -1 so it exports again
        rows.append(QrelRow(qname, content_hash, grade, at_s, now.get(content_hash, group[0].path)))
    return rows

"""File formats for ground truth and runs: TREC qrels, TREC run, CSV.

- TREC qrels: ``qid 0 docno grade`` per line, whitespace separated.
- TREC run: ``qid Q0 docno rank score tag`` per line (tag = encoder name).
- Judgements CSV: header ``query,path,content_hash,at_s,grade``.

``qid`` is the saved query's name (names hold no whitespace). ``docno`` is the asset's
content hash, so qrels survive moves and renames; a judgement of a moment of a video or
audio file is ``<content_hash>@<seconds>``. On import a docno may also be a path the
catalog knows (resolved by :mod:`mediasearch.evaluation.groundtruth`).
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Sequence, TextIO

from mediasearch.errors import MediaSearchError

logger = logging.getLogger(__name__)

CSV_FIELDS = ("query", "path", "content_hash", "at_s", "grade", "rater")


class FormatError(MediaSearchError):
    """A qrels, run or CSV file is malformed."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(f"{source}:{line}: {reason}")


@dataclass(frozen=True)
class QrelRow:
    """One judgement as files carry it. ``doc`` is a content hash or a path; ``at_s`` is
    -1 for the whole asset, else the judged moment in seconds."""

    query: str
    doc: str
    grade: int
    at_s: float = -1.0
    path: str = ""
    rater: str | None = None  # who graded it (CSV only; TREC qrels carry no rater)


@dataclass(frozen=True)
class RunRow:
    """One ranked result of one encoder for one query (rank from 1)."""

    query: str
    doc: str
    rank: int
    score: float
    tag: str


def docno(content_hash: str, at_s: float = -1.0) -> str:
    """The TREC docno of an asset (``at_s`` < 0) or of a moment of it."""
    return content_hash if at_s < 0 else f"{content_hash}@{at_s:g}"


def split_docno(doc: str) -> tuple[str, float]:
    """Inverse of :func:`docno`: (content hash or path, at_s)."""
    head, sep, tail = doc.rpartition("@")
    if sep and head:
        try:
            return head, float(tail)
        except ValueError:
            pass
    return doc, -1.0


def _check_qid(qid: str) -> None:
    if not qid or any(c.isspace() for c in qid):
        raise ValueError(f"query name {qid!r} cannot be written to a TREC file (empty or has whitespace)")


def write_qrels(rows: Iterable[QrelRow], out: TextIO) -> int:
    """Write TREC qrels; returns the number of lines."""
    n = 0
    for row in rows:
        _check_qid(row.query)
        doc = docno(row.doc, row.at_s)
        if any(c.isspace() for c in doc):
            raise ValueError(f"docno {doc!r} has whitespace")
        out.write(f"{row.query} 0 {doc} {int(row.grade)}\n")
        n += 1
    return n


def iter_qrels_lines(text: TextIO | Iterable[str], *, source: str = "<qrels>") -> Iterator[tuple[int, str, str, int]]:
    """(line number, qid, docno, grade) of each TREC qrels line; blank lines and lines
    starting with # are skipped; any integer grade is kept (negative: unjudged)."""
    for lineno, line in enumerate(text, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 4:
            raise FormatError(source, lineno, f"expected 'qid iter docno grade', got {len(parts)} fields")
        qid, _iteration, doc, grade_s = parts
        try:
            grade = int(grade_s)
        except ValueError:
            raise FormatError(source, lineno, f"grade {grade_s!r} is not an integer") from None
        yield lineno, qid, doc, grade


def read_qrels(text: TextIO, *, source: str = "<qrels>") -> list[QrelRow]:
    """Parse TREC qrels (blank lines and lines starting with # are skipped)."""
    rows: list[QrelRow] = []
    for _lineno, qid, doc, grade in iter_qrels_lines(text, source=source):
        doc, at_s = split_docno(doc)
        rows.append(QrelRow(qid, doc, grade, at_s))
    return rows


def write_run(rows: Iterable[RunRow], out: TextIO) -> int:
    """Write a TREC run; returns the number of lines."""
    n = 0
    for row in rows:
        _check_qid(row.query)
        if any(c.isspace() for c in row.tag) or not row.tag:
            raise ValueError(f"run tag {row.tag!r} is empty or has whitespace")
        out.write(f"{row.query} Q0 {row.doc} {row.rank} {row.score:.6f} {row.tag}\n")
        n += 1
    return n


def iter_run_lines(text: TextIO | Iterable[str], *, source: str = "<run>") -> Iterator[tuple[int, str, str, str, float, str]]:
    """The lines of a TREC run as ``(line number, qid, docno, rank text, score, tag)``:
    ``qid Q0 docno rank score tag``, fields after the tag ignored, blank and ``#`` lines
    skipped; FormatError for a short line or a score that is not a number."""
    for lineno, line in enumerate(text, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 6:
            raise FormatError(source, lineno, f"expected 'qid Q0 docno rank score tag', got {len(parts)} fields")
        qid, _q0, doc, rank_s, score_s, tag = parts[:6]
        try:
            score = float(score_s)
        except ValueError:
            raise FormatError(source, lineno, f"score {score_s!r} is not a number") from None
        yield lineno, qid, doc, rank_s, score, tag


def read_run(text: TextIO, *, source: str = "<run>") -> list[RunRow]:
    """Parse a TREC run (see :func:`iter_run_lines`); a rank that is not an integer reads
    as 0 (the rank column is never used for ordering)."""
    rows: list[RunRow] = []
    for _lineno, qid, doc, rank_s, score, tag in iter_run_lines(text, source=source):
        rank = int(rank_s) if rank_s.lstrip("-").isdigit() else 0
        rows.append(RunRow(qid, doc, rank, score, tag))
    return rows


def run_rankings(rows: Iterable[RunRow]) -> dict[str, dict[str, list[str]]]:
    """tag -> query -> docs in trec_eval's order (score descending, ties by docno
    descending; the rank column is ignored)."""
    from mediasearch.evaluation.metrics import trec_order

    found: dict[str, dict[str, tuple[list[str], list[float]]]] = {}
    for row in rows:
        docs, scores = found.setdefault(row.tag, {}).setdefault(row.query, ([], []))
        docs.append(row.doc)
        scores.append(row.score)
    return {tag: {q: trec_order(d, s)[0] for q, (d, s) in queries.items()} for tag, queries in found.items()}


def write_judgements_csv(rows: Iterable[QrelRow], out: TextIO) -> int:
    """Write judgements as CSV with :data:`CSV_FIELDS`; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    n = 0
    for row in rows:
        writer.writerow([row.query, row.path, row.doc, f"{row.at_s:g}", int(row.grade), row.rater or ""])
        n += 1
    return n


def read_judgements_csv(text: TextIO, *, source: str = "<csv>") -> list[QrelRow]:
    """Parse a judgements CSV. Needs ``query`` and ``grade`` and one of ``content_hash`` /
    ``path`` (``doc`` is the hash when given, else the path); ``at_s`` defaults to -1; an
    optional ``rater`` column names who graded each row."""
    reader = csv.DictReader(text)
    fields = set(reader.fieldnames or ())
    missing = {"query", "grade"} - fields
    if missing or not ({"content_hash", "path"} & fields):
        raise FormatError(source, 1, f"header needs query, grade and content_hash or path; got {sorted(fields)}")
    rows: list[QrelRow] = []
    for lineno, rec in enumerate(reader, start=2):
        content_hash = (rec.get("content_hash") or "").strip()
        path = (rec.get("path") or "").strip()
        if not content_hash and not path:
            raise FormatError(source, lineno, "neither content_hash nor path")
        try:
            grade = int(rec["grade"])
            at_s_text = (rec.get("at_s") or "").strip()
            at_s = float(at_s_text) if at_s_text else -1.0
        except (TypeError, ValueError) as exc:
            raise FormatError(source, lineno, f"bad grade or at_s: {exc}") from None
        rater = (rec.get("rater") or "").strip() if "rater" in fields else None
        rows.append(QrelRow(rec["query"].strip(), content_hash or path, grade, at_s, path, rater))
    return rows


def write_metric_table_csv(
    table: Sequence[Mapping[str, object]], metrics: Sequence[str], out: TextIO
) -> int:
    """The metric table as CSV: ``group,encoder,queries,<metric>...`` (NaN left empty)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "encoder", "queries", *metrics])
    for row in table:
        means = row["means"]
        assert isinstance(means, Mapping)
        cells = []
        for m in metrics:
            value = means.get(m, math.nan)
            cells.append("" if value is None or math.isnan(value) else f"{value:.6f}")
        writer.writerow([row["group"], row["encoder"], row["queries"], *cells])
    return len(table)

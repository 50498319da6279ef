"""Plain-Python adapters over the core that the GUI's workers run (no Qt in here).

Each function takes an open :class:`Library` (the worker's, in the worker's thread) and
returns plain data: a search with the judge's view of it (content hashes and current
grades), the pooled search of every applicable encoder, the judgement writer, and
removing a folder's files from the library.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mediasearch.catalog import Catalog
from mediasearch.config import Settings
from mediasearch.errors import QueryError
from mediasearch.library import Library
from mediasearch.media import Hit, MediaKind, Modality
from mediasearch.search import Query, applicable_encoders, default_encoders, search

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuerySpec:
    """What the user asked: text, or an example file (with an optional time range, seconds)."""

    modality: Modality
    text: str | None = None
    path: Path | None = None
    start_s: float | None = None
    end_s: float | None = None

    def to_query(self) -> Query:
        """The core Query (raises QueryError on bad input, with the core's message)."""
        return Query(self.modality, text=self.text, path=self.path, start_s=self.start_s, end_s=self.end_s)

    def describe(self) -> str:
        if self.modality is Modality.TEXT:
            return f"“{self.text}”"
        name = self.path.name if self.path else "?"
        if self.start_s is not None or self.end_s is not None:
            end = "end" if self.end_s is None else fmt_time(self.end_s)
            name += f" [{fmt_time(self.start_s or 0.0)}–{end}]"
        return name


@dataclass
class ResultItem:
    """One row of the results: the hit, its asset's content hash, its current grade
    (None: unjudged), and in pool mode the rank each encoder gave it."""

    hit: Hit
    content_hash: str | None
    grade: int | None = None
    pool_ranks: dict[str, int] = field(default_factory=dict)


@dataclass
class SearchOutcome:
    """What a search worker hands back to the results view."""

    spec: QuerySpec
    items: list[ResultItem]
    encoders: list[str]
    saved_query: object | None  # evaluation.groundtruth.SavedQuery, when this query was saved before
    elapsed_s: float
    pooled: bool = False
    example_left_out: bool = False
    # who ran the query: "service" (a running ``mediasearch serve``) or "in-process"
    answered_by: str = "in-process"


def fmt_time(seconds: float | None) -> str:
    """m:ss.s (or h:mm:ss) for display; "" for None."""
    if seconds is None:
        return ""
    minutes, sec = divmod(max(float(seconds), 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}" if hours else f"{minutes}:{sec:04.1f}"


def file_digest(path: Path) -> str:
    """sha256 of a file (how the ground-truth store names its kept copy of an example)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def example_hash(path: Path | None) -> str | None:
    """The indexer's content hash of a query example, when the hashing module is available."""
    if path is None:
        return None
    try:
        from mediasearch.hashing import content_hash
    except ImportError:  # the core's hashing module not built yet
        return None
    try:
        return content_hash(Path(path))
    except OSError:
        return None


def find_saved_query(catalog: Catalog, settings: Settings, spec: QuerySpec):  # -> SavedQuery | None
    """The saved evaluation query that asks the same as ``spec``, if any: same text, or
    same example file content (and time range)."""
    from mediasearch.evaluation.groundtruth import list_queries

    queries = [q for q in list_queries(catalog, settings) if q.modality is spec.modality]
    if spec.modality is Modality.TEXT:
        text = (spec.text or "").strip()
        return next((q for q in queries if (q.text or "").strip() == text), None)
    if spec.path is None or not Path(spec.path).is_file():
        return None
    example = example_hash(spec.path)
    digest: str | None = None
    for q in queries:
        if not (_same(q.start_s, spec.start_s) and _same(q.end_s, spec.end_s)):
            continue
        if example is not None and q.file_hash == example:
            return q
        if q.file is not None:
            # the kept copy is named by the example's sha256 (its file name or its folder)
            digest = digest or file_digest(Path(spec.path))[:24]
            if q.file.name.startswith(digest) or q.file.parent.name.startswith(digest):
                return q
    return None


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-3)


def _hashes(library: Library, hits: list[Hit]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for hit in hits:
        if hit.asset_id not in out:
            try:
                out[hit.asset_id] = library.catalog.asset(hit.asset_id).content_hash
            except Exception:  # the asset vanished since the search
                out[hit.asset_id] = None
    return out


def _grades(library: Library, saved) -> dict[str, int]:
    """The grades to show: this rater's own, else (not judged by them) the raters' consensus."""
    if saved is None:
        return {}
    from mediasearch.evaluation.groundtruth import asset_qrels, default_rater

    rater = library.settings.rater or default_rater()
    return {**asset_qrels(library.catalog, saved.id), **asset_qrels(library.catalog, saved.id, rater=rater)}


def _leave_out_example(hits: list[Hit], hashes: dict[int, str | None], example: str | None) -> tuple[list[Hit], bool]:
    """Drop the query's own example file from its results, by content hash: the key the
    evaluation's rankings leave out (:class:`SavedQuery.file_hash`), so a copy of the
    example under another name is left out too."""
    if example is None:
        return hits, False
    kept = [h for h in hits if hashes.get(h.asset_id) != example]
    return kept, len(kept) != len(hits)


def run_search(
    library: Library,
    spec: QuerySpec,
    *,
    encoder: str | None,
    k: int,
    pool: bool = False,
    hits_fn: Callable[..., list[Hit]] | None = None,
) -> SearchOutcome:
    """Search (or pool every applicable encoder) and attach hashes and current grades.

    ``hits_fn(library, query, encoder=, k=)``: what finds the hits (default
    :func:`mediasearch.search.search`; the GUI passes one that asks a running service)."""
    t0 = time.monotonic()
    query = spec.to_query()
    saved = find_saved_query(library.catalog, library.settings, spec)
    example = example_hash(spec.path)
    if pool:
        return _pool_search(library, spec, query, k=k, saved=saved, example=example, t0=t0)
    qrels = _grades(library, saved)
    names = [encoder] if encoder else default_encoders(library, spec.modality)
    # one extra hit so leaving the example out still leaves k
    hits = (hits_fn or search)(library, query, encoder=encoder, k=k + (1 if spec.path is not None else 0))
    hashes = _hashes(library, hits)
    hits, left_out = _leave_out_example(hits, hashes, example)
    hits = hits[:k]
    for rank, hit in enumerate(hits, 1):
        hit.rank = rank
    items = [ResultItem(h, hashes.get(h.asset_id), qrels.get(hashes.get(h.asset_id) or "")) for h in hits]
    return SearchOutcome(spec, items, names, saved, time.monotonic() - t0, example_left_out=left_out)


def pool_query(library: Library, spec: QuerySpec, saved, example: str | None):  # -> SavedQuery
    """The saved query to pool: ``saved`` itself, or (not saved yet) a transient one with
    no judgements that asks what ``spec`` asks, so that the core's
    :func:`~mediasearch.evaluation.runner.pool_for_query` pools it by its own rules."""
    from mediasearch.evaluation.groundtruth import SavedQuery

    if saved is not None:
        return saved
    return SavedQuery(
        id=-1, name="", modality=spec.modality, text=spec.text, file=Path(spec.path) if spec.path else None,
        file_hash=example, start_s=spec.start_s, end_s=spec.end_s, created_at=0.0,
    )


def _pool_search(library: Library, spec: QuerySpec, query: Query, *, k: int, saved, example: str | None, t0: float) -> SearchOutcome:
    """The core's judging pool (pooling, leaving the example out, files with identical
    bytes once) with, for each pooled file, the hit of the encoder that ranked it best."""
    from mediasearch.evaluation.runner import pool_for_query

    if not applicable_encoders(library, spec.modality):
        from PySide6.QtCore import QCoreApplication

        raise QueryError(
            QCoreApplication.translate(
                "actions", "no encoder in this library answers {modality} queries (indexed: {indexed}); index with an encoder that does"
            ).format(modality=spec.modality.value, indexed=", ".join(library.indexed_encoders()) or "-")
        )
    items_, names = pool_for_query(library, pool_query(library, spec, saved, example), depth=k)
    # the pool names files (content hashes); the results view shows hits (thumbnails,
    # times), so each encoder's hits are fetched to the same depth
    by_doc: dict[tuple[str, str], Hit] = {}
    left_out = False
    for name in names:
        if not any(name in item.ranks for item in items_):
            continue
        hits = search(library, query, encoder=name, k=k)
        hashes = _hashes(library, hits)
        left_out = left_out or (example is not None and example in hashes.values())
        for hit in hits:
            doc = hashes.get(hit.asset_id)
            if doc is not None:
                by_doc.setdefault((name, doc), hit)
    mine = _grades(library, saved) if saved is not None else {}
    items: list[ResultItem] = []
    for position, item in enumerate(items_, 1):
        best = min(item.ranks, key=lambda n: (item.ranks[n], names.index(n)))
        hit = by_doc.get((best, item.doc))
        if hit is None:  # the catalog changed between the two searches
            continue
        hit.rank = position
        items.append(ResultItem(hit, item.doc, mine.get(item.doc, item.grade), dict(item.ranks)))
    return SearchOutcome(spec, items, names, saved, time.monotonic() - t0, pooled=True, example_left_out=left_out)


@dataclass(frozen=True)
class JudgeRequest:
    """Grade one result for a query; ``grade`` None removes the judgement."""

    spec: QuerySpec
    content_hash: str
    path: str
    grade: int | None
    saved_query_id: int | None = None


def judge(catalog: Catalog, settings: Settings, request: JudgeRequest):  # -> SavedQuery
    """Save the query as an evaluation query if it is not yet one, then store the grade
    at once (whole-asset judgement, keyed by content hash). Returns the saved query."""
    from mediasearch.evaluation import groundtruth as gt

    saved = None
    if request.saved_query_id is not None:
        try:
            saved = gt.get_query(catalog, settings, request.saved_query_id)
        except Exception:
            saved = None
    if saved is None:
        saved = find_saved_query(catalog, settings, request.spec)
    if saved is None:
        spec = request.spec
        saved = gt.add_query(
            catalog,
            settings,
            modality=spec.modality,
            text=spec.text if spec.modality is Modality.TEXT else None,
            path=spec.path if spec.modality is not Modality.TEXT else None,
            start_s=spec.start_s,
            end_s=spec.end_s,
        )
        log.info("saved evaluation query %s", saved.name)
    rater = settings.rater or gt.default_rater()
    if request.grade is None:
        gt.remove_judgement(catalog, saved, request.content_hash, rater=rater)
    else:
        gt.set_judgement(
            catalog, saved, content_hash=request.content_hash, grade=request.grade, path=request.path, rater=rater
        )
    return saved


def remove_folders(library: Library, roots: list[Path], *, progress: Callable[[int, int], None] | None = None) -> int:
    """Forget every file under ``roots`` (their vectors leave every search); returns how many."""
    removed = library.remove_roots(list(roots))
    if progress:
        progress(removed, removed)
    return removed


@dataclass
class LibrarySummary:
    """Counts for the status bar and library page."""

    by_kind: dict[str, int]
    skipped: list[tuple[str, str, str]]  # (path, encoder or "", reason)
    encoders: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def describe(self) -> str:
        parts = []
        for kind, noun in (("image", "image"), ("video", "video"), ("audio", "audio file")):
            n = self.by_kind.get(kind, 0)
            if n:
                parts.append(f"{n} {noun}{'s' if n != 1 else ''}")
        text = " · ".join(parts) if parts else "nothing indexed yet"
        if self.skipped:
            text += f" · {len(self.skipped)} skipped"
        return text


def summarise(catalog: Catalog) -> LibrarySummary:
    """What the library holds, and what was skipped or failed and why."""
    counts = catalog.counts()
    by_kind = {kind: c.get("ok", 0) for kind, c in counts["assets"].items() if kind != "unknown"}
    skipped = [(p, "", r) for p, r in catalog.skipped()] + list(catalog.encoder_failures())
    return LibrarySummary(by_kind, skipped, counts["encoders"])


def hit_is_sound(hit: Hit) -> bool:
    """Whether a hit is a stretch of sound (audio window or speech) rather than a picture."""
    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.media import Stream

    spec = REGISTRY.get(hit.encoder)
    if spec is not None:
        return bool(spec.streams & {Stream.AUDIO, Stream.SPEECH})
    return hit.kind is MediaKind.AUDIO


def media_kind_of(path: Path) -> MediaKind | None:
    """What an example file is, by content (None when not media)."""
    from mediasearch.decode.probe import sniff_kind

    return sniff_kind(path)

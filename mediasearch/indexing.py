"""The indexing pipeline: scan -> mark and sweep -> decode -> encode -> store.

Incremental by mark-and-sweep (rclip's way): every known file under a root is stale
until the scan sees it; a file whose (size, mtime) is unchanged is not decoded again; a
new file whose content hash matches a vanished asset is a rename and keeps its vectors;
what is still stale at the end leaves the index.

Crash safety: the run is a writing session of the library (one writer at a time).
Vectors are appended to each encoder's log as batches finish and committed, with their
embeddings and asset states, at a checkpoint right after the first batch and then every
``CHECKPOINT_S`` seconds (each checkpoint costs O(new vectors)). A crash loses at most
the work since the last checkpoint; the next run's writer cuts the uncommitted tail off
the logs *before* deciding what is done, and redoes exactly that.

Failures are per item: a batch that fails is retried one item at a time, so only the
item that fails is marked FAILED (with its reason). FAILED items are retried once per
run after a code or settings change (the attempt key), or always with ``retry_failed``.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import sys
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Protocol, Sequence

import numpy as np

from mediasearch.catalog import STATE_DONE, STATE_FAILED
from mediasearch.encoders.base import AssetEncoding, Encoder
from mediasearch.encoders.registry import get_spec, load_encoder
from mediasearch.errors import CancelledError, DecodeError, MediaSearchError, NotMediaError, UnsupportedMediaError
from mediasearch.library import Library
from mediasearch.media import Asset, AssetStatus, MediaKind, Stream
from mediasearch.progress import CancelToken, Progress, ProgressCallback, no_progress
from mediasearch.scan import FileEntry, normalise_root, scan
from mediasearch import transcript_space

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.config import Settings
    from mediasearch.encoders.baseline_audio import WindowedAudioEncoder
    from mediasearch.decode.source import Source

log = logging.getLogger(__name__)

#: default seconds between checkpoints (Settings.checkpoint_s, MEDIASEARCH_CHECKPOINT_S)
CHECKPOINT_S = 2.0
#: decoded video frames are handed to encoders in chunks of this many (bounded memory)
FRAME_CHUNK = 32
#: seconds to pause per batch (MEDIASEARCH_TEST_SLOW_EMBED_S): lets tests of concurrent
#: use stretch a run of small files over several checkpoints
_THROTTLE_S = float(os.environ.get("MEDIASEARCH_TEST_SLOW_EMBED_S", "0") or 0)
#: catalog writes of the mark phase are committed every this many files
COMMIT_EVERY = 500
#: bytes of new files held in memory between their read (kind + hash) and their decode;
#: a chunk of checked files is embedded when it reaches this (or COMMIT_EVERY files)
HOLD_BYTES = 256 * 1024 * 1024
#: bytes the file readers may read ahead of the check (files above the whole-file hash
#: limit count as the limit: only their samples are read ahead)
READ_AHEAD_BYTES = 64 * 1024 * 1024


def decode_workers() -> int:
    """Threads that read and decode files while the encoders run: ``MEDIASEARCH_DECODE_WORKERS``,
    else a quarter of the usable cores (1 to 8). Torch takes all cores but one
    (``Settings.inference_threads``); JPEG decoding at reduced DCT scale, PyAV and hashing
    release the GIL, so a few decode threads keep a many-core encoder fed without
    starving it on a small machine (1 worker on 2 to 7 cores)."""
    env = os.environ.get("MEDIASEARCH_DECODE_WORKERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(8, cores // 4))


@dataclass
class EncoderRunStats:
    """Work one encoder did in a run: assets, segments, seconds of media, wall seconds."""

    items: int = 0
    segments: int = 0
    media_s: float = 0.0
    wall_s: float = 0.0
    failed: int = 0


@dataclass
class IndexReport:
    scanned: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    encoders: dict[str, EncoderRunStats] = field(default_factory=dict)
    #: (path, encoder or "", reason) for files skipped or failed in this run
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    #: files under the roots that are not media at all (documents, data): counted, not failures
    not_media: int = 0
    #: encoder -> assets it was asked to cover that it still has no vectors for (not failed)
    missing: dict[str, int] = field(default_factory=dict)
    #: what the writer repaired before the run (see Library.repair)
    repaired: dict[str, dict] = field(default_factory=dict)
    cancelled: bool = False
    wall_s: float = 0.0
    #: assets found unreadable in this run (later encoders leave them alone)
    skipped_ids: set[int] = field(default_factory=set)
    #: paths counted new or changed by this run's scan (a later decode failure moves them to skipped)
    fresh_paths: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "scanned": self.scanned,
            "new": self.new,
            "changed": self.changed,
            "moved": self.moved,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "not_media": self.not_media,
            "missing": self.missing,
            "repaired": self.repaired,
            "cancelled": self.cancelled,
            "wall_s": round(self.wall_s, 3),
            "encoders": {name: vars(stats) for name, stats in self.encoders.items()},
            "failures": [{"path": p, "encoder": e, "reason": r} for p, e, r in self.failures],
        }


_VISUAL_KINDS = {MediaKind.IMAGE, MediaKind.VIDEO}
_AUDIO_KINDS = {MediaKind.AUDIO, MediaKind.VIDEO}


class _Reporter:
    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.t0 = time.monotonic()
        self.stage_t0 = self.t0

    def start(self, stage: str, total: int | None, unit: str = "file") -> None:
        self.stage_t0 = time.monotonic()
        self.callback(Progress(stage, 0, total, "", unit, 0.0))

    def report(self, stage: str, done: int, total: int | None, current: str = "", unit: str = "file") -> None:
        self.callback(Progress(stage, done, total, current, unit, time.monotonic() - self.stage_t0))


def index_paths(
    library: Library,
    roots: Sequence[Path | str],
    *,
    encoders: Sequence[str],
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    retry_failed: bool = False,
    executor: "Executor | None" = None,
    text_model: str | None = None,
    allow_api: bool = False,
) -> IndexReport:
    """Bring the library up to date with ``roots`` for ``encoders``.

    Runs as a writing session of the library (joining one the caller opened, e.g. to
    pass ``--wait``). Loads every encoder first (so missing weights fail before any
    work), reconciles the stored vectors with the catalog, then scans, marks and
    sweeps, and embeds what is not done. Bad files are recorded as skipped with a
    reason; cancellation keeps what was committed and returns a report with
    ``cancelled``; ``report.missing`` says what is still not embedded.

    ``executor``: where decoding and embedding run (None: in this process, overlapped
    with the commits by a decode thread; e.g. ``mediasearch.distributed.RayExecutor``:
    on a cluster). This process stays the single writer either way: it decides the work,
    and stages and commits what comes back through the same code path.

    ``text_model``: the transcript text model to use from now on in this library (see
    :mod:`mediasearch.transcript_space`; a change re-embeds the transcripts' text, it does
    not transcribe again); an API model needs ``allow_api`` (ApiOptInRequiredError).
    """
    t0 = time.monotonic()
    cancel = cancel or CancelToken()
    rep = _Reporter(progress or no_progress)
    specs = [get_spec(name) for name in dict.fromkeys(encoders)]
    loaded = {spec.name: load_encoder(spec.name, library.settings) for spec in specs}
    report = IndexReport(encoders={name: EncoderRunStats() for name in loaded})
    root_paths = [normalise_root(r) for r in roots]
    with library.writing("mediasearch index " + " ".join(str(r) for r in root_paths)):
        repair = library.last_repair
        report.repaired = {k: v for k, v in vars(repair).items() if v}
        assets: list[Asset] | None = None
        stage: _VisualStage | None = None
        try:
            transcript_space.choose(library, loaded.values(), text_model, allow_api=allow_api)
            for enc in loaded.values():
                _check_index_config(library, enc, progress=rep.callback, cancel=cancel)
            visual = [enc for enc in loaded.values() if not enc.owns_segments]
            owners = [enc for enc in loaded.values() if enc.owns_segments]
            chunked = _ChunkedReporter(rep)
            if visual:
                stage = _VisualStage(library, visual, report, chunked, cancel, retry_failed=retry_failed, executor=executor)

            def embed(batch: list[Asset], *, final: bool = False) -> None:
                if stage is not None:  # one stage for the whole run: batches fill across chunks
                    stage.run(batch, final=final)
                for enc in owners:
                    _run_asset_encoder(library, enc, batch, report, chunked, cancel, retry_failed=retry_failed, executor=executor)

            # new and changed files are embedded chunk by chunk as the check reads them, each
            # decoded from the buffer its hash was computed from (one read per file)
            _mark_and_sweep(library, root_paths, report, rep, cancel, on_fresh=embed, chunked=chunked)
            assets = _assets_under(library, root_paths)
            embed(assets, final=True)  # what is left: unchanged files some encoder has not done yet
        except (CancelledError, KeyboardInterrupt):
            report.cancelled = True
            log.info("indexing cancelled; what was done is kept, run again to resume")
        finally:
            if stage is not None:
                stage.close()
            report.wall_s = time.monotonic() - t0
            _record_runs(library, report, started_at=time.time() - report.wall_s)
            report.missing = _missing(library, root_paths, list(loaded), assets, skipped=report.skipped_ids)
        if not report.cancelled:
            library.refresh_indexes(progress=rep.callback, cancel=cancel)
    return report


def attempt_key(enc: Encoder) -> str:
    """What a FAILED state was recorded under: a new mediasearch version or a change of the
    encoder's settings makes failed items eligible for one more try."""
    from mediasearch import __version__

    config = index_config(enc)
    return f"{__version__}|{sorted(config.items())}"


def _missing(
    library: Library,
    roots: list[Path],
    encoders: list[str],
    assets: list[Asset] | None = None,
    *,
    skipped: set[int] = frozenset(),  # type: ignore[assignment]
) -> dict[str, int]:
    """Encoder -> ok assets under ``roots`` of kinds it covers that it has neither done nor
    failed (``assets``: the run's list of them, when it got that far)."""
    if assets is None:
        assets = _assets_under(library, roots)
    out: dict[str, int] = {}
    for name in encoders:
        spec = get_spec(name)
        kinds = _AUDIO_KINDS if (Stream.AUDIO in spec.streams or Stream.SPEECH in spec.streams) else _VISUAL_KINDS
        settled = library.catalog.assets_settled_by(name)
        n = sum(1 for a in assets if a.kind in kinds and a.id not in settled and a.id not in skipped)
        if n:
            out[name] = n
    return out


# -- mark and sweep ----------------------------------------------------------------


def _mark_and_sweep(
    library: Library,
    roots: list[Path],
    report: IndexReport,
    rep: _Reporter,
    cancel: CancelToken,
    *,
    on_fresh: Callable[[list[Asset]], None] | None = None,
    chunked: "_ChunkedReporter | None" = None,
) -> None:
    """Scan, check new and changed files (kind, hash, rename?), drop what vanished.

    ``on_fresh``: called after each committed chunk of checked files with its new and
    changed assets, while their bytes are still held (see :mod:`mediasearch.decode.source`),
    so they are decoded without reading them again. A chunk ends after ``COMMIT_EVERY``
    files or ``HOLD_BYTES`` held bytes."""
    from mediasearch.decode.probe import classify
    from mediasearch.decode.source import hold, release

    cat = library.catalog
    rep.start("scan", None)
    found = scan(
        roots,
        include_hidden=library.settings.include_hidden,
        cancel=cancel,
        on_file=lambda n: rep.report("scan", n, None) if n % 1000 == 0 else None,
    )
    for path, reason in found.errors:
        report.failures.append((path, "", reason))
    report.scanned = len(found.files)
    with cat.transaction():
        for root in roots:
            cat.add_root(root)
            cat.record_scan_problems(root, [(p, r) for p, r in found.errors if _is_under(p, root)])

    known: dict[str, Asset] = {}
    for root in roots:
        known.update(cat.assets_under(root))
    stale = {p: a for p, a in known.items() if p not in found.files}
    todo: list[FileEntry] = []
    for path, entry in found.files.items():
        asset = known.get(path)
        if asset is not None and asset.size == entry.size and asset.mtime_ns == entry.mtime_ns:
            # every scanned file lands in exactly one count: new + changed + moved +
            # unchanged + skipped + not_media == scanned
            if asset.status is AssetStatus.SKIPPED:
                report.skipped += 1
            elif asset.status is AssetStatus.NOT_MEDIA:
                report.not_media += 1
            else:
                report.unchanged += 1
        else:
            todo.append(entry)

    rep.start("check", len(todo))
    moved_from: set[str] = set()
    reads = _read_ahead(todo, workers=decode_workers(), budget=READ_AHEAD_BYTES)
    i = 0
    held_paths: list[str] = []
    embedding = False  # once chunks are embedded, the embedding stages carry the progress
    # The first chunks are small and each one doubles (up to COMMIT_EVERY), so the model
    # starts after a couple of batches' worth of files are checked, not after the first 500
    # (or 256 MiB): on 64 12 MP JPEGs the first embedding waited 0.5 s for the whole check.
    limit = max(16, 2 * library.settings.batch_size) if on_fresh is not None else COMMIT_EVERY
    try:
        while i < len(todo):
            fresh: list[str] = []
            held_total = n = 0
            with cat.transaction():
                while i < len(todo) and n < limit and held_total < HOLD_BYTES:
                    entry, src, err = next(reads)
                    cancel.raise_if_cancelled("indexing")
                    if not embedding:
                        rep.report("check", i, len(todo), entry.path)
                    if src is not None and src.data is not None:
                        hold(entry.path, src.data)
                        held_paths.append(entry.path)
                        held_total += len(src.data)
                    _check_file(
                        library, entry, known.get(entry.path), stale, moved_from, report,
                        _classify_read(classify, err), lambda _p, src=src: src.digest,  # type: ignore[union-attr]
                    )
                    if report.fresh_paths.get(entry.path) in ("new", "changed"):
                        fresh.append(entry.path)
                    i += 1
                    n += 1
            if on_fresh is not None and fresh:
                if not embedding:
                    rep.report("check", i, len(todo))
                embedding = True
                if chunked is not None:
                    chunked.unchecked = len(todo) - i
                batch = [a for a in (cat.asset_by_path(p) for p in fresh) if a is not None and a.status is AssetStatus.OK]
                on_fresh(sorted(batch, key=lambda a: str(a.path)))
            for p in held_paths:
                release(p)
            held_paths.clear()
            limit = min(COMMIT_EVERY, 2 * limit)
    finally:
        reads.close()
        for p in held_paths:
            release(p)
    if chunked is not None:
        chunked.unchecked = 0
    if not embedding:
        rep.report("check", len(todo), len(todo))

    gone = [a for p, a in stale.items() if p not in moved_from]
    if gone:
        # Their vectors stay in the logs as tombstones (the catalog no longer knows the
        # ids), filtered at search time and dropped when the log is compacted.
        with cat.transaction():
            cat.delete_assets([a.id for a in gone])
        report.removed = len(gone)


class _ChunkedReporter:
    """Progress of stages that run once per chunk of checked files: each stage counts on
    across chunks (one bar per stage, not one per chunk). ``unchecked``: files the check
    has still to read (the total includes them until they are known)."""

    def __init__(self, rep: _Reporter) -> None:
        self.rep = rep
        self.callback = rep.callback
        self.unchecked = 0
        self._base: dict[str, int] = {}
        self._last: dict[str, int] = {}

    def start(self, stage: str, total: int | None, unit: str = "file") -> None:
        first = stage not in self._base
        self._base[stage] = self._base.get(stage, 0) + self._last.get(stage, 0)
        self._last[stage] = 0
        if first:
            self.rep.start(stage, None if total is None else total + self.unchecked, unit)

    def report(self, stage: str, done: int, total: int | None, current: str = "", unit: str = "file") -> None:
        base = self._base.get(stage, 0)
        self._last[stage] = done
        full = None if total is None else base + total + self.unchecked
        self.rep.report(stage, base + done, full, current, unit)


def _classify_read(classify: Callable[[Path], MediaKind], err: OSError | None) -> Callable[[Path], MediaKind]:
    """``classify``, for a file whose read failed with ``err``: classify says why in its own
    words (missing, permission denied, empty); else the read error stands."""

    def check(path: Path) -> MediaKind:
        kind = classify(path)
        if err is not None:
            raise err
        return kind

    return check


def _read_ahead(
    entries: Sequence[FileEntry], *, workers: int, budget: int
) -> Iterator[tuple[FileEntry, "Source | None", OSError | None]]:
    """(entry, what one read of it gave, or the OSError) in ``entries`` order, read by
    ``workers`` threads up to ``budget`` bytes ahead of the consumer (hashing releases the GIL)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from mediasearch.decode.source import read_source
    from mediasearch.hashing import WHOLE_FILE_LIMIT

    pending: deque = deque()
    ahead = 0
    it = iter(entries)
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="mediasearch-read")
    try:
        while True:
            while not pending or ahead < budget:
                entry = next(it, None)
                if entry is None:
                    break
                cost = min(int(entry.size), WHOLE_FILE_LIMIT)
                pending.append((entry, cost, pool.submit(read_source, entry.path)))
                ahead += cost
            if not pending:
                return
            entry, cost, future = pending.popleft()
            ahead -= cost
            try:
                src, err = future.result(), None
            except OSError as exc:
                src, err = None, exc
            yield entry, src, err
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _is_under(path: str, root: Path) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(path), str(root)]) == str(root)
    except ValueError:
        return False


def _check_file(
    library: Library,
    entry: FileEntry,
    old: Asset | None,
    stale: dict[str, Asset],
    moved_from: set[str],
    report: IndexReport,
    classify: Callable[[Path], MediaKind],
    content_hash: Callable[[Path], str],
) -> None:
    """A new or changed file: classify it, hash it, and find out whether it is a rename."""
    cat = library.catalog
    path = Path(entry.path)
    try:
        kind = classify(path)
        digest = content_hash(path)
    except NotMediaError as exc:
        _skip(library, entry, old, exc.reason, report, status=AssetStatus.NOT_MEDIA)
        return
    except (UnsupportedMediaError, DecodeError) as exc:
        _skip(library, entry, old, exc.reason, report)
        return
    except OSError as exc:
        _skip(library, entry, old, f"cannot read: {exc.strerror or exc}", report)
        return

    if old is not None:
        if old.content_hash == digest and old.status is AssetStatus.OK:
            cat.move_asset(old.id, path, size=entry.size, mtime_ns=entry.mtime_ns)  # touched, same bytes
            report.unchanged += 1
            return
        report.changed += 1
        report.fresh_paths[str(path)] = "changed"
        _drop_vectors(library, [old.id])
        cat.clear_encoder_states(old.id)
    else:
        for candidate in cat.assets_by_hash(digest):
            cpath = str(candidate.path)
            vanished = cpath in stale and cpath not in moved_from
            if vanished or (cpath not in stale and not os.path.exists(cpath)):
                cat.move_asset(candidate.id, path, size=entry.size, mtime_ns=entry.mtime_ns)
                moved_from.add(cpath)
                report.moved += 1
                report.fresh_paths[str(path)] = "moved"
                return
        report.new += 1
        report.fresh_paths[str(path)] = "new"
    cat.upsert_asset(
        path, kind=kind, size=entry.size, mtime_ns=entry.mtime_ns, content_hash=digest, status=AssetStatus.OK
    )


def _skip(
    library: Library,
    entry: FileEntry,
    old: Asset | None,
    reason: str,
    report: IndexReport,
    *,
    status: AssetStatus = AssetStatus.SKIPPED,
) -> None:
    """Record a file that will not be indexed: unusable media (skipped, a failure to
    report) or not media at all (counted, not reported)."""
    if old is not None and old.status is AssetStatus.OK:
        _drop_vectors(library, [old.id])
        library.catalog.clear_encoder_states(old.id)
    library.catalog.upsert_asset(
        entry.path,
        kind=None,
        size=entry.size,
        mtime_ns=entry.mtime_ns,
        content_hash=None,
        status=status,
        skip_reason=reason,
    )
    if status is AssetStatus.NOT_MEDIA:
        report.not_media += 1
        return
    report.skipped += 1
    report.failures.append((entry.path, "", reason))


def _drop_vectors(library: Library, asset_ids: list[int]) -> None:
    """Forget an asset's segments (its content changed or became unreadable); their
    vectors become tombstones in the logs."""
    library.catalog.delete_segments(library.catalog.segment_ids_of_assets(asset_ids))


def _assets_under(library: Library, roots: list[Path]) -> list[Asset]:
    seen: dict[int, Asset] = {}
    for root in roots:
        for asset in library.catalog.assets_under(root).values():
            if asset.status is AssetStatus.OK:
                seen[asset.id] = asset
    return sorted(seen.values(), key=lambda a: str(a.path))


def _mark_asset_skipped(library: Library, asset: Asset, reason: str, report: IndexReport) -> None:
    with library.catalog.transaction():
        _drop_vectors(library, [asset.id])
        library.catalog.clear_encoder_states(asset.id)
        library.catalog.upsert_asset(
            asset.path,
            kind=asset.kind,
            size=asset.size,
            mtime_ns=asset.mtime_ns,
            content_hash=asset.content_hash,
            status=AssetStatus.SKIPPED,
            skip_reason=reason,
        )
    report.skipped += 1
    counted = report.fresh_paths.pop(str(asset.path), None)
    if counted == "new":  # each scanned file lands in exactly one count
        report.new -= 1
    elif counted == "changed":
        report.changed -= 1
    elif counted == "moved":
        report.moved -= 1
    else:
        report.unchanged -= 1
    report.skipped_ids.add(asset.id)
    report.failures.append((str(asset.path), "", reason))


# -- visual encoders: decode once, feed every encoder, batch across files ---------------


@dataclass
class Decoded:
    """One chunk of decoded pictures of an asset; ``last`` marks the asset's final chunk.

    Decoded here, it carries ``images``; embedded elsewhere (an :class:`Executor`), it
    carries ``vectors`` instead: encoder -> float32 (len(times), dim), one row per time,
    and ``failed``: encoder -> why that encoder failed on the asset (no vectors then).
    """

    asset: Asset
    times: list[float | None]
    images: list
    last: bool
    error: str | None = None
    media_s: float = 0.0
    #: why a truncated file's frames stop early (None for a whole file)
    partial: str | None = None
    vectors: dict[str, np.ndarray] | None = None
    failed: dict[str, str] = field(default_factory=dict)


_Decoded = Decoded  # the name the module used before executors


@dataclass
class AssetOutcome:
    """What an asset encoder made of one asset: ``encoding``, or ``bad`` (the file or its
    soundtrack cannot be decoded: the reason), or ``error`` (the model failed: the reason).
    ``wall_s``: seconds the encoder spent on it."""

    encoding: AssetEncoding | None = None
    bad: str | None = None
    error: str | None = None
    wall_s: float = 0.0


class Executor(Protocol):
    """Runs decode + embed somewhere else (another process, a cluster) for the writer.

    Both methods stream results back in any order as they finish; the writer checks
    ``cancel`` between results, and closing the iterator early must stop the work.
    """

    def embed_visual(
        self, work: Sequence[tuple[Asset, Sequence[str]]], *, target_size: int, settings: "Settings", cancel: CancelToken
    ) -> Iterator[Decoded]:
        """For each (asset, names of the visual encoders it needs): one ``Decoded`` with
        ``last`` set and ``vectors`` for every encoder that did not fail, or ``error``
        when the file has no decodable picture (see :func:`decode_visual`)."""
        ...

    def encode_assets(
        self, encoder: str, assets: Sequence[Asset], *, settings: "Settings", cancel: CancelToken
    ) -> Iterator[tuple[Asset, AssetOutcome]]:
        """(asset, :func:`encode_one`'s outcome) for each asset, by the asset encoder ``encoder``."""
        ...


class _VisualStage:
    def __init__(
        self,
        library: Library,
        encoders: list[Encoder],
        report: IndexReport,
        rep: _Reporter,
        cancel: CancelToken,
        *,
        retry_failed: bool = False,
        executor: Executor | None = None,
    ) -> None:
        self.library = library
        self.executor = executor
        self.encoders = encoders
        self.report = report
        self.rep = rep
        self.cancel = cancel
        self.retry_failed = retry_failed
        sizes = [e.spec.image_size or 224 for e in encoders]
        self.target_size = max(sizes)
        # encoder name -> pending (asset id, segment id, image); assets finished once flushed
        self.pending: dict[str, list[tuple[int, int, object]]] = defaultdict(list)
        self.finishing: dict[str, list[tuple[Asset, float]]] = defaultdict(list)
        # staged in the logs, committed to the catalog at the next checkpoint:
        # encoder -> segment ids embedded; (asset id, encoder, state, reason, media_s)
        self.to_mark: dict[str, list[int]] = defaultdict(list)
        self.to_settle: list[tuple[Asset, str, str, str | None, float]] = []
        self.last_checkpoint = time.monotonic()
        self.checkpoints = 0
        #: assets some run() call took on (pending or done): later calls leave them alone
        self.fed: set[int] = set()
        #: asset id -> the encoders it needs, until its last chunk is taken
        self.need: dict[int, list[Encoder]] = {}
        self._queue: _DecodeQueue | None = None
        self._keys = {e.name: attempt_key(e) for e in encoders}

    def run(self, assets: list[Asset], *, final: bool = True) -> None:
        """Decode and embed what ``assets`` still need. ``final=False`` (a chunk of a longer
        run): what is staged is committed, but a partial batch stays pending for the next
        call, so batches keep filling across chunks, and the last few assets may still be
        decoding when it returns (the decode queue goes on while the next chunk is checked;
        the next call, or the final one, takes them); assets given before are not redone."""
        cat = self.library.catalog
        done_by = {e.name: cat.assets_settled_by(e.name, attempt_key(e), retry_failed=self.retry_failed) for e in self.encoders}
        todo: list[Asset] = []
        for asset in assets:
            if asset.kind not in _VISUAL_KINDS or asset.id in self.fed:
                continue
            encs = [e for e in self.encoders if asset.id not in done_by[e.name]]
            if encs:
                self.need[asset.id] = encs
                todo.append(asset)
        self.fed.update(a.id for a in todo)
        t_stage = time.monotonic()
        embed_before = sum(self.report.encoders[e.name].wall_s for e in self.encoders)
        if self.executor is None:
            decoding = self._decoding()
            decoding.submit(todo)
            # a non-final chunk leaves a couple of batches decoding, so the decode workers
            # stay busy while the writer checks the next chunk
            keep = 0 if final else 2 * self.library.settings.batch_size
            total = decoding.outstanding
            self.rep.start("embed images", total)
            done = 0
            while decoding.outstanding > keep or (decoding.outstanding and decoding.outstanding_bytes > READ_AHEAD_BYTES):
                self.cancel.raise_if_cancelled("indexing")
                item = decoding.get()
                self._take(item)
                if item.last:
                    done += 1
                    self.rep.report("embed images", done, total, str(item.asset.path))
        else:
            self.rep.start("embed images", len(todo))
            done = 0
            source = self.executor.embed_visual(
                [(a, [e.name for e in self.need[a.id]]) for a in todo],
                target_size=self.target_size,
                settings=self.library.settings,
                cancel=self.cancel,
            )
            for item in source:
                self.cancel.raise_if_cancelled("indexing")
                self._take(item)
                if item.last:
                    done += 1
                    self.rep.report("embed images", done, len(todo), str(item.asset.path))
        if final:
            self._flush()
        self._checkpoint()
        stage_s = time.monotonic() - t_stage
        # Decoding is shared: charge each encoder an equal part of the stage time it did not spend embedding.
        embed_total = sum(self.report.encoders[e.name].wall_s for e in self.encoders) - embed_before
        overhead = max(stage_s - embed_total, 0.0) / max(len(self.encoders), 1)
        for e in self.encoders:
            self.report.encoders[e.name].wall_s += overhead

    def close(self) -> None:
        """Stop the decode workers (an interrupted run leaves some assets undecoded)."""
        if self._queue is not None:
            self._queue.close()
            self._queue = None

    def _decoding(self) -> "_DecodeQueue":
        if self._queue is None:
            # a whole batch decoded ahead (twice over), counted in pictures, so the model
            # never waits for decoding to refill a batch it has just taken (with 4 chunks
            # ahead and batches of 8, ResNet50 indexed 12 MP JPEGs at about half the speed
            # of either stage alone: decode and inference took turns)
            ahead = max(4, 2 * self.library.settings.batch_size)
            self._queue = _DecodeQueue(self._decode, depth=ahead, cancel=self.cancel, weight=_pictures)
        return self._queue

    def _take(self, item: Decoded) -> None:
        """One decoded (or remotely embedded) chunk: queue or stage it, or record why its
        asset failed; embed when a batch is full and checkpoint when one is due."""
        if item.error is not None:
            self._forget_pending(item.asset.id)
            if item.asset.kind is MediaKind.VIDEO and _has_good_sound(item.asset):
                # the picture stream fails but the soundtrack may be fine: only the
                # visual encoders fail on it (streams fail separately)
                reason = f"picture stream: {item.error}"
                for enc in self.need[item.asset.id]:
                    self.to_settle.append((item.asset, enc.name, STATE_FAILED, reason, 0.0))
            else:
                _mark_asset_skipped(self.library, item.asset, item.error, self.report)
        else:
            self._accept(item, self.need[item.asset.id])
        if item.last:
            self.need.pop(item.asset.id, None)
        if sum(len(v) for v in self.pending.values()) >= self.library.settings.batch_size * len(self.encoders):
            self._flush()
        # the first checkpoint comes right after the first batch, then every CHECKPOINT_S
        if (self.to_mark or self.to_settle) and (
            self.checkpoints == 0 or time.monotonic() - self.last_checkpoint > self.library.settings.checkpoint_s
        ):
            self._checkpoint()

    def _decode(self, asset: Asset) -> Iterator[_Decoded]:
        return decode_visual(asset, self.library.settings, target_size=self.target_size, cancel=self.cancel)

    def _accept(self, item: _Decoded, encoders: list[Encoder]) -> None:
        """Give the chunk segment ids (reusing ones other encoders made) and queue its
        images for embedding, or, when it comes embedded (``item.vectors``), stage them."""
        cat = self.library.catalog
        stream = Stream.IMAGE if item.asset.kind is MediaKind.IMAGE else Stream.FRAME
        with cat.transaction():
            existing = {_time_key(s.start_s): s.id for s in cat.segments_of(item.asset.id, stream=stream, source="")}
            ids: list[int] = []
            for t in item.times:
                sid = existing.get(_time_key(t))
                if sid is None:
                    sid = cat.add_segments(item.asset.id, stream, [(t, t)])[0]
                ids.append(sid)
            if item.last and stream is Stream.FRAME:
                cat.set_duration(item.asset.id, item.media_s)
                if item.partial:
                    cat.set_partial(item.asset.id, item.partial)
        for enc in encoders:
            # frames embedded before an interruption are not embedded again (ids must be fresh)
            have = cat.embedded_in_asset(enc.name, item.asset.id)
            if item.vectors is None:
                self.pending[enc.name].extend((item.asset.id, sid, img) for sid, img in zip(ids, item.images) if sid not in have)
                if item.last:
                    self.finishing[enc.name].append((item.asset, item.media_s))
                continue
            finishing = [(item.asset, item.media_s)] if item.last else []
            if enc.name in item.failed:
                self._stage(enc, [], np.zeros((0, enc.spec.dim), np.float32), finishing, {item.asset.id: item.failed[enc.name]})
                continue
            rows = [k for k, sid in enumerate(ids) if sid not in have]
            vectors = item.vectors[enc.name]
            self._stage(enc, [ids[k] for k in rows], vectors[rows], finishing, {})
        if item.vectors is not None and _THROTTLE_S:
            time.sleep(_THROTTLE_S)

    def _forget_pending(self, asset_id: int) -> None:
        for name in list(self.pending):
            self.pending[name] = [w for w in self.pending[name] if w[0] != asset_id]

    def _flush(self) -> None:
        """Embed what is pending and stage the vectors in the logs; the catalog learns of
        them at the next checkpoint."""
        for enc in self.encoders:
            work = self.pending.pop(enc.name, [])
            finishing = self.finishing.pop(enc.name, [])
            if not work and not finishing:
                continue
            if _THROTTLE_S:
                time.sleep(_THROTTLE_S)
            stats = self.report.encoders[enc.name]
            t0 = time.monotonic()
            vectors, failed = self._embed(enc, work)
            stats.wall_s += time.monotonic() - t0
            self._stage(enc, [sid for aid, sid, _ in work if aid not in failed], vectors, finishing, failed)

    def _stage(
        self,
        enc: Encoder,
        ids: list[int],
        vectors: np.ndarray,
        finishing: list[tuple[Asset, float]],
        failed: dict[int, str],
    ) -> None:
        """Append ``vectors`` ((len(ids), dim) float32) under segment ``ids`` to the encoder's
        log and queue them and the ``finishing`` assets' states (FAILED for the asset ids in
        ``failed``, with the reason) for the next checkpoint. Local and remote runs alike."""
        stats = self.report.encoders[enc.name]
        if ids:
            self.library.stage_vectors(enc.name, np.asarray(ids, dtype=np.int64), np.asarray(vectors, dtype=np.float32))
            self.to_mark[enc.name].extend(int(i) for i in ids)
        stats.segments += len(ids)
        for asset, media_s in finishing:
            if asset.id in failed:
                self.to_settle.append((asset, enc.name, STATE_FAILED, failed[asset.id], 0.0))
            else:
                self.to_settle.append((asset, enc.name, STATE_DONE, None, media_s))

    def _embed(self, enc: Encoder, work: list[tuple[int, int, object]]) -> tuple[np.ndarray, dict[int, str]]:
        return embed_isolating(enc, work, batch_size=self.library.settings.batch_size)

    def _checkpoint(self) -> None:
        """Commit the staged vectors with their embeddings and asset states (one transaction)."""
        if not self.to_mark and not self.to_settle:
            return
        cat = self.library.catalog
        with self.library.transaction():
            for name, ids in self.to_mark.items():
                cat.mark_embedded(name, ids)
            for asset, name, state, reason, media_s in self.to_settle:
                cat.set_encoder_state(asset.id, name, state, reason, attempt_key=self._keys[name])
        for asset, name, state, reason, media_s in self.to_settle:
            stats = self.report.encoders[name]
            if state == STATE_DONE:
                stats.items += 1
                stats.media_s += media_s
            else:
                stats.failed += 1
                self.report.failures.append((str(asset.path), name, reason or ""))
        self.to_mark.clear()
        self.to_settle.clear()
        self.checkpoints += 1
        self.last_checkpoint = time.monotonic()


def embed_isolating(enc: Encoder, work: Sequence[tuple[int, int, object]], *, batch_size: int) -> tuple[np.ndarray, dict[int, str]]:
    """Embed the images of ``work`` ((key, segment id, image) items, key: the asset id)
    in batches of ``batch_size``: the vectors ((n_ok, dim) float32, in work order) of the
    items whose key did not fail, and {key: reason} of the keys that failed. A failed
    batch is retried item by item, so one bad item never fails the good ones beside it."""
    failed: dict[int, str] = {}
    rows: list[np.ndarray | None] = [None] * len(work)
    for i in range(0, len(work), batch_size):
        chunk = range(i, min(i + batch_size, len(work)))
        try:
            vectors = enc.embed_images([work[j][2] for j in chunk])
            for j, v in zip(chunk, vectors):
                rows[j] = v
            continue
        except MediaSearchError:
            raise
        except Exception as exc:  # a model failure must not end the job: find the item
            log.warning("%s failed on a batch (%s); retrying its items one by one", enc.name, exc)
        for j in chunk:
            if work[j][0] in failed:
                continue
            try:
                rows[j] = enc.embed_images([work[j][2]])[0]
            except MediaSearchError:
                raise
            except Exception as exc:
                log.exception("%s failed on %s", enc.name, work[j][0])
                failed[work[j][0]] = f"{type(exc).__name__}: {exc}"
    kept = [r for w, r in zip(work, rows) if w[0] not in failed and r is not None]
    if not kept:
        return np.zeros((0, enc.spec.dim), np.float32), failed
    return np.stack(kept).astype(np.float32), failed


def decode_visual(asset: Asset, settings: "Settings", *, target_size: int, cancel: CancelToken) -> Iterator[Decoded]:
    """Decoded chunks of one asset, streamed (a long video never sits in memory whole):
    an image is one chunk; a video's sampled frames come FRAME_CHUNK at a time, the last
    chunk with the decoded duration (and why it stops early, for a damaged file). A file
    with no decodable picture is one chunk with ``error``. ``target_size``: the shorter
    side, in pixels, the encoders resize to."""
    from mediasearch.decode.image import load_image
    from mediasearch.decode.video import probe_video, sample_frames

    times: list[float | None] = []
    images: list = []
    sent = 0
    try:
        if asset.kind is MediaKind.IMAGE:
            image = load_image(asset.path, target_size=target_size, max_pixels=settings.max_image_pixels)
            yield _Decoded(asset, [None], [image], last=True)
            return
        duration_s = probe_video(asset.path).duration_s or 0.0
        sampler = sample_frames(
            asset.path,
            interval_s=settings.frame_interval_s,
            dedup_threshold=settings.frame_dedup_threshold,
            target_size=target_size,
            cancel=cancel,
        )
        for t_s, frame in sampler:
            times.append(float(t_s))
            images.append(frame)
            if len(images) >= FRAME_CHUNK:
                yield _Decoded(asset, times, images, last=False)
                sent += len(images)
                times, images = [], []
    except CancelledError:
        raise
    except (UnsupportedMediaError, DecodeError, OSError) as exc:
        reason = exc.reason if isinstance(exc, MediaSearchError) else f"cannot read: {exc.strerror or exc}"
        if sent + len(images) == 0:
            yield _Decoded(asset, [], [], last=True, error=reason)
            return
        # A damaged tail: keep the frames that decoded.
        log.warning("%s: %s; keeping the %d frames decoded before it", asset.path, reason, sent + len(images))
        duration_s = max((t for t in times if t is not None), default=0.0)
    if sent + len(images) == 0:
        yield _Decoded(asset, [], [], last=True, error="video has no decodable frames")
        return
    partial = None
    if asset.kind is MediaKind.VIDEO and getattr(sampler, "partial", False):
        partial = sampler.truncated_reason
        duration_s = float(sampler.decoded_s or duration_s)  # the real decoded length, not the header's
    yield _Decoded(asset, times, images, last=True, media_s=duration_s, partial=partial)


def _has_good_sound(asset: Asset) -> bool:
    from mediasearch.decode.streams import probe_streams

    report = probe_streams(asset.path)
    return bool(report.has_audio and report.audio_ok)


def _time_key(t: float | None) -> int | None:
    return None if t is None else int(round(t * 1000))


def _pictures(item: object) -> int:
    """How much a decoded chunk weighs in the read-ahead: its pictures (at least 1)."""
    return max(1, len(getattr(item, "images", None) or ()))


class _DecodeQueue:
    """Decoding ahead of the encoders, fed chunk after chunk by one index run.

    ``submit`` queues assets; ``workers`` background threads (default
    :func:`decode_workers`) decode them with ``decode`` (one asset per job, so an asset's
    chunks stay in order; chunks of different assets may interleave), at most ``depth``
    (in ``weight`` units: pictures) ahead of the consumer; one chunk heavier than
    ``depth`` still passes when nothing else is waiting. The threads live until
    :meth:`close`, so decoding goes on while the writer checks the next chunk of files and
    never restarts empty at a chunk's edge (with a queue per chunk, 64 12 MP JPEGs in
    chunks of 16, 32 and 16 left the second core idle a third of the time). Pillow, PyAV
    and torch release the GIL, so decoding overlaps inference.

    A queued asset whose bytes the check holds (:mod:`mediasearch.decode.source`) is
    retained until its decode is over, so it is still decoded from that one read."""

    _END = object()

    def __init__(
        self,
        decode: Callable[[Asset], Iterator[Decoded]],
        *,
        depth: int,
        cancel: CancelToken,
        workers: int | None = None,
        weight: Callable[[object], int] = lambda item: 1,
    ) -> None:
        self._decode = decode
        self._depth = max(depth, 1)
        self._cancel = cancel
        self._weight = weight
        self._jobs: deque[tuple[Asset, bool]] = deque()  # (asset, retained its held bytes)
        self._out: queue.Queue = queue.Queue()
        self._cv = threading.Condition()
        self._held = 0  # weight decoded and not yet taken
        self._stop = False
        #: submitted assets whose last chunk the consumer has not taken yet, and their bytes
        #: (each counted up to the whole-file hash limit: what the check may hold of it)
        self.outstanding = 0
        self.outstanding_bytes = 0
        self._cost: dict[int, int] = {}
        self._threads = [
            threading.Thread(target=self._work, name=f"mediasearch-decode-{k}", daemon=True)
            for k in range(max(1, workers or decode_workers()))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, assets: Sequence[Asset]) -> None:
        from mediasearch.decode.source import retain
        from mediasearch.hashing import WHOLE_FILE_LIMIT

        with self._cv:
            for asset in assets:
                self._jobs.append((asset, retain(asset.path)))
                self._cost[asset.id] = min(int(asset.size or 0), WHOLE_FILE_LIMIT)
                self.outstanding_bytes += self._cost[asset.id]
            self.outstanding += len(assets)
            self._cv.notify_all()

    def get(self) -> Decoded:
        """The next decoded chunk (blocks); a worker's unexpected error is raised here."""
        if self.outstanding <= 0:
            raise RuntimeError("nothing submitted is left to decode")
        while True:
            try:
                item, w = self._out.get(timeout=0.1)
                break
            except queue.Empty:  # a cancelled run's workers stop mid-asset: do not wait for them
                self._cancel.raise_if_cancelled("indexing")
        if w:
            with self._cv:
                self._held -= w
                self._cv.notify_all()
        if isinstance(item, BaseException):
            raise item
        if item.last:
            self.outstanding -= 1
            self.outstanding_bytes -= self._cost.pop(item.asset.id, 0)
        return item

    def close(self) -> None:
        """Stop the workers (the chunk each is decoding is dropped) and let go of the held
        bytes of assets never decoded."""
        from mediasearch.decode.source import release

        with self._cv:
            self._stop = True
            left = list(self._jobs)
            self._jobs.clear()
            self._cv.notify_all()
        for thread in self._threads:
            thread.join()
        for asset, retained in left:
            if retained:
                release(asset.path)

    def _next_job(self) -> tuple[Asset, bool] | None:
        with self._cv:
            while not self._jobs and not self._stop:
                self._cv.wait(timeout=0.1)
            if self._stop:
                return None
            return self._jobs.popleft()

    def _put(self, item: object) -> bool:
        """Hand ``item`` to the consumer once there is room; False when closing."""
        w = 0 if isinstance(item, BaseException) else self._weight(item)
        with self._cv:
            while w and self._held and self._held + w > self._depth and not self._stop:
                self._cv.wait(timeout=0.1)
            if self._stop:
                return False
            self._held += w
        self._out.put((item, w))
        return True

    def _work(self) -> None:
        from mediasearch.decode.source import release

        while True:
            job = self._next_job()
            if job is None:
                return
            asset, retained = job
            try:
                if self._cancel.cancelled:
                    continue  # (finally: let go of its bytes)
                for item in self._decode(asset):
                    if self._cancel.cancelled or not self._put(item):
                        break
            except BaseException as exc:  # hand unexpected errors to the consumer
                self._put(exc)
            finally:
                if retained:
                    release(asset.path)


# -- audio and speech encoders: each cuts its own segments ----------------------------


def _run_asset_encoder(
    library: Library,
    enc: Encoder,
    assets: list[Asset],
    report: IndexReport,
    rep: _Reporter,
    cancel: CancelToken,
    *,
    retry_failed: bool = False,
    executor: Executor | None = None,
) -> None:
    """Each asset is one checkpoint: its segments, labels, transcript, vectors and state
    commit together. With an ``executor`` the encoding happens there, and the outcomes are
    committed here, the same way, as they arrive."""
    cat = library.catalog
    key = attempt_key(enc)
    done_by = cat.assets_settled_by(enc.name, key, retry_failed=retry_failed)
    todo = [a for a in assets if a.kind in _AUDIO_KINDS and a.id not in done_by and a.id not in report.skipped_ids]
    stats = report.encoders[enc.name]
    stage = f"{enc.name}"
    rep.start(stage, len(todo))

    def local() -> Iterator[tuple[Asset, AssetOutcome]]:
        from mediasearch.encoders.baseline_audio import WindowedAudioEncoder

        if isinstance(enc, WindowedAudioEncoder):
            yield from windowed(enc)
            return
        for i, asset in enumerate(todo):
            cancel.raise_if_cancelled("indexing")
            rep.report(stage, i, len(todo), str(asset.path))
            if i + 1 < len(todo):  # the next file decodes while this one is encoded
                _prefetch_audio(enc, todo[i + 1])
            try:
                outcome = encode_one(enc, asset, cancel=cancel)
            finally:
                _forget_audio(asset)
            yield asset, outcome

    def windowed(enc: "WindowedAudioEncoder") -> Iterator[tuple[Asset, AssetOutcome]]:
        # windows of consecutive files share batches; the next file decodes ahead
        def started(i: int) -> None:
            cancel.raise_if_cancelled("indexing")
            rep.report(stage, i, len(todo), str(todo[i].path))
            if i + 1 < len(todo):
                _prefetch_audio(enc, todo[i + 1])

        try:
            for i, result, seconds in enc.encode_files([(a.path, a.kind) for a in todo], cancel=cancel, on_start=started):
                _forget_audio(todo[i])
                yield todo[i], _outcome(enc, todo[i], result, seconds)
        finally:
            for asset in todo:  # read ahead for a file a cancelled run never reached
                _forget_audio(asset)

    t_stage = time.monotonic()
    if executor is None:
        outcomes = local()
    else:
        outcomes = executor.encode_assets(enc.name, todo, settings=library.settings, cancel=cancel)
    for i, (asset, outcome) in enumerate(outcomes):
        cancel.raise_if_cancelled("indexing")
        if executor is not None:
            rep.report(stage, i + 1, len(todo), str(asset.path))
            if _THROTTLE_S:
                time.sleep(_THROTTLE_S)
        if outcome.bad is not None:
            if asset.kind is MediaKind.AUDIO:  # the file itself is bad
                _mark_asset_skipped(library, asset, outcome.bad, report)
            else:  # a video whose soundtrack is bad: frames may still be fine
                with cat.transaction():
                    cat.set_encoder_state(asset.id, enc.name, STATE_FAILED, outcome.bad, attempt_key=key)
                report.failures.append((str(asset.path), enc.name, outcome.bad))
                stats.failed += 1
            continue
        if outcome.error is not None or outcome.encoding is None:
            reason = outcome.error or "the encoder returned nothing"
            with cat.transaction():
                cat.set_encoder_state(asset.id, enc.name, STATE_FAILED, reason, attempt_key=key)
            report.failures.append((str(asset.path), enc.name, reason))
            stats.failed += 1
            continue
        encoding = outcome.encoding
        if executor is None:  # remote workers run side by side: their times overlap (stage wall below)
            stats.wall_s += outcome.wall_s
        segs = encoding.segments
        if executor is not None and segs and transcript_space.is_speech(enc) and enc.text_model_name != enc.spec.options.get("text_model"):  # type: ignore[attr-defined]
            # workers embed with the spec's text model; this library chose another: embed the text here
            for seg, vector in zip(segs, enc.embedder.embed_passages([s.text or "" for s in segs])):  # type: ignore[attr-defined]
                seg.vector = vector
        stream = Stream.SPEECH if Stream.SPEECH in enc.spec.streams else Stream.AUDIO
        with library.transaction():
            old = [s.id for s in cat.segments_of(asset.id, source=enc.name)]
            if old:  # a re-run: the old segments' vectors become tombstones
                cat.delete_segments(old)
            ids = cat.add_segments(
                asset.id,
                stream,
                [(s.start_s, s.end_s) for s in segs],
                texts=[s.text for s in segs],
                source=enc.name,
            )
            for sid, seg in zip(ids, segs):
                if seg.labels:
                    cat.set_labels(enc.name, sid, seg.labels)
            if encoding.transcript is not None:
                cat.set_transcript(asset.id, enc.name, encoding.transcript[0], encoding.transcript[1])
            if ids:
                library.stage_vectors(
                    enc.name, np.asarray(ids, dtype=np.int64), np.stack([s.vector for s in segs]).astype(np.float32)
                )
            cat.mark_embedded(enc.name, ids)
            cat.set_encoder_state(asset.id, enc.name, STATE_DONE, attempt_key=key)
            if asset.kind is MediaKind.AUDIO and encoding.media_s:
                cat.set_duration(asset.id, encoding.media_s)
            if encoding.partial:
                cat.set_partial(asset.id, encoding.partial)
        stats.items += 1
        stats.segments += len(ids)
        stats.media_s += encoding.media_s
    if executor is not None:
        stats.wall_s += time.monotonic() - t_stage
    rep.report(stage, len(todo), len(todo))


def _prefetch_audio(enc: Encoder, asset: Asset) -> None:
    """Start decoding ``asset``'s audio the way ``enc`` will read it (a guess for encoders
    the pipeline does not know: a wrong guess only costs a bounded read-ahead)."""
    from mediasearch.decode.audio import prefetch_blocks
    from mediasearch.encoders.baseline_audio import WindowedAudioEncoder

    if isinstance(enc, WindowedAudioEncoder):
        prefetch_blocks(asset.path, int(enc.spec.sample_rate or 16_000), block_s=max(enc.hop_s, 1.0), keep_partial=True)
    elif Stream.SPEECH in enc.spec.streams:
        prefetch_blocks(asset.path, int(enc.spec.sample_rate or 16_000), block_s=30.0, keep_partial=True)


def _forget_audio(asset: Asset) -> None:
    from mediasearch.decode.audio import forget_prefetched

    forget_prefetched(asset.path)


def encode_one(enc: Encoder, asset: Asset, *, cancel: CancelToken | None = None) -> AssetOutcome:
    """Run the asset encoder ``enc`` on one asset (its own segments, vectors, transcript).

    A file it cannot decode is ``bad``; any other failure of the model is ``error`` (both
    with the reason, so the writer records it and goes on); cancellation and the library's
    own errors (missing weights...) propagate. Runs in the writer or on a worker."""
    t0 = time.monotonic()
    try:
        encoding: AssetEncoding | Exception = enc.encode_asset(asset.path, asset.kind, cancel=cancel)  # type: ignore[arg-type]
    except CancelledError:
        raise
    except Exception as exc:
        encoding = exc
    return _outcome(enc, asset, encoding, time.monotonic() - t0)


def _outcome(enc: Encoder, asset: Asset, result: "AssetEncoding | Exception", seconds: float) -> AssetOutcome:
    """What the writer records for ``result`` (an encoding, or what encoding the asset
    raised): a file it cannot decode is ``bad``, another failure of the model ``error``;
    the library's own errors (cancellation, missing weights...) are raised."""
    if not isinstance(result, Exception):
        return AssetOutcome(encoding=result, wall_s=seconds)
    if isinstance(result, (UnsupportedMediaError, DecodeError)):
        return AssetOutcome(bad=result.reason, wall_s=seconds)
    if isinstance(result, MediaSearchError):
        raise result
    log.error("%s failed on %s", enc.name, asset.path, exc_info=result)
    return AssetOutcome(error=f"{type(result).__name__}: {result}", wall_s=seconds)


def _check_index_config(
    library: Library, enc: Encoder, *, progress: ProgressCallback | None = None, cancel: CancelToken | None = None
) -> None:
    """Start an encoder's index afresh when what shapes its vectors changed since it was built.
    Only the sentence model behind a Whisper index changed: the transcripts are kept and
    their text embedded again (:func:`transcript_space.reembed_transcripts`)."""
    config = index_config(enc)
    stored = library.index_config(enc.name)
    if stored is not None and stored != config and transcript_space.is_speech(enc) and transcript_space.only_text_model_changed(stored, config):
        log.info("%s: text model %s -> %s: re-embedding the transcripts", enc.name, stored.get("text_model"), config.get("text_model"))
        transcript_space.reembed_transcripts(library, enc, config, progress=progress, cancel=cancel)
    elif stored is not None and stored != config:
        log.warning("%s: index was built with %s, now %s: re-embedding everything", enc.name, stored, config)
        library.reset_encoder(enc.name, reason=f"vectors were made with {stored}, the encoder now uses {config}")
    library.set_index_config(enc.name, config)


def index_config(enc: Encoder) -> dict:
    """What, besides the encoder's name, decides its vector space."""
    text_model = getattr(enc, "text_model_name", None)
    return {"text_model": text_model} if text_model else {}


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far, in MiB (None where the OS can't say).

    ``ru_maxrss`` is KiB on Linux and bytes on macOS; Windows has no ``resource`` module."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _record_runs(library: Library, report: IndexReport, *, started_at: float) -> None:
    threads = library.settings.inference_threads
    machine = f"{platform.machine()} {platform.processor() or ''}".strip() + f", {os.cpu_count()} cores"
    with library.catalog.transaction():
        for name, stats in report.encoders.items():
            if stats.items:
                library.catalog.record_run(
                    name,
                    started_at=started_at,
                    wall_s=stats.wall_s,
                    items=stats.items,
                    media_s=stats.media_s,
                    threads=threads,
                    machine=machine,
                    peak_rss_mb=peak_rss_mb(),
                )

"""A library: one folder holding the catalog, each encoder's vector log and the derived
indexes over them (mediasearch/store/).

One writer, many readers. Opening a Library reads; nothing is repaired or rewritten on
open. Every catalog write takes the library's writer lock for its transaction (shared
by the threads of one process), and work that appends vectors runs in a *writing
session* (:meth:`Library.writing`: an index run, a repair), exclusive across processes
and threads, which starts by reconciling the logs with the catalog and ends by
bringing the derived indexes up to date.

Durability: vectors are appended to the encoder's log, fsynced, and their count is
committed in the same catalog transaction as the segments and embeddings they belong
to (:meth:`Library.transaction`). A checkpoint therefore costs O(vectors since the last
one). After a crash the catalog says exactly which vectors exist; the next writer cuts
any uncommitted tail off the logs and re-queues work whose vectors were lost.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from mediasearch.catalog import Catalog
from mediasearch.config import Settings
from mediasearch.encoders.registry import REGISTRY, get_spec
from mediasearch.errors import IndexCorruptError, ReadOnlyLibraryError, StoreMismatchError
from mediasearch.index import index_metric
from mediasearch.index.base import check_unit
from mediasearch.media import Stream
from mediasearch.store.lock import session_active, write_session, writer_lock
from mediasearch.store.uri import StoreURI, parse_store_uri
from mediasearch.store.vectorlog import VectorLog, log_folder, vectors_dir
from mediasearch.store.vectors import TAIL_REBUILD, EncoderVectors, ann_path, build_graph, read_ann, verify_ann

log = logging.getLogger(__name__)

#: the writer compacts a log when dead records pass max(this, 25 % of it)
COMPACT_MIN_DEAD = 1000


def _command_line() -> str:
    argv = [os.path.basename(sys.argv[0] or "python")] + sys.argv[1:]
    return " ".join(argv)[:200]


@dataclass
class RepairReport:
    """What a writer found and fixed when reconciling logs with the catalog."""

    truncated: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    requeued: dict[str, int] = field(default_factory=dict)
    imported: dict[str, int] = field(default_factory=dict)
    rebuilt: dict[str, str] = field(default_factory=dict)
    readopted: dict[str, int] = field(default_factory=dict)
    recovered: dict[str, int] = field(default_factory=dict)  # encoder -> vectors whose lost log record was rebuilt

    def empty(self) -> bool:
        return not any(vars(self).values())


class _Writer:
    """State of an open writing session: open logs and their committed/pending counts."""

    def __init__(self) -> None:
        self.logs: dict[str, VectorLog] = {}
        self.committed: dict[str, int] = {}
        self.pending: dict[str, int] = {}
        self.touched: set[str] = set()

    def close(self) -> None:
        for name, vlog in self.logs.items():
            if self.pending.get(name):  # staged but never committed: not part of the library
                vlog.truncate(self.committed[name])
            vlog.close()
        self.logs.clear()


class Library:
    """A library folder. ``command`` names this process in the writer lock's record;
    ``wait`` makes writes queue behind another writer instead of failing."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        command: str | None = None,
        wait: bool = False,
        wait_timeout_s: float | None = None,
        store: str | None = None,
    ) -> None:
        """``store``: where the vectors live (``local``, ``milvus-lite://...``, ``milvus://...``,
        see mediasearch.store.uri); the first writer remembers it, later opens use what the
        library remembers (StoreMismatchError when ``store`` names another one)."""
        self.settings = settings or Settings()
        self.command = command or _command_line()
        self.wait = wait
        self.wait_timeout_s = wait_timeout_s
        self._views: dict[str, EncoderVectors] = {}
        self._writer: _Writer | None = None
        self.last_repair = RepairReport()
        self._store_asked = parse_store_uri(store) if store else None
        self._milvus = None  # MilvusStore, opened on first use
        self.catalog = Catalog(self.settings.catalog_path, write_guard=self._write_guard)
        self.store_uri  # a mismatch with the remembered store fails here, before any work

    @property
    def library_dir(self) -> Path:
        return self.settings.library_dir

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._milvus is not None:
            self._milvus.close()
            self._milvus = None
        self.catalog.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_guard(self):  # type: ignore[no-untyped-def]
        return writer_lock(self.library_dir, self.command, wait=self.wait, timeout_s=self.wait_timeout_s)

    # -- the vector store ------------------------------------------------------------
    @property
    def store_uri(self) -> StoreURI:
        """Where the vectors live: what the catalog remembers (``library_meta`` key
        "vector_store"), else the ``store`` this Library was opened with, else local."""
        remembered = self.catalog.meta("vector_store")
        asked = self._store_asked
        if remembered:
            uri = parse_store_uri(remembered)
            if asked is not None and not asked.same_store(uri):
                raise StoreMismatchError(self.library_dir, uri.text, asked.text)
            return uri
        if asked is not None and not asked.is_local:
            if any(r["count"] for r in self.catalog.vector_logs()):
                raise StoreMismatchError(self.library_dir, "local", asked.text)
            return asked
        return parse_store_uri("local")

    @property
    def uses_milvus(self) -> bool:
        return not self.store_uri.is_local

    def milvus_store(self, uri: StoreURI | None = None):  # type: ignore[no-untyped-def]
        """The library's collections on its Milvus store (or on ``uri``: a migration's target)."""
        from mediasearch.store.milvus_store import MilvusStore, default_index_type

        uri = uri or self.store_uri
        prefix = self.catalog.meta("milvus_prefix") or "ms_unset"
        if uri.is_local:
            raise ValueError("a local store has no collections")
        if self._milvus is not None and self._milvus.uri.text == uri.text and self._milvus.prefix == prefix:
            return self._milvus
        store = MilvusStore(uri, prefix, index_type=default_index_type(uri, self.settings.index_type))
        if uri.text != self.store_uri.text:
            return store  # a migration target: its owner closes it
        if self._milvus is not None:
            self._milvus.close()
        self._views.clear()
        self._milvus = store
        return store

    def _remember_store(self) -> None:
        """(First writer.) Record a Milvus store, and the prefix of this library's collections."""
        import secrets

        uri = self.store_uri
        if uri.is_local or self.catalog.meta("vector_store"):
            return
        self.milvus_store().client  # reachable first: an address that fails is not remembered
        with self.catalog.transaction():
            self.catalog.set_meta("vector_store", uri.text)
            if not self.catalog.meta("milvus_prefix"):
                self.catalog.set_meta("milvus_prefix", f"ms{secrets.token_hex(4)}")
        if self._milvus is not None:  # the same connection, now naming this library's collections
            self._milvus.prefix = self.catalog.meta("milvus_prefix")

    # -- reading -----------------------------------------------------------------
    def index(self, encoder: str) -> EncoderVectors:
        """The encoder's searchable vectors as of the catalog's last commit (read only)."""
        if self.uses_milvus:
            return self._milvus_view(encoder)  # type: ignore[return-value]
        view = self._views.get(encoder)
        if view is None:
            spec = get_spec(encoder)
            view = self._views[encoder] = EncoderVectors(self.library_dir, encoder, spec.dim, index_metric(spec.metric))
        view.refresh(self.catalog.vector_log(encoder))
        return view

    def _milvus_view(self, encoder: str):  # type: ignore[no-untyped-def]
        """The encoder's collection (a MilvusIndex), or an empty index before it has vectors."""
        from mediasearch.index.exact import ExactIndex

        spec = get_spec(encoder)
        record = self.catalog.vector_log(encoder)
        store = self.milvus_store()
        if record is None:
            return ExactIndex(spec.dim, index_metric(spec.metric))
        view = self._views.get(encoder)
        if view is None or getattr(view, "collection", None) != store.collection(encoder, record["generation"]):
            view = store.index(encoder, record["dim"], index_metric(spec.metric), record["generation"])
            if view is None:
                return ExactIndex(record["dim"], index_metric(spec.metric))
            self._views[encoder] = view
        return view

    def pushdown(self, encoder: str, index: object, *, kind: object = None, group: bool = False) -> dict:
        """Search keywords the encoder's index can apply itself: a Milvus collection filters
        on the media kind, and groups per file when the catalog counts no tombstones for it
        (a dead segment could otherwise stand for its file). {} for the local backends."""
        from mediasearch.index.milvus_backend import MilvusIndex

        if not isinstance(index, MilvusIndex):
            return {}
        out: dict = {"kind": getattr(kind, "value", None)}
        record = self.catalog.vector_log(encoder)
        if group and record is not None and record["count"] <= self.catalog.live_count(encoder):
            out["group_by_asset"] = True
        return out

    def indexed_encoders(self) -> list[str]:
        """Encoders with vectors in this library (registered ones only)."""
        found = {r["encoder"] for r in self.catalog.vector_logs() if r["count"]}
        found |= set(self.catalog.encoders_with_embeddings())
        return sorted(name for name in found if name in REGISTRY)

    def index_config(self, encoder: str) -> dict | None:
        """The settings an encoder's vectors were made with (e.g. the sentence model), None if unrecorded."""
        record = self.catalog.vector_log(encoder)
        return record["config"] if record else None

    def coverage(self, encoder: str) -> dict[str, int]:
        """{eligible, done, failed, missing}: the library's ok files of the kinds ``encoder``
        covers, and how many it has embedded, failed on, or not reached yet."""
        from mediasearch.media import MediaKind, Stream

        streams = get_spec(encoder).streams
        if Stream.AUDIO in streams or Stream.SPEECH in streams:
            kinds = [MediaKind.AUDIO, MediaKind.VIDEO]
        else:
            kinds = [MediaKind.IMAGE, MediaKind.VIDEO]
        return self.catalog.coverage(encoder, kinds)

    def store_status(self) -> dict[str, dict]:
        """Per encoder: committed vectors, live (known to the catalog), dead, what is
        searchable through the graph and exactly, the graph's measured recall, problems."""
        out: dict[str, dict] = {}
        for record in self.catalog.vector_logs():
            name = record["encoder"]
            if self.uses_milvus:
                from mediasearch.store.milvus_store import status_entry

                out[name] = status_entry(self, record)
                continue
            vlog = VectorLog(log_folder(self.library_dir, name), record["dim"], record["generation"])
            on_disk = vlog.length_on_disk()
            live = self.catalog.live_count(name)
            entry = {
                "index_type": record["index_type"] or "flat",
                "dim": record["dim"],
                "vectors": record["count"],
                "live": live,
                "dead": max(record["count"] - live, 0),
                "log_bytes": on_disk * (8 + 4 * record["dim"]),
                "missing_records": max(record["count"] - on_disk, 0),
                "graph": None,
                "exact_tail": record["count"],
                "problem": "",
            }
            if entry["missing_records"]:
                entry["problem"] = f"{entry['missing_records']} stored vectors are missing from the log; `mediasearch index` re-embeds them"
            if (record["index_type"] or "flat") != "flat":
                path = ann_path(self.library_dir, name)
                try:
                    info = verify_ann(path)
                    if info.generation != record["generation"] or info.covered > record["count"]:
                        entry["problem"] = "index file out of date: searched exactly until `mediasearch index` rebuilds it"
                    else:
                        entry["graph"] = info.to_json() | {"bytes": path.stat().st_size}
                        entry["exact_tail"] = record["count"] - info.covered
                except FileNotFoundError:
                    entry["problem"] = "index file missing: searched exactly until `mediasearch index` rebuilds it (no re-embedding)"
                except IndexCorruptError as exc:
                    entry["problem"] = f"index file damaged ({exc.reason}): searched exactly until `mediasearch index` rebuilds it"
            out[name] = entry
        return out

    # -- writing -----------------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self._writer is not None

    @contextmanager
    def writing(self, command: str | None = None, *, wait: bool | None = None) -> Iterator["Library"]:
        """A writing session: exclusive lock, and the logs reconciled with the catalog
        first. The derived indexes are brought up to date by :meth:`refresh_indexes`
        (an index run calls it when it was not cancelled). Nested calls join the open
        session."""
        if self._writer is not None:
            yield self
            return
        if command:
            self.command = command
        with write_session(
            self.library_dir, self.command, wait=self.wait if wait is None else wait, timeout_s=self.wait_timeout_s
        ):
            self._writer = _Writer()
            self.catalog.checkpoint_wal(truncate=True)  # space a disk-full stop left in the WAL
            try:
                self._remember_store()
                self.last_repair = self.repair()
                yield self
            finally:
                if self._writer is not None:
                    self._writer.close()
                self._writer = None

    def _require_writer(self) -> _Writer:
        if self._writer is None:
            raise ReadOnlyLibraryError("vectors can only be written inside Library.writing()")
        return self._writer

    def _open_log(self, encoder: str) -> VectorLog:
        """The encoder's log, open for appending (created, or started afresh when the
        encoder's dimension changed)."""
        writer = self._require_writer()
        vlog = writer.logs.get(encoder)
        if vlog is not None:
            return vlog
        dim = get_spec(encoder).dim
        record = self.catalog.vector_log(encoder)
        if record is not None and record["dim"] != dim:
            log.warning("%s: stored vectors are %d-d, the encoder now makes %d-d: re-embedding", encoder, record["dim"], dim)
            self.reset_encoder(encoder, reason=f"dimension changed from {record['dim']} to {dim}")
            record = self.catalog.vector_log(encoder)
        if record is None:
            with self.catalog.transaction():
                self.catalog.set_vector_log(encoder, dim=dim, generation=0, count=0)
            record = self.catalog.vector_log(encoder)
        assert record is not None
        if self.uses_milvus:
            from mediasearch.store.milvus_store import MilvusLog

            index = self.milvus_store().index(encoder, dim, index_metric(get_spec(encoder).metric), record["generation"], create=True)
            if record["index_type"] is None:
                with self.catalog.transaction():
                    self.catalog.set_index_type(encoder, f"milvus:{index.index_type}")
            vlog = MilvusLog(index, self)  # type: ignore[assignment]
        else:
            vlog = VectorLog(log_folder(self.library_dir, encoder), dim, record["generation"])
            vlog.open_for_append(record["count"])
        writer.logs[encoder] = vlog
        writer.committed[encoder] = record["count"]
        writer.pending[encoder] = 0
        return vlog

    def stage_vectors(self, encoder: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Append (n, dim) unit vectors for (n,) fresh segment ids to the encoder's log.

        They become part of the library when the next :meth:`transaction` commits
        (which must also mark them embedded); until then readers don't see them and a
        crash drops them."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        check_unit(vectors, index_metric(get_spec(encoder).metric))  # a bad vector never reaches the log
        vlog = self._open_log(encoder)
        writer = self._require_writer()
        try:
            vlog.append(ids, vectors)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:  # say what the next checkpoint needs
                exc.needed_bytes = (writer.pending[encoder] + len(ids)) * (vlog.record_bytes + 8) + (1 << 20)  # type: ignore[attr-defined]
            raise
        writer.pending[encoder] += len(ids)
        writer.touched.add(encoder)

    @contextmanager
    def transaction(self) -> Iterator[Catalog]:
        """A catalog transaction that also commits every staged vector: logs are
        fsynced, then their counts are written inside the transaction. On any failure
        (including the commit itself) the staged vectors are cut off again."""
        writer = self._writer
        if writer is None or self.catalog._depth:
            with self.catalog.transaction():
                yield self.catalog
            return
        try:
            with self.catalog.transaction():
                yield self.catalog
                for name, n in writer.pending.items():
                    if n:
                        writer.logs[name].sync()
                        self.catalog.set_vector_count(name, writer.committed[name] + n)
        except BaseException as exc:
            full_db = isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()
            if full_db or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):
                # what the failed checkpoint needed: its records plus room for the catalog's journal
                exc.needed_bytes = sum(  # type: ignore[attr-defined]
                    n * writer.logs[name].record_bytes + n * 8 for name, n in writer.pending.items()
                ) + (1 << 20)
            for name, n in writer.pending.items():
                if n:
                    try:
                        writer.logs[name].truncate(writer.committed[name])
                    except OSError:  # the next writer cuts the tail off instead
                        pass
                    writer.pending[name] = 0
            raise
        for name, n in writer.pending.items():
            writer.committed[name] += n
            writer.pending[name] = 0
            on_commit = getattr(writer.logs.get(name), "on_commit", None)  # a Milvus log forgets what it staged
            if on_commit is not None:
                on_commit()

    def set_index_config(self, encoder: str, config: dict) -> None:
        if self.index_config(encoder) != config:
            self._open_log(encoder)
            with self.transaction():
                self.catalog.set_vector_config(encoder, config)

    def forget_embeddings(self, encoder: str, segment_ids: np.ndarray | list[int]) -> None:
        """Unmark segments as embedded by ``encoder`` and queue their assets for it again.

        Segments the encoder owns (audio windows, transcript segments) are deleted, since
        ``encode_asset`` makes them afresh; shared visual segments stay. Their records in
        the log become dead (compacted later)."""
        ids = [int(i) for i in segment_ids]
        if not ids:
            return
        with self.transaction():
            assets = self.catalog.asset_ids_of_segments(ids)
            self.catalog.unmark_embedded(encoder, ids)
            self.catalog.delete_segments(self.catalog.segments_owned_by(encoder, ids))
            self.catalog.forget_encoder_states(encoder, sorted(assets))

    def reset_encoder(self, encoder: str, *, reason: str) -> None:
        """Start the encoder's vectors afresh (new empty generation); everything it did is re-queued."""
        writer = self._require_writer()
        old = writer.logs.pop(encoder, None)
        if old is not None:
            old.close()
        writer.committed.pop(encoder, None)
        writer.pending.pop(encoder, None)
        record = self.catalog.vector_log(encoder)
        self.forget_embeddings(encoder, self.catalog.embedded_ids(encoder))
        generation = (record["generation"] + 1) if record else 0
        with self.transaction():
            self.catalog.set_vector_log(encoder, dim=get_spec(encoder).dim, generation=generation, count=0)
            self.catalog.add_store_event(encoder, "reset", reason)
        if record is not None and self.uses_milvus:
            self.milvus_store().drop(encoder, record["generation"])
        elif record is not None:
            VectorLog(log_folder(self.library_dir, encoder), record["dim"], record["generation"]).remove_files()
        self._remove_ann(encoder)

    def _remove_ann(self, encoder: str) -> None:
        try:
            ann_path(self.library_dir, encoder).unlink()
        except FileNotFoundError:
            pass

    def remove_roots(self, roots: list[Path]) -> int:
        """Stop indexing these folders and forget every file under them; returns how many.
        Their vectors become tombstones (filtered at search, compacted by the next index run)."""
        from mediasearch.scan import normalise_root

        normal = [normalise_root(r) for r in roots]
        ids: set[int] = set()
        for root in normal:
            ids.update(a.id for a in self.catalog.assets_under(root).values())
        with self.catalog.transaction():
            self.catalog.delete_assets(sorted(ids))
            for root in normal:
                self.catalog.remove_root(root)
        return len(ids)

    # -- reconcile, compact, rebuild ------------------------------------------------
    def repair(self, *, full: bool = False) -> RepairReport:
        """(Writer.) Make logs and catalog agree: cut uncommitted tails, re-queue work
        whose vectors were lost, import vectors of a v0.1 library. With ``full``, also
        check every embedded id against its log and every index file's contents."""
        report = RepairReport()
        if not session_active(self.library_dir) or self._writer is None:
            raise ReadOnlyLibraryError("repair runs inside Library.writing()")
        if self.uses_milvus:
            from mediasearch.store import milvus_store

            milvus_store.repair(self, report, full=full)
            self._views.clear()
            return report
        self._import_legacy(report)
        self._recover_lost_records(report)
        for record in self.catalog.vector_logs():
            name = record["encoder"]
            vlog = VectorLog(log_folder(self.library_dir, name), record["dim"], record["generation"])
            on_disk = vlog.length_on_disk()
            count = record["count"]
            if on_disk > count:
                vlog.truncate(count)
                report.truncated[name] = on_disk - count
                log.info("%s: cut %d uncommitted vectors off the log (interrupted run)", name, on_disk - count)
            if on_disk < count or full:
                have = np.unique(vlog.read_ids(min(on_disk, count)))
                if len(have):
                    with self.catalog.transaction():
                        self.catalog.ensure_id_floor(int(have[-1]))
                embedded = self.catalog.embedded_ids(name)
                missing = np.setdiff1d(embedded, have, assume_unique=True)
                if on_disk < count:
                    report.lost[name] = count - on_disk
                    with self.catalog.transaction():
                        self.catalog.set_vector_count(name, on_disk)
                        self.catalog.add_store_event(name, "lost", f"{count - on_disk} stored vectors unreadable; re-queued")
                if len(missing):
                    report.requeued[name] = len(missing)
                    self.forget_embeddings(name, missing)
            if full or name in report.recovered:
                self._readopt(name, vlog, min(on_disk, record["count"]), report)
            if full and (record["index_type"] or "flat") != "flat":
                try:
                    read_ann(ann_path(self.library_dir, name))
                except (FileNotFoundError, IndexCorruptError) as exc:
                    report.rebuilt[name] = str(exc)
                    self._writer.touched.add(name)
        for name in list(report.truncated) + list(report.lost):
            self._views.pop(name, None)
        return report

    def _recover_lost_records(self, report: RepairReport) -> None:
        """A salvaged catalog may have lost ``vector_logs`` rows while the logs are intact
        on disk: give each registered encoder's newest log generation a record again,
        counting every complete record in it (each was committed once, or belongs to a
        segment the catalog never kept, which the join at search time leaves out), and
        mark it for the full check, which re-adopts the vectors whose segments still exist."""
        known = {r["encoder"] for r in self.catalog.vector_logs()}
        for folder in sorted(vectors_dir(self.library_dir).glob("*")):
            name = folder.name
            if name in known or name not in REGISTRY or not folder.is_dir():
                continue
            generations = sorted(
                int(p.stem[1:]) for p in folder.glob("g*.ids") if p.stem[1:].isdigit() and p.with_suffix(".f32").is_file()
            )
            if not generations:
                continue
            dim = get_spec(name).dim
            vlog = VectorLog(folder, dim, generations[-1])
            if vlog.vec_path.stat().st_size % vlog.record_bytes or vlog.length_on_disk() == 0:
                continue  # not this encoder's dimension (or empty): nothing to vouch for
            count = vlog.length_on_disk()
            with self.catalog.transaction():
                self.catalog.set_vector_log(name, dim=dim, generation=generations[-1], count=count)
                self.catalog.add_store_event(name, "recovered", f"log record lost with the catalog; {count} stored vectors found again")
            report.recovered[name] = count
            log.info("%s: the catalog had lost its log record; %d stored vectors found again", name, count)

    def _readopt(self, name: str, vlog: VectorLog, count: int, report: RepairReport) -> None:
        """After a catalog lost rows: vectors in the log whose segment still exists are that
        segment's (ids are never reused), so they are marked embedded again; assets marked
        done whose vectors the catalog no longer knows are queued again."""
        ids = np.unique(vlog.read_ids(count))
        adopt = self.catalog.unembedded_segments(name, ids)
        owns = bool({Stream.AUDIO, Stream.SPEECH} & set(get_spec(name).streams))
        with self.catalog.transaction():
            if adopt:
                self.catalog.mark_embedded(name, adopt)
                report.readopted[name] = len(adopt)
                self.catalog.add_store_event(name, "readopted", f"{len(adopt)} stored vectors matched to their segments again")
            redo = self.catalog.done_without_vectors(name, owns_segments=owns)
            if redo:
                if owns:
                    orphans = [s.id for a in redo for s in self.catalog.segments_of(a, source=name)]
                    self.catalog.delete_segments(orphans)
                self.catalog.forget_encoder_states(name, redo)
                report.requeued[name] = report.requeued.get(name, 0) + len(redo)

    def _import_legacy(self, report: RepairReport) -> None:
        """v0.1 kept each encoder's vectors only in ``index/<encoder>.faiss`` (an
        IndexIDMap2 over a flat index) and its settings in ``index/<encoder>.json``:
        copy the vectors the catalog knows into a log, re-queue the rest."""
        import json

        folder = self.settings.index_dir
        if not folder.is_dir():
            return
        logged = {r["encoder"] for r in self.catalog.vector_logs()}
        for path in sorted(folder.glob("*.faiss")):
            name = path.stem
            if name in logged or name not in REGISTRY:
                continue
            embedded = self.catalog.embedded_ids(name)
            ids = np.zeros(0, np.int64)
            vectors = np.zeros((0, get_spec(name).dim), np.float32)
            try:
                import faiss

                index = faiss.read_index(str(path))
                ids = faiss.vector_to_array(index.id_map).astype(np.int64)
                vectors = index.index.reconstruct_n(0, index.ntotal).astype(np.float32)
            except Exception as exc:  # an unreadable v0.1 index: its work is redone
                log.warning("%s: cannot read %s (%s); re-embedding", name, path, exc)
            keep = np.isin(ids, embedded)
            ids, vectors = ids[keep], vectors[keep]
            if vectors.shape[1] != get_spec(name).dim:  # the encoder changed since: re-embed
                log.warning("%s: v0.1 vectors are %d-d, the encoder now makes %d-d; re-embedding", name, vectors.shape[1], get_spec(name).dim)
                ids, vectors = ids[:0], np.zeros((0, get_spec(name).dim), np.float32)
            try:
                config = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                config = None
            order = np.argsort(ids, kind="stable")
            ids, vectors = ids[order], vectors[order]
            vlog = VectorLog(log_folder(self.library_dir, name), get_spec(name).dim, 0)
            vlog.open_for_append(0)
            vlog.append(ids, vectors)
            vlog.sync()
            vlog.close()
            with self.catalog.transaction():
                self.catalog.set_vector_log(name, dim=get_spec(name).dim, generation=0, count=len(ids), config=config)
                self.catalog.add_store_event(name, "imported", f"{len(ids)} vectors from the v0.1 index {path.name}")
            report.imported[name] = len(ids)
            missing = np.setdiff1d(embedded, ids)
            if len(missing):
                report.requeued[name] = report.requeued.get(name, 0) + len(missing)
                self.forget_embeddings(name, missing)
            legacy = folder / "v0.1"
            legacy.mkdir(exist_ok=True)
            for old in (path, folder / f"{name}.json"):
                if old.exists():
                    shutil.move(str(old), legacy / old.name)
        for bm25 in folder.glob("*.bm25"):  # v0.1's transcript index: the catalog's FTS replaces it
            shutil.rmtree(bm25, ignore_errors=True)

    def refresh_indexes(self, *, progress=None, cancel=None) -> None:  # type: ignore[no-untyped-def]
        """(Writer; the end of a session.) Compact logs that are mostly dead, and build or
        refresh the approximate index of each encoder that needs one. ``progress`` gets
        mediasearch.progress.Progress records ("build index"); ``cancel`` stops a build,
        which is safe: the stored vectors are searched exactly until the next run builds it."""
        from mediasearch.errors import CancelledError
        from mediasearch.index import choose_kind
        from mediasearch.progress import Progress

        writer = self._require_writer()
        if self.uses_milvus:  # Milvus builds its own indexes; the writer only purges tombstones
            from mediasearch.store.milvus_store import purge_dead

            for name, n in purge_dead(self).items():
                with self.catalog.transaction():
                    self.catalog.add_store_event(name, "purged", f"{n} vectors of deleted segments deleted from Milvus")
            return
        for record in self.catalog.vector_logs():
            name = record["encoder"]
            if name not in REGISTRY:
                continue
            if record["count"] - self.catalog.live_count(name) > max(COMPACT_MIN_DEAD, record["count"] // 4):
                self.compact(name)
                record = self.catalog.vector_log(name)
                assert record is not None
            forced = self.settings.index_type
            kind = forced if forced in ("flat", "hnsw") else choose_kind(self.catalog.live_count(name), record["dim"])
            if kind == "flat":
                if record["index_type"] not in (None, "flat"):
                    with self.catalog.transaction():
                        self.catalog.set_index_type(name, "flat")
                    self._remove_ann(name)
                elif record["index_type"] is None:
                    with self.catalog.transaction():
                        self.catalog.set_index_type(name, "flat")
                continue
            reason = self._graph_problem(name, record, kind)
            if reason is None:
                continue
            if name not in writer.touched and reason == "tail":
                continue
            t0 = time.monotonic()
            stage = f"build index ({name})"

            def report(done: int, total: int, stage: str = stage, t0: float = t0) -> None:
                if progress is not None:
                    progress(Progress(stage, done, total, "", "vector", time.monotonic() - t0))

            try:
                info = build_graph(
                    self.library_dir, name, record, kind=kind, metric=index_metric(get_spec(name).metric),
                    progress=report, cancel=cancel,
                )
            except CancelledError:
                log.info("%s: index build cancelled; the stored vectors are searched exactly until the next run", name)
                return
            with self.catalog.transaction():
                self.catalog.set_index_type(name, kind)
                detail = f"{info.covered} vectors in {time.monotonic() - t0:.1f} s, recall@10 {info.recall_at_10} at ef_search {info.ef_search}"
                if reason != "tail":
                    detail += f" (rebuilt from stored vectors without re-embedding: {reason})"
                self.catalog.add_store_event(name, "built " + kind, detail)
            self._views.pop(name, None)

    def _graph_problem(self, name: str, record: dict, kind: str) -> str | None:
        """Why the encoder's graph file needs (re)building, or None if it is fine."""
        try:
            info = verify_ann(ann_path(self.library_dir, name))
        except FileNotFoundError:
            return "index file missing" if record["index_type"] == kind else "new index"
        except IndexCorruptError as exc:
            return f"index file damaged: {exc.reason}"
        if info.kind != kind or info.generation != record["generation"] or info.covered > record["count"]:
            return "index file out of date"
        if record["count"] - info.covered > max(TAIL_REBUILD, info.covered // 10):
            return "tail"
        return None

    def compact(self, encoder: str) -> int:
        """(Writer.) Rewrite the encoder's log without dead records, as a new generation.
        Returns how many records were dropped."""
        writer = self._require_writer()
        record = self.catalog.vector_log(encoder)
        if record is None:
            return 0
        old_log = writer.logs.pop(encoder, None)
        if old_log is not None:
            if writer.pending.get(encoder):
                raise RuntimeError("compact with uncommitted vectors")
            old_log.close()
        writer.committed.pop(encoder, None)
        writer.pending.pop(encoder, None)
        old = VectorLog(log_folder(self.library_dir, encoder), record["dim"], record["generation"])
        new = VectorLog(old.folder, record["dim"], record["generation"] + 1)
        new.remove_files()
        new.open_for_append(0)
        live = np.unique(self.catalog.embedded_ids(encoder))
        kept = 0
        for ids, vectors in old.iter_batches(record["count"]):
            keep = np.isin(ids, live)
            new.append(ids[keep], vectors[keep])
            kept += int(keep.sum())
        new.sync()
        new.close()
        with self.catalog.transaction():
            self.catalog.set_vector_log(
                encoder, dim=record["dim"], generation=new.generation, count=kept,
                index_type=record["index_type"], config=record["config"],
            )
            self.catalog.add_store_event(encoder, "compacted", f"{record['count'] - kept} dead vectors dropped, {kept} kept")
        old.remove_files()
        self._views.pop(encoder, None)
        return record["count"] - kept

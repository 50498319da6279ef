"""A library's vectors in Milvus (``--store milvus-lite://...`` or ``milvus://...``).

Milvus replaces the local logs as the source of truth; the catalog keeps its role (see
docs/STORE.md, "Vectors in Milvus"): one collection per encoder and generation,
named ``<prefix>_<encoder>_g<generation>`` (the prefix is the library's, so several
libraries can share a server). The crash rules are the local ones, with "fsync the log"
read as "insert and flush the collection":

- a checkpoint inserts the batch's vectors, flushes, and only then commits the catalog
  transaction that marks them embedded and counts them (``vector_logs.count``: the
  vectors the collection should hold);
- a failed transaction deletes what it inserted; a crash leaves ids in Milvus the
  catalog does not know: the next writer's repair deletes them (and raises the id floor
  above them, so no id is reused), and re-queues segments whose vectors are missing;
- deleted segments stay as tombstones (filtered against the catalog at search) until
  the writer purges them from Milvus at the end of a session.

Readers only search (and never create, delete or flush anything).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from mediasearch.index.milvus_backend import MilvusIndex, collection_name, connect, release
from mediasearch.store.uri import StoreURI

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.library import Library, RepairReport

log = logging.getLogger(__name__)

#: what ``--index-type`` means for a Milvus store (auto: exact on Milvus Lite, HNSW on a server)
_INDEX_FOR = {"flat": "FLAT", "hnsw": "HNSW"}


def default_index_type(uri: StoreURI, index_type_setting: str = "auto") -> str:
    """The Milvus index type for new collections: the address's ``?index=``, else the
    library's ``--index-type`` (flat -> FLAT, hnsw -> HNSW), else FLAT on Milvus Lite and
    HNSW on a server."""
    if uri.index_type:
        return uri.index_type
    if index_type_setting in _INDEX_FOR:
        return _INDEX_FOR[index_type_setting]
    return "FLAT" if uri.is_lite else "HNSW"


class MilvusStore:
    """One library's collections on one Milvus (connected on first use)."""

    def __init__(self, uri: StoreURI, prefix: str, *, index_type: str = "FLAT") -> None:
        self.uri = uri
        self.prefix = prefix
        self.index_type = index_type
        self._client: object | None = None

    @property
    def client(self) -> object:
        if self._client is None:
            self._client = connect(self.uri)
        return self._client

    def collection(self, encoder: str, generation: int) -> str:
        return collection_name(self.prefix, encoder, generation)

    def index(self, encoder: str, dim: int, metric: str, generation: int, *, create: bool = False) -> MilvusIndex | None:
        """The encoder's collection of ``generation`` (None when it does not exist and ``create`` is false)."""
        index = MilvusIndex(
            self.client, self.collection(encoder, generation), dim, metric, index_type=self.index_type,
            build_params=self.uri.build_params(), search_params=self.uri.search_params(), create=create,
        )
        return index if create or index.exists() else None

    def drop(self, encoder: str, generation: int) -> None:
        name = self.collection(encoder, generation)
        if self.client.has_collection(name):  # type: ignore[attr-defined]
            self.client.drop_collection(name)  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._client is not None:
            self._client = None
            release(self.uri)


class MilvusLog:
    """The writer's side of one encoder's collection, with the VectorLog calls the
    library's checkpoints use: ``append`` inserts (with each segment's file and media
    kind from the catalog), ``sync`` flushes, ``truncate`` deletes what was inserted
    since the last commit, ``on_commit`` forgets it once the catalog has committed."""

    def __init__(self, index: MilvusIndex, library: "Library") -> None:
        self.index = index
        self.library = library
        self.dim = index.dim
        self._staged: list[np.ndarray] = []

    @property
    def record_bytes(self) -> int:
        return 4 * self.dim

    def append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        rows = self.library.catalog.segments_with_assets(ids.tolist())
        assets = np.asarray([rows[int(i)][1].id if int(i) in rows else -1 for i in ids], dtype=np.int64)
        kinds = [(rows[int(i)][1].kind.value if rows[int(i)][1].kind is not None else "") if int(i) in rows else ""
                 for i in ids]
        self._staged.append(ids.copy())  # before the insert: a half-done insert is deleted too
        self.index.add(vectors, ids, assets=assets, kinds=kinds, known_fresh=True)  # catalog ids: never reused

    def sync(self) -> None:
        if self._staged:
            self.index.flush()

    def truncate(self, count: int) -> None:  # noqa: ARG002 - the count is the catalog's; Milvus deletes by id
        """Delete what was inserted since the last commit. Best effort: this runs while
        another error unwinds, and whatever it cannot delete the next writer's repair does."""
        staged, self._staged = self._staged, []
        if not staged:
            return
        try:
            self.index.remove(np.concatenate(staged))
            self.index.flush()
        except Exception as exc:  # Milvus unreachable mid-failure: repair deletes them later
            log.warning("%s: could not delete uncommitted vectors from Milvus (%s); the next writer will", self.index.collection, exc)

    def on_commit(self) -> None:
        self._staged = []

    def close(self) -> None:
        return None


def reconcile(library: "Library", record: dict, report: "RepairReport") -> None:
    """(Writer.) Make one encoder's collection agree with the catalog: delete ids the catalog
    does not know (uncommitted inserts of a crashed run, purged tombstones), raise the id
    floor above every id seen, re-queue segments whose vectors are missing, and record
    the collection's count. O(ids in the collection)."""
    from mediasearch.index import index_metric
    from mediasearch.encoders.registry import get_spec

    name = record["encoder"]
    store = library.milvus_store()
    index = store.index(name, record["dim"], index_metric(get_spec(name).metric), record["generation"])
    have = index.ids() if index is not None else np.zeros(0, np.int64)
    embedded = library.catalog.embedded_ids(name)
    if len(have):
        with library.catalog.transaction():
            library.catalog.ensure_id_floor(int(have[-1]))
    unknown = np.setdiff1d(have, embedded, assume_unique=True)
    if len(unknown) and index is not None:
        index.remove(unknown)
        index.flush()
        report.truncated[name] = int(len(unknown))
        log.info("%s: deleted %d vectors the catalog does not know from Milvus", name, len(unknown))
    missing = np.setdiff1d(embedded, have, assume_unique=True)
    with library.catalog.transaction():
        library.catalog.set_vector_count(name, int(len(have) - len(unknown)))
        if len(missing):
            library.catalog.add_store_event(name, "lost", f"{len(missing)} vectors missing from Milvus; re-queued")
    if len(missing):
        report.lost[name] = int(len(missing))
        report.requeued[name] = int(len(missing))
        library.forget_embeddings(name, missing)


def repair(library: "Library", report: "RepairReport", *, full: bool = False) -> None:
    """(Writer, at the start of a session.) Reconcile every encoder whose collection's count
    differs from the catalog's (or all of them with ``full``)."""
    from mediasearch.encoders.registry import REGISTRY, get_spec
    from mediasearch.index import index_metric

    for record in library.catalog.vector_logs():
        name = record["encoder"]
        if name not in REGISTRY:
            continue
        index = library.milvus_store().index(name, record["dim"], index_metric(get_spec(name).metric), record["generation"])
        held = index.count if index is not None else 0
        if full or held != record["count"]:
            reconcile(library, record, report)


def purge_dead(library: "Library") -> dict[str, int]:
    """(Writer, at the end of a session.) Delete the vectors of segments the catalog has
    dropped since they were stored; {encoder: deleted}."""
    from mediasearch.library import RepairReport

    report = RepairReport()
    for record in library.catalog.vector_logs():
        if record["count"] > library.catalog.live_count(record["encoder"]):
            reconcile(library, record, report)
    return report.truncated


def status_entry(library: "Library", record: dict) -> dict:
    """``store_status`` for one encoder from the catalog alone (no connection: status works
    while another process holds a Milvus Lite file)."""
    name = record["encoder"]
    live = library.catalog.live_count(name)
    store = library.milvus_store()
    return {
        "index_type": record["index_type"] or f"milvus:{store.index_type}",
        "dim": record["dim"],
        "vectors": record["count"],
        "live": live,
        "dead": max(record["count"] - live, 0),
        "log_bytes": 0,
        "missing_records": 0,
        "graph": None,
        "exact_tail": 0,
        "problem": "",
        "store": store.uri.text,
        "collection": store.collection(name, record["generation"]),
    }

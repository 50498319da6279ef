"""Moving a library's vectors between stores (local logs <-> Milvus), without re-embedding.

:func:`migrate` (inside a writing session) copies every encoder's live vectors (the ids
the catalog knows) from the current store into a new generation on the target, then
verifies them, and only then switches the library's ``vector_store`` in one catalog
transaction. It is resumable: where it is going is recorded in ``library_meta``
("migration") before anything is written, and a rerun skips the ids the target already
holds, so a kill half-way and a rerun finish without duplicates. Verification, per
encoder: the target holds exactly the expected number of vectors; a sample of stored
vectors reads back bit-identical; and the same sample used as queries gets the same
top-k from the target as an exact search over the source (up to ties; for an
approximate Milvus index: recall@k >= 0.95 with the query itself first). On failure
nothing is switched and :class:`~mediasearch.errors.MigrationVerifyError` says why.
After the switch the old copy is deleted (old log generation and graph, or old
collections).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from mediasearch.encoders.registry import REGISTRY, get_spec
from mediasearch.errors import MigrationVerifyError
from mediasearch.index import index_metric
from mediasearch.progress import Progress
from mediasearch.store.uri import StoreURI, parse_store_uri
from mediasearch.store.vectorlog import VectorLog, log_folder

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.library import Library
    from mediasearch.progress import CancelToken

log = logging.getLogger(__name__)

BATCH = 8192
#: Milvus inserts are flushed at least this often during a copy (a kill loses at most this many)
FLUSH_EVERY = 65536
SAMPLE = 32
TOP_K = 10
MIN_RECALL = 0.95
SCORE_TOL = 1e-5


@dataclass
class MigrationReport:
    source: str
    target: str
    #: per encoder: {"vectors", "copied", "already_there", "verified": {...}}
    encoders: dict[str, dict] = field(default_factory=dict)
    switched: bool = False
    resumed: bool = False
    note: str = ""
    wall_s: float = 0.0

    def to_json(self) -> dict:
        return dict(vars(self))


class _TopK:
    """Exact top-k of fixed queries over vectors seen batch by batch."""

    def __init__(self, queries: np.ndarray, k: int) -> None:
        self.queries, self.k = queries, k
        self.scores = np.full((len(queries), k), -np.inf, np.float32)
        self.ids = np.full((len(queries), k), -1, np.int64)

    def see(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids) or not len(self.queries):
            return
        scores = self.queries @ vectors.T
        all_s = np.concatenate([self.scores, scores], axis=1)
        all_i = np.concatenate([self.ids, np.broadcast_to(ids, scores.shape)], axis=1)
        order = np.lexsort((all_i, -all_s), axis=1)[:, : self.k]  # ties: the smaller id first
        self.scores = np.take_along_axis(all_s, order, 1)
        self.ids = np.take_along_axis(all_i, order, 1)


# -- the two kinds of store, as sources and targets ------------------------------------


def _source_batches(library: "Library", uri: StoreURI, record: dict) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    name = record["encoder"]
    if uri.is_local:
        vlog = VectorLog(log_folder(library.library_dir, name), record["dim"], record["generation"])
        yield from vlog.iter_batches(record["count"], BATCH)
        return
    index = library.milvus_store().index(name, record["dim"], index_metric(get_spec(name).metric), record["generation"])
    if index is not None:
        yield from index.iter_batches(BATCH)


class _LocalTarget:
    def __init__(self, library: "Library", record: dict, generation: int) -> None:
        self.library, self.dim = library, record["dim"]
        self.vlog = VectorLog(log_folder(library.library_dir, record["encoder"]), record["dim"], generation)
        have = self.vlog.length_on_disk()
        self.vlog.open_for_append(have)  # cuts a record half-written by a killed run
        self.present = np.unique(self.vlog.read_ids(have))
        self.count = have

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.vlog.append(ids, vectors)
        self.vlog.sync()
        self.count += len(ids)

    def finish(self) -> None:
        self.vlog.sync()
        self.vlog.close()

    def fetch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _fetch(self.vlog.iter_batches(self.count, BATCH), ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        top = _TopK(queries, k)
        for ids, vectors in self.vlog.iter_batches(self.count, BATCH):
            top.see(ids, vectors)
        return top.scores, top.ids

    exact = True

    def drop(self) -> None:
        self.vlog.remove_files()


class _MilvusTarget:
    def __init__(self, library: "Library", store, record: dict, generation: int) -> None:  # type: ignore[no-untyped-def]
        name = record["encoder"]
        self.library = library
        self.index = store.index(name, record["dim"], index_metric(get_spec(name).metric), generation, create=True)
        self.present = self.index.ids()
        self.count = len(self.present)
        self.unflushed = 0
        self.exact = self.index.exact

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        rows = self.library.catalog.segments_with_assets(ids.tolist())
        assets = np.asarray([rows[int(i)][1].id if int(i) in rows else -1 for i in ids], dtype=np.int64)
        kinds = [rows[int(i)][1].kind.value if int(i) in rows and rows[int(i)][1].kind is not None else "" for i in ids]
        self.index.add(vectors, ids, assets=assets, kinds=kinds, known_fresh=True)  # the copy skips held ids
        self.count += len(ids)
        self.unflushed += len(ids)
        if self.unflushed >= FLUSH_EVERY:
            self.index.flush()
            self.unflushed = 0

    def finish(self) -> None:
        self.index.flush()

    def fetch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.index.fetch(ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search(queries, k)

    def drop(self) -> None:
        self.index.drop()


def _fetch(batches: Iterator[tuple[np.ndarray, np.ndarray]], wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    got_ids, got_vectors = [], []
    for ids, vectors in batches:
        keep = np.isin(ids, wanted)
        got_ids.append(ids[keep])
        got_vectors.append(vectors[keep])
    if not got_ids:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids, vectors = np.concatenate(got_ids), np.concatenate(got_vectors)
    order = np.argsort(ids, kind="stable")
    return ids[order], vectors[order]


# -- the migration -------------------------------------------------------------------------


def _target_generation(library: "Library", target: StoreURI, record: dict) -> int:
    """A generation the target has never used for this encoder (its data is written there)."""
    generation = int(record["generation"]) + 1
    if target.is_local:
        folder = log_folder(library.library_dir, record["encoder"])
        used = [int(p.stem[1:]) for p in folder.glob("g*.ids") if p.stem[1:].isdigit()] if folder.is_dir() else []
        generation = max([generation, *(g + 1 for g in used)])
    return generation


def migrate(
    library: "Library",
    to: str,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: "CancelToken | None" = None,
    sample: int = SAMPLE,
) -> MigrationReport:
    """(Writer.) Copy every encoder's live vectors to the store ``to``, verify, switch the
    library to it, delete the old copy. See the module docstring."""
    writer = library._require_writer()
    if any(writer.pending.values()):
        raise RuntimeError("migrate with uncommitted vectors")
    source = library.store_uri
    target = parse_store_uri(to)
    t0 = time.monotonic()
    report = MigrationReport(source.text, target.text)
    if source.same_store(target):
        report.note = f"the library already keeps its vectors in {target.text}"
        return report
    state = json.loads(library.catalog.meta("migration") or "null")
    target_store = None if target.is_local else library.milvus_store(target)
    if target_store is not None and not library.catalog.meta("milvus_prefix"):
        import secrets

        with library.catalog.transaction():
            library.catalog.set_meta("milvus_prefix", f"ms{secrets.token_hex(4)}")
        target_store.prefix = library.catalog.meta("milvus_prefix")
    try:
        records = [r for r in library.catalog.vector_logs() if r["encoder"] in REGISTRY]
        if state is not None and state.get("to") != target.text:
            _abandon(library, state, records)
            state = None
        report.resumed = state is not None
        if state is None:
            state = {"to": target.text, "from": source.text,
                     "generation": {r["encoder"]: _target_generation(library, target, r) for r in records}}
            with library.catalog.transaction():
                library.catalog.set_meta("migration", json.dumps(state))
        counts: dict[str, int] = {}
        for record in records:
            name = record["encoder"]
            generation = int(state["generation"][name])
            dest = _LocalTarget(library, record, generation) if target_store is None else _MilvusTarget(
                library, target_store, record, generation)
            counts[name] = _copy(library, source, record, dest, report, progress, cancel, sample)
        with library.catalog.transaction():
            library.catalog.set_meta("vector_store", None if target.is_local else target.text)
            library.catalog.set_meta("migration", None)
            for record in records:
                name = record["encoder"]
                library.catalog.set_vector_log(
                    name, dim=record["dim"], generation=int(state["generation"][name]), count=counts[name],
                    index_type=None if target.is_local else f"milvus:{target_store.index_type}",  # type: ignore[union-attr]
                    config=record["config"],
                )
                library.catalog.add_store_event(name, "migrated", f"{counts[name]} vectors from {source.text} to {target.text}, verified")
        report.switched = True
    finally:
        if target_store is not None:
            target_store.close()
    _delete_old(library, source, records)
    library._store_asked = None  # from now on the library follows what it remembers
    library._views.clear()
    writer.logs.clear()
    writer.committed.clear()
    writer.pending.clear()
    if target.is_local:
        library.refresh_indexes(progress=progress, cancel=cancel)  # HNSW graphs where the library is large
    report.wall_s = round(time.monotonic() - t0, 2)
    return report


def _copy(library: "Library", source: StoreURI, record: dict, dest, report: MigrationReport,  # type: ignore[no-untyped-def]
          progress: Callable[[Progress], None] | None, cancel: "CancelToken | None", sample: int) -> int:
    """Copy one encoder's live vectors into ``dest`` and verify them; returns the target's count."""
    name = record["encoder"]
    live = library.catalog.embedded_ids(name)
    rng = np.random.default_rng(0)
    picks = np.sort(rng.choice(live, size=min(sample, len(live)), replace=False)) if len(live) else live
    query_ids, queries = _fetch(_source_batches(library, source, record), picks)
    top = _TopK(queries, TOP_K)
    copied = already = 0
    expected = 0
    t0 = time.monotonic()
    for ids, vectors in _source_batches(library, source, record):
        if cancel is not None:
            cancel.raise_if_cancelled(f"migrating the {name} vectors")
        keep = np.isin(ids, live)
        ids, vectors = ids[keep], vectors[keep]
        expected += len(ids)
        top.see(ids, vectors)
        fresh = ~np.isin(ids, dest.present)
        already += int((~fresh).sum())
        if fresh.any():
            dest.add(ids[fresh], vectors[fresh])
            copied += int(fresh.sum())
        if progress is not None:
            progress(Progress(f"migrate ({name})", copied + already, len(live), "", "vector", time.monotonic() - t0))
    dest.finish()
    verified = _verify(name, report.target, dest, expected, query_ids, queries, top)
    report.encoders[name] = {"vectors": expected, "copied": copied, "already_there": already, "verified": verified}
    return expected


def _verify(name: str, target: str, dest, expected: int, query_ids: np.ndarray, queries: np.ndarray,  # type: ignore[no-untyped-def]
            top: _TopK) -> dict:
    """Counts, values and top-k of the copy (MigrationVerifyError on any difference)."""
    if dest.count != expected:
        raise MigrationVerifyError(target, name, f"the target holds {dest.count} vectors, the source {expected}")
    got_ids, got_vectors = dest.fetch(query_ids)
    if not np.array_equal(got_ids, query_ids) or (len(got_ids) and not np.array_equal(got_vectors, queries)):
        raise MigrationVerifyError(target, name, "sampled vectors did not read back identical from the target")
    out = {"count": int(dest.count), "sample": int(len(query_ids)), "exact": bool(dest.exact)}
    if not len(query_ids):
        return out
    k = min(TOP_K, expected)
    scores, ids = dest.search(queries, k)
    want_s, want_i = top.scores[:, :k], top.ids[:, :k]
    if dest.exact:
        bad = [q for q in range(len(queries)) if not _same_up_to_ties(scores[q], ids[q], want_s[q], want_i[q])]
        if bad:
            raise MigrationVerifyError(target, name, f"{len(bad)} of {len(queries)} sample searches gave other results")
        out["identical_top_k"] = True
    else:
        recall = float(np.mean([len(np.intersect1d(g, w)) / k for g, w in zip(ids, want_i)]))
        self_first = float(np.mean(ids[:, 0] == query_ids))
        if recall < MIN_RECALL or self_first < MIN_RECALL:
            raise MigrationVerifyError(target, name, f"sample recall@{k} {recall:.3f}, query found first {self_first:.3f}")
        out.update(recall_at_k=round(recall, 4), self_first=round(self_first, 4))
    return out


def _same_up_to_ties(got_s: np.ndarray, got_i: np.ndarray, want_s: np.ndarray, want_i: np.ndarray) -> bool:
    """The same scores, and the same ids except among scores tied at the cut."""
    if not np.allclose(got_s, want_s, atol=SCORE_TOL):
        return False
    last = want_s[-1]
    clear = want_s > last + SCORE_TOL
    return set(want_i[clear].tolist()) <= set(got_i.tolist())


def _abandon(library: "Library", state: dict, records: list[dict]) -> None:
    """A half-done migration to somewhere else: delete what it had copied."""
    uri = parse_store_uri(state["to"])
    store = None if uri.is_local else library.milvus_store(uri)
    try:
        for record in records:
            generation = state.get("generation", {}).get(record["encoder"])
            if generation is None:
                continue
            if store is None:
                VectorLog(log_folder(library.library_dir, record["encoder"]), record["dim"], int(generation)).remove_files()
            else:
                store.drop(record["encoder"], int(generation))
    except Exception as exc:  # an unreachable old target: its leftovers are not the library's any more
        log.warning("could not delete the copy of an abandoned migration to %s: %s", uri.text, exc)
    finally:
        if store is not None:
            store.close()
    with library.catalog.transaction():
        library.catalog.set_meta("migration", None)


def _delete_old(library: "Library", source: StoreURI, records: list[dict]) -> None:
    """After the switch: the source's copy is no longer the library's (best effort)."""
    from mediasearch.store.milvus_store import MilvusStore, default_index_type

    store = None
    try:
        if source.is_local:
            for record in records:
                VectorLog(log_folder(library.library_dir, record["encoder"]), record["dim"], record["generation"]).remove_files()
                library._remove_ann(record["encoder"])
            return
        old = library._milvus
        library._milvus = None
        store = old or MilvusStore(source, library.catalog.meta("milvus_prefix") or "", index_type=default_index_type(source))
        for record in records:
            store.drop(record["encoder"], record["generation"])
    except Exception as exc:
        log.warning("the old copy in %s was not deleted: %s", source.text, exc)
    finally:
        if store is not None:
            store.close()

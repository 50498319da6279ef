"""``milvus``: VectorIndex v2 over one Milvus collection (Milvus Lite embedded, or a server).

A collection holds one encoder's vectors: ``id`` (INT64 primary key: the segment id),
``asset`` (INT64: the file, for grouping search), ``kind`` (VARCHAR: image / video /
audio, for filtering) and ``vec`` (FLOAT_VECTOR, dim). Every read and write uses
consistency level Strong, so a search right after :meth:`MilvusIndex.flush` (the
library's checkpoint) sees everything flushed.

Beyond the protocol: ``add(..., assets=, kinds=)`` fills the scalar fields, and
``search(..., kind=, group_by_asset=True)`` filters on the media kind and returns the
best segment per file (Milvus grouping search), so "best segment per file" needs no
over-fetching. ``ids()`` and ``fetch(ids)`` serve repair and migration.

Index types: FLAT (exact; what Milvus Lite is tested with here), HNSW, HNSW_SQ,
IVF_FLAT, IVF_SQ8 on Milvus Lite 3.2 and a server; IVF_PQ, DISKANN, SCANN, AUTOINDEX
on a server only (see mediasearch.store.uri).

A Milvus Lite file is opened by one process at a time (its data folder holds an OS
lock); a second process gets :class:`~mediasearch.errors.VectorStoreUnavailableError`.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import tempfile
import threading
from itertools import count as _counter
from typing import Iterator, Mapping

import numpy as np

from mediasearch.errors import VectorStoreUnavailableError
from mediasearch.index.base import DuplicateIdError, check_vectors, empty_result
from mediasearch.store.uri import LITE_INDEXES, StoreURI, parse_store_uri

log = logging.getLogger(__name__)

#: Milvus's largest top-k per search
MAX_TOPK = 16384
#: rows per insert call: ~8 MB of vectors, well under gRPC's 64 MB message limit
INSERT_BYTES = 8 << 20
#: ids per ``id in [...]`` expression
ID_CHUNK = 4096
#: seconds an operation may take once connected, before it fails instead of hanging
OP_TIMEOUT_S = 120.0
CONSISTENCY = "Strong"
KIND_MAX_LENGTH = 16
_METRICS = {"ip": "IP"}
_DEFAULT_BUILD = {"HNSW": {"M": 32, "efConstruction": 80}, "HNSW_SQ": {"M": 32, "efConstruction": 80, "sq_type": "SQ8"},
                  "IVF_FLAT": {"nlist": 1024}, "IVF_SQ8": {"nlist": 1024}, "IVF_PQ": {"nlist": 1024, "m": 16, "nbits": 8}}

_clients: dict[tuple[str, str], list] = {}  # address -> [client, holders]
_clients_lock = threading.Lock()


def connect(uri: StoreURI) -> "object":
    """A pymilvus MilvusClient for ``uri``, shared per address in this process (each call
    is one hold, given back by :func:`release`). Raises VectorStoreUnavailableError within
    the connect timeout when it cannot be reached or pymilvus is missing."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise VectorStoreUnavailableError(
            uri.text, f"pymilvus is not installed ({exc})", hint="pip install 'mediasearch[scale]' (pymilvus, milvus-lite)"
        ) from exc
    key = (uri.client_uri(), uri.token())
    with _clients_lock:
        entry = _clients.get(key)
        if entry is not None:
            entry[1] += 1
            return entry[0]
        if uri.is_lite:
            uri.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            # Milvus Lite's in-process gRPC server lacks AllocTimestamp, which pymilvus calls
            # (and copes without) after creating an index; gRPC would log each as an ERROR
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            # ... and has no session timestamps for iterators (pymilvus falls back to the client's clock)
            logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
            # a file another process holds is reported once, by us, not as its traceback
            logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)
            if _lite_locked(uri):
                raise _unavailable(uri, RuntimeError("locked"))
        try:
            client = MilvusClient(uri=uri.client_uri(), token=uri.token(), timeout=uri.connect_timeout_s)
        except Exception as exc:  # pymilvus raises MilvusException / ConnectionConfigException without detail
            raise _unavailable(uri, exc) from exc
        _clients[key] = [client, 1]
        return client


def _unavailable(uri: StoreURI, exc: BaseException) -> VectorStoreUnavailableError:
    detail = getattr(exc, "message", "") or str(exc) or type(exc).__name__
    if uri.is_lite:
        if _lite_locked(uri):
            return VectorStoreUnavailableError(
                uri.text, "the Milvus Lite file is open in another process (Milvus Lite serves one process at a time)",
                hint="wait for it to finish, or keep the vectors on a Milvus server (milvus://host:19530)",
            )
        return VectorStoreUnavailableError(uri.text, f"Milvus Lite could not open it ({detail})",
                                           hint="check the path and that milvus-lite is installed")
    return VectorStoreUnavailableError(
        uri.text, f"no Milvus server answered within {uri.connect_timeout_s:g} s ({detail})",
        hint=f"check the host and port, that the server runs, and ${'MEDIASEARCH_MILVUS_TOKEN'} if it needs a token",
    )


def _lite_locked(uri: StoreURI) -> bool:
    """Whether another process holds the Milvus Lite data folder's lock."""
    lock = uri.path / "LOCK" if uri.path is not None else None  # type: ignore[operator]
    if lock is None or not lock.exists():
        return False
    try:
        import fcntl
    except ImportError:  # Windows: the lock cannot be probed without taking it
        return True
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def release(uri: StoreURI) -> None:
    """Give back one hold from :func:`connect`; the last one closes the client (and stops
    this process's Milvus Lite server, so another process can open the file)."""
    key = (uri.client_uri(), uri.token())
    with _clients_lock:
        entry = _clients.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _clients[key]
    try:
        entry[0].close()
    except Exception as exc:  # closing is best effort
        log.debug("closing the Milvus client failed: %s", exc)
    if uri.is_lite:
        try:
            from milvus_lite import server_manager_instance

            server_manager_instance.release_server(str(uri.path))
        except Exception as exc:
            log.debug("stopping Milvus Lite failed: %s", exc)


def collection_name(prefix: str, encoder: str, generation: int) -> str:
    """A valid Milvus collection name (letters, digits, underscores) for one encoder's generation."""
    return re.sub(r"[^0-9A-Za-z_]", "_", f"{prefix}_{encoder}_g{int(generation)}")


class MilvusIndex:
    """One Milvus collection behind VectorIndex v2 (see the module docstring)."""

    kind = "milvus"

    def __init__(
        self,
        client: object,
        collection: str,
        dim: int,
        metric: str = "ip",
        *,
        index_type: str = "FLAT",
        build_params: Mapping[str, object] | None = None,
        search_params: Mapping[str, object] | None = None,
        create: bool = True,
    ) -> None:
        if metric not in _METRICS:
            raise ValueError(f"unsupported metric {metric!r} (supported: {', '.join(_METRICS)})")
        self.client = client
        self.collection = collection
        self.dim = int(dim)
        self.metric = metric
        self.index_type = index_type.upper()
        self.build_params = {**_DEFAULT_BUILD.get(self.index_type, {}), **dict(build_params or {})}
        self.search_defaults = dict(search_params or {})
        if create and not self.exists():
            self._create()
        elif self.exists():
            self._adopt()

    # -- collection ---------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.client.has_collection(self.collection, timeout=OP_TIMEOUT_S))

    def _create(self) -> None:
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("asset", DataType.INT64)
        schema.add_field("kind", DataType.VARCHAR, max_length=KIND_MAX_LENGTH)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=self.dim)
        index = self.client.prepare_index_params()
        index.add_index(field_name="vec", index_type=self.index_type, metric_type=_METRICS[self.metric],
                        params=dict(self.build_params))
        self.client.create_collection(self.collection, schema=schema, index_params=index,
                                      consistency_level=CONSISTENCY, timeout=OP_TIMEOUT_S)

    def _adopt(self) -> None:
        """An existing collection: its index type and dimension are what they were made with."""
        try:
            info = self.client.describe_index(self.collection, "vec", timeout=OP_TIMEOUT_S)
            self.index_type = str(info.get("index_type") or self.index_type).upper()
            self.client.load_collection(self.collection, timeout=OP_TIMEOUT_S)
        except Exception as exc:  # an older server without describe_index details: keep what was asked
            log.debug("describe_index(%s): %s", self.collection, exc)

    def drop(self) -> None:
        if self.exists():
            self.client.drop_collection(self.collection, timeout=OP_TIMEOUT_S)

    @property
    def exact(self) -> bool:
        """Whether searches are exact (FLAT), so results equal the oracle's up to ties."""
        return self.index_type in ("FLAT", "BRUTE_FORCE")

    # -- protocol -----------------------------------------------------------------------
    @property
    def count(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"],
                                 consistency_level=CONSISTENCY, timeout=OP_TIMEOUT_S)
        return int(rows[0]["count(*)"]) if rows else 0

    def __len__(self) -> int:
        return self.count

    def present(self, ids: np.ndarray) -> np.ndarray:
        """Those of ``ids`` held, (m,) int64 sorted."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        found: list[int] = []
        for lo in range(0, len(ids), ID_CHUNK):
            chunk = ids[lo : lo + ID_CHUNK].tolist()
            rows = self.client.query(self.collection, filter=f"id in {chunk}", output_fields=["id"],
                                     consistency_level=CONSISTENCY, timeout=OP_TIMEOUT_S)
            found.extend(int(r["id"]) for r in rows)
        return np.unique(np.asarray(found, dtype=np.int64))

    def add(
        self,
        vectors: np.ndarray,
        ids: np.ndarray,
        *,
        assets: np.ndarray | None = None,
        kinds: list[str] | None = None,
        known_fresh: bool = False,
    ) -> None:
        """Insert (n, dim) float32 vectors under fresh (n,) int64 ids; ``assets`` ((n,) int64,
        default: each id its own file) and ``kinds`` ((n,) media kind names, default "")
        fill the fields grouping and filtering use. Visible to search after :meth:`flush`
        on a server (at once on Milvus Lite).

        ``known_fresh``: the caller guarantees no id is held (the library: catalog ids are
        never reused, and repair deleted any orphan first), so the DuplicateIdError check,
        an ``id in [...]`` query per batch that Milvus Lite answers by a scan, is skipped."""
        vectors, ids = check_vectors(vectors, ids, self.dim, metric=self.metric)
        if not len(ids):
            return
        held = np.zeros(0, np.int64) if known_fresh else self.present(ids)
        if len(held):
            raise DuplicateIdError(held)
        asset_ids = ids if assets is None else np.asarray(assets, dtype=np.int64).reshape(-1)
        kind_names = [""] * len(ids) if kinds is None else [str(k or "") for k in kinds]
        if len(asset_ids) != len(ids) or len(kind_names) != len(ids):
            raise ValueError("assets and kinds must have one entry per id")
        step = max(1, INSERT_BYTES // (4 * self.dim))
        for lo in range(0, len(ids), step):
            rows = [
                {"id": int(i), "asset": int(a), "kind": k, "vec": v}
                for i, a, k, v in zip(ids[lo : lo + step], asset_ids[lo : lo + step], kind_names[lo : lo + step],
                                      vectors[lo : lo + step])
            ]
            self.client.insert(self.collection, rows, timeout=OP_TIMEOUT_S)

    def remove(self, ids: np.ndarray) -> int:
        held = self.present(ids)
        for lo in range(0, len(held), ID_CHUNK):
            self.client.delete(self.collection, ids=held[lo : lo + ID_CHUNK].tolist(), timeout=OP_TIMEOUT_S)
        return int(len(held))

    def flush(self) -> None:
        """Make every insert and delete durable (and, on a server, searchable)."""
        self.client.flush(self.collection, timeout=OP_TIMEOUT_S)

    def _search_params(self, params: Mapping[str, object] | None, k: int) -> dict:
        knobs = {**self.search_defaults, **dict(params or {})}
        inner: dict[str, object] = {}
        if self.index_type.startswith("HNSW"):
            inner["ef"] = max(int(knobs.get("ef") or knobs.get("ef_search") or 64), k)
        elif self.index_type.startswith("IVF"):
            inner["nprobe"] = int(knobs.get("nprobe") or 16)
        elif self.index_type == "DISKANN":
            inner["search_list"] = max(int(knobs.get("search_list") or 100), k)
        return {"metric_type": _METRICS[self.metric], "params": inner}

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        params: Mapping[str, object] | None = None,
        allowed: np.ndarray | None = None,
        kind: str | None = None,
        group_by_asset: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(nq, dim) queries -> (scores (nq, k) float32 descending, ids (nq, k) int64, -1 padded).

        ``kind``: only vectors of this media kind. ``group_by_asset``: at most one hit (the
        best segment) per file, k files. ``k`` is capped at Milvus's 16,384."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        nq = queries.shape[0]
        k = int(k)
        if k <= 0:
            return empty_result(nq, k)
        if queries.shape[1] != self.dim:
            raise ValueError(f"queries must be (n, {self.dim}), got {queries.shape}")
        terms = []
        if allowed is not None:
            allowed = np.unique(np.asarray(allowed, dtype=np.int64))
            if not len(allowed):
                return empty_result(nq, k)
            terms.append(f"id in {allowed.tolist()}")
        if kind:
            terms.append(f'kind == "{_safe_kind(kind)}"')
        limit = min(k, MAX_TOPK)
        extra: dict[str, object] = {"group_by_field": "asset"} if group_by_asset else {}
        results = self.client.search(
            self.collection, data=[q for q in queries], limit=limit, filter=" and ".join(terms),
            search_params=self._search_params(params, limit), output_fields=["id"],
            consistency_level=CONSISTENCY, timeout=OP_TIMEOUT_S, **extra,
        )
        scores_out, ids_out = empty_result(nq, k)
        for q, hits in enumerate(results):
            pairs = sorted(((float(h["distance"]), int(h["id"])) for h in hits), key=lambda p: (-p[0], p[1]))[:limit]
            for j, (score, sid) in enumerate(pairs):
                scores_out[q, j], ids_out[q, j] = score, sid
        return scores_out, ids_out

    def iter_batches(self, batch: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every live (ids (m,) int64, vectors (m, dim) float32), in batches of at most ``batch``."""
        for rows in self._iterate(["id", "vec"], batch):
            ids = np.fromiter((r["id"] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.asarray([r["vec"] for r in rows], dtype=np.float32).reshape(len(rows), self.dim)
            yield ids, vectors

    def ids(self, batch: int = 16384) -> np.ndarray:
        """(n,) int64 sorted: every id held (repair compares them with the catalog)."""
        parts = [np.fromiter((r["id"] for r in rows), dtype=np.int64, count=len(rows)) for rows in self._iterate(["id"], batch)]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def fetch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The held ones of ``ids``: (ids (m,) int64 sorted, vectors (m, dim) float32)."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        got_ids: list[int] = []
        got_vectors: list[list[float]] = []
        for lo in range(0, len(ids), ID_CHUNK):
            rows = self.client.query(self.collection, filter=f"id in {ids[lo : lo + ID_CHUNK].tolist()}",
                                     output_fields=["id", "vec"], consistency_level=CONSISTENCY, timeout=OP_TIMEOUT_S)
            for r in rows:
                got_ids.append(int(r["id"]))
                got_vectors.append(r["vec"])
        order = np.argsort(np.asarray(got_ids, dtype=np.int64), kind="stable")
        vectors = np.asarray(got_vectors, dtype=np.float32).reshape(len(got_ids), self.dim)
        return np.asarray(got_ids, dtype=np.int64)[order], vectors[order]

    def _iterate(self, fields: list[str], batch: int) -> Iterator[list[dict]]:
        iterator = self.client.query_iterator(self.collection, batch_size=max(1, min(int(batch), MAX_TOPK)),
                                              filter="", output_fields=fields, timeout=OP_TIMEOUT_S)
        try:
            while True:
                rows = iterator.next()
                if not rows:
                    return
                yield list(rows)
        finally:
            iterator.close()


def _safe_kind(kind: str) -> str:
    if not re.fullmatch(r"[a-z_]{1,16}", kind):
        raise ValueError(f"not a media kind: {kind!r}")
    return kind


_scratch_lock = threading.Lock()
_scratch: dict[str, str] = {}
_scratch_names = _counter()


def scratch_index(dim: int, metric: str = "ip", *, index_type: str = "FLAT", folder: str | None = None,
                  build_params: Mapping[str, object] | None = None) -> MilvusIndex:
    """A fresh, empty MilvusIndex in a Milvus Lite file of this process (``folder``, or a
    temporary folder shared by every scratch index of the process): for the conformance
    suite and benchmarks."""
    if index_type not in LITE_INDEXES:
        raise ValueError(f"Milvus Lite has no index type {index_type!r} (valid: {', '.join(LITE_INDEXES)})")
    with _scratch_lock:
        key = folder or ""
        if key not in _scratch:
            _scratch[key] = os.path.join(folder or tempfile.mkdtemp(prefix="mediasearch-milvus-"), "scratch.db")
            if folder is None:  # the temporary folder goes when the process does
                atexit.register(_drop_scratch, _scratch[key])
        path = _scratch[key]
    client = connect(parse_store_uri(f"milvus-lite://{path}"))
    name = f"scratch_{os.getpid()}_{next(_scratch_names)}"
    index = MilvusIndex(client, name, dim, metric, index_type=index_type, build_params=build_params)
    return index


def _drop_scratch(path: str) -> None:
    import shutil

    uri = parse_store_uri(f"milvus-lite://{path}")
    with _clients_lock:
        entry = _clients.get((uri.client_uri(), uri.token()))
        if entry is not None:
            entry[1] = 1  # every scratch index shares this one hold
    release(uri)
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


__all__ = ["MilvusIndex", "collection_name", "connect", "release", "scratch_index"]

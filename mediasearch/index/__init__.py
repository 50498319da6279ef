"""Vector indexes: the protocol (base.py), the exact NumPy oracle and the FAISS backends,
chosen by name. The Milvus backend (milvus_backend.py) lives in a Milvus collection
rather than in memory, so it is opened through the library's store (``--store``), not here.

``choose_kind(n, dim)``: exact flat search below :data:`HNSW_FROM` vector cells (n x dim),
HNSW above. Measured on the 2-core development machine (docs/PERFORMANCE.md, "Vector
index backends", benchmarks/bench_vectors.py): a flat single query scans ~2.4 G
multiply-adds/s, so its median passes 10 ms near 24 M cells (~31k vectors at 768-d,
~12k at 2048-d; 59 ms at 100k x 768), and its p99 already passes 10 ms at 5k vectors
when the machine is busy; HNSW medians are 0.1-0.8 ms at recall@10 ~0.95 with a tuned
ef_search from 5k to 1M vectors, for a build of seconds (25k x 768: 16 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mediasearch.errors import IndexCorruptError
from mediasearch.index.base import VectorIndex, atomic_write_bytes
from mediasearch.index.exact import ExactIndex
from mediasearch.index.serial import unpack

#: vectors x dimensions from which HNSW beats flat search (measured: 32k at 768-d, 12k at 2048-d)
HNSW_FROM = 32_000 * 768

KINDS = ("exact", "flat", "hnsw")


def make_index(kind: str, dim: int, metric: str = "ip", **options: object) -> VectorIndex:
    """An empty index of backend ``kind``."""
    if kind == "exact":
        return ExactIndex(dim, metric)
    if kind in ("flat", "hnsw"):
        from mediasearch.index.faiss_backends import FlatIndex, HNSWIndex

        return FlatIndex(dim, metric) if kind == "flat" else HNSWIndex(dim, metric, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown index type {kind!r}; valid: {', '.join(KINDS)}")


def deserialize_index(buf: bytes | np.ndarray, label: str | Path = "index") -> VectorIndex:
    """Any backend's ``serialize()`` bytes back into an index; IndexCorruptError(label, reason)
    on damage (``label``: the file the bytes came from, for the message)."""
    kind, _ = unpack(buf, label)
    if kind == "exact":
        return ExactIndex.deserialize(buf, label)
    if kind in ("flat", "hnsw"):
        from mediasearch.index.faiss_backends import FlatIndex, HNSWIndex

        return (FlatIndex if kind == "flat" else HNSWIndex).deserialize(buf, label)
    raise IndexCorruptError(label, f"unknown index type {kind!r}")


def index_metric(spec_metric: str) -> str:
    """The index metric for an encoder spec's metric: cosine vectors are unit length, so
    inner product ("ip") ranks them by cosine."""
    metrics = {"cosine": "ip", "ip": "ip"}
    if spec_metric not in metrics:
        raise ValueError(f"no index supports the metric {spec_metric!r}; supported: {', '.join(metrics)}")
    return metrics[spec_metric]


def choose_kind(n_vectors: int, dim: int) -> str:
    """"flat" for libraries where exact search is fast enough, "hnsw" above."""
    return "hnsw" if n_vectors * dim >= HNSW_FROM else "flat"


__all__ = [
    "ExactIndex",
    "VectorIndex",
    "atomic_write_bytes",
    "choose_kind",
    "deserialize_index",
    "index_metric",
    "make_index",
]

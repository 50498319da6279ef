"""VectorIndex protocol v2, which every backend implements, and atomic file writes.

Vectors are (n, d) float32. With the ``ip`` metric (every encoder here: the spec's
``cosine``) they must be L2-normalised, and the score is the inner product (cosine
similarity, higher is better). Ids are int64 segment ids from the catalog, >= 0.

An index is a *derived cache*: the library's vector log is the source of truth, and
an index is built from it (``iter_batches`` goes the other way, for rebuilds and
migrations between backends). ``add`` takes fresh ids only; ``remove`` is best effort
(a backend that cannot delete, like HNSW, keeps a tombstone and filters it at search).

``search(queries, k, params=..., allowed=...)``:
- ``params``: backend knobs (``ef_search`` for HNSW, ``nprobe`` for IVF); unknown keys
  are ignored, so callers can pass one dict to any backend.
- ``allowed``: restrict hits to these ids ((m,) int64), e.g. the segments of one media
  kind or of a set of assets. None means every id.
Results: (scores (nq, k) float32 descending, ids (nq, k) int64); where fewer than k hits
exist, ids are -1 and scores -inf. Ties between equal scores may come in any order (the
exact oracle breaks them by smaller id).

Every backend passes the conformance suite in tests/test_index_conformance.py against
:class:`~mediasearch.index.exact.ExactIndex`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator, Mapping, Protocol, runtime_checkable

import numpy as np

#: metrics a backend may be asked for; "cosine" vectors are unit length and use "ip"
METRICS = ("ip",)
#: how far from 1 a vector's norm may be under the ip metric before add() refuses it
UNIT_TOLERANCE = 1e-3


class DuplicateIdError(ValueError):
    """add() was given an id the index already holds (ids must be fresh)."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        shown = ", ".join(str(int(i)) for i in self.ids[:5])
        super().__init__(f"{len(self.ids)} ids already in the index (e.g. {shown}); ids must be fresh")


class NotUnitLengthError(ValueError):
    """add() or search() was given vectors that are not L2-normalised under the ip metric."""

    def __init__(self, worst_norm: float) -> None:
        self.worst_norm = float(worst_norm)
        super().__init__(f"vectors must be L2-normalised for the ip metric (a norm of {worst_norm:.4f} was given)")


@runtime_checkable
class VectorIndex(Protocol):
    dim: int
    metric: str
    #: the backend's registry name ("exact", "flat", "hnsw", ...)
    kind: str

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add (n, dim) float32 vectors under (n,) int64 fresh ids (DuplicateIdError otherwise)."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (best effort: a tombstone where the backend cannot delete);
        returns how many were present."""

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        params: Mapping[str, object] | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(nq, dim) queries -> (scores (nq, k) float32 descending, ids (nq, k) int64, -1 padded)."""

    def flush(self) -> None:
        """Make what was added visible to search (a no-op for in-memory backends)."""

    @property
    def count(self) -> int:
        """Live vectors held (added minus removed)."""

    def __len__(self) -> int: ...

    def iter_batches(self, batch: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every live (ids (m,) int64, vectors (m, dim) float32), in batches of at most ``batch``."""


def check_vectors(vectors: np.ndarray, ids: np.ndarray, dim: int, *, metric: str = "ip") -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert an add() batch: (n, dim) float32 C-contiguous, (n,) int64 ids >= 0,
    no repeats within the batch, unit length under the ip metric."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise ValueError(f"vectors must be (n, {dim}), got {vectors.shape}")
    if vectors.shape[0] != ids.shape[0]:
        raise ValueError(f"{vectors.shape[0]} vectors but {ids.shape[0]} ids")
    if len(ids) and int(ids.min()) < 0:
        raise ValueError("ids must be >= 0")
    if len(np.unique(ids)) != len(ids):
        raise DuplicateIdError(ids[np.r_[False, np.diff(np.sort(ids)) == 0]])
    check_unit(vectors, metric)
    return vectors, ids


def check_unit(vectors: np.ndarray, metric: str = "ip") -> None:
    """Raise NotUnitLengthError unless every row is unit length (ip metric; zero rows allowed)."""
    if metric != "ip" or vectors.size == 0:
        return
    norms = np.linalg.norm(vectors, axis=1)
    bad = (np.abs(norms - 1.0) > UNIT_TOLERANCE) & (norms > 0)
    if bad.any():
        raise NotUnitLengthError(float(norms[bad][np.argmax(np.abs(norms[bad] - 1.0))]))


def empty_result(nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = max(int(k), 0)
    return np.full((nq, k), -np.inf, dtype=np.float32), np.full((nq, k), -1, dtype=np.int64)


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (a no-op where the OS cannot)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)

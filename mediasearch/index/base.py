"""The VectorIndex protocol every backend implements, and atomic file writes.

Vectors are (n, d) float32 and L2-normalised, so the score is the inner product
(cosine similarity, higher is better). Ids are int64 segment ids from the catalog.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VectorIndex(Protocol):
    dim: int

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add (n, dim) float32 vectors under (n,) int64 ids (ids already present are replaced)."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids; returns how many were present."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(nq, dim) queries -> (scores (nq, k) float32 descending, ids (nq, k) int64, -1 where fewer than k)."""

    def ids(self) -> np.ndarray:
        """(n,) int64 ids held, in no particular order."""

    def __len__(self) -> int: ...

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves either the old file or the new one."""


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
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def check_vectors(vectors: np.ndarray, ids: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise ValueError(f"vectors must be (n, {dim}), got {vectors.shape}")
    if vectors.shape[0] != ids.shape[0]:
        raise ValueError(f"{vectors.shape[0]} vectors but {ids.shape[0]} ids")
    return vectors, ids

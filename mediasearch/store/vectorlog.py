"""An encoder's vectors, durably and append-only: the library's source of truth.

One *generation* of the log is two files in ``<library>/vectors/<encoder>/``:
``g<gen>.ids`` (int64 segment ids) and ``g<gen>.f32`` (float32 vectors, ``dim`` per
record), record ``i`` of one matching record ``i`` of the other. Fixed-size records make
the length a count and let readers memory-map the vectors straight into an index.

The catalog's ``vector_logs`` row holds the *committed* count, written in the same
transaction as the segments and embeddings it belongs to, after the log was fsynced. So
after any crash the catalog says exactly which records exist: a longer file has an
uncommitted tail (truncated by the next writer), a shorter one lost records (the writer
re-queues their segments). Readers read only the committed prefix.

Deletions never touch the log: a segment deleted from the catalog leaves a dead record
(a tombstone is the catalog no longer knowing the id), skipped at search time and
dropped when the writer compacts into a new generation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from mediasearch.index.base import fsync_dir

ID_BYTES = 8


def vectors_dir(library_dir: Path) -> Path:
    """The folder holding every encoder's log folder."""
    return Path(library_dir) / "vectors"


def log_folder(library_dir: Path, encoder: str) -> Path:
    return vectors_dir(library_dir) / encoder


class VectorLog:
    """One generation of one encoder's log. Writers append and sync; anyone reads."""

    def __init__(self, folder: Path, dim: int, generation: int) -> None:
        self.folder = Path(folder)
        self.dim = int(dim)
        self.generation = int(generation)
        self.ids_path = self.folder / f"g{self.generation}.ids"
        self.vec_path = self.folder / f"g{self.generation}.f32"
        self._ids_fh = None
        self._vec_fh = None
        self._unsynced = False

    @property
    def record_bytes(self) -> int:
        return 4 * self.dim

    def exists(self) -> bool:
        return self.ids_path.is_file() and self.vec_path.is_file()

    def length_on_disk(self) -> int:
        """Complete records present in both files (0 when missing)."""
        try:
            n_ids = self.ids_path.stat().st_size // ID_BYTES
            n_vec = self.vec_path.stat().st_size // self.record_bytes
        except FileNotFoundError:
            return 0
        return int(min(n_ids, n_vec))

    # -- writing ------------------------------------------------------------------
    def open_for_append(self, committed: int) -> None:
        """Open for appending after ``committed`` records, cutting off any uncommitted tail."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fresh = not self.exists()
        for path in (self.ids_path, self.vec_path):
            if not path.exists():
                path.touch()
        self.truncate(committed)
        self._ids_fh = open(self.ids_path, "r+b")
        self._vec_fh = open(self.vec_path, "r+b")
        self._ids_fh.seek(committed * ID_BYTES)
        self._vec_fh.seek(committed * self.record_bytes)
        if fresh:
            fsync_dir(self.folder)

    def append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Write (n,) int64 ids and (n, dim) float32 vectors at the end (not yet durable)."""
        if self._ids_fh is None or self._vec_fh is None:
            raise RuntimeError("log not open for appending")
        ids = np.ascontiguousarray(ids, dtype="<i8").reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        if vectors.shape != (ids.shape[0], self.dim):
            raise ValueError(f"expected ({ids.shape[0]}, {self.dim}) vectors, got {vectors.shape}")
        self._vec_fh.write(vectors.tobytes())
        self._ids_fh.write(ids.tobytes())
        self._unsynced = True

    def sync(self) -> None:
        """Make every appended record durable (before the catalog commits their count)."""
        if not self._unsynced or self._ids_fh is None or self._vec_fh is None:
            return
        for fh in (self._vec_fh, self._ids_fh):
            fh.flush()
            os.fsync(fh.fileno())
        self._unsynced = False

    def truncate(self, count: int) -> None:
        """Cut both files to ``count`` records (drop an uncommitted or rolled-back tail)."""
        for fh, path, size in (
            (self._ids_fh, self.ids_path, count * ID_BYTES),
            (self._vec_fh, self.vec_path, count * self.record_bytes),
        ):
            if fh is not None:  # our own buffered writes first, or they would land after the cut
                fh.flush()
                if fh.seek(0, os.SEEK_END) > size:
                    fh.truncate(size)
                    os.fsync(fh.fileno())
                fh.seek(size)
                continue
            try:
                if path.stat().st_size > size:
                    with open(path, "r+b") as out:
                        out.truncate(size)
                        out.flush()
                        os.fsync(out.fileno())
            except FileNotFoundError:
                pass
        self._unsynced = False

    def close(self) -> None:
        for fh in (self._ids_fh, self._vec_fh):
            if fh is not None:
                fh.close()
        self._ids_fh = self._vec_fh = None

    def remove_files(self) -> None:
        self.close()
        for path in (self.ids_path, self.vec_path):
            try:
                path.unlink()
            except (FileNotFoundError, PermissionError):  # Windows: a reader still maps it
                pass

    # -- reading ------------------------------------------------------------------
    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Records [start, stop) as (ids (m,) int64, vectors (m, dim) float32), m <= stop-start
        when the files are shorter than asked (lost records)."""
        stop = min(stop, self.length_on_disk())
        if stop <= start:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        n = stop - start
        ids = np.fromfile(self.ids_path, dtype="<i8", count=n, offset=start * ID_BYTES).astype(np.int64, copy=False)
        vectors = np.fromfile(self.vec_path, dtype="<f4", count=n * self.dim, offset=start * self.record_bytes)
        return ids, vectors.reshape(n, self.dim).astype(np.float32, copy=False)

    def iter_batches(self, count: int, batch: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The first ``count`` records in batches (bounded memory)."""
        for start in range(0, count, batch):
            ids, vectors = self.read(start, min(start + batch, count))
            if len(ids) == 0:
                return
            yield ids, vectors

    def read_ids(self, count: int) -> np.ndarray:
        stop = min(count, self.length_on_disk())
        if stop <= 0:
            return np.zeros(0, np.int64)
        return np.fromfile(self.ids_path, dtype="<i8", count=stop).astype(np.int64, copy=False)

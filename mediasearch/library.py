"""A library: one folder holding the catalog and one vector index per encoder.

Open one Library per thread (the catalog connection is per thread). Vector indexes are
loaded lazily and *reconciled* with the catalog on load, which is what makes a crash or
Ctrl-C safe: the catalog is committed as work goes, indexes are saved atomically at
checkpoints, and on the next open

- ids in the index that the catalog does not know are dropped from the index;
- segments the catalog marks as embedded but whose vectors are missing from the index
  (work after the last index save) are unmarked, and their assets queued again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from mediasearch.catalog import Catalog
from mediasearch.config import Settings
from mediasearch.encoders.registry import get_spec
from mediasearch.index.base import VectorIndex, atomic_write_bytes

log = logging.getLogger(__name__)


class Library:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.library_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.settings.catalog_path)
        self._indexes: dict[str, VectorIndex] = {}
        self._dirty: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- vector indexes ----------------------------------------------------------
    def index_path(self, encoder: str) -> Path:
        return self.settings.index_dir / f"{encoder}.faiss"

    def has_index(self, encoder: str) -> bool:
        return encoder in self._indexes or self.index_path(encoder).is_file()

    def index(self, encoder: str) -> VectorIndex:
        """The encoder's vector index, loaded (or created empty) and reconciled with the catalog."""
        index = self._indexes.get(encoder)
        if index is not None:
            return index
        from mediasearch.index.faiss_index import FaissIndex

        dim = get_spec(encoder).dim
        path = self.index_path(encoder)
        if path.is_file():
            index = FaissIndex.load(path)
            if index.dim != dim:
                log.warning("%s has dimension %d, encoder %s has %d: starting afresh", path, index.dim, encoder, dim)
                index = FaissIndex(dim)
        else:
            index = FaissIndex(dim)
        self._indexes[encoder] = index
        self._reconcile(encoder, index)
        return index

    def _reconcile(self, encoder: str, index: VectorIndex) -> None:
        in_index = index.ids()
        in_catalog = self.catalog.embedded_ids(encoder)
        orphans = np.setdiff1d(in_index, in_catalog, assume_unique=False)
        missing = np.setdiff1d(in_catalog, in_index, assume_unique=False)
        if len(orphans):
            log.info("%s: dropping %d vectors the catalog does not know", encoder, len(orphans))
            index.remove(orphans)
            self._dirty.add(encoder)
        if len(missing):
            log.info("%s: %d segments lost their vectors (interrupted run); queueing them again", encoder, len(missing))
            self.forget_embeddings(encoder, missing)

    def forget_embeddings(self, encoder: str, segment_ids: np.ndarray) -> None:
        """Unmark segments as embedded by ``encoder`` and queue their assets for it again.

        Segments the encoder owns (audio windows, transcript segments) are deleted, since
        ``encode_asset`` will make them afresh; shared visual segments stay.
        """
        ids = [int(i) for i in segment_ids]
        with self.catalog.transaction():
            assets = self.catalog.asset_ids_of_segments(ids)
            self.catalog.unmark_embedded(encoder, ids)
            self.catalog.delete_segments(self.catalog.segments_owned_by(encoder, ids))
            self.catalog.forget_encoder_states(encoder, sorted(assets))

    def index_config(self, encoder: str) -> dict | None:
        """The settings an index was built with (its ``.json`` sidecar), None if unrecorded."""
        path = self.settings.index_dir / f"{encoder}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def set_index_config(self, encoder: str, config: dict) -> None:
        if self.index_config(encoder) != config:
            atomic_write_bytes(self.settings.index_dir / f"{encoder}.json", json.dumps(config, sort_keys=True).encode())

    def mark_dirty(self, encoder: str) -> None:
        self._dirty.add(encoder)

    def save_indexes(self) -> None:
        """Atomically write every index changed since the last save."""
        for encoder in sorted(self._dirty):
            self._indexes[encoder].save(self.index_path(encoder))
        self._dirty.clear()

    def remove_vectors(self, segment_ids: np.ndarray) -> None:
        """Drop these segment ids from every index on disk or loaded (before deleting them from the catalog)."""
        if len(segment_ids) == 0:
            return
        for encoder in self.indexed_encoders():
            index = self.index(encoder)
            if index.remove(segment_ids):
                self._dirty.add(encoder)

    def indexed_encoders(self) -> list[str]:
        """Encoders with vectors in this library (catalog view), registered ones only."""
        from mediasearch.encoders.registry import REGISTRY

        found = set(self.catalog.encoders_with_embeddings()) | set(self._indexes)
        if self.settings.index_dir.is_dir():
            found |= {p.stem for p in self.settings.index_dir.glob("*.faiss")}
        return sorted(name for name in found if name in REGISTRY)

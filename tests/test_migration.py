"""Upgrading a library made by v0.1: schema v3, every vector moved into the logs without
re-embedding, judgements and saved queries kept, ids never reused afterwards."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mediasearch.catalog import SCHEMA_VERSION
from mediasearch.config import Settings
from mediasearch.encoders.registry import get_spec
from mediasearch.evaluation.groundtruth import asset_qrels, list_queries
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.media import Modality
from mediasearch.search import Query, search

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "v01_library"
FILES = {
    "forest.jpg": "samples/images/forest.jpg",
    "ocean.jpg": "samples/images/ocean.jpg",
    "city.jpg": "samples/images/city.jpg",
    "sunset.jpg": "samples/images/sunset.jpg",
    "forest_crop.jpg": "samples/images/forest_crop.jpg",
    "blip_short.flac": "samples/audio/blip_short.flac",
    "sweep_and_clicks.ogg": "samples/audio/sweep_and_clicks.ogg",
}


@pytest.fixture
def old_library(tmp_path: Path) -> tuple[Settings, Path]:
    lib_dir = tmp_path / "library"
    shutil.copytree(FIXTURE, lib_dir)
    media = tmp_path / "media"  # the same files, somewhere else: the index must see moves
    media.mkdir()
    for name, source in FILES.items():
        shutil.copy2(REPO / source, media / name)
    return Settings(library_dir=lib_dir, model_dir=tmp_path / "models"), media


def _old_vectors(lib_dir: Path, encoder: str) -> dict[int, np.ndarray]:
    import faiss

    index = faiss.read_index(str(lib_dir / "index" / f"{encoder}.faiss"))
    ids = faiss.vector_to_array(index.id_map)
    vectors = index.index.reconstruct_n(0, index.ntotal)
    return {int(i): v for i, v in zip(ids, vectors)}


def test_v01_library_migrates_keeping_vectors_and_judgements(old_library) -> None:
    settings, media = old_library
    if Path("/tmp/v01media").exists():
        pytest.skip("/tmp/v01media (where the fixture was made) exists here: the files would be copies, not moves")
    old = {enc: _old_vectors(settings.library_dir, enc) for enc in ("baseline-image", "efficientnet-lite0", "baseline-audio")}
    conn = sqlite3.connect(settings.catalog_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()
    with Library(settings) as lib:
        assert lib.catalog.schema_version == SCHEMA_VERSION
        queries = list_queries(lib.catalog, settings)
        assert [q.name for q in queries] == ["forest"]
        grades = asset_qrels(lib.catalog, queries[0].id)
        assert sorted(grades.values()) == [0, 2]
        report = index_paths(lib, [media], encoders=["baseline-image", "baseline-audio"])
        # the files moved (same bytes elsewhere): nothing whose encoder is unchanged is re-embedded
        assert report.moved == 7 and report.new == 0
        same = {enc for enc, v in old.items() if next(iter(v.values())).shape[0] == get_spec(enc).dim}
        assert "efficientnet-lite0" in same  # its weights are fixed: its vectors must survive
        for enc in ("baseline-image", "baseline-audio"):
            expected = 0 if enc in same else len(old[enc])
            assert report.encoders[enc].items == expected, enc
            assert report.repaired["imported"][enc] == (len(old[enc]) if enc in same else 0)
        for enc, vectors in ((e, v) for e, v in old.items() if e in same):
            index = lib.index(enc)
            for sid, vector in vectors.items():
                scores, ids = index.search(vector[None, :], 1)
                assert ids[0, 0] == sid and scores[0, 0] > 0.9999
        assert report.repaired["imported"]["efficientnet-lite0"] == 5
        hits = search(lib, Query(Modality.IMAGE, path=media / "forest.jpg"), encoder="baseline-image", k=2)
        assert [h.path.name for h in hits] == ["forest.jpg", "forest_crop.jpg"]
        newest = max(max(v) for v in old.values())
        shutil.copy2(REPO / "samples/images/ocean_tilt.jpg", media / "ocean_tilt.jpg")
        index_paths(lib, [media], encoders=["baseline-image"])
        added = lib.catalog.asset_by_path(media / "ocean_tilt.jpg")
        assert min(s.id for s in lib.catalog.segments_of(added.id)) > newest
    assert (settings.library_dir / "index" / "v0.1" / "baseline-image.faiss").is_file()
    assert not (settings.library_dir / "index" / "baseline-image.faiss").exists()

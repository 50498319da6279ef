"""Store v2 benchmark: prints figures, asserts nothing.

1. Checkpoint cost after adding 1,000 vectors to libraries of 10k, 100k and 1M vectors
   (768-d): append to the log, fsync, commit segments' embeddings and the log count.
   It must not grow with the library.
2. Deleting 10,000 assets (one segment and one embedding each) from a 1M-row catalog.
3. A reader catching up with 1,000 newly committed vectors (reads only the log's tail).
4. Unchanged rescan of 10,000 small files (the incremental index's mark phase).

Usage:  .venv/bin/python benchmarks/bench_store.py [--sizes 10000,100000,1000000] [--files 10000]
The 1M library needs ~3.1 GB of disk for the log and ~0.3 GB for the catalog.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediasearch.config import Settings  # noqa: E402
from mediasearch.encoders.base import EncoderSpec  # noqa: E402
from mediasearch.encoders import registry  # noqa: E402
from mediasearch.library import Library  # noqa: E402
from mediasearch.media import AssetStatus, MediaKind, Modality, Stream  # noqa: E402

DIM = 768
ENCODER = "bench-768"


def _register_bench_encoder() -> None:
    """A registry entry with the benchmark's dimension (vectors are made here, not by a model)."""
    base = registry.get_spec("baseline-image")
    registry.REGISTRY[ENCODER] = EncoderSpec(
        name=ENCODER, family="bench", streams=base.streams, query_modalities=frozenset({Modality.IMAGE}), dim=DIM,
        factory=base.factory, description="benchmark vectors", licence="-", preprocessing="-",
    )


def _unit(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _fill(lib: Library, n: int, rng: np.random.Generator, chunk: int = 50_000) -> None:
    """n assets with one segment each, all embedded, committed chunk by chunk."""
    cat = lib.catalog
    done = 0
    while done < n:
        m = min(chunk, n - done)
        with lib.transaction():
            cat.conn.executemany(
                "INSERT INTO assets(path, kind, size, mtime_ns, content_hash, status) VALUES(?,?,?,?,?,?)",
                [(f"/bench/{done + i:08d}.jpg", "image", 1, 1, f"h{done + i}", "ok") for i in range(m)],
            )
            first = cat.conn.execute("SELECT MAX(id) FROM assets").fetchone()[0] - m + 1
            cat.conn.executemany(
                "INSERT INTO segments(asset_id, stream, start_s, end_s, source) VALUES(?,?,NULL,NULL,'')",
                [(first + i, Stream.IMAGE.value) for i in range(m)],
            )
            ids = np.arange(first, first + m, dtype=np.int64)  # a fresh library: segment id = asset id
            lib.stage_vectors(ENCODER, ids, _unit(m, rng))
            cat.mark_embedded(ENCODER, ids.tolist())
        done += m


def _add_and_checkpoint(lib: Library, n: int, rng: np.random.Generator) -> float:
    cat = lib.catalog
    t0 = time.perf_counter()
    with lib.transaction():
        with cat.transaction():
            aid = cat.upsert_asset(f"/bench/new{time.time_ns()}.jpg", kind=MediaKind.IMAGE, size=1, mtime_ns=1,
                                   content_hash="x", status=AssetStatus.OK)
            ids = cat.add_segments(aid, Stream.FRAME, [(float(i), float(i)) for i in range(n)])
        lib.stage_vectors(ENCODER, np.asarray(ids), _unit(n, rng))
        cat.mark_embedded(ENCODER, ids)
    return time.perf_counter() - t0


def bench_checkpoints(sizes: list[int], root: Path) -> None:
    print(f"\n1. checkpoint after adding 1,000 x {DIM} vectors (append + fsync + commit), median of 5")
    print(f"{'library vectors':>16} {'fill s':>8} {'checkpoint ms':>14} {'reader catch-up ms':>19} {'log GB':>7}")
    rng = np.random.default_rng(0)
    for n in sizes:
        folder = root / f"lib{n}"
        settings = Settings(library_dir=folder, model_dir=root / "models", index_type="flat")
        with Library(settings) as lib:
            t0 = time.perf_counter()
            with lib.writing("bench"):
                _fill(lib, n, rng)
                fill_s = time.perf_counter() - t0
                with Library(settings) as reader:
                    reader.index(ENCODER)  # the reader's view at n
                    times, catch = [], []
                    for _ in range(5):
                        times.append(_add_and_checkpoint(lib, 1000, rng))
                        t1 = time.perf_counter()
                        reader.index(ENCODER)  # reads just the new tail
                        catch.append(time.perf_counter() - t1)
                settings_dir = lib.library_dir
            log_bytes = sum(p.stat().st_size for p in (settings_dir / "vectors").rglob("*") if p.is_file())
        print(f"{n:>16,} {fill_s:>8.1f} {statistics.median(times) * 1e3:>14.1f} "
              f"{statistics.median(catch) * 1e3:>19.1f} {log_bytes / 1e9:>7.2f}")
        if n == max(sizes):
            bench_delete(settings, n)
        shutil.rmtree(folder, ignore_errors=True)


def bench_delete(settings: Settings, n: int) -> None:
    print(f"\n2. delete 10,000 assets (segments and embeddings cascade) from a {n:,}-row catalog")
    with Library(settings) as lib:
        ids = [r[0] for r in lib.catalog.conn.execute("SELECT id FROM assets ORDER BY random() LIMIT 10000")]
        wal = Path(str(settings.catalog_path) + "-wal")
        print(f"   (WAL before: {wal.stat().st_size / 1e6 if wal.exists() else 0:.0f} MB)")
        t0 = time.perf_counter()
        with lib.catalog.transaction():
            lib.catalog.delete_assets(ids)
        dt = time.perf_counter() - t0
        left = lib.catalog.live_count(ENCODER)
    print(f"   {dt:.2f} s ({len(ids) / dt:,.0f} assets/s); {left:,} embeddings left")


def bench_rescan(n_files: int, root: Path) -> None:
    from PIL import Image

    from mediasearch.indexing import index_paths

    print(f"\n4. unchanged rescan of {n_files:,} small files")
    folder = root / "files"
    rng = np.random.default_rng(1)
    for i in range(n_files):
        sub = folder / f"d{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(sub / f"f{i:05d}.png")
    settings = Settings(library_dir=root / "rescan-lib", model_dir=root / "models")
    with Library(settings) as lib:
        t0 = time.perf_counter()
        index_paths(lib, [folder], encoders=["baseline-image"])
        first = time.perf_counter() - t0
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = index_paths(lib, [folder], encoders=["baseline-image"])
            times.append(time.perf_counter() - t0)
            assert report.unchanged == n_files
    print(f"   first index {first:.1f} s; rescan median {statistics.median(times):.2f} s (min {min(times):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    _register_bench_encoder()
    print(f"bench_store: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    root = Path(args.dir or tempfile.mkdtemp(prefix="bench-store-"))
    try:
        bench_checkpoints([int(s) for s in args.sizes.split(",")], root)
        if args.files:
            bench_rescan(args.files, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Indexing and search benchmark: prints figures, asserts nothing.

1. End-to-end indexing throughput (scan + hash + decode + embed + store) per encoder on
   generated 12 MP JPEGs.
2. Rescan time of an unchanged folder of N small files (default 10,000).
3. Search latency p50/p99 (query embedding excluded, then included for the baseline).

Usage:  .venv/bin/python benchmarks/bench_index.py [--photos 16] [--files 10000]
            [--encoders baseline-image,efficientnet-lite0] [--model-dir ../shared/models]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mediasearch.config import Settings
from mediasearch.encoders.registry import get_spec, weights_present
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.media import Modality
from mediasearch.search import Query, search_one


def make_photos(folder: Path, n: int, size=(4000, 3000)) -> list[Path]:
    """n distinct 12 MP JPEGs (smooth patterns upscaled, plus grain; quality 90)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    small = (size[0] // 4, size[1] // 4)
    yy, xx = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    out = []
    for i in range(n):
        a, b, c = rng.uniform(0.2, 2.0, 3)
        base = np.stack(
            [np.sin(xx / (100 * a) + i), np.cos(yy / (75 * b) - i), np.sin((xx + yy) / (125 * c))], axis=-1
        )
        pixels = np.clip((base + 1) * 127.5, 0, 255).astype(np.uint8)
        big = np.asarray(Image.fromarray(pixels).resize(size, Image.BILINEAR), dtype=np.int16)
        big += rng.integers(-12, 13, (size[1], size[0], 1), dtype=np.int16)  # grain, so JPEGs are photo-sized
        path = folder / f"photo{i:03d}.jpg"
        Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(path, quality=90)
        out.append(path)
    return out


def make_small_files(folder: Path, n: int) -> None:
    rng = np.random.default_rng(1)
    for i in range(n):
        sub = folder / f"d{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(sub / f"f{i:05d}.png")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--encoders", default="baseline-image,efficientnet-lite0")
    default_models = Path(__file__).resolve().parents[2] / "shared" / "models"
    ap.add_argument("--model-dir", type=Path, default=default_models if default_models.is_dir() else None)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ms-bench-"))
    base = Settings(library_dir=work / "lib", model_dir=args.model_dir or Settings().model_dir)
    print(f"machine: {os.cpu_count()} cores; torch threads = all but one (decoding has one); batch {base.batch_size}; load {os.getloadavg()[0]:.1f}")
    try:
        photos = work / "photos"
        t = time.perf_counter()
        make_photos(photos, args.photos)
        print(f"generated {args.photos} 12 MP JPEGs in {time.perf_counter() - t:.1f} s")
        print("\n1. indexing throughput, end to end (12 MP JPEG, draft decode)")
        for name in [e for e in args.encoders.split(",") if e]:
            spec = get_spec(name)
            if not weights_present(spec, base):
                print(f"  {name:20s} skipped: weights not installed")
                continue
            settings = base.with_(library_dir=work / f"lib-{name}")
            with Library(settings) as lib:
                index_paths(lib, [photos], encoders=[name])  # warm-up: model load + first batch
                shutil.rmtree(settings.library_dir)
            with Library(settings) as lib:
                t = time.perf_counter()
                report = index_paths(lib, [photos], encoders=[name])
                wall = time.perf_counter() - t
            print(f"  {name:20s} {args.photos / wall:6.2f} images/s  ({wall:.1f} s for {args.photos})")

        print(f"\n2. rescan of an unchanged folder of {args.files} files (baseline-image)")
        small = work / "small"
        t = time.perf_counter()
        make_small_files(small, args.files)
        print(f"  generated in {time.perf_counter() - t:.1f} s")
        settings = base.with_(library_dir=work / "lib-rescan")
        with Library(settings) as lib:
            t = time.perf_counter()
            report = index_paths(lib, [small], encoders=["baseline-image"])
            first = time.perf_counter() - t
            print(f"  first index: {first:.1f} s ({report.new} new, {args.files / first:.0f} files/s)")
            times = []
            for _ in range(3):
                t = time.perf_counter()
                report = index_paths(lib, [small], encoders=["baseline-image"])
                times.append(time.perf_counter() - t)
            assert report.unchanged == args.files
            print(f"  unchanged rescan: median {statistics.median(times):.2f} s (runs: {', '.join(f'{x:.2f}' for x in times)})")

            print(f"\n3. search latency over {args.files} vectors (baseline-image, k=20, grouped)")
            lat_index: list[float] = []
            index = lib.index("baseline-image")
            rng = np.random.default_rng(2)
            queries = rng.standard_normal((args.queries, index.dim)).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            for q in queries:
                t = time.perf_counter()
                index.search(q[None, :], 20)
                lat_index.append((time.perf_counter() - t) * 1000)
            print(f"  vector search only: p50 {pct(lat_index, 50):.3f} ms, p99 {pct(lat_index, 99):.3f} ms")
            query = Query(Modality.IMAGE, path=next(small.rglob("*.png")))
            lat_full = []
            for _ in range(args.queries):
                t = time.perf_counter()
                search_one(lib, query, "baseline-image", k=20)
                lat_full.append((time.perf_counter() - t) * 1000)
            print(
                f"  full query (decode + embed + search + catalog): p50 {pct(lat_full, 50):.2f} ms, "
                f"p99 {pct(lat_full, 99):.2f} ms"
            )
        from mediasearch.index.faiss_index import FaissIndex

        for n, d in ((10_000, 2048), (100_000, 768)):
            fi = FaissIndex(d)
            vecs = rng.standard_normal((n, d)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            fi.add(vecs, np.arange(n))
            lat = []
            for q in vecs[:100]:
                t = time.perf_counter()
                fi.search(q[None, :], 20)
                lat.append((time.perf_counter() - t) * 1000)
            print(f"  FAISS flat IP {n} x {d}: p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

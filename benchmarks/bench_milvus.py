"""Milvus Lite vs the local backends (FAISS flat and HNSW through mediasearch.index.make_index)
on clustered unit vectors. Prints figures, asserts nothing.

Per backend: insert rate (vectors/s, until searchable: Milvus's insert + flush, which
builds its segment indexes; HNSW's graph build), single-query search p50/p99 (k = 10,
Milvus through its gRPC client as the library calls it; Milvus Lite also right after the
flush, before the collection is loaded again: see run_one), recall@10 against exact search,
memory (the process's RSS delta: Milvus Lite runs inside the process) and on-disk size,
also per million vectors. Each backend runs in its own process, so one's memory does not
hide another's; ground truth comes from one exact FAISS search in the parent.

Data: bench_vectors.clustered (2,000 Gaussian clusters, Zipf-like sizes); queries are
held-out members perturbed and renormalised (mediasearch.index.recall.perturbed).
HNSW (local and Milvus) gets ef_search tuned to recall@10 >= 0.95 on a separate sample,
as the store does.

Usage:
  .venv/bin/python benchmarks/bench_milvus.py [--n 100000] [--dim 768] [--queries 200]
        [--backends flat,hnsw,milvus-flat,milvus-hnsw]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vectors import clustered, latencies, load, peak_mb, rss_mb  # noqa: E402
from mediasearch.index import make_index  # noqa: E402
from mediasearch.index.recall import perturbed, recall_at_k, tune_ef_search  # noqa: E402

BACKENDS = ("flat", "hnsw", "milvus-flat", "milvus-hnsw")


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_one(backend: str, n: int, dim: int, data: Path) -> dict:
    """Fill one backend with the n vectors, measure it; a dict of figures."""
    saved = np.load(data)
    queries, truth, tune = saved["queries"], saved["truth"], saved["tune"]
    folder = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
    base = rss_mb()
    if backend.startswith("milvus"):
        from mediasearch.index.milvus_backend import scratch_index

        index = scratch_index(dim, index_type="HNSW" if backend == "milvus-hnsw" else "FLAT", folder=str(folder),
                              build_params={"M": 32, "efConstruction": 80} if backend == "milvus-hnsw" else None)
    else:
        index = make_index(backend, dim)
    connect_mb = rss_mb() - base
    t0 = time.perf_counter()
    fresh = {"known_fresh": True} if backend.startswith("milvus") else {}  # as the library inserts
    for ids, vectors in clustered(n, dim, chunk=20_000):
        index.add(vectors, ids, **fresh)
    insert_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    index.flush()
    flush_s = time.perf_counter() - t1
    total_s = time.perf_counter() - t0
    mem = rss_mb() - base
    fresh_p50 = fresh_p99 = reload_s = None
    if backend.startswith("milvus"):
        # Milvus Lite 3.2 searches segments flushed by this process by brute force until the
        # collection is loaded again (what a new reader process does on open): measure both
        fresh_p50, fresh_p99 = latencies(index, queries[:50])
        t1 = time.perf_counter()
        index.client.release_collection(index.collection)
        index.client.load_collection(index.collection)
        reload_s = time.perf_counter() - t1
    params, ef = None, None
    if backend.endswith("hnsw"):
        ef, _ = tune_ef_search(index, tune, _Exact(saved["tune_truth"]))
        params = {"ef_search": ef}
    p50, p99 = latencies(index, queries, params)
    recall = recall_at_k(index, truth, queries, params=params)
    if backend.startswith("milvus"):
        disk = _du(folder)
    else:
        disk = n * (8 + 4 * dim) + (index.serialize().nbytes if backend == "hnsw" else 0)  # log (+ graph file)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "backend": backend, "n": n, "dim": dim, "insert_s": round(insert_s, 2), "flush_s": round(flush_s, 2),
        "rate": round(n / total_s), "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "recall": round(recall, 4),
        "ef": ef, "fresh_p50_ms": fresh_p50 and round(fresh_p50, 2), "fresh_p99_ms": fresh_p99 and round(fresh_p99, 2),
        "reload_s": reload_s and round(reload_s, 2), "rss_mb": round(mem), "client_mb": round(connect_mb), "disk_mb": round(disk / 1e6),
        "rss_mb_per_m": round(mem / n * 1e6), "disk_mb_per_m": round(disk / 1e6 / n * 1e6), "peak_mb": round(peak_mb()),
    }


class _Exact:
    """Precomputed exact ids for tune_ef_search's queries (perturbed from the same sample, same seed)."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids

    def search(self, queries: np.ndarray, k: int, **_: object):
        return None, self.ids[:, :k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.n, args.dim, Path(args.data))), flush=True)
        return
    print(f"{args.n:,} x {args.dim} clustered unit vectors, {os.cpu_count()} cores, {load()}", flush=True)
    exact = make_index("flat", args.dim)
    sample = []
    for ids, vectors in clustered(args.n, args.dim, chunk=20_000):
        exact.add(vectors, ids)
        sample.append(vectors[::50])
    sample = np.concatenate(sample)
    queries = perturbed(sample[1::2][: args.queries], seed=3)
    tune = sample[::2][:500]
    truth = exact.search(queries, 10)[1]
    tune_truth = exact.search(perturbed(tune), 10)[1]  # what tune_ef_search's perturbed queries should find
    del exact
    data = Path(tempfile.mkdtemp(prefix="bench-milvus-data-")) / "truth.npz"
    np.savez(data, queries=queries, truth=truth, tune=tune, tune_truth=tune_truth)
    rows = []
    for backend in args.backends.split(","):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--one", backend, "--n", str(args.n), "--dim", str(args.dim),
                               "--data", str(data)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"  {backend}: done in {time.perf_counter() - t0:.0f} s: {row}", flush=True)
    shutil.rmtree(data.parent, ignore_errors=True)
    head = f"{'backend':>12} {'insert/s':>9} {'ins s':>6} {'flush s':>7} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9} {'ef':>4} " \
           f"{'RSS MB':>7} {'MB/M':>6} {'disk MB':>8} {'disk/M':>7}"
    print(head)
    for r in rows:
        print(f"{r['backend']:>12} {r['rate']:>9,} {r['insert_s']:>6.1f} {r['flush_s']:>7.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
              f"{r['recall']:>9.3f} {r['ef'] or '-':>4} {r['rss_mb']:>7} {r['rss_mb_per_m']:>6} {r['disk_mb']:>8} {r['disk_mb_per_m']:>7}")
    print(load())


if __name__ == "__main__":
    main()

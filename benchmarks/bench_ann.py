"""Vector index benchmark (flat vs HNSW): prints figures, asserts nothing.

Synthetic *clustered* unit vectors (a mixture of Gaussian clusters of varying spread, as
real embeddings are; uniform noise would make every method look alike): build time,
resident memory, serialized size, single-query p50/p99, recall@10 against exact search,
and the ef_search that tune_ef_search picks on a sample (as the library does after a build).

Usage:  .venv/bin/python benchmarks/bench_ann.py [--n 1000000] [--dim 768] [--kinds flat,hnsw]
        [--crossover]   (flat single-query latency at several sizes, for choose_kind)
1M x 768 takes ~3 GB per index and 10+ minutes of HNSW build on 2 cores.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mediasearch.index import make_index  # noqa: E402
from mediasearch.index.recall import perturbed, recall_at_k, tune_ef_search  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def clustered(n: int, dim: int, *, centres: int = 2000, seed: int = 0, chunk: int = 100_000):
    """Yield (ids, unit vectors) chunks: cluster centres on the sphere, members spread by a
    per-cluster sigma (0.3-1.2 of the typical centre distance), sizes Zipf-like."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    sigma = rng.uniform(0.3, 1.2, centres).astype(np.float32) / np.sqrt(dim)
    weights = 1.0 / np.arange(1, centres + 1) ** 0.7
    weights /= weights.sum()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        which = rng.choice(centres, size=m, p=weights)
        v = c[which] + rng.standard_normal((m, dim)).astype(np.float32) * sigma[which, None] * 3.0
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        yield np.arange(start, start + m, dtype=np.int64), v


def latencies(index, queries: np.ndarray, params=None) -> tuple[float, float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], 10, params=params)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def run(n: int, dim: int, kinds: list[str], n_queries: int) -> None:
    print(f"bench_ann: {n:,} x {dim} clustered vectors, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    exact = make_index("flat", dim)
    sample = []
    t0 = time.perf_counter()
    base_rss = rss_mb()
    for ids, v in clustered(n, dim):
        exact.add(v, ids)
        sample.append(v[:: max(1, len(v) // 100)])
    flat_build = time.perf_counter() - t0
    sample = np.concatenate(sample)
    rng = np.random.default_rng(1)
    queries = perturbed(sample[rng.choice(len(sample), size=min(n_queries, len(sample)), replace=False)], seed=2)
    t0 = time.perf_counter()
    _, truth = exact.search(queries, 10)
    truth_s = time.perf_counter() - t0
    print(f"exact ground truth for {len(queries)} queries: {truth_s:.1f} s (batched)")
    header = f"{'index':>6} {'build s':>8} {'RSS MB':>8} {'disk MB':>8} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9} {'ef':>5}"
    rows = []
    for kind in kinds:
        if kind == "flat":
            index, build, mem = exact, flat_build, rss_mb() - base_rss
        else:
            gc.collect()
            before = rss_mb()
            index = make_index(kind, dim)
            t0 = time.perf_counter()
            done = 0
            for ids, v in clustered(n, dim):
                index.add(v, ids)
                done += len(ids)
                print(f"  {kind}: {done:,} added, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            build = time.perf_counter() - t0
            mem = rss_mb() - before
        ef = None
        params = None
        if kind == "hnsw":
            tune_sample = sample[rng.choice(len(sample), size=min(500, len(sample)), replace=False)]
            t0 = time.perf_counter()
            ef, tuned = tune_ef_search(index, tune_sample, exact)
            index.ef_search = ef
            print(f"  tune_ef_search: ef_search {ef} (sample recall {tuned:.3f}) in {time.perf_counter() - t0:.1f} s")
            params = {"ef_search": ef}
        disk = index.serialize().nbytes / 1e6
        p50, p99 = latencies(index, queries, params)
        recall = recall_at_k(index, truth, queries, params=params)
        rows.append(f"{kind:>6} {build:>8.1f} {mem:>8.0f} {disk:>8.0f} {p50:>7.2f} {p99:>7.2f} {recall:>9.3f} {ef or '-':>5}")
        if kind != "flat":
            del index
    print(header)
    print("\n".join(rows))
    print(f"peak RSS of the process: {peak_mb():.0f} MB")


def crossover(dim_list: list[int], sizes: list[int]) -> None:
    print(f"flat single-query latency (p50/p99 ms), load {os.getloadavg()[0]:.2f}")
    for dim in dim_list:
        for n in sizes:
            index = make_index("flat", dim)
            for ids, v in clustered(n, dim, chunk=50_000):
                index.add(v, ids)
            q = next(clustered(200, dim, seed=9))[1]
            p50, p99 = latencies(index, q)
            print(f"  {dim:>5}-d {n:>9,}: {p50:6.2f} / {p99:6.2f}")
            del index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--kinds", default="flat,hnsw")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--crossover", action="store_true")
    args = parser.parse_args()
    if args.crossover:
        crossover([768, 2048], [25_000, 50_000, 100_000, 200_000])
        return
    run(args.n, args.dim, args.kinds.split(","), args.queries)


if __name__ == "__main__":
    main()

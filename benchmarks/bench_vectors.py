"""Vector backends: the flat-vs-HNSW crossover behind ``choose_kind`` and the HNSW build
settings (M, ef_construction). Prints figures, asserts nothing.

Data: a mixture of Gaussian clusters (``--centres``, default 2,000) with Zipf-like
sizes and a per-cluster spread giving within-cluster cosines of ~0.5-0.9, as sentence
and image embeddings have (bench_ann.py spreads some clusters so widely that they are
uniform noise, the case where every ANN method does worst). Queries are held-out
members perturbed and renormalised, never stored vectors themselves.

Usage:
  .venv/bin/python benchmarks/bench_vectors.py table [--n 100000] [--dim 768] [--kinds flat,hnsw]
        build time, RSS delta and peak, serialize() size, single-query p50/p99 over 500
        queries, recall@10 vs exact (FAISS flat, batched) and the ef_search tune_ef_search picks
  .venv/bin/python benchmarks/bench_vectors.py big [--n 1000000]
        the same for HNSW alone (exact truth streamed per chunk: one copy of the vectors);
        1M x 768 took ~16 min on 2 busy cores: run it with nohup and poll
  .venv/bin/python benchmarks/bench_vectors.py crossover [--dims 768,2048] [--sizes 25000,50000,100000,200000]
        flat single-query p50/p99 per size (HNSW at the smallest size, for reference)
  .venv/bin/python benchmarks/bench_vectors.py sweep [--n 20000] [--dim 768] [--m 16,32] [--efc 40,80]
        HNSW build time, ef_search tuned to recall@10 >= 0.95, and p99 per (M, ef_construction)
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mediasearch.index import make_index  # noqa: E402
from mediasearch.index.recall import perturbed, recall_at_k, tune_ef_search  # noqa: E402


def clustered(n: int, dim: int, *, centres: int = 2000, seed: int = 0, chunk: int = 100_000):
    """Yield (ids (m,) int64, unit vectors (m, dim) float32) chunks of n clustered vectors:
    centres on the sphere, Zipf-like cluster sizes, member noise of norm 0.3-1.0 (per cluster)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    spread = rng.uniform(0.3, 1.0, centres).astype(np.float32) / np.sqrt(dim)
    weights = 1.0 / np.arange(1, centres + 1) ** 0.7
    weights /= weights.sum()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        which = rng.choice(centres, size=m, p=weights)
        v = c[which] + rng.standard_normal((m, dim)).astype(np.float32) * spread[which, None]
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        yield np.arange(start, start + m, dtype=np.int64), v


def latencies(index, queries: np.ndarray, params=None) -> tuple[float, float]:
    """Single-query (1, dim) search p50 / p99 in milliseconds, k = 10."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], 10, params=params)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def fill(kind: str, n: int, dim: int, **options):
    """An index of ``kind`` holding n clustered vectors, its build seconds, and a 1% sample."""
    index = make_index(kind, dim, **options)
    sample = []
    t0 = time.perf_counter()
    for ids, vectors in clustered(n, dim, chunk=50_000):
        index.add(vectors, ids)
        sample.append(vectors[::50])  # 2%: tuning and query bases, disjoint halves
    return index, time.perf_counter() - t0, np.concatenate(sample)


def table(n: int, dim: int, kinds: list[str], n_queries: int) -> None:
    print(f"{n:,} x {dim} clustered unit vectors, {os.cpu_count()} cores, {load()}")
    base = rss_mb()
    flat, flat_build, sample = fill("flat", n, dim)
    flat_mem = rss_mb() - base
    queries = perturbed(sample[1::2][:n_queries], seed=3)
    t0 = time.perf_counter()
    truth = flat.search(queries, 10)[1]  # exact ground truth, one batched FAISS call
    print(f"exact ground truth for {len(queries)} queries: {time.perf_counter() - t0:.1f} s", flush=True)
    rows = []
    for kind in kinds:
        gc.collect()
        before = rss_mb()
        index, build, ef, params = flat, flat_build, None, None
        if kind != "flat":
            index, build, _ = fill(kind, n, dim)
        mem = flat_mem if kind == "flat" else rss_mb() - before
        if kind == "hnsw":
            t0 = time.perf_counter()
            ef, tuned = tune_ef_search(index, sample[::2][:500], flat)
            index.ef_search = ef
            print(f"  tune_ef_search: ef_search {ef} (sample recall {tuned:.3f}) in {time.perf_counter() - t0:.1f} s", flush=True)
            params = {"ef_search": ef}
        t0 = time.perf_counter()
        disk = index.serialize().nbytes / 1e6
        ser_s = time.perf_counter() - t0
        p50, p99 = latencies(index, queries, params)
        recall = recall_at_k(index, truth, queries, params=params)
        rows.append(f"{kind:>5} {build:>8.1f} {mem:>7.0f} {disk:>8.0f} {ser_s:>6.1f} {p50:>7.2f} {p99:>7.2f} {recall:>9.3f} {ef or '-':>5}")
        print(rows[-1], flush=True)
        if index is not flat:
            del index
    print(f"{'kind':>5} {'build s':>8} {'RSS MB':>7} {'disk MB':>8} {'ser s':>6} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9} {'ef':>5}")
    print("\n".join(rows))
    print(f"peak RSS {peak_mb():.0f} MB; {load()}")


class _Truth:
    """Precomputed exact top-k ids, answering tune_ef_search's one exact search."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids

    def search(self, queries: np.ndarray, k: int, **_: object):
        assert len(queries) == len(self.ids)
        return None, self.ids[:, :k]


def mem_available_mb() -> float:
    with open("/proc/meminfo") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("MemAvailable")) / 1e3


def big(n: int, dim: int, n_queries: int) -> None:
    """HNSW only, for sizes where a second (flat) copy would not fit beside it: exact
    ground truth is streamed chunk by chunk (FAISS flat over each chunk, top-k merged)."""
    import faiss

    print(f"{n:,} x {dim} clustered unit vectors, hnsw only, streamed exact truth, {os.cpu_count()} cores, {load()}")
    base = rss_mb()
    index = make_index("hnsw", dim)
    t0, truth_s, queries = time.perf_counter(), 0.0, None
    for ids, vectors in clustered(n, dim):
        if queries is None:  # bases from the first chunk (chunks are i.i.d. draws of the mixture)
            sample = vectors[::50]
            tune_q = perturbed(sample[::2][:500])  # what tune_ef_search will search
            test_q = perturbed(sample[1::2][:n_queries], seed=3)
            queries = np.concatenate([tune_q, test_q])
            best_s = np.full((len(queries), 10), -np.inf, np.float32)
            best_i = np.full((len(queries), 10), -1, np.int64)
        t1 = time.perf_counter()
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
        s, i = flat.search(queries, 10)
        both_s = np.concatenate([best_s, s], axis=1)
        both_i = np.concatenate([best_i, ids[i]], axis=1)
        top = np.argsort(-both_s, axis=1, kind="stable")[:, :10]
        best_s, best_i = np.take_along_axis(both_s, top, 1), np.take_along_axis(both_i, top, 1)
        del flat
        truth_s += time.perf_counter() - t1
        index.add(vectors, ids)
        print(f"  {int(ids[-1]) + 1:,} added, {time.perf_counter() - t0:.0f} s (truth {truth_s:.0f} s), {load()}", flush=True)
    build = time.perf_counter() - t0 - truth_s
    mem = rss_mb() - base
    t1 = time.perf_counter()
    ef, tuned = tune_ef_search(index, sample[::2][:500], _Truth(best_i[: len(tune_q)]))
    index.ef_search = ef
    print(f"  tune_ef_search: ef_search {ef} (sample recall {tuned:.3f}) in {time.perf_counter() - t1:.1f} s", flush=True)
    truth = best_i[len(tune_q) :]
    p50, p99 = latencies(index, test_q, {"ef_search": ef})
    recall = recall_at_k(index, truth, test_q, params={"ef_search": ef})
    rows = [f"{'hnsw':>5} {build:>8.1f} {mem:>7.0f}"]
    if mem_available_mb() > 3.5 * mem:
        t1 = time.perf_counter()
        disk = index.serialize().nbytes / 1e6
        rows[0] += f" {disk:>8.0f} {time.perf_counter() - t1:>6.1f}"
    else:
        rows[0] += f" {'(skip)':>8} {'-':>6}"
    rows[0] += f" {p50:>7.2f} {p99:>7.2f} {recall:>9.3f} {ef:>5}"
    for e in (16, 32, 64, 128):  # the latency / recall trade-off around the tuned value
        rows.append(f"  ef_search {e:>4}: p50/p99 {'%.2f / %.2f' % latencies(index, test_q[:200], {'ef_search': e})} ms, recall@10 {recall_at_k(index, truth, test_q, params={'ef_search': e}):.3f}")
    print(f"{'kind':>5} {'build s':>8} {'RSS MB':>7} {'disk MB':>8} {'ser s':>6} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9} {'ef':>5}")
    print("\n".join(rows))
    print(f"peak RSS {peak_mb():.0f} MB; {load()}")


def crossover(dims: list[int], sizes: list[int], n_queries: int) -> None:
    print(f"flat vs hnsw single-query latency (k=10, {n_queries} queries), {os.cpu_count()} cores, {load()}")
    print(f"{'dim':>5} {'n':>9} {'kind':>5} {'p50 ms':>7} {'p99 ms':>7} {'recall':>6} {'ef':>4}")
    for dim in dims:
        for n in sizes:
            flat, _, sample = fill("flat", n, dim)
            queries = perturbed(sample[1::2][:n_queries], seed=3)
            p50, p99 = latencies(flat, queries)
            print(f"{dim:>5} {n:>9,} {'flat':>5} {p50:>7.2f} {p99:>7.2f} {1.0:>6.3f} {'-':>4}", flush=True)
            if n == min(sizes):
                hnsw, build, _ = fill("hnsw", n, dim)
                ef, _ = tune_ef_search(hnsw, sample[::2][:200], flat)
                truth = flat.search(queries, 10)[1]
                p50, p99 = latencies(hnsw, queries, {"ef_search": ef})
                recall = recall_at_k(hnsw, truth, queries, params={"ef_search": ef})
                print(f"{dim:>5} {n:>9,} {'hnsw':>5} {p50:>7.2f} {p99:>7.2f} {recall:>6.3f} {ef:>4}  (build {build:.0f} s)", flush=True)
                del hnsw
            del flat
    print(f"peak RSS {peak_mb():.0f} MB; {load()}")


def sweep(n: int, dim: int, ms: list[int], efcs: list[int], n_queries: int) -> None:
    print(f"HNSW settings at {n:,} x {dim} clustered, {os.cpu_count()} cores, {load()}")
    flat, _, sample = fill("flat", n, dim)
    queries = perturbed(sample[1::2][:n_queries], seed=3)
    truth = flat.search(queries, 10)[1]
    print(f"{'M':>3} {'efC':>4} {'build s':>8} {'ef@0.95':>7} {'recall':>6} {'p50 ms':>7} {'p99 ms':>7} {'disk MB':>8}")
    for m in ms:
        for efc in efcs:
            hnsw, build, _ = fill("hnsw", n, dim, M=m, ef_construction=efc)
            ef, _ = tune_ef_search(hnsw, sample[::2][:200], flat)
            recall = recall_at_k(hnsw, truth, queries, params={"ef_search": ef})
            p50, p99 = latencies(hnsw, queries, {"ef_search": ef})
            disk = hnsw.serialize().nbytes / 1e6
            print(f"{m:>3} {efc:>4} {build:>8.1f} {ef:>7} {recall:>6.3f} {p50:>7.2f} {p99:>7.2f} {disk:>8.0f}", flush=True)
            del hnsw
    print(f"peak RSS {peak_mb():.0f} MB; {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table")
    t.add_argument("--n", type=int, default=100_000)
    t.add_argument("--dim", type=int, default=768)
    t.add_argument("--kinds", default="flat,hnsw")
    t.add_argument("--queries", type=int, default=500)
    b = sub.add_parser("big")
    b.add_argument("--n", type=int, default=1_000_000)
    b.add_argument("--dim", type=int, default=768)
    b.add_argument("--queries", type=int, default=500)
    c = sub.add_parser("crossover")
    c.add_argument("--dims", default="768,2048")
    c.add_argument("--sizes", default="25000,50000,100000,200000")
    c.add_argument("--queries", type=int, default=200)
    s = sub.add_parser("sweep")
    s.add_argument("--n", type=int, default=20_000)
    s.add_argument("--dim", type=int, default=768)
    s.add_argument("--m", default="16,32")
    s.add_argument("--efc", default="40,80")
    s.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    ints = lambda text: [int(x) for x in text.split(",")]  # noqa: E731
    if args.what == "table":
        table(args.n, args.dim, args.kinds.split(","), args.queries)
    elif args.what == "big":
        big(args.n, args.dim, args.queries)
    elif args.what == "crossover":
        crossover(ints(args.dims), ints(args.sizes), args.queries)
    else:
        sweep(args.n, args.dim, ints(args.m), ints(args.efc), args.queries)


if __name__ == "__main__":
    main()

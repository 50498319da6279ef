"""Recall of an approximate index against exact search, and ef_search tuning.

Queries are the library's own stored vectors perturbed with a little noise and
renormalised: a stored vector queried as itself is found at rank 1 by any graph and
overstates recall, while a perturbed copy has to find the same neighbourhood a real
query of similar content would.
"""

from __future__ import annotations

import numpy as np

from mediasearch.index.base import VectorIndex

#: relative size of the perturbation added to sampled vectors
NOISE = 0.05


def perturbed(vectors: np.ndarray, *, seed: int = 0, noise: float = NOISE) -> np.ndarray:
    """(n, d) unit vectors moved by ~``noise`` in a random direction, renormalised."""
    rng = np.random.default_rng(seed)
    out = vectors + rng.standard_normal(vectors.shape).astype(np.float32) * (noise / np.sqrt(vectors.shape[1]))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def recall_at_k(
    index: VectorIndex, truth: np.ndarray, queries: np.ndarray, *, k: int = 10, params: dict | None = None
) -> float:
    """Mean |top-k(index) ∩ truth| / k over queries; ``truth`` (nq, k) exact ids."""
    _, ids = index.search(queries, k, params=params)
    hits = [len(set(a[a >= 0].tolist()) & set(b[b >= 0].tolist())) / max(int((b >= 0).sum()), 1) for a, b in zip(ids, truth)]
    return float(np.mean(hits)) if hits else 1.0


def tune_ef_search(
    index: VectorIndex,
    sample: np.ndarray,
    exact: VectorIndex,
    *,
    target: float = 0.95,
    k: int = 10,
    start: int = 16,
    max_ef: int = 1024,
) -> tuple[int, float]:
    """The smallest ef_search (doubling from ``start``) whose recall@k reaches ``target``
    on perturbed copies of ``sample``; (max_ef, its recall) if none does."""
    queries = perturbed(np.asarray(sample, dtype=np.float32))
    _, truth = exact.search(queries, k)
    ef, recall = start, 0.0
    while True:
        recall = recall_at_k(index, truth, queries, k=k, params={"ef_search": ef})
        if recall >= target or ef >= max_ef:
            return ef, recall
        ef = min(ef * 2, max_ef)

"""VectorIndex protocol v2: every backend behaves like the exact NumPy oracle (one shared
suite; a new backend is one line in BACKENDS)."""

from __future__ import annotations

import numpy as np
import pytest

from mediasearch.errors import IndexCorruptError
from mediasearch.index import choose_kind, deserialize_index, make_index
from mediasearch.index.base import DuplicateIdError, NotUnitLengthError
from mediasearch.index.exact import ExactIndex
from mediasearch.index.recall import recall_at_k, tune_ef_search

DIM = 32


def _milvus(dim: int):
    pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'mediasearch[scale]')")
    from mediasearch.index.milvus_backend import scratch_index

    return scratch_index(dim)  # Milvus Lite, FLAT (exact), a fresh collection per call


#: name -> factory; exact backends must match the oracle's top-k, approximate ones its recall
BACKENDS = {
    "exact": lambda dim: make_index("exact", dim),
    "flat": lambda dim: make_index("flat", dim),
    "hnsw": lambda dim: make_index("hnsw", dim),
    "milvus": _milvus,
}
APPROXIMATE = {"hnsw"}
#: backends whose vectors live in a server's own storage: nothing to serialize
NOT_SERIALIZED = {"milvus"}


def clustered(n: int, dim: int = DIM, *, seed: int = 0, centres: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim))
    v = c[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    return request.param


def _filled(name: str, n: int = 600, seed: int = 0):
    vectors = clustered(n, seed=seed)
    ids = np.arange(n, dtype=np.int64) * 7 + 3  # not 0..n-1: ids are the catalog's
    index = BACKENDS[name](DIM)
    index.add(vectors[: n // 2], ids[: n // 2])
    index.add(vectors[n // 2 :], ids[n // 2 :])
    oracle = ExactIndex(DIM)
    oracle.add(vectors, ids)
    return index, oracle, vectors, ids


def _same_up_to_ties(got_s, got_i, want_s, want_i, tol: float = 1e-5) -> None:
    """Scores equal; ids equal except where scores tie (within ``tol``) with a neighbour."""
    assert np.allclose(got_s, want_s, atol=tol)
    for gs, gi, ws, wi in zip(got_s, got_i, want_s, want_i):
        valid = ws > -np.inf
        if not valid.any():
            assert (gi == -1).all()
            continue
        last = ws[valid].min()
        clear = ws > last + tol  # above the k-th score: no tie can swap these in or out
        assert set(wi[clear]) <= set(gi), (wi[clear], gi)
        for g, w, score in zip(gi, wi, ws):
            if g != w:  # a different id in this place must tie with the oracle's
                assert abs(float(gs[list(gi).index(g)]) - float(score)) <= tol or score <= last + tol


def test_search_agrees_with_the_oracle(backend: str) -> None:
    index, oracle, vectors, ids = _filled(backend)
    queries = clustered(50, seed=9)
    want_s, want_i = oracle.search(queries, 10)
    got_s, got_i = index.search(queries, 10)
    assert got_s.shape == (50, 10) and got_i.dtype == np.int64 and got_s.dtype == np.float32
    assert (np.diff(got_s, axis=1) <= 1e-6).all(), "scores must be descending"
    if backend in APPROXIMATE:
        assert recall_at_k(index, want_i, queries) >= 0.95
    else:
        _same_up_to_ties(got_s, got_i, want_s, want_i)
    assert index.count == len(index) == len(ids)


def test_ids_must_be_fresh(backend: str) -> None:
    index, _, vectors, ids = _filled(backend, 100)
    with pytest.raises(DuplicateIdError):
        index.add(vectors[:1], ids[:1])
    with pytest.raises(DuplicateIdError):  # repeated within one batch
        index.add(vectors[:2], np.array([10_001, 10_001]))
    assert index.count == 100


def test_bad_vectors_are_refused(backend: str) -> None:
    index = BACKENDS[backend](DIM)
    with pytest.raises(NotUnitLengthError):
        index.add(np.full((1, DIM), 3.0, np.float32), np.array([1]))
    with pytest.raises(ValueError):
        index.add(clustered(2, 16), np.array([1, 2]))
    with pytest.raises(ValueError):
        index.add(clustered(2), np.array([1]))
    with pytest.raises(ValueError):
        index.add(clustered(1), np.array([-5]))
    assert index.count == 0


def test_removed_ids_never_come_back(backend: str) -> None:
    index, oracle, vectors, ids = _filled(backend, 300)
    gone = ids[::3]
    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0  # already gone
    oracle.remove(gone)
    assert index.count == oracle.count
    got_s, got_i = index.search(vectors[:40], 10)
    assert not np.isin(got_i, gone).any()
    assert ((got_i >= 0).sum(axis=1) == 10).all(), "k live hits must still come back"
    live = {int(i) for b, _ in index.iter_batches(64) for i in b}
    assert live == set(oracle._ids.tolist())


def test_allowed_restricts_results(backend: str) -> None:
    index, oracle, vectors, ids = _filled(backend, 300)
    allowed = np.concatenate([ids[10:40], np.array([999_999])])  # an id not held is harmless
    got_s, got_i = index.search(vectors[:5], 10, allowed=allowed)
    assert np.isin(got_i[got_i >= 0], allowed).all()
    want_s, want_i = oracle.search(vectors[:5], 10, allowed=allowed)
    if backend not in APPROXIMATE:
        _same_up_to_ties(got_s, got_i, want_s, want_i)
    empty_s, empty_i = index.search(vectors[:2], 5, allowed=np.zeros(0, np.int64))
    assert (empty_i == -1).all() and np.isneginf(empty_s).all()
    index.remove(ids[10:20])
    _, after = index.search(vectors[:5], 50, allowed=allowed)
    assert not np.isin(after, ids[10:20]).any() and (after >= 0).sum(axis=1).max() <= 20


def test_selective_filters_still_return_k_hits(backend: str) -> None:
    """A graph walk under a 1% ``allowed`` or 95% tombstones stops short; k live hits must still come back."""
    index, oracle, vectors, ids = _filled(backend, 2000)
    rng = np.random.default_rng(5)
    allowed = rng.choice(ids, size=20, replace=False)
    queries = clustered(30, seed=11)
    got_s, got_i = index.search(queries, 10, allowed=allowed)
    assert ((got_i >= 0).sum(axis=1) == 10).all() and np.isin(got_i, allowed).all()
    want_s, want_i = oracle.search(queries, 10, allowed=allowed)
    if backend in APPROXIMATE:
        overlap = np.mean([len(np.intersect1d(g, w)) / 10 for g, w in zip(got_i, want_i)])
        assert overlap >= 0.95, overlap
    else:
        _same_up_to_ties(got_s, got_i, want_s, want_i)
    gone = ids[: 1900]
    index.remove(gone)
    oracle.remove(gone)
    got_s, got_i = index.search(queries, 10)
    assert ((got_i >= 0).sum(axis=1) == 10).all() and not np.isin(got_i, gone).any()
    assert index.count == oracle.count == 100


def test_padding_and_empty_index(backend: str) -> None:
    index = BACKENDS[backend](DIM)
    scores, ids = index.search(clustered(2), 4)
    assert ids.shape == (2, 4) and (ids == -1).all() and np.isneginf(scores).all()
    index.add(clustered(3), np.array([5, 6, 7]))
    scores, ids = index.search(clustered(1), 10)
    assert sorted(ids[0, :3].tolist()) == [5, 6, 7] and (ids[0, 3:] == -1).all() and np.isneginf(scores[0, 3:]).all()
    index.flush()


def test_iter_batches_returns_exactly_the_live_vectors(backend: str) -> None:
    index, _, vectors, ids = _filled(backend, 250)
    got_ids, got_vectors = zip(*index.iter_batches(64))
    got_ids, got_vectors = np.concatenate(got_ids), np.concatenate(got_vectors)
    order = np.argsort(got_ids)
    assert np.array_equal(got_ids[order], ids)
    assert np.allclose(got_vectors[order], vectors, atol=1e-6)


def test_serialize_round_trip_and_damage(backend: str) -> None:
    if backend in NOT_SERIALIZED:
        pytest.skip(f"{backend} keeps its vectors in its own storage; nothing to serialize")
    index, _, vectors, ids = _filled(backend, 200)
    index.remove(ids[:5])
    data = index.serialize()
    back = deserialize_index(data)
    assert back.kind == index.kind and back.count == index.count
    for a, b in zip(index.search(vectors[:20], 10), back.search(vectors[:20], 10)):
        assert np.array_equal(a, b)
    raw = bytes(memoryview(data))
    damaged = [b"", raw[:10], raw[: len(raw) // 2], raw[:60] + bytes(len(raw) - 60), b"garbage" * 100]
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    damaged.append(bytes(flipped))
    for bad in damaged:
        with pytest.raises(IndexCorruptError) as caught:
            deserialize_index(np.frombuffer(bad, dtype=np.uint8), label="lib/x.ann")
        assert caught.value.path.name == "x.ann"  # the message names the file
    with pytest.raises(IndexCorruptError):
        deserialize_index("not bytes")  # type: ignore[arg-type]


def test_hnsw_ef_search_tuning_reaches_the_target() -> None:
    vectors = clustered(3000, seed=4)
    ids = np.arange(3000, dtype=np.int64)
    hnsw, exact = make_index("hnsw", DIM), make_index("flat", DIM)
    hnsw.add(vectors, ids)
    exact.add(vectors, ids)
    ef, recall = tune_ef_search(hnsw, vectors[::30], exact, target=0.95)
    assert recall >= 0.95 and 16 <= ef <= 1024
    low_s, low = hnsw.search(vectors[:5], 10, params={"ef_search": 16})
    assert low.shape == (5, 10)


def test_choose_kind() -> None:
    assert choose_kind(1_000, 768) == "flat"
    assert choose_kind(5_000_000, 768) == "hnsw"
    assert choose_kind(20_000, 2048) == "hnsw" and choose_kind(20_000, 768) == "flat"  # measured: 32k at 768-d
    with pytest.raises(ValueError, match="valid"):
        make_index("annoy", 8)

"""Vectors in Milvus (real Milvus Lite in tmp_path): the backend filters and groups like the
local one, a library on --store milvus-lite indexes, searches and survives a crash by the
store's rules, migrations local <-> Milvus keep every vector and resume, and an
unreachable milvus:// address fails fast with a clear error."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'mediasearch[scale]')")

import media_factory as mf  # noqa: E402
from mediasearch.config import Settings  # noqa: E402
from mediasearch.errors import CancelledError, MigrationVerifyError, StoreMismatchError, VectorStoreUnavailableError  # noqa: E402
from mediasearch.index import make_index  # noqa: E402
from mediasearch.index.milvus_backend import MilvusIndex, scratch_index  # noqa: E402
from mediasearch.indexing import index_paths  # noqa: E402
from mediasearch.library import Library  # noqa: E402
from mediasearch.media import MediaKind, Modality  # noqa: E402
from mediasearch.progress import CancelToken  # noqa: E402
from mediasearch.search import Query, search  # noqa: E402
from mediasearch.store import migrate as migrate_mod  # noqa: E402
from mediasearch.store.migrate import migrate  # noqa: E402
from mediasearch.store.vectorlog import VectorLog, log_folder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ENC = "baseline-image"


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# -- the backend: filter by kind, one hit per file -------------------------------------------


def test_kind_filter_and_grouping_per_asset_match_the_local_backend() -> None:
    dim, n = 16, 400
    vectors = _unit(n, dim, seed=1)
    ids = np.arange(n, dtype=np.int64) * 3 + 1
    assets = ids // 30  # ~10 segments per file
    kinds = np.where(assets % 3 == 0, "image", np.where(assets % 3 == 1, "video", "audio"))
    milvus = scratch_index(dim)
    milvus.add(vectors, ids, assets=assets, kinds=kinds.tolist())
    local = make_index("flat", dim)
    local.add(vectors, ids)
    queries = _unit(12, dim, seed=2)
    for kind in ("video", "image"):
        allowed = ids[kinds == kind]
        want_s, want_i = local.search(queries, 10, allowed=allowed)
        got_s, got_i = milvus.search(queries, 10, kind=kind)
        assert np.array_equal(got_i, want_i) and np.allclose(got_s, want_s, atol=1e-5)
    # grouping: the best segment of each of the k best files, as the local backend ranks them
    _, every = local.search(queries, n)
    got_s, got_i = milvus.search(queries, 5, group_by_asset=True, kind="video")
    by_id = dict(zip(ids.tolist(), assets.tolist()))
    kind_of = dict(zip(ids.tolist(), kinds.tolist()))
    for q in range(len(queries)):
        best: list[int] = []
        seen: set[int] = set()
        for sid in every[q]:
            if kind_of[int(sid)] == "video" and by_id[int(sid)] not in seen:
                seen.add(by_id[int(sid)])
                best.append(int(sid))
        assert got_i[q].tolist() == best[:5]
        assert len({by_id[int(s)] for s in got_i[q]}) == 5  # one hit per file, no over-fetching
    hnsw = scratch_index(dim, index_type="HNSW")  # Milvus Lite builds HNSW too (approximate)
    hnsw.add(vectors, ids, assets=assets, kinds=kinds.tolist())
    _, want_i = local.search(queries, 10)
    _, got_i = hnsw.search(queries, 10, params={"ef_search": 128})
    assert np.mean([len(np.intersect1d(g, w)) / 10 for g, w in zip(got_i, want_i)]) >= 0.9


# -- a library on Milvus Lite ---------------------------------------------------------------


def _media(folder: Path, n: int = 5) -> list[Path]:
    paths = [mf.make_image(folder / f"img{i}.jpg", seed=i) for i in range(n)]
    mf.make_video(folder / "clip.mp4", duration_s=4.0, fps=10, seed=9)
    return paths


def _settings(tmp_path: Path) -> Settings:
    return Settings(library_dir=tmp_path / "lib", model_dir=tmp_path / "models", batch_size=4)


def _local_vectors(library: Library) -> dict[int, np.ndarray]:
    record = library.catalog.vector_log(ENC)
    vlog = VectorLog(log_folder(library.library_dir, ENC), record["dim"], record["generation"])
    ids, vectors = vlog.read(0, record["count"])
    return {int(i): v for i, v in zip(ids, vectors)}


def _milvus_vectors(library: Library) -> dict[int, np.ndarray]:
    index = library.index(ENC)
    assert isinstance(index, MilvusIndex)
    return {int(i): v for b_ids, b_vec in index.iter_batches(3) for i, v in zip(b_ids, b_vec)}


def _hits(library: Library, query: Path, **kw: object) -> list[tuple[str, int, float]]:
    return [(h.path.name, h.segment_id, round(h.score, 5)) for h in search(library, Query(Modality.IMAGE, path=query), k=6, **kw)]


def test_migrate_local_to_milvus_lite_and_back_keeps_every_vector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = _media(tmp_path / "media")
    settings = _settings(tmp_path)
    lite = f"milvus-lite://{tmp_path / 'vectors.db'}"
    with Library(settings) as library:
        with library.writing():
            index_paths(library, [tmp_path / "media"], encoders=[ENC])
        local = _local_vectors(library)
        before = _hits(library, photos[1])
        frames = _hits(library, photos[1], group=False)
        videos = _hits(library, photos[1], kind=MediaKind.VIDEO, group=False) + _hits(library, photos[1], kind=MediaKind.IMAGE)
        assert len(local) == library.catalog.live_count(ENC) >= 7
        monkeypatch.setattr(migrate_mod, "BATCH", 2)  # several batches: a cancel lands half-way
        token = CancelToken()
        seen = []

        def stop_half_way(p) -> None:  # noqa: ANN001
            seen.append(p.done)
            if p.done >= 4:
                token.cancel()

        with pytest.raises(CancelledError), library.writing():
            migrate(library, lite, progress=stop_half_way, cancel=token)
        assert library.store_uri.is_local and json.loads(library.catalog.meta("migration"))["to"] == lite
        with library.writing():  # the rerun resumes: what was copied is not copied again
            report = migrate(library, lite)
        entry = report.encoders[ENC]
        assert report.switched and report.resumed and entry["already_there"] >= 4
        assert entry["copied"] + entry["already_there"] == entry["vectors"] == len(local)
        assert entry["verified"]["identical_top_k"] and entry["verified"]["count"] == len(local)
    with Library(settings) as library:  # a reader follows what the library remembers
        assert library.store_uri.text == lite and library.catalog.meta("migration") is None
        in_milvus = _milvus_vectors(library)
        assert in_milvus.keys() == local.keys()
        assert all(np.array_equal(in_milvus[i], local[i]) for i in local)  # bit-identical
        assert _hits(library, photos[1]) == before and _hits(library, photos[1], group=False) == frames
        assert library.pushdown(ENC, library.index(ENC), group=True) == {"kind": None, "group_by_asset": True}
        assert _hits(library, photos[1], kind=MediaKind.VIDEO, group=False) + _hits(library, photos[1], kind=MediaKind.IMAGE) == videos
        assert not any(log_folder(library.library_dir, ENC).glob("g*.ids"))  # the old copy is gone
        with library.writing():
            back = migrate(library, "local")
        assert back.switched and back.encoders[ENC]["verified"]["identical_top_k"]
        assert library.store_uri.is_local
        again = _local_vectors(library)
        assert again.keys() == local.keys() and all(np.array_equal(again[i], local[i]) for i in local)
        assert _hits(library, photos[1]) == before and _hits(library, photos[1], group=False) == frames


def test_migration_killed_half_way_resumes_without_duplicates(tmp_path: Path) -> None:
    _media(tmp_path / "media", 4)
    settings = _settings(tmp_path)
    lite = f"milvus-lite://{tmp_path / 'vectors.db'}"
    with Library(settings) as library:
        with library.writing():
            index_paths(library, [tmp_path / "media"], encoders=[ENC])
        local = _local_vectors(library)
    code = f"""
        import os, signal
        from pathlib import Path
        from mediasearch.config import Settings
        from mediasearch.library import Library
        from mediasearch.store import migrate as m
        m.BATCH = 1
        def die(p):
            if p.done >= 3:
                os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush
        lib = Library(Settings(library_dir=Path({str(settings.library_dir)!r}), model_dir=Path({str(settings.model_dir)!r})))
        with lib.writing():
            m.migrate(lib, {lite!r}, progress=die)
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == -9, proc.stderr
    with Library(settings) as library:
        assert library.store_uri.is_local  # not switched
        with library.writing():
            report = migrate(library, lite)
        entry = report.encoders[ENC]
        assert report.switched and report.resumed and entry["already_there"] >= 2
        assert entry["copied"] + entry["already_there"] == len(local) == entry["verified"]["count"]
        got = _milvus_vectors(library)
        assert got.keys() == local.keys() and all(np.array_equal(got[i], local[i]) for i in local)


def test_migration_that_does_not_verify_does_not_switch(tmp_path: Path) -> None:
    _media(tmp_path / "media", 3)
    settings = _settings(tmp_path)
    lite = f"milvus-lite://{tmp_path / 'vectors.db'}"
    with Library(settings) as library:
        with library.writing():
            index_paths(library, [tmp_path / "media"], encoders=[ENC])
            state_gen = migrate_mod._target_generation(library, migrate_mod.parse_store_uri(lite), library.catalog.vector_log(ENC))
        # a stranger's vector already sits in the target collection: the count cannot check out
        store = library.milvus_store(migrate_mod.parse_store_uri(lite))
        with library.catalog.transaction():
            library.catalog.set_meta("milvus_prefix", "mstest")
        store.prefix = "mstest"
        dim = library.catalog.vector_log(ENC)["dim"]
        stranger = store.index(ENC, dim, "ip", state_gen, create=True)
        stranger.add(_unit(1, dim), np.array([10_000_000]))
        stranger.flush()
        store.close()
        with pytest.raises(MigrationVerifyError, match="holds"), library.writing():
            migrate(library, lite)
        assert library.store_uri.is_local and library.catalog.meta("vector_store") is None
        assert _local_vectors(library)  # the local copy is untouched


def test_index_on_milvus_lite_survives_a_crash_by_the_store_rules(tmp_path: Path) -> None:
    photos = _media(tmp_path / "media", 4)
    settings = _settings(tmp_path)
    lite = f"milvus-lite://{tmp_path / 'vectors.db'}"
    with Library(settings, store=lite) as library:
        with library.writing():
            index_paths(library, [tmp_path / "media"], encoders=[ENC])
        assert library.catalog.meta("vector_store") == lite
        n = library.catalog.live_count(ENC)
        assert library.store_status()[ENC]["vectors"] == n and len(library.index(ENC)) == n
        assert _hits(library, photos[2])[0][0] == "img2.jpg"
    with pytest.raises(StoreMismatchError, match="migrate"):
        Library(settings, store="local")
    # a writer dies after its vectors reached Milvus (inserted + flushed) but before the
    # catalog committed them: they are vectors the catalog does not know
    code = f"""
        import os, numpy as np
        from pathlib import Path
        from mediasearch.config import Settings
        from mediasearch.library import Library
        from mediasearch.media import AssetStatus, MediaKind, Stream
        lib = Library(Settings(library_dir=Path({str(settings.library_dir)!r}), model_dir=Path({str(settings.model_dir)!r})))
        with lib.writing():
            with lib.catalog.transaction():
                aid = lib.catalog.upsert_asset(Path({str(tmp_path / 'media' / 'late.jpg')!r}), kind=MediaKind.IMAGE, size=1,
                                               mtime_ns=1, content_hash="h", status=AssetStatus.OK)
                sid = lib.catalog.add_segments(aid, Stream.IMAGE, [(None, None)])
            v = np.random.default_rng(0).normal(size=(1, 1220)).astype(np.float32); v /= np.linalg.norm(v)
            lib.stage_vectors("baseline-image", np.array([max(sid) + 1000], np.int64), v)  # an id no segment has yet
            lib._writer.logs["baseline-image"].sync()
            print(max(sid) + 1000, flush=True)
            os._exit(0)
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    orphan = int(proc.stdout.split()[-1])
    with Library(settings) as library:
        index = library.index(ENC)
        assert len(index.present(np.array([orphan]))) == 1  # durable in Milvus, unknown to the catalog
        lost = library.catalog.embedded_ids(ENC)[:2]
        index.remove(lost)  # and two committed vectors vanish from Milvus
        index.flush()
        with library.writing():
            repaired = library.last_repair
            assert repaired.truncated[ENC] == 1 and repaired.requeued[ENC] == 2
            assert library.catalog.max_segment_id() >= orphan  # the orphan's id is never reused
            index_paths(library, [tmp_path / "media"], encoders=[ENC])  # re-embeds only what was lost
        index = library.index(ENC)
        assert not len(index.present(np.array([orphan]))) and len(index.present(lost)) == 2
        assert len(index) == library.catalog.live_count(ENC) == library.catalog.vector_log(ENC)["count"]
        assert _hits(library, photos[2])[0][0] == "img2.jpg"
        # deleting files leaves tombstones until the writer purges them at the end of a session
        photos[0].unlink()
        with library.writing():
            index_paths(library, [tmp_path / "media"], encoders=[ENC])
            library.refresh_indexes()
        assert len(library.index(ENC)) == library.catalog.live_count(ENC) == library.catalog.vector_log(ENC)["count"]


# -- the command line -----------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=timeout, cwd=REPO)


def test_cli_index_and_search_with_store_milvus_lite(tmp_path: Path) -> None:
    photos = _media(tmp_path / "media", 4)
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    lite = f"milvus-lite://{tmp_path / 'v.db'}"
    out = _cli(["index", str(tmp_path / "media"), "--encoders", ENC, "--store", lite, "--json", "-q"], env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["encoders"][ENC]["items"] == 5
    assert "ERROR" not in out.stderr and "WARNING" not in out.stderr, out.stderr
    hits = _cli(["search", "--image", str(photos[3]), "-k", "3", "--json", "--no-server"], env)  # no --store: remembered
    assert hits.returncode == 0, hits.stderr
    found = json.loads(hits.stdout)
    assert found[0]["path"] == str(photos[3]) and len(found) == 3
    status = json.loads(_cli(["status", "--json"], env).stdout)
    assert status["store"][ENC]["store"] == lite and status["store"][ENC]["index_type"] == "milvus:FLAT"
    shown = _cli(["store"], env)
    assert lite in shown.stdout
    wrong = _cli(["index", str(tmp_path / "media"), "--store", "milvus://127.0.0.1:1", "-q"], env)
    assert wrong.returncode == 1 and "store migrate --to milvus://127.0.0.1:1" in wrong.stderr


def test_unreachable_milvus_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    (tmp_path / "media").mkdir()
    mf.make_image(tmp_path / "media" / "a.jpg", seed=1)
    t0 = time.monotonic()
    refused = _cli(["index", str(tmp_path / "media"), "--encoders", ENC, "-q", "--store", "milvus://127.0.0.1:1"], env)
    assert refused.returncode == 1 and time.monotonic() - t0 < 30
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mediasearch: error: vector store milvus://127.0.0.1:1 unavailable"), refused.stderr
    # a server that accepts the connection and never answers: bounded by the connect timeout
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(silent.accept()[0]) for _ in range(8)], daemon=True).start()
    port = silent.getsockname()[1]
    try:
        t0 = time.monotonic()
        with Library(_settings(tmp_path), store=f"milvus://127.0.0.1:{port}?timeout=2") as library:
            with pytest.raises(VectorStoreUnavailableError, match="no Milvus server answered within 2 s"):
                with library.writing():
                    library.stage_vectors(ENC, np.array([1]), _unit(1, 1220))
        assert time.monotonic() - t0 < 15
        from pymilvus.exceptions import MilvusException

        from mediasearch.cli_errors import explain

        said = explain(MilvusException(message="server closed the stream")).message  # a failure mid-command
        assert said.startswith("the Milvus vector store failed: server closed the stream; check")
    finally:
        silent.close()
        for conn in held:
            conn.close()


def test_a_milvus_lite_file_open_in_another_process_is_a_clear_error(tmp_path: Path) -> None:
    from mediasearch.index.milvus_backend import connect
    from mediasearch.store.uri import parse_store_uri

    uri = parse_store_uri(f"milvus-lite://{tmp_path / 'held.db'}")
    code = f"from mediasearch.index.milvus_backend import connect; from mediasearch.store.uri import parse_store_uri\n" \
           f"connect(parse_store_uri({uri.text!r})); print('holding', flush=True); import time; time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(VectorStoreUnavailableError, match="open in another process"):
            connect(uri)
    finally:
        holder.kill()
        holder.wait()


def test_a_milvus_server_address_serves_writer_and_readers_at_once(tmp_path: Path) -> None:
    """milvus:// over real gRPC: Milvus Lite's own server mode stands in for a Milvus server."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "server"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and server.poll() is None, "the Milvus Lite server did not start"
            time.sleep(0.2)
        photos = _media(tmp_path / "media", 3)
        address = f"milvus://127.0.0.1:{port}?index=FLAT"
        env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models"),
               "MEDIASEARCH_MILVUS_TOKEN": "root:Milvus"}
        os.environ["MEDIASEARCH_MILVUS_TOKEN"] = "root:Milvus"
        with Library(_settings(tmp_path), store=address) as library:
            with library.writing():  # the writer holds its connection while another process reads
                index_paths(library, [tmp_path / "media"], encoders=[ENC])
                hits = _cli(["search", "--image", str(photos[1]), "-k", "2", "--json", "--no-server"], env)
                assert hits.returncode == 0, hits.stderr
                assert json.loads(hits.stdout)[0]["path"] == str(photos[1])
            with library.writing():
                report = migrate(library, "local")
            assert report.switched and report.encoders[ENC]["verified"]["identical_top_k"]
            assert _hits(library, photos[1])[0][0] == "img1.jpg"
    finally:
        os.environ.pop("MEDIASEARCH_MILVUS_TOKEN", None)
        server.kill()
        server.wait()

"""Store v2 in one process: vector logs are the truth, checkpoints commit them with the
catalog, ids are never reused, readers never write, paths follow the OS's rules."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import media_factory as mf
from mediasearch.catalog import Catalog, path_range
from mediasearch.config import Settings
from mediasearch.errors import LibraryLockedError, ReadOnlyLibraryError
from mediasearch.indexing import index_paths
from mediasearch.library import Library
from mediasearch.media import AssetStatus, MediaKind, Modality, Stream
from mediasearch.search import Query, search
from mediasearch.store.vectorlog import VectorLog, log_folder
from mediasearch.store.vectors import ann_path

REPO = Path(__file__).resolve().parents[1]
ENC = ["baseline-image"]


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _photos(folder: Path, n: int, start: int = 0) -> list[Path]:
    return [mf.make_image(folder / f"img{start + i:03d}.jpg", seed=start + i) for i in range(n)]


def _run_py(code: str, *, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )


# -- the log ----------------------------------------------------------------------------


def test_vector_log_appends_syncs_truncates_and_reads(tmp_path: Path) -> None:
    log = VectorLog(tmp_path / "enc", dim=4, generation=0)
    log.open_for_append(0)
    vectors = _unit(10, 4)
    log.append(np.arange(10), vectors)
    log.sync()
    assert log.length_on_disk() == 10
    ids, got = log.read(3, 7)
    assert ids.tolist() == [3, 4, 5, 6] and np.array_equal(got, vectors[3:7])
    log.truncate(6)
    assert log.length_on_disk() == 6
    log.append(np.array([60, 61]), vectors[:2])  # appends after the cut, not after the old end
    log.sync()
    assert log.read_ids(100).tolist() == [0, 1, 2, 3, 4, 5, 60, 61]
    log.close()
    # a torn last record (crash mid-write) is not a record
    with open(log.vec_path, "ab") as fh:
        fh.write(b"\0" * 5)
    assert log.length_on_disk() == 8


# -- checkpoints ------------------------------------------------------------------------


def _segment_ids(library: Library, n: int) -> list[int]:
    with library.catalog.transaction():
        aid = library.catalog.upsert_asset(
            library.settings.library_dir / "x.jpg", kind=MediaKind.IMAGE, size=1, mtime_ns=1, content_hash="h",
            status=AssetStatus.OK,
        )
        return library.catalog.add_segments(aid, Stream.IMAGE, [(None, None)] * n)


def test_staged_vectors_are_invisible_until_committed_and_rolled_back_on_failure(settings: Settings) -> None:
    from mediasearch.encoders.registry import get_spec

    dim = get_spec("baseline-image").dim
    with Library(settings) as lib, lib.writing("test"):
        ids = _segment_ids(lib, 6)
        lib.stage_vectors("baseline-image", np.array(ids[:3]), _unit(3, dim))
        with Library(settings) as reader:  # another connection: sees only committed work
            assert len(reader.index("baseline-image")) == 0
        with lib.transaction():
            lib.catalog.mark_embedded("baseline-image", ids[:3])
        with Library(settings) as reader:
            assert len(reader.index("baseline-image")) == 3
        lib.stage_vectors("baseline-image", np.array(ids[3:]), _unit(3, dim, 1))
        with pytest.raises(RuntimeError):
            with lib.transaction():
                lib.catalog.mark_embedded("baseline-image", ids[3:])
                raise RuntimeError("boom")  # e.g. disk full at commit
        record = lib.catalog.vector_log("baseline-image")
        assert record["count"] == 3
        vlog = VectorLog(log_folder(settings.library_dir, "baseline-image"), dim, record["generation"])
        assert vlog.length_on_disk() == 3  # the rolled-back tail is cut off at once
        assert lib.catalog.embedded_ids("baseline-image").tolist() == ids[:3]


def test_writes_outside_a_session_cannot_append_vectors(library: Library) -> None:
    with pytest.raises(ReadOnlyLibraryError):
        library.stage_vectors("baseline-image", np.array([1]), _unit(1, 8))


def test_uncommitted_tail_of_a_killed_writer_is_cut_by_the_next_writer(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, 3)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
    # a writer that appended vectors and died before committing them
    r = _run_py(f"""
        import os, numpy as np
        from mediasearch.config import Settings
        from mediasearch.library import Library
        from pathlib import Path
        lib = Library(Settings(library_dir=Path({str(settings.library_dir)!r}), model_dir=Path({str(settings.model_dir)!r})))
        with lib.writing("doomed"):
            dim = lib.catalog.vector_log("baseline-image")["dim"]
            v = np.ones((5, dim), np.float32) / np.sqrt(dim)
            lib.stage_vectors("baseline-image", np.arange(1000, 1005), v)
            lib._writer.logs["baseline-image"].sync()
            os._exit(9)
    """)
    assert r.returncode == 9, r.stderr
    record_dim = Catalog(settings.catalog_path).vector_log("baseline-image")
    vlog = VectorLog(log_folder(settings.library_dir, "baseline-image"), record_dim["dim"], record_dim["generation"])
    assert vlog.length_on_disk() == 8
    with Library(settings) as reader:  # a reader neither sees nor repairs the tail
        assert len(reader.index("baseline-image")) == 3
    assert vlog.length_on_disk() == 8
    with Library(settings) as lib:
        report = index_paths(lib, [folder], encoders=ENC)
    assert report.repaired["truncated"] == {"baseline-image": 5}
    assert report.encoders["baseline-image"].items == 0
    assert vlog.length_on_disk() == 3


def test_lost_vectors_are_requeued_before_deciding_what_is_done(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    paths = _photos(folder, 4)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
        record = lib.catalog.vector_log("baseline-image")
    vlog = VectorLog(log_folder(settings.library_dir, "baseline-image"), record["dim"], record["generation"])
    vlog.truncate(2)  # e.g. a disk that lost the end of the file
    with Library(settings) as lib:
        report = index_paths(lib, [folder], encoders=ENC)
        assert report.encoders["baseline-image"].items == 2 and not report.missing
        for path in paths:
            hits = search(lib, Query(Modality.IMAGE, path=path), encoder="baseline-image", k=1)
            assert hits[0].path == path and hits[0].score > 0.99


# -- ids -------------------------------------------------------------------------------


def test_segment_ids_are_never_reused_even_after_a_crash(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    paths = _photos(folder, 5)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
        newest = max(lib.catalog.embedded_ids("baseline-image"))
    for p in paths[3:]:  # the newest assets go, then the process dies
        p.unlink()
    r = _run_py(f"""
        import os
        from mediasearch.config import Settings
        from mediasearch.library import Library
        from mediasearch.indexing import index_paths
        from pathlib import Path
        lib = Library(Settings(library_dir=Path({str(settings.library_dir)!r}), model_dir=Path({str(settings.model_dir)!r})))
        index_paths(lib, [{str(folder)!r}], encoders=["baseline-image"])
        os._exit(9)
    """)
    assert r.returncode == 9, r.stderr
    new = _photos(folder, 3, start=50)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
        ids = lib.catalog.embedded_ids("baseline-image")
        assert min(i for i in ids if i not in range(newest + 1)) > newest
        assert len(ids) == 6
        for path in paths[:3] + new:
            hits = search(lib, Query(Modality.IMAGE, path=path), encoder="baseline-image", k=2)
            assert hits[0].path == path and hits[0].score > 0.99, (path, hits)
            assert all(h.path.exists() for h in hits)


# -- one writer, many readers --------------------------------------------------------------


def test_a_second_writer_is_refused_with_who_holds_the_lock(settings: Settings) -> None:
    Library(settings).close()  # the library exists
    code = f"""
        import sys, time
        from mediasearch.store.lock import write_session
        with write_session({str(settings.library_dir)!r}, "mediasearch index ~/Pictures"):
            print("held", flush=True)
            time.sleep(30)
    """
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with Library(settings) as lib:
            with pytest.raises(LibraryLockedError) as err:
                with lib.writing("second"):
                    pass
            assert err.value.holder["pid"] == holder.pid
            assert "mediasearch index ~/Pictures" in str(err.value) and f"pid {holder.pid}" in str(err.value)
            with pytest.raises(LibraryLockedError):  # any catalog write, e.g. a judgement
                with lib.catalog.transaction():
                    pass
            # readers are fine meanwhile
            assert lib.indexed_encoders() == []
            lib.wait, lib.wait_timeout_s = True, 0.5
            with pytest.raises(LibraryLockedError):
                with lib.writing("waits, then gives up"):
                    pass
    finally:
        holder.kill()
        holder.wait()
    with Library(settings) as lib, lib.writing("after"):  # the OS released it with the process
        pass


def test_readers_write_nothing(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, 3)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
    def snapshot() -> dict:
        return {
            str(p.relative_to(settings.library_dir)): p.read_bytes()
            for p in settings.library_dir.rglob("*") if p.is_file() and not p.name.endswith("-shm")
        }
    before = snapshot()
    with Library(settings) as reader:
        search(reader, Query(Modality.IMAGE, path=folder / "img000.jpg"), k=3)
        reader.store_status()
    r = subprocess.run(
        [sys.executable, "-m", "mediasearch", "--library", str(settings.library_dir), "status", "--json"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    after = snapshot()
    assert after.keys() == before.keys()
    changed = [k for k in before if before[k] != after[k] and not k.endswith("-wal")]
    assert changed == []


# -- derived index: damaged, missing, rebuilt without re-embedding ------------------------------


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing", "empty"])
def test_damaged_hnsw_file_is_searched_exactly_then_rebuilt_without_reembedding(
    settings: Settings, tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "photos"
    paths = _photos(folder, 6)
    hnsw = settings.with_(index_type="hnsw")
    with Library(hnsw) as lib:
        index_paths(lib, [folder], encoders=ENC)
    path = ann_path(settings.library_dir, "baseline-image")
    assert path.is_file()
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(data[:100] + os.urandom(len(data) - 100))
    elif damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"")
    with Library(hnsw) as reader:
        assert reader.store_status()["baseline-image"]["problem"]
        hits = search(reader, Query(Modality.IMAGE, path=paths[2]), encoder="baseline-image", k=1)
        assert hits[0].path == paths[2]  # exact search over the stored vectors meanwhile
    with Library(hnsw) as lib:
        report = index_paths(lib, [folder], encoders=ENC)
        assert report.encoders["baseline-image"].items == 0 and report.encoders["baseline-image"].segments == 0
        status = lib.store_status()["baseline-image"]
        assert status["problem"] == "" and status["graph"]["covered"] == 6
        assert status["graph"]["recall_at_10"] >= 0.95
        events = lib.catalog.store_events()
        assert any("rebuilt from stored vectors" in e["detail"] for e in events)
        for p in paths:
            assert search(lib, Query(Modality.IMAGE, path=p), encoder="baseline-image", k=1)[0].path == p


def test_deleted_files_are_tombstones_then_compacted(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    import mediasearch.library as library_mod

    monkeypatch.setattr(library_mod, "COMPACT_MIN_DEAD", 2)
    folder = tmp_path / "photos"
    paths = _photos(folder, 8)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
    for p in paths[:5]:
        p.unlink()
    with Library(settings) as lib:
        report = index_paths(lib, [folder], encoders=ENC)
        assert report.removed == 5
        status = lib.store_status()["baseline-image"]
        assert (status["vectors"], status["live"], status["dead"]) == (3, 3, 0)  # compacted at the end
        assert any(e["event"] == "compacted" for e in lib.catalog.store_events())
        for p in paths[5:]:
            hits = search(lib, Query(Modality.IMAGE, path=p), encoder="baseline-image", k=5)
            assert hits[0].path == p and len(hits) == 3


# -- schema and paths ------------------------------------------------------------------------------


def test_every_cascading_foreign_key_and_hot_lookup_has_an_index(library: Library) -> None:
    conn = library.catalog.conn
    indexed: set[tuple[str, str]] = set()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        for idx in conn.execute(f"PRAGMA index_list({table})"):
            first = conn.execute(f"PRAGMA index_info({idx[1]})").fetchone()
            if first:
                indexed.add((table, first[2]))
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '%fts%'"):
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
            if fk[6] == "CASCADE":
                assert (table, fk[3]) in indexed, f"{table}.{fk[3]} cascades without an index"
    assert ("segments", "stream") in indexed
    plan = " ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN DELETE FROM segments WHERE id=1"))
    assert "SCAN embeddings" not in plan


@pytest.mark.parametrize("sep", ["/", "\\"])
def test_assets_under_a_root_use_the_os_separator_rules(tmp_path: Path, sep: str) -> None:
    cat = Catalog(tmp_path / "c.sqlite")
    root = "C:\\Users\\me\\Pictures" if sep == "\\" else "/home/me/Pictures"
    inside = [root + sep + "a.jpg", root + sep + "sub" + sep + "b.jpg"]
    outside = [root + "2" + sep + "c.jpg", root + "-old" + sep + "d.jpg", root[:-1] + sep + "e.jpg"]
    with cat.transaction():
        for p in inside + outside:
            cat.upsert_asset(p, kind=MediaKind.IMAGE, size=1, mtime_ns=1, content_hash=p, status=AssetStatus.OK)
    assert sorted(cat.assets_under(root, sep=sep)) == sorted(inside)
    assert sorted(cat.assets_under(root + sep, sep=sep)) == sorted(inside)
    base, low, high = path_range(root, sep)
    assert low.endswith(sep.encode()) and high[:-1] == base


def test_file_names_that_are_not_utf8_round_trip(library: Library, tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("Windows file names are UTF-16")
    folder = tmp_path / "photos"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/caf\xe9 \xff.jpg"
    mf.make_image(Path(os.fsdecode(raw)), seed=3)
    mf.make_image(folder / "plain.jpg", seed=4)
    report = index_paths(library, [folder], encoders=ENC)
    assert report.new == 2 and not report.failures
    hits = search(library, Query(Modality.IMAGE, path=Path(os.fsdecode(raw))), encoder="baseline-image", k=1)
    assert os.fsencode(hits[0].path) == raw
    conn = sqlite3.connect(library.settings.catalog_path)
    conn.text_factory = bytes
    assert raw in [r[0] for r in conn.execute("SELECT path FROM assets")]


def test_repair_salvages_a_damaged_catalog_and_the_next_run_restores_everything(settings: Settings, tmp_path: Path) -> None:
    from mediasearch.evaluation.groundtruth import add_query, judge_path

    folder = tmp_path / "photos"
    paths = _photos(folder, 30)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
        query = add_query(lib.catalog, settings, modality=Modality.IMAGE, path=paths[0], name="first")
        judge_path(lib.catalog, query, paths[1], 2)
    size = settings.catalog_path.stat().st_size
    with open(settings.catalog_path, "r+b") as fh:  # garbage over the middle pages
        fh.seek(size // 2)
        fh.write(os.urandom(8192))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "mediasearch", "--library", str(settings.library_dir)]
    status = subprocess.run(cli + ["status"], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert status.returncode != 0 and "Traceback" not in status.stderr
    r = subprocess.run(cli + ["repair", "--json"], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["catalog"] != "ok" and Path(out["catalog"]["damaged_copy"]).is_file()
    assert Catalog(settings.catalog_path).integrity_problem() is None
    again = subprocess.run(cli + ["index", str(folder), "--encoders", "baseline-image", "-q", "--json"],
                           capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    with Library(settings) as lib:
        for p in paths:
            hits = search(lib, Query(Modality.IMAGE, path=p), encoder="baseline-image", k=1)
            assert hits[0].path == p and hits[0].score > 0.99
        if "judgements" not in out["catalog"]["tables_cut_short"] and "queries" not in out["catalog"]["tables_cut_short"]:
            from mediasearch.evaluation.groundtruth import asset_qrels, list_queries

            (saved,) = list_queries(lib.catalog, settings)
            assert list(asset_qrels(lib.catalog, saved.id).values()) == [2]


def test_non_utf8_names_through_query_judge_and_export(settings: Settings, tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("Windows file names are UTF-16")
    folder = tmp_path / "photos"
    _photos(folder, 3)
    raw = os.fsencode(folder) + b"/\xe9t\xe9 \xff.jpg"
    odd = Path(os.fsdecode(raw))
    mf.make_image(odd, seed=9)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "mediasearch", "--library", str(settings.library_dir)]

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(cli + list(args), capture_output=True, cwd=REPO, env=env, timeout=120)
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        return done

    run("index", str(folder), "--encoders", "baseline-image", "-q")
    run("query", "add", "--image", os.fsdecode(raw), "--name", "odd")
    run("judge", "odd", os.fsdecode(raw), "--grade", "2")
    out = tmp_path / "qrels.csv"
    run("qrels", "export", str(out), "--format", "csv")
    assert raw.split(b"/")[-1] in out.read_bytes()
    hits = json.loads(run("search", "--image", os.fsdecode(raw), "-k", "1", "--json").stdout)
    assert os.fsencode(hits[0]["path"]) == raw


def test_log_records_lost_with_the_catalog_are_found_again(settings: Settings, tmp_path: Path) -> None:
    """A salvage can lose the vector_logs rows while the logs on disk are intact: the next
    writer counts the stored vectors again and re-adopts them, with no re-embedding."""
    folder = tmp_path / "photos"
    paths = _photos(folder, 8)
    with Library(settings) as lib:
        index_paths(lib, [folder], encoders=ENC)
    conn = sqlite3.connect(settings.catalog_path)
    conn.execute("DELETE FROM vector_logs")
    conn.execute("DELETE FROM embeddings")  # the salvage may lose these too
    conn.commit()
    conn.close()
    with Library(settings) as lib:
        with lib.writing():
            assert lib.last_repair.recovered == {"baseline-image": 8}
            assert lib.last_repair.readopted == {"baseline-image": 8}
        report = index_paths(lib, [folder], encoders=ENC)
        assert report.encoders["baseline-image"].items == 0  # nothing embedded again
        hits = search(lib, Query(Modality.IMAGE, path=paths[3]), encoder="baseline-image", k=1)
        assert hits[0].path == paths[3] and hits[0].score > 0.99
        assert any(e["event"] == "recovered" for e in lib.catalog.store_events(10))

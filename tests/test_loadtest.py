"""`mediasearch loadtest`: concurrent clients (threads, processes, direct, service) give figures in the loadtest.json contract; failures are counted."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import media_factory as mf
from mediasearch.config import Settings
from mediasearch.errors import QueryError, UnknownEncoderError
from mediasearch.evaluation import loadtest as lt

ROW_KEYS = {
    "encoder", "medium", "mode", "target", "concurrency", "queries", "wall_s", "qps", "p50_ms", "p95_ms", "p99_ms",
    "errors", "error_examples", "peak_rss_mb", "rss_scope", "cpu_util", "gpu_util", "gpu_mem_mb",
}


def cli(args: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def make_library(root: Path, images: int = 8, queries: int = 4) -> dict:
    """A library of generated images indexed with baseline-image, with synthetic saved queries."""
    env = {"MEDIASEARCH_HOME": str(root / "lib"), "MEDIASEARCH_MODEL_DIR": str(root / "models")}
    for i in range(images):
        mf.make_image(root / "media" / f"p{i}.jpg", seed=i)
    cli(["index", str(root / "media"), "--encoders", "baseline-image", "-q"], env)
    cli(["synth", "--n", str(queries), "--seed", "3"], env)
    settings = Settings(library_dir=root / "lib", model_dir=root / "models")
    return {"root": root, "env": env, "settings": settings}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_library(tmp_path_factory.mktemp("loadtest"))


def check_contract(data: dict) -> None:
    """Every key and type the model-selection report relies on."""
    assert set(data) == {"version", "created_at", "duration_s", "machine", "results", "skipped", "indexing"}
    assert data["version"] == 1 and data["created_at"] > time.time() - 600 and data["duration_s"] > 0
    machine = data["machine"]
    assert set(machine) == {"cpu", "cores", "flags", "load_avg"}
    assert isinstance(machine["cpu"], str) and machine["cores"] == os.cpu_count() and isinstance(machine["flags"], list)
    for row in data["results"]:
        assert set(row) == ROW_KEYS, set(row) ^ ROW_KEYS
        assert row["medium"] in ("visual", "audio", "speech") and row["mode"] in lt.MODES and row["target"] in lt.TARGETS
        assert row["rss_scope"] == ("service" if row["target"] == "service" else "clients")
        assert isinstance(row["queries"], int) and isinstance(row["errors"], int) and isinstance(row["error_examples"], list)
    for skip in data["skipped"]:
        assert set(skip) == {"encoder", "mode", "target", "reason"} and skip["reason"]
    for entry in data["indexing"]:
        assert set(entry) == {"encoder", "items_per_s", "media_s_per_s", "peak_rss_mb", "run_at"}


def check_healthy(row: dict) -> None:
    assert row["errors"] == 0 and row["error_examples"] == [], row
    assert row["queries"] > 0 and row["qps"] > 0 and row["wall_s"] > 0
    assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert row["peak_rss_mb"] > 20  # a Python process with numpy and faiss loaded
    assert 0 < row["cpu_util"] <= 1.05 * (row["concurrency"] + 1)
    assert row["gpu_util"] is None and row["gpu_mem_mb"] is None  # baseline-image runs no CUDA


def test_threads_and_processes_at_1_and_4_clients(lib: dict) -> None:
    options = lt.LoadOptions(concurrency=(4, 1), duration_s=0.6, modes=("threads", "processes"))
    seen = []
    data = lt.run_loadtest(lib["settings"], options, progress=seen.append)
    check_contract(data)
    assert data["duration_s"] == 0.6
    rows = {(r["mode"], r["target"], r["concurrency"]): r for r in data["results"]}
    assert set(rows) == {(m, "direct", c) for m in ("threads", "processes") for c in (1, 4)}
    for row in rows.values():
        assert row["encoder"] == "baseline-image" and row["medium"] == "visual"
        check_healthy(row)
    # four clients are four processes: their memory adds up
    assert rows[("processes", "direct", 4)]["peak_rss_mb"] > 2 * rows[("processes", "direct", 1)]["peak_rss_mb"]
    # no service runs: its rows are skipped, each with the reason
    assert {(s["mode"], s["target"]) for s in data["skipped"]} == {("threads", "service"), ("processes", "service")}
    assert all(s["reason"] == lt.NO_SERVICE for s in data["skipped"])
    (indexing,) = data["indexing"]
    assert indexing["encoder"] == "baseline-image" and indexing["items_per_s"] > 0
    assert indexing["media_s_per_s"] is None and indexing["peak_rss_mb"] > 0
    assert seen and seen[-1].done == seen[-1].total == 4 and seen[-1].stage == "loadtest"

    path = lt.save_results(data, lib["settings"].library_dir, out=lib["root"] / "copy.json")
    assert path == lib["settings"].library_dir / "evaluation" / "loadtest.json"
    assert lt.load_results(lib["settings"].library_dir) == data == json.loads((lib["root"] / "copy.json").read_text())
    png = base64.b64decode(lt.latency_throughput_png(data, encoder="baseline-image"))
    assert png.startswith(b"\x89PNG") and base64.b64decode(lt.latency_throughput_png(data["results"])).startswith(b"\x89PNG")


def test_cli_table_and_json_match_the_file(lib: dict) -> None:
    out = cli(["loadtest", "--concurrency", "1,2", "--duration", "0.3", "--mode", "threads", "--json", "-q"], lib["env"])
    data = json.loads(out.stdout)
    check_contract(data)
    assert data == lt.load_results(lib["settings"].library_dir)
    assert [(r["mode"], r["target"], r["concurrency"]) for r in data["results"]] == [("threads", "direct", 1), ("threads", "direct", 2)]
    table = cli(["loadtest", "--concurrency", "1", "--duration", "0.3", "--mode", "threads", "--target", "service", "-q"], lib["env"]).stdout
    assert "no `mediasearch serve` answers" in table and "loadtest.json" in table
    bad = cli(["loadtest", "--concurrency", "0"], lib["env"], check=False)
    assert bad.returncode == 2 and "concurrency" in bad.stderr
    bad = cli(["loadtest", "--encoders", "no-such-encoder", "--duration", "0.1"], lib["env"], check=False)
    assert bad.returncode != 0 and "no-such-encoder" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_through_a_running_service(lib: dict) -> None:
    file = lib["settings"].library_dir / "serve.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediasearch", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **lib["env"]},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads(file.read_text()).get("pid") == proc.pid:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        options = lt.LoadOptions(concurrency=(1, 4), duration_s=0.6, modes=("threads",), targets=("service",))
        data = lt.run_loadtest(lib["settings"], options)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    check_contract(data)
    assert data["skipped"] == []
    rows = {r["concurrency"]: r for r in data["results"]}
    assert set(rows) == {1, 4} and all(r["target"] == "service" and r["rss_scope"] == "service" for r in rows.values())
    for row in rows.values():
        check_healthy(row)


def test_a_failing_query_is_an_error_not_a_crash(tmp_path: Path) -> None:
    small = make_library(tmp_path, images=4, queries=3)
    from mediasearch.evaluation.groundtruth import list_queries
    from mediasearch.library import Library

    with Library(small["settings"]) as library:
        broken = list_queries(library.catalog, small["settings"])[0]
    broken.file.unlink()
    options = lt.LoadOptions(concurrency=(2,), duration_s=0.4, modes=("threads", "processes"), targets=("direct",))
    data = lt.run_loadtest(small["settings"], options)
    check_contract(data)
    assert len(data["results"]) == 2
    for row in data["results"]:
        assert row["errors"] > 0 and row["queries"] > 0  # the other two queries still answer
        assert row["error_examples"] and all("query file not found" in e and str(broken.file) in e for e in row["error_examples"])
        assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    # the query budget bounds a level even when every query fails fast
    options = lt.LoadOptions(concurrency=(2,), duration_s=30, max_queries=10, modes=("threads",), targets=("direct",))
    (row,) = lt.run_loadtest(small["settings"], options)["results"]
    assert row["queries"] + row["errors"] <= 10 and row["wall_s"] < 10


def test_a_service_that_does_not_answer_is_skipped_with_the_reason(tmp_path: Path) -> None:
    small = make_library(tmp_path, images=3, queries=2)
    import socket

    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    record = {"host": "127.0.0.1", "port": port, "pid": os.getpid(), "token": "t", "url": f"http://127.0.0.1:{port}"}
    (small["settings"].library_dir / "serve.json").write_text(json.dumps(record))
    options = lt.LoadOptions(concurrency=(1,), duration_s=0.2, modes=("threads",), targets=("direct", "service"))
    data = lt.run_loadtest(small["settings"], options)
    assert [(r["target"], r["errors"]) for r in data["results"]] == [("direct", 0)]
    assert data["skipped"] == [{"encoder": "baseline-image", "mode": "threads", "target": "service", "reason": lt.OTHER_SERVICE}]


def test_what_cannot_be_load_tested(lib: dict, tmp_path: Path) -> None:
    with pytest.raises(UnknownEncoderError):
        lt.run_loadtest(lib["settings"], lt.LoadOptions(encoders=("no-such-encoder",)))
    with pytest.raises(QueryError, match="nothing to load-test"):
        lt.run_loadtest(lib["settings"], lt.LoadOptions(encoders=("baseline-audio",), modes=("threads",), targets=("direct",)))
    with pytest.raises(QueryError):
        lt.LoadOptions(concurrency=(0,))
    with pytest.raises(QueryError):
        lt.LoadOptions(modes=("fibres",))
    assert lt.load_results(tmp_path) is None
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "evaluation" / "loadtest.json").write_text('{"version": 99}')
    assert lt.load_results(tmp_path) is None

"""`mediasearch serve`: token-guarded local HTTP answers equal to `search --json`, used by `search` when up, clean shutdown."""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import media_factory as mf

pytestmark = pytest.mark.skipif(os.name == "nt", reason="signals and pid checks are POSIX here")


def cli(args: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("serve")
    env = {"MEDIASEARCH_HOME": str(root / "lib"), "MEDIASEARCH_MODEL_DIR": str(root / "models")}
    images = [mf.make_image(root / "media" / f"p{i}.jpg", seed=i) for i in range(6)]
    video = mf.make_video(root / "media" / "clip.mp4", duration_s=4.0, fps=10, seed=9)
    cli(["index", str(root / "media"), "--encoders", "baseline-image", "-q"], env)
    return {"root": root, "env": env, "images": images, "video": video, "file": root / "lib" / "serve.json"}


class Server:
    """A `mediasearch serve --port 0` subprocess and what its serve.json says."""

    def __init__(self, lib: dict) -> None:
        self.file: Path = lib["file"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasearch", "--library", str(lib["root"] / "lib"), "serve", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **lib["env"]},
        )
        deadline = time.monotonic() + 60
        self.record: dict = {}
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.record = json.loads(self.file.read_text())
                if self.record.get("pid") == self.proc.pid:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        assert self.record.get("pid") == self.proc.pid, f"service did not start: {self.proc.communicate(timeout=10)}"

    def request(self, method: str, path: str, body: object = None, *, token: str | None = "mine") -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.record["port"], timeout=30)
        headers = {}
        if token is not None:
            headers["Authorization"] = "Bearer " + (self.record["token"] if token == "mine" else token)
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        return response.status, data

    def searches(self) -> int:
        status, data = self.request("GET", "/health")
        assert status == 200
        return data["searches"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)


@pytest.fixture
def server(lib: dict):
    s = Server(lib)
    yield s
    s.stop()


def test_answers_like_search_json_and_needs_the_token(lib: dict, server: Server) -> None:
    assert stat.S_IMODE(lib["file"].stat().st_mode) == 0o600
    assert server.record["host"] == "127.0.0.1" and server.record["url"] == f"http://127.0.0.1:{server.record['port']}"
    query = str(lib["images"][2])
    local = json.loads(cli(["search", "--image", query, "-k", "4", "--json", "--no-server"], lib["env"]).stdout)
    status, served = server.request("POST", "/search", {"image": query, "k": 4})
    assert status == 200 and served == local and served[0]["path"] == query
    frames = json.loads(cli(["search", "--image", query, "--kind", "video", "--frames", "--json", "--no-server"], lib["env"]).stdout)
    status, served = server.request("POST", "/search", {"image": query, "k": 20, "kind": "video", "group": False})
    assert status == 200 and served == frames and len(frames) >= 2 and {h["kind"] for h in frames} == {"video"}

    for token in (None, "not-the-token", server.record["token"][:-1]):
        for method, path, body in (("GET", "/health", None), ("POST", "/search", {"image": query}), ("POST", "/shutdown", None)):
            status, data = server.request(method, path, body, token=token)
            assert status == 401 and set(data) == {"error"}
    assert server.proc.poll() is None  # an unauthorised /shutdown did nothing

    status, data = server.request("POST", "/search", {"image": str(lib["root"] / "missing.jpg")})
    assert status == 400 and "not found" in data["error"]
    status, data = server.request("POST", "/search", {"image": query, "encoder": "no-such-encoder"})
    assert status == 400 and "no-such-encoder" in data["error"] and "\n" not in data["error"]
    status, data = server.request("POST", "/search", {"text": "a", "image": query})
    assert status == 400 and "exactly one" in data["error"]
    status, data = server.request("GET", "/nowhere")
    assert status == 404 and set(data) == {"error"}


def test_search_uses_the_service_when_up_and_falls_back(lib: dict, server: Server) -> None:
    query = ["search", "--image", str(lib["images"][4]), "-k", "3"]
    local_json = cli([*query, "--json", "--no-server"], lib["env"])
    local_table = cli([*query, "--no-server"], lib["env"])
    before = server.searches()
    served_json = cli([*query, "--json"], lib["env"])
    served_table = cli(query, lib["env"])
    assert server.searches() == before + 2  # both went through the service
    assert served_json.stdout == local_json.stdout and served_table.stdout == local_table.stdout
    assert served_json.stderr == local_json.stderr and served_table.stderr == local_table.stderr
    cli([*query, "--no-server"], lib["env"])
    assert server.searches() == before + 2

    # killed: serve.json stays behind with a dead pid; search says nothing and answers the same
    server.proc.kill()
    server.proc.wait(timeout=30)
    assert lib["file"].exists()
    fallback = cli([*query, "--json"], lib["env"])
    assert fallback.stdout == local_json.stdout and fallback.stderr == local_json.stderr
    lib["file"].unlink()

    # a live pid that does not answer /health (this test process, a port nobody listens on)
    stale = {**server.record, "pid": os.getpid(), "port": 1}
    lib["file"].write_text(json.dumps(stale))
    started = time.monotonic()
    fallback = cli(query, lib["env"])
    assert fallback.stdout == local_table.stdout and fallback.stderr == local_table.stderr
    assert time.monotonic() - started < 60
    lib["file"].unlink()


def test_shutdown_endpoint_and_sigterm_exit_cleanly(lib: dict) -> None:
    first = Server(lib)
    try:
        status, data = first.request("POST", "/shutdown")
        assert status == 200 and data == {"ok": True}
        out, err = first.proc.communicate(timeout=30)
        assert first.proc.returncode == 0, err
        assert "serving" in out and "serve.json" in out and not lib["file"].exists()
    finally:
        first.stop()

    second = Server(lib)
    try:
        assert second.record["port"] != 0
        assert second.request("GET", "/health")[1]["ok"] is True
        second.proc.send_signal(signal.SIGTERM)
        out, err = second.proc.communicate(timeout=30)
        assert second.proc.returncode == 0, err
        assert not lib["file"].exists() and "Traceback" not in err
    finally:
        second.stop()


def test_a_second_service_for_the_same_library_is_refused(lib: dict, server: Server) -> None:
    proc = cli(["serve", "--port", "0"], lib["env"], check=False)
    assert proc.returncode == 1 and "already" in proc.stderr and str(server.record["port"]) in proc.stderr
    assert json.loads(lib["file"].read_text())["pid"] == server.proc.pid  # the running one's file is kept


def test_answers_follow_indexing_and_parallel_requests_agree(lib: dict, server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    query = {"image": str(lib["images"][1]), "k": 20}
    status, before = server.request("POST", "/search", query)
    assert status == 200 and len(before) == len(lib["images"]) + 1  # the video grouped into one hit
    with ThreadPoolExecutor(max_workers=6) as pool:  # more requests than worker threads: each keeps its library
        answers = list(pool.map(lambda _: server.request("POST", "/search", query), range(12)))
    assert answers == [(200, before)] * 12

    # a new file indexed while the service runs is found without restarting it
    extra = mf.make_image(lib["root"] / "more" / "new.jpg", seed=99)
    cli(["index", str(lib["root"] / "more"), "--encoders", "baseline-image", "-q"], lib["env"])
    status, after = server.request("POST", "/search", {"image": str(extra), "k": 20})
    assert status == 200 and after[0]["path"] == str(extra) and len(after) == len(before) + 1
    local = json.loads(cli(["search", "--image", str(extra), "-k", "20", "--json", "--no-server"], lib["env"]).stdout)
    assert after == local


def test_the_client_rebuilds_the_same_hits_frames_included(lib: dict, server: Server) -> None:
    from mediasearch.config import Settings
    from mediasearch.library import Library
    from mediasearch.media import MediaKind, Modality
    from mediasearch.search import Query, search
    from mediasearch.serve import search_via_service

    settings = Settings().with_(library_dir=lib["root"] / "lib", model_dir=Path(lib["env"]["MEDIASEARCH_MODEL_DIR"]))
    cases = [
        (Query(Modality.IMAGE, path=lib["video"], start_s=2.0), {"k": 5}),
        (Query(Modality.IMAGE, path=lib["video"]), {"k": 3, "kind": MediaKind.VIDEO, "group": False}),
        (Query(Modality.IMAGE, path=lib["images"][3]), {"k": 2, "encoder": "baseline-image"}),
    ]
    before = server.searches()
    with Library(settings) as library:
        for query, options in cases:
            served = search_via_service(settings, query, **options)
            assert served is not None and served == search(library, query, **options)
    assert server.searches() == before + len(cases)
    grouped = search_via_service(settings, cases[0][0], k=5)
    assert grouped is not None and any(hit.frames for hit in grouped)  # the video's other frames ride along
    assert search_via_service(settings.with_(precision="fp32" if settings.precision != "fp32" else "bf16"), cases[0][0]) is None

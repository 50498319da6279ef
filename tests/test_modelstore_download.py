"""`models pull` over HTTP on 127.0.0.1: download, resume, checksum mismatch, server errors, offline."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from mediasearch.errors import CancelledError, DownloadError, UnknownModelError
from mediasearch.modelstore import ModelStore, Status
from mediasearch.modelstore.errors import DownloadChecksumError
from mediasearch.modelstore.manifest import parse
from mediasearch.progress import CancelToken, Progress

PAYLOAD = os.urandom(1_000_000) + b"end"


class WeightsServer:
    """Serves ``files`` (URL path -> bytes) with Range support and switchable misbehaviour.

    ``mode``: "ok"; "cut-once" (the first full GET stops halfway and closes); "always-500";
    "ignore-range" (answers 200 with the whole file to range requests).
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.mode = "ok"
        self.requests: list[tuple[str, str | None]] = []
        self._cut = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                if server.mode == "always-500":
                    self.send_error(500, "boom")
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404, "not here")
                    return
                start = 0
                if rng and server.mode != "ignore-range":
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.mode == "cut-once" and not server._cut and start == 0:
                    server._cut = True
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[WeightsServer]:
    srv = WeightsServer({"/files/weights.bin": PAYLOAD})
    yield srv
    srv.close()


def manifest_for(url: str, data: bytes = PAYLOAD, *, sha256: str | None = None) -> dict:
    return parse(
        {
            "model": [
                {
                    "name": "toy",
                    "library": "torch",
                    "licence": "MIT",
                    "dir": "toy",
                    "kind": "file",
                    "files": [
                        {
                            "path": "weights.bin",
                            "url": url,
                            "size": len(data),
                            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
                        }
                    ],
                }
            ]
        }
    )


def fast(**kwargs: object) -> dict:
    return {"timeout_s": 5.0, "backoff_s": 0.0, **kwargs}


def test_pull_downloads_verifies_installs_and_reports_progress(tmp_path: Path, server: WeightsServer) -> None:
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    events: list[Progress] = []
    status = store.pull("toy", progress=events.append, **fast())
    assert status.status is Status.PRESENT
    assert store.path("toy").read_bytes() == PAYLOAD
    assert not list(tmp_path.rglob("*.part"))
    downloads = [e for e in events if e.stage == "download"]
    assert downloads and downloads[-1].done == len(PAYLOAD) == downloads[-1].total and downloads[-1].unit == "B"
    record = json.loads((tmp_path / ".mediasearch" / "installed.json").read_text())["models"]["toy"]["files"]
    assert record["weights.bin"]["accepted"] == "manifest"
    assert record["weights.bin"]["source"] == server.url + "/files/weights.bin"
    assert store.pull("toy", **fast()).status is Status.PRESENT  # already there: nothing fetched
    assert len(server.requests) == 1


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path: Path, server: WeightsServer) -> None:
    server.mode = "cut-once"
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    with pytest.raises(DownloadError, match="cut short"):
        store.pull("toy", **fast(attempts=1))
    part = store.path("toy").with_name("weights.bin.part")
    assert 0 < part.stat().st_size < len(PAYLOAD)
    assert store.status("toy").status is Status.PARTIAL

    have = part.stat().st_size
    assert store.pull("toy", **fast()).status is Status.PRESENT
    assert server.requests[-1] == ("/files/weights.bin", f"bytes={have}-")
    assert store.path("toy").read_bytes() == PAYLOAD and not part.exists()


def test_a_pull_retries_and_resumes_by_itself(tmp_path: Path, server: WeightsServer) -> None:
    server.mode = "cut-once"
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    assert store.pull("toy", **fast(attempts=3)).status is Status.PRESENT
    assert [r[1] is not None for r in server.requests] == [False, True]
    assert store.path("toy").read_bytes() == PAYLOAD


def test_a_server_ignoring_ranges_restarts_cleanly(tmp_path: Path, server: WeightsServer) -> None:
    server.mode = "ignore-range"
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    part = tmp_path / "toy" / "weights.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:1000])
    assert store.pull("toy", **fast()).status is Status.PRESENT
    assert store.path("toy").read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_partial_file_and_says_so(tmp_path: Path, server: WeightsServer) -> None:
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin", sha256="0" * 64))
    with pytest.raises(DownloadChecksumError) as info:
        store.pull("toy", **fast())
    assert "deleted" in str(info.value) and "0" * 64 in str(info.value)
    assert not list(tmp_path.rglob("weights.bin*"))
    assert store.status("toy").status is Status.MISSING


def test_server_errors_fail_with_the_status_code(tmp_path: Path, server: WeightsServer) -> None:
    server.mode = "always-500"
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    with pytest.raises(DownloadError, match="HTTP 500") as info:
        store.pull("toy", **fast(attempts=2))
    assert not info.value.offline and len(server.requests) == 2
    assert not store.path("toy").exists()

    server.mode = "ok"
    missing = ModelStore(tmp_path / "b", manifest=manifest_for(server.url + "/files/nothing.bin"))
    with pytest.raises(DownloadError, match="HTTP 404"):
        missing.pull("toy", **fast())  # not transient: no retry
    assert len(server.requests) == 3


def test_a_size_the_manifest_does_not_expect_is_refused_before_the_transfer(tmp_path: Path, server: WeightsServer) -> None:
    server.files["/files/weights.bin"] = PAYLOAD + b"extra"
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    with pytest.raises(DownloadError, match="manifest expects"):
        store.pull("toy", **fast())


def test_offline_fails_fast_naming_models_import(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = ModelStore(tmp_path, manifest=manifest_for(f"http://127.0.0.1:{port}/weights.bin"))
    started = time.monotonic()
    with pytest.raises(DownloadError) as info:
        store.pull("toy", timeout_s=5.0, attempts=3, backoff_s=1.0)
    assert time.monotonic() - started < 2.0  # no retries, no back-off
    assert info.value.offline
    assert "connection refused" in str(info.value)
    assert "mediasearch models import toy PATH" in str(info.value)


def test_cancel_keeps_the_partial_file_for_a_later_resume(tmp_path: Path, server: WeightsServer) -> None:
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(CancelledError):
        store.pull("toy", cancel=cancel, **fast())
    assert (tmp_path / "toy" / "weights.bin.part").exists()
    assert store.pull("toy", **fast()).status is Status.PRESENT


def test_require_with_allow_download_pulls(tmp_path: Path, server: WeightsServer) -> None:
    store = ModelStore(tmp_path, manifest=manifest_for(server.url + "/files/weights.bin"))
    assert store.require("toy", allow_download=True) == tmp_path / "toy" / "weights.bin"


def test_mirror_serves_the_store_layout(tmp_path: Path, server: WeightsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.files["/mirror/toy/weights.bin"] = PAYLOAD
    store = ModelStore(tmp_path, manifest=manifest_for("https://unreachable.invalid/weights.bin"))
    monkeypatch.setenv("MEDIASEARCH_MODEL_MIRROR", server.url + "/mirror")
    assert store.pull("toy", **fast()).status is Status.PRESENT
    assert server.requests == [("/mirror/toy/weights.bin", None)]


def test_bundled_labels_install_without_a_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIASEARCH_MODEL_MIRROR", "http://127.0.0.1:9/")  # would fail if used
    store = ModelStore(tmp_path)
    status = store.pull("audioset-labels")
    assert status.status is Status.PRESENT and status.files[0].accepted == "manifest"
    assert hashlib.sha256(store.path("audioset-labels").read_bytes()).hexdigest().startswith("cdd10498")


# -- the CLI handlers ----------------------------------------------------------------------


def cli(tmp_path: Path, *argv: str) -> tuple[int, str]:
    from mediasearch.cli_models import register
    from mediasearch.config import Settings

    parser = argparse.ArgumentParser(prog="mediasearch")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", *argv])
    args.settings = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models")
    out = io.StringIO()
    return args.func(args, out=out), out.getvalue()


def test_cli_list_pull_verify(tmp_path: Path, shared_models: Path) -> None:
    code, text = cli(tmp_path, "list", "--json")
    listing = {m["name"]: m for m in json.loads(text)["models"]}
    assert code == 0 and set(listing) >= {"whisper-tiny-en", "panns-cnn14"}
    assert listing["panns-cnn14"]["status"] == "missing" and listing["panns-cnn14"]["licence"] == "CC-BY-4.0"
    assert listing["all-minilm-l6-v2"]["encoders"][:2] == ["whisper-tiny", "whisper-tiny.en"]

    srv = WeightsServer({"/m/timm/tf_efficientnet_lite0.imagenet.safetensors": (shared_models / "timm" / "tf_efficientnet_lite0.imagenet.safetensors").read_bytes()})
    try:
        code, text = cli(tmp_path, "pull", "tf-efficientnet-lite0", "--mirror", srv.url + "/m")
    finally:
        srv.close()
    assert code == 0 and "tf-efficientnet-lite0: present" in text

    code, text = cli(tmp_path, "list")
    line = next(l for l in text.splitlines() if l.startswith("tf-efficientnet-lite0"))
    assert "present" in line and "18.8 MB" in line and "Apache-2.0" in line and "efficientnet-lite0" in line

    code, text = cli(tmp_path, "verify")
    assert code == 0 and "OK" in text
    weights = tmp_path / "models" / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    code, text = cli(tmp_path, "verify", "--json")
    assert code == 1 and json.loads(text)["files"][0]["result"] == "mismatch"


def test_cli_import_and_errors(tmp_path: Path, shared_models: Path) -> None:
    code, text = cli(tmp_path, "import", "audioset-labels", str(shared_models / "panns" / "class_labels_indices.csv"))
    assert code == 0 and "present" in text and "note: the same 527 rows" in text
    with pytest.raises(UnknownModelError, match="valid models"):
        cli(tmp_path, "pull", "no-such-model")
    with pytest.raises(DownloadError, match="models import"):
        cli(tmp_path, "pull", "whisper-tiny", "--mirror", "http://127.0.0.1:9", "--timeout", "2")

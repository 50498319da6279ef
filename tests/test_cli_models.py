"""`models pull/import` take encoder names and act on every model the encoder needs; `encoders` names what is missing and the command that installs it."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from mediasearch.modelstore import ModelStore


def run(args: list[str], models: Path, *, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDIASEARCH_MODEL_DIR": str(models)}
    proc = subprocess.run([sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(shared_models: Path) -> Iterator[str]:
    """The real-weights folder served over HTTP on 127.0.0.1 (it is laid out like a model store)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(shared_models)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_pull_by_encoder_name_installs_its_model(tmp_path: Path, mirror: str, shared_models: Path) -> None:
    models = tmp_path / "models"
    out = run(["models", "pull", "efficientnet-lite0", "--mirror", mirror, "--timeout", "10"], models).stdout
    assert "encoder efficientnet-lite0 needs: tf-efficientnet-lite0" in out
    assert "tf-efficientnet-lite0: present" in out
    store = ModelStore(models)
    assert store.is_present("tf-efficientnet-lite0")
    original = shared_models / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
    assert store.path("tf-efficientnet-lite0").read_bytes() == original.read_bytes()


def test_import_encoder_from_store_folder_installs_every_model(tmp_path: Path, shared_models: Path) -> None:
    models = tmp_path / "models"
    before = json.loads(run(["encoders", "--json"], models).stdout)
    whisper = next(d for d in before if d["name"] == "whisper-tiny.en")
    assert whisper["missing_models"] == ["whisper-tiny-en", "all-minilm-l6-v2"]
    assert whisper["install_command"] == "mediasearch models pull whisper-tiny.en"
    table = run(["encoders"], models).stdout
    line = next(l for l in table.splitlines() if l.startswith("whisper-tiny.en "))
    assert "missing whisper-tiny-en, all-minilm-l6-v2" in line and "mediasearch models pull whisper-tiny.en" in line

    out = run(["models", "import", "whisper-tiny.en", str(shared_models)], models).stdout
    assert "whisper-tiny-en: present" in out and "all-minilm-l6-v2: present" in out
    store = ModelStore(models)
    assert store.is_present("whisper-tiny-en") and store.is_present("all-minilm-l6-v2")
    after = next(d for d in json.loads(run(["encoders", "--json"], models).stdout) if d["name"] == "whisper-tiny.en")
    assert after["weights_present"] and after["missing_models"] == [] and after["install_command"] is None


def test_import_encoder_from_one_file_says_what_the_folder_must_hold(tmp_path: Path, shared_models: Path) -> None:
    models = tmp_path / "models"
    proc = run(["models", "import", "whisper-tiny.en", str(shared_models / "whisper" / "tiny.en.pt")], models, check=False)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "needs 2 models (whisper-tiny-en, all-minilm-l6-v2)" in message
    assert "whisper/tiny.en.pt" in message and "sentence-transformers/all-MiniLM-L6-v2/" in message
    assert "mediasearch models import whisper-tiny-en PATH" in message
    assert not ModelStore(models).is_present("whisper-tiny-en")  # nothing installed


def test_import_encoder_from_folder_missing_one_model_installs_nothing(tmp_path: Path, shared_models: Path) -> None:
    models = tmp_path / "models"
    partial = tmp_path / "partial" / "whisper"
    partial.mkdir(parents=True)
    (partial / "tiny.en.pt").symlink_to(shared_models / "whisper" / "tiny.en.pt")
    proc = run(["models", "import", "whisper-tiny.en", str(partial.parent)], models, check=False)
    assert proc.returncode != 0 and "not found there: all-minilm-l6-v2" in proc.stderr
    assert not ModelStore(models).is_present("whisper-tiny-en")


def test_import_single_model_encoder_from_its_file(tmp_path: Path, shared_models: Path) -> None:
    models = tmp_path / "models"
    src = shared_models / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
    out = run(["models", "import", "efficientnet-lite0", str(src)], models).stdout
    assert "tf-efficientnet-lite0: present" in out
    assert ModelStore(models).is_present("tf-efficientnet-lite0")


def test_unknown_and_weight_free_names(tmp_path: Path) -> None:
    models = tmp_path / "models"
    proc = run(["models", "pull", "effnet"], models, check=False)
    assert proc.returncode != 0
    assert "unknown model or encoder 'effnet'" in proc.stderr
    assert "tf-efficientnet-lite0" in proc.stderr and "efficientnet-lite0," in proc.stderr
    proc = run(["models", "pull", "baseline-image"], models, check=False)
    assert proc.returncode != 0 and "needs no model weights" in proc.stderr
    assert not models.exists() or not any(models.rglob("*.part"))


def test_urls_lists_official_sources_and_store_places_for_an_encoder(tmp_path: Path) -> None:
    out = run(["models", "urls", "whisper-tiny.en"], tmp_path / "models").stdout
    lines = out.splitlines()
    whisper = next(l for l in lines if l.startswith("whisper-tiny-en "))
    assert "whisper/tiny.en.pt" in whisper and "https://openaipublic.azureedge.net/" in whisper
    minilm = [l for l in lines if l.startswith("all-minilm-l6-v2 ")]
    assert len(minilm) == len(ModelStore(tmp_path / "models").entry("all-minilm-l6-v2").files)
    assert any("sentence-transformers/all-MiniLM-L6-v2/model.safetensors" in l and "huggingface.co" in l for l in minilm)

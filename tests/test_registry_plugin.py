"""Adding an encoder is data: one [[encoder]] table in the library's encoders.toml makes a new
encoder of a known family listed, indexed with and searched through the CLI (separate
processes, as a user runs them); bad entries are refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audio_factory import chirp, noise, place, tone, write_audio
from mediasearch.encoders import registry

ENTRY = """
# a baseline-audio variant on 5 s windows (family "baseline" knows its class: no code)
[[encoder]]
name = "baseline-audio-5s"
family = "baseline"
streams = ["audio"]
query_modalities = ["audio"]
dim = {dim}
sample_rate = 16000
preference = 80
description = "baseline-audio on 5 s windows every 2.5 s"
licence = "Apache-2.0 (this project)"
preprocessing = "as baseline-audio"
benchmark = ""
[encoder.options]
window_s = 5.0
hop_s = 2.5
"""


def run(args: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture
def scratch_registry():
    before = dict(registry.REGISTRY)
    sources = dict(registry.ENTRY_SOURCES)
    yield registry
    registry.REGISTRY.clear()
    registry.REGISTRY.update(before)
    registry.ENTRY_SOURCES.clear()
    registry.ENTRY_SOURCES.update(sources)
    registry.unload_all()


def test_an_entry_in_the_librarys_encoders_toml_is_usable_end_to_end(tmp_path: Path) -> None:
    lib, media = tmp_path / "lib", tmp_path / "media"
    lib.mkdir()
    media.mkdir()
    (lib / registry.ENCODERS_FILE).write_text(ENTRY.format(dim=registry.get_spec("baseline-audio").dim), encoding="utf-8")
    write_audio(media / "sweep.flac", chirp(200, 3000, 12.0))
    write_audio(media / "hum.wav", place([(1.0, tone(220, 9.0))], total_s=12.0))
    write_audio(media / "hiss.ogg", noise(12.0, seed=3))
    env = {"MEDIASEARCH_HOME": str(lib), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}

    listed = {d["name"]: d for d in json.loads(run(["encoders", "--json"], env).stdout)}
    entry = listed["baseline-audio-5s"]
    assert entry["group"] == "audio" and entry["group_label"] == "sound" and entry["hosting"] == "self-hosted"
    assert entry["defined_in"] == str(lib / registry.ENCODERS_FILE) and entry["weights_present"] is True
    assert listed["baseline-audio"]["defined_in"] == "built in"
    table = run(["encoders"], env).stdout
    assert "baseline-audio-5s" in table.split("sound:")[1].split("speech transcripts:")[0]
    assert "entries from " + str(lib / registry.ENCODERS_FILE) in table

    report = json.loads(run(["index", str(media), "--encoders", "baseline-audio-5s", "--json", "-q"], env).stdout)
    stats = report["encoders"]["baseline-audio-5s"]
    assert stats["items"] == 3 and stats["segments"] == 3 * 4  # 12 s in 5 s windows every 2.5 s: 0, 2.5, 5, 7.5
    # no --encoder: the default for a sound query is the best-ranked indexed one, the new entry
    hits = json.loads(run(["search", "--audio", str(media / "hum.wav"), "--json", "--no-server"], env).stdout)
    assert hits[0]["encoder"] == "baseline-audio-5s" and Path(hits[0]["path"]).name == "hum.wav"
    status = json.loads(run(["status", "--json"], env).stdout)
    assert status["encoders"]["baseline-audio-5s"]["segments"] == 12

    # the file is the definition: without it the library's vectors are not searchable by that name
    (lib / registry.ENCODERS_FILE).unlink()
    proc = run(["search", "--audio", str(media / "hum.wav"), "--encoder", "baseline-audio-5s", "--no-server"], env, check=False)
    assert proc.returncode == 1 and "unknown encoder 'baseline-audio-5s'" in proc.stderr


def test_bad_entries_are_refused_in_one_line_naming_the_file(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    env = {"MEDIASEARCH_HOME": str(lib), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    path = lib / registry.ENCODERS_FILE
    cases = {
        '[[encoder]]\nname = "x"\nfamily = "nobody"\nstreams = ["image"]\nquery_modalities = ["image"]\ndim = 8\n': "no factory given and family 'nobody'",
        '[[encoder]]\nname = "baseline-image"\nfamily = "baseline"\nstreams = ["image"]\nquery_modalities = ["image"]\ndim = 8\n': "a built-in encoder has this name",
        '[[encoder]]\nname = "y"\nfamily = "baseline"\nstreams = ["image"]\n': "missing field",
        "[[encoder]\n": "",
    }
    for text, words in cases.items():
        path.write_text(text, encoding="utf-8")
        proc = run(["encoders"], env, check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and str(path) in lines[0] and words in lines[0], proc.stderr


def test_entry_files_come_from_the_environment_the_config_folder_and_the_library(scratch_registry, tmp_path: Path, monkeypatch) -> None:
    extra = tmp_path / "more.toml"
    extra.write_text(ENTRY.format(dim=registry.get_spec("baseline-audio").dim).replace("baseline-audio-5s", "baseline-audio-5s-env"), encoding="utf-8")
    monkeypatch.setenv(registry.ENCODERS_ENV, str(extra))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert registry.entry_files(tmp_path / "no-library") == [extra]
    specs = registry.load_entry_files(tmp_path / "no-library")
    assert [s.name for s in specs] == ["baseline-audio-5s-env"]
    spec = registry.get_spec("baseline-audio-5s-env")
    assert spec.factory == registry.FACTORIES[("baseline", "audio")] and spec.options == {"window_s": 5.0, "hop_s": 2.5}
    order = registry.preference_order()
    assert order.index("panns-cnn14") < order.index("baseline-audio-5s-env") < order.index("baseline-audio")

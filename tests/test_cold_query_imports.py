"""A cold text query over Whisper transcripts imports no Whisper engine, no open_clip and no torch.

docs/PERFORMANCE.md's cold-query figures (about 1.7 s, 0.22 GB) rest on two things: the
sentence model runs on ONNX Runtime (``sentence_text.OnnxSentenceEmbedder``; the graph is
exported once, here by the indexing run) and the Whisper model is loaded only on the first
transcription (``WhisperSpeechEncoder.model``). This test indexes two spoken clips with
real Whisper tiny.en and all-MiniLM-L6-v2, then runs ``search --text ... --json`` in a
fresh interpreter through the CLI's ``main`` and records ``sys.modules`` when it returns:
never whisper, ctranslate2, faster_whisper or open_clip, and no torch whenever the sentence
model ran on ONNX Runtime (always with ``MEDIASEARCH_TEXT_ENGINE=onnx``; with ``auto``,
where this machine's engine choice took ONNX Runtime).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: top-level modules a text query over transcripts must not import
HEAVY = ("whisper", "ctranslate2", "faster_whisper", "open_clip", "torch")

LINES = {
    "lighthouse.wav": "The lighthouse keeper painted the old wooden boat bright yellow.",
    "budget.wav": "Our quarterly budget meeting moves to Thursday afternoon.",
}

#: runs the CLI in this interpreter, then writes the imported top-level module names as JSON
AUDIT = """
import json, sys
from mediasearch import cli
code = cli.main(sys.argv[2:])
sys.stdout.flush()
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    json.dump(sorted({name.split(".")[0] for name in sys.modules}), fh)
raise SystemExit(code)
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def test_text_query_over_transcripts_imports_no_whisper_clip_or_torch(tmp_path: Path, shared_models: Path) -> None:
    from audio_factory import have_espeak, place, speech, write_audio

    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed: the sentence model would run on torch")
    if not (shared_models / "whisper" / "tiny.en.pt").is_file() or not (shared_models / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir():
        pytest.skip(f"real Whisper tiny.en / all-MiniLM-L6-v2 not found under {shared_models}")
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    pytest.importorskip("whisper")

    media = tmp_path / "media"
    media.mkdir()
    for name, text in LINES.items():
        write_audio(media / name, place([(0.5, speech(text))], total_s=5.5))
    # the model store is read-only: ONNX graphs go to the per-test user cache (conftest's XDG_CACHE_HOME)
    env = {**os.environ, "MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(shared_models)}
    env.pop("MEDIASEARCH_TEXT_ENGINE", None)  # auto: ONNX Runtime for this folder
    env.pop("MEDIASEARCH_PRECISION", None)
    # openai-whisper for indexing: no CTranslate2 conversion to wait for (the query must not care)
    index_env = {**env, "MEDIASEARCH_WHISPER_ENGINE": "openai"}
    env.pop("MEDIASEARCH_WHISPER_ENGINE", None)
    run([sys.executable, "-m", "mediasearch", "index", str(media), "--encoders", "whisper-tiny.en", "-q"], index_env)

    # auto (the default engine): the encoders a text query picks by default, then the one named
    # as docs/PERFORMANCE.md measures it; then the sentence model forced onto ONNX Runtime
    runs = [(env, []), (env, ["--encoder", "whisper-tiny.en"]), ({**env, "MEDIASEARCH_TEXT_ENGINE": "onnx"}, [])]
    for run_env, picked in runs:
        modules_file = tmp_path / "modules.json"
        query = ["search", "--text", "boat painted yellow", *picked, "--no-server", "--json"]
        label = f"{query} with MEDIASEARCH_TEXT_ENGINE={run_env.get('MEDIASEARCH_TEXT_ENGINE', 'auto')}"
        proc = run([sys.executable, "-c", AUDIT, str(modules_file), *query], run_env)
        hits = json.loads(proc.stdout)
        assert hits and Path(hits[0]["path"]).name == "lighthouse.wav", label  # the query really searched the transcripts
        assert {h["encoder"] for h in hits} == {"whisper-tiny.en"}, label
        imported = set(json.loads(modules_file.read_text(encoding="utf-8")))
        assert sorted(imported & set(HEAVY) - {"torch"}) == [], label
        if "MEDIASEARCH_TEXT_ENGINE" in run_env:
            assert "onnxruntime" in imported, label
        if "onnxruntime" in imported:  # the sentence model ran on ONNX Runtime: torch has no business here
            assert "torch" not in imported, label

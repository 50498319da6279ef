"""--device and --precision reach the sentence model, Whisper and CLAP's text tower (CPU-only checks).

- sentence model: ``auto`` picks torch for a GPU device or a forced bf16/fp16, and on the
  CPU ONNX Runtime only where :func:`onnx_engine.module_session` measured it faithful and
  faster than torch fp32; the outcome is cached, and a fresh process that finds ONNX
  Runtime chosen imports no torch. Another device or precision is another embedder;
  ``--device cuda`` on this machine fails with DeviceUnavailableError.
- Whisper: the placement (device, compute type) per engine and device, chosen by
  :func:`ct2_whisper.choose_placement`; ``auto`` here is the CPU; ``cuda`` here raises the
  same typed error as the torch encoders; the encoder's ``engine`` record names the device.
- CLAP: the text tower's precision goes through ``precision.decide`` as ``clap-htsat/text``
  (random-init CLAP, as tests/test_clap.py builds it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mediasearch.config import Settings
from mediasearch.encoders import ct2_whisper, precision, sentence_text

torch = pytest.importorskip("torch")

from mediasearch.encoders.device import DeviceUnavailableError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO.parent / "shared" / "models"
MINILM = MODELS / "sentence-transformers" / "all-MiniLM-L6-v2"
WEIGHTS = MODELS / "whisper" / "tiny.en.pt"
needs_minilm = pytest.mark.skipif(not (MINILM / "model.safetensors").is_file(), reason=f"real all-MiniLM-L6-v2 not found at {MINILM}")
needs_tiny = pytest.mark.skipif(not WEIGHTS.is_file() or not MINILM.is_dir(), reason=f"real Whisper tiny.en not found under {MODELS}")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def settings_at(tmp_path: Path, **kw: object) -> Settings:
    return Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models", **kw)


@pytest.fixture(autouse=True)
def _fresh_embedders(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(sentence_text.ENGINE_ENV, raising=False)
    monkeypatch.delenv(ct2_whisper.ENGINE_ENV, raising=False)
    sentence_text._cache.clear()
    yield
    sentence_text._cache.clear()


# -- the sentence model ------------------------------------------------------------------------


@needs_minilm
def test_auto_engine_follows_device_and_precision_without_torch_decisions(tmp_path: Path) -> None:
    def choice(**kw: str) -> str:
        return sentence_text.auto_engine(MINILM, settings_at(tmp_path, **kw), name="all-minilm-l6-v2", pooling="mean")[0]

    assert choice(device="cuda") == "torch" and choice(device="cuda:1") == "torch" and choice(device="mps") == "torch"
    assert choice(device="cpu", precision="bf16") == "torch" and choice(device="cpu", precision="fp16") == "torch"
    # nothing measured yet in this model store: the torch model loads and ONNX Runtime is measured against it
    assert choice(device="cpu", precision="auto") == "measure" and choice(device="cpu", precision="fp32") == "measure"
    assert sentence_text.auto_engine(tmp_path, settings_at(tmp_path), name="x", pooling="mean")[0] == "sentence-transformers"


@needs_minilm
@no_cuda
def test_cuda_without_cuda_fails_with_the_typed_error(tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailableError, match="cuda"):
        sentence_text.load_sentence_embedder(MINILM, settings=settings_at(tmp_path, device="cuda"))


@needs_minilm
def test_forced_bf16_runs_torch_bf16_and_precision_is_part_of_the_cache_key(tmp_path: Path) -> None:
    bf16 = sentence_text.load_sentence_embedder(MINILM, settings=settings_at(tmp_path, device="cpu", precision="bf16"))
    assert isinstance(bf16, sentence_text.MiniLMEmbedder) and bf16.precision.precision == "bf16"
    assert bf16.engine_decision["engine"] == "torch" and "bf16" in bf16.engine_decision["reason"]
    assert sentence_text.load_sentence_embedder(MINILM, settings=settings_at(tmp_path, device="cpu", precision="bf16")) is bf16
    torch_fp32 = sentence_text.load_sentence_embedder(MINILM, settings=settings_at(tmp_path, device="cpu", precision="fp32"), engine="torch")
    assert torch_fp32 is not bf16 and torch_fp32.precision.precision == "fp32"
    texts = list(precision.CALIBRATION_TEXTS)
    cosines = np.sum(bf16.embed(texts) * torch_fp32.embed(texts), axis=1)
    assert cosines.min() > 0.999  # the same model, at another numeric path


@needs_minilm
def test_a_measured_torch_choice_is_cached_and_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_at(tmp_path, device="cpu")
    # an unreachable speed margin: ONNX Runtime is measured (parity too) but torch is kept
    monkeypatch.setattr(precision, "MIN_SPEEDUP", 1e9)
    kept = sentence_text.load_sentence_embedder(MINILM, settings=settings)
    assert isinstance(kept, sentence_text.MiniLMEmbedder)
    assert kept.engine_decision["source"] == "calibrated" and kept.engine_decision["reason"].endswith("torch kept")
    assert kept.engine_decision["min_cosine"] >= 0.9999  # parity held; speed did not
    record = sentence_text.cached_engine_decision(MINILM, settings, "all-minilm-l6-v2")
    assert record is not None and record["engine"] == "torch"
    monkeypatch.setattr(precision, "MIN_SPEEDUP", 0.0)  # would choose ONNX Runtime if measured again: it is not
    sentence_text._cache.clear()
    assert sentence_text.auto_engine(MINILM, settings, name="all-minilm-l6-v2", pooling="mean") == ("torch", record["reason"])
    assert isinstance(sentence_text.load_sentence_embedder(MINILM, settings=settings), sentence_text.MiniLMEmbedder)


@needs_minilm
def test_onnx_chosen_by_measurement_is_read_by_a_fresh_process_without_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_at(tmp_path)  # device and precision auto, as a plain `search --text`
    # no speed margin: this test is about where the measured choice leads, not what it is here
    monkeypatch.setattr(precision, "MIN_SPEEDUP", 0.0)
    chosen = sentence_text.load_sentence_embedder(MINILM, settings=settings)
    assert isinstance(chosen, sentence_text.OnnxSentenceEmbedder)
    assert chosen.engine_decision["engine"] == "onnxruntime" and chosen.engine_decision["min_cosine"] >= 0.9999
    reference = sentence_text.MiniLMEmbedder(MINILM, settings=settings_at(tmp_path, precision="fp32"))
    texts = ["a cat on the sofa", "Quarterly budget: moved to Thursday!"]
    assert np.sum(chosen.embed(texts) * reference.embed(texts), axis=1).min() >= 0.9999
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mediasearch.config import Settings\n"
        "from mediasearch.encoders.sentence_text import load_sentence_embedder\n"
        f"s = Settings(library_dir=Path({str(tmp_path / 'library')!r}), model_dir=Path({str(tmp_path / 'models')!r}))\n"
        f"e = load_sentence_embedder(Path({str(MINILM)!r}), settings=s)\n"
        "assert e.embed(['a quick brown fox']).shape == (1, 384)\n"
        "print(e.engine, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name in (sentence_text.ENGINE_ENV, "MEDIASEARCH_PRECISION", "MEDIASEARCH_DEVICE"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "onnxruntime []"


@needs_minilm
def test_the_real_speed_margin_decides(tmp_path: Path) -> None:
    emb = sentence_text.load_sentence_embedder(MINILM, settings=settings_at(tmp_path, device="cpu"))
    d = emb.engine_decision
    faster = d["onnx_items_s"] >= d["torch_items_s"] * precision.MIN_SPEEDUP
    assert d["engine"] == ("onnxruntime" if faster and d["min_cosine"] >= 0.9999 else "torch")
    assert emb.engine == d["engine"] and "onnx-vs-fp32" == d["key"]["candidate"]


# -- Whisper -----------------------------------------------------------------------------------


def test_whisper_placement_per_engine_and_device() -> None:
    choose = ct2_whisper.choose_placement
    cpu_ct2 = choose("ctranslate2", "auto", "auto", cuda_devices=0, mps=False)
    assert (cpu_ct2.device, cpu_ct2.compute) == ("cpu", "int8")
    cpu_openai = choose("openai", "cpu", "auto", cuda_devices=2, mps=False)
    assert (cpu_openai.device, cpu_openai.compute, cpu_openai.fp16) == ("cpu", "fp32", False)
    gpu_ct2 = choose("ctranslate2", "auto", "auto", cuda_devices=1, mps=False)
    assert (gpu_ct2.device, gpu_ct2.compute) == ("cuda", "float16")
    assert choose("ctranslate2", "cuda:1", "fp32", cuda_devices=2, mps=False).compute == "float32"
    assert choose("ctranslate2", "cuda", "bf16", cuda_devices=1, mps=False).compute == "bfloat16"
    gpu_openai = choose("openai", "cuda", "auto", cuda_devices=1, mps=False)
    assert (gpu_openai.device, gpu_openai.compute, gpu_openai.fp16) == ("cuda", "fp16", True)
    assert choose("openai", "cuda", "fp32", cuda_devices=1, mps=False).fp16 is False
    # MPS: neither engine uses it, and the reason says why
    for engine, why in (("ctranslate2", "no MPS backend"), ("openai", "unreliable")):
        for requested in ("auto", "mps"):
            placed = choose(engine, requested, "auto", cuda_devices=0, mps=True)
            assert placed.device == "cpu" and why in placed.reason
    with pytest.raises(DeviceUnavailableError, match="no CUDA device"):
        choose("ctranslate2", "cuda", "auto", cuda_devices=0, mps=False)
    with pytest.raises(DeviceUnavailableError):
        choose("openai", "cuda:2", "auto", cuda_devices=2, mps=False)
    with pytest.raises(DeviceUnavailableError):
        choose("openai", "mps", "auto", cuda_devices=0, mps=False)
    with pytest.raises(ValueError, match="unknown device"):
        choose("openai", "tpu", "auto", cuda_devices=0, mps=False)


@no_cuda
def test_whisper_device_on_this_machine(tmp_path: Path) -> None:
    for engine in ("ctranslate2", "openai"):
        placed = ct2_whisper.resolve_placement(engine, settings_at(tmp_path, device="auto"))
        assert placed.device == "cpu" and placed.compute == ("int8" if engine == "ctranslate2" else "fp32")
        with pytest.raises(DeviceUnavailableError):
            ct2_whisper.resolve_placement(engine, settings_at(tmp_path, device="cuda"))


def test_whisper_precision_records_the_device(tmp_path: Path) -> None:
    from mediasearch.encoders.whisper_speech import whisper_precision

    settings = settings_at(tmp_path)
    gpu_ct2 = ct2_whisper.choose_placement("ctranslate2", "cuda", "auto", cuda_devices=1, mps=False)
    decision = whisper_precision(settings, "ctranslate2", gpu_ct2)
    assert (decision.precision, decision.device) == ("float16", "cuda")
    gpu_openai = ct2_whisper.choose_placement("openai", "cuda", "auto", cuda_devices=1, mps=False)
    assert (whisper_precision(settings, "openai", gpu_openai).precision, whisper_precision(settings, "openai", gpu_openai).device) == ("fp16", "cuda")
    forced = whisper_precision(settings_at(tmp_path, precision="bf16"), "openai", gpu_openai)
    assert forced.source == "refused" and "bf16 refused" in forced.reason
    assert whisper_precision(settings, "ctranslate2").precision == "int8"  # the CPU, as before


@needs_tiny
@no_cuda
def test_the_whisper_encoder_names_its_device_and_refuses_a_missing_gpu(tmp_path: Path) -> None:
    pytest.importorskip("whisper")
    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.whisper_speech import WhisperSpeechEncoder

    paths = {"whisper-tiny-en": WEIGHTS, "all-minilm-l6-v2": MINILM}
    with pytest.raises(DeviceUnavailableError):
        WhisperSpeechEncoder(get_spec("whisper-tiny.en"), settings_at(tmp_path, device="cuda", precision="fp32"), paths)
    enc = WhisperSpeechEncoder(get_spec("whisper-tiny.en"), settings_at(tmp_path, device="auto", precision="fp32"), paths)
    assert enc.engine["device"] == "cpu" and "cpu" in enc.engine["reason"] and enc.precision.device == "cpu"


# -- CLAP's text tower -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clap_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from test_clap import write_model_folder

    return write_model_folder(tmp_path_factory.mktemp("clap") / "clap-htsat-unfused")


def _clap(folder: Path, settings: Settings):
    from mediasearch.encoders.clap import ClapEncoder
    from mediasearch.encoders.registry import get_spec

    spec = get_spec("clap-htsat")
    return ClapEncoder(spec, settings, {spec.models[0]: folder})


def test_clap_text_tower_goes_through_the_precision_gate(clap_folder: Path, tmp_path: Path) -> None:
    forced = _clap(clap_folder, settings_at(tmp_path, device="cpu", precision="bf16", batch_size=2))
    assert forced.text_precision.precision == "bf16" and forced.text_precision.source == "forced"
    fp32 = _clap(clap_folder, settings_at(tmp_path, device="cpu", precision="fp32", batch_size=2))
    assert fp32.text_precision.precision == "fp32"
    texts = ["dog barking", "rain on a roof", "a siren"]
    a, b = forced.embed_texts(texts), fp32.embed_texts(texts)
    assert a.shape == b.shape == (3, 512) and np.sum(a * b, axis=1).min() > 0.99  # bf16 autocast: close, not equal

    auto = _clap(clap_folder, settings_at(tmp_path, device="cpu", precision="auto", batch_size=2))
    decision = auto.text_precision
    candidate = precision.candidate_for("cpu")
    if candidate is None:
        assert decision.source == "no-candidate" and decision.precision == "fp32"
    else:  # measured on this CPU, keyed as the text tower's own component, and cached
        assert decision.source == "calibrated" and decision.key["component"] == "clap-htsat/text"
        again = _clap(clap_folder, settings_at(tmp_path, device="cpu", precision="auto", batch_size=2)).text_precision
        assert again.source == "cached" and again.precision == decision.precision
    assert auto.embed_texts(texts).shape == (3, 512)

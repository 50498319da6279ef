"""Whisper on CTranslate2: the offline conversion of the real tiny.en (tokenizer ids equal openai-whisper's), transcripts and segment times as openai-whisper's on espeak-ng speech, the converted model cached and reused, the engine chosen by the setting."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from audio_factory import have_espeak, noise, place, silence, speech, tone, write_audio
from mediasearch.config import Settings
from mediasearch.encoders import ct2_whisper
from mediasearch.media import MediaKind

pytest.importorskip("ctranslate2")
pytest.importorskip("faster_whisper")
pytest.importorskip("whisper")

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
WEIGHTS = MODELS / "whisper" / "tiny.en.pt"
ENCODER = "whisper-tiny.en"
needs_tiny = pytest.mark.skipif(
    not WEIGHTS.is_file() or not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir(),
    reason=f"real Whisper tiny.en / all-MiniLM-L6-v2 not found under {MODELS}",
)
needs_espeak = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")
slow = pytest.mark.slow

#: name -> (length s, [(onset s, sentence)]): speech after leading silence, two sentences, noise
CLIPS = {
    "kitchen.wav": (12.0, [(3.0, "Please close the kitchen window before it starts raining.")]),
    "meeting.mp3": (22.0, [(1.5, "Our quarterly budget meeting moves to Thursday afternoon."), (12.0, "Bring the projector and the printed reports.")]),
    "match.flac": (14.0, [(6.0, "The football match was cancelled because of heavy snow.")]),
}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance / reference words (0 = equal)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def load(settings: Settings, monkeypatch: pytest.MonkeyPatch, engine: str):
    """A new tiny.en encoder on ``engine`` (not the registry's per-process one), weights from the shared folder."""
    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.whisper_speech import WhisperSpeechEncoder

    monkeypatch.setenv(ct2_whisper.ENGINE_ENV, engine)
    paths = {"whisper-tiny-en": WEIGHTS, "all-minilm-l6-v2": MODELS / "sentence-transformers" / "all-MiniLM-L6-v2"}
    return WhisperSpeechEncoder(get_spec(ENCODER), settings, paths)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A fresh model store for the module: the conversion lands here (the real weights' folder is read-only)."""
    root = tmp_path_factory.mktemp("ct2")
    return Settings(model_dir=root / "models", library_dir=root / "library")


def test_the_tokenizer_built_from_the_tiktoken_file_gives_openai_whisper_ids() -> None:
    from whisper.tokenizer import get_tokenizer

    for multilingual in (False, True):
        ours = ct2_whisper.build_tokenizer(multilingual, 99)
        theirs = get_tokenizer(multilingual, num_languages=99)
        for text in (" The quick brown fox jumped over the lazy dog.", "It's 3:45pm, don't wait! naïve café 日本語 ♪♪", "  two  spaces\nand a\ttab", "$9.99 x 1234567"):
            ids = ours.encode(text, add_special_tokens=False).ids
            assert ids == theirs.encode(text), text
            assert ours.decode(ids) == text
        for token in ("<|endoftext|>", "<|startoftranscript|>", "<|transcribe|>", "<|nospeech|>", "<|notimestamps|>"):
            assert ours.token_to_id(token) == theirs.special_tokens[token]
        assert ours.get_vocab_size() == theirs.encoding.n_vocab


@needs_tiny
def test_every_checkpoint_weight_has_a_hugging_face_name() -> None:
    import torch

    state = torch.load(str(WEIGHTS), map_location="cpu", weights_only=True)["model_state_dict"]
    names = {ct2_whisper.hf_key(k) for k in state}
    assert len(names) == len(state)
    assert "model.encoder.layers.0.self_attn.k_proj.weight" in names and "model.decoder.layers.3.encoder_attn.out_proj.bias" in names
    assert "model.decoder.embed_tokens.weight" in names and "model.encoder.layer_norm.weight" in names
    assert not [n for n in names if "blocks" in n or "attn_ln" in n or "mlp" in n]
    assert ct2_whisper.alignment_heads("tiny.en", 4, 6)[0] == (1, 0)


@slow
@needs_tiny
@needs_espeak
def test_ctranslate2_transcripts_and_times_match_openai_whisper(store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ct2 = load(store, monkeypatch, "ctranslate2")
    openai = load(store, monkeypatch, "openai")
    assert ct2.engine["engine"] == "ctranslate2" and openai.engine["engine"] == "openai"
    reference_words = hypothesis_words = 0
    errors = 0.0
    for name, (total_s, lines) in CLIPS.items():
        path = write_audio(tmp_path / name, place([(t, speech(text)) for t, text in lines], total_s=total_s))
        a = openai.encode_asset(path, MediaKind.AUDIO)
        b = ct2.encode_asset(path, MediaKind.AUDIO)
        assert isinstance(ct2.model, ct2_whisper.CT2Whisper)
        assert len(b.segments) == len(a.segments) >= 1, (name, [s.text for s in a.segments], [s.text for s in b.segments])
        for sa, sb, (onset, _) in zip(a.segments, b.segments, lines):
            assert abs(sb.start_s - sa.start_s) <= 0.5, (name, sa.start_s, sb.start_s)
            # no further from the true onset than openai-whisper (both put a first word after
            # a short leading silence at 0.0 at times: Whisper's alignment, not the engine's)
            assert abs(sb.start_s - onset) <= abs(sa.start_s - onset) + 0.5, (name, onset, sa.start_s, sb.start_s)
            assert abs(sb.end_s - sa.end_s) <= 1.0, (name, sa.end_s, sb.end_s)
            assert sb.end_s > sb.start_s and sb.start_s == round(sb.start_s, 3)
            assert sb.text == sb.text.strip() and sb.vector.shape == sa.vector.shape
        assert b.transcript[0] == a.transcript[0] == "en"
        errors += word_error_rate(a.transcript[1], b.transcript[1]) * len(words(a.transcript[1]))
        reference_words += len(words(a.transcript[1]))
        hypothesis_words += len(words(b.transcript[1]))
    # within one word error point (1 %) of openai-whisper over the set
    assert errors / reference_words <= 0.01, errors / reference_words
    # silence, a tone and noise: nothing heard by either engine (no-speech filter and silence gate)
    quiet = np.concatenate([silence(3.0), tone(440.0, 4.0), noise(4.0, amp=0.05)]).astype(np.float32)
    assert ct2.transcribe(quiet)[1] == [] and openai.transcribe(quiet)[1] == []
    assert ct2.transcribe(np.zeros(16_000 * 5, np.float32)) == ("en", [])


@slow
@needs_tiny
def test_the_conversion_is_cached_by_checkpoint_digest_and_reused(store: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ct2_whisper.ensure_converted(WEIGHTS, store, size="tiny.en")  # converted by the test above, or now
    assert ct2_whisper.is_complete(folder)
    # the shared weights folder is read-only: the model goes to the model store, never beside it
    assert folder.parent == Path(store.model_dir) / ct2_whisper.FOLDER
    sha = "61173b3349943eb896b55798bf84582df0714860bd6fc8a852d64a22b92e18fa"
    assert folder.name.startswith(f"tiny.en-{sha[:16]}-")
    mtime = (folder / "model.bin").stat().st_mtime_ns

    def no_convert(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again although the model was cached")

    monkeypatch.setattr(ct2_whisper, "convert", no_convert)
    enc = load(store, monkeypatch, "ctranslate2")
    assert isinstance(enc.model, ct2_whisper.CT2Whisper) and enc.model.folder == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime
    # other conversion settings are another folder; a partial folder is converted again
    assert ct2_whisper.model_folder(WEIGHTS, store, ct2_whisper.conversion_settings("float32")) != folder
    assert not list(folder.parent.glob(".*"))  # no temporary folders left behind


@slow
@needs_tiny
def test_a_writable_weights_folder_keeps_the_model_beside_the_weights_and_a_partial_one_is_redone(tmp_path: Path) -> None:
    weights = tmp_path / "whisper" / "tiny.en.pt"
    weights.parent.mkdir()
    weights.symlink_to(WEIGHTS)
    settings = Settings(model_dir=tmp_path / "models", library_dir=tmp_path / "library")
    expected = ct2_whisper.model_folder(weights, settings, ct2_whisper.conversion_settings())
    assert expected.parent == weights.parent / ct2_whisper.FOLDER
    expected.mkdir(parents=True)
    (expected / "config.json").write_text("{}")  # an interrupted conversion: no model.bin
    folder = ct2_whisper.ensure_converted(weights, settings, size="tiny.en")
    assert folder == expected and ct2_whisper.is_complete(folder)
    assert ct2_whisper.CT2Whisper(folder, threads=1).transcribe(
        np.zeros(16_000, np.float32) + 1e-3, language=None, word_timestamps=True, no_speech_threshold=0.6
    ) == []


@needs_tiny
def test_the_engine_follows_the_setting(store: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from mediasearch.encoders.registry import get_spec

    monkeypatch.delenv(ct2_whisper.ENGINE_ENV, raising=False)
    assert ct2_whisper.resolve_engine({})[0] == "ctranslate2"  # auto, with faster-whisper installed
    assert ct2_whisper.resolve_engine({"engine": "openai"}) == ("openai", "set to openai by the encoder's engine option")
    monkeypatch.setenv(ct2_whisper.ENGINE_ENV, "openai")
    assert ct2_whisper.resolve_engine({"engine": "ctranslate2"})[0] == "openai"  # the environment wins
    monkeypatch.delenv(ct2_whisper.ENGINE_ENV)
    from dataclasses import replace

    from mediasearch.encoders.whisper_speech import WhisperSpeechEncoder

    spec = replace(get_spec(ENCODER), options={**get_spec(ENCODER).options, "engine": "openai"})
    paths = {"whisper-tiny-en": WEIGHTS, "all-minilm-l6-v2": MODELS / "sentence-transformers" / "all-MiniLM-L6-v2"}
    assert WhisperSpeechEncoder(spec, store, paths).engine["engine"] == "openai"  # the encoder's option
    enc = load(store, monkeypatch, "openai")
    assert enc.engine["engine"] == "openai"
    import whisper

    assert isinstance(enc.model, whisper.model.Whisper)
    monkeypatch.setenv(ct2_whisper.ENGINE_ENV, "tensorrt")
    with pytest.raises(ct2_whisper.WhisperEngineError, match="tensorrt"):
        ct2_whisper.resolve_engine({})
    assert get_spec(ENCODER).family == "whisper"


@needs_tiny
def test_bf16_is_refused_for_whisper_with_the_reason_recorded(store: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's reason holds: openai-whisper under bf16 autocast rejects its own audio features (real tiny.en)."""
    import torch
    import whisper

    from mediasearch.encoders import whisper_speech

    model = whisper.load_model(str(WEIGHTS), device="cpu")
    mel = whisper.log_mel_spectrogram(np.zeros(16_000 * 30, np.float32))
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(AttributeError):
        # whisper's dtype check returns a TypeError('audio_features has an incorrect dtype') that decoding then trips on
        whisper.decode(model, mel, whisper.DecodingOptions(language="en", fp16=False))
    assert whisper.decode(model, mel, whisper.DecodingOptions(language="en", fp16=False)).text is not None  # fp32 decodes
    forced = load(store.with_(precision="bf16"), monkeypatch, "openai")
    assert forced.precision.precision == "fp32" and forced.precision.source == "refused"
    assert "bf16 refused for Whisper" in forced.precision.reason
    auto = load(store.with_(precision="auto"), monkeypatch, "ctranslate2")
    assert auto.precision.precision == "int8" and "CTranslate2" in auto.precision.reason
    assert whisper_speech.whisper_precision(store.with_(precision="auto"), "openai").reason.startswith(whisper_speech.BF16_REFUSED)


@slow
def test_a_multilingual_checkpoint_converts_and_detects_a_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mechanics only (random-init multilingual tiny): 99 language tokens, detection on the speech past the silence."""
    import torch
    from whisper.model import ModelDimensions, Whisper
    from whisper.tokenizer import LANGUAGES

    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.whisper_speech import WhisperSpeechEncoder

    if not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir() or not have_espeak():
        pytest.skip("needs espeak-ng and all-MiniLM-L6-v2")
    dims = ModelDimensions(80, 1500, 384, 6, 4, 51865, 448, 384, 6, 4)
    torch.manual_seed(0)
    torch.save({"dims": dims.__dict__, "model_state_dict": Whisper(dims).half().state_dict()}, tmp_path / "tiny.pt")
    monkeypatch.setenv(ct2_whisper.ENGINE_ENV, "ctranslate2")
    settings = Settings(model_dir=tmp_path / "models", library_dir=tmp_path / "lib")
    paths = {"whisper-tiny": tmp_path / "tiny.pt", "all-minilm-l6-v2": MODELS / "sentence-transformers" / "all-MiniLM-L6-v2"}
    enc = WhisperSpeechEncoder(get_spec("whisper-tiny"), settings, paths)
    assert enc.language is None and isinstance(enc.model, ct2_whisper.CT2Whisper) and enc.model.is_multilingual
    config = __import__("json").loads((enc.model.folder / "config.json").read_text())
    assert len(config["lang_ids"]) == 99 and config["lang_ids"][0] == 50259  # <|en|>
    seen: list[float] = []
    real = enc.model.detect_language

    def spy(audio: np.ndarray) -> str:
        seen.append(float(np.abs(audio[:8000]).max()))  # 0 when the window starts in the silence
        return real(audio)

    enc.model.detect_language = spy  # type: ignore[method-assign]
    language = enc._detect_language(place([(40.0, speech("good morning everyone"))], total_s=50.0))
    assert language in LANGUAGES and len(seen) == 1 and seen[0] > 0.01
    assert enc.transcribe(silence(5.0)) == (None, [])

"""Real Whisper tiny.en + all-MiniLM-L6-v2 on espeak-ng speech: time-coded transcripts, no text from silence, hybrid search finds the spoken sentence at its time."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from audio_factory import have_espeak, noise, place, silence, speech, tone, write_audio
from mediasearch.catalog import STATE_DONE
from mediasearch.config import Settings
from mediasearch.library import Library
from mediasearch.media import AssetStatus, MediaKind, Modality, Stream
from mediasearch.textindex import query_terms

pytestmark = pytest.mark.slow

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
ENCODER = "whisper-tiny.en"

from mediasearch.search import Query, search_one


TARGET = "The lighthouse keeper painted the old wooden boat bright yellow."
FILES = {
    "target.mp3": (30.0, [(3.0, "Please close the kitchen window before it starts raining."), (20.0, TARGET)]),
    "meeting.m4a": (25.0, [(3.0, "Our quarterly budget meeting moves to Thursday afternoon."), (14.0, "Bring the projector and the printed reports.")]),
    "match.wav": (15.0, [(6.0, "The football match was cancelled because of heavy snow.")]),
}


@pytest.fixture(scope="module")
def whisper_encoder():
    if not (MODELS / "whisper" / "tiny.en.pt").is_file() or not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir():
        pytest.skip(f"real Whisper tiny.en / all-MiniLM-L6-v2 not found under {MODELS}")
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    pytest.importorskip("whisper")
    pytest.importorskip("sentence_transformers")
    from mediasearch.encoders.registry import load_encoder

    return load_encoder(ENCODER, Settings(model_dir=MODELS, library_dir=MODELS / "unused"))


@pytest.fixture(scope="module")
def library(whisper_encoder, tmp_path_factory: pytest.TempPathFactory):
    """Encoded files stored the way the pipeline stores them: catalog segments (source = encoder),
    vectors in the library's log, committed in one transaction per file."""
    media = tmp_path_factory.mktemp("media")
    settings = Settings(model_dir=MODELS, library_dir=tmp_path_factory.mktemp("lib"))
    lib = Library(settings)
    lib.media, lib.encodings = media, {}
    for name, (total_s, lines) in FILES.items():
        path = write_audio(media / name, place([(t, speech(text)) for t, text in lines], total_s=total_s))
        lib.encodings[name] = whisper_encoder.encode_asset(path, MediaKind.AUDIO)
        _store(lib, whisper_encoder.name, path, lib.encodings[name])
    yield lib
    lib.close()


def _store(lib: Library, encoder: str, path: Path, encoding) -> list[int]:
    catalog = lib.catalog
    with lib.writing("test"), lib.transaction():
        stat = path.stat()
        asset_id = catalog.upsert_asset(
            path, kind=MediaKind.AUDIO, size=stat.st_size, mtime_ns=stat.st_mtime_ns, content_hash=path.name, status=AssetStatus.OK
        )
        segs = encoding.segments
        ids = catalog.add_segments(
            asset_id, Stream.SPEECH, [(s.start_s, s.end_s) for s in segs], texts=[s.text for s in segs], source=encoder
        )
        if encoding.transcript:
            catalog.set_transcript(asset_id, encoder, *encoding.transcript)
        if ids:
            lib.stage_vectors(encoder, np.asarray(ids, dtype=np.int64), np.stack([s.vector for s in segs]))
        catalog.mark_embedded(encoder, ids)
        catalog.set_encoder_state(asset_id, encoder, STATE_DONE)
    return ids


def _search(lib: Library, query: Query, k: int) -> list[tuple[int, float]]:
    return [(h.segment_id, h.score) for h in search_one(lib, query, ENCODER, k=k, group=False)]


def _hit(lib, pairs: list[tuple[int, float]]) -> tuple[str, float, str]:
    segment, asset = lib.catalog.segments_with_assets([pairs[0][0]])[pairs[0][0]]
    return asset.path.name, segment.start_s, segment.text


def test_transcripts_have_times_and_language(library) -> None:
    target = library.encodings["target.mp3"]
    # tiny.en hears espeak's "lighthouse keeper" as "lights keep her": test the words it gets right
    assert target.transcript[0] == "en" and "wooden boat" in target.transcript[1].lower()
    assert target.media_s == pytest.approx(30.0, abs=0.1)
    (late,) = [s for s in target.segments if "wooden boat" in s.text.lower()]
    assert abs(late.start_s - 20.0) < 2.0 and late.end_s > late.start_s
    early = [s for s in target.segments if "window" in s.text.lower()]
    assert early and abs(early[0].start_s - 3.0) < 2.0
    for seg in target.segments:
        assert seg.vector.shape == (384,) and abs(np.linalg.norm(seg.vector) - 1) < 1e-4


def test_long_audio_is_transcribed_in_chunks_with_true_times(whisper_encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper_encoder, "chunk_s", 15.0)  # 40 s -> three chunks
    lines = [(4.0, "Please close the kitchen window before it starts raining."), (24.0, FILES["match.wav"][1][0][1])]
    path = write_audio(tmp_path / "long.flac", place([(t, speech(x)) for t, x in lines], total_s=40.0))
    encoding = whisper_encoder.encode_asset(path, MediaKind.AUDIO)
    assert encoding.media_s == pytest.approx(40.0)
    (snow,) = [s for s in encoding.segments if "snow" in s.text.lower()]
    assert abs(snow.start_s - 24.0) < 2.0
    assert any("window" in s.text.lower() and abs(s.start_s - 4.0) < 2.0 for s in encoding.segments)


def test_silence_noise_and_tones_give_no_transcript(whisper_encoder, tmp_path: Path) -> None:
    chords = np.concatenate([tone(f, 1.0) + tone(f * 1.25, 1.0) + tone(f * 1.5, 1.0) for f in (220, 262, 196, 247) * 3]) / 3
    for name, signal in [("quiet.flac", silence(20.0)), ("hiss.ogg", noise(12.0, amp=0.05)), ("chords.mp3", chords)]:
        encoding = whisper_encoder.encode_asset(write_audio(tmp_path / name, signal), MediaKind.AUDIO)
        assert encoding.segments == [], name
        assert encoding.transcript[1] == ""


def test_text_query_finds_the_file_and_time(whisper_encoder, library) -> None:
    pairs = _search(library, Query(Modality.TEXT, text="lighthouse keeper painting a boat"), 5)
    name, start_s, text = _hit(library, pairs)
    assert name == "target.mp3" and abs(start_s - 20.0) < 3.0, (name, start_s, text)
    assert pairs == _search(library, Query(Modality.TEXT, text="lighthouse keeper painting a boat"), 5)
    scores = [s for _, s in pairs]
    assert scores == sorted(scores, reverse=True)


def test_paraphrase_found_by_the_dense_side(whisper_encoder, library) -> None:
    pairs = _search(library, Query(Modality.TEXT, text="sports game postponed due to winter weather"), 3)
    assert _hit(library, pairs)[0] == "match.wav"


def test_bm25_alone_finds_exact_keywords(whisper_encoder, library) -> None:
    hits = library.catalog.speech_bm25(ENCODER, query_terms("projector"), 5)
    assert len(hits) == 1
    assert _hit(library, hits)[0] == "meeting.m4a"


def test_audio_query_is_transcribed_then_searched(whisper_encoder, library, tmp_path: Path) -> None:
    clip = write_audio(tmp_path / "q.wav", place([(0.5, speech("the budget meeting on Thursday"))], total_s=4.0))
    pairs = _search(library, Query(Modality.AUDIO, path=clip), 3)
    name, start_s, _ = _hit(library, pairs)
    assert name == "meeting.m4a" and abs(start_s - 3.0) < 3.0
    assert "budget" in (whisper_encoder.last_query_text or "").lower()


def test_transcript_search_follows_the_catalog_without_a_rebuild(whisper_encoder, library) -> None:
    extra = library.media / "extra.wav"
    write_audio(extra, silence(1.0))
    vec = whisper_encoder.embed_texts(["zebras crossing the savannah"])[0]
    fake = SimpleNamespace(segments=[SimpleNamespace(start_s=0.0, end_s=1.0, text="zebras crossing the savannah", vector=vec)], transcript=None)
    _store(library, ENCODER, extra, fake)
    pairs = _search(library, Query(Modality.TEXT, text="zebras"), 3)
    assert pairs and _hit(library, pairs)[0] == "extra.wav"
    assert not list(library.settings.index_dir.glob("*.bm25"))  # no side files: the catalog's FTS index


def test_multilingual_sizes_detect_the_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mechanics only (random-init tiny weights): the language is detected on speech, not on the leading silence."""
    monkeypatch.setenv("MEDIASEARCH_WHISPER_ENGINE", "openai")  # spies on openai-whisper's detect_language(mel); test_ct2_whisper covers CTranslate2
    torch = pytest.importorskip("torch")
    whisper = pytest.importorskip("whisper")
    if not have_espeak() or not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir():
        pytest.skip("needs espeak-ng and all-MiniLM-L6-v2")
    from whisper.model import ModelDimensions, Whisper

    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.whisper_speech import WhisperSpeechEncoder

    dims = ModelDimensions(80, 1500, 384, 6, 4, 51865, 448, 384, 6, 4)
    torch.manual_seed(0)
    torch.save({"dims": dims.__dict__, "model_state_dict": Whisper(dims).half().state_dict()}, tmp_path / "tiny.pt")
    settings = Settings(model_dir=MODELS, library_dir=tmp_path / "lib")
    paths = {"whisper-tiny": tmp_path / "tiny.pt", "all-minilm-l6-v2": MODELS / "sentence-transformers" / "all-MiniLM-L6-v2"}
    enc = WhisperSpeechEncoder(get_spec("whisper-tiny"), settings, paths)
    assert enc.language is None and not enc.english_only and enc.model.is_multilingual
    seen: list[float] = []
    real = enc.model.detect_language

    def spy(mel):
        seen.append(float(mel.std()))  # 0 for a window of pure silence
        return real(mel)

    enc.model.detect_language = spy
    language = enc._detect_language(place([(40.0, speech("good morning everyone"))], total_s=50.0))
    assert language in whisper.tokenizer.LANGUAGES and len(seen) == 1 and seen[0] > 0.1
    assert enc.transcribe(silence(5.0)) == (None, [])  # digital silence: no decoding at all

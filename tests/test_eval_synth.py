"""Synthetic ground truth: `synth` is reproducible from its seed, each query's one relevant item is its source (file, frame's video, sound, transcript segment), it is reported apart from human judgements, and a learned encoder beats the weight-free baseline on it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import media_factory as mf
from mediasearch.config import Settings
from mediasearch.encoders import registry
from mediasearch.evaluation import groundtruth as gt
from mediasearch.evaluation.runner import EvalOptions, evaluate
from mediasearch.evaluation.synth import synthesize
from mediasearch.indexing import index_paths
from mediasearch.library import Library

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
WEIGHTS = SHARED_MODELS / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
FAST = dict(latency_min_s=0.0, latency_min_repeats=1, latency_max_repeats=1)


def _library(root: Path, n: int, encoders: list[str]) -> Settings:
    media = root / "media"
    for i in range(n):
        mf.make_photo_like(media / f"scene{i:02d}.jpg", seed=i, size=(320, 240))
    settings = Settings(library_dir=root / "library", model_dir=SHARED_MODELS, batch_size=8)
    with Library(settings) as library:
        index_paths(library, [media], encoders=encoders)
    return settings


def _digests(settings: Settings) -> list[tuple[str, str, str]]:
    with Library(settings) as library:
        out = []
        for q in gt.list_queries(library.catalog, settings):
            (source,) = gt.asset_qrels(library.catalog, q.id).items()
            assert source[1] == 1
            out.append((q.name, hashlib.sha256(q.file.read_bytes()).hexdigest(), source[0]))
        return out


def test_reproducible_source_relevant_and_apart(tmp_path: Path) -> None:
    a = _library(tmp_path / "a", 6, ["baseline-image"])
    b = _library(tmp_path / "b", 6, ["baseline-image"])
    with Library(a) as library:
        report = synthesize(library, n=4, seed=7)
        hashes = {asset.content_hash: str(asset.path) for asset in library.catalog.assets()}
    assert len(report.queries) == 4
    for q in report.queries:
        assert hashes[q["content_hash"]] == q["source"]  # the relevant item is the source
    with Library(b) as library:
        synthesize(library, n=4, seed=7)
    first = _digests(a)
    assert first == _digests(b)  # same media, same seed: same queries, byte for byte
    with Library(a) as library:
        again = synthesize(library, n=4, seed=7)
        assert again.replaced == 4 and len(gt.list_queries(library.catalog, a)) == 4
        synthesize(library, n=4, seed=8)
    assert _digests(a)[:4] == first and _digests(a)[4:] != first
    with Library(a) as library:
        result = evaluate(library, EvalOptions(ks=(1, 5), depth=10, **FAST))
    assert list(result.groups()) == ["image queries → images and video frames (synthetic)"]


def test_cli(tmp_path: Path) -> None:
    settings = _library(tmp_path, 4, ["baseline-image"])
    env = {**os.environ, "MEDIASEARCH_HOME": str(settings.library_dir), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", "synth", "--n", "3", "--seed", "2", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [q["name"] for q in json.loads(proc.stdout)["queries"]] == ["synth-2-0000", "synth-2-0001", "synth-2-0002"]


@pytest.mark.slow
def test_learned_encoder_beats_the_baseline_on_synthetic_queries(tmp_path: Path) -> None:
    if not WEIGHTS.is_file():
        pytest.skip(f"real EfficientNet-Lite0 weights not found at {WEIGHTS}")
    pytest.importorskip("timm")
    registry.unload_all()
    try:
        settings = _library(tmp_path, 24, ["baseline-image", "efficientnet-lite0"])
        with Library(settings) as library:
            synthesize(library, n=16, seed=1)
            result = evaluate(library, EvalOptions(ks=(1, 5, 10), depth=24, **FAST))
        table = result.group_table("image queries → images and video frames (synthetic)")
        learned, baseline = table["efficientnet-lite0"]["MAP"], table["baseline-image"]["MAP"]
        assert learned > baseline, (learned, baseline)
        assert learned > 0.6
    finally:
        registry.unload_all()


def test_video_frames_and_sounds_too(tmp_path: Path) -> None:
    import audio_factory as af

    media = tmp_path / "media"
    for i in range(3):
        mf.make_photo_like(media / f"scene{i:02d}.jpg", seed=i, size=(320, 240))
    mf.make_video(media / "clip.mp4", duration_s=2.0, fps=5, seed=4)
    af.write_audio(media / "rise.wav", af.chirp(300, 3000, 8.0))
    af.write_audio(media / "clicks.wav", af.clicks(8.0))
    settings = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models")
    with Library(settings) as library:
        index_paths(library, [media], encoders=["baseline-image", "baseline-audio"])
        report = synthesize(library, n=10, seed=3)
        kinds = sorted(q["kind"] for q in report.queries)
        assert kinds == ["audio", "audio", "image", "image", "image", "video"]
        video_q = next(q for q in report.queries if q["kind"] == "video")
        assert "frame_s" in video_q["edits"]
        result = evaluate(library, EvalOptions(ks=(1, 3), depth=6, **FAST))
    groups = result.groups()
    assert "audio queries → sounds (synthetic)" in groups and "image queries → images and video frames (synthetic)" in groups
    assert groups["audio queries → sounds (synthetic)"].encoders == ["baseline-audio"]
    # an edited window of a chirp still finds the chirp first
    audio_names = [q["name"] for q in report.queries if q["kind"] == "audio"]
    assert all(result.per_query["baseline-audio"][q]["success@3"] == 1.0 for q in audio_names)


def test_speech_phrases_from_transcripts(tmp_path: Path) -> None:
    """Transcript segments stored as the indexer stores them (no Whisper run needed)."""
    import random

    from mediasearch.evaluation.synth import NEAR_SYNONYMS, phrase
    from mediasearch.media import AssetStatus, MediaKind, Stream

    text, edits = phrase("The quarterly budget meeting is moved to Friday.", random.Random(0))
    words = text.split()
    assert 3 <= len(words) <= 6
    original = "the quarterly budget meeting is moved to friday".split()
    start, end = edits["words"]
    expected = original[start:end]
    if "swapped" in edits:
        a, b = edits["swapped"]
        assert NEAR_SYNONYMS[a] == b and b in words
        expected = [b if w == a else w for w in expected]
    assert words == expected
    swaps = sum("swapped" in phrase("the budget meeting moved to friday", random.Random(s))[1] for s in range(200))
    assert 40 < swaps < 120  # about 40 % of phrases

    import audio_factory as af

    af.write_audio(tmp_path / "talk.wav", af.tone(440.0, 8.0))
    settings = Settings(library_dir=tmp_path / "library", model_dir=tmp_path / "models")
    with Library(settings) as library:
        catalog = library.catalog
        with catalog.transaction():
            asset_id = catalog.upsert_asset(
                tmp_path / "talk.wav", kind=MediaKind.AUDIO, size=1, mtime_ns=1, content_hash="h-talk", status=AssetStatus.OK
            )
            ids = catalog.add_segments(asset_id, Stream.SPEECH, [(1.5, 4.0), (4.0, 7.0)],
                                       texts=["the budget meeting is moved", "to friday at noon please"], source="whisper-tiny.en")
            catalog.mark_embedded("whisper-tiny.en", ids)
        report = synthesize(library, n=5, seed=1)
        assert sorted(q["kind"] for q in report.queries) == ["audio", "speech", "speech"]
        for q in (q for q in report.queries if q["kind"] == "speech"):
            query = gt.get_query(catalog, settings, q["name"])
            assert query.modality.value == "text" and query.text == q["text"]
            (j,) = gt.judgements(catalog, query.id)
            assert j.content_hash == "h-talk" and j.at_s in (1.5, 4.0) and j.grade == 1

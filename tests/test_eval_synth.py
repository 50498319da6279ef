"""Synthetic ground truth: `synth` is reproducible from its seed, each query's one relevant file is its source, it is reported apart from human judgements, and a learned encoder beats the weight-free baseline on it."""

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

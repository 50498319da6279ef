"""A search says which encoders answered, which media it could not reach and why (naming the encoder to install), and how each encoder's scores read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import media_factory as mf
from mediasearch.library import Library
from mediasearch.media import Modality
from mediasearch.reach import explain_reach, score_kind, score_legend


def run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "mediasearch", *args], capture_output=True, text=True, env={**os.environ, **env_extra}, timeout=300
    )
    if proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def test_score_kinds_come_from_the_registry() -> None:
    assert score_kind("whisper-tiny.en") == "rrf"
    assert score_kind("efficientnet-lite0") == "cosine"
    assert score_kind("baseline-audio") == "cosine"
    assert score_kind("no-such-encoder") == "unknown"
    legend = score_legend(["efficientnet-lite0", "whisper-tiny.en", "efficientnet-lite0"])
    assert legend.startswith("scores: efficientnet-lite0 cosine similarity (-1..1")
    assert "whisper-tiny.en fused rank score (RRF" in legend and "compare ranks, not scores" in legend
    assert legend.count("efficientnet-lite0") == 1


def test_image_search_names_what_it_searched_and_what_it_could_not_reach(tmp_path: Path) -> None:
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(tmp_path / "models")}
    media = tmp_path / "media"
    imgs = [mf.make_image(media / f"p{i}.jpg", seed=i) for i in range(3)]
    mf.make_audio(media / "tone.wav", duration_s=2.0)
    run(["index", str(media), "--encoders", "baseline-image", "-q"], env)

    proc = run(["search", "--image", str(imgs[0]), "-k", "2"], env)
    assert "note: searched pictures and video frames (baseline-image)" in proc.stderr
    assert "sounds (audio and soundtracks) were not searched: no registered encoder takes image queries for them" in proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1] == "scores: baseline-image cosine similarity (-1..1, higher is closer)"

    proc = run(["search", "--image", str(imgs[0]), "-k", "2", "--json"], env)
    hits = json.loads(proc.stdout)  # still a plain list of hits; notes go to stderr
    assert isinstance(hits, list) and [h["score_kind"] for h in hits] == ["cosine", "cosine"]
    assert "note: searched pictures" in proc.stderr

    from mediasearch.config import Settings

    with Library(Settings(library_dir=tmp_path / "lib", model_dir=tmp_path / "models")) as library:
        notes = explain_reach(library, Modality.TEXT, ["whisper-tiny.en"])
    texts = [n.text() for n in notes]
    assert texts[0] == "searched speech (transcripts) (whisper-tiny.en)"
    visual = next(n for n in notes if n.media == "pictures and video frames")
    assert not visual.searched and "no text-capable image encoder" in visual.reason
    assert "install siglip-vit-b16 (`mediasearch models pull siglip-vit-b16`)" in visual.fix
    assert f"`mediasearch index {media} --encoders siglip-vit-b16`" in visual.fix
    # CLAP takes text queries: sounds are one install away
    sounds = next(n for n in notes if n.media.startswith("sounds"))
    assert not sounds.searched and "no text-capable sound encoder" in sounds.reason
    assert "install clap-htsat (`mediasearch models pull clap-htsat`)" in sounds.fix


@pytest.mark.slow
def test_text_search_with_only_whisper_says_pictures_were_not_searched(tmp_path: Path, shared_models: Path) -> None:
    """The issue's case, end to end with real Whisper tiny.en: a text query on a library of a
    photo and a spoken clip answers from transcripts and says pictures were not reached."""
    from audio_factory import have_espeak, place, speech, write_audio

    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    pytest.importorskip("whisper")
    env = {"MEDIASEARCH_HOME": str(tmp_path / "lib"), "MEDIASEARCH_MODEL_DIR": str(shared_models)}
    media = tmp_path / "media"
    mf.make_image(media / "photo.jpg", seed=1)
    write_audio(media / "talk.wav", place([(0.5, speech("Please close the kitchen window."))], total_s=4.0))
    run(["index", str(media), "--encoders", "baseline-image,whisper-tiny.en", "-q"], env)

    proc = run(["search", "--text", "close the kitchen window", "-k", "3"], env)
    assert "note: searched speech (transcripts) (whisper-tiny.en)" in proc.stderr
    assert (
        "note: pictures and video frames were not searched: no text-capable image encoder for text queries is indexed"
        " — install siglip-vit-b16 (`mediasearch models pull siglip-vit-b16`) and index with it" in proc.stderr
    )
    assert "talk.wav" in proc.stdout
    legend = proc.stdout.rstrip().splitlines()[-1]
    assert legend.startswith("scores: whisper-tiny.en fused rank score (RRF")
    hits = json.loads(run(["search", "--text", "close the kitchen window", "--json"], env).stdout)
    assert hits and {h["score_kind"] for h in hits} == {"rrf"} and all(0 < h["score"] < 0.04 for h in hits)

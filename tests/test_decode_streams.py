"""Streams fail separately, truncated files report what really decoded, and audio truncation is seen before decoding."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import audio_factory as af
import bad_corpus
import media_factory as mf
from mediasearch.decode.audio import audio_truncation, iter_blocks, iter_windows
from mediasearch.decode.probe import Verdict, classify_file
from mediasearch.decode.streams import probe_streams
from mediasearch.decode.video import sample_frames
from mediasearch.errors import DecodeError

SR = 16_000


def _cut(src: Path, dest: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def test_a_broken_picture_stream_leaves_the_soundtrack_usable(tmp_path: Path) -> None:
    src = af.write_video(tmp_path / "src.mp4", 4.0, audio=af.tone(550.0, 4.0))
    report = probe_streams(bad_corpus.damage_stream(src, tmp_path / "bad-picture.mkv", "video"))
    assert report.has_video and not report.video_ok and "video stream cannot be decoded" in report.reasons["video"]
    assert report.has_audio and report.audio_ok and report.usable and "audio" not in report.reasons
    samples = np.concatenate(list(iter_blocks(tmp_path / "bad-picture.mkv", SR)))
    assert abs(samples.size / SR - 4.0) < 0.2  # the soundtrack decodes whole


def test_a_broken_soundtrack_leaves_the_picture_usable(tmp_path: Path) -> None:
    src = mf.make_video(tmp_path / "src.mp4", duration_s=3.0, fps=10, size=(96, 64), with_audio=True)
    bad = bad_corpus.damage_stream(src, tmp_path / "bad-sound.mkv", "audio")
    report = probe_streams(bad)
    assert report.video_ok and not report.audio_ok and "audio stream cannot be decoded" in report.reasons["audio"]
    assert len(list(sample_frames(bad, interval_s=1.0, dedup_threshold=0))) == 3


def test_whole_files_have_clean_reports(tmp_path: Path) -> None:
    video = probe_streams(mf.make_video(tmp_path / "v.mkv", duration_s=2.0, fps=10, with_audio=True))
    assert video.video_ok and video.audio_ok and video.reasons == {} and abs(video.duration_s - 2.0) < 0.1
    audio = probe_streams(af.write_audio(tmp_path / "a.flac", af.tone(440.0, 2.0)))
    assert (audio.has_video, audio.audio_ok, audio.reasons) == (False, True, {})
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    none = probe_streams(junk)
    assert not none.usable and "container" in none.reasons


def test_a_truncated_video_reports_its_real_duration(tmp_path: Path, caplog) -> None:
    src = mf.make_video(tmp_path / "src.mp4", duration_s=12.0, fps=10, size=(96, 64), gop=10)
    cut = _cut(bad_corpus.faststart_copy(src, tmp_path / "fast.mp4"), tmp_path / "cut.mp4", 0.3)
    with caplog.at_level(logging.ERROR):
        sampler = sample_frames(cut, interval_s=1.0, dedup_threshold=0)
        times = [t for t, _ in sampler]
    assert sampler.finished and sampler.frames == len(times)
    assert abs(sampler.declared_s - 12.0) < 0.1
    assert times[-1] < sampler.decoded_s < 6.0  # what was read, not the header's 12 s
    assert sampler.partial and "partial" in sampler.truncated_reason and "12.0 s" in sampler.truncated_reason
    whole = sample_frames(src, interval_s=1.0, dedup_threshold=0)
    assert len(list(whole)) == 12 and not whole.partial and abs(whole.decoded_s - 12.0) < 0.2


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3", ".opus"])
def test_audio_truncation_is_seen_before_decoding(tmp_path: Path, ext: str) -> None:
    whole = af.write_audio(tmp_path / f"whole{ext}", af.tone(300.0, 12.0))
    cut = _cut(whole, tmp_path / f"cut{ext}", 0.5)
    assert audio_truncation(whole) is None
    try:
        reason = audio_truncation(cut)
    except DecodeError as exc:  # a cut so early that the header names no frames at all
        reason = exc.reason
    assert reason and "truncated" in reason
    blocks = iter_blocks(cut, SR, block_s=1.0)
    with pytest.raises(DecodeError, match="truncated"):
        next(blocks)  # refused at the first block: nothing is decoded or transcribed in vain


@pytest.mark.parametrize("ext", [".wav", ".flac", ".opus", ".mp3"])  # a Vorbis file cut at half opens nowhere
def test_keep_partial_keeps_what_decodes_and_says_so(tmp_path: Path, ext: str) -> None:
    whole = af.write_audio(tmp_path / f"whole{ext}", af.tone(300.0, 12.0))
    cut = _cut(whole, tmp_path / f"cut{ext}", 0.5)
    blocks = iter_blocks(cut, SR, block_s=2.0, keep_partial=True)
    assert blocks.partial  # known before the first block
    got = sum(b.size for b in blocks) / SR
    assert blocks.finished and 4.0 < got < 8.0 and abs(blocks.decoded_s - got) < 1e-6
    assert blocks.truncated_reason.startswith("truncated")
    windows = iter_windows(cut, SR, window_s=2.0, hop_s=1.0, keep_partial=True)
    spans = [(a, b) for a, b, _ in windows]
    assert windows.partial and spans[-1][1] <= got + 1e-6
    full = iter_blocks(whole, SR, keep_partial=True)
    assert abs(sum(b.size for b in full) / SR - 12.0) < 0.1 and not full.partial


def test_not_media_is_told_apart_from_unusable_media(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# hello\n")
    (tmp_path / "data.json").write_text("{}\n")
    (tmp_path / "LICENSE").write_text("MIT\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "zeros.png").write_bytes(b"\x00" * 100)
    (tmp_path / "notes.mp4").write_text("not a video")
    good = mf.make_image(tmp_path / "ok.png", seed=1)
    verdicts = {p.name: classify_file(p).verdict for p in tmp_path.iterdir()}
    assert verdicts == {
        "README.md": Verdict.NOT_MEDIA, "data.json": Verdict.NOT_MEDIA, "LICENSE": Verdict.NOT_MEDIA,
        "empty.txt": Verdict.NOT_MEDIA, "empty.jpg": Verdict.UNUSABLE, "zeros.png": Verdict.UNUSABLE,
        "notes.mp4": Verdict.UNUSABLE, "ok.png": Verdict.MEDIA,
    }
    assert classify_file(tmp_path / "README.md").reason == "not media: a text file"
    assert classify_file(good).kind.value == "image"


def test_classify_raises_not_media_as_its_own_error(tmp_path: Path) -> None:
    from mediasearch.decode.probe import classify
    from mediasearch.errors import NotMediaError, UnsupportedMediaError

    (tmp_path / "README.md").write_text("# hello\n")
    (tmp_path / "garbage.jpg").write_bytes(b"\x00" * 100)
    with pytest.raises(NotMediaError) as info:
        classify(tmp_path / "README.md")
    assert info.value.reason == "unsupported file format: text file"  # the reason classify always gave
    with pytest.raises(UnsupportedMediaError) as info:
        classify(tmp_path / "garbage.jpg")
    assert not isinstance(info.value, NotMediaError)

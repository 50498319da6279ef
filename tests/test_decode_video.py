"""Contract: probe_video describes a file's streams; sample_frames yields upright RGB frames at the first frame at or after each multiple of the interval, drops near-duplicates, and raises typed errors."""

from __future__ import annotations

import logging
import math
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import media_factory as mf
from mediasearch.decode.video import VideoInfo, frame_at, probe_video, sample_frames
from mediasearch.errors import CancelledError, DecodeError, UnsupportedMediaError
from mediasearch.progress import CancelToken

SIZE = (160, 120)
FPS = 10
CONTAINERS = [".mp4", ".mkv", ".mov", ".webm", ".avi"]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    out = {s: mf.make_video(d / f"clip{s}", duration_s=4, fps=FPS, size=SIZE, seed=3) for s in CONTAINERS}
    out["ten"] = mf.make_video(d / "ten.mp4", duration_s=10, fps=25, size=SIZE, seed=4)
    out["audio"] = mf.make_video(d / "talk.mp4", duration_s=2, fps=FPS, size=SIZE, with_audio=True)
    return out


def oracle(path: Path, interval_s: float) -> list[float]:
    """Decode every frame; keep the first at or after each multiple of the interval."""
    times, next_t = [], None
    interval = Fraction(interval_s)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        origin = Fraction(c.start_time or 0, 1_000_000)
        for frame in c.decode(stream):
            t = frame.pts * stream.time_base - origin
            if next_t is None or t >= next_t:
                times.append(float(max(t, 0)))
                next_t = (math.floor(t / interval) + 1) * interval
    return times


@pytest.mark.parametrize("suffix", CONTAINERS)
def test_each_container_probes_and_samples(videos, suffix):
    info = probe_video(videos[suffix])
    assert isinstance(info, VideoInfo)
    assert info.has_video and not info.has_audio
    assert (info.width, info.height) == SIZE
    assert info.fps == pytest.approx(FPS, rel=0.01)
    assert info.duration_s == pytest.approx(4.0, abs=0.15)

    frames = list(sample_frames(videos[suffix], interval_s=1.0, dedup_threshold=0))
    times = [t for t, _ in frames]
    assert times == pytest.approx([0, 1, 2, 3], abs=1 / FPS)
    for t, img in frames:
        assert img.mode == "RGB" and img.size == SIZE
        expected = mf.video_frame(t, seed=3, size=SIZE, scene=0, static=False, backgrounds={})
        # the right picture for its timestamp (lossy codecs: a loose bound)
        assert np.abs(np.asarray(img, np.int16) - expected).mean() < 20


def test_ten_second_video_every_two_seconds(videos):
    times = [t for t, _ in sample_frames(videos["ten"], interval_s=2.0)]
    assert times == pytest.approx([0, 2, 4, 6, 8], abs=1 / 25)


@pytest.mark.parametrize(
    "gop,bframes,interval",
    [(5, None, 2.0), (5, None, 0.3), (40, 3, 2.0), (12, 2, 3.3), (3, None, 7.0)],
)
def test_skipping_groups_of_pictures_matches_decoding_everything(tmp_path, gop, bframes, interval):
    path = mf.make_video(tmp_path / "g.mp4", duration_s=8, fps=25, size=(96, 64), gop=gop, bframes=bframes)
    got = [t for t, _ in sample_frames(path, interval_s=interval, dedup_threshold=0)]
    assert got == oracle(path, interval)


@pytest.mark.parametrize("suffix", [".webm", ".avi", ".mkv"])
def test_skipping_matches_decoding_everything_in_other_containers(tmp_path, suffix):
    path = mf.make_video(tmp_path / f"g{suffix}", duration_s=6, fps=25, size=(96, 64), gop=10)
    for interval in (0.5, 2.0, 2.5):
        assert [t for t, _ in sample_frames(path, interval_s=interval, dedup_threshold=0)] == oracle(path, interval)


def test_open_gop_differs_by_at_most_a_frame(tmp_path):
    # After a skipped group, leading B-frames that reference it cannot be decoded: the
    # keyframe right after them is taken instead.
    path = mf.make_video(tmp_path / "open.mp4", duration_s=8, fps=25, size=(96, 64), gop=12, bframes=3, open_gop=True)
    for interval in (1.0, 3.3):
        got = [t for t, _ in sample_frames(path, interval_s=interval, dedup_threshold=0)]
        ref = oracle(path, interval)
        assert len(got) == len(ref)
        assert all(0 <= g - r <= 4 / 25 + 1e-9 for g, r in zip(got, ref))


def test_short_groups_are_mostly_skipped(tmp_path, caplog):
    path = mf.make_video(tmp_path / "short_gop.mp4", duration_s=10, fps=25, size=(96, 64), gop=5)
    with caplog.at_level(logging.DEBUG, logger="mediasearch.decode.video"):
        list(sample_frames(path, interval_s=2.0, dedup_threshold=0))
    decoded, total = map(int, re.search(r"decoded (\d+) of (\d+) packets", caplog.text).groups())
    assert total == 250
    assert decoded <= 0.3 * total


def test_static_video_gives_one_frame(tmp_path):
    path = mf.make_video(tmp_path / "static.mp4", duration_s=6, fps=FPS, size=SIZE, static=True)
    assert [t for t, _ in sample_frames(path, interval_s=1.0)] == [0.0]
    # dedup off: one frame per interval
    assert len(list(sample_frames(path, interval_s=1.0, dedup_threshold=0))) == 6


def test_scene_cuts_survive_dedup(tmp_path):
    path = mf.make_video(tmp_path / "cuts.mp4", duration_s=9, fps=FPS, size=SIZE, static=True, scene_changes=2)
    times = [t for t, _ in sample_frames(path, interval_s=1.0)]
    assert times == pytest.approx([0, 3, 6], abs=1 / FPS)


@pytest.mark.parametrize("duration", [0.3, 0.1])
def test_very_short_video_gives_one_frame(tmp_path, duration):
    path = mf.make_video(tmp_path / "blip.mp4", duration_s=duration, fps=FPS, size=SIZE)
    frames = list(sample_frames(path, interval_s=2.0))
    assert len(frames) == 1 and frames[0][0] == 0.0
    assert frames[0][1].size == SIZE


def test_audio_track_is_reported(videos, tmp_path):
    info = probe_video(videos["audio"])
    assert info.has_video and info.has_audio and info.audio_codec == "aac"
    webm = mf.make_video(tmp_path / "a.webm", duration_s=1, fps=FPS, size=SIZE, with_audio=True)
    assert probe_video(webm).has_audio and probe_video(webm).audio_codec == "opus"
    assert len(list(sample_frames(videos["audio"]))) == 1


def test_audio_only_file(tmp_path):
    path = mf.make_audio(tmp_path / "song.m4a", duration_s=1.0)
    info = probe_video(path)
    assert not info.has_video and info.has_audio
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    with pytest.raises(UnsupportedMediaError) as err:
        list(sample_frames(path))
    assert err.value.reason == "no video stream (audio-only file)"


def test_rotation_metadata_is_applied(tmp_path):
    path = mf.make_video(tmp_path / "portrait.mp4", duration_s=0.5, fps=FPS, size=SIZE, rotation=90, seed=5)
    info = probe_video(path)
    assert info.rotation == 90 and (info.width, info.height) == (SIZE[1], SIZE[0])
    (_, img), = list(sample_frames(path))
    assert img.size == (SIZE[1], SIZE[0])
    stored = mf.video_frame(0.0, seed=5, size=SIZE, scene=0, static=False, backgrounds={})
    expected = np.rot90(stored, k=1)  # counter-clockwise, as the display matrix says
    assert np.abs(np.asarray(img, np.int16) - expected).mean() < 20


def test_target_size_downscales_the_shorter_side(videos):
    (_, img), *_ = list(sample_frames(videos[".mp4"], target_size=60))
    assert img.size == (80, 60)
    (_, img), *_ = list(sample_frames(videos[".mp4"], target_size=500))
    assert img.size == SIZE  # never upscaled


@pytest.mark.parametrize(
    "name,error,reason",
    [
        ("truncated_mp4", DecodeError, "corrupt or truncated mp4 file"),
        ("garbage_mp4", DecodeError, "corrupt or truncated mp4 file"),
        ("png_as_jpg", UnsupportedMediaError, "not a video (png image)"),
        ("text", UnsupportedMediaError, "unsupported file format: text file"),
        ("random_jpg", UnsupportedMediaError, "unrecognised file format"),
        ("empty", UnsupportedMediaError, "empty file (0 bytes)"),
    ],
)
def test_bad_inputs(tmp_path, name, error, reason):
    path = mf.make_bad_files(tmp_path)[name]
    for call in (probe_video, lambda p: list(sample_frames(p))):
        with pytest.raises(error) as info:
            call(path)
        assert type(info.value) is error and info.value.reason.startswith(reason)


def test_missing_file(tmp_path):
    with pytest.raises(UnsupportedMediaError, match="file not found"):
        probe_video(tmp_path / "nope.mp4")


def test_truncated_tail_keeps_the_frames_before_it(tmp_path, caplog):
    path = mf.make_video(tmp_path / "full.mkv", duration_s=6, fps=FPS, size=SIZE, gop=10)
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="mediasearch.decode.video"):
        times = [t for t, _ in sample_frames(cut, interval_s=1.0, dedup_threshold=0)]
    assert 1 <= len(times) < 6 and times[0] == 0.0


def test_cancel_between_frames(videos):
    token = CancelToken()
    frames = sample_frames(videos["ten"], interval_s=1.0, dedup_threshold=0, cancel=token)
    assert next(frames)[0] == 0.0
    token.cancel()
    with pytest.raises(CancelledError):
        next(frames)


def test_interval_must_be_positive(videos):
    with pytest.raises(ValueError):
        list(sample_frames(videos[".mp4"], interval_s=0))


def test_frame_at_matches_the_sampled_frame(tmp_path):
    path = mf.make_video(tmp_path / "seek.mp4", duration_s=6, fps=25, size=SIZE, gop=40, bframes=3)
    sampled = list(sample_frames(path, interval_s=1.3, dedup_threshold=0, target_size=60))
    assert len(sampled) == 5
    for t, img in sampled:
        again = frame_at(path, t, target_size=60)
        assert again.size == img.size and np.array_equal(np.asarray(again), np.asarray(img))
    last = frame_at(path, 100.0)  # past the end: the last frame
    expected = mf.video_frame(149 / 25, seed=0, size=SIZE, scene=0, static=False, backgrounds={})
    assert np.abs(np.asarray(last, np.int16) - expected).mean() < 20


def test_frame_at_errors(tmp_path):
    with pytest.raises(UnsupportedMediaError, match="no video stream"):
        frame_at(mf.make_audio(tmp_path / "a.m4a", duration_s=0.5), 0.0)
    with pytest.raises(DecodeError):
        frame_at(mf.make_bad_files(tmp_path)["truncated_mp4"], 1.0)

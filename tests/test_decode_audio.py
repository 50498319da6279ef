"""Audio decoding: every listed format and video soundtracks to mono float32 at any rate, window timing, streaming, bad files."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from audio_factory import chirp, corrupt, noise, place, silence, tone, truncate, write_audio, write_video
from mediasearch.decode.audio import (
    NoAudioStreamError,
    has_audio,
    iter_blocks,
    iter_windows,
    load_audio,
    probe_audio,
    rms_dbfs,
    window_spans,
)
from mediasearch.errors import DecodeError, UnsupportedMediaError

SR = 16_000
FORMATS = [".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm"]


def _signal() -> np.ndarray:
    """6 s: a 440 Hz tone from 1 s to 3 s, noise from 4 s to 5 s, silence elsewhere."""
    return place([(1.0, tone(440, 2.0)), (4.0, noise(1.0))], total_s=6.0)


def _onset(samples: np.ndarray, sr: int, threshold: float = 0.05) -> float:
    return float(np.argmax(np.abs(samples) > threshold)) / sr


def _peak_hz(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum)) * sr / samples.size


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    return {ext: write_audio(folder / f"clip{ext}", _signal(), sr=SR, channels=2) for ext in FORMATS}


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("rate", [16_000, 32_000])
def test_each_format_decodes_to_mono_at_the_asked_rate(files: dict[str, Path], ext: str, rate: int) -> None:
    samples = load_audio(files[ext], rate)
    assert samples.dtype == np.float32 and samples.ndim == 1
    # lossy codecs pad a few ms; the length stays 6 s
    assert abs(samples.size / rate - 6.0) < 0.06
    assert abs(_onset(samples, rate) - 1.0) < 0.03
    assert abs(_peak_hz(samples[int(1.2 * rate) : int(2.8 * rate)], rate) - 440.0) < 3.0
    assert np.abs(samples).max() <= 1.0 + 1e-3
    info = probe_audio(files[ext])
    assert info.channels == 2 and abs((info.duration_s or 0) - 6.0) < 0.06


@pytest.mark.parametrize("ext", [".wav", ".mp3", ".m4a", ".opus"])
def test_time_range_is_cut_at_the_right_place(files: dict[str, Path], ext: str) -> None:
    full = load_audio(files[ext], SR)
    part = load_audio(files[ext], SR, start_s=0.5, end_s=2.5)
    assert abs(part.size - 2 * SR) <= 1
    assert abs(_onset(part, SR) - 0.5) < 0.03  # the tone starts at 1 s, so 0.5 s into the range
    tail = load_audio(files[ext], SR, start_s=4.0, end_s=5.0)
    assert abs(rms_dbfs(tail) - rms_dbfs(full[4 * SR : 5 * SR])) < 1.0


def test_stereo_is_averaged(tmp_path: Path) -> None:
    import soundfile as sf

    left, right = tone(440, 1.0), tone(1000, 1.0)
    sf.write(str(tmp_path / "st.wav"), np.stack([left, right], 1), SR, subtype="FLOAT")
    assert np.allclose(load_audio(tmp_path / "st.wav", SR), (left + right) / 2, atol=1e-6)


def test_resampling_is_band_limited(tmp_path: Path) -> None:
    # 12 kHz is above the 8 kHz Nyquist limit of 16 kHz: a proper resampler removes it
    # instead of folding it back to 4 kHz
    high = tone(12_000, 1.0, sr=44_100)
    write_audio(tmp_path / "hi.wav", high, sr=44_100)
    down = load_audio(tmp_path / "hi.wav", SR)
    assert rms_dbfs(down[1000:-1000]) < -60


def test_video_soundtrack_and_video_without_audio(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 3.0, audio=chirp(300, 900, 3.0))
    samples = load_audio(video, 32_000)
    assert abs(samples.size / 32_000 - 3.0) < 0.1 and rms_dbfs(samples) > -20
    assert has_audio(video)
    mute = write_video(tmp_path / "mute.mp4", 2.0)
    assert not has_audio(mute)
    with pytest.raises(NoAudioStreamError) as err:
        load_audio(mute, SR)
    assert isinstance(err.value, UnsupportedMediaError) and err.value.reason == "no audio stream"


def test_silence_clipping_and_very_short(tmp_path: Path) -> None:
    quiet = load_audio(write_audio(tmp_path / "s.flac", silence(3.0)), SR)
    assert quiet.size == 3 * SR and not quiet.any()
    clipped = np.clip(tone(200, 2.0, amp=3.0), -1, 1)
    loud = load_audio(write_audio(tmp_path / "c.wav", clipped), 32_000)
    assert np.isfinite(loud).all() and np.abs(loud).max() <= 1.2
    short = load_audio(write_audio(tmp_path / "short.mp3", tone(880, 0.3)), 32_000)
    assert 0.25 < short.size / 32_000 < 0.4
    windows = list(iter_windows(tmp_path / "short.mp3", 32_000, window_s=10, hop_s=5))
    assert len(windows) == 1 and windows[0][0] == 0.0 and windows[0][2].size == short.size


def test_float_wav_with_nan_is_sanitised(tmp_path: Path) -> None:
    import soundfile as sf

    data = tone(300, 1.0)
    data[100:200] = np.nan
    sf.write(str(tmp_path / "nan.wav"), data, SR, subtype="FLOAT")
    assert np.isfinite(load_audio(tmp_path / "nan.wav", SR)).all()


# -- windows --------------------------------------------------------------------------------
def test_window_spans_rule() -> None:
    sr = 10
    assert window_spans(0, sr, window_s=10, hop_s=5) == []
    assert window_spans(35, sr, window_s=10, hop_s=5) == [(0, 35)]  # shorter than a window: one clip
    assert window_spans(100, sr, window_s=10, hop_s=5) == [(0, 100)]
    assert window_spans(200, sr, window_s=10, hop_s=5) == [(0, 100), (50, 150), (100, 200)]
    # 23 s: windows at 0, 5, 10, then an end-aligned tail 13-23 s
    assert window_spans(230, sr, window_s=10, hop_s=5) == [(0, 100), (50, 150), (100, 200), (130, 230)]
    # a tail of 0.5 s or less is not worth a window
    assert window_spans(205, sr, window_s=10, hop_s=5) == [(0, 100), (50, 150), (100, 200)]
    assert window_spans(300, sr, window_s=4, hop_s=4)[-2:] == [(240, 280), (260, 300)]


@pytest.mark.parametrize("seconds", [0.4, 10.0, 23.0, 31.7])
def test_iter_windows_matches_spans_and_content(tmp_path: Path, seconds: float) -> None:
    sr = 8_000
    ramp = (np.arange(int(seconds * sr)) % 30_000 / 30_000 - 0.5).astype(np.float32)
    import soundfile as sf

    sf.write(str(tmp_path / "r.wav"), ramp, sr, subtype="FLOAT")
    windows = list(iter_windows(tmp_path / "r.wav", sr, window_s=10, hop_s=5))
    spans = window_spans(ramp.size, sr, window_s=10, hop_s=5)
    assert [(round(a * sr), round(b * sr)) for a, b, _ in windows] == spans
    for (a, b), (_, _, samples) in zip(spans, windows):
        assert np.array_equal(samples, ramp[a:b])


def test_windows_configurable(tmp_path: Path) -> None:
    write_audio(tmp_path / "n.flac", noise(12.0))
    starts = [a for a, _, _ in iter_windows(tmp_path / "n.flac", SR, window_s=2, hop_s=1)]
    assert starts == [float(s) for s in range(11)]


def test_long_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    import soundfile as sf

    sr, minutes = 8_000, 20
    path = tmp_path / "long.wav"
    with sf.SoundFile(str(path), "w", sr, 1, subtype="PCM_16") as fh:
        for m in range(minutes):
            fh.write(noise(60.0, sr=sr, amp=0.05, seed=m))
    decoded_bytes = minutes * 60 * 32_000 * 4  # float32 at 32 kHz
    tracemalloc.start()
    try:
        count = 0
        last_end = 0.0
        for start_s, end_s, samples in iter_windows(path, 32_000, window_s=10, hop_s=5):
            count += 1
            last_end = end_s
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == minutes * 12 - 1 and last_end == minutes * 60
    # a few windows' worth (1.3 MB each) plus the decoder's bounded read-ahead (READ_AHEAD_S
    # of samples, full when the consumer is slow, as on a busy machine), not the whole file
    from mediasearch.decode.audio import READ_AHEAD_S

    bound = 16e6 + 1.5 * READ_AHEAD_S * 32_000 * 4
    assert peak < bound < decoded_bytes / 4, f"peak {peak / 1e6:.0f} MB for {decoded_bytes / 1e6:.0f} MB of samples"


def test_blocks_are_contiguous(files: dict[str, Path]) -> None:
    blocks = list(iter_blocks(files[".m4a"], SR, block_s=0.7))
    assert all(b.size == int(0.7 * SR) for b in blocks[:-1]) and 0 < blocks[-1].size <= int(0.7 * SR)
    assert np.allclose(np.concatenate(blocks), load_audio(files[".m4a"], SR), atol=1e-6)


# -- bad files --------------------------------------------------------------------------------
def test_zero_length_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(DecodeError, match="empty file"):
        load_audio(tmp_path / "empty.wav", SR)
    with pytest.raises(DecodeError, match="not found"):
        probe_audio(tmp_path / "nope.mp3")


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".opus", ".m4a", ".webm"])
def test_truncated_files_are_refused_with_a_reason(files: dict[str, Path], tmp_path: Path, ext: str) -> None:
    cut = truncate(files[ext], 0.5, tmp_path / f"cut{ext}")
    with pytest.raises((DecodeError, UnsupportedMediaError)) as err:
        list(iter_blocks(cut, SR))
    assert err.value.reason


@pytest.mark.parametrize("ext", [".flac", ".ogg", ".opus", ".mp3", ".m4a", ".webm"])
def test_corrupt_files_are_refused_with_a_reason(files: dict[str, Path], tmp_path: Path, ext: str) -> None:
    bad = corrupt(files[ext], tmp_path / f"bad{ext}")
    with pytest.raises((DecodeError, UnsupportedMediaError)) as err:
        load_audio(bad, SR)
    assert err.value.reason


def test_not_media_and_unsupported_codec(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"this is not audio at all " * 40)
    with pytest.raises((DecodeError, UnsupportedMediaError)):
        load_audio(junk, SR)
    pcm = np.zeros(1600, np.int16).tobytes()
    fmt = struct.pack("<HHIIHH", 0x1234, 1, SR, 2 * SR, 2, 16)  # a WAVE format tag no decoder knows
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    (tmp_path / "odd.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(UnsupportedMediaError, match="unsupported audio codec"):
        load_audio(tmp_path / "odd.wav", SR)

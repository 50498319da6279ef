"""Helpers that make test audio: espeak-ng speech placed at an offset, tones, noise,
silence, and files in every format we decode (soundfile for WAV/FLAC/OGG, PyAV for
MP3/M4A/Opus-in-WebM and video with or without a soundtrack).

Signals are (samples,) float32 mono in [-1, 1]; times in seconds; rates in Hz.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

SR = 16_000


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def speech(text: str, *, sr: int = SR, voice: str = "en-us", wpm: int = 140) -> np.ndarray:
    """``text`` spoken by espeak-ng, resampled to ``sr``: (n,) float32."""
    import soundfile as sf
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(wav), text], check=True, capture_output=True)
        samples, rate = sf.read(str(wav), dtype="float32")
    return soxr.resample(samples, rate, sr).astype(np.float32) if rate != sr else samples


def silence(seconds: float, *, sr: int = SR) -> np.ndarray:
    return np.zeros(int(round(seconds * sr)), np.float32)


def tone(freq_hz: float, seconds: float, *, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def chirp(f0: float, f1: float, seconds: float, *, sr: int = SR, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (amp * np.sin(phase)).astype(np.float32)


def noise(seconds: float, *, sr: int = SR, amp: float = 0.1, seed: int = 0) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(round(seconds * sr)))).astype(np.float32)


def clicks(seconds: float, *, sr: int = SR, rate_hz: float = 4.0, amp: float = 0.8) -> np.ndarray:
    """A click train: short decaying bursts ``rate_hz`` times a second."""
    out = np.zeros(int(round(seconds * sr)), np.float32)
    burst = amp * np.exp(-np.arange(int(0.01 * sr)) / (0.002 * sr)).astype(np.float32)
    for start in range(0, out.size - burst.size, int(sr / rate_hz)):
        out[start : start + burst.size] += burst
    return out


def place(clips: list[tuple[float, np.ndarray]], *, total_s: float, sr: int = SR) -> np.ndarray:
    """Silence of ``total_s`` seconds with each (offset_s, samples) clip added at its offset."""
    out = silence(total_s, sr=sr)
    for offset_s, clip in clips:
        a = int(round(offset_s * sr))
        b = min(a + clip.size, out.size)
        out[a:b] += clip[: b - a]
    return out


def write_audio(path: Path, samples: np.ndarray, *, sr: int = SR, channels: int = 1, bit_rate: int | None = None) -> Path:
    """Write ``samples`` in the format the suffix names (.wav .flac .ogg .opus .mp3 .m4a .webm).

    ``channels`` > 1 duplicates the signal (at decreasing gain) into a multichannel file;
    ``bit_rate`` (bits/s) applies to the FFmpeg-encoded formats (.mp3 .m4a .webm).
    """
    import soundfile as sf
    import soxr

    path = Path(path)
    data = np.stack([samples * (1.0 - 0.25 * c) for c in range(channels)], axis=1).astype(np.float32)
    suffix = path.suffix.lower()
    if suffix in {".wav", ".flac"}:
        sf.write(str(path), data, sr, subtype="PCM_16")
    elif suffix == ".ogg":
        sf.write(str(path), data, sr, format="OGG", subtype="VORBIS")
    elif suffix == ".opus":
        sf.write(str(path), soxr.resample(data, sr, 48_000), 48_000, format="OGG", subtype="OPUS")
    elif suffix in {".mp3", ".m4a", ".webm"}:
        codec = {".mp3": "libmp3lame", ".m4a": "aac", ".webm": "libopus"}[suffix]
        rate = 48_000 if suffix == ".webm" else sr
        _write_av(path, soxr.resample(data, sr, rate) if rate != sr else data, rate, codec, bit_rate)
    else:
        raise ValueError(f"no writer for {suffix}")
    return path


def _audio_layout(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}.0" if channels != 6 else "5.1")


def _encode_audio(container, stream, data: np.ndarray, rate: int) -> None:
    import av

    layout = _audio_layout(data.shape[1])
    frame_n = stream.codec_context.frame_size or 1024
    pts = 0
    for i in range(0, data.shape[0], frame_n):
        chunk = np.ascontiguousarray(data[i : i + frame_n].T)
        if chunk.shape[1] < frame_n:  # encoders with a fixed frame size want full frames
            chunk = np.pad(chunk, ((0, 0), (0, frame_n - chunk.shape[1])))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        pts += chunk.shape[1]
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _write_av(path: Path, data: np.ndarray, rate: int, codec: str, bit_rate: int | None = None) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=_audio_layout(data.shape[1]))
        if bit_rate:
            stream.bit_rate = bit_rate
        _encode_audio(container, stream, data.astype(np.float32), rate)


def write_video(path: Path, seconds: float, *, audio: np.ndarray | None = None, sr: int = SR, fps: int = 4) -> Path:
    """A tiny MPEG-4 video (64x64, ``fps`` frames/s of moving colour) of ``seconds`` seconds,
    with ``audio`` (mono at ``sr``) as an AAC soundtrack, or none when ``audio`` is None."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("mpeg4", rate=fps)
        vstream.width = vstream.height = 64
        vstream.pix_fmt = "yuv420p"
        astream = container.add_stream("aac", rate=sr, layout="mono") if audio is not None else None
        for i in range(int(seconds * fps)):
            img = np.zeros((64, 64, 3), np.uint8)
            img[..., 0] = (i * 37) % 256
            img[:, (i * 3) % 64, 1] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in vstream.encode(frame):
                container.mux(packet)
        for packet in vstream.encode(None):
            container.mux(packet)
        if astream is not None:
            _encode_audio(container, astream, audio[:, None].astype(np.float32), sr)
    return path


def truncate(path: Path, fraction: float, dest: Path) -> Path:
    """A copy of ``path`` cut to ``fraction`` of its bytes."""
    data = Path(path).read_bytes()
    Path(dest).write_bytes(data[: int(len(data) * fraction)])
    return Path(dest)


def corrupt(path: Path, dest: Path, *, seed: int = 0, keep_header: int = 64) -> Path:
    """A copy of ``path`` with everything after ``keep_header`` bytes replaced by random bytes."""
    data = bytearray(Path(path).read_bytes())
    rng = np.random.default_rng(seed)
    data[keep_header:] = rng.integers(0, 256, len(data) - keep_header, dtype=np.uint8).tobytes()
    Path(dest).write_bytes(bytes(data))
    return Path(dest)


def make_audio_samples(folder: Path) -> list[Path]:
    """The generated clips shipped in samples/audio/ (CC0): speech, a sweep, noise, silence, a blip."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [(2.0, "Please close the kitchen window before it starts raining."),
             (20.0, "The lighthouse keeper painted the old wooden boat bright yellow.")]
    out = [
        write_audio(folder / "speech_two_sentences.mp3", place([(t, speech(x)) for t, x in lines], total_s=25.0), bit_rate=24_000),
        write_audio(folder / "speech_meeting.m4a", place([(1.0, speech("Our quarterly budget meeting moves to Thursday afternoon."))], total_s=6.0), bit_rate=24_000),
        write_audio(folder / "sweep_and_clicks.ogg", place([(0.0, chirp(200, 4000, 4.0)), (4.0, clicks(2.0))], total_s=6.0)),
        write_audio(folder / "noise_burst.opus", place([(0.5, noise(2.0, amp=0.2))], total_s=3.0)),
        write_audio(folder / "silence.wav", silence(1.0, sr=8_000), sr=8_000),
        write_audio(folder / "blip_short.flac", tone(880.0, 0.4)),
    ]
    return out

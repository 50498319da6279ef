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


# -- a generated category dev set: ten sound classes with random variation within each ------
#: class name -> generator(rng, seconds, sr) -> (samples,) float32; each class differs from the
#: others in timbre, texture, rhythm or pitch contour, and varies within itself (pitch, tempo,
#: loudness, background, placement), so a descriptor must find what a class has in common.
def _env(n: int, attack: int, decay_s: float, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    env = np.exp(-t / max(decay_s, 1e-3))
    env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False) if attack else 1.0
    return env


def _lowpass_noise(rng: np.random.Generator, n: int, cutoff_hz: float, sr: int, *, highpass_hz: float = 0.0) -> np.ndarray:
    """White noise band-limited to [highpass_hz, cutoff_hz] in the frequency domain: (n,)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    spectrum[(freqs > cutoff_hz) | (freqs < highpass_hz)] = 0.0
    out = np.fft.irfft(spectrum, n)
    return out / (np.abs(out).max() + 1e-9)


def _engine(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(35, 110) * (1 + rng.uniform(-0.05, 0.05) * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = sum((0.8**k) * np.sin(k * phase + rng.uniform(0, 6.3)) for k in range(1, 12))
    firing = 1 + 0.5 * np.sin(phase / 2)  # cylinder firing: amplitude modulation at f0/2
    return (out * firing + 0.5 * _lowpass_noise(rng, n, rng.uniform(300, 900), sr)).astype(np.float32)


def _rain(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    out = 0.3 * _lowpass_noise(rng, n, rng.uniform(5000, 7900), sr, highpass_hz=rng.uniform(500, 1500))
    drop = int(0.004 * sr)
    for start in rng.integers(0, n - drop, int(rng.uniform(40, 120) * seconds)):
        out[start : start + drop] += rng.uniform(0.2, 1.0) * rng.standard_normal(drop) * np.exp(-np.arange(drop) / (0.001 * sr))
    return out.astype(np.float32)


def _birds(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    out = 0.02 * _lowpass_noise(rng, n, 4000, sr)
    base, span = rng.uniform(2000, 4500), rng.uniform(500, 2500) * rng.choice([-1, 1])
    t0 = rng.uniform(0, 0.3)
    while t0 < seconds - 0.2:
        length = rng.uniform(0.04, 0.15)
        m = int(length * sr)
        t = np.arange(m) / sr
        f = base + span * (t / length) ** rng.uniform(0.5, 2.0) + 300 * np.sin(2 * np.pi * rng.uniform(20, 60) * t)
        chirp_ = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.hanning(m)
        a = int(t0 * sr)
        out[a : a + m] += rng.uniform(0.3, 1.0) * chirp_[: max(0, min(m, n - a))]
        t0 += length + rng.uniform(0.03, 0.4)
    return out.astype(np.float32)


_PHRASES = [
    "the quick brown fox jumps over the lazy dog", "please call me back tomorrow morning",
    "we will meet at the station at nine", "this is a test of the speech system",
    "the weather today is cold and windy", "turn left at the second traffic light",
    "can you hear me now", "she sells sea shells by the sea shore",
    "my favourite colour is green", "dinner is ready in ten minutes",
    "the library closes at six tonight", "open the window and let in some air",
]
_VOICES = ["en-us", "en", "en-us+f3", "en+m3", "en-us+f2", "en+m7"]


def _speech(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    said = speech(str(rng.choice(_PHRASES)), sr=sr, voice=str(rng.choice(_VOICES)), wpm=int(rng.integers(120, 200)))
    out = 0.01 * _lowpass_noise(rng, n, 3000, sr)
    a = int(rng.uniform(0, 0.4) * sr)
    m = min(said.size, n - a)
    out[a : a + m] += said[:m] / (np.abs(said).max() + 1e-9)
    return out.astype(np.float32)


def _clicks(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    out = 0.01 * rng.standard_normal(n)
    rate = rng.uniform(2, 12)
    m = int(0.01 * sr)
    burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (rng.uniform(0.0005, 0.002) * sr))
    for k in range(int(seconds * rate)):
        start = int((k + rng.uniform(-0.05, 0.05)) * sr / rate + 0.05 * sr)
        if 0 <= start < n - m:
            out[start : start + m] += rng.uniform(0.6, 1.0) * burst
    return out.astype(np.float32)


def _bells(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    out = np.zeros(n)
    ratios = np.array([0.5, 1.0, 1.19, 1.5, 2.0, 2.51, 2.66, 3.0, 4.1])
    f0 = rng.uniform(300, 1200)
    t0 = rng.uniform(0, 0.3)
    while t0 < seconds - 0.3:
        a = int(t0 * sr)
        m = n - a
        t = np.arange(m) / sr
        strike = sum(
            rng.uniform(0.3, 1.0) * np.exp(-t / (rng.uniform(0.4, 1.5) / (1 + 0.3 * k))) * np.sin(2 * np.pi * f0 * r * t)
            for k, r in enumerate(ratios)
        )
        out[a:] += strike
        t0 += rng.uniform(0.6, 1.6)
    return out.astype(np.float32)


def _siren(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    lo, hi = rng.uniform(500, 900), rng.uniform(1200, 1800)
    rate = rng.uniform(0.25, 2.0)
    f = lo + (hi - lo) * 0.5 * (1 + np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(f) / sr
    out = np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)
    return (out + 0.05 * _lowpass_noise(rng, n, 2000, sr)).astype(np.float32)


def _wind(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    noise_ = _lowpass_noise(rng, n, rng.uniform(400, 1200), sr, highpass_hz=rng.uniform(20, 100))
    gust = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6.3)) ** 2
    return (noise_ * gust).astype(np.float32)


def _drums(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    n = int(seconds * sr)
    out = np.zeros(n)
    beat = 60.0 / rng.uniform(80, 160)
    kick_m, snare_m = int(0.25 * sr), int(0.15 * sr)
    tk = np.arange(kick_m) / sr
    kick = np.sin(2 * np.pi * np.cumsum(rng.uniform(45, 70) + 120 * np.exp(-tk / 0.03)) / sr) * np.exp(-tk / 0.08)
    snare = rng.standard_normal(snare_m) * np.exp(-np.arange(snare_m) / (0.04 * sr))
    pattern = rng.choice([[1, 0, 2, 0], [1, 1, 2, 0], [1, 0, 2, 1], [1, 2, 1, 2]])
    hat = rng.random() < 0.5
    for k in range(int(seconds / (beat / 2))):
        a = int(k * beat / 2 * sr)
        hit = pattern[k % 4]
        if hit == 1 and a + kick_m < n:
            out[a : a + kick_m] += kick
        elif hit == 2 and a + snare_m < n:
            out[a : a + snare_m] += 0.6 * snare
        if hat and a + 400 < n:
            out[a : a + 400] += 0.2 * rng.standard_normal(400) * np.exp(-np.arange(400) / 60.0)
    return out.astype(np.float32)


def _beeps(rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    """DTMF-like dual-tone beeps, on and off."""
    n = int(seconds * sr)
    out = 0.01 * rng.standard_normal(n)
    low, high = [697, 770, 852, 941], [1209, 1336, 1477]
    t0 = rng.uniform(0, 0.2)
    on, off = rng.uniform(0.08, 0.3), rng.uniform(0.05, 0.3)
    while t0 < seconds - on:
        a, m = int(t0 * sr), int(on * sr)
        t = np.arange(m) / sr
        out[a : a + m] += np.sin(2 * np.pi * rng.choice(low) * t) + np.sin(2 * np.pi * rng.choice(high) * t)
        t0 += on + off
    return out.astype(np.float32)


SOUND_CLASSES = {
    "engine": _engine, "rain": _rain, "birds": _birds, "speech": _speech, "clicks": _clicks,
    "bells": _bells, "siren": _siren, "wind": _wind, "drums": _drums, "beeps": _beeps,
}


def sound_class_clip(name: str, seed: int, *, seconds: float = 3.0, sr: int = SR) -> np.ndarray:
    """One clip of class ``name`` (see SOUND_CLASSES): (seconds * sr,) float32, peak 0.1-0.9
    (random loudness), deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    clip = SOUND_CLASSES[name](rng, seconds, sr).astype(np.float64)
    clip = clip / (np.abs(clip).max() + 1e-9) * rng.uniform(0.1, 0.9)
    return clip.astype(np.float32)


def category_dev_set(per_class: int, *, seconds: float = 3.0, sr: int = SR, seed: int = 0,
                     classes: list[str] | None = None) -> tuple[list[np.ndarray], list[str]]:
    """``per_class`` clips of every class: (clips, class labels), in class order."""
    clips, labels = [], []
    for c, name in enumerate(classes or list(SOUND_CLASSES)):
        for i in range(per_class):
            clips.append(sound_class_clip(name, seed * 100_003 + c * 1000 + i, seconds=seconds, sr=sr))
            labels.append(name)
    return clips, labels


def degrade(clip: np.ndarray, seed: int, *, sr: int = SR, snr_db: float = 20.0) -> np.ndarray:
    """A near-duplicate of ``clip``: resampled through another rate (8, 11.025 or 22.05 kHz)
    and back, shifted in time (0.05-0.5 s cut from the start or silence put before it, same
    length), gain changed, and white noise added at ``snr_db`` dB SNR: (clip.size,) float32."""
    import soxr

    rng = np.random.default_rng(seed)
    rate = int(rng.choice([8000, 11025, 22050]))
    out = soxr.resample(soxr.resample(clip.astype(np.float32), sr, rate), rate, sr)[: clip.size]
    out = np.pad(out, (0, clip.size - out.size))
    shift = int(rng.uniform(0.05, 0.5) * sr)
    out = out[shift:] if rng.random() < 0.5 else np.concatenate([np.zeros(shift, np.float32), out])
    out = np.pad(out, (0, max(0, clip.size - out.size)))[: clip.size]
    out = out * rng.uniform(0.5, 1.5)
    power = float(np.mean(out.astype(np.float64) ** 2)) + 1e-12
    out = out + rng.standard_normal(out.size) * np.sqrt(power / 10 ** (snr_db / 10))
    return out.astype(np.float32)


def near_duplicate_dev_set(per_class: int, copies: int = 2, *, seconds: float = 3.0, sr: int = SR,
                           seed: int = 1) -> tuple[list[np.ndarray], list[str]]:
    """Originals from every class plus ``copies`` degraded copies of each (see :func:`degrade`):
    (clips, group labels); an original and its copies share a group label, so relevance is
    "the same recording", while the rest of its class is a close distractor."""
    originals, classes = category_dev_set(per_class, seconds=seconds, sr=sr, seed=seed)
    clips, groups = [], []
    for i, (clip, name) in enumerate(zip(originals, classes)):
        clips.append(clip)
        groups.append(f"{name}-{i}")
        for j in range(copies):
            clips.append(degrade(clip, seed * 7919 + i * 31 + j, sr=sr))
            groups.append(f"{name}-{i}")
    return clips, groups

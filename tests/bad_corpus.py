"""A corpus of bad and odd files (more than 30 kinds) written into one folder, each with what indexing must do.

``make_bad_corpus(folder)`` returns {kind: Entry}; ``Entry.expect`` is one of

- ``"indexed"``: valid but odd media; it must be indexed and found by itself at rank 1
  (``Entry.query`` says how: "image" or "audio");
- ``"skipped"``: media-looking but unusable; it must be listed with a reason;
- ``"handled"``: damaged media that may be indexed partially or skipped, with a reason
  either way when it is not whole (truncated files);
- ``"not-media"``: not media at all (README, JSON...); listed apart from failures;
- ``"problem"``: not a regular file (links, FIFO, socket); a scan problem with a reason;
- ``"ignored"``: hidden, not scanned by default.

Everything is generated (deterministic seeds) with tests/media_factory.py, tests/audio_factory.py
and PyAV; sizes in pixels, durations in seconds.
"""

from __future__ import annotations

import os
import socket
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

import audio_factory as af
import media_factory as mf

__all__ = ["Entry", "make_bad_corpus", "damage_stream", "faststart_copy"]


@dataclass(frozen=True)
class Entry:
    """One corpus file: its path (str, OS form), what indexing must do with it, how to query it."""

    path: str
    expect: str
    query: str | None = None  # "image" or "audio" for expect == "indexed"


def _cut(src: Path, dest: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def faststart_copy(src: Path, dest: Path) -> Path:
    """``src`` remuxed as an MP4 with its index first (moov before mdat), as web videos are."""
    with av.open(str(src)) as inp, av.open(str(dest), "w", format="mp4", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux():
            if packet.dts is None or packet.stream.index not in streams:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dest


def damage_stream(src: Path, dest: Path, kind: str, *, seed: int = 0) -> Path:
    """``src`` remuxed to Matroska with every packet of its ``kind`` ("video" or "audio") stream replaced by noise.

    Timestamps and sizes are kept, so the container is valid and the other stream is untouched.
    """
    rng = np.random.default_rng(seed)
    with av.open(str(src)) as inp, av.open(str(dest), "w", format="matroska") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux():
            if packet.dts is None or packet.stream.index not in streams:
                continue
            target = streams[packet.stream.index]
            if packet.stream.type == kind:
                noisy = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                noisy.pts, noisy.dts, noisy.time_base = packet.pts, packet.dts, packet.time_base
                noisy.duration = packet.duration
                noisy.is_keyframe = packet.is_keyframe
                packet = noisy
            packet.stream = target
            out.mux(packet)
    return dest


def _png_with_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height pixels (a decompression bomb), with a tiny body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def _tone(seconds: float, freq: float, sr: int = af.SR) -> np.ndarray:
    """A tone with a little of a second pitch, so each audio file has its own spectrum."""
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.1 * np.sin(2 * np.pi * freq * 2.7 * t)).astype(np.float32)


def make_bad_corpus(folder: Path | str) -> dict[str, Entry]:
    """Write the corpus into ``folder`` (created) and return {kind: Entry}."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    work = d.parent / (d.name + "-work")  # full-length sources of the cut files, outside the corpus
    work.mkdir(exist_ok=True)
    base = os.fsencode(d)
    rng = np.random.default_rng(2024)
    out: dict[str, Entry] = {}

    def add(kind: str, path: Path | str | bytes, expect: str, query: str | None = None) -> None:
        out[kind] = Entry(os.fsdecode(path), expect, query)

    # -- images: odd but valid ----------------------------------------------------------
    add("cmyk-jpeg", mf.make_image(d / "cmyk.jpg", seed=101, mode="CMYK"), "indexed", "image")
    add("16-bit-png", mf.make_image(d / "sixteen-bit.png", seed=102, mode="I;16"), "indexed", "image")
    add("palette-alpha-png", mf.make_image(d / "palette-alpha.png", seed=103, mode="PA"), "indexed", "image")
    add("animated-gif", mf.make_image(d / "animated.gif", seed=104, frames=3), "indexed", "image")
    one = d / "one-pixel.png"
    Image.new("RGB", (1, 1), (250, 20, 160)).save(one)
    add("1x1-image", one, "indexed", "image")
    add("exif-rotated-jpeg", mf.make_image(d / "rotated.jpg", seed=105, exif_orientation=6), "indexed", "image")
    add("grayscale-jpeg", mf.make_image(d / "grey.jpg", seed=106, mode="L"), "indexed", "image")
    add("webp", mf.make_image(d / "picture.webp", seed=107), "indexed", "image")
    add("tiff", mf.make_image(d / "picture.tiff", seed=108), "indexed", "image")
    add("bmp", mf.make_image(d / "picture.bmp", seed=109), "indexed", "image")
    add("png-named-jpg", mf.make_image(d / "really-png.jpg", seed=110, fmt="PNG"), "indexed", "image")
    add("jpeg-named-png", mf.make_image(d / "really-jpeg.png", seed=111, fmt="JPEG"), "indexed", "image")
    add("rgba-png", mf.make_image(d / "alpha.png", seed=112, mode="RGBA"), "indexed", "image")

    # -- names ---------------------------------------------------------------------------
    raw = base + b"/caf\xe9-latin1-\xff.jpg"  # not valid UTF-8
    mf.make_image(os.fsdecode(raw), seed=120, fmt="JPEG")
    add("non-utf8-name", raw, "indexed", "image")
    add("spaces-and-quotes", mf.make_image(d / "it's a \"quoted\" name.jpg", seed=121), "indexed", "image")
    add("newline-in-name", mf.make_image(d / "line\nbreak.png", seed=122), "indexed", "image")
    add("emoji-name", mf.make_image(d / "sunset \U0001f305.png", seed=123), "indexed", "image")
    add("very-long-name", mf.make_image(d / ("long-" + "n" * 240 + ".jpg"), seed=124), "indexed", "image")
    add("leading-dash", mf.make_image(d / "-starts-with-dash.jpg", seed=125), "indexed", "image")
    (d / "x.jpg").mkdir()  # a folder named like a file
    add("folder-named-like-a-file", mf.make_image(d / "x.jpg" / "inside.png", seed=126), "indexed", "image")
    add("hidden-file", mf.make_image(d / ".hidden.jpg", seed=127), "ignored")

    # -- images: bad -----------------------------------------------------------------------
    (d / "zero.jpg").write_bytes(b"")
    add("zero-byte", d / "zero.jpg", "skipped")
    full = mf.make_image(work / "full.jpg", seed=130, size=(320, 240))
    add("truncated-jpeg", _cut(full, d / "cut.jpg", 0.4), "handled")
    full = mf.make_image(work / "full.png", seed=131, size=(320, 240))
    add("truncated-png", _cut(full, d / "cut.png", 0.5), "handled")
    (d / "garbage.jpg").write_bytes(b"\x00" + rng.bytes(4095))
    add("garbage-jpg", d / "garbage.jpg", "skipped")
    add("decompression-bomb", _png_with_header(d / "bomb.png", 60_000, 60_000), "skipped")

    # -- video -----------------------------------------------------------------------------
    av_src = mf.make_video(work / "av.mp4", duration_s=6.0, fps=10, size=(96, 64), seed=140, with_audio=True, gop=10)
    add("truncated-mp4", _cut(av_src, d / "cut.mp4", 0.5), "handled")
    fast = faststart_copy(av_src, work / "fast.mp4")
    add("truncated-faststart-mp4", _cut(fast, d / "cut-faststart.mp4", 0.5), "handled")
    bytes_ = av_src.read_bytes()
    (d / "garbage.mp4").write_bytes(bytes_[:32] + rng.bytes(len(bytes_)))
    add("garbage-mp4", d / "garbage.mp4", "skipped")
    (d / "text.mp4").write_text("this is not a video\n" * 10)
    add("text-named-mp4", d / "text.mp4", "skipped")
    sound = af.write_audio(work / "snd.m4a", _tone(4.0, 330.0))
    only_audio = d / "audio-only.mp4"
    with av.open(str(sound)) as inp, av.open(str(only_audio), "w", format="mp4") as outc:
        s = outc.add_stream_from_template(inp.streams.audio[0])
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = s
                outc.mux(packet)
    add("video-container-without-video", only_audio, "indexed", "audio")
    src = af.write_video(work / "src.mp4", 4.0, audio=_tone(4.0, 550.0))
    add("broken-picture-good-sound", damage_stream(src, d / "broken-picture.mkv", "video", seed=1), "indexed", "audio")
    src2 = mf.make_video(work / "src2.mp4", duration_s=4.0, fps=10, size=(96, 64), seed=141, with_audio=True)
    add("good-picture-broken-sound", damage_stream(src2, d / "broken-sound.mkv", "audio", seed=2), "indexed", "image")
    add("plain-video", mf.make_video(d / "plain.mkv", duration_s=3.0, fps=10, size=(96, 64), seed=142), "indexed", "image")

    # -- audio -----------------------------------------------------------------------------
    for ext, fraction in ((".mp3", 0.5), (".flac", 0.5), (".wav", 0.5), (".ogg", 0.5)):
        whole = af.write_audio(work / f"long{ext}", _tone(12.0, 200.0 + 50 * len(ext)))
        add(f"truncated-{ext[1:]}", _cut(whole, d / f"cut{ext}", fraction), "handled")
    import soundfile as sf

    sf.write(str(d / "no-samples.wav"), np.zeros((0, 1), np.float32), af.SR, subtype="PCM_16")
    add("audio-with-0-samples", d / "no-samples.wav", "skipped")
    add("8-khz-mono", af.write_audio(d / "phone.wav", _tone(3.0, 700.0, 8000), sr=8000), "indexed", "audio")
    add("96-khz-6-channels", af.write_audio(d / "surround.flac", _tone(3.0, 950.0, 96_000), sr=96_000, channels=6),
        "indexed", "audio")
    wav = af.write_audio(work / "w.wav", _tone(3.0, 1200.0))
    (d / "wav-named.mp3").write_bytes(wav.read_bytes())
    add("wav-named-mp3", d / "wav-named.mp3", "indexed", "audio")
    (d / "garbage.mp3").write_bytes(rng.bytes(5000))
    add("garbage-mp3", d / "garbage.mp3", "skipped")

    # -- not media ---------------------------------------------------------------------------
    (d / "README.md").write_text("# Holiday pictures\n\nSorted by day.\n")
    add("readme", d / "README.md", "not-media")
    (d / "LICENSE.md").write_text("CC0 1.0 Universal\n" * 5)
    add("license", d / "LICENSE.md", "not-media")
    (d / "ground_truth.json").write_text('{"queries": []}\n')
    add("json", d / "ground_truth.json", "not-media")

    # -- not regular files -----------------------------------------------------------------------
    os.symlink(d / "nowhere.jpg", d / "broken-link.jpg")
    add("broken-symlink", d / "broken-link.jpg", "problem")
    os.symlink(d / "loop-b.jpg", d / "loop-a.jpg")
    os.symlink(d / "loop-a.jpg", d / "loop-b.jpg")
    add("symlink-loop", d / "loop-a.jpg", "problem")
    os.mkfifo(d / "pipe.mp4")
    add("fifo", d / "pipe.mp4", "problem")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(d / "socket.wav"))  # the socket file stays after the socket is closed
    finally:
        sock.close()
    add("socket", d / "socket.wav", "problem")
    return out

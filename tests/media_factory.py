"""Generate real media files (images, videos, audio, broken files) for tests.

Import it from a test as ``import media_factory`` (pytest puts ``tests/`` on sys.path).
Everything is deterministic for a given seed. Sizes are (width, height) in pixels,
times in seconds, sample rates in Hz.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

__all__ = [
    "make_image",
    "make_photo_like",
    "synthetic_scene",
    "jpeg_roundtrip",
    "near_duplicate",
    "make_video",
    "make_audio",
    "make_bad_files",
    "VIDEO_CODECS",
    "AUDIO_CODECS",
    "SCENE_CLASSES",
    "scene_class_picture",
    "scene_dev_set",
    "degrade_picture",
    "near_duplicate_picture_set",
]

#: video codec and pixel format PyAV encodes here, by container suffix
VIDEO_CODECS: dict[str, tuple[str, str]] = {
    ".mp4": ("libx264", "yuv420p"),
    ".mkv": ("libx264", "yuv420p"),
    ".mov": ("libx264", "yuv420p"),
    ".m4v": ("libx264", "yuv420p"),
    ".webm": ("libvpx", "yuv420p"),
    ".avi": ("mpeg4", "yuv420p"),
    ".ogv": ("libvpx", "yuv420p"),  # no Theora encoder here: VP8 in OGG
}

#: audio codec (and the sample rate it needs, None = any) by container suffix
AUDIO_CODECS: dict[str, tuple[str, int | None]] = {
    ".mp4": ("aac", None),
    ".m4a": ("aac", None),
    ".mov": ("aac", None),
    ".mkv": ("aac", None),
    ".mka": ("aac", None),
    ".webm": ("libopus", 48000),
    ".ogg": ("libopus", 48000),
    ".ogv": ("libopus", 48000),
    ".opus": ("libopus", 48000),
    ".avi": ("libmp3lame", None),
    ".mp3": ("libmp3lame", None),
    ".aac": ("aac", None),
    ".wav": ("pcm_s16le", None),
    ".flac": ("flac", None),
}

_PIL_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP",
    ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP",
}


# ----------------------------------------------------------------------------- images


def _palette(rng: np.random.Generator, n: int) -> list[tuple[int, int, int]]:
    """n saturated, well separated colours (random hues, high value)."""
    hues = (rng.random() + np.arange(n) / n) % 1.0
    out = []
    for h in hues:
        rgb = _hsv_to_rgb(h, 0.55 + 0.45 * rng.random(), 0.55 + 0.45 * rng.random())
        out.append(rgb)
    rng.shuffle(out)
    return out


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - math.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return int(r * 255), int(g * 255), int(b * 255)


def structured_picture(seed: int, size: tuple[int, int]) -> Image.Image:
    """An RGB picture of gradients and shapes that depends only on ``seed`` and ``size``.

    Shapes are placed in relative coordinates, so the same seed at two sizes gives the
    same picture at two resolutions.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    colours = _palette(rng, 8)
    # Background: a linear gradient between two colours along a random direction.
    angle = rng.random() * 2 * math.pi
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    proj = (xx / max(w - 1, 1)) * math.cos(angle) + (yy / max(h - 1, 1)) * math.sin(angle)
    proj = (proj - proj.min()) / max(float(np.ptp(proj)), 1e-6)
    c0, c1 = np.array(colours[0], np.float32), np.array(colours[1], np.float32)
    bg = c0[None, None, :] * (1 - proj[..., None]) + c1[None, None, :] * proj[..., None]
    img = Image.fromarray(bg.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    scale = min(w, h)
    for i in range(int(rng.integers(5, 9))):
        colour = colours[2 + i % 6]
        cx, cy = rng.random() * w, rng.random() * h
        r = (0.08 + 0.22 * rng.random()) * scale
        kind = int(rng.integers(0, 4))
        box = [cx - r, cy - r * (0.5 + rng.random()), cx + r, cy + r * (0.5 + rng.random())]
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        elif kind == 2:
            pts = [(cx + r * math.cos(a), cy + r * math.sin(a))
                   for a in rng.random(int(rng.integers(3, 6))) * 2 * math.pi]
            draw.polygon(sorted(pts, key=lambda p: math.atan2(p[1] - cy, p[0] - cx)), fill=colour)
        else:
            width = max(1, int(scale * (0.01 + 0.03 * rng.random())))
            draw.line([(rng.random() * w, rng.random() * h), (rng.random() * w, rng.random() * h)],
                      fill=colour, width=width)
    return img


def _to_mode(img: Image.Image, mode: str, seed: int) -> Image.Image:
    """Convert an RGB picture to ``mode`` the way a real file of that mode would look."""
    if mode == "RGB":
        return img
    if mode in ("L", "1", "CMYK", "YCbCr"):
        return img.convert(mode)
    if mode in ("I;16", "I"):
        grey = np.asarray(img.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
        return Image.fromarray(grey) if mode == "I;16" else Image.fromarray(grey.astype(np.int32))
    w, h = img.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Alpha: opaque in the centre, transparent towards the edges.
    d = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    alpha = Image.fromarray((np.clip((1.25 - d) * 2, 0, 1) * 255).astype(np.uint8), "L")
    if mode == "RGBA":
        out = img.copy()
        out.putalpha(alpha)
        return out
    if mode == "LA":
        out = img.convert("L")
        out.putalpha(alpha)
        return out.convert("LA")
    if mode == "P":
        return img.quantize(64)
    if mode == "PA":  # palette with one transparent index (GIF/PNG tRNS style)
        out = img.quantize(63)
        arr = np.asarray(out).copy()
        arr[np.asarray(alpha) < 128] = 63
        pal = out.getpalette()[: 63 * 3] + [0, 0, 0]
        res = Image.fromarray(arr, "P")
        res.putpalette(pal)
        res.info["transparency"] = 63
        return res
    raise ValueError(f"unsupported mode {mode!r}")


def make_image(
    path: Path | str,
    *,
    seed: int,
    size: tuple[int, int] = (320, 240),
    fmt: str | None = None,
    mode: str = "RGB",
    quality: int = 90,
    exif_orientation: int | None = None,
    frames: int = 1,
) -> Path:
    """Write a distinctive structured picture (gradient + shapes chosen by ``seed``).

    ``fmt`` is a Pillow format name (default: from the suffix). ``mode`` is one of RGB, L,
    1, CMYK, I;16, I, RGBA, LA, P, PA (palette with a transparent index). The pixels are
    stored as given: ``exif_orientation`` only adds the EXIF tag (274). ``frames`` > 1
    writes an animation (GIF/WebP) whose later frames use other seeds.
    """
    path = Path(path)
    fmt = fmt or _PIL_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot infer an image format from {path.name!r}; pass fmt=")
    img = _to_mode(structured_picture(seed, size), mode, seed)
    kwargs: dict = {}
    if fmt == "JPEG":
        kwargs["quality"] = quality
    if fmt == "WEBP":
        kwargs["quality"] = quality
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[274] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    if mode == "PA" and fmt in ("PNG", "GIF"):
        kwargs["transparency"] = 63
    if frames > 1:
        others = [_to_mode(structured_picture(seed + 1000 * k, size), mode, seed) for k in range(1, frames)]
        kwargs.update(save_all=True, append_images=others, duration=100, loop=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kwargs)
    return path


def photo_like_picture(seed: int, size: tuple[int, int]) -> Image.Image:
    """A photo-like RGB picture: sky/ground gradient, soft blobs, texture and grain."""
    w, h = size
    rng = np.random.default_rng(seed)
    colours = np.array(_palette(rng, 6), np.float32)
    horizon = 0.35 + 0.3 * rng.random()
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    sky = colours[0] * (1 - yy / horizon)[..., None] * 0.6 + colours[1] * (yy / horizon)[..., None] * 0.8
    g = ((yy - horizon) / (1 - horizon))[..., None]
    ground = colours[2] * g + colours[3] * (1 - g) * 0.7
    base = np.where((yy < horizon)[..., None], sky, ground)  # (h, 1, 3)
    # Low-frequency illumination / texture: a coarse random grid upsampled bicubically.
    coarse = rng.random((6, 8)).astype(np.float32)
    low = Image.fromarray((coarse * 255).astype(np.uint8), "L").resize((w, h), Image.BICUBIC)
    low = np.asarray(low, np.float32) / 255
    img = base * (0.65 + 0.5 * low[..., None])
    pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(pic)
    s = min(w, h)
    for i in range(int(rng.integers(3, 7))):  # "objects" standing on the ground
        cx = rng.random() * w
        cy = (horizon + rng.random() * (1 - horizon)) * h
        rw, rh = (0.05 + 0.15 * rng.random()) * s, (0.1 + 0.3 * rng.random()) * s
        col = tuple(int(v) for v in colours[4 + i % 2] * (0.6 + 0.4 * rng.random()))
        if rng.random() < 0.5:
            draw.ellipse([cx - rw, cy - rh, cx + rw, cy], fill=col)
        else:
            draw.rectangle([cx - rw, cy - rh, cx + rw, cy], fill=col)
    pic = pic.filter(ImageFilter.GaussianBlur(radius=max(1.0, s / 300)))
    grain = rng.normal(0, 6, (h, w, 1)).astype(np.float32)
    arr = np.asarray(pic, np.float32) + grain
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def make_photo_like(
    path: Path | str, seed: int, size: tuple[int, int] = (640, 480), *, quality: int = 90
) -> Path:
    """Write a photo-like picture (see photo_like_picture); format from the suffix."""
    path = Path(path)
    fmt = _PIL_FORMATS.get(path.suffix.lower(), "JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    photo_like_picture(seed, size).save(path, fmt, **kwargs)
    return path


def jpeg_roundtrip(image: Image.Image, quality: int = 85) -> Image.Image:
    """``image`` after a JPEG encode and decode at ``quality`` (RGB)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def synthetic_scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A structured synthetic picture: sky gradient, ridges, blurred shapes, sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    img = (rng.uniform(0, 255, 3) * (1 - y) + rng.uniform(0, 255, 3) * y) * np.ones((1, w, 1))
    x = np.linspace(0, 1, w)
    for _ in range(int(rng.integers(1, 4))):
        ridge = sum(rng.normal(0, 0.08 / k) * np.sin(2 * np.pi * k * x + rng.uniform(0, 6.3)) for k in range(1, 6))
        mask = np.arange(h)[:, None] > ((rng.uniform(0.3, 0.8) + ridge) * h)[None, :]
        img[mask] = rng.uniform(0, 255, 3)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(int(rng.integers(3, 9))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 90)
        colour = tuple(int(c) for c in rng.uniform(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r * rng.uniform(0.5, 1.5)], fill=colour)
        else:
            draw.rectangle([cx - r, cy - r * 0.6, cx + r * 1.3, cy + r], fill=colour)
    pil = pil.filter(ImageFilter.GaussianBlur(1.2))
    noisy = np.asarray(pil, dtype=np.float64) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def near_duplicate(image: Image.Image) -> Image.Image:
    """Mirrored, cropped and hue-shifted: the same scene to a person, not to a colour
    histogram or a perceptual hash."""
    image = ImageOps.mirror(image)
    w, h = image.size
    image = image.crop((int(0.12 * w), int(0.10 * h), int(0.90 * w), int(0.92 * h)))
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + 40) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


# ----------------------------------------------------------------------------- video


def _scene_times(duration_s: float, scene_changes: int | Sequence[float]) -> list[float]:
    if isinstance(scene_changes, int):
        return [duration_s * (k + 1) / (scene_changes + 1) for k in range(scene_changes)]
    return sorted(float(t) for t in scene_changes)


def video_frame(
    t: float, *, seed: int, size: tuple[int, int], scene: int, static: bool, backgrounds: dict
) -> np.ndarray:
    """The (h, w, 3) uint8 RGB picture make_video draws at time ``t`` seconds."""
    w, h = size
    key = seed + 7919 * scene
    if key not in backgrounds:
        backgrounds[key] = np.asarray(structured_picture(key, size), np.uint8)
    bg = backgrounds[key]
    if static:
        return bg
    # A band that sweeps across the picture (period 3 s) plus a brightness drift, so frames
    # 2 s apart differ clearly even on a 32x32 thumbnail.
    out = bg.astype(np.int16)
    shift = int((t / 3.0 % 1.0) * w)
    out = np.roll(out, shift, axis=1)
    x0 = int((t / 3.0 % 1.0) * w)
    out[:, max(0, x0 - w // 8): x0 + w // 8] = 255 - out[:, max(0, x0 - w // 8): x0 + w // 8]
    out += int(40 * math.sin(2 * math.pi * t / 5.0))
    return np.clip(out, 0, 255).astype(np.uint8)


def make_video(
    path: Path | str,
    *,
    duration_s: float,
    fps: float = 10,
    size: tuple[int, int] = (160, 120),
    seed: int = 0,
    scene_changes: int | Sequence[float] = 0,
    static: bool = False,
    with_audio: bool = False,
    audio_freq: float = 440.0,
    codec: str | None = None,
    gop: int | None = None,
    bframes: int | None = None,
    open_gop: bool = False,
    rotation: int = 0,
) -> Path:
    """Write a video of ``duration_s`` seconds at ``fps`` with PyAV; codec from the suffix.

    Frame i has presentation time i / fps. The picture changes over time (a sweeping band
    and brightness drift) unless ``static``; ``scene_changes`` (a count, evenly spread, or
    a list of times in seconds) switches to a different structured picture. ``with_audio``
    adds a mono sine soundtrack of the same duration. ``gop`` is the keyframe spacing in
    frames, ``bframes`` the number of B-frames and ``open_gop`` lets them reference the
    previous group (H.264 only); ``rotation`` writes a display matrix (counter-clockwise
    degrees).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    vcodec, pix_fmt = VIDEO_CODECS[suffix]
    vcodec = codec or vcodec
    w, h = size
    n_frames = max(1, int(round(duration_s * fps)))
    rate = Fraction(fps).limit_denominator(1001)
    path.parent.mkdir(parents=True, exist_ok=True)
    cuts = _scene_times(duration_s, scene_changes)
    backgrounds: dict = {}
    with av.open(str(path), "w") as container:
        stream = container.add_stream(vcodec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if gop is not None:
            stream.codec_context.gop_size = gop
        if vcodec == "libx264":
            x264: dict[str, str] = {}
            if gop is not None:
                x264.update({"keyint": str(gop), "min-keyint": str(gop), "scenecut": "0"})
            if bframes is not None:
                x264["bframes"] = str(bframes)
            if open_gop:
                x264["open-gop"] = "1"
            # ultrafast has no B-frames; ask for a slower preset only when B-frames are wanted
            options = {"preset": "ultrafast" if not bframes else "veryfast"}
            if x264:
                options["x264-params"] = ":".join(f"{k}={v}" for k, v in x264.items())
            stream.codec_context.options = options
        elif vcodec in ("libvpx", "libvpx-vp9"):
            stream.codec_context.options = {"deadline": "realtime", "cpu-used": "8", "b": "400k"}
        if rotation:
            stream.set_display_rotation(rotation)
        astream = None
        if with_audio:
            acodec, arate = AUDIO_CODECS[suffix]
            astream = container.add_stream(acodec, rate=arate or 44100)
            astream.layout = "mono"
        for i in range(n_frames):
            t = i / float(rate)
            scene = sum(1 for c in cuts if t >= c)
            arr = video_frame(t, seed=seed, size=size, scene=scene, static=static, backgrounds=backgrounds)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if astream is not None:
            _encode_sine(container, astream, n_frames / float(rate), audio_freq)
    return path


# ----------------------------------------------------------------------------- audio


def _encode_sine(container, stream, duration_s: float, freq: float) -> None:
    sr = stream.codec_context.sample_rate
    n = int(round(duration_s * sr))
    chunk = 4096
    fmt = stream.codec_context.format.name
    for start in range(0, n, chunk):
        t = (np.arange(start, min(start + chunk, n)) / sr).astype(np.float64)
        wave = 0.3 * np.sin(2 * np.pi * freq * t)
        if fmt.startswith("s16"):
            data = (wave * 32767).astype(np.int16)[None]
            frame_fmt = "s16p" if fmt.endswith("p") else "s16"
        else:
            data = wave.astype(np.float32)[None]
            frame_fmt = "fltp" if fmt.endswith("p") else "flt"
        frame = av.AudioFrame.from_ndarray(data, format=frame_fmt, layout="mono")
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def make_audio(
    path: Path | str,
    *,
    duration_s: float = 1.0,
    sr: int | None = None,
    freq: float = 440.0,
    fmt: str | None = None,
    codec: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a mono sine tone with PyAV; codec and container from the suffix.

    Suffixes: .wav .flac .mp3 .ogg/.opus (Opus, 48 kHz) .m4a .aac (ADTS) .mka. ``fmt`` is
    an FFmpeg muxer name overriding the suffix; ``options`` are muxer options (for example
    ``{"id3v2_version": "0"}`` for an MP3 without an ID3 tag).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    acodec, arate = AUDIO_CODECS[suffix]
    muxer = fmt or {".m4a": "ipod", ".aac": "adts", ".mka": "matroska", ".opus": "ogg"}.get(suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=muxer, options=options or {}) as container:
        stream = container.add_stream(codec or acodec, rate=arate or sr or 44100)
        stream.layout = "mono"
        _encode_sine(container, stream, duration_s, freq)
    return path


# ----------------------------------------------------------------------------- broken files


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_bad_files(directory: Path | str) -> dict[str, Path]:
    """Write one file per kind of bad input and return them by name.

    Names: ``empty`` (0 bytes, .jpg), ``truncated_jpeg`` (a JPEG cut at 40 %),
    ``corrupt_png`` (valid signature and IHDR, then garbage), ``random_jpg`` (random bytes
    named .jpg), ``text`` (a .txt file), ``pdf`` (a minimal PDF, unsupported format),
    ``unreadable`` (a valid PNG with mode 000: still readable by root, so a test must
    skip when ``os.geteuid() == 0``), ``png_as_jpg`` (a valid PNG named .jpg),
    ``truncated_mp4`` (an MP4 cut in half: its index is lost), ``garbage_mp4`` (an MP4
    header followed by random bytes).
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    out: dict[str, Path] = {}

    out["empty"] = d / "empty.jpg"
    out["empty"].write_bytes(b"")

    full = make_image(d / "_full.jpg", seed=11, size=(320, 240))
    data = full.read_bytes()
    out["truncated_jpeg"] = d / "truncated.jpg"
    out["truncated_jpeg"].write_bytes(data[: int(len(data) * 0.4)])
    full.unlink()

    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
    out["corrupt_png"] = d / "corrupt.png"
    out["corrupt_png"].write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + rng.bytes(2000))

    out["random_jpg"] = d / "random.jpg"
    out["random_jpg"].write_bytes(b"\x00" + rng.bytes(4095))  # never a valid magic number

    out["text"] = d / "notes.txt"
    out["text"].write_text("just some notes\nnot media at all\n" * 20)

    out["pdf"] = d / "document.pdf"
    out["pdf"].write_bytes(
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )

    out["unreadable"] = make_image(d / "unreadable.png", seed=12, size=(64, 48))
    os.chmod(out["unreadable"], 0)

    out["png_as_jpg"] = make_image(d / "really_a_png.jpg", seed=13, size=(96, 64), fmt="PNG")

    mp4 = make_video(d / "_full.mp4", duration_s=1.0, fps=10, size=(64, 48), seed=14)
    data = mp4.read_bytes()
    mp4.unlink()
    out["truncated_mp4"] = d / "truncated.mp4"
    out["truncated_mp4"].write_bytes(data[: len(data) // 2])
    out["garbage_mp4"] = d / "garbage.mp4"
    out["garbage_mp4"].write_bytes(data[:32] + rng.bytes(len(data)))
    return out


# ----------------------------------------------------------------------------- scene classes
# A generated category dev set for image descriptors: eight scene classes that differ in
# layout, texture and colour, each varying within itself (hues, positions, counts, scale,
# lighting), so colour alone cannot tell them apart and one layout does not fit a class.
def _jitter_hue(rng: np.random.Generator, base: float, spread: float = 0.06) -> float:
    return float((base + rng.uniform(-spread, spread)) % 1.0)


def _grad(h: int, w: int, top: tuple, bottom: tuple) -> np.ndarray:
    y = np.linspace(0, 1, h)[:, None, None]
    return np.asarray(top, float) * (1 - y) + np.asarray(bottom, float) * y * np.ones((1, w, 1))


def _scene_beach(rng, w, h):
    horizon, shore = rng.uniform(0.3, 0.5), rng.uniform(0.6, 0.8)
    img = _grad(h, w, _hsv_to_rgb(_jitter_hue(rng, 0.58), rng.uniform(0.3, 0.6), 1.0), _hsv_to_rgb(_jitter_hue(rng, 0.55), 0.2, 0.95))
    y = np.arange(h)[:, None]
    x = np.linspace(0, 1, w)[None, :]
    wave = 0.02 * np.sin(2 * np.pi * rng.uniform(2, 6) * x + rng.uniform(0, 6))
    img[(y > horizon * h) & (y <= (shore + wave) * h)] = _hsv_to_rgb(_jitter_hue(rng, 0.55), rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.8))
    img[y > (shore + wave) * h] = _hsv_to_rgb(_jitter_hue(rng, 0.12, 0.03), rng.uniform(0.3, 0.5), rng.uniform(0.8, 0.95))
    return img


def _scene_forest(rng, w, h):
    img = _grad(h, w, _hsv_to_rgb(_jitter_hue(rng, 0.3), 0.5, 0.5), _hsv_to_rgb(_jitter_hue(rng, 0.25), 0.6, 0.3))
    for _ in range(int(rng.integers(8, 20))):
        x0, tw = int(rng.uniform(0, w)), int(rng.uniform(0.01, 0.05) * w)
        img[:, x0 : x0 + tw] = _hsv_to_rgb(_jitter_hue(rng, 0.08, 0.03), rng.uniform(0.4, 0.7), rng.uniform(0.15, 0.4))
    leaves = rng.random((h // 4, w // 4)) < 0.3
    leaves = np.kron(leaves, np.ones((4, 4), bool))[:h, :w]
    img[leaves] = img[leaves] * 0.5 + np.asarray(_hsv_to_rgb(_jitter_hue(rng, 0.3), 0.7, 0.6)) * 0.5
    return img


def _scene_city_night(rng, w, h):
    img = _grad(h, w, (5, 5, 25), (20, 20, 35))
    for _ in range(int(rng.integers(5, 12))):
        x0, bw, top = int(rng.uniform(0, w)), int(rng.uniform(0.05, 0.2) * w), int(rng.uniform(0.2, 0.7) * h)
        img[top:, x0 : x0 + bw] = rng.uniform(10, 30)
        for _ in range(int(rng.integers(10, 40))):
            wx, wy = int(rng.uniform(x0, x0 + bw)), int(rng.uniform(top, h))
            img[wy : wy + 3, wx : wx + 2] = _hsv_to_rgb(_jitter_hue(rng, 0.13, 0.05), 0.6, 1.0)
    return img


def _scene_sunset(rng, w, h):
    img = _grad(h, w, _hsv_to_rgb(_jitter_hue(rng, 0.75, 0.05), 0.6, 0.5), _hsv_to_rgb(_jitter_hue(rng, 0.06, 0.04), 0.9, 1.0))
    x = np.linspace(0, 1, w)
    ridge = rng.uniform(0.6, 0.8) + sum(rng.normal(0, 0.05 / k) * np.sin(2 * np.pi * k * x + rng.uniform(0, 6)) for k in range(1, 6))
    img[np.arange(h)[:, None] > (ridge * h)[None, :]] = rng.uniform(0, 25, 3)
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.4, 0.6) * h, rng.uniform(0.04, 0.1) * w
    yy, xx = np.mgrid[0:h, 0:w]
    sun = ((xx - cx) ** 2 + (yy - cy) ** 2 < r**2) & (yy < (ridge * h)[None, :])
    img[sun] = (255, 230, 150)
    return img


def _scene_stripes(rng, w, h):
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    angle, freq = rng.uniform(0, np.pi), rng.uniform(6, 20)
    wave = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle))))
    a, b = (np.asarray(_hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.3, 1), rng.uniform(0.4, 1))) for _ in range(2))
    return a * wave[..., None] + b * (1 - wave[..., None])


def _scene_dots(rng, w, h):
    img = np.ones((h, w, 3)) * np.asarray(_hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.1, 0.5), rng.uniform(0.7, 1)))
    step = int(rng.uniform(0.06, 0.15) * w)
    r = step * rng.uniform(0.2, 0.4)
    colour = np.asarray(_hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.5, 1), rng.uniform(0.2, 0.8)))
    yy, xx = np.mgrid[0:h, 0:w]
    offset = rng.uniform(0, step, 2)
    dots = ((xx + offset[0]) % step - step / 2) ** 2 + ((yy + offset[1]) % step - step / 2) ** 2 < r**2
    img[dots] = colour
    return img


def _scene_document(rng, w, h):
    img = np.ones((h, w, 3)) * rng.uniform(225, 255)
    margin, line_h = rng.uniform(0.05, 0.15), rng.uniform(0.02, 0.04)
    y = margin
    while y < 1 - margin:
        x = margin
        end = 1 - margin - rng.uniform(0, 0.3)
        while x < end:
            word = rng.uniform(0.03, 0.12)
            img[int(y * h) : int((y + line_h * 0.6) * h), int(x * w) : int(min(x + word, end) * w)] = rng.uniform(0, 60)
            x += word + 0.015
        y += line_h * rng.uniform(1.4, 2.0)
    return img


def _scene_snow(rng, w, h):
    top = _hsv_to_rgb(_jitter_hue(rng, 0.6), rng.uniform(0.05, 0.3), rng.uniform(0.6, 0.9))
    img = _grad(h, w, top, (245, 245, 250))
    x = np.linspace(0, 1, w)
    ridge = rng.uniform(0.3, 0.5) + 0.05 * np.sin(2 * np.pi * rng.uniform(1, 3) * x + rng.uniform(0, 6))
    img[np.arange(h)[:, None] > (ridge * h)[None, :]] = rng.uniform(225, 250)
    flakes = rng.random((h, w)) < rng.uniform(0.002, 0.01)
    img[flakes] = 255
    return img


SCENE_CLASSES = {
    "beach": _scene_beach, "forest": _scene_forest, "city-night": _scene_city_night, "sunset": _scene_sunset,
    "stripes": _scene_stripes, "dots": _scene_dots, "document": _scene_document, "snow": _scene_snow,
}


def scene_class_picture(name: str, seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture of scene class ``name`` (see SCENE_CLASSES), deterministic in ``seed``:
    random content for the class, a random brightness, a little blur and sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = SCENE_CLASSES[name](rng, w, h) * rng.uniform(0.8, 1.15)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    noisy = np.asarray(pil, dtype=np.float64) + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def scene_dev_set(per_class: int, *, seed: int = 0, size: tuple[int, int] = (320, 240)) -> tuple[list[Image.Image], list[str]]:
    """``per_class`` pictures of every scene class: (images, class labels), in class order."""
    images, labels = [], []
    for c, name in enumerate(SCENE_CLASSES):
        for i in range(per_class):
            images.append(scene_class_picture(name, seed * 100_003 + c * 1000 + i, size))
            labels.append(name)
    return images, labels


def degrade_picture(image: Image.Image, seed: int) -> Image.Image:
    """A near-duplicate: rotated 3-12 degrees either way (corners cropped away), cropped by
    5-15 % on each side, resized to 60-140 % and JPEG-encoded at quality 30-70."""
    rng = np.random.default_rng(seed)
    w, h = image.size
    angle = float(rng.uniform(3, 12) * rng.choice([-1, 1]))
    out = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    inset = 0.5 * np.tan(np.radians(abs(angle)))  # crop off the black corners
    box = [rng.uniform(0.05, 0.15) + inset for _ in range(4)]
    out = out.crop((int(box[0] * w), int(box[1] * h), int((1 - box[2]) * w), int((1 - box[3]) * h)))
    scale = rng.uniform(0.6, 1.4)
    out = out.resize((max(16, int(out.width * scale)), max(16, int(out.height * scale))), Image.Resampling.BILINEAR)
    return jpeg_roundtrip(out, quality=int(rng.integers(30, 71)))


def near_duplicate_picture_set(per_class: int, copies: int = 2, *, seed: int = 1) -> tuple[list[Image.Image], list[str]]:
    """Scene pictures plus ``copies`` degraded copies of each (see :func:`degrade_picture`):
    (images, group labels); a picture and its copies share a group label."""
    originals, classes = scene_dev_set(per_class, seed=seed)
    images, groups = [], []
    for i, (image, name) in enumerate(zip(originals, classes)):
        images.append(image)
        groups.append(f"{name}-{i}")
        for j in range(copies):
            images.append(degrade_picture(image, seed * 7919 + i * 31 + j))
            groups.append(f"{name}-{i}")
    return images, groups

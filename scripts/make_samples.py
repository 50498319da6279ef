#!/usr/bin/env python
"""Generate the deterministic sample set in samples/ (used by the README demo and tests).

    python scripts/make_samples.py [--out samples]

Writes samples/images/ (four painted scenes, each with near-duplicate variants: crop,
resize, JPEG re-encode, small rotation), samples/videos/ (two short clips, one with a
soundtrack, whose segments show the same scenes), samples/ground_truth.json (which files
are near-duplicates of which, and which video segments show which scene) and
samples/LICENSE.md (CC0). samples/audio/ is left to the audio samples. Same output on
every run with the same library versions; about 1.5 MB in all.
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- scenes
# Each painter draws its scene on an RGB canvas of any size (relative coordinates).


def _sky(draw: ImageDraw.ImageDraw, w: int, h: int, top, bottom, horizon: float) -> None:
    hy = int(h * horizon)
    for y in range(hy):
        f = y / max(hy - 1, 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * f) for a, b in zip(top, bottom)))


def paint_sunset(img: Image.Image, rng: np.random.Generator) -> None:
    """Orange-to-purple sky, a big yellow sun on the horizon, dark hills."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    _sky(d, w, h, (70, 30, 110), (250, 140, 50), 0.65)
    r = 0.16 * h
    d.ellipse([0.6 * w - r, 0.65 * h - r, 0.6 * w + r, 0.65 * h + r], fill=(255, 220, 80))
    pts = [(0, h), (0, 0.62 * h)]
    for k in range(9):
        pts.append((w * (k + 0.5) / 9, h * (0.6 + 0.08 * rng.random())))
    pts += [(w, 0.63 * h), (w, h)]
    d.polygon(pts, fill=(40, 25, 45))


def paint_ocean(img: Image.Image, rng: np.random.Generator) -> None:
    """Light blue sky, deep blue sea with white wave lines, a sailing boat."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    _sky(d, w, h, (120, 180, 240), (200, 230, 250), 0.45)
    d.rectangle([0, 0.45 * h, w, h], fill=(20, 70, 150))
    for k in range(14):
        y = h * (0.5 + 0.5 * k / 14)
        x0 = rng.random() * w
        d.line([(x0, y), (x0 + 0.2 * w, y)], fill=(220, 235, 250), width=max(1, h // 120))
    bx, by = 0.35 * w, 0.52 * h
    hull = [(bx - 0.1 * w, by), (bx + 0.1 * w, by), (bx + 0.07 * w, by + 0.05 * h), (bx - 0.07 * w, by + 0.05 * h)]
    d.polygon(hull, fill=(120, 60, 30))
    d.polygon([(bx, by - 0.3 * h), (bx, by - 0.01 * h), (bx + 0.12 * w, by - 0.01 * h)], fill=(250, 250, 245))


def paint_forest(img: Image.Image, rng: np.random.Generator) -> None:
    """Pale sky, green meadow, rows of dark green fir trees with brown trunks."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    _sky(d, w, h, (170, 200, 220), (225, 235, 230), 0.5)
    d.rectangle([0, 0.5 * h, w, h], fill=(70, 140, 50))
    for row, (y, s) in enumerate([(0.62, 0.22), (0.8, 0.3), (0.98, 0.38)]):
        for k in range(6 - row):
            x = w * (k + 0.3 + 0.4 * rng.random()) / (6 - row)
            th = s * h
            d.rectangle([x - 0.012 * w, y * h - 0.1 * th, x + 0.012 * w, y * h], fill=(90, 55, 25))
            d.polygon([(x - 0.25 * th, y * h - 0.1 * th), (x + 0.25 * th, y * h - 0.1 * th), (x, y * h - th)],
                      fill=(20, 70 + 20 * row, 30))


def paint_city(img: Image.Image, rng: np.random.Generator) -> None:
    """Night sky, dark skyscrapers with lit yellow windows, a pale moon."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    _sky(d, w, h, (5, 10, 35), (30, 40, 80), 1.0)
    d.ellipse([0.8 * w, 0.08 * h, 0.8 * w + 0.1 * h, 0.18 * h], fill=(235, 235, 215))
    x = 0.0
    while x < w:
        bw = (0.08 + 0.08 * rng.random()) * w
        top = (0.25 + 0.45 * rng.random()) * h
        d.rectangle([x, top, x + bw, h], fill=(25 + int(20 * rng.random()),) * 3)
        step = max(4, int(0.025 * w))
        for wy in range(int(top) + step // 2, h - step, step):
            for wx in range(int(x) + step // 3, int(x + bw) - step // 2, step):
                if rng.random() < 0.45:
                    d.rectangle([wx, wy, wx + step // 2, wy + step // 2], fill=(250, 210, 90))
        x += bw + 0.01 * w


SCENES: dict[str, tuple[Callable, str]] = {
    "sunset": (paint_sunset, "a yellow sun setting behind dark hills under an orange and purple sky"),
    "ocean": (paint_ocean, "a sailing boat on a blue sea with waves"),
    "forest": (paint_forest, "fir trees on a green meadow"),
    "city": (paint_city, "skyscrapers with lit windows at night under the moon"),
}


def render(scene: str, size: tuple[int, int], seed: int) -> Image.Image:
    """The scene at ``size`` with soft focus and sensor-like grain (deterministic)."""
    painter, _ = SCENES[scene]
    img = Image.new("RGB", size)
    painter(img, np.random.default_rng(seed))
    img = img.filter(ImageFilter.GaussianBlur(radius=max(0.6, min(size) / 400)))
    grain = np.random.default_rng(seed + 1).normal(0, 4, (size[1], size[0], 1))
    return Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).astype(np.uint8))


# ----------------------------------------------------------------------------- images

VARIANTS: dict[str, tuple[str, Callable[[Image.Image], Image.Image], dict]] = {
    # name: (description, transform, save options)
    "crop": ("centre crop keeping 70 % of each side", lambda im: im.crop(
        (int(im.width * 0.15), int(im.height * 0.15), int(im.width * 0.85), int(im.height * 0.85))), {"quality": 88}),
    "small": ("resized to 50 % and saved as PNG",
              lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS), {}),
    "lowq": ("re-encoded as JPEG quality 25", lambda im: im, {"quality": 25}),
    "tilt": ("rotated 4 degrees and cropped to remove the corners", lambda im: _tilt(im, 4.0), {"quality": 88}),
}

# Which variants each scene gets (three files per scene, twelve images in all).
SCENE_VARIANTS = {
    "sunset": ["crop", "lowq"], "ocean": ["small", "tilt"], "forest": ["tilt", "crop"], "city": ["lowq", "small"],
}


def _tilt(im: Image.Image, degrees: float) -> Image.Image:
    rotated = im.rotate(degrees, resample=Image.BICUBIC)
    # Cropping away 8 % per side removes the blank corners of a 4 degree rotation.
    w, h = im.size
    return rotated.crop((int(w * 0.08), int(h * 0.08), int(w * 0.92), int(h * 0.92))).resize((w, h), Image.LANCZOS)


def make_images(out: Path) -> dict:
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    scenes = {}
    for k, (scene, (_, description)) in enumerate(SCENES.items()):
        original = render(scene, (640, 480), seed=100 + k)
        files = {f"images/{scene}.jpg": "original"}
        original.save(out / f"images/{scene}.jpg", quality=88)
        for variant in SCENE_VARIANTS[scene]:
            what, transform, options = VARIANTS[variant]
            suffix = ".png" if variant == "small" else ".jpg"
            name = f"images/{scene}_{variant}{suffix}"
            transform(original).save(out / name, **options)
            files[name] = what
        scenes[scene] = {"description": description, "files": files}
    return scenes


# ----------------------------------------------------------------------------- videos


def _write_video(path: Path, shots: list[tuple[str, float]], *, size=(320, 240), fps=15,
                 soundtrack: bool = False, seed: int = 0) -> list[dict]:
    """Shots of (scene, seconds), each a slow pan across a wider rendering of the scene."""
    w, h = size
    segments, t0 = [], 0.0
    with av.open(str(path), "w", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.options = {"preset": "veryfast", "crf": "30", "threads": "1",
                                        "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0"}
        audio = None
        if soundtrack:
            audio = container.add_stream("aac", rate=44100)
            audio.layout = "mono"
            audio.codec_context.options = {"threads": "1"}
        index = 0
        for k, (scene, seconds) in enumerate(shots):
            wide = render(scene, (int(w * 1.5), h), seed=200 + seed + k)
            n = int(round(seconds * fps))
            for i in range(n):
                x = int((wide.width - w) * i / max(n - 1, 1))
                frame = av.VideoFrame.from_image(wide.crop((x, 0, x + w, h)))
                frame.pts, frame.time_base = index, Fraction(1, fps)
                index += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
            segments.append({"start_s": round(t0, 3), "end_s": round(t0 + n / fps, 3), "scene": scene})
            t0 += n / fps
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            _soundtrack(container, audio, t0)
    return segments


def _soundtrack(container, stream, duration_s: float) -> None:
    """Surf-like noise swelling every 3 s, over a quiet 220 Hz hum (mono, 44.1 kHz)."""
    sr = 44100
    n = int(duration_s * sr)
    rng = np.random.default_rng(7)
    t = np.arange(n) / sr
    noise = np.convolve(rng.normal(0, 1, n), np.ones(30) / 30, mode="same")  # low-passed
    swell = 0.5 * (1 - np.cos(2 * np.pi * t / 3.0))
    wave = (0.25 * noise * swell / max(np.abs(noise).max(), 1e-9) * 4 + 0.05 * np.sin(2 * np.pi * 220 * t))
    wave = np.clip(wave, -1, 1).astype(np.float32)
    for start in range(0, n, 4096):
        frame = av.AudioFrame.from_ndarray(wave[None, start:start + 4096], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = sr, start, Fraction(1, sr)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def make_videos(out: Path) -> dict:
    videos = out / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    specs = {
        "videos/road_trip.mp4": ([("sunset", 3.0), ("forest", 3.0), ("city", 3.0)], False),
        "videos/harbour.mp4": ([("ocean", 4.0), ("city", 2.0)], True),
    }
    result = {}
    for k, (name, (shots, soundtrack)) in enumerate(specs.items()):
        segments = _write_video(out / name, shots, soundtrack=soundtrack, seed=10 * k)
        result[name] = {"duration_s": segments[-1]["end_s"], "has_audio": soundtrack,
                        "soundtrack": "surf-like noise swelling every 3 s over a 220 Hz hum" if soundtrack else None,
                        "segments": segments}
    return result


# ----------------------------------------------------------------------------- metadata

LICENSE = """# Sample media licence

Every file under `samples/` was generated by `scripts/make_samples.py` of the mediasearch
project (painted scenes, synthetic video and sound; no photographs or recordings of
anyone). They are dedicated to the public domain under
[CC0 1.0 Universal](https://creativecommons.org/publicdomain/zero/1.0/): you may copy,
modify and distribute them, even commercially, without asking permission.

Audio samples added under `samples/audio/` carry their own notes in that folder.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "samples", help="output folder (default: samples/)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    scenes = make_images(out)
    videos = make_videos(out)
    groups = [sorted(s["files"]) for s in scenes.values()]
    truth = {
        "version": 1,
        "generator": "scripts/make_samples.py",
        "paths": "relative to samples/",
        "scenes": scenes,
        # each group: an original and its near-duplicates (all mutually near-duplicates)
        "near_duplicates": groups,
        "videos": videos,
        # images whose scene appears in a video, with the segments showing it
        "image_in_video": {
            scene: [{"video": name, "start_s": seg["start_s"], "end_s": seg["end_s"]}
                    for name, v in videos.items() for seg in v["segments"] if seg["scene"] == scene]
            for scene in scenes
        },
    }
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    (out / "LICENSE.md").write_text(LICENSE)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for p in out.rglob('*') if p.is_file())} files, {total / 1e6:.2f} MB, to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

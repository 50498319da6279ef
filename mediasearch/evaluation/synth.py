"""Synthetic ground truth: edited copies of the library's own media, each relevant to its source.

``synthesize(library, n=N, seed=S)`` samples up to N items of the library (in content-
hash order, with ``random.Random(seed)``) across still images, video frames and audio,
and saves one edited copy of each as a saved query whose one relevant file (grade 1) is
its source file:

- images and video frames (a frame at a random time): a crop, a small rotation, a colour
  change, a resize and a JPEG round trip (:func:`augment`); an image query;
- audio: a 4 s window at a random time with a gain change, added noise, a time shift and
  resampling (:func:`augment_audio`); an audio query;
- speech: 3 to 6 consecutive words of a transcript segment, sometimes with one word
  swapped for a near-synonym from :data:`NEAR_SYNONYMS` (:func:`phrase`); a text query
  whose relevant item is the segment's file, judged at the segment's start.

Every amount is drawn from the same generator, so the same library and seed give the
same queries, byte for byte. Synthetic queries are kept apart from human ones by name:
``synth-<seed>-<n>`` (the catalog has no origin column yet), and :func:`is_synthetic` is
what the evaluation uses to report them in their own groups. Running again with the same
seed replaces that seed's queries.
"""

from __future__ import annotations

import io
import logging
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mediasearch.errors import QueryError
from mediasearch.evaluation import groundtruth as gt
from mediasearch.media import AssetStatus, MediaKind, Modality

logger = logging.getLogger(__name__)

PREFIX = "synth-"


def is_synthetic(name: str) -> bool:
    """Whether a saved query was made by :func:`synthesize`."""
    return name.startswith(PREFIX)


@dataclass
class SynthReport:
    """What :func:`synthesize` made: query names with their source paths and the edits."""

    seed: int
    queries: list[dict] = field(default_factory=list)
    replaced: int = 0

    def to_json(self) -> dict:
        return {"seed": self.seed, "queries": self.queries, "replaced": self.replaced}


def augment(image, rng: random.Random):  # PIL.Image -> (PIL.Image, dict, bytes)
    """One edited copy of ``image`` (RGB): crop to 75-95 % of each side, rotate by up to
    12 degrees, scale brightness/contrast/saturation by 0.75-1.25, resize to 50-90 %,
    JPEG at quality 40-80; returns the decoded copy, the amounts used and the JPEG bytes."""
    from PIL import Image, ImageEnhance

    w, h = image.size
    fx, fy = rng.uniform(0.75, 0.95), rng.uniform(0.75, 0.95)
    cw, ch = max(8, int(w * fx)), max(8, int(h * fy))
    left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = image.crop((left, top, left + cw, top + ch))
    angle = rng.uniform(-12.0, 12.0)
    out = out.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    edits = {"crop": [left, top, cw, ch], "rotate_deg": round(angle, 3)}
    for name, enhancer in (("brightness", ImageEnhance.Brightness), ("contrast", ImageEnhance.Contrast), ("saturation", ImageEnhance.Color)):
        factor = rng.uniform(0.75, 1.25)
        out = enhancer(out).enhance(factor)
        edits[name] = round(factor, 3)
    scale = rng.uniform(0.5, 0.9)
    out = out.resize((max(8, int(out.width * scale)), max(8, int(out.height * scale))), Image.Resampling.BILINEAR)
    quality = rng.randint(40, 80)
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    edits.update(scale=round(scale, 3), jpeg_quality=quality)
    return Image.open(buf).convert("RGB"), edits, buf.getvalue()


#: seconds of audio in a synthetic audio query
AUDIO_WINDOW_S = 4.0
AUDIO_SR = 16_000


def augment_audio(samples, rng: random.Random, sr: int = AUDIO_SR):  # (n,) float32 -> ((m,) float32, int, dict)
    """An edited copy of a mono window ``samples`` at ``sr`` Hz: gain of -6..+6 dB, white
    noise at 15-35 dB SNR, a circular time shift of up to 10 %, and resampling to 8-22.05
    kHz; returns (samples, new rate, the amounts used)."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float64)
    gain_db = rng.uniform(-6.0, 6.0)
    x = x * 10 ** (gain_db / 20)
    snr_db = rng.uniform(15.0, 35.0)
    power = float(np.mean(x**2)) or 1e-8
    noise = np.random.default_rng(rng.randrange(2**32)).standard_normal(x.size) * np.sqrt(power / 10 ** (snr_db / 10))
    x = x + noise
    shift = rng.randint(0, max(1, x.size // 10))
    x = np.roll(x, shift)
    rate = rng.choice([8_000, 11_025, 22_050])
    positions = np.arange(int(x.size * rate / sr)) * (sr / rate)
    x = np.interp(positions, np.arange(x.size), x)
    x = np.clip(x, -1.0, 1.0).astype(np.float32)
    return x, rate, {"gain_db": round(gain_db, 3), "snr_db": round(snr_db, 3), "shift_samples": shift, "sample_rate": rate}


#: a small built-in list of near-synonyms for speech phrases (both directions)
NEAR_SYNONYMS = {
    "meeting": "gathering", "moved": "shifted", "big": "large", "small": "little", "quick": "fast",
    "begin": "start", "end": "finish", "buy": "purchase", "car": "vehicle", "house": "home",
    "talk": "speak", "said": "told", "help": "assist", "show": "display", "money": "cash",
    "budget": "funds", "friday": "weekend", "happy": "glad", "problem": "issue", "answer": "reply",
    "important": "crucial", "today": "now", "job": "work", "children": "kids", "town": "city",
}
NEAR_SYNONYMS.update({v: k for k, v in list(NEAR_SYNONYMS.items())})


def phrase(text: str, rng: random.Random) -> tuple[str, dict]:
    """3 to 6 consecutive words of ``text``; with probability 0.4 one of them swapped for
    a near-synonym. Returns the phrase and what was done."""
    words = [w.strip(".,!?;:\"'").lower() for w in text.split()]
    words = [w for w in words if w]
    length = min(len(words), rng.randint(3, 6))
    start = rng.randint(0, len(words) - length)
    chosen = words[start : start + length]
    edits: dict = {"words": [start, start + length]}
    swappable = [i for i, w in enumerate(chosen) if w in NEAR_SYNONYMS]
    if swappable and rng.random() < 0.4:
        i = rng.choice(swappable)
        edits["swapped"] = [chosen[i], NEAR_SYNONYMS[chosen[i]]]
        chosen[i] = NEAR_SYNONYMS[chosen[i]]
    return " ".join(chosen), edits


def _sources(catalog) -> list:  # -> list[Asset | tuple[Asset, Segment]]
    """One asset per content hash of the still images, videos and audio files, by hash;
    then every transcript segment with at least 3 words, (asset, segment), by asset hash
    and time."""
    from mediasearch.media import Stream

    found = {}
    for kind in (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO):
        for asset in catalog.assets(status=AssetStatus.OK, kind=kind):
            if asset.content_hash and asset.content_hash not in found:
                found[asset.content_hash] = asset
    out: list = [found[h] for h in sorted(found)]
    speech = []
    for encoder in catalog.encoders_with_embeddings():
        for segment in catalog.speech_segments(encoder):
            if segment.stream is Stream.SPEECH and len((segment.text or "").split()) >= 3:
                asset = catalog.asset(segment.asset_id)
                if asset.content_hash:
                    speech.append((asset, segment))
    speech.sort(key=lambda pair: (pair[0].content_hash, pair[1].start_s or 0.0, pair[1].text or ""))
    return out + speech


def synthesize(library, *, n: int, seed: int) -> SynthReport:  # library: mediasearch.library.Library
    """Make up to ``n`` synthetic queries from the library (see the module docstring).
    Raises QueryError when the library holds no indexed image, video or audio file."""
    import soundfile

    from mediasearch.decode.image import load_image

    if n <= 0:
        raise QueryError(f"the number of synthetic queries must be positive, got {n}")
    catalog, settings = library.catalog, library.settings
    sources = _sources(catalog)
    if not sources:
        raise QueryError("the library has no indexed images, videos or audio files to make synthetic queries from")
    rng = random.Random(seed)
    chosen = rng.sample(sources, min(n, len(sources)))
    report = SynthReport(seed)
    mine = f"{PREFIX}{seed}-"
    for query in gt.list_queries(catalog, settings):
        if query.name.startswith(mine):
            gt.remove_query(catalog, settings, query.id)
            report.replaced += 1
    with tempfile.TemporaryDirectory(prefix="mediasearch-synth-") as tmp:
        for i, item in enumerate(chosen):
            name = f"{mine}{i:04d}"
            if isinstance(item, tuple):
                asset, segment = item
                text, edits = phrase(segment.text or "", rng)
                at_s = float(segment.start_s or 0.0)
                edits["segment_s"] = round(at_s, 3)
                query = gt.add_query(catalog, settings, modality=Modality.TEXT, text=text, name=name)
                gt.set_judgement(catalog, query, content_hash=asset.content_hash, grade=1, path=str(asset.path), at_s=at_s)
                report.queries.append(
                    {"name": name, "kind": "speech", "source": str(asset.path), "content_hash": asset.content_hash,
                     "text": text, "edits": edits}
                )
                continue
            asset = item
            duration = asset.duration_s or 0.0
            if asset.kind is MediaKind.AUDIO:
                from mediasearch.decode.audio import load_audio

                start = rng.uniform(0.0, max(0.0, duration - AUDIO_WINDOW_S))
                window = load_audio(asset.path, AUDIO_SR, start_s=start, end_s=start + AUDIO_WINDOW_S)
                samples, rate, edits = augment_audio(window, rng)
                edits["from_s"] = round(start, 3)
                path = Path(tmp) / f"{name}.wav"
                soundfile.write(str(path), samples, rate, subtype="PCM_16")
                modality = Modality.AUDIO
            else:
                if asset.kind is MediaKind.VIDEO:
                    from mediasearch.decode.video import frame_at

                    at = rng.uniform(0.0, max(0.0, duration * 0.95))
                    picture = frame_at(asset.path, at)
                else:
                    at = None
                    picture = load_image(asset.path)
                _copy, edits, data = augment(picture.convert("RGB"), rng)
                if at is not None:
                    edits["frame_s"] = round(at, 3)
                path = Path(tmp) / f"{name}.jpg"
                path.write_bytes(data)
                modality = Modality.IMAGE
            query = gt.add_query(catalog, settings, modality=modality, path=path, name=name)
            gt.set_judgement(catalog, query, content_hash=asset.content_hash, grade=1, path=str(asset.path))
            report.queries.append(
                {"name": name, "kind": asset.kind.value, "source": str(asset.path), "content_hash": asset.content_hash, "edits": edits}
            )
    logger.info("made %d synthetic queries (seed %d)", len(report.queries), seed)
    return report

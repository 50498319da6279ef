"""Synthetic ground truth for images: augmented copies of the library's own pictures.

``synthesize(library, n=N, seed=S)`` samples N still images of the library (in content-
hash order, with ``random.Random(seed)``), makes one edited copy of each (a crop, a small
rotation, a colour change, a resize and a JPEG round trip, every amount drawn from the
same generator) and saves it as an image query whose one relevant file (grade 1) is its
source. The same library and seed give the same queries, byte for byte.

Synthetic queries are kept apart from human ones by name: ``synth-<seed>-<n>`` (the
catalog has no origin column yet), and :func:`is_synthetic` is what the evaluation uses
to report them in their own groups. Running again with the same seed replaces that
seed's queries.

Not done yet: video frames, audio (gain, noise, shift, resampling) and speech phrases.
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


def synthesize(library, *, n: int, seed: int) -> SynthReport:  # library: mediasearch.library.Library
    """Make ``n`` synthetic image queries from the library (see the module docstring).
    Raises QueryError when the library holds no indexed still image."""
    from PIL import Image

    if n <= 0:
        raise QueryError(f"the number of synthetic queries must be positive, got {n}")
    catalog, settings = library.catalog, library.settings
    images = sorted(
        (a for a in catalog.assets(status=AssetStatus.OK, kind=MediaKind.IMAGE) if a.content_hash),
        key=lambda a: (a.content_hash, str(a.path)),
    )
    unique = list({a.content_hash: a for a in reversed(images)}.values())[::-1]  # one per content
    unique.sort(key=lambda a: a.content_hash)
    if not unique:
        raise QueryError("the library has no indexed still images to make synthetic queries from")
    rng = random.Random(seed)
    chosen = rng.sample(unique, min(n, len(unique)))
    report = SynthReport(seed)
    mine = f"{PREFIX}{seed}-"
    for query in gt.list_queries(catalog, settings):
        if query.name.startswith(mine):
            gt.remove_query(catalog, settings, query.id)
            report.replaced += 1
    with tempfile.TemporaryDirectory(prefix="mediasearch-synth-") as tmp:
        for i, asset in enumerate(chosen):
            with Image.open(asset.path) as src:
                _copy, edits, data = augment(src.convert("RGB"), rng)
            name = f"{mine}{i:04d}"
            path = Path(tmp) / f"{name}.jpg"
            path.write_bytes(data)
            query = gt.add_query(catalog, settings, modality=Modality.IMAGE, path=path, name=name)
            gt.set_judgement(catalog, query, content_hash=asset.content_hash, grade=1, path=str(asset.path))
            report.queries.append({"name": name, "source": str(asset.path), "content_hash": asset.content_hash, "edits": edits})
    logger.info("made %d synthetic image queries (seed %d)", len(report.queries), seed)
    return report

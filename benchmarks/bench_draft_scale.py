"""What a smaller JPEG draft scale would cost in decode time and in retrieval (prints, asserts nothing).

`mediasearch.decode.image.load_image` decodes a JPEG at the smallest DCT scale that keeps
both sides >= 2 x the encoder's target size (Pillow's default reducing gap): 1/4 for a
4000 x 3000 photo and a 224 px model. This measures, on generated 12 MP photos and the real
EfficientNet-Lite0 weights, a gap of 1.5 (1/8 scale) against it: decode ms per photo, the
cosine between the two embeddings of each photo, and the top-10 overlap of the library's
own neighbour lists.

Usage: .venv/bin/python benchmarks/bench_draft_scale.py [--photos 64] [--model-dir ../shared/models]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_index import make_photos  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.encoders.registry import load_encoder  # noqa: E402


def decode(path: Path, side: int) -> Image.Image:
    img = Image.open(path)
    img.draft("RGB", (side, side))
    img.load()
    return img.convert("RGB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=64)
    ap.add_argument("--model-dir", type=Path, default=ROOT.parent / "shared" / "models")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ms-draft-") as tmp:
        photos = make_photos(Path(tmp) / "photos", args.photos)
        settings = Settings(model_dir=args.model_dir, library_dir=Path(tmp) / "lib", precision="fp32")
        enc = load_encoder("efficientnet-lite0", settings)
        target = enc.spec.image_size or 224
        vectors = {}
        for gap in (2.0, 1.5):
            side = int(gap * target)
            t = time.perf_counter()
            images = [decode(p, side) for p in photos]
            ms = (time.perf_counter() - t) / len(photos) * 1000
            vectors[gap] = enc.embed_images(images)
            print(f"gap {gap}: decoded at {images[0].size[0]} x {images[0].size[1]}, {ms:.1f} ms a photo")
    a, b = vectors[2.0], vectors[1.5]
    cos = (a * b).sum(axis=1)
    sa, sb = a @ a.T, b @ b.T
    overlap = np.mean([len(set(np.argsort(-sa[i])[1:11]) & set(np.argsort(-sb[i])[1:11])) / 10 for i in range(len(a))])
    print(f"cosine of each photo's two embeddings: min {cos.min():.5f}, mean {cos.mean():.5f}")
    print(f"top-10 neighbours, gap 1.5 library vs gap 2 library: {overlap:.1%} the same")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

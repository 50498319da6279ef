"""Image encoder throughput on 12 MP JPEGs: decode + preprocess + model, and model only.

Encoders: baseline-image (weight-free), efficientnet-lite0 (real weights from the model
store, e.g. ../shared/models), resnet50 and siglip-vit-b16 (randomly initialised, loaded
through their normal constructors from a saved state dict: same cost as the real weights).

Decoding uses Pillow's JPEG draft mode (DCT scaling) to the smallest scale still at least
twice the model's input side (448 px for a 224 input; 128 px for the 64 px baseline).

Columns (images per second, medians of --repeats runs):
  e2e        decode, preprocess and model, one batch after another
  pipelined  the same with the next batch decoded in a background thread meanwhile
  model      model forward only, on preprocessed batches (baseline: descriptor on decoded images)
  decode     draft decode alone (ms per image), and full decode for comparison

Usage: .venv/bin/python benchmarks/bench_image_encoders.py [--n 24] [--batch-size 8]
       [--threads N] [--precision auto|fp32|bf16] [--encoders baseline-image,efficientnet-lite0,resnet50,siglip-vit-b16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mediasearch.config import Settings
from mediasearch.encoders import registry

DEFAULT_MODEL_DIR = ROOT.parent / "shared" / "models"
ALL = ("baseline-image", "efficientnet-lite0", "resnet50", "siglip-vit-b16")


# -- test images -----------------------------------------------------------------------


def make_jpegs(folder: Path, n: int, size: tuple[int, int] = (4000, 3000)) -> list[Path]:
    """n distinct photo-like 12 MP JPEGs (quality 90): smooth scenes upscaled, with grain."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        small = Image.new("RGB", (400, 300), tuple(int(c) for c in rng.uniform(0, 255, 3)))
        draw = ImageDraw.Draw(small)
        for _ in range(40):
            x, y, r = rng.uniform(0, 400), rng.uniform(0, 300), rng.uniform(5, 80)
            box = [x - r, y - r, x + r, y + r * rng.uniform(0.3, 1.5)]
            fill = tuple(int(c) for c in rng.uniform(0, 255, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
        big = small.filter(ImageFilter.GaussianBlur(2)).resize(size, Image.Resampling.BICUBIC)
        grain = rng.normal(0, 8, (size[1] // 4, size[0] // 4, 3))
        grain = np.asarray(Image.fromarray(np.clip(grain + 128, 0, 255).astype(np.uint8)).resize(size))
        pixels = np.clip(np.asarray(big, dtype=np.int16) + grain.astype(np.int16) - 128, 0, 255).astype(np.uint8)
        path = folder / f"photo_{i:03d}.jpg"
        Image.fromarray(pixels).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def decode(path: Path, side: int | None) -> Image.Image:
    """RGB image; with ``side``, JPEG draft decoding to at least side x side."""
    with Image.open(path) as im:
        if side:
            im.draft("RGB", (side, side))
        return im.convert("RGB")


# -- encoders --------------------------------------------------------------------------


def build(name: str, settings: Settings, tmp: Path):
    """The encoder, with random weights where the real ones are not in the model store."""
    spec = registry.get_spec(name)
    if name in ("baseline-image", "efficientnet-lite0") or registry.weights_present(spec, settings):
        return registry.load_encoder(name, settings), "real" if spec.models else "no weights"
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    folder = tmp / name
    folder.mkdir()
    if name == "resnet50":
        import torchvision

        from mediasearch.encoders.torchvision_resnet import (
            WEIGHTS_FILE,
            ResNet50Encoder,
        )

        path = folder / WEIGHTS_FILE
        torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
        return ResNet50Encoder(spec, settings, {spec.models[0]: path}), "random init"
    if name == "siglip-vit-b16":
        import open_clip

        from mediasearch.encoders.siglip import SiglipEncoder

        model = open_clip.create_model(str(spec.options["architecture"]), pretrained=None)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
        del model
        return SiglipEncoder(spec, settings, {spec.models[0]: folder}), "random init"
    raise ValueError(name)


def model_only(encoder) -> tuple[Callable[[Image.Image], object], Callable[[object], object]]:
    """(prepare one decoded image, run one prepared batch) for the model-only timing."""
    if encoder.name == "baseline-image":
        from mediasearch.encoders.baseline_image import describe

        return (lambda im: im), (lambda batch: [describe(im) for im in batch])
    import torch

    forward = encoder.model.encode_image if encoder.name.startswith("siglip") else encoder.model
    channels_last = getattr(encoder, "channels_last", False)
    from mediasearch.encoders import torch_utils

    def run(batch: list) -> object:
        x = torch.stack(batch)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch_utils.autocast(encoder.device, encoder.precision.precision):
            return forward(x.to(encoder.device))

    return encoder.preprocess, run


def chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def time_e2e(encoder, paths: Sequence[Path], side: int, batch: int) -> float:
    start = time.perf_counter()
    for group in chunks(paths, batch):
        encoder.embed_images([decode(p, side) for p in group])
    return len(paths) / (time.perf_counter() - start)


def time_pipelined(encoder, paths: Sequence[Path], side: int, batch: int) -> float:
    groups = chunks(paths, batch)
    start = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(lambda g: [decode(p, side) for p in g], groups[0])
        for nxt in groups[1:] + [None]:
            images = pending.result()
            if nxt is not None:
                pending = pool.submit(lambda g: [decode(p, side) for p in g], nxt)
            encoder.embed_images(images)
    return len(paths) / (time.perf_counter() - start)


def time_model(encoder, images: Sequence[Image.Image], batch: int) -> float:
    prepare, run = model_only(encoder)
    prepared = [prepare(im) for im in images]
    start = time.perf_counter()
    for group in chunks(prepared, batch):
        run(list(group))
    return len(images) / (time.perf_counter() - start)


def time_decode(path: Path, side: int | None) -> float:
    """Seconds to decode one file."""
    start = time.perf_counter()
    decode(path, side)
    return time.perf_counter() - start


def measure(encoder, paths: Sequence[Path], images: Sequence[Image.Image], side: int, batch: int, repeats: int) -> tuple[float, float, float]:
    """(e2e, pipelined, model-only) images per second, medians of ``repeats`` runs."""
    e2e = statistics.median(time_e2e(encoder, paths, side, batch) for _ in range(repeats))
    piped = statistics.median(time_pipelined(encoder, paths, side, batch) for _ in range(repeats))
    model = statistics.median(time_model(encoder, images, batch) for _ in range(repeats))
    return e2e, piped, model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="number of 12 MP JPEGs")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default=None, help="auto|fp32|bf16|fp16 (default: the settings, i.e. auto)")
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("MEDIASEARCH_MODEL_DIR", DEFAULT_MODEL_DIR)))
    parser.add_argument("--encoders", default=",".join(ALL))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "jpegs").mkdir()
        paths = make_jpegs(tmp / "jpegs", args.n)
        settings = Settings(library_dir=tmp / "lib", model_dir=args.model_dir, batch_size=args.batch_size, threads=args.threads)
        if args.precision:
            settings = settings.with_(precision=args.precision)

        full_ms = statistics.median(time_decode(paths[0], None) for _ in range(3)) * 1000
        import torch

        print(f"{args.n} JPEGs 4000x3000 q90, batch {args.batch_size}, torch threads "
              f"{settings.threads or os.cpu_count()}, precision setting: {settings.precision}; full decode {full_ms:.0f} ms/img")
        rows = []
        for name in args.encoders.split(","):
            spec = registry.get_spec(name)
            side = 2 * (spec.image_size or 224)
            t0 = time.perf_counter()
            encoder, weights = build(name, settings, tmp)
            load_s = time.perf_counter() - t0
            images = [decode(p, side) for p in paths]
            t0 = time.perf_counter()
            for p in paths:
                decode(p, side)
            decode_ms = (time.perf_counter() - t0) / len(paths) * 1000
            encoder.embed_images(images[: args.batch_size])  # warm-up
            e2e, piped, model = measure(encoder, paths, images, side, args.batch_size, args.repeats)
            bf16 = getattr(getattr(encoder, "precision", None), "precision", "fp32")
            rows.append((name, weights, f"{images[0].width}x{images[0].height}", decode_ms, e2e, piped, model, load_s, bf16))
            print(f"  done {name} (torch threads {torch.get_num_threads()})", flush=True)
            registry.unload_all()
            del encoder

    header = f"{'encoder':20s} {'weights':11s} {'draft size':>10s} {'decode ms':>9s} {'e2e img/s':>9s} {'piped':>7s} {'model img/s':>11s} {'load s':>6s} precision"
    print(header)
    print("-" * len(header))
    for name, weights, size, decode_ms, e2e, piped, model, load_s, bf16 in rows:
        print(f"{name:20s} {weights:11s} {size:>10s} {decode_ms:9.1f} {e2e:9.1f} {piped:7.1f} {model:11.1f} {load_s:6.1f} {bf16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput of the round-2 encoders on this machine, with random weights of the exact
architectures (the cost does not depend on the weights' values): CLAP HTSAT-unfused (10 s
windows at 48 kHz, and text queries), CLIP ViT-B/32 and ViT-L/14, SigLIP 2 B/16-256 and
DINOv2 ViT-S/14 and ViT-B/14 (images, each with its registry entry's preprocessing).

fp32 on the CPU (or --device cuda), ``--threads`` torch threads. Prints figures, asserts
nothing.

Run: .venv/bin/python benchmarks/bench_encoder_table.py [--threads 2] [--images 8] [--windows 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def _timed(fn, repeats: int = 2) -> float:
    """Best wall time of ``repeats`` runs of ``fn`` after one warm-up, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_clap(windows: int, device: str) -> dict:
    import torch
    from transformers import ClapModel

    from mediasearch.encoders import clap

    start = time.perf_counter()
    model = ClapModel(clap.official_config()).eval().to(device)
    build_s = time.perf_counter() - start
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the official preprocessor_config.json values
        Path(tmp, "preprocessor_config.json").write_text(json.dumps(clap.PREPROCESSOR_CONFIG))
        fe = clap.load_feature_extractor(Path(tmp))
    rng = np.random.default_rng(0)
    clips = [rng.normal(0, 0.1, clap.WINDOW_SAMPLES).astype(np.float32) for _ in range(windows)]

    def features():
        return fe(clips, sampling_rate=clap.SAMPLE_RATE, return_tensors="pt")

    inputs = features()

    def audio():
        with torch.inference_mode():
            model.get_audio_features(input_features=inputs["input_features"].to(device), is_longer=inputs["is_longer"].to(device))

    from transformers import RobertaTokenizer

    tok = RobertaTokenizer()  # a byte-level BPE without merges: token counts near a real one's for short queries
    tokens = tok(["dog barking", "rain on a roof", "a car passing by", "people clapping"], padding=True, return_tensors="pt")

    def text():
        with torch.inference_mode():
            model.get_text_features(input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device))

    fe_s = _timed(features, 1)
    audio_s = _timed(audio)
    text_s = _timed(text, 3)
    return {
        "encoder": "clap-htsat",
        "build_s": round(build_s, 2),
        "features_windows_per_s": round(windows / fe_s, 2),
        "audio_windows_per_s": round(windows / audio_s, 2),
        "audio_x_realtime": round(windows * 10.0 / (audio_s + fe_s), 1),
        "text_queries_per_s": round(4 / text_s, 1),
    }


def bench_image(name: str, images: list, device: str) -> dict:
    import open_clip
    import timm
    import torch

    from mediasearch.encoders import registry
    from mediasearch.encoders.siglip import preprocess_overrides
    from mediasearch.encoders.timm_backbone import build_transform

    spec = registry.get_spec(name)
    start = time.perf_counter()
    if spec.family == "open_clip":
        arch, tag = spec.options["architecture"], spec.options["pretrained"]
        quick = bool(open_clip.get_pretrained_cfg(arch, tag).get("quick_gelu"))
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=None, force_quick_gelu=quick, **preprocess_overrides(arch, tag)
        )
        model = model.eval().to(device)
        forward = model.encode_image
    else:
        model = timm.create_model(spec.options["architecture"], pretrained=False, num_classes=0).eval().to(device)
        preprocess = build_transform(model)
        forward = model
    build_s = time.perf_counter() - start
    prep_s = _timed(lambda: [preprocess(im) for im in images], 1)
    batch = torch.stack([preprocess(im) for im in images]).to(device)

    def run():
        with torch.inference_mode():
            forward(batch)

    run_s = _timed(run)
    return {
        "encoder": name,
        "input_px": spec.image_size,
        "build_s": round(build_s, 2),
        "preprocess_images_per_s": round(len(images) / prep_s, 1),
        "forward_images_per_s": round(len(images) / run_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=8, help="images per forward batch")
    parser.add_argument("--windows", type=int, default=8, help="10 s windows per CLAP batch")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", default="", help="comma-separated encoder names (default: all)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import logging

    import torch

    logging.getLogger().setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    from media_factory import jpeg_roundtrip, synthetic_scene

    images = [jpeg_roundtrip(synthetic_scene(i, (640, 480))) for i in range(args.images)]
    names = [n for n in args.only.split(",") if n] or [
        "clap-htsat", "clip-vit-b32", "clip-vit-l14", "siglip2-vit-b16-256", "dinov2-vit-s14", "dinov2-vit-b14",
    ]
    results = []
    for name in names:
        row = bench_clap(args.windows, args.device) if name == "clap-htsat" else bench_image(name, images, args.device)
        results.append(row)
        print(json.dumps(row), flush=True)
    meta = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip() + f", {os.cpu_count()} cores",
        "threads": args.threads,
        "device": args.device,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
    }
    print(json.dumps(meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()

"""Every torch encoder on a CUDA GPU: model-only items/s for fp32, fp16 and bf16 autocast (prints, asserts nothing).

For the times a GPU machine is available; on a machine without CUDA it says so and exits 0
(``--device cpu`` runs the same script on the CPU, to check it). Models are randomly
initialised where the model store has no weights (same cost as real ones); CLAP is its
official HTSAT-unfused architecture, both towers (``clap-audio``: 10 s clips at 48 kHz,
``clap-text``: 16-token texts). Inputs are prepared on the CPU and copied per batch
through pinned memory, as the encoders do, so the figures include the host-to-device copy
but not decoding; audio models also print seconds of audio per second. ``whisper`` is the
real tiny.en through its encoder's transcribe on both engines (openai-whisper fp32 and
CTranslate2 int8), moved to the GPU by the benchmark because the encoder loads it on the
CPU (``bench_speed.whisper_rtf``); it needs the real weights and espeak-ng. Also loads
efficientnet-lite0 through its encoder with ``--device cuda --precision auto`` when its
weights are present, to show what the precision gate chooses on the GPU.

Usage: .venv/bin/python benchmarks/bench_gpu.py [--batch-size 64] [--seconds 3] [--whisper-repeats 2]
       [--encoders resnet50,efficientnet-lite0,siglip-image,siglip-text,panns-cnn14,minilm,clap-audio,clap-text,whisper]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

import bench_speed  # noqa: E402


def gate_on_gpu(model_dir: Path, device: str) -> None:
    """What the precision gate picks for efficientnet-lite0 on this device (real weights only)."""
    from mediasearch.config import Settings
    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.timm_backbone import TimmBackboneEncoder

    weights = model_dir / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
    if not weights.is_file():
        print("gate: efficientnet-lite0 weights absent, skipped")
        return
    spec = get_spec("efficientnet-lite0")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(library_dir=Path(tmp) / "lib", model_dir=Path(tmp) / "models", device=device, precision="auto")
        start = time.perf_counter()
        encoder = TimmBackboneEncoder(spec, settings, {spec.models[0]: weights})
        print(f"gate: efficientnet-lite0 on {encoder.device}, batch {encoder.batch_size}: {encoder.precision.precision} "
              f"({encoder.precision.reason}); load + calibration {time.perf_counter() - start:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model-dir", type=Path, default=bench_speed.DEFAULT_MODEL_DIR)
    parser.add_argument("--encoders", default=",".join(bench_speed.ALL))
    parser.add_argument("--whisper-repeats", type=int, default=2, help="timed transcriptions of the 30 s clip per Whisper engine")
    args = parser.parse_args(argv)

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here (torch.cuda.is_available() is False): nothing to measure "
              "(--device cpu runs the same measurements on the CPU)")
        return 0
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    print(bench_speed.header(device))
    print(f"batch {args.batch_size}, {args.seconds:.0f} s per path")
    print(f"{'model':20s} {'weights':11s} {'path':22s} {'items/s':>9s} {'vs fp32':>8s} {'min cos':>9s}")
    for name in args.encoders.split(","):
        if name == "whisper":  # a transcription, not a forward pass: timed through the encoder
            bench_speed.whisper_rtf(args.model_dir, torch.get_num_threads(), args.whisper_repeats, device=device)
            continue
        try:
            bench = bench_speed.build(name, args.model_dir)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"{name:20s} skipped: {exc}")
            continue
        paths = [("fp32", bench.conv), ("fp16", bench.conv), ("bf16", bench.conv)]
        if device.type != "cuda":
            paths = bench_speed.paths_for(bench, device)
        base = None
        for dtype_name, channels_last in paths:
            try:
                rate, out = bench_speed.time_path(bench, device, dtype_name, args.batch_size, args.seconds, channels_last=channels_last)
            except RuntimeError as exc:  # e.g. bf16 on an older GPU, or out of memory
                print(f"{name:20s} {bench.weights:11s} {dtype_name:22s} failed: {str(exc).splitlines()[0]}")
                continue
            if base is None:
                base = (rate, out)
            label = dtype_name + (" + channels_last" if channels_last else "")
            cosine = bench_speed.precision.min_row_cosine(base[1], out)
            print(f"{name:20s} {bench.weights:11s} {label:22s} {rate:9.1f} {rate / base[0]:7.2f}x {cosine:9.6f}"
                  f"{bench_speed.audio_rate(bench, rate)}", flush=True)
        del bench
        if device.type == "cuda":
            torch.cuda.empty_cache()
    gate_on_gpu(args.model_dir, args.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

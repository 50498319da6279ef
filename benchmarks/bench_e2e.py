"""End-to-end indexing against model-only speed, per encoder, in one run (prints, asserts nothing).

For each image encoder:
  - model-only items/s on every engine and precision this machine offers (bench_speed's
    timing functions: fp32, channels_last, bf16 autocast where the CPU has it, ONNX Runtime);
  - the encoder alone on decoded pictures (its preprocessing + model, as the pipeline calls it);
  - end-to-end ``index_paths`` items/s on generated 12 MP JPEGs with the encoder as loaded
    by default (precision ``auto``: the gate's choice), and e2e / best model-only.
For audio encoders (Whisper tiny.en per engine, the weight-free baseline): seconds of audio
per second, model-only (the encoder on a decoded waveform) and end to end (files indexed).
Short sound clips (CNN14 random-init, the weight-free baseline): windows batched across
files against one file a batch, and end to end. Then what one read per file costs against
two: hash from the decode buffer vs hash + decode from the path, for a 12 MP JPEG and for
long audio.

Weights: EfficientNet-Lite0, Whisper tiny.en and all-MiniLM-L6-v2 are real (``--model-dir``);
ResNet50 and SigLIP ViT-B/16 are random-init of the exact architecture (same cost), saved
to a temporary folder and loaded through the encoders' own code.

Usage: .venv/bin/python benchmarks/bench_e2e.py [--photos 24] [--seconds 2] [--audio-s 120]
           [--encoders resnet50,siglip-vit-b16,efficientnet-lite0,baseline-image]
           [--audio whisper-tiny.en,baseline-audio] [--model-dir DIR]
           [--clips 48 --clip-s 4 --clip-encoders panns-cnn14,baseline-audio]
           [--e2e-only --repeats 3]   (image encoders: just the index runs; set
           MEDIASEARCH_PRECISION / MEDIASEARCH_IMAGE_ENGINE to time another path)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_speed  # noqa: E402  (model-only timing: imported, not copied)
from bench_index import make_photos  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.encoders import registry  # noqa: E402

DEFAULT_MODEL_DIR = bench_speed.DEFAULT_MODEL_DIR
#: registry encoder -> bench_speed model name (model-only rows)
MODEL_ONLY = {"resnet50": "resnet50", "siglip-vit-b16": "siglip-image", "efficientnet-lite0": "efficientnet-lite0"}


def random_weights(name: str, folder: Path) -> dict[str, Path]:
    """Model paths for ``name`` with random-init weights of the exact architecture."""
    import torch

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    spec = registry.get_spec(name)
    if name == "resnet50":
        import torchvision

        from mediasearch.encoders.torchvision_resnet import WEIGHTS_FILE

        path = folder / WEIGHTS_FILE
        torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
        return {spec.models[0]: path}
    if name == "siglip-vit-b16":
        import open_clip
        from safetensors.torch import save_file

        sub = folder / "ViT-B-16-SigLIP"
        sub.mkdir(exist_ok=True)
        model = open_clip.create_model("ViT-B-16-SigLIP", pretrained=None)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(sub / "open_clip_model.safetensors"))
        return {spec.models[0]: sub}
    if name == "panns-cnn14":
        from mediasearch.encoders.panns import build_cnn14

        path = folder / "Cnn14_mAP=0.431.pth"
        torch.save({"model": build_cnn14().state_dict(), "iteration": 0}, path)  # the official file's layout
        return {"panns-cnn14": path, "audioset-labels": ROOT / "models" / "panns" / "class_labels_indices.csv"}
    raise ValueError(name)


def load(name: str, settings: Settings, work: Path):
    """(encoder, weights label): real weights from the model store, else random init; the
    encoder is put in the registry's cache so index_paths uses this very object."""
    spec = registry.get_spec(name)
    if registry.weights_present(spec, settings) or not spec.models:
        return registry.load_encoder(name, settings), ("real" if spec.models else "none needed")
    module_name, _, cls_name = spec.factory.partition(":")
    import importlib

    cls = getattr(importlib.import_module(module_name), cls_name)
    enc = cls(spec, settings, random_weights(name, work / "weights" / name))
    registry.put_loaded(name, settings, enc)  # the benchmark's random-init stand-in
    return enc, "random init"


def describe(enc) -> str:
    prec = getattr(enc, "precision", None)
    engine = getattr(enc, "engine", None)
    parts = []
    if prec is not None and hasattr(prec, "precision"):
        parts.append(f"{prec.precision} ({prec.reason})")
    if isinstance(engine, dict) and engine:
        parts.append(f"engine {engine.get('engine', '?')}" + (f" ({engine['reason']})" if engine.get("reason") else ""))
    if getattr(enc, "onnx", None) is not None:
        parts.append("onnxruntime")
    return "; ".join(parts) or "-"


def model_only_rows(name: str, args) -> list[tuple[str, float]]:
    """[(path label, items/s)] from bench_speed for the model behind ``name``."""
    import torch

    bname = MODEL_ONLY.get(name)
    if bname is None:
        return []
    bench = bench_speed.build(bname, args.model_dir)
    device = torch.device("cpu")
    rows = []
    for dtype_name, channels_last in bench_speed.paths_for(bench, device):
        rate, _ = bench_speed.time_path(bench, device, dtype_name, args.batch_size, args.seconds, channels_last=channels_last)
        rows.append((dtype_name + (" + channels_last" if channels_last else ""), rate))
    found = bench_speed.onnx_rate(bench, args.batch_size, args.seconds, torch.get_num_threads())
    if found is not None:
        rows.append(("onnxruntime fp32", found[0]))
    return rows


def encoder_only_rate(enc, photos: list[Path], target: int) -> tuple[float, float]:
    """(images/s of enc.embed_images on pictures decoded beforehand, decode images/s on one thread)."""
    from mediasearch.decode.image import load_image

    t = time.perf_counter()
    images = [load_image(p, target_size=target) for p in photos]
    decode_rate = len(images) / (time.perf_counter() - t)
    enc.embed_images(images[:2])  # warm
    t = time.perf_counter()
    for i in range(0, len(images), 8):
        enc.embed_images(images[i : i + 8])
    return len(images) / (time.perf_counter() - t), decode_rate


def index_rate(name: str, settings: Settings, folder: Path, work: Path) -> tuple[float, object]:
    """(items/s of a fresh index_paths run over ``folder``, the report); warm-up run first."""
    from mediasearch.indexing import index_paths
    from mediasearch.library import Library

    warm = work / f"warm-{name}"
    warm.mkdir(exist_ok=True)
    first = sorted(p for p in folder.iterdir() if p.is_file())[:2]
    for p in first:
        shutil.copy(p, warm / p.name)
    lib_dir = work / f"lib-{name}"
    with Library(settings.with_(library_dir=lib_dir)) as lib:
        index_paths(lib, [warm], encoders=[name])
    shutil.rmtree(lib_dir)
    n = sum(1 for p in folder.iterdir() if p.is_file())
    with Library(settings.with_(library_dir=lib_dir)) as lib:
        t = time.perf_counter()
        report = index_paths(lib, [folder], encoders=[name])
        wall = time.perf_counter() - t
    shutil.rmtree(lib_dir, ignore_errors=True)
    return n / wall, report


def image_section(args, settings: Settings, work: Path) -> None:
    photos_dir = work / "photos"
    t = time.perf_counter()
    photos = make_photos(photos_dir, args.photos)
    size_mb = sum(p.stat().st_size for p in photos) / len(photos) / 1e6
    print(f"\nimage encoders: {args.photos} generated 12 MP JPEGs ({size_mb:.1f} MB each, made in {time.perf_counter() - t:.0f} s), "
          f"batch {settings.batch_size}, decode workers {decode_workers()}")
    for name in [e for e in args.encoders.split(",") if e]:
        try:
            enc, weights = load(name, settings, work)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"  {name}: skipped ({exc})")
            continue
        print(f"  {name} [{weights}] default path: {describe(enc)}", flush=True)
        if args.e2e_only:  # just the index runs, repeated, with the process's CPU use
            for _ in range(args.repeats):
                cpu0, t0 = time.process_time(), time.perf_counter()
                rate, report = index_rate(name, settings, photos_dir, work)
                cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0)
                print(f"    END TO END  {rate:7.2f} img/s (CPU use {cpu:.0%} over the warm-up and the run; "
                      f"{report.encoders[name].items} indexed)", flush=True)
            registry.unload_all()
            continue
        rows = model_only_rows(name, args)
        for label, rate in rows:
            print(f"    model only  {label:24s} {rate:7.1f} img/s", flush=True)
        target = enc.spec.image_size or 224
        alone, decode_rate = encoder_only_rate(enc, photos[: min(len(photos), 16)], target)
        print(f"    encoder on decoded pictures (preprocess + model) {alone:7.1f} img/s; "
              f"decode alone (1 thread) {decode_rate:.1f} img/s", flush=True)
        rate, report = index_rate(name, settings, photos_dir, work)
        stats = report.encoders[name]
        best = max((r for _, r in rows), default=None)
        ratio = f"{rate / best:.0%} of best model-only ({best:.1f})" if best else "no model-only row"
        print(f"    END TO END  {rate:7.2f} img/s  = {ratio}; {rate / alone:.0%} of the encoder alone "
              f"({stats.items} indexed, {len(report.failures)} failures)", flush=True)
        registry.unload_all()
        del enc


def speech_files(folder: Path, total_s: float, *, clip_s: float = 30.0) -> list[Path]:
    """WAV files of espeak-ng speech (tones where espeak-ng is missing), ``total_s`` seconds in all."""
    sys.path.insert(0, str(ROOT / "tests"))
    import audio_factory as af

    folder.mkdir(parents=True, exist_ok=True)
    sentences = [
        "The quick brown fox jumps over the lazy dog near the river bank.",
        "Indexing a library of photographs and recordings takes a few minutes.",
        "Please remember to bring the blue umbrella when you leave the house.",
        "Search results are ranked by how closely they match the question.",
    ]
    out = []
    n = max(1, int(round(total_s / clip_s)))
    for i in range(n):
        if af.have_espeak():
            parts, length = [], 0.0
            while length < clip_s - 4:
                s = af.speech(sentences[(i + len(parts)) % len(sentences)])
                parts.append(s)
                parts.append(af.silence(0.6))
                length += (s.size / af.SR) + 0.6
            clip = np.concatenate(parts)[: int(clip_s * af.SR)]
        else:
            clip = af.tone(300.0 + 50 * i, clip_s)
        out.append(af.write_audio(folder / f"talk{i:02d}.wav", clip))
    return out


def audio_section(args, settings: Settings, work: Path) -> None:
    from mediasearch.decode.audio import load_audio

    folder = work / "audio"
    files = speech_files(folder, args.audio_s)
    total_s = sum(load_audio(p, 16_000).size for p in files) / 16_000
    print(f"\naudio encoders: {len(files)} WAV files, {total_s:.0f} s of speech in all")
    for name in [e for e in args.audio.split(",") if e]:
        engines = ["openai", "ctranslate2"] if name.startswith("whisper-") else [None]
        for engine in engines:
            if engine:
                os.environ["MEDIASEARCH_WHISPER_ENGINE"] = engine
            registry.unload_all()
            try:
                enc, weights = load(name, settings, work)
            except Exception as exc:  # noqa: BLE001
                print(f"  {name} ({engine}): skipped ({exc})")
                continue
            label = f"{name}" + (f" engine={getattr(enc, 'engine', {}).get('engine', engine)}" if engine else "")
            wave = load_audio(files[0], int(enc.spec.sample_rate or 16_000))
            run = enc.transcribe if hasattr(enc, "transcribe") else (lambda w: enc.embed_audio([w]))
            run(wave[: int(5 * (enc.spec.sample_rate or 16_000))])  # warm-up: lazy model load, first call
            t = time.perf_counter()
            run(wave)
            model_rate = (wave.size / int(enc.spec.sample_rate or 16_000)) / (time.perf_counter() - t)
            rate, report = index_rate(name, settings, folder, work)
            stats = report.encoders[name]
            e2e = stats.media_s / max(report.wall_s, 1e-9)
            print(f"  {label:40s} [{weights}] model only {model_rate:7.1f} s audio/s; END TO END {e2e:7.1f} s audio/s "
                  f"({rate:.2f} files/s) = {e2e / model_rate:.0%} of model only", flush=True)
        os.environ.pop("MEDIASEARCH_WHISPER_ENGINE", None)
    registry.unload_all()


def clip_files(folder: Path, n: int, clip_s: float) -> list[Path]:
    """``n`` WAV clips of ``clip_s`` seconds (tones and noise bursts, like a folder of sound effects)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import audio_factory as af

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        tone = af.tone(200.0 + 37.0 * i, clip_s)
        clip = (0.6 * tone + 0.2 * rng.standard_normal(tone.size)).astype(np.float32)
        out.append(af.write_audio(folder / f"clip{i:03d}.wav", clip))
    return out


def clips_section(args, settings: Settings, work: Path) -> None:
    """Short clips: windows batched across files (encode_files) against one file at a time
    (encode_asset, each file its own batch: the pipeline before cross-file batches), then
    end to end."""
    from mediasearch.media import MediaKind

    files = clip_files(work / "clips", args.clips, args.clip_s)
    total_s = len(files) * args.clip_s
    print(f"\nsound clips: {len(files)} WAV files of {args.clip_s:g} s ({total_s:.0f} s in all), batch {settings.batch_size}")
    for name in [e for e in args.clip_encoders.split(",") if e]:
        registry.unload_all()
        try:
            enc, weights = load(name, settings, work)
        except Exception as exc:  # noqa: BLE001
            print(f"  {name}: skipped ({exc})")
            continue
        items = [(p, MediaKind.AUDIO) for p in files]
        enc.encode_asset(files[0], MediaKind.AUDIO)  # warm-up
        t = time.perf_counter()
        for p, kind in items:
            enc.encode_asset(p, kind)
        one = total_s / (time.perf_counter() - t)
        t = time.perf_counter()
        results = list(enc.encode_files(items))
        batched = total_s / (time.perf_counter() - t)
        bad = sum(isinstance(r, Exception) for _, r, _ in results)
        rate, report = index_rate(name, settings, work / "clips", work)
        e2e = report.encoders[name].media_s / max(report.wall_s, 1e-9)
        print(f"  {name:16s} [{weights}] one file a batch {one:7.1f} s audio/s; batches across files {batched:7.1f} "
              f"({batched / one:.2f}x, {bad} failed); END TO END {e2e:7.1f} s audio/s ({rate:.1f} files/s) = "
              f"{e2e / batched:.0%} of the encoder alone", flush=True)
    registry.unload_all()


def read_section(work: Path) -> None:
    """One read (hash the buffer, decode from it) against two (hash the file, decode the file)."""
    from mediasearch.decode import source
    from mediasearch.decode.audio import iter_blocks
    from mediasearch.decode.image import load_image
    from mediasearch.hashing import content_hash

    print("\nhash + decode, one read vs two (files in the page cache: CPU cost only)")
    photos = sorted((work / "photos").glob("*.jpg"))[:8]
    if photos:
        t = time.perf_counter()
        for p in photos:
            content_hash(p)
            load_image(p, target_size=224)
        two = (time.perf_counter() - t) / len(photos)
        t = time.perf_counter()
        for p in photos:
            src = source.read_source(p)
            source.hold(p, src.data)
            load_image(p, target_size=224)
            source.release(p)
        one = (time.perf_counter() - t) / len(photos)
        t = time.perf_counter()
        for p in photos:
            content_hash(p)
        hash_only = (time.perf_counter() - t) / len(photos)
        print(f"  12 MP JPEG: hash + decode from path {two * 1000:.1f} ms; read once, hash buffer, decode buffer "
              f"{one * 1000:.1f} ms; of which hashing {hash_only * 1000:.1f} ms")
    sys.path.insert(0, str(ROOT / "tests"))
    import audio_factory as af

    long_wav = af.write_audio(work / "long.wav", af.noise(600.0, amp=0.1), sr=16_000)  # 10 min, 19 MB
    mp3 = af.write_audio(work / "long.mp3", af.noise(600.0, amp=0.1), sr=16_000, bit_rate=64_000)  # 10 min, 4.8 MB
    for path in (long_wav, mp3):
        size = path.stat().st_size
        t = time.perf_counter()
        content_hash(path)
        h = time.perf_counter() - t
        t = time.perf_counter()
        src = source.read_source(path)
        if src.data is not None:
            source.hold(path, src.data)
        for _ in iter_blocks(path, 16_000):
            pass
        source.release(path)
        one = time.perf_counter() - t
        t = time.perf_counter()
        for _ in iter_blocks(path, 16_000):
            pass
        dec = time.perf_counter() - t
        how = "whole file held" if src.data is not None else "3 x 4 MiB samples hashed, decoded from disk"
        print(f"  10 min {path.suffix[1:]} ({size / 1e6:.1f} MB, {how}): hash {h * 1000:.0f} ms, decode {dec * 1000:.0f} ms, "
              f"read once + hash + decode {one * 1000:.0f} ms")


def decode_workers() -> int:
    from mediasearch.indexing import decode_workers as workers

    return workers()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=2.0, help="timed seconds per model-only path")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--audio-s", type=float, default=120.0, help="seconds of speech to index per audio encoder")
    ap.add_argument("--encoders", default="resnet50,siglip-vit-b16,efficientnet-lite0,baseline-image")
    ap.add_argument("--audio", default="whisper-tiny.en,baseline-audio")
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--e2e-only", action="store_true", help="image encoders: only the end-to-end runs (with --repeats)")
    ap.add_argument("--repeats", type=int, default=3, help="end-to-end runs per encoder with --e2e-only")
    ap.add_argument("--clips", type=int, default=48, help="short sound clips for the clip section (0: none)")
    ap.add_argument("--clip-s", type=float, default=4.0, help="seconds per clip (one window each when under the window)")
    ap.add_argument("--clip-encoders", default="panns-cnn14,baseline-audio")
    args = ap.parse_args(argv)

    import torch

    settings = Settings(model_dir=args.model_dir, library_dir=Path(tempfile.gettempdir()) / "unused", batch_size=args.batch_size)
    torch.set_num_threads(settings.inference_threads)
    print(bench_speed.header(torch.device("cpu")))
    work = Path(tempfile.mkdtemp(prefix="ms-e2e-"))
    t0 = time.perf_counter()
    try:
        if args.encoders:
            image_section(args, settings, work)
        if args.audio:
            audio_section(args, settings, work)
        if args.clip_encoders and args.clips:
            clips_section(args, settings, work)
        read_section(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Model-only speed of every torch encoder on every numeric path this machine offers (prints, asserts nothing).

Per encoder, items per second of the forward pass alone (inputs prepared beforehand):
fp32, bf16 autocast (+ channels_last for the CNNs) where the CPU has native bf16 (and,
with --device cuda, fp16/bf16 autocast on the GPU), ONNX Runtime fp32 for the image
backbones, both SigLIP towers, PANNs CNN14 and the sentence model where onnxruntime is installed,
plus the min cosine of each path's outputs to fp32 on the same batch and what the precision gate
(``auto``) would choose. ``clap-audio`` and ``clap-text`` are the two towers of CLAP
HTSAT-unfused (the official architecture, ``clap.official_config()``, randomly initialised):
10 s clips at 48 kHz through the feature extractor beforehand, and 16-token texts. Audio
models also print seconds of audio per second. ``whisper`` times the real Whisper tiny.en
(when the model store has it) on 30 s of espeak-ng speech through the encoder's transcribe
(word timestamps, filters) on both engines, openai-whisper fp32 and CTranslate2 int8, as a
real-time factor (seconds of compute per second of audio; lower is faster) and seconds of
audio per second; on ``--device cuda`` the benchmark moves the encoder's loaded model to
the GPU (the encoder itself loads Whisper on the CPU).
The sentence model is timed on both engines (sentence-transformers and the light torch
path). Models without weights in the model store are randomly initialised (same cost).
The header gives the CPU model and flags, torch version, threads and the load average,
since other programs on a 2-core machine change every figure.

Usage: .venv/bin/python benchmarks/bench_speed.py [--seconds 3] [--batch-size 8] [--threads N]
       [--device cpu] [--whisper-repeats 2]
       [--encoders resnet50,efficientnet-lite0,siglip-image,siglip-text,panns-cnn14,minilm,clap-audio,clap-text,whisper]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mediasearch.encoders import precision  # noqa: E402

DEFAULT_MODEL_DIR = Path(os.environ.get("MEDIASEARCH_MODEL_DIR", ROOT.parent / "shared" / "models"))
ALL = ("resnet50", "efficientnet-lite0", "siglip-image", "siglip-text", "panns-cnn14", "minilm", "clap-audio", "clap-text", "whisper")
#: tokens per CLAP text in the benchmark batch (queries are short; the encoder truncates at 77)
CLAP_TEXT_TOKENS = 16


@dataclass
class Bench:
    """A model ready to time: ``forward(batch)`` on the device -> (b, d) tensor."""

    name: str
    weights: str
    forward: Callable
    make_batch: Callable[[int], object]  # batch size -> CPU input (tensor or tuple of tensors)
    conv: bool = False
    unit: str = "items"
    module: object = None  # the nn.Module to move (default: forward itself or its owner)
    export: tuple | None = None  # (module to export to ONNX, input name), or None: not exported
    audio_s: float | None = None  # seconds of audio per item (audio models), for "s audio/s"


def audio_rate(bench: Bench, items_s: float) -> str:
    """`` (N s audio/s)`` for an audio model's items/s, else ""."""
    return f" ({items_s * bench.audio_s:.0f} s audio/s)" if bench.audio_s else ""


def _pooled(out):
    """A tensor from ``get_*_features``: newer transformers return an output object with ``pooler_output``."""
    return getattr(out, "pooler_output", out)


def build_clap(name: str) -> Bench:
    """One tower of CLAP HTSAT-unfused (the official architecture, random init) as the encoder runs it."""
    import torch
    from transformers import ClapFeatureExtractor, ClapModel

    from mediasearch.encoders import clap

    model = ClapModel(clap.official_config()).eval()
    if name == "clap-audio":
        fields = {k: v for k, v in clap.PREPROCESSOR_CONFIG.items() if k not in ("feature_extractor_type", "processor_class")}
        extractor = ClapFeatureExtractor(**fields)

        def make(n: int):
            clips = list(precision.calibration_waveforms(n, clap.WINDOW_SAMPLES / clap.SAMPLE_RATE, clap.SAMPLE_RATE))
            inputs = extractor(clips, sampling_rate=clap.SAMPLE_RATE, return_tensors="pt")  # (n, 1, 1001, 64), (n, 1)
            return inputs["input_features"], inputs["is_longer"]

        return Bench(
            name, "random init", lambda b: _pooled(model.get_audio_features(input_features=b[0], is_longer=b[1])), make,
            unit="10 s clips", module=model, audio_s=clap.WINDOW_SAMPLES / clap.SAMPLE_RATE,
        )
    vocab = int(model.config.text_config.vocab_size)

    def tokens(n: int):
        # ids 3.. avoid RoBERTa's <s>/<pad>/</s> (its position ids are counted from the padding id)
        ids = torch.randint(3, vocab, (n, CLAP_TEXT_TOKENS), generator=torch.Generator().manual_seed(0))
        return ids, torch.ones_like(ids)

    return Bench(
        name, "random init", lambda b: _pooled(model.get_text_features(input_ids=b[0], attention_mask=b[1])), tokens,
        unit="texts", module=model,
    )


def _image_batch(preprocess: Callable | None, side: int) -> Callable[[int], object]:
    import torch

    def make(n: int):
        images = precision.calibration_images(n, size=max(side + 32, 256))
        if preprocess is None:
            return torch.stack([torch.from_numpy(np.asarray(im.resize((side, side)), np.float32).transpose(2, 0, 1) / 255) for im in images])
        return torch.stack([preprocess(im) for im in images])

    return make


def build(name: str, model_dir: Path) -> Bench:
    """The model behind ``name``, real weights when the model store has them, else random init."""
    import torch

    torch.manual_seed(0)
    if name == "resnet50":
        import torchvision

        from mediasearch.encoders.torchvision_resnet import resnet50_transform

        model = torchvision.models.resnet50(weights=None)
        model.fc = torch.nn.Identity()
        return Bench(name, "random init", model.eval(), _image_batch(resnet50_transform(), 224), conv=True)
    if name == "efficientnet-lite0":
        import timm

        from mediasearch.encoders.timm_backbone import build_transform, strip_classifier

        model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
        path = model_dir / "timm" / "tf_efficientnet_lite0.imagenet.safetensors"
        weights = "random init"
        if path.is_file():
            from safetensors.torch import load_file

            model.load_state_dict(strip_classifier(load_file(str(path)), model))
            weights = "real"
        return Bench(name, weights, model.eval(), _image_batch(build_transform(model), 224), conv=True)
    if name in ("siglip-image", "siglip-text"):
        import open_clip

        from mediasearch.encoders.siglip import _Tower

        model = open_clip.create_model("ViT-B-16-SigLIP", pretrained=None).eval()
        if name == "siglip-image":
            return Bench(name, "random init", model.encode_image, _image_batch(None, 224), export=(_Tower(model, "encode_image"), "images"))
        vocab = model.vocab_size if hasattr(model, "vocab_size") else 32000
        return Bench(
            name, "random init", model.encode_text,
            lambda n: torch.randint(1, int(vocab), (n, 64), generator=torch.Generator().manual_seed(0)), unit="texts",
            export=(_Tower(model, "encode_text"), "tokens"),
        )
    if name == "panns-cnn14":
        from mediasearch.encoders.panns import _cnn14_outputs, build_cnn14

        model = build_cnn14().eval()
        return Bench(
            name, "random init", lambda x: model(x)["embedding"],
            lambda n: torch.from_numpy(precision.calibration_waveforms(n, 10.0, 32_000)), unit="10 s clips", module=model,
            export=(_cnn14_outputs(model), "waveforms"), audio_s=10.0,
        )
    if name in ("clap-audio", "clap-text"):
        return build_clap(name)
    if name == "minilm":
        from mediasearch.encoders import minilm

        folder = model_dir / "sentence-transformers" / "all-MiniLM-L6-v2"
        if not minilm.supports(folder):
            raise FileNotFoundError(f"all-MiniLM-L6-v2 not found in {folder}")
        model = minilm.load(folder)
        texts = list(precision.CALIBRATION_TEXTS)

        def make(n: int):
            return model.tokenize([texts[i % len(texts)] for i in range(n)])

        return Bench(name, "real", lambda batch: model.network(*batch), make, unit="texts", module=model.network)
    if name == "whisper":
        raise ValueError("whisper is timed through its encoder's transcribe (whisper_rtf), not as a forward pass")
    raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(ALL)}")


def to_device(batch, device, channels_last: bool):
    from mediasearch.encoders.device import to_device as move

    if isinstance(batch, tuple):
        return tuple(move(b, device) for b in batch)
    return move(batch, device, channels_last=channels_last)


def time_path(bench: Bench, device, dtype_name: str, batch_size: int, seconds: float, *, channels_last: bool = False):
    """(items/s, outputs of the first batch as (b, d) float32) for one path; at least 2 timed batches."""
    import torch

    model = bench.module or getattr(bench.forward, "__self__", None) or bench.forward
    if isinstance(model, torch.nn.Module):
        model.to(device)
        if channels_last:
            model.to(memory_format=torch.channels_last)
    batch = to_device(bench.make_batch(batch_size), device, channels_last)

    def run():
        with torch.inference_mode(), precision.autocast(device, dtype_name):
            out = bench.forward(batch)
        return out.float().reshape(batch_size, -1).cpu().numpy()

    first = run()  # warm-up
    done, start = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - start < seconds:
        run()
        done += 1
        if done >= 200:
            break
    elapsed = time.perf_counter() - start
    if isinstance(model, torch.nn.Module) and channels_last:
        model.to(memory_format=torch.contiguous_format)
    return done * batch_size / elapsed, first


def paths_for(bench: Bench, device) -> list[tuple[str, bool]]:
    """(dtype, channels_last) pairs worth timing for this model on this device."""
    out = [("fp32", False)]
    if bench.conv:
        out.append(("fp32", True))
    if device.type == "cuda":
        out += [("fp16", bench.conv), ("bf16", bench.conv)]
    elif device.type == "cpu" and precision.cpu_info().bf16_native:
        out.append(("bf16", bench.conv))
    return out


def onnx_rate(bench: Bench, batch_size: int, seconds: float, threads: int) -> tuple[float, np.ndarray] | None:
    """(items/s, first outputs) of the model exported to ONNX Runtime fp32, or None where not exported."""
    import tempfile

    import torch

    from mediasearch.encoders import onnx_engine

    module = bench.module or getattr(bench.forward, "__self__", None) or bench.forward
    if (bench.name not in ("resnet50", "efficientnet-lite0", "minilm") and bench.export is None) or not onnx_engine.available():
        return None
    batch = bench.make_batch(batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "model.onnx"
        if bench.name == "minilm":
            onnx_engine.export_module(module, batch, dest, input_names=["ids", "mask"], output_names=["out"],
                                      dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "out": {0: "b"}})
            inputs = {"ids": batch[0].numpy(), "mask": batch[1].numpy()}
        elif bench.export is not None:
            wrapped, input_name = bench.export
            onnx_engine.export_module(wrapped, (batch[:2],), dest, input_names=[input_name], output_names=["out"],
                                      dynamic_axes={input_name: {0: "b"}, "out": {0: "b"}})
            inputs = {input_name: batch.contiguous().numpy()}
        else:
            module.to(memory_format=torch.contiguous_format)
            onnx_engine.export_module(module, (batch,), dest, input_names=["images"], output_names=["out"],
                                      dynamic_axes={"images": {0: "b"}, "out": {0: "b"}})
            inputs = {"images": batch.contiguous().numpy()}
        session = onnx_engine.OnnxSession(dest, threads=threads)
        first = session.run(inputs).reshape(batch_size, -1)
        done, start = 0, time.perf_counter()
        while done < 2 or time.perf_counter() - start < seconds:
            session.run(inputs)
            done += 1
        return done * batch_size / (time.perf_counter() - start), first


def sentence_transformers_rate(model_dir: Path, batch_size: int, seconds: float) -> float | None:
    """Items/s of sentence-transformers' own encode on the same texts (the old engine)."""
    folder = model_dir / "sentence-transformers" / "all-MiniLM-L6-v2"
    try:
        from mediasearch.encoders.sentence_text import SentenceEmbedder

        embedder = SentenceEmbedder(folder)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
        print(f"  sentence-transformers unavailable: {exc}")
        return None
    texts = [precision.CALIBRATION_TEXTS[i % 4] for i in range(batch_size)]
    embedder.embed(texts)
    done, start = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - start < seconds:
        embedder.embed(texts)
        done += 1
    return done * batch_size / (time.perf_counter() - start)


def _whisper_on(enc, device) -> str:  # noqa: ANN001 - a WhisperSpeechEncoder, a torch.device
    """Load the encoder's Whisper model and put it on ``device``; a note for the printout.

    The encoder loads both engines on the CPU (openai-whisper ``device="cpu"``, faster-whisper
    ``device="cpu"``), so on a GPU the benchmark moves what it loaded: the torch model with
    ``.to``, the CTranslate2 model by reopening the same converted folder on the GPU with
    the same compute type. Transcription then runs through the encoder unchanged.
    """
    from mediasearch.encoders import ct2_whisper

    model = enc.model  # loads (CTranslate2: converts on first use) as the encoder does
    if device.type == "cpu":
        return ""
    if isinstance(model, ct2_whisper.CT2Whisper):
        from faster_whisper import WhisperModel

        model.model = WhisperModel(
            str(model.folder), device=device.type, device_index=device.index or 0, compute_type=model.compute_type, local_files_only=True
        )
    else:
        model.to(device)
    return f"; moved to {device} by the benchmark (the encoder loads it on the CPU)"


def whisper_rtf(model_dir: Path, threads: int, repeats: int = 2, *, device=None) -> None:  # noqa: ANN001
    """Real-time factor and seconds of audio per second of Whisper tiny.en on both engines
    (printed), through the encoder's transcribe, on ``device`` (default: the CPU)."""
    import torch

    device = torch.device(device or "cpu")
    weights = model_dir / "whisper" / "tiny.en.pt"
    minilm = model_dir / "sentence-transformers" / "all-MiniLM-L6-v2"
    if not weights.is_file() or not minilm.is_dir():
        print(f"{'whisper-tiny.en':20s} skipped: no real tiny.en / all-MiniLM-L6-v2 in {model_dir}")
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from audio_factory import have_espeak, place, speech

    from mediasearch.config import Settings
    from mediasearch.encoders import ct2_whisper
    from mediasearch.encoders.registry import get_spec
    from mediasearch.encoders.whisper_speech import WhisperSpeechEncoder

    if not have_espeak():
        print(f"{'whisper-tiny.en':20s} skipped: espeak-ng is not installed")
        return
    lines = [(2.0, "Please close the kitchen window before it starts raining."),
             (11.0, "The lighthouse keeper painted the old wooden boat bright yellow."),
             (21.0, "Our quarterly budget meeting moves to Thursday afternoon.")]
    audio = place([(t, speech(x)) for t, x in lines], total_s=30.0).astype(np.float32)
    seconds = audio.size / 16_000
    settings = Settings(model_dir=model_dir, threads=threads)
    spec = get_spec("whisper-tiny.en")
    rates = {}
    texts = {}
    for engine in ("openai", "ctranslate2"):
        if engine == "ctranslate2" and not ct2_whisper.available():
            print(f"{'whisper-tiny.en':20s} {'real':11s} ctranslate2 not installed")
            continue
        os.environ[ct2_whisper.ENGINE_ENV] = engine
        label = "openai-whisper fp32" if engine == "openai" else "ctranslate2 int8"
        try:
            enc = WhisperSpeechEncoder(spec, settings, {"whisper-tiny-en": weights, "all-minilm-l6-v2": minilm})
            start = time.perf_counter()
            moved = _whisper_on(enc, device)
            enc.transcribe(audio)  # warm-up (and, for CTranslate2, the one-off conversion when not cached)
            first = time.perf_counter() - start
            best = float("inf")
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                _, spans = enc.transcribe(audio)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                best = min(best, time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - e.g. CTranslate2 without its CUDA libraries: report and go on
            print(f"{'whisper-tiny.en':20s} {'real':11s} {label:22s} failed on {device}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        rates[engine] = best / seconds
        texts[engine] = " ".join(t for *_, t in spans)
        extra = f"first call {first:.1f} s" + (" (incl. load/convert)" if engine == "ctranslate2" else " (incl. load)") + moved
        print(
            f"{'whisper-tiny.en':20s} {'real':11s} {label:22s} RTF {rates[engine]:.4f} ({seconds / best:.1f} s audio/s) on {device}; {extra}",
            flush=True,
        )
    os.environ.pop(ct2_whisper.ENGINE_ENV, None)
    if len(rates) == 2:
        same = "equal" if texts["openai"] == texts["ctranslate2"] else f"differ: {texts['openai']!r} vs {texts['ctranslate2']!r}"
        print(f"{'whisper-tiny.en':20s} {'real':11s} ctranslate2 / openai   {rates['openai'] / rates['ctranslate2']:.2f}x faster; transcripts {same}")


def header(device) -> str:
    import torch

    cpu = precision.cpu_info()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (
        f"CPU {cpu.model} flags [{' '.join(sorted(cpu.flags))}] native bf16 {cpu.bf16_native} AMX {cpu.amx}; "
        f"{os.cpu_count()} cores, torch {torch.__version__} threads {torch.get_num_threads()}{gpu}; load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per path (at least 2 batches)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores but one, as the app)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--encoders", default=",".join(ALL))
    parser.add_argument("--whisper-repeats", type=int, default=2, help="timed transcriptions of the 30 s clip per Whisper engine")
    args = parser.parse_args(argv)

    import torch

    from mediasearch.config import Settings
    from mediasearch.encoders.device import resolve_device

    torch.set_num_threads(args.threads or Settings().inference_threads)
    device = resolve_device(args.device)
    print(header(device))
    print(f"batch {args.batch_size}, device {device}, {args.seconds:.0f} s per path")
    print(f"{'model':20s} {'weights':11s} {'path':22s} {'items/s':>9s} {'vs fp32':>8s} {'min cos':>9s}  gate (tolerance {precision.TOLERANCE}, speed-up {precision.MIN_SPEEDUP}x)")
    for name in args.encoders.split(","):
        if name == "whisper":
            whisper_rtf(args.model_dir, torch.get_num_threads(), args.whisper_repeats, device=device)
            continue
        try:
            bench = build(name, args.model_dir)
        except Exception as exc:  # noqa: BLE001
            print(f"{name:20s} skipped: {exc}")
            continue
        results = {}
        for dtype_name, channels_last in paths_for(bench, device):
            rate, out = time_path(bench, device, dtype_name, args.batch_size, args.seconds, channels_last=channels_last)
            results[(dtype_name, channels_last)] = (rate, out)
        base_rate, base_out = results[("fp32", False)]
        for (dtype_name, channels_last), (rate, out) in results.items():
            label = dtype_name + (" + channels_last" if channels_last else "") + (" autocast" if dtype_name != "fp32" else "")
            cosine = precision.min_row_cosine(base_out, out)
            verdict = ""
            if dtype_name != "fp32":
                fp32_best = max(r for (d, _), (r, _) in results.items() if d == "fp32")
                ok = cosine >= precision.TOLERANCE and rate >= fp32_best * precision.MIN_SPEEDUP
                verdict = "would be chosen" if ok else ("too far from fp32" if cosine < precision.TOLERANCE else "not faster")
            print(f"{name:20s} {bench.weights:11s} {label:22s} {rate:9.1f} {rate / base_rate:7.2f}x {cosine:9.6f}  {verdict}{audio_rate(bench, rate)}", flush=True)
        if device.type == "cpu":
            found = onnx_rate(bench, args.batch_size, args.seconds, torch.get_num_threads())
            if found is not None:
                rate, out = found
                cosine = precision.min_row_cosine(base_out, out)
                print(f"{name:20s} {bench.weights:11s} {'onnxruntime fp32':22s} {rate:9.1f} {rate / base_rate:7.2f}x {cosine:9.6f}  (parity needs 0.9999){audio_rate(bench, rate)}", flush=True)
        if name == "minilm" and device.type == "cpu":
            st = sentence_transformers_rate(args.model_dir, args.batch_size, args.seconds)
            if st:
                print(f"{name:20s} {bench.weights:11s} {'sentence-transformers':22s} {st:9.1f} {st / base_rate:7.2f}x {'':9s}  (old engine, fp32, incl. tokenizing)")
        del bench
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

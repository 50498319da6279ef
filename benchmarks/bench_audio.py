"""Audio throughput: seconds of audio processed per second of wall time ("x real time").

Measures, on generated audio written as MP3 (so decoding and resampling are included):
- decoding + resampling alone (16 kHz and 32 kHz);
- baseline-audio and panns-cnn14 through ``encode_asset`` (10 s windows, 5 s hop,
  batch ``--batch``); CNN14 uses the real checkpoint when the model store has it, else a
  random initialisation of the same architecture (same cost);
- Whisper through ``encode_asset`` on continuous espeak-ng speech: real weights where
  installed (tiny.en here), plus, for every size in ``--emulate``, a randomly initialised
  model of that size decoding a fixed number of tokens per 30 s window (the count the
  real model produced on this audio), which is what decoding costs with real weights.

Run: .venv/bin/python benchmarks/bench_audio.py [--seconds 120] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

SENTENCES = [
    "The lighthouse keeper painted the old wooden boat bright yellow.",
    "Our quarterly budget meeting moves to Thursday afternoon.",
    "Please bring the projector and the printed reports.",
    "The football match was cancelled because of heavy snow.",
    "A small bakery on the corner sells fresh bread every morning.",
    "She forgot her umbrella on the train to the airport.",
    "Scientists measured the temperature of the river for ten years.",
    "The children built a castle of sand near the harbour.",
]


def _speech_track(seconds: float, sr: int = 16_000) -> np.ndarray:
    """Continuous espeak-ng speech (sentences with short pauses), ``seconds`` long."""
    from audio_factory import speech

    clips = [speech(s, sr=sr) for s in SENTENCES]
    pause = np.zeros(int(0.4 * sr), np.float32)
    out: list[np.ndarray] = []
    n = 0
    i = 0
    while n < seconds * sr:
        out += [clips[i % len(clips)], pause]
        n += clips[i % len(clips)].size + pause.size
        i += 1
    return np.concatenate(out)[: int(seconds * sr)]


def _sound_track(seconds: float, sr: int = 32_000) -> np.ndarray:
    from audio_factory import chirp, clicks, noise

    parts = [chirp(100, 6000, 10.0, sr=sr), clicks(10.0, sr=sr), noise(10.0, sr=sr)]
    track = np.concatenate(parts * int(np.ceil(seconds / 30.0)))
    return track[: int(seconds * sr)]


def _timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_decode(path: Path, seconds: float) -> list[dict]:
    from mediasearch.decode.audio import iter_blocks

    rows = []
    for sr in (16_000, 32_000):
        wall = _timed(lambda: sum(b.size for b in iter_blocks(path, sr)), repeat=3)
        rows.append({"what": f"decode MP3 + resample to {sr // 1000} kHz", "weights": "-", "audio_s": seconds, "wall_s": wall})
    return rows


def bench_windowed(settings, path: Path, seconds: float) -> list[dict]:
    from mediasearch.encoders.panns import PannsCnn14Encoder, build_cnn14, read_labels
    from mediasearch.encoders.registry import get_spec, load_encoder, weights_present
    from mediasearch.media import MediaKind

    rows = []
    baseline = load_encoder("baseline-audio", settings)
    baseline.encode_asset(path, MediaKind.AUDIO)  # warm-up
    wall = _timed(lambda: baseline.encode_asset(path, MediaKind.AUDIO), repeat=2)
    rows.append({"what": "baseline-audio", "weights": "none needed", "audio_s": seconds, "wall_s": wall})

    spec = get_spec("panns-cnn14")
    if weights_present(spec, settings):
        panns = load_encoder("panns-cnn14", settings)
        weights = "AudioSet checkpoint"
    else:
        labels_csv = REPO.parent / "shared" / "models" / "panns" / "class_labels_indices.csv"
        labels = read_labels(labels_csv) if labels_csv.is_file() else [str(i) for i in range(527)]
        panns = PannsCnn14Encoder.from_model(spec, settings, build_cnn14(), labels)
        weights = "random init (same cost)"
    clips = np.random.default_rng(0).standard_normal((settings.batch_size, 320_000)).astype(np.float32) * 0.1
    panns.forward(clips)  # warm-up
    wall = _timed(lambda: panns.forward(clips), repeat=2)
    rows.append(
        {
            "what": f"panns-cnn14 forward only, {settings.batch_size} x 10 s clips",
            "weights": weights,
            "audio_s": 10.0 * settings.batch_size,
            "wall_s": wall,
        }
    )
    wall = _timed(lambda: panns.encode_asset(path, MediaKind.AUDIO))
    rows.append(
        {
            "what": "panns-cnn14 encode_asset (10 s windows, 5 s hop)",
            "weights": weights,
            "audio_s": seconds,
            "wall_s": wall,
            "note": "windows overlap by half: each second of audio is embedded twice",
        }
    )
    return rows


def bench_whisper_real(settings, path: Path, seconds: float) -> tuple[list[dict], int]:
    """Real-weight Whisper sizes installed in the model store; returns rows and tokens per 30 s."""
    from mediasearch.encoders.registry import REGISTRY, load_encoder, weights_present
    from mediasearch.media import MediaKind

    rows, tokens_per_window = [], 0
    for name, spec in REGISTRY.items():
        if spec.family != "whisper" or not weights_present(spec, settings):
            continue
        enc = load_encoder(name, settings)
        enc.transcribe(_speech_track(5.0))  # warm-up: first-call costs are not throughput
        from whisper.tokenizer import get_tokenizer

        tok = get_tokenizer(multilingual=enc.model.is_multilingual, num_languages=enc.model.num_languages)
        for word_times in (True, False):
            enc.word_timestamps = word_times
            t0 = time.perf_counter()
            encoding = enc.encode_asset(path, MediaKind.AUDIO)
            wall = time.perf_counter() - t0
            words = sum(len(s.text.split()) for s in encoding.segments)
            n_tokens = sum(len(tok.encode(" " + s.text)) for s in encoding.segments)
            tokens_per_window = max(tokens_per_window, int(round(n_tokens / (seconds / 30.0))))
            rows.append(
                {
                    "what": f"{name}{' + word times' if word_times else ', segment times'} + MiniLM",
                    "weights": "real",
                    "audio_s": seconds,
                    "wall_s": wall,
                    "note": f"{len(encoding.segments)} segments, {words} words, ~{tokens_per_window} tokens/30 s",
                }
            )
        enc.word_timestamps = bool(enc.spec.options.get("word_timestamps", True))
    return rows, tokens_per_window


_DIMS = {  # openai-whisper ModelDimensions per size (n_vocab 51864 for .en models)
    "tiny": (384, 6, 4),
    "base": (512, 8, 6),
    "small": (768, 12, 12),
    "medium": (1024, 16, 24),
}


def bench_whisper_emulated(sizes: list[str], tokens: int, seconds: float) -> list[dict]:
    """Random-init Whisper of each size: encoder + ``tokens`` greedy decoder steps per 30 s window."""
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    rows = []
    windows = max(int(np.ceil(seconds / 30.0)), 1)
    audio = whisper.pad_or_trim(np.random.default_rng(0).standard_normal(16_000 * 30).astype(np.float32) * 0.05)
    for size in sizes:
        state, heads, layers = _DIMS[size.removesuffix(".en")]
        english = size.endswith(".en")
        dims = ModelDimensions(
            n_mels=80, n_audio_ctx=1500, n_audio_state=state, n_audio_head=heads, n_audio_layer=layers,
            n_vocab=51864 if english else 51865, n_text_ctx=448, n_text_state=state, n_text_head=heads, n_text_layer=layers,
        )
        torch.manual_seed(0)
        model = Whisper(dims).eval()
        mel = whisper.log_mel_spectrogram(audio, 80)
        tokenizer = whisper.tokenizer.get_tokenizer(multilingual=not english, num_languages=model.num_languages)
        options = whisper.DecodingOptions(
            language="en", without_timestamps=True, fp16=False, sample_len=tokens, suppress_tokens=[-1, tokenizer.eot]
        )
        with torch.inference_mode():
            model.decode(mel, options)  # warm-up
            t0 = time.perf_counter()
            result = model.decode(mel, options)
            per_window = time.perf_counter() - t0
        n = len(result.tokens)
        rows.append(
            {
                "what": f"whisper-{size} emulated, {n} tokens/30 s, no word times",
                "weights": "random init",
                "audio_s": 30.0 * windows,
                "wall_s": per_window * windows,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each test track")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--batch", type=int, default=8, help="windows per CNN14 batch")
    parser.add_argument("--emulate", default="tiny.en,base,small", help="Whisper sizes to emulate with random weights")
    parser.add_argument("--skip-whisper", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from audio_factory import write_audio
    from mediasearch.config import Settings

    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = Path(os.environ.get("MEDIASEARCH_MODEL_DIR", REPO.parent / "shared" / "models"))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(library_dir=Path(tmp) / "lib", model_dir=model_dir, batch_size=args.batch)
        sound = write_audio(Path(tmp) / "sound.mp3", _sound_track(args.seconds), sr=32_000)
        rows += bench_decode(sound, args.seconds)
        rows += bench_windowed(settings, sound, args.seconds)
        if not args.skip_whisper:
            voice = write_audio(Path(tmp) / "speech.mp3", _speech_track(args.seconds))
            real, tokens = bench_whisper_real(settings, voice, args.seconds)
            rows += real
            sizes = [s for s in args.emulate.split(",") if s]
            rows += bench_whisper_emulated(sizes, tokens or 100, args.seconds)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"torch threads {torch.get_num_threads()}, load average at the end {load:.1f} (figures are only fair near 0)"
    )
    print(f"{'what':<62} {'weights':<26} {'audio s':>8} {'wall s':>8} {'x real time':>12}")
    for row in rows:
        row["x_real_time"] = row["audio_s"] / row["wall_s"] if row["wall_s"] > 0 else float("inf")
        print(f"{row['what']:<62} {row['weights']:<26} {row['audio_s']:>8.0f} {row['wall_s']:>8.2f} {row['x_real_time']:>11.1f}x")
        if row.get("note"):
            print(f"    {row['note']}")
    if args.json:
        args.json.write_text(json.dumps({"threads": torch.get_num_threads(), "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

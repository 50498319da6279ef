"""Weight-free baselines vs trivial references: MAP on generated dev sets, and speed.

Dev sets (all generated here, nothing downloaded; see tests/audio_factory.py and
tests/media_factory.py):
- sound categories: 10 synthetic classes (engine hum, rain, bird chirps, espeak-ng speech,
  clicks, bells, siren, wind, drums, DTMF beeps), ``--per-class`` 3 s clips each with random
  variation; relevant = same class;
- sound near-duplicates: ``--per-class / 2`` originals a class plus 2 copies each,
  resampled through 8/11.025/22.05 kHz, shifted 0.05-0.5 s, gain-changed, white noise at
  20 dB SNR; relevant = the same recording;
- picture categories: 8 generated scene classes (beach, forest, city at night, sunset,
  stripes, dots, document, snow), ``--per-class`` 320x240 pictures each;
- picture near-duplicates: ``--per-class / 2`` originals a class plus 2 copies each,
  rotated 3-12 degrees, cropped 5-15 % a side, resized 60-140 %, JPEG quality 30-70.

Every item queries all the others (leave-one-out); MAP over queries. Compared, in the same
run: the current baselines, the previous ones (loaded from git revision ``--old-rev`` when
the checkout has it) and references: MFCC mean/std (40 MFCCs, z-scored over the set) for
sound; an 8x8x8 RGB histogram and an 8x8 thumbnail for pictures.

Run: .venv/bin/python benchmarks/bench_baselines.py [--seeds 11 12] [--per-class 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from audio_factory import category_dev_set, near_duplicate_dev_set  # noqa: E402
from baseline_refs import colour_histogram, leave_one_out_map, mfcc_mean_std, tiny_thumbnail  # noqa: E402
from media_factory import near_duplicate_picture_set, scene_dev_set  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.encoders.base import l2_normalise  # noqa: E402
from mediasearch.encoders.registry import get_spec, load_encoder  # noqa: E402

OLD_REV = "565873c"  # the last commit with the first-round baselines (128-d audio, 256-d image)


def _old_module(rev: str, path: str, name: str):
    """The file ``path`` at git revision ``rev`` imported as module ``name``, or None."""
    try:
        source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(embed: Callable[[list], np.ndarray], items: list) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    vectors = embed(items)
    return vectors, len(items) / max(time.perf_counter() - start, 1e-9)


def audio_descriptors(settings: Settings, old_rev: str) -> dict[str, Callable[[list], np.ndarray]]:
    out: dict[str, Callable[[list], np.ndarray]] = {
        "baseline-audio": load_encoder("baseline-audio", settings).embed_audio,
        "fingerprint-audio": load_encoder("fingerprint-audio", settings).embed_audio,
    }
    old = _old_module(old_rev, "mediasearch/encoders/baseline_audio.py", "old_baseline_audio")
    if old is not None:
        from dataclasses import replace

        encoder = old.BaselineAudioEncoder(replace(get_spec("baseline-audio"), dim=128), settings, {})
        out[f"baseline-audio@{old_rev} (old)"] = lambda clips: np.stack([encoder.describe(c) for c in clips])
    out["mfcc-mean-std (ref)"] = mfcc_mean_std
    return out


def image_descriptors(settings: Settings, old_rev: str) -> dict[str, Callable[[list], np.ndarray]]:
    out: dict[str, Callable[[list], np.ndarray]] = {"baseline-image": load_encoder("baseline-image", settings).embed_images}
    old = _old_module(old_rev, "mediasearch/encoders/baseline_image.py", "old_baseline_image")
    if old is not None:
        out[f"baseline-image@{old_rev} (old)"] = lambda images: l2_normalise(np.stack([old.describe(im) for im in images]))
    out["rgb-histogram-8 (ref)"] = colour_histogram
    out["thumbnail-8x8 (ref)"] = tiny_thumbnail
    return out


def run(seeds: list[int], per_class: int, old_rev: str) -> dict:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(library_dir=tmp / "lib", model_dir=tmp / "models")
    results: dict = {"seeds": seeds, "per_class": per_class, "map": {}, "items_per_s": {}}
    families = {
        "audio": (audio_descriptors(settings, old_rev), lambda s: {
            "sound categories": category_dev_set(per_class, seed=s),
            "sound near-duplicates": near_duplicate_dev_set(max(1, per_class // 2), seed=s + 1000),
        }),
        "image": (image_descriptors(settings, old_rev), lambda s: {
            "picture categories": scene_dev_set(per_class, seed=s),
            "picture near-duplicates": near_duplicate_picture_set(max(1, per_class // 2), seed=s + 1000),
        }),
    }
    for descriptors, make_sets in families.values():
        for seed in seeds:
            for task, (items, labels) in make_sets(seed).items():
                table = results["map"].setdefault(task, {})
                for name, embed in descriptors.items():
                    vectors, rate = _timed(embed, items)
                    table.setdefault(name, []).append(leave_one_out_map(vectors, labels))
                    results["items_per_s"].setdefault(name, []).append(rate)
    return results


def report(results: dict) -> str:
    lines = [f"seeds {results['seeds']}, {results['per_class']} per class (MAP per seed, then mean)"]
    for task, table in results["map"].items():
        lines.append(f"\n{task}")
        for name, maps in table.items():
            per_seed = " ".join(f"{m:.3f}" for m in maps)
            lines.append(f"  {name:34s} {np.mean(maps):.3f}   ({per_seed})")
    lines.append("\nspeed (items/s, median over sets; sound items are 3 s clips, pictures 320x240)")
    for name, rates in results["items_per_s"].items():
        lines.append(f"  {name:34s} {np.median(rates):8.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.seeds, args.per_class, args.old_rev)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

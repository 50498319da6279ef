"""Indexing throughput: a local Ray cluster vs a plain local run on the same cores.

For each encoder, the same generated files are indexed into a fresh library twice:

  local    ``index_paths`` in this process (one inference thread + one decode thread:
           the default on 2 cores)
  ray      ``index_paths(..., executor=RayExecutor(workers=W))`` on a local Ray cluster of
           ``--cpus`` CPUs started once for the whole benchmark; each of the W actors
           decodes and embeds with its own copy of the encoder (1 thread each), the
           writer (this process) commits

Printed per encoder: items, the embed stage's wall seconds and items/s (or seconds of
audio per second), the whole run's wall seconds (scan + hash + embed + commit + index
refresh), the actors' start-up (process start + encoder load, paid once per run), and
the overhead of Ray = ray / local - 1 of the whole run, without and with the start-up
(local start-up: the encoder's first load in this process).
Also the cluster's start-up and the load average (the machine may be shared).

Usage: MEDIASEARCH_MODEL_DIR=MODELS .venv/bin/python benchmarks/bench_ray.py
       [--images 64] [--size 1600x1200] [--sounds 8] [--sound-s 30] [--workers 2] [--cpus 2]
       [--encoders baseline-image,efficientnet-lite0,baseline-audio] [--repeats 1]
MODELS must hold the EfficientNet-Lite0 weights (``mediasearch models``); without them
efficientnet-lite0 is left out with a note.

``--inputs`` instead prints the other per-item figures docs/SCALE.md builds on: JPEG draft
decode time for a 224 px model (1600x1200 and 12 MP), catalog bytes and the single
writer's time per new file (2,000 small images, baseline-image), and whisper-tiny.en's
real-time factor and segments per hour on espeak-ng speech (when its weights are in
MODELS and espeak-ng is installed).

``--milvus-memory N`` prints Milvus Lite's *marginal* resident memory and disk per vector
(768-d, FLAT, HNSW M 32 / efConstruction 80, IVF_SQ8 nlist 1024): the growth of this
process tree (Milvus Lite runs inside it) and of the data folder between N/2 and N
flushed, loaded and searched vectors, so the engine's fixed cost drops out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mediasearch.config import Settings  # noqa: E402
from mediasearch.encoders import registry  # noqa: E402
from mediasearch.indexing import index_paths  # noqa: E402
from mediasearch.library import Library  # noqa: E402
from mediasearch.progress import CancelToken  # noqa: E402


def make_media(folder: Path, *, images: int, size: tuple[int, int], sounds: int, sound_s: float) -> tuple[Path, Path]:
    """(image folder, sound folder): photo-like JPEGs and mixed tone/chirp/noise WAVs."""
    import audio_factory as af
    import numpy as np
    from bench_image_encoders import make_jpegs

    img_dir, snd_dir = folder / "images", folder / "sounds"
    img_dir.mkdir(parents=True)
    snd_dir.mkdir(parents=True)
    make_jpegs(img_dir, images, size=size)
    for i in range(sounds):
        clip = af.place(
            [(0.0, af.tone(220.0 + 30 * i, sound_s / 3)), (sound_s / 3, af.chirp(300.0, 3000.0, sound_s / 3)),
             (2 * sound_s / 3, af.noise(sound_s / 3, seed=i))],
            total_s=sound_s,
        )
        af.write_audio(snd_dir / f"sound_{i:03d}.wav", clip.astype(np.float32))
    return img_dir, snd_dir


def run_once(encoder: str, folder: Path, settings: Settings, executor=None) -> dict:  # noqa: ANN001
    """One fresh-library index run: whole wall s, stage wall s, items, media s, start-up s."""
    lib_dir = Path(tempfile.mkdtemp(prefix="bench-ray-lib-"))
    try:
        s = settings.with_(library_dir=lib_dir)
        startup = 0.0
        if executor is None:  # load the encoder first, timed apart (cached for later runs)
            t0 = time.monotonic()
            registry.load_encoder(encoder, s)
            startup = time.monotonic() - t0
        else:  # start the actors and load the encoder first, timed apart
            t0 = time.monotonic()
            executor._pool([encoder], s, 10**9, CancelToken())
            startup = time.monotonic() - t0
        with Library(s) as lib:
            assert executor is None or lib.settings == s  # else the actors would start again
            t0 = time.monotonic()
            report = index_paths(lib, [folder], encoders=[encoder], executor=executor)
            wall = time.monotonic() - t0
        stats = report.encoders[encoder]
        assert not report.missing and not report.cancelled, report.to_json()
        return {"wall": wall, "stage": stats.wall_s, "items": stats.items, "media_s": stats.media_s, "startup": startup}
    finally:
        shutil.rmtree(lib_dir, ignore_errors=True)


def scale_inputs(model_dir: Path, tmp: Path) -> None:
    """The per-item figures of docs/SCALE.md that the throughput table does not give."""
    import numpy as np
    from bench_image_encoders import make_jpegs

    import audio_factory as af
    import media_factory as mf
    from mediasearch.decode.image import load_image
    from mediasearch.media import MediaKind

    for w, h in ((1600, 1200), (4000, 3000)):
        folder = tmp / f"jpeg{w}"
        folder.mkdir()
        paths = make_jpegs(folder, 8, size=(w, h))
        load_image(paths[0], target_size=224)  # warm
        t0 = time.perf_counter()
        for p in paths:
            load_image(p, target_size=224)
        ms = (time.perf_counter() - t0) / len(paths) * 1000
        print(f"decode {w}x{h} JPEG ({paths[0].stat().st_size / 1e6:.1f} MB) for a 224 px model: {ms:.1f} ms per image")

    n = 2000
    media = tmp / "small"
    for i in range(n):
        mf.make_image(media / f"sub{i // 500}" / f"p{i:05d}.jpg", seed=i, size=(64, 48))
    s = Settings(library_dir=tmp / "lib", model_dir=model_dir)
    with Library(s) as lib:
        t0 = time.monotonic()
        report = index_paths(lib, [media], encoders=["baseline-image"])
        wall = time.monotonic() - t0
    stage = report.encoders["baseline-image"].wall_s
    catalog = sum(p.stat().st_size for p in s.library_dir.glob("catalog.sqlite*"))
    vectors = sum(p.stat().st_size for p in (s.library_dir / "vectors").rglob("*") if p.is_file())
    print(
        f"{n} new 64x48 JPEGs, baseline-image: catalog {catalog / n:.0f} B per image, vector log {vectors / n:.0f} B per image; "
        f"run {wall:.1f} s, embed stage {stage:.1f} s -> writer (scan, check, commit, refresh) {(wall - stage) / n * 1000:.2f} ms per file"
    )

    settings = Settings(library_dir=tmp / "lib2", model_dir=model_dir)
    if not (af.have_espeak() and registry.weights_present(registry.get_spec("whisper-tiny.en"), settings)):
        print("whisper-tiny.en: skipped (needs espeak-ng and the tiny.en weights)")
        return
    sentences = [
        "The quick brown fox jumps over the lazy dog.", "A large library of recordings needs a good search.",
        "Every hour of speech becomes a transcript with time codes.", "We measure how fast the model goes on this machine.",
    ]
    parts = []
    for k in range(8):
        parts += [af.speech(sentences[k % 4]), af.silence(0.6)]
    clip = np.concatenate(parts)
    path = af.write_audio(tmp / "speech.wav", clip)
    duration = clip.size / af.SR
    enc = registry.load_encoder("whisper-tiny.en", settings)
    t0 = time.monotonic()
    encoding = enc.encode_asset(path, MediaKind.AUDIO)
    wall = time.monotonic() - t0
    print(
        f"whisper-tiny.en: {duration:.0f} s of speech in {wall:.1f} s = {duration / wall:.1f}x real time "
        f"({settings.inference_threads} thread), {len(encoding.segments)} segments = {len(encoding.segments) / duration * 3600:.0f} per hour"
    )


def milvus_memory(n: int, tmp: Path, dim: int = 768, kinds: Sequence[str] = ("FLAT", "HNSW", "IVF_SQ8")) -> None:
    """Marginal bytes per vector of Milvus Lite in memory and on disk, per index type."""
    import numpy as np
    import psutil
    from pymilvus import DataType, MilvusClient

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(200, dim)).astype(np.float32)
    params = {"FLAT": {}, "HNSW": {"M": 32, "efConstruction": 80}, "IVF_FLAT": {"nlist": 1024}, "IVF_SQ8": {"nlist": 1024}}

    def vectors(m: int) -> "np.ndarray":
        v = centres[rng.integers(0, len(centres), m)] + 0.5 * rng.normal(size=(m, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def resident() -> int:
        me = psutil.Process()
        return sum(proc.memory_info().rss for proc in [me, *me.children(recursive=True)])

    def disk(folder: Path) -> int:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    for kind in kinds:
        folder = tmp / f"milvus-{kind}"
        folder.mkdir()
        client = MilvusClient(str(folder / "m.db"))
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("asset", DataType.INT64)
        schema.add_field("kind", DataType.VARCHAR, max_length=8)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        client.create_collection("c", schema=schema)
        index = client.prepare_index_params()
        index.add_index("vec", index_type=kind, metric_type="IP", params=params[kind])
        client.create_index("c", index)
        client.load_collection("c")
        points, done, t0 = [], 0, time.monotonic()
        for target in (n // 2, n):
            for start in range(done, target, 5000):
                m = min(5000, target - start)
                v = vectors(m)
                client.insert("c", [{"id": start + k, "asset": start + k, "kind": "image", "vec": v[k].tolist()} for k in range(m)])
            done = target
            client.flush("c")
            for _ in range(2):
                client.search("c", data=[vectors(1)[0].tolist()], limit=10, anns_field="vec")
            points.append((target, resident(), disk(folder)))
        (n1, r1, d1), (n2, r2, d2) = points
        per_r, per_d = (r2 - r1) / (n2 - n1), (d2 - d1) / (n2 - n1)
        print(
            f"Milvus Lite {kind}, {dim}-d: {time.monotonic() - t0:.0f} s; resident {r1 / 1e6:.0f} -> {r2 / 1e6:.0f} MB = {per_r:.0f} B "
            f"per vector ({per_r / 1e3:.2f} GB per million; raw {4 * dim} B); disk {d1 / 1e6:.0f} -> {d2 / 1e6:.0f} MB = {per_d:.0f} B "
            f"per vector ({per_d / 1e3:.2f} GB per million)",
            flush=True,
        )
        client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--size", default="1600x1200", help="JPEG size WxH")
    ap.add_argument("--sounds", type=int, default=8)
    ap.add_argument("--sound-s", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    ap.add_argument("--encoders", default="baseline-image,efficientnet-lite0,baseline-audio")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--model-dir", default=os.environ.get("MEDIASEARCH_MODEL_DIR"))
    ap.add_argument("--inputs", action="store_true", help="print the per-item figures of docs/SCALE.md instead")
    ap.add_argument("--milvus-memory", type=int, metavar="N", help="print Milvus Lite's memory and disk per vector (N vectors) instead")
    args = ap.parse_args()
    if args.milvus_memory:
        tmp = Path(tempfile.mkdtemp(prefix="bench-ray-milvus-"))
        try:
            print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}")
            milvus_memory(args.milvus_memory, tmp)
            print(f"load average at end {os.getloadavg()[0]:.2f}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    if args.inputs:
        tmp = Path(tempfile.mkdtemp(prefix="bench-ray-inputs-"))
        try:
            print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}")
            scale_inputs(Path(args.model_dir).expanduser() if args.model_dir else Settings().model_dir, tmp)
            print(f"load average at end {os.getloadavg()[0]:.2f}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0

    import ray

    from mediasearch.distributed import RayExecutor, RayOptions

    model_dir = Path(args.model_dir).expanduser() if args.model_dir else Settings().model_dir
    settings = Settings(model_dir=model_dir)
    encoders = [e for e in args.encoders.split(",") if e]
    for name in list(encoders):
        if not registry.weights_present(registry.get_spec(name), settings):
            print(f"note: {name} left out: its weights are not in {model_dir}")
            encoders.remove(name)
    w, h = (int(v) for v in args.size.lower().split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}")
    try:
        t0 = time.monotonic()
        img_dir, snd_dir = make_media(tmp, images=args.images, size=(w, h), sounds=args.sounds, sound_s=args.sound_s)
        print(f"media: {args.images} JPEGs {w}x{h}, {args.sounds} WAVs of {args.sound_s:g} s ({time.monotonic() - t0:.1f} s to make)")
        t0 = time.monotonic()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        print(f"local Ray cluster ({args.cpus} CPUs) started in {time.monotonic() - t0:.1f} s; {args.workers} workers")
        rows = []
        for name in encoders:
            folder = snd_dir if name in ("baseline-audio", "fingerprint-audio", "panns-cnn14") or name.startswith("whisper") else img_dir
            unit = "audio s/s" if folder is snd_dir else "items/s"
            local, remote = [], []
            for _ in range(args.repeats):
                local.append(run_once(name, folder, settings))
                with RayExecutor(RayOptions(workers=args.workers)) as executor:
                    remote.append(run_once(name, folder, settings, executor))
            rows.append((name, unit, local, remote))
        print()
        print("| encoder | run | items | embed stage s | rate | whole run s | start-up s | Ray overhead (run) | with start-up |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, unit, local, remote in rows:
            def med(runs: list[dict], key: str) -> float:
                return statistics.median(r[key] for r in runs)

            def rate(runs: list[dict]) -> float:
                amount = med(runs, "media_s") if unit == "audio s/s" else med(runs, "items")
                return amount / max(med(runs, "stage"), 1e-9)

            lw, rw, rs = med(local, "wall"), med(remote, "wall"), med(remote, "startup")
            ls = local[0]["startup"]  # the first load in this process; later ones are cached
            print(f"| {name} | local | {int(med(local, 'items'))} | {med(local, 'stage'):.2f} | {rate(local):.1f} {unit} | {lw:.2f} | {ls:.2f} | | |")
            print(
                f"| {name} | ray x{args.workers} | {int(med(remote, 'items'))} | {med(remote, 'stage'):.2f} | {rate(remote):.1f} {unit} | {rw:.2f} | {rs:.2f} "
                f"| {100 * (rw / lw - 1):+.0f}% | {100 * ((rw + rs) / (lw + ls) - 1):+.0f}% |"
            )
        print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

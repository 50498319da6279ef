"""Evaluation benchmark: 100 saved queries x 3 encoders on a 10,000-image library.

Builds (or reuses) a library of generated photo-like pictures: for each of ``--queries``
originals a smaller re-encoded copy, and distractors up to ``--items``; each query is a
mirrored, cropped, hue-shifted edit of its original (judged: original 2, copy 1). The
three encoders are the weight-free baseline, EfficientNet-Lite0 (real weights, 224 px)
and the same weights at 160 px input (registered here as ``efficientnet-lite0-160``).

Then runs the whole evaluation twice (metrics, latency, significance, HTML/JSON/CSV
report) and prints the wall time of each and how much the latency percentiles moved
between the two runs.

Usage:  .venv/bin/python benchmarks/bench_eval.py [--items 10000] [--queries 100]
            [--model-dir ../shared/models] [--work benchmarks/out/eval] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import media_factory as mf  # noqa: E402  (the tests' media generator)

from mediasearch.config import Settings  # noqa: E402
from mediasearch.encoders import registry  # noqa: E402
from mediasearch.encoders.base import EncoderSpec  # noqa: E402
from mediasearch.evaluation import groundtruth as gt  # noqa: E402
from mediasearch.evaluation.report import write_reports  # noqa: E402
from mediasearch.evaluation.runner import EvalOptions, evaluate  # noqa: E402
from mediasearch.indexing import index_paths  # noqa: E402
from mediasearch.library import Library  # noqa: E402
from mediasearch.media import Modality  # noqa: E402

SIZE = (192, 144)
ENCODERS = ["baseline-image", "efficientnet-lite0", "efficientnet-lite0-160"]


def register_small_effnet() -> None:
    base = registry.get_spec("efficientnet-lite0")
    registry.register(
        EncoderSpec(
            name="efficientnet-lite0-160",
            family=base.family,
            streams=base.streams,
            query_modalities=base.query_modalities,
            dim=base.dim,
            factory=base.factory,
            description="EfficientNet-Lite0 ImageNet weights at 160 px input (benchmark variant)",
            licence=base.licence,
            preprocessing="shorter side 183 bicubic, centre crop 160, mean = std = 0.5",
            models=base.models,
            image_size=160,
            options={**base.options, "data_config": {"input_size": (3, 160, 160), "crop_pct": 0.875}},
        )
    )


def build(work: Path, settings: Settings, n_items: int, n_queries: int) -> None:
    media, queries = work / "media", work / "queries"
    t0 = time.perf_counter()
    for i in range(n_items - n_queries):
        sub = media / f"d{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        mf.photo_like_picture(i, SIZE).save(sub / f"p{i:05d}.jpg", quality=85)
    queries.mkdir(parents=True, exist_ok=True)
    for i in range(n_queries):  # originals are p00000..; their copies go in a folder of their own
        original = Image.open(media / f"d{i // 1000:02d}" / f"p{i:05d}.jpg").convert("RGB")
        (media / "copies").mkdir(exist_ok=True)
        original.resize((SIZE[0] * 3 // 4, SIZE[1] * 3 // 4)).save(media / "copies" / f"c{i:05d}.jpg", quality=70)
        mf.near_duplicate(original).save(queries / f"q{i:05d}.jpg", quality=85)
    print(f"generated {n_items} pictures and {n_queries} queries in {time.perf_counter() - t0:.1f} s")

    with Library(settings) as library:
        t0 = time.perf_counter()
        report = index_paths(library, [media], encoders=ENCODERS)
        print(f"indexed in {time.perf_counter() - t0:.1f} s:")
        for name, stats in report.encoders.items():
            print(f"  {name}: {stats.items} files, {stats.items / stats.wall_s:.1f} files/s (its share of the wall time)")
        for i in range(n_queries):
            q = gt.add_query(library.catalog, settings, modality=Modality.IMAGE, path=queries / f"q{i:05d}.jpg")
            gt.judge_path(library.catalog, q, media / f"d{i // 1000:02d}" / f"p{i:05d}.jpg", 2)
            gt.judge_path(library.catalog, q, media / "copies" / f"c{i:05d}.jpg", 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model-dir", type=Path, default=REPO.parent / "shared" / "models")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "out" / "eval")
    parser.add_argument("--fresh", action="store_true", help="rebuild the library even if one is there")
    parser.add_argument("--latency-seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="inference threads (default: all cores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    register_small_effnet()
    settings = Settings(library_dir=args.work / "library", model_dir=args.model_dir, batch_size=8, threads=args.threads)
    stamp = args.work / "built.json"
    wanted = {"items": args.items, "queries": args.queries}
    if args.fresh or not stamp.is_file() or json.loads(stamp.read_text()) != wanted:
        shutil.rmtree(args.work, ignore_errors=True)
        build(args.work, settings, args.items, args.queries)
        stamp.write_text(json.dumps(wanted))
    else:
        print(f"reusing the library in {args.work} ({args.items} items, {args.queries} queries)")

    options = EvalOptions(ks=(1, 5, 10), depth=100, latency_min_s=args.latency_seconds, latency_min_repeats=args.repeats)
    summaries = []
    for run in (1, 2):
        t0 = time.perf_counter()
        with Library(settings) as library:
            result = evaluate(library, options)
        t_eval = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = args.work / f"report{run}.html"
        data = write_reports(result, html_path=out, json_path=out.with_suffix(".json"), csv_path=out.with_suffix(".csv"))
        t_report = time.perf_counter() - t0
        summaries.append(data["latency"])
        group = next(iter(data["groups"].values()))
        print(f"\nrun {run}: evaluate {t_eval:.1f} s (+ report {t_report:.1f} s, {out.stat().st_size / 1e6:.1f} MB HTML)")
        print(f"  {len(data['queries'])} queries x {len(data['encoders'])} encoders; machine: {data['machine']}")
        for warning in data["warnings"]:
            print(f"  warning: {warning}")
        for enc in data["encoders"]:
            lat, means = data["latency"][enc], group["table"][enc]
            print(
                f"  {enc:24s} MAP {means['MAP']:.3f}  NDCG@10 {means['NDCG@10']:.3f}  P@1 {means['P@1']:.3f} | "
                f"p50 {lat['p50_ms']:.1f} ms  p95 {lat['p95_ms']:.1f}  p99 {lat['p99_ms']:.1f}  "
                f"{lat['qps']:.1f} q/s  ({lat['samples']} searches; raw p99 {lat['raw_p99_ms']:.1f}, max {lat['raw_max_ms']:.0f})"
            )
        for pair in group["comparisons"]["MAP"]:
            print(f"  MAP {pair['a']} - {pair['b']}: {pair['diff']:+.3f}, p (Holm) {pair['p_holm']:.4f}")
    print("\nlatency change from run 1 to run 2 (per-query medians; stability target: within ±20%):")
    worst = 0.0
    for enc in summaries[0]:
        moves = {k: summaries[1][enc][k] / summaries[0][enc][k] - 1 for k in ("p50_ms", "p95_ms", "p99_ms")}
        worst = max(worst, *(abs(v) for v in moves.values()))
        print(f"  {enc:24s} " + "  ".join(f"{k[:-3]} {v:+.1%}" for k, v in moves.items()))
    print(f"largest change {worst:.1%}: {'stable' if worst <= 0.2 else 'NOT stable'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

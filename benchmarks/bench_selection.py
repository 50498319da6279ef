"""Model-selection report benchmark: 100 saved queries x 3 encoders.

Builds (or reuses) bench_eval.py's library of generated photo-like pictures (``--items``,
default 2,000: indexing EfficientNet-Lite0 twice dominates the set-up on a small machine)
with ``--queries`` judged near-duplicate queries and the same three encoders
(baseline-image, efficientnet-lite0, efficientnet-lite0-160). Optionally runs a short
real load test first (``--loadtest``: threads, direct, concurrency 1 and 2, 2 s a level)
so the report has latency-under-load figures.

Then times, twice: the evaluation (metrics, latency, significance), the report JSON, the
model selection (``build_selection``: facts, Pareto, recommendation, published ranks),
the HTML report with the selection's plots, and re-applying constraints (what the GUI does
when a field changes). Prints figures; asserts nothing.

Usage:  .venv/bin/python benchmarks/bench_selection.py [--items 2000] [--queries 100]
            [--model-dir ../shared/models] [--work benchmarks/out/selection] [--loadtest] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_eval  # noqa: E402  (its library builder and third encoder)

from mediasearch.config import Settings  # noqa: E402
from mediasearch.evaluation import report as rp  # noqa: E402
from mediasearch.evaluation.runner import EvalOptions, evaluate  # noqa: E402
from mediasearch.evaluation.selection import Constraints, apply_constraints, build_selection  # noqa: E402
from mediasearch.library import Library  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model-dir", type=Path, default=REPO.parent / "shared" / "models")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "out" / "selection")
    parser.add_argument("--fresh", action="store_true", help="rebuild the library even if one is there")
    parser.add_argument("--loadtest", action="store_true", help="run a short real load test first")
    parser.add_argument("--latency-seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    bench_eval.register_small_effnet()
    settings = Settings(library_dir=args.work / "library", model_dir=args.model_dir, batch_size=8)
    stamp = args.work / "built.json"
    wanted = {"items": args.items, "queries": args.queries}
    if args.fresh or not stamp.is_file() or json.loads(stamp.read_text()) != wanted:
        shutil.rmtree(args.work, ignore_errors=True)
        t0 = time.perf_counter()
        bench_eval.build(args.work, settings, args.items, args.queries)
        stamp.write_text(json.dumps(wanted))
        print(f"built the library in {time.perf_counter() - t0:.1f} s")
    else:
        print(f"reusing the library in {args.work} ({args.items} items, {args.queries} queries)")

    if args.loadtest:
        from mediasearch.evaluation.loadtest import LoadOptions, run_loadtest, save_results

        t0 = time.perf_counter()
        data = run_loadtest(settings, LoadOptions(encoders=tuple(bench_eval.ENCODERS), concurrency=(1, 2), duration_s=2.0,
                                                  modes=("threads",), targets=("direct",)))
        save_results(data, settings.library_dir)
        print(f"load test (threads, direct, 1 and 2 clients, 2 s a level) in {time.perf_counter() - t0:.1f} s")

    options = EvalOptions(ks=(1, 5, 10), depth=100, latency_min_s=args.latency_seconds, latency_min_repeats=args.repeats)
    constraints = Constraints(max_index_hours=1.0, max_latency_ms=200.0, max_memory_gb=4.0)
    for run in (1, 2):
        t_all = time.perf_counter()
        with Library(settings) as library:
            t0 = time.perf_counter()
            result = evaluate(library, options)
            t_eval = time.perf_counter() - t0
            t0 = time.perf_counter()
            data = rp.result_to_json(result)
            t_json = time.perf_counter() - t0
            t0 = time.perf_counter()
            data["selection"] = build_selection(library, data, constraints)
            t_select = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = args.work / f"report{run}.html"
        rp.write_html(data, out)
        rp.write_json(data, out.with_suffix(".json"))
        t_html = time.perf_counter() - t0
        t0 = time.perf_counter()
        section = rp._selection_section(data)
        t_section = time.perf_counter() - t0
        t0 = time.perf_counter()
        for limit in (50.0, 100.0, 200.0, 400.0, 800.0):
            apply_constraints(data["selection"], Constraints(max_latency_ms=limit))
        t_apply = (time.perf_counter() - t0) / 5
        total = time.perf_counter() - t_all
        print(
            f"\nrun {run}: full model-selection report {total:.1f} s = evaluate {t_eval:.1f} s + JSON {t_json:.2f} s "
            f"+ selection {t_select:.3f} s + HTML/JSON files {t_html:.1f} s (of which the selection section "
            f"{t_section:.2f} s); re-applying constraints {t_apply * 1000:.2f} ms; HTML {out.stat().st_size / 1e6:.1f} MB"
        )
        print(f"  {len(data['queries'])} queries x {len(data['encoders'])} encoders; load test: "
              f"{'measured' if data['selection']['loadtest']['measured'] else data['selection']['loadtest']['note']}")
        for group, g in data["selection"]["groups"].items():
            print(f"  {group}: Pareto {g['pareto']}; pick {g['recommendation']['pick']}; "
                  f"ruled out {sorted(g['recommendation']['ruled_out'])}")
            for enc, r in g["rows"].items():
                print(f"    {enc:24s} MAP {r['MAP']:.3f}  files/s {r['items_per_s'] or 0:.1f}  index MB "
                      f"{r['index_bytes'] / 1e6:.1f}  peak RSS MB {r['peak_memory_mb'] or 0:.0f}  weights MB "
                      f"{(r['weights_bytes'] or 0) / 1e6:.1f}")
        del section
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``mediasearch loadtest``: searches under concurrent load (mediasearch/evaluation/loadtest.py).

Prints a table per encoder (one row per mode, target and concurrency level), or the
result dict with ``--json``; the result file goes to ``<library>/evaluation/loadtest.json``
(and ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from mediasearch import cli_args

MODE_CHOICES = {"threads": ("threads",), "processes": ("processes",), "both": ("threads", "processes")}
TARGET_CHOICES = {"direct": ("direct",), "service": ("service",), "both": ("direct", "service")}


def _fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _print_tables(data: dict, path: object, elapsed_s: float) -> None:
    from mediasearch.cli import _table

    machine = data["machine"]
    load = ", ".join(f"{v:g}" for v in machine.get("load_avg", []))
    print(f"machine: {machine['cpu']}, {machine['cores']} cores" + (f"; load average {load}" if load else ""))
    encoders = list(dict.fromkeys(r["encoder"] for r in data["results"]))
    for encoder in encoders:
        rows = [r for r in data["results"] if r["encoder"] == encoder]
        print(f"\n{encoder} ({rows[0]['medium']})")
        table = [
            [
                r["mode"], r["target"], str(r["concurrency"]), str(r["queries"]), _fmt(r["qps"]),
                _fmt(r["p50_ms"]), _fmt(r["p95_ms"]), _fmt(r["p99_ms"]), str(r["errors"]),
                f"{_fmt(r['peak_rss_mb'], 0)} ({r['rss_scope']})",
                "-" if r["cpu_util"] is None else f"{100 * r['cpu_util']:.0f}%",
                "-" if r["gpu_mem_mb"] is None else f"{_fmt(r['gpu_mem_mb'], 0)} MiB"
                + ("" if r["gpu_util"] is None else f", {100 * r['gpu_util']:.0f}%"),
            ]
            for r in rows
        ]
        headers = ["mode", "target", "clients", "queries", "qps", "p50 ms", "p95 ms", "p99 ms", "errors", "peak RSS MiB", "CPU", "GPU"]
        print(_table(table, headers))
        for r in rows:
            for example in r["error_examples"]:
                print(f"  error ({r['mode']}, {r['target']}, {r['concurrency']} clients): {example}")
    for skip in data["skipped"]:
        print(f"skipped {skip['encoder']} ({skip['mode']}, {skip['target']}): {skip['reason']}")
    if data["indexing"]:
        print("\nindexing (latest run per encoder)")
        rows = [
            [i["encoder"], _fmt(i["items_per_s"], 2), _fmt(i["media_s_per_s"], 1), _fmt(i["peak_rss_mb"], 0)]
            for i in data["indexing"]
        ]
        print(_table(rows, ["encoder", "items/s", "media s/s", "peak RSS MiB"]))
    print(f"\nwrote {path} ({elapsed_s:.0f} s)")


def cmd_loadtest(args: argparse.Namespace) -> int:
    from mediasearch.cli import _Bars, _cancel_on_sigint, _encoder_list
    from mediasearch.evaluation.loadtest import LoadOptions, run_loadtest, save_results

    encoders = _encoder_list(args.encoders)
    options = LoadOptions(
        encoders=tuple(encoders) if encoders else None,
        concurrency=args.concurrency,
        duration_s=args.duration,
        max_queries=args.max_queries,
        k=args.k,
        modes=MODE_CHOICES[args.mode],
        targets=TARGET_CHOICES[args.target],
    )
    bars = _Bars(enabled=not args.quiet and sys.stderr.isatty())
    started = time.monotonic()
    try:
        with _cancel_on_sigint() as cancel:
            data = run_loadtest(args.settings, options, progress=bars, cancel=cancel)
    finally:
        bars.close()
    path = save_results(data, args.settings.library_dir, out=args.out)
    if args.json:
        print(json.dumps(data, indent=2, allow_nan=False))
    else:
        _print_tables(data, path if args.out is None else args.out, time.monotonic() - started)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "loadtest",
        help="searches under concurrent load per encoder: queries/s, p50/p95/p99 latency, errors, memory, CPU",
    )
    p.add_argument("--encoders", type=cli_args.name_list("encoder"), metavar="A,B",
                   help="encoders to test (default: every indexed encoder that answers some saved query)")
    p.add_argument("--concurrency", type=cli_args.int_list(1, 256), default=(1, 2, 4, 8), metavar="N,N",
                   help="concurrent clients, one level each (default 1,2,4,8; 1 to 256)")
    p.add_argument("--duration", type=cli_args.float_range(0.0, 3600.0, low_open=True), default=10.0, metavar="S",
                   help="seconds per level (default 10; at most 3600)")
    p.add_argument("--max-queries", type=cli_args.int_range(1, 10_000_000), default=100_000, metavar="N",
                   help="at most this many searches per level, over all clients (default 100000)")
    p.add_argument("-k", type=cli_args.int_range(*cli_args.LIMITS["k"]), default=20, help="results per search (default 20)")
    p.add_argument("--mode", choices=list(MODE_CHOICES), default="both",
                   help="clients as threads of this process, spawned processes, or both (default both)")
    p.add_argument("--target", choices=list(TARGET_CHOICES), default="both",
                   help="search the library directly, through a running `mediasearch serve`, or both (default both; "
                        "service rows are skipped with a reason when none runs)")
    p.add_argument("--out", type=cli_args.path_arg("result file"), metavar="FILE",
                   help="also write the result JSON here (it always goes to <library>/evaluation/loadtest.json)")
    p.add_argument("--threads", type=cli_args.int_range(*cli_args.LIMITS["threads"]), metavar="N",
                   help="CPU threads for inference per client process, 1 to 512 (default: all cores but one)")
    from mediasearch.cli import add_engine_args

    add_engine_args(p)
    p.add_argument("--json", action="store_true", help="print the result dict as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_loadtest)

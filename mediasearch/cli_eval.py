"""CLI area for ground truth and evaluation: ``query``, ``judge``, ``qrels``, ``pool``, ``eval``.

Thin shells over :mod:`mediasearch.evaluation`; every handler takes ``args`` (with
``args.settings``) and returns an exit code, raising MediaSearchError subclasses for
errors (``mediasearch.cli.main`` prints them as one line).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mediasearch import cli_args
from mediasearch.errors import QueryError

logger = logging.getLogger(__name__)


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, allow_nan=False))


def _ks(value: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(v) for v in value.split(",") if v.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"cut-offs must be integers separated by commas, got {value!r}") from None
    if not ks or ks[0] <= 0:
        raise argparse.ArgumentTypeError("cut-offs must be positive")
    return ks


def _grade(value: str) -> int:
    from mediasearch.evaluation.groundtruth import GRADES

    if value not in {str(g) for g in GRADES}:
        raise argparse.ArgumentTypeError(f"grade must be one of {', '.join(map(str, GRADES))}")
    return int(value)


# -- query ---------------------------------------------------------------------------


def cmd_query_add(args: argparse.Namespace) -> int:
    from mediasearch.evaluation.groundtruth import add_query
    from mediasearch.library import Library

    from mediasearch.cli import query_input

    modality, path, text = query_input(args)
    with Library(args.settings) as library:
        query = add_query(
            library.catalog, args.settings, modality=modality, text=text, path=path, name=args.name,
            start_s=args.start, end_s=args.end,
        )
    if args.json:
        _print_json(query.to_json())
    else:
        print(f"saved query {query.name} ({query.modality.value}: {query.describe()})")
    return 0


def cmd_query_list(args: argparse.Namespace) -> int:
    from mediasearch.cli import _table
    from mediasearch.evaluation.groundtruth import asset_qrels, list_queries
    from mediasearch.library import Library

    with Library(args.settings) as library:
        queries = list_queries(library.catalog, args.settings)
        counts = {q.id: asset_qrels(library.catalog, q.id) for q in queries}
    if args.json:
        _print_json(
            [
                {**q.to_json(), "judged": len(counts[q.id]), "relevant": sum(1 for g in counts[q.id].values() if g >= 1)}
                for q in queries
            ]
        )
        return 0
    if not queries:
        print("no saved queries; add one with `mediasearch query add --image FILE | --audio FILE | --text TEXT`")
        return 0
    rows = [
        [str(q.id), q.name, q.modality.value, q.describe(), str(len(counts[q.id])), str(sum(1 for g in counts[q.id].values() if g >= 1))]
        for q in queries
    ]
    print(_table(rows, ["id", "name", "modality", "input", "judged", "relevant"]))
    return 0


def cmd_query_remove(args: argparse.Namespace) -> int:
    from mediasearch.evaluation.groundtruth import remove_query
    from mediasearch.library import Library

    with Library(args.settings) as library:
        for key in args.queries:
            query = remove_query(library.catalog, args.settings, key)
            print(f"removed query {query.name} and its judgements")
    return 0


# -- judge and qrels -----------------------------------------------------------------


def cmd_judge(args: argparse.Namespace) -> int:
    from mediasearch.evaluation.groundtruth import get_query, judge_path, remove_judgement, resolve_asset
    from mediasearch.library import Library

    if args.clear == (args.grade is not None):
        raise QueryError("give either --grade G or --clear")
    at_s = -1.0 if args.at is None else args.at
    out = []
    with Library(args.settings) as library:
        query = get_query(library.catalog, args.settings, args.query)
        for path in args.paths:
            if args.clear:
                content_hash, stored = resolve_asset(library.catalog, path)
                removed = remove_judgement(library.catalog, query, content_hash, at_s=at_s, rater=args.rater)
                out.append({"path": stored, "content_hash": content_hash, "removed": removed})
                if not args.json:
                    print(f"{query.name}: {stored}: " + ("judgement removed" if removed else "was not judged"))
            else:
                judgement = judge_path(library.catalog, query, path, args.grade, at_s=at_s, rater=args.rater)
                out.append(judgement.to_json())
                if not args.json:
                    when = "" if judgement.at_s < 0 else f" at {judgement.at_s:g} s"
                    by = f" (rater {judgement.rater})" if judgement.rater else ""
                    print(f"{query.name}: {judgement.path}{when} = {judgement.grade}{by}")
    if args.json:
        _print_json(out)
    return 0


def _qrels_format(args: argparse.Namespace, path: str | None) -> str:
    if args.format:
        return args.format
    return "csv" if path and path.lower().endswith(".csv") else "trec"


def cmd_qrels_export(args: argparse.Namespace) -> int:
    from mediasearch.evaluation.formats import write_judgements_csv, write_qrels
    from mediasearch.evaluation.groundtruth import export_judgements, get_query
    from mediasearch.library import Library

    with Library(args.settings) as library:
        query_id = get_query(library.catalog, args.settings, args.query).id if args.query else None
        csv_out = _qrels_format(args, args.file) == "csv"
        # CSV keeps every rater's row; TREC qrels hold one grade per document: the raters' consensus
        rows = export_judgements(library.catalog, query_id=query_id, per_rater=csv_out, rater=args.rater)
    writer = write_judgements_csv if csv_out else write_qrels
    if args.file in (None, "-"):
        writer(rows, sys.stdout)
    else:
        with open(args.file, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:  # file names as their bytes
            n = writer(rows, fh)
        print(f"wrote {n} judgements to {args.file}", file=sys.stderr)
    return 0


def cmd_qrels_import(args: argparse.Namespace) -> int:
    from mediasearch.evaluation.formats import read_judgements_csv, read_qrels
    from mediasearch.evaluation.groundtruth import import_judgements
    from mediasearch.library import Library

    reader = read_judgements_csv if _qrels_format(args, args.file) == "csv" else read_qrels
    try:
        with open(args.file, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            rows = reader(fh, source=args.file)
    except OSError as exc:
        raise QueryError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    with Library(args.settings) as library:
        report = import_judgements(library.catalog, args.settings, rows, rater=args.rater)
    if args.json:
        _print_json(report.to_json())
        return 0
    print(f"imported {report.imported} judgements")
    if report.unknown_queries:
        print(f"skipped rows of unknown queries (add them first): {', '.join(report.unknown_queries)}")
    if report.unresolved:
        print(f"skipped {len(report.unresolved)} paths the library does not know, e.g. {report.unresolved[0]}")
    return 0


# -- pool ----------------------------------------------------------------------------


def cmd_pool(args: argparse.Namespace) -> int:
    from mediasearch.cli import _encoder_list, _table
    from mediasearch.evaluation.groundtruth import get_query
    from mediasearch.evaluation.runner import pool_for_query
    from mediasearch.library import Library

    with Library(args.settings) as library:
        query = get_query(library.catalog, args.settings, args.query)
        items, encoders = pool_for_query(
            library, query, depth=args.depth, encoders=_encoder_list(args.encoders), order=args.order
        )
    if args.unjudged:
        items = [it for it in items if not it.judged]
    if args.json:
        _print_json({"query": query.name, "depth": args.depth, "encoders": encoders, "items": [it.to_json() for it in items]})
        return 0
    unjudged = sum(1 for it in items if not it.judged)
    print(f"pool of {query.name} (top {args.depth} of {', '.join(encoders)}): {len(items)} files, {unjudged} unjudged")
    rows = [
        [
            "-" if it.grade is None else str(it.grade),
            f"{it.disagreement:.2f}",
            str(it.best_rank),
            " ".join(f"{enc}:{rank}" for enc, rank in sorted(it.ranks.items())),
            it.path or it.doc[:16],
        ]
        for it in items
    ]
    if rows:
        print(_table(rows, ["grade", "disagree", "best", "ranks", "path"]))
        print(f"\njudge with: mediasearch judge {query.name} PATH --grade 0|1|2")
    return 0


# -- eval ----------------------------------------------------------------------------


def _num(value: float | None, spec: str = ".3f") -> str:
    """A figure for the terminal; '-' for an undefined one (JSON null)."""
    return "-" if value is None else format(value, spec)


def _print_eval_summary(data: dict) -> None:
    from mediasearch.cli import _table
    from mediasearch.evaluation.report import ALPHA

    ks = data["options"]["ks"]
    k_max = max(ks)
    shown = [
        mt
        for mt in ("MAP", "MRR", f"P@{k_max}", f"R@{k_max}", f"F1@{k_max}", f"success@{k_max}", f"NDCG@{k_max}", "R-prec", f"judged@{k_max}")
        if mt in data["metrics"]
    ]
    for group, g in data["groups"].items():
        print(f"{group} ({len(g['queries'])} queries)")
        rows = []
        for encoder, means in g["table"].items():
            cells = []
            for mt in shown:
                cells.append(_num(means.get(mt)) + ("*" if encoder in g["best"].get(mt, []) else ""))
            ci = (g.get("intervals") or {}).get(encoder, {}).get("MAP")
            rows.append([encoder, *cells, "-" if not ci else f"{_num(ci[0])}-{_num(ci[1])}"])
        print(_table(rows, ["encoder", *shown, "MAP interval"]))
        for pair in g["comparisons"].get("MAP", []):
            p = pair["p_holm"]
            verdict = "significant" if p is not None and p < ALPHA else "not significant"
            print(f"  MAP {pair['a']} - {pair['b']} = {_num(pair['diff'], '+.3f')} over {pair['n']} queries (p = {_num(p, '.4f')}, {verdict})")
        if g.get("unshared_queries"):
            print(f"  left out (not answered by every encoder here): {', '.join(g['unshared_queries'])}")
        print()
    rows = [
        [enc, f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", f"{s['p99_ms']:.1f}", f"{s['qps']:.1f}", str(s["samples"])]
        for enc, s in data["latency"].items()
        if s
    ]
    if rows:
        print(_table(rows, ["encoder", "p50 ms", "p95 ms", "p99 ms", "queries/s", "timed"]))
    skipped = [q["name"] for q in data["queries"] if not q["evaluable"]]
    if skipped:
        print(f"not scored (no judgement, or none relevant and those excluded): {', '.join(skipped)}")
    for name, reason in data["failures"].items():
        print(f"left out {name}: {reason}")
    for warning in data["warnings"]:
        print(f"warning: {warning}")
    options = data["options"]
    ag = data.get("agreement") or {}
    if ag.get("multiply_judged"):
        alpha = ag.get("alpha_relevance")
        kappas = ", ".join(
            f"{p['raters'][0] or '(unnamed)'}/{p['raters'][1] or '(unnamed)'} kappa {_num(p['kappa'], '.2f')} on {p['shared']}"
            for p in ag.get("pairs", [])
        )
        print(f"raters: {len(ag['raters'])}, {ag['multiply_judged']} hits graded by several; "
              f"Krippendorff's alpha {_num(alpha, '.2f')} (relevance); {kappas}")
    print(
        f"* best in column. Relevant = grade >= {options.get('rel_level', 1)}; queries without a relevant file: "
        f"{options.get('no_relevant', 'scored 0')}. Unjudged results count as not relevant; see judged@k. "
        f"Intervals: {options.get('bootstrap', '')}."
    )


def _print_selection_summary(data: dict) -> None:
    """The model-selection report's recommendation per media type (the table is in --json and --report)."""
    from mediasearch.evaluation.selection import published_text, recommendation_text

    sel = data.get("selection")
    if not sel or not sel["groups"]:
        return
    print("\nmodel selection" + ("" if sel["loadtest"]["measured"] else f" (latency under load {sel['loadtest']['note']})"))
    for group, g in sel["groups"].items():
        print(f"{group}: pareto front (MAP vs files/s): {', '.join(g['pareto']) or '-'}")
        for line in recommendation_text(g["recommendation"], g["rows"]) + published_text(g["published"]):
            print(f"  {line}")


def cmd_eval_files(args: argparse.Namespace) -> int:
    """``eval --qrels FILE --run FILE...``: score run files as trec_eval does, no library."""
    from mediasearch.evaluation import trec

    if not args.run:
        raise QueryError("--qrels needs at least one --run FILE to score")
    try:
        measures = trec.expand_measures(args.measure or trec.DEFAULT_MEASURES)
        results = trec.score_files(
            args.qrels, args.run, measures=measures, rel_level=args.rel_level,
            exclude_no_relevant=args.exclude_no_relevant, complete=args.complete,
        )
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    except OSError as exc:
        raise QueryError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    if args.json:
        _print_json(
            {
                "rel_level": args.rel_level,
                "no_relevant": "excluded from the means" if args.exclude_no_relevant else "scored 0",
                "complete": args.complete,
                "runs": [r.to_json() for r in results],
            }
        )
    else:
        sys.stdout.write(trec.format_trec_eval(results, per_query=args.per_query))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from mediasearch.cli import _Bars, _cancel_on_sigint, _encoder_list

    if args.qrels:
        return cmd_eval_files(args)
    if args.run and len(args.run) > 1:
        raise QueryError("without --qrels, --run names one file to write the rankings to (use --write-run)")
    write_run_to = args.write_run or (args.run[0] if args.run else None)
    from mediasearch.evaluation.formats import write_run
    from mediasearch.evaluation.report import write_csv, write_html, write_json, result_to_json
    from mediasearch.evaluation.runner import EvalOptions, evaluate
    from mediasearch.library import Library

    encoders = _encoder_list(args.encoders)
    options = EvalOptions(
        encoders=tuple(encoders) if encoders else None,
        ks=args.k,
        depth=max(args.depth, max(args.k)),
        latency_min_s=args.latency_seconds,
        latency_min_repeats=args.repeats,
        latency_max_repeats=max(args.repeats, 20),
        rel_level=args.rel_level,
        exclude_no_relevant=args.exclude_no_relevant,
        rater=args.rater,
    )
    bars = _Bars(enabled=not args.quiet)
    with Library(args.settings) as library, _cancel_on_sigint() as cancel:
        try:
            result = evaluate(library, options, progress=bars, cancel=cancel)
        finally:
            bars.close()
        data = result_to_json(result)
        from mediasearch.evaluation.selection import Constraints, build_selection

        data["selection"] = build_selection(library, data, Constraints(
            max_index_hours=args.max_index_hours, max_latency_ms=args.max_latency_ms,
            max_memory_gb=args.max_memory_gb, concurrency=args.concurrency,
        ))
        if args.report:
            html_path = Path(args.report)
            write_html(data, html_path)
            write_json(data, html_path.with_suffix(".json"))
            write_csv(data, html_path.with_suffix(".csv"))
            print(f"wrote {html_path}, {html_path.with_suffix('.json')}, {html_path.with_suffix('.csv')}", file=sys.stderr)
    if args.csv:
        write_csv(data, Path(args.csv))
    if write_run_to:
        with open(write_run_to, "w", encoding="utf-8") as fh:
            write_run(result.run_rows(), fh)
    if args.json:
        _print_json(data)
    else:
        _print_eval_summary(data)
        _print_selection_summary(data)
    return 0


# -- synth ---------------------------------------------------------------------------


def cmd_synth(args: argparse.Namespace) -> int:
    from mediasearch.evaluation.synth import synthesize
    from mediasearch.library import Library

    with Library(args.settings) as library:
        report = synthesize(library, n=args.n, seed=args.seed)
    if args.json:
        _print_json(report.to_json())
        return 0
    replaced = f" (replaced {report.replaced} of an earlier run with this seed)" if report.replaced else ""
    print(f"made {len(report.queries)} synthetic queries, seed {report.seed}{replaced}")
    for q in report.queries[:10]:
        print(f"  {q['name']}: an edited copy of {q['source']}")
    print("`mediasearch eval` reports them in their own groups, marked (synthetic)")
    return 0


# -- registration ----------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``query``, ``judge``, ``qrels``, ``pool``, ``synth`` and ``eval`` to the main parser."""
    p = subparsers.add_parser("query", help="saved queries for evaluation (add, list, remove)")
    qsub = p.add_subparsers(dest="query_command", metavar="ACTION")
    qsub.required = True
    a = qsub.add_parser("add", help="save a query: an example image or audio clip (copied into the library), or text")
    from mediasearch.cli import add_query_input_args

    add_query_input_args(a)
    a.add_argument("--name", metavar="NAME", help="a unique name without spaces (default: from the file name or text)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_query_add)
    a = qsub.add_parser("list", help="list saved queries with their judgement counts")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_query_list)
    a = qsub.add_parser("remove", help="delete saved queries and their judgements")
    a.add_argument("queries", nargs="+", metavar="QUERY", help="name or id")
    a.set_defaults(func=cmd_query_remove)

    p = subparsers.add_parser("judge", help="grade indexed files for a saved query (0 not, 1 relevant, 2 highly relevant)")
    p.add_argument("query", metavar="QUERY", help="saved query name or id")
    p.add_argument("paths", nargs="+", metavar="PATH", help="indexed files")
    p.add_argument("--grade", type=_grade, metavar="G", help="0, 1 or 2")
    p.add_argument("--at", type=cli_args.float_range(*cli_args.LIMITS["seconds"]), metavar="S", help="judge the moment at S seconds of a video or audio file")
    p.add_argument("--clear", action="store_true", help="remove the judgement instead")
    p.add_argument("--rater", metavar="NAME", help="who is judging (default: MEDIASEARCH_RATER, else your user name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judge)

    p = subparsers.add_parser("qrels", help="import or export judgements (TREC qrels or CSV)")
    qsub = p.add_subparsers(dest="qrels_command", metavar="ACTION")
    qsub.required = True
    a = qsub.add_parser("export", help="write judgements (docno = content hash, so they survive moves)")
    a.add_argument("file", nargs="?", metavar="FILE", help="output file (default: standard output)")
    a.add_argument("--format", choices=["trec", "csv"], help="default: csv for *.csv, else trec")
    a.add_argument("--query", metavar="QUERY", help="only this query")
    a.add_argument("--rater", metavar="NAME", help="only this rater's judgements (default: every rater's rows in CSV; their consensus grade in TREC qrels)")
    a.set_defaults(func=cmd_qrels_export)
    a = qsub.add_parser("import", help="read judgements; docno/content_hash may be a content hash or an indexed path")
    a.add_argument("file", metavar="FILE")
    a.add_argument("--format", choices=["trec", "csv"], help="default: csv for *.csv, else trec")
    a.add_argument("--rater", metavar="NAME", help="whose judgements these are, for rows without a rater column (default: MEDIASEARCH_RATER, else your user name)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_qrels_import)

    p = subparsers.add_parser("pool", help="what to judge next: the union of every encoder's top results, unjudged first")
    p.add_argument("query", metavar="QUERY", help="saved query name or id")
    p.add_argument("--depth", type=cli_args.int_range(*cli_args.LIMITS["depth"]), default=10, metavar="N", help="top N of each encoder, 1 to 100000 (default 10)")
    p.add_argument("--encoders", type=cli_args.name_list("encoder"), metavar="A,B", help="only these encoders (default: every indexed one that can answer)")
    p.add_argument("--unjudged", action="store_true", help="list only unjudged files")
    p.add_argument("--order", choices=["label-next", "depth"], default="label-next", help="label-next (default): unjudged files whose grade could change the comparison most first; depth: by best rank")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pool)

    p = subparsers.add_parser("synth", help="synthetic ground truth: edited copies of sampled library images, video frames and sounds, each relevant to its source")
    p.add_argument("--n", type=cli_args.int_range(1, 100_000), default=50, metavar="N", help="how many queries (default 50)")
    p.add_argument("--seed", type=cli_args.int_range(0, 2**31 - 1), default=0, metavar="S", help="random seed; the same seed gives the same queries (default 0)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_synth)

    p = subparsers.add_parser("eval", help="score every encoder on the saved queries and judgements; compare them")
    p.add_argument("--encoders", type=cli_args.name_list("encoder"), metavar="A,B", help="only these encoders (default: every indexed one)")
    p.add_argument("--k", type=cli_args.int_list(*cli_args.LIMITS["k"]), default=(1, 5, 10), metavar="K,K", help="cut-offs, each 1 to 100000 (default 1,5,10)")
    p.add_argument("--depth", type=cli_args.int_range(*cli_args.LIMITS["depth"]), default=100, metavar="N", help="results per search for MAP and recall, 1 to 100000 (default 100)")
    p.add_argument("--repeats", type=cli_args.int_range(*cli_args.LIMITS["repeats"]), default=3, metavar="N", help="timed passes over the queries, at least (default 3)")
    p.add_argument("--latency-seconds", type=cli_args.float_range(*cli_args.LIMITS["latency"]), default=2.0, metavar="S", help="keep repeating until each encoder's searches took S seconds (default 2)")
    p.add_argument("--report", metavar="FILE.html", help="write the HTML report, and FILE.json and FILE.csv beside it")
    p.add_argument("--csv", metavar="FILE", help="write the metric table as CSV")
    p.add_argument("--write-run", metavar="FILE", help="write every encoder's rankings as a TREC run file")
    p.add_argument("--run", action="append", metavar="FILE", help="with --qrels: a TREC run file to score (repeat for several); without: same as --write-run")
    p.add_argument("--qrels", metavar="FILE", help="score --run files against these TREC qrels, as trec_eval does (no library needed)")
    p.add_argument("--rel-level", type=cli_args.int_range(1, 1_000_000), default=1, metavar="L", help="with --qrels: relevant means grade >= L (trec_eval -l; default 1)")
    p.add_argument("-m", "--measure", action="append", metavar="NAME", help="with --qrels: trec_eval measure names (map, P_5, P.5,10, recall_10, recip_rank, ndcg, ndcg_cut_10, Rprec, success_1, num_rel_ret, F1_10, judged_10); repeatable")
    p.add_argument("--exclude-no-relevant", action="store_true", help="leave queries without a relevant document out of the means (default: they score 0, as in trec_eval); said in the output")
    p.add_argument("--complete", action="store_true", help="with --qrels: score qrels queries missing from a run as 0 (trec_eval -c)")
    p.add_argument("--rater", metavar="NAME", help="score only this rater's judgements (default: the raters' consensus, the lower median grade)")
    p.add_argument("--per-query", action="store_true", help="with --qrels: print every query's figures too (trec_eval -q)")
    p.add_argument("--max-index-hours", type=cli_args.float_range(0, 1e6, low_open=True), metavar="H", help="model selection: rule out encoders that would take more than H hours to index this library's files")
    p.add_argument("--max-latency-ms", type=cli_args.float_range(0, 1e7, low_open=True), metavar="MS", help="model selection: rule out encoders whose p95 search latency under load (mediasearch loadtest) exceeds MS")
    p.add_argument("--max-memory-gb", type=cli_args.float_range(0, 1e5, low_open=True), metavar="GB", help="model selection: rule out encoders whose peak memory (indexing or load) exceeds GB")
    p.add_argument("--concurrency", type=cli_args.int_range(1, 4096), default=4, metavar="N", help="model selection: judge latency at the highest measured concurrency up to N (default 4)")
    p.add_argument("--json", action="store_true", help="print every figure as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)

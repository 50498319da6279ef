"""``mediasearch repair``, ``mediasearch roots`` and ``mediasearch store``: the library's
store and folders."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_repair(args: argparse.Namespace) -> int:
    """Check and fix the store: a damaged catalog is salvaged into a fresh one (the
    damaged file is kept), logs and catalog are reconciled, index files rebuilt from the
    stored vectors. Nothing is re-embedded here; the next `index` redoes what was lost."""
    from mediasearch.catalog import salvage
    from mediasearch.library import Library
    from mediasearch.store.lock import write_session

    settings = args.settings
    out: dict = {"catalog": "ok"}
    catalog = settings.catalog_path
    if catalog.exists():
        problem = salvage.check(catalog)
        if problem:
            with write_session(settings.library_dir, "mediasearch repair", wait=args.wait):
                rep = salvage.salvage(catalog)
            out["catalog"] = {
                "problem": problem,
                "damaged_copy": str(rep.damaged_copy),
                "rows_kept": rep.rows,
                "tables_cut_short": rep.incomplete,
            }
    with Library(settings, command="mediasearch repair", wait=args.wait) as library:
        with library.writing():
            report = library.repair(full=True)
            library.refresh_indexes()  # damaged index files are rebuilt from the stored vectors
        out["store"] = {k: v for k, v in vars(report).items() if v}
        out["events"] = library.catalog.store_events(10)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if out["catalog"] != "ok":
        c = out["catalog"]
        print(f"catalog was damaged ({c['problem']}); a copy is kept at {c['damaged_copy']}")
        print("  rows kept: " + ", ".join(f"{t} {n}" for t, n in c["rows_kept"].items()))
        for table, why in c["tables_cut_short"].items():
            print(f"  {table}: cut short ({why})")
    if not out["store"]:
        print("vector store: consistent with the catalog")
    for what, per_encoder in out["store"].items():
        for name, n in per_encoder.items():
            print(f"vector store: {name}: {what} {n}")
    print("run `mediasearch index` on your folders to re-embed anything that was lost")
    return 0


def cmd_roots(args: argparse.Namespace) -> int:
    from mediasearch.library import Library
    from mediasearch.scan import normalise_root

    with Library(args.settings, command=f"mediasearch roots {args.action}") as library:
        if args.action == "add":
            with library.catalog.transaction():
                for p in args.paths:
                    library.catalog.add_root(normalise_root(Path(p)))
        elif args.action == "remove":
            removed = library.remove_roots([Path(p) for p in args.paths])
            if not args.json:
                print(f"forgot {removed} files under {', '.join(args.paths)}")
        roots = library.catalog.roots()
    if args.json:
        print(json.dumps([str(r) for r in roots], indent=2))
    else:
        for root in roots:
            print(root)
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    """``store`` shows where the vectors live; ``store migrate --to URI`` moves them there
    (verified before the library switches; resumable after a kill or Ctrl-C)."""
    from mediasearch.library import Library

    if args.action == "show":
        with Library(args.settings) as library:
            data = {"store": library.store_uri.text, "encoders": library.store_status()}
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            print(f"vector store: {data['store']}")
            for name, entry in sorted(data["encoders"].items()):
                print(f"  {name}: {entry['vectors']} vectors ({entry['index_type']})")
        return 0
    if not args.to:
        print("mediasearch: error: store migrate needs --to URI", file=sys.stderr)
        return 2
    from mediasearch.cli import _Bars, _cancel_on_sigint
    from mediasearch.store.migrate import migrate

    bars = _Bars(enabled=not args.quiet)
    with Library(args.settings, command=f"mediasearch store migrate --to {args.to}", wait=args.wait) as library, \
            _cancel_on_sigint() as cancel:
        try:
            with library.writing():
                report = migrate(library, args.to, progress=bars, cancel=cancel)
        finally:
            bars.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    if report.note:
        print(report.note)
        return 0
    for name, entry in sorted(report.encoders.items()):
        check = entry["verified"]
        how = "identical top-k" if check.get("identical_top_k") else f"recall@10 {check.get('recall_at_k')}"
        print(f"{name}: {entry['vectors']} vectors ({entry['copied']} copied, {entry['already_there']} already there); "
              f"verified: counts, {check['sample']} sampled vectors, {how}")
    print(f"the library now keeps its vectors in {report.target} ({report.wall_s:.1f} s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("repair", help="check the catalog and vector store, and fix what can be fixed without re-embedding")
    p.add_argument("--wait", action="store_true", help="wait for another writer to finish first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("roots", help="the folders this library indexes (shared by the CLI and the GUI)")
    p.add_argument("action", choices=["list", "add", "remove"], nargs="?", default="list")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_roots)

    p = sub.add_parser("store", help="where the library keeps its vectors; `store migrate --to URI` moves them (local, Milvus Lite, Milvus)")
    p.add_argument("action", choices=["show", "migrate"], nargs="?", default="show")
    p.add_argument("--to", metavar="URI", help="migrate's target: local, milvus-lite:///path/file.db or milvus://host:19530")
    p.add_argument("--wait", action="store_true", help="wait for another writer to finish first")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_store)

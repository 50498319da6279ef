"""The ``mediasearch`` command line: one function per subcommand over the library API.

This is the only place (with the GUI) that prints, draws progress bars, and turns
MediaSearchError into a one-line message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from mediasearch import cli_args, cli_errors
from mediasearch.config import Settings, default_library_dir, default_model_dir
from mediasearch.errors import MediaSearchError
from mediasearch.media import Hit, MediaKind, Modality
from mediasearch.progress import CancelToken, Progress

log = logging.getLogger("mediasearch")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


# -- helpers -------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    changes: dict = {}
    if getattr(args, "library", None):
        changes["library_dir"] = Path(args.library).expanduser()
    if getattr(args, "model_dir", None):
        changes["model_dir"] = Path(args.model_dir).expanduser()
    if getattr(args, "frame_interval", None):
        changes["frame_interval_s"] = float(args.frame_interval)
    if getattr(args, "download", False):
        changes["allow_download"] = True
    if getattr(args, "hidden", False):
        changes["include_hidden"] = True
    if getattr(args, "batch_size", None):
        changes["batch_size"] = int(args.batch_size)
    if getattr(args, "threads", None):
        changes["threads"] = int(args.threads)
    if getattr(args, "precision", None):
        changes["precision"] = args.precision
    if getattr(args, "device", None):
        changes["device"] = args.device
    return Settings().with_(**changes)


class _Bars:
    """One tqdm bar per stage of a long job, on stderr (quiet when stderr is not a terminal and --quiet)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar = None
        self.stage: str | None = None

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if p.stage != self.stage:
            self.close()
            self.stage = p.stage
            self.bar = tqdm(total=p.total, desc=p.stage, unit=p.unit, file=sys.stderr, dynamic_ncols=True, leave=True)
        bar = self.bar
        assert bar is not None
        if p.total is not None and bar.total != p.total:
            bar.total = p.total
        bar.n = p.done
        if p.current:
            bar.set_postfix_str(_short(p.current), refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _short(path: str, width: int = 40) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


@contextmanager
def _cancel_on_sigint() -> Iterator[CancelToken]:
    """First Ctrl-C asks the job to stop cleanly; a second one interrupts at once."""
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):  # noqa: ANN001
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\nstopping after the current item (Ctrl-C again to abort)…", file=sys.stderr)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield token
    finally:
        try:
            signal.signal(signal.SIGINT, previous)
        except ValueError:
            pass


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, sec = divmod(float(seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}" if hours else f"{minutes}:{sec:04.1f}"


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(line.rstrip() for line in out)


def _encoder_list(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def available_encoders(settings: Settings) -> list[str]:
    """Encoders whose weights are installed (weight-free ones always), visual and audio, no Whisper sizes twice."""
    from mediasearch.encoders.registry import REGISTRY, weights_present

    return [name for name, spec in REGISTRY.items() if weights_present(spec, settings)]


# -- index ---------------------------------------------------------------------------


def _ray_address(text: str) -> str:
    """--ray's ADDRESS: "local" (start one), "auto", HOST:PORT or ray://HOST:PORT."""
    from mediasearch.distributed import parse_address

    try:
        return parse_address(text) or "local"
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; put --ray after the folders, or write --ray=ADDRESS") from None


@contextmanager
def _index_executor(args: argparse.Namespace) -> Iterator[object]:
    """The Ray executor ``index --ray`` asks for (None without --ray)."""
    if getattr(args, "ray", None) is None:
        yield None
        return
    from mediasearch.distributed import RayExecutor, RayOptions

    options = RayOptions(
        address=None if args.ray == "local" else args.ray,
        workers=args.ray_workers,
        gpus=float(args.ray_gpus or 0.0),
        ship_files=bool(args.ray_ship_files),
    )
    with RayExecutor(options) as executor:
        yield executor


def cmd_index(args: argparse.Namespace) -> int:
    from mediasearch.indexing import index_paths
    from mediasearch.library import Library

    settings = args.settings
    missing = cli_args.missing_paths(args.paths)
    if missing:  # before the library is opened: a typo must not look like an empty folder
        from mediasearch.errors import InputPathError

        raise InputPathError(missing)
    if args.ray is None and (args.ray_workers or args.ray_gpus or args.ray_ship_files):
        print("mediasearch: error: --ray-workers, --ray-gpus and --ray-ship-files need --ray", file=sys.stderr)
        return EXIT_USAGE
    bars = _Bars(enabled=not args.quiet)
    if getattr(args, "index_type", None):
        settings = settings.with_(index_type=args.index_type)
    command = "mediasearch index " + " ".join(args.paths)
    with _index_executor(args) as executor, Library(settings, command=command, wait=args.wait, store=getattr(args, "store", None)) as library, _cancel_on_sigint() as cancel:
        # without --encoders: every encoder the library already uses stays up to date
        encoders = _encoder_list(args.encoders) or library.indexed_encoders() or ["baseline-image", "baseline-audio"]
        text_model = getattr(args, "text_model", None)
        allow_api = bool(getattr(args, "allow_api", False))
        _print_api_cost(library, encoders, text_model, allow_api)
        try:
            with library.writing(command):  # one writer: refused (or queued with --wait) while another runs
                report = index_paths(
                    library, [Path(p) for p in args.paths], encoders=encoders, progress=bars, cancel=cancel,
                    retry_failed=args.retry_failed, executor=executor,  # type: ignore[arg-type]
                    text_model=text_model, allow_api=allow_api,
                )
        finally:
            bars.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(
            f"scanned {report.scanned} files: {report.new} new, {report.changed} changed, {report.moved} moved, "
            f"{report.removed} removed, {report.unchanged} unchanged, {report.skipped} skipped ({report.wall_s:.1f} s)"
        )
        for name, stats in report.encoders.items():
            rate = f", {stats.items / stats.wall_s:.1f} files/s" if stats.wall_s > 0 and stats.items else ""
            print(f"  {name}: {stats.items} files, {stats.segments} segments embedded{rate}")
        if report.failures:
            print(f"{len(report.failures)} files skipped or failed (see `mediasearch status`):")
            for path, enc, reason in report.failures[:20]:
                print(f"  {path}: {reason}" + (f" [{enc}]" if enc else ""))
            if len(report.failures) > 20:
                print(f"  … and {len(report.failures) - 20} more")
        for name, fixed in report.repaired.items():
            print(f"repaired before indexing ({name}): " + ", ".join(f"{enc} {n}" for enc, n in fixed.items()))
    if report.missing and not report.cancelled:
        for name, n in report.missing.items():
            print(f"incomplete: {name} still has no vectors for {n} files; run the same command again", file=sys.stderr)
        return EXIT_ERROR
    if report.cancelled:
        print("cancelled: what was indexed is kept; run the same command again to resume", file=sys.stderr)
        return EXIT_CANCELLED
    return 0


def _print_api_cost(library, encoders: Sequence[str], text_model: str | None, allow_api: bool) -> None:  # noqa: ANN001
    """Before indexing with an API text model: refuse without the opt-in, else say on stderr
    where transcripts go and what embedding them is estimated to cost."""
    from mediasearch import transcript_space
    from mediasearch.encoders import text_models
    from mediasearch.encoders.openai_embeddings import TOKENS_PER_SPEECH_MINUTE, endpoint_url
    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.media import Stream

    name = text_models.normalise_name(text_model) if text_model else transcript_space.library_text_model(library)
    if not name or not text_models.is_api_model(name):
        return
    if not text_model and not any(e in REGISTRY and Stream.SPEECH in REGISTRY[e].streams for e in encoders):
        return
    transcript_space.check_api_consent(library, name, allow_api=allow_api)
    estimate = transcript_space.cost_estimate(library, encoders, name)
    assert estimate is not None
    print(f"text model {name}: transcripts are sent to {endpoint_url()}", file=sys.stderr)
    print(f"cost estimate, transcripts to re-embed and catalogued speech: {estimate.text()}", file=sys.stderr)
    rate = estimate.price_per_mtok
    per_hour = f" (≈ ${60 * TOKENS_PER_SPEECH_MINUTE * rate / 1e6:.4f} per hour of speech)" if rate is not None else ""
    print(f"cost estimate, files not scanned yet: about {TOKENS_PER_SPEECH_MINUTE} tokens per minute of speech{per_hour}", file=sys.stderr)


# -- search --------------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    from mediasearch.library import Library
    from mediasearch.search import Query, search

    modality, path, text = query_input(args)
    query = Query(modality, text=text, path=path, start_s=args.start, end_s=args.end)
    kind = MediaKind(args.kind) if args.kind else None
    group = not (args.frames or args.segments)
    with Library(args.settings) as library:
        from mediasearch.serve import search_via_service

        # a running `mediasearch serve` answers with warm models, else (None) we search here; a spoken
        # query to a named encoder stays here, where `heard:` reads what that encoder understood
        hits = None if args.no_server or (args.audio and args.encoder) else search_via_service(
            args.settings, query, encoder=args.encoder, k=args.k, kind=kind, group=group
        )
        if hits is None:
            hits = search(library, query, encoder=args.encoder, k=args.k, kind=kind, group=group)
        from mediasearch.search import default_encoders

        used = [args.encoder] if args.encoder else default_encoders(library, modality)
        for warning in coverage_warnings(library, used):
            print(f"warning: {warning}", file=sys.stderr)
        from mediasearch.reach import explain_reach

        for note in explain_reach(library, modality, used):
            print(f"note: {note.text()}", file=sys.stderr)
    heard = _heard(args)
    if heard is not None and not args.json:
        print(f'heard: "{heard}"', file=sys.stderr)
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=2))
        return 0
    if not hits:
        print("no results")
        return 0
    print(_hits_table(hits))
    return 0


def coverage_warnings(library, encoders: Sequence[str]) -> list[str]:  # noqa: ANN001
    """One line per encoder that has not embedded every file it covers, with the fix."""
    out = []
    roots = " ".join(str(r) for r in library.catalog.roots()) or "FOLDER"
    for name in encoders:
        cov = library.coverage(name)
        if cov["missing"] > 0:
            out.append(
                f"{name} has not embedded {cov['missing']} of {cov['eligible']} files, so they cannot be found; "
                f"run `mediasearch index {roots} --encoders {name}`"
            )
    return out


def _heard(args: argparse.Namespace) -> str | None:
    """What a speech encoder understood of a spoken query, if one was used."""
    if not (args.audio and args.encoder):
        return None
    from mediasearch.encoders.registry import load_encoder

    return getattr(load_encoder(args.encoder, args.settings), "last_query_text", None)  # cached: no reload


def _hits_table(hits: Sequence[Hit]) -> str:
    rows = []
    for h in hits:
        when = ""
        if h.start_s is not None:
            when = _fmt_time(h.start_s)
            if h.end_s is not None and h.end_s != h.start_s:
                when += f"–{_fmt_time(h.end_s)}"
        extra = ""
        if h.text:
            extra = f'"{_short(h.text.strip(), 60)}"'
        elif h.labels:
            extra = ", ".join(f"{name} {score:.2f}" for name, score in h.labels[:3])
        rows.append([str(h.rank), f"{h.score:.4f}", h.kind.value, when, h.encoder, str(h.path), extra])
    from mediasearch.reach import score_legend

    table = _table(rows, ["#", "score", "kind", "time", "encoder", "path", ""])
    return table + "\n" + score_legend([h.encoder for h in hits])


# -- status and encoders --------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from mediasearch.library import Library

    settings = args.settings
    with Library(settings) as library:
        counts = library.catalog.counts()
        skipped = library.catalog.skipped()
        failures = library.catalog.encoder_failures()
        store = library.store_status()
        events = library.catalog.store_events(10)
        problems = library.catalog.scan_problems()
        not_media = library.catalog.not_media()
        partial = library.catalog.partial_assets()
        damaged = library.catalog.integrity_problem()
        writer = _writer_info(settings)
        coverage = coverage_warnings(library, library.indexed_encoders())
        per_encoder = {name: library.coverage(name) for name in library.indexed_encoders()}
        from mediasearch import transcript_space

        text_model = transcript_space.library_text_model(library)
        spaces = {name: (library.index_config(name) or {}).get("text_model") for name in library.indexed_encoders()}
    data = {
        "library": str(settings.library_dir),
        "model_dir": str(settings.model_dir),
        **counts,
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "scan_problems": [{"path": p, "reason": r} for p, r in problems],
        "not_media": [{"path": p, "reason": r} for p, r in not_media],
        "partial": [{"path": p, "reason": r} for p, r in partial],
        "catalog_problem": damaged,
        "encoder_failures": [{"path": p, "encoder": e, "reason": r} for p, e, r in failures],
        "store": store,
        "coverage": per_encoder,
        "store_events": events,
        "writer": writer,
        "text_model": text_model,
        "transcript_models": {k: v for k, v in spaces.items() if v},
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"library: {settings.library_dir}")
    if data["transcript_models"] or text_model:
        used = ", ".join(f"{k}: {v}" for k, v in data["transcript_models"].items())
        print(f"transcript text model: {text_model or 'default'}" + (f" ({used})" if used else ""))
    rows = [[kind, str(c.get("ok", 0)), str(c.get("skipped", 0))] for kind, c in sorted(counts["assets"].items())]
    print(_table(rows, ["kind", "indexed", "skipped"]) if rows else "no files indexed yet")
    if counts["encoders"]:
        print()
        rows = [
            [name, str(c["assets"]), str(c["segments"])] for name, c in sorted(counts["encoders"].items())
        ]
        print(_table(rows, ["encoder", "files", "segments"]))
    if skipped:
        print(f"\nskipped files ({len(skipped)}):")
        for path, reason in skipped:
            print(f"  {path}: {reason}")
    if failures:
        print(f"\nencoder failures ({len(failures)}):")
        for path, enc, reason in failures:
            print(f"  {path} [{enc}]: {reason}")
    if partial:
        print(f"\npartly indexed (truncated files: what decoded is searchable) ({len(partial)}):")
        for path, reason in partial:
            print(f"  {path}: {reason}")
    if not_media:
        print(f"\n{len(not_media)} files are not media (documents, data) and are left alone")
    if damaged:
        print(f"\ncatalog damaged: {damaged}; run `mediasearch repair`")
    if problems:
        print(f"\nscan problems ({len(problems)}):")
        for path, reason in problems:
            print(f"  {path}: {reason}")
    for warning in coverage:
        print(f"warning: {warning}")
    _print_store(store, events, writer)
    return 1 if damaged or any(e["problem"] for e in store.values()) else 0


def _writer_info(settings: Settings) -> dict | None:
    """Who is writing to the library now (None when nobody)."""
    from mediasearch.store.lock import probe

    return probe(settings.library_dir)


def _print_store(store: dict, events: list[dict], writer: dict | None) -> None:
    from mediasearch.errors import describe_holder

    if store:
        print()
        rows = []
        for name, e in sorted(store.items()):
            graph = e["graph"]
            how = e["index_type"]
            if graph:
                how += f" (recall@10 {graph['recall_at_10']}, ef_search {graph['ef_search']}; {e['exact_tail']} searched exactly)"
            rows.append([name, how, str(e["live"]), str(e["dead"]), f"{e['log_bytes'] / 1e6:.1f} MB"])
        print(_table(rows, ["encoder", "index", "vectors", "dead", "stored"]))
        for name, e in sorted(store.items()):
            if e["problem"]:
                print(f"  {name}: {e['problem']}")
    if writer is not None:
        print(f"\nbeing written by {describe_holder(writer)}: vectors appear as its checkpoints commit (every few seconds)")
    if events:
        import time as _time

        print("\nrecent store events:")
        for ev in events[:5]:
            when = _time.strftime("%Y-%m-%d %H:%M", _time.localtime(ev["at"]))
            print(f"  {when} {ev['encoder'] or ''} {ev['event']}: {ev['detail']}")


#: how ``mediasearch encoders`` groups what it lists: by the media an encoder indexes
ENCODER_GROUPS = {
    "visual": "images & video frames",
    "audio": "sound",
    "speech": "speech transcripts",
    "text-model": "text models (embed transcripts; chosen per library with index --text-model)",
}


def encoder_items(settings: Settings) -> list[dict]:
    """What ``mediasearch encoders --json`` prints: every registered encoder, then every
    transcript text model, each with ``kind`` ("encoder" / "text-model"), ``group`` (a key
    of :data:`ENCODER_GROUPS`), ``hosting`` ("self-hosted" / "api") and its weights status."""
    from mediasearch.encoders import text_models
    from mediasearch.encoders.precision import report as precision_report
    from mediasearch.encoders.registry import ENTRY_SOURCES, REGISTRY, medium, weights_present
    from mediasearch.modelstore import ModelStore
    from mediasearch.modelstore.resolve import import_command, install_command

    store = ModelStore(settings.model_dir)
    items = []
    for spec in REGISTRY.values():
        data = spec.to_json()
        data["kind"] = "encoder"
        data["group"] = medium(spec.streams)
        data["group_label"] = ENCODER_GROUPS[data["group"]]
        data["defined_in"] = ENTRY_SOURCES.get(spec.name, "built in")
        data["weights_present"] = weights_present(spec, settings)
        data["missing_models"] = [m for m in spec.models if not store.is_present(m)]
        data["install_command"] = install_command(spec.name) if data["missing_models"] else None
        data["import_command"] = import_command(spec.name) if data["missing_models"] else None
        data["numeric_path"] = precision_report(spec, settings)
        items.append(data)
    for name in text_models.known_names():
        tm = text_models.text_model_spec(name)
        models = [tm.store_name] if tm.store_name else []
        missing = [m for m in models if not store.is_present(m)]
        items.append({
            "name": tm.name, "family": "api" if tm.hosting == "api" else tm.architecture, "streams": [], "modalities": ["text"],
            "dimension": tm.dim, "metric": "cosine", "models": models, "licence": tm.licence, "description": tm.description,
            "preprocessing": f"{tm.pooling} pooling, L2-normalised; query prefix {tm.query_prefix!r}, passage prefix {tm.passage_prefix!r}"
            if tm.hosting != "api" else "sent as text to $MEDIASEARCH_OPENAI_BASE_URL/embeddings",
            "preference": 1000, "benchmark": tm.benchmark, "benchmark_metric": tm.benchmark_metric,
            "benchmark_value": tm.benchmark_value, "benchmark_higher_is_better": True, "hosting": tm.hosting,
            "kind": "text-model", "group": "text-model", "group_label": ENCODER_GROUPS["text-model"], "defined_in": "built in",
            "weights_present": not missing, "missing_models": missing,
            "install_command": f"mediasearch models pull {missing[0]}" if missing else None,
            "import_command": f"mediasearch models import {missing[0]} FOLDER" if missing else None,
            "numeric_path": None, "text_model": tm.to_json(),
        })
    return items


def cmd_encoders(args: argparse.Namespace) -> int:
    items = encoder_items(args.settings)
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for group, label in ENCODER_GROUPS.items():
        members = [d for d in items if d["group"] == group]
        if not members:
            continue
        rows = [
            [
                d["name"],
                "API (sends data off this machine)" if d["hosting"] == "api" else "self-hosted",
                ",".join(d["modalities"]),
                str(d["dimension"]),
                "not needed (remote)" if d["hosting"] == "api" else
                "yes" if d["weights_present"] else "missing " + ", ".join(d["missing_models"]) if d["models"] else "none needed",
                d["install_command"] or "",
            ]
            for d in members
        ]
        print(f"{label}:")
        print(_table(rows, ["encoder" if group != "text-model" else "text model", "runs", "queries", "dim", "weights", "install with"]))
        print()
    plugged = sorted({d["defined_in"] for d in items if d["defined_in"] != "built in"})
    if plugged:
        print("entries from " + ", ".join(plugged))
    if any(d["missing_models"] for d in items):
        print(
            "with internet: `mediasearch models pull ENCODER` installs every model it needs; offline: "
            "`mediasearch models import ENCODER PATH` (a file, or a folder laid out like the model store)"
        )
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from ui.app import main as gui_main
    except ImportError as exc:
        raise MediaSearchError(f"the desktop app is not installed ({exc}); install with the [gui] extra") from exc
    argv: list[str] = []
    if args.library:
        argv += ["--library", str(args.library)]
    if args.model_dir:
        argv += ["--model-dir", str(args.model_dir)]
    if args.lang:
        argv += ["--lang", args.lang]
    return gui_main(argv + list(args.gui_args))


# -- parser --------------------------------------------------------------------------


def add_query_input_args(parser: argparse.ArgumentParser) -> None:
    """--image | --audio | --text, with --start/--end: a query's input (search, query add)."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--image", metavar="FILE", help="example image (or a video: the frame at --start)")
    what.add_argument("--audio", metavar="FILE", help="example audio clip (or a video's soundtrack)")
    what.add_argument("--text", metavar="TEXT", help="text describing images, or words spoken")
    parser.add_argument("--start", type=cli_args.float_range(*cli_args.LIMITS["seconds"]), metavar="S", help="start of the part of the example to use (seconds, 0 or more)")
    parser.add_argument("--end", type=cli_args.float_range(*cli_args.LIMITS["seconds"], low_open=True), metavar="S", help="end of the part of the example to use (seconds, after --start)")


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    """--precision and --device for the torch encoders (index, search, encoders, loadtest)."""
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], help="numeric path of the torch encoders (default auto: bf16/fp16 where measured faster and within tolerance of fp32; $MEDIASEARCH_PRECISION); fp32 still lets a model run on ONNX Runtime fp32 where that is measured faster, bf16/fp16 keep it on torch")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="where the torch encoders run (default auto: CUDA, then MPS, then CPU; $MEDIASEARCH_DEVICE)")


def query_input(args: argparse.Namespace) -> tuple[Modality, Path | None, str | None]:
    """(modality, example file, text) from the arguments add_query_input_args added."""
    if args.image:
        return Modality.IMAGE, Path(args.image), None
    if args.audio:
        return Modality.AUDIO, Path(args.audio), None
    return Modality.TEXT, None, args.text


def build_parser() -> argparse.ArgumentParser:
    parser = cli_args.OneLineParser(
        prog="mediasearch", description="Search your own images, videos and audio, and find out which encoder works best on them."
    )
    parser.add_argument("--library", type=cli_args.path_arg("library folder"), metavar="DIR", help=f"library folder (default: $MEDIASEARCH_HOME or {default_library_dir()})")
    parser.add_argument("--model-dir", type=cli_args.path_arg("model folder"), metavar="DIR", help=f"model store (default: $MEDIASEARCH_MODEL_DIR or {default_model_dir()})")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("index", help="index folders (only new and changed files are processed)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--encoders", type=cli_args.name_list("encoder"), metavar="A,B", help="encoders to use (default: every encoder the library already has, or baseline-image,baseline-audio for a new library); see `mediasearch encoders`")
    p.add_argument("--frame-interval", type=cli_args.float_range(*cli_args.LIMITS["frame_interval"]), metavar="S", help="seconds between sampled video frames, 0.01 to 3600 (default 2)")
    p.add_argument("--batch-size", type=cli_args.int_range(*cli_args.LIMITS["batch_size"]), metavar="N", help="inference batch size, 1 to 1024 (default 8)")
    p.add_argument("--threads", type=cli_args.int_range(*cli_args.LIMITS["threads"]), metavar="N", help="CPU threads for inference, 1 to 512 (default: all cores but one, which decodes)")
    p.add_argument("--hidden", action="store_true", help="include hidden files and folders")
    p.add_argument("--download", action="store_true", help="download missing weights (with a progress bar)")
    add_engine_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("--wait", action="store_true", help="if another process is writing to the library, wait for it instead of failing")
    p.add_argument("--index-type", choices=["auto", "flat", "hnsw"], help="vector index: exact (flat), approximate (hnsw), or by size (auto, the default)")
    p.add_argument("--retry-failed", action="store_true", help="try again every file an encoder failed on before")
    p.add_argument("--store", metavar="URI", help="where a new library keeps its vectors: local (default), milvus-lite:///path/file.db or milvus://host:19530 (token from $MEDIASEARCH_MILVUS_TOKEN); remembered by the library, see `mediasearch store migrate`")
    p.add_argument("--text-model", metavar="NAME", help="sentence model for transcript search in this library, remembered (default all-minilm-l6-v2; also multi-qa-minilm-l6-cos-v1, e5-small-v2, bge-small-en-v1.5, multilingual-e5-small, openai:MODEL); a change re-embeds transcripts without transcribing again")
    p.add_argument("--allow-api", action="store_true", help="agree that an openai: text model sends transcripts (and queries) to $MEDIASEARCH_OPENAI_BASE_URL (remembered for the library; or set MEDIASEARCH_ALLOW_API=1)")
    p.add_argument("--ray", nargs="?", const="local", type=_ray_address, metavar="ADDRESS", help="decode and embed on a Ray cluster: none starts a local one, auto or HOST:PORT connects (put it after the folders, or write --ray=ADDRESS); needs mediasearch[scale]")
    p.add_argument("--ray-workers", type=cli_args.int_range(1, 100_000), metavar="N", help="Ray actors, each with its own loaded encoders, 1 to 100000 (default: one per CPU, or per --ray-gpus share)")
    p.add_argument("--ray-gpus", type=cli_args.float_range(0.0, 64.0), metavar="N", help="GPUs per Ray actor, 0 to 64 (fractions share a GPU; default 0)")
    p.add_argument("--ray-ship-files", action="store_true", help="send file bytes to the Ray workers instead of paths (when they cannot see the files)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="search by example image, example audio clip, or text")
    add_query_input_args(p)
    p.add_argument("--encoder", metavar="NAME", help="encoder to search with (default: the best indexed one per media family)")
    p.add_argument("-k", type=cli_args.int_range(*cli_args.LIMITS["k"]), default=20, help="number of results, 1 to 100000 (default 20)")
    p.add_argument("--kind", choices=[k.value for k in MediaKind], help="only this kind of file")
    p.add_argument("--frames", action="store_true", help="list every matching video frame instead of the best per video")
    p.add_argument("--segments", action="store_true", help="list every matching audio window instead of the best per file")
    p.add_argument("--download", action="store_true", help="download missing weights")
    add_engine_args(p)
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--no-server", action="store_true", help="search in this process even if `mediasearch serve` is running")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("status", help="what is indexed, and which files were skipped and why")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("encoders", help="list encoders and whether their weights are installed")
    p.add_argument("--json", action="store_true", help="print JSON; numeric_path says per tower which engine and precision a run with these settings would use, and why")
    add_engine_args(p)  # --json then reports what a run with --precision/--device/--threads would choose
    p.add_argument("--threads", type=cli_args.int_range(*cli_args.LIMITS["threads"]), metavar="N", help="CPU threads of the run to report on, 1 to 512 (default: all cores but one; decisions are measured per thread count)")
    p.set_defaults(func=cmd_encoders)

    p = sub.add_parser("gui", help="open the desktop application")
    p.add_argument("--lang", metavar="LANG", help="interface language: en, zh_CN or system (default: the system locale)")
    p.add_argument("gui_args", nargs="*", metavar="OPTION", help="more options for the app after --, e.g. -- --dark (see mediasearch-gui --help)")
    p.set_defaults(func=cmd_gui)

    for module in ("mediasearch.cli_models", "mediasearch.cli_eval", "mediasearch.cli_store", "mediasearch.cli_serve", "mediasearch.cli_loadtest"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError as exc:  # an area not built into this install
            log.debug("CLI area %s unavailable: %s", module, exc)
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    cli_errors.safe_text_streams()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the command areas are imported
        print("mediasearch: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    cli_args.check_time_span(parser, args)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings: Settings | None = None
    try:
        settings = args.settings = _settings(args)
        problem = cli_args.folder_problem(settings.library_dir, "library") or cli_args.folder_problem(
            settings.model_dir, "model store"
        )
        if problem:
            print(f"mediasearch: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
        from mediasearch.encoders.registry import load_entry_files

        load_entry_files(settings.library_dir)  # encoders.toml entries: new encoders of known families
        return int(args.func(args) or 0)
    except BrokenPipeError:
        cli_errors.silence_broken_pipe()
        return 0
    except (Exception, KeyboardInterrupt) as exc:
        explained = cli_errors.explain(
            exc,
            library_dir=settings.library_dir if settings else None,
            catalog_path=settings.catalog_path if settings else None,
        )
        if args.verbose:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        print(f"mediasearch: {explained.message}", file=sys.stderr)
        return explained.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

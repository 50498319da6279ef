"""`mediasearch models ...`: list, pull, import and verify model weights.

``register(subparsers)`` adds the ``models`` command; each handler takes the parsed
``args`` (with ``args.settings``) and returns an exit code. Errors are raised as
MediaSearchError for the main CLI to print as one line. Tables and JSON go to stdout,
progress bars (tqdm) to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from mediasearch import cli_args
from mediasearch.modelstore import ModelStore, needed_by
from mediasearch.modelstore.errors import ModelStoreError
from mediasearch.modelstore.resolve import layout, resolve, resolve_all
from mediasearch.modelstore.store import FileCheck, ModelStatus
from mediasearch.progress import Progress

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``models`` (list | pull | import | urls | verify) to the main CLI's subparsers."""
    parser = subparsers.add_parser("models", help="list, download, import and verify model weights")
    sub = parser.add_subparsers(dest="models_command", metavar="{list,pull,import,urls,verify}")
    sub.required = True

    p = sub.add_parser("list", help="every model with its status, size on disk, licence and encoders")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("pull", help="download models (resumable, checksum-verified)")
    p.add_argument(
        "names", nargs="+", metavar="NAME",
        help="model names (see `models list`) or encoder names (see `mediasearch encoders`): an encoder pulls every model it needs",
    )
    p.add_argument("--mirror", metavar="URL", help="fetch from a server laid out like a model folder")
    p.add_argument("--timeout", type=cli_args.float_range(*cli_args.LIMITS["timeout"]), default=30.0, metavar="S", help="network timeout in seconds, 0.1 to 86400")
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("import", help="install a model from a local file or folder (no network)")
    p.add_argument("name", metavar="NAME", help="a model name, or an encoder name (imports every model it needs)")
    p.add_argument(
        "path", metavar="PATH", type=Path,
        help="the weights file, or a folder holding the files; for an encoder needing several models, "
        "a folder laid out like the model store (<dir>/<file>, see `models list --json`)",
    )
    p.add_argument("--force", action="store_true", help="install even if the checksum differs (recorded as forced)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("urls", help="where each file of a model or encoder comes from, and where it goes (for offline copying)")
    p.add_argument("names", nargs="+", metavar="NAME", help="model or encoder names")
    p.set_defaults(func=cmd_urls)

    p = sub.add_parser("verify", help="re-hash installed models against the manifest")
    p.add_argument("names", nargs="*", metavar="NAME", help="models or encoders to check (default: every installed model)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_verify)
    return parser


def _store(args: argparse.Namespace) -> ModelStore:
    return ModelStore(args.settings.model_dir)


def cmd_list(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Print every model: status, size on disk, licence, encoders that need it."""
    out = out or sys.stdout
    store = _store(args)
    rows = []
    for status in store.statuses():
        entry = store.entry(status.name)
        rows.append(
            {
                **status.to_json(),
                "licence": entry.licence,
                "library": entry.library,
                "size": entry.size,
                "encoders": needed_by(status.name),
                "path": str(store.path(status.name)),
                "description": entry.description,
            }
        )
    if args.json:
        json.dump({"model_dir": str(store.root), "models": rows}, out, indent=2)
        out.write("\n")
        return 0
    out.write(f"model folder: {store.root}\n")
    table = [("NAME", "STATUS", "ON DISK", "LICENCE", "ENCODERS", "NOTE")]
    for row in rows:
        table.append(
            (
                row["name"],
                row["status"],
                format_bytes(row["size_on_disk"]),
                row["licence"],
                _short_list(row["encoders"]),
                _note(row),
            )
        )
    _write_table(out, table)
    return 0


def _note(row: dict) -> str:
    if row["forced"]:
        return "forced (checksum differs)"
    accepted = {f["accepted"] for f in row["files"]}
    if row["notes"] or "alternative" in accepted:
        return "accepted alternative: " + "; ".join(n.split(":")[0] for n in row["notes"])
    if any(f["state"] == "unverified" for f in row["files"]) or "first-use" in accepted:
        return "no published checksum (trusted on first use)"
    return ""


def _short_list(names: list[str], keep: int = 2) -> str:
    if not names:
        return "-"
    shown = ", ".join(names[:keep])
    return shown + (f" +{len(names) - keep} more" if len(names) > keep else "")


def cmd_pull(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Download each named model with a progress bar; resumes interrupted downloads."""
    out = out or sys.stdout
    store = _store(args)
    names = resolve_all(store, args.names)  # unknown names fail before anything is downloaded
    for given in args.names:
        resolved = resolve(store, given)
        if resolved.encoder:
            out.write(f"encoder {given} needs: {', '.join(resolved.models)}\n")
    bars = TqdmProgress()
    try:
        for name in names:
            status = store.pull(name, progress=bars, mirror=args.mirror, timeout_s=args.timeout)
            bars.close()
            out.write(f"{name}: {_describe(status)}\n")
    except KeyboardInterrupt:
        bars.close()
        sys.stderr.write("interrupted; run the same `mediasearch models pull` again to resume\n")
        return 130
    finally:
        bars.close()
    return 0


def cmd_import(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Install a model (or every model an encoder needs) from a local file or folder, checking checksums."""
    out = out or sys.stdout
    store = _store(args)
    resolved = resolve(store, args.name)
    path = args.path.expanduser()
    if len(resolved.models) > 1:
        if not path.is_dir():
            raise ModelStoreError(
                f"{path}: encoder {args.name!r} needs {len(resolved.models)} models ({', '.join(resolved.models)}); "
                f"PATH must be a folder laid out like the model store, holding {'; '.join(layout(store, resolved.models))}; "
                f"or import each model by name ({'; '.join(f'mediasearch models import {m} PATH' for m in resolved.models)})"
            )
        missing = [m for m in resolved.models if not _import_source_complete(store, m, path)]
        if missing:
            raise ModelStoreError(
                f"{path}: encoder {args.name!r} needs {', '.join(resolved.models)}; not found there: "
                f"{', '.join(missing)}; the folder must be laid out like the model store, holding "
                f"{'; '.join(layout(store, resolved.models))}"
            )
    elif resolved.encoder:
        out.write(f"encoder {args.name} needs: {resolved.models[0]}\n")
    bars = TqdmProgress()
    try:
        for name in resolved.models:
            status = store.import_(name, path, force=args.force, progress=bars)
            bars.close()
            out.write(f"{name}: {_describe(status)} (imported from {path})\n")
            for note in status.notes:
                out.write(f"  note: {note}\n")
    finally:
        bars.close()
    return 0


def _import_source_complete(store: ModelStore, name: str, folder: Path) -> bool:
    """Whether ``folder`` holds every file of model ``name`` at ``<dir>/<file>`` (the store layout)."""
    entry = store.entry(name)
    return all((folder / entry.dir / f.path).is_file() for f in entry.files)


def cmd_urls(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Print, per file, its official URL and its place in the model store: what to fetch on
    another machine and copy here before `models import NAME FOLDER`."""
    out = out or sys.stdout
    store = _store(args)
    rows = [("MODEL", "FILE IN THE STORE", "SIZE", "OFFICIAL SOURCE")]
    for name in resolve_all(store, args.names):
        entry = store.entry(name)
        for file in entry.files:
            size = format_bytes(file.size) if file.size else "?"
            rows.append((name, f"{entry.dir}/{file.path}", size, file.source_url or "-"))
    _write_table(out, rows)
    return 0


def cmd_verify(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Re-hash installed files; exit code 1 if any file is missing or does not match."""
    out = out or sys.stdout
    store = _store(args)
    names = resolve_all(store, args.names) if args.names else None
    bars = TqdmProgress()
    try:
        checks = store.verify(names, progress=bars)
    finally:
        bars.close()
    if args.json:
        json.dump({"model_dir": str(store.root), "files": [vars(c) for c in checks]}, out, indent=2)
        out.write("\n")
    elif not checks:
        out.write(f"no models installed in {store.root}\n")
    else:
        _write_table(out, [("RESULT", "FILE", "ACCEPTED AS", "DETAIL")] + [_check_row(c) for c in checks])
    return 0 if all(c.ok for c in checks) else 1


def _check_row(check: FileCheck) -> tuple[str, ...]:
    detail = check.note
    if check.result == "mismatch":
        detail = f"expected {check.expected}, got {check.actual}"
    elif check.result == "missing":
        detail = "file not found"
    return (check.result.upper(), f"{check.name}/{check.path}", check.accepted or "-", detail)


def _describe(status: ModelStatus) -> str:
    text = f"{status.status.value} ({format_bytes(status.size_on_disk)})"
    if status.forced:
        text += ", forced"
    return text


class TqdmProgress:
    """A ProgressCallback drawing one tqdm bar per file on stderr (hidden when stderr is not a terminal)."""

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file or sys.stderr
        self._bar: Any = None
        self._key: tuple[str, str] | None = None

    def __call__(self, progress: Progress) -> None:
        key = (progress.stage, progress.current)
        if key != self._key:
            self.close()
            from tqdm import tqdm

            self._key = key
            self._bar = tqdm(
                total=progress.total,
                desc=f"{progress.stage} {progress.current}",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=self.file,
                disable=None,
                leave=False,
            )
        if self._bar is not None:
            self._bar.update(progress.done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._key = None


def format_bytes(size: int) -> str:
    """1536 -> "1.5 KB" (decimal units)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _write_table(out: TextIO, rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")

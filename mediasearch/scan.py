"""Walking the user's folders: every regular file with its size and mtime.

Symbolic links to folders are followed once (a folder reached twice, by its device and
inode, is not walked again, so link loops end); hidden files and folders (name starting
with ".") are skipped unless asked for. Folders that cannot be read are reported, not fatal.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from mediasearch.progress import CancelToken

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileEntry:
    """A file found by the scan. ``mtime_ns`` in nanoseconds, ``size`` in bytes."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    files: dict[str, FileEntry] = field(default_factory=dict)
    #: (path, reason) for folders or files that could not be read
    errors: list[tuple[str, str]] = field(default_factory=list)


def normalise_root(path: Path | str) -> Path:
    """Absolute path without resolving symlinks (the user's own view of the tree)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def scan(
    roots: Iterable[Path | str],
    *,
    include_hidden: bool = False,
    cancel: CancelToken | None = None,
    on_file: Callable[[int], None] | None = None,
) -> ScanResult:
    """Every regular file under ``roots`` (files given directly are included as they are)."""
    result = ScanResult()
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        root = normalise_root(root)
        try:
            st = os.stat(root)
        except OSError as exc:
            result.errors.append((str(root), exc.strerror or str(exc)))
            continue
        if stat.S_ISREG(st.st_mode):
            result.files[str(root)] = FileEntry(str(root), st.st_size, st.st_mtime_ns)
            continue
        stack = [str(root)]
        while stack:
            if cancel is not None:
                cancel.raise_if_cancelled("scan")
            folder = stack.pop()
            try:
                fst = os.stat(folder)
            except OSError as exc:
                result.errors.append((folder, exc.strerror or str(exc)))
                continue
            key = (fst.st_dev, fst.st_ino)
            if key in seen_dirs:
                log.debug("skipping %s: folder already walked (link loop or duplicate link)", folder)
                continue
            seen_dirs.add(key)
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                result.errors.append((folder, exc.strerror or str(exc)))
                continue
            for entry in sorted(entries, key=lambda e: e.name):
                if not include_hidden and entry.name.startswith("."):
                    continue
                try:
                    est = entry.stat(follow_symlinks=True)
                except OSError as exc:  # dangling link, vanished file
                    result.errors.append((entry.path, exc.strerror or str(exc)))
                    continue
                if stat.S_ISDIR(est.st_mode):
                    stack.append(entry.path)
                elif stat.S_ISREG(est.st_mode):
                    result.files[entry.path] = FileEntry(entry.path, est.st_size, est.st_mtime_ns)
                    if on_file is not None:
                        on_file(len(result.files))
    return result

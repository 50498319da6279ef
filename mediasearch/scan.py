"""Walking the user's folders: every regular file with its size and mtime, and every problem met.

Symbolic links to folders are followed once (a folder reached twice, by its device and
inode, is not walked again, so link loops end); hidden files and folders (name starting
with ".") are skipped unless asked for. Nothing the walk meets is dropped silently:
broken links, link loops, FIFOs, sockets, device files, unreadable folders and files
each become a :class:`ScanProblem` with a kind and a one-line reason.

Paths are ``str`` as the OS gives them: a name that is not valid UTF-8 is kept with
surrogate escapes (PEP 383), so ``os.fsencode(path)`` gives back its exact bytes and the
file is scanned like any other.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable

from mediasearch.progress import CancelToken

log = logging.getLogger(__name__)

__all__ = ["FileEntry", "ProblemKind", "ScanProblem", "ScanResult", "normalise_root", "scan"]


@dataclass(frozen=True)
class FileEntry:
    """A file found by the scan. ``mtime_ns`` in nanoseconds, ``size`` in bytes."""

    path: str
    size: int
    mtime_ns: int


class ProblemKind(str, Enum):
    """Why something under a root is not a file the scan returns."""

    MISSING = "missing"  # a root that does not exist
    BROKEN_LINK = "broken-link"  # a symbolic link whose target does not exist
    LINK_LOOP = "link-loop"  # links that point at each other, or back to an enclosing folder
    DUPLICATE_FOLDER = "duplicate-folder"  # a second link to a folder already walked
    FIFO = "fifo"
    SOCKET = "socket"
    DEVICE = "device"  # character or block device
    SPECIAL = "special"  # any other non-regular file (door, whiteout, event port...)
    UNREADABLE_FOLDER = "unreadable-folder"
    UNREADABLE_FILE = "unreadable-file"
    VANISHED = "vanished"  # listed, then gone before it could be looked at


@dataclass(frozen=True)
class ScanProblem:
    """Something the scan met and did not return as a file: ``path`` (str, OS form), ``kind``, ``reason``."""

    path: str
    kind: ProblemKind
    reason: str


@dataclass
class ScanResult:
    files: dict[str, FileEntry] = field(default_factory=dict)
    #: everything met that is not a returned file, in the order met
    problems: list[ScanProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str]]:
        """(path, reason) for every problem (the older shape of :attr:`problems`)."""
        return [(p.path, p.reason) for p in self.problems]

    def counts(self) -> dict[str, int]:
        """Problems per kind (``ProblemKind.value`` -> count)."""
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.kind.value] = out.get(p.kind.value, 0) + 1
        return out


def normalise_root(path: Path | str | bytes) -> Path:
    """Absolute path without resolving symlinks (the user's own view of the tree)."""
    return Path(os.path.abspath(os.path.expanduser(os.fsdecode(path))))


def scan(
    roots: Iterable[Path | str | bytes],
    *,
    include_hidden: bool = False,
    cancel: CancelToken | None = None,
    on_file: Callable[[int], None] | None = None,
) -> ScanResult:
    """Every regular file under ``roots`` (files given directly are included as they are), and every problem."""
    result = ScanResult()
    walked: dict[tuple[int, int], str] = {}  # (device, inode) of each folder walked -> its path
    for root in roots:
        root = normalise_root(root)
        top = str(root)
        try:
            st = os.stat(top)
        except OSError as exc:
            result.problems.append(_stat_problem(top, exc, root=True))
            continue
        if not stat.S_ISDIR(st.st_mode):
            _add_file(result, top, st, on_file)
            continue
        stack: list[tuple[str, tuple[tuple[int, int], ...]]] = [(top, ())]
        while stack:
            if cancel is not None:
                cancel.raise_if_cancelled("scan")
            folder, ancestors = stack.pop()
            try:
                fst = os.stat(folder)
            except OSError as exc:
                result.problems.append(_stat_problem(folder, exc))
                continue
            key = (fst.st_dev, fst.st_ino)
            if key in ancestors:
                result.problems.append(ScanProblem(
                    folder, ProblemKind.LINK_LOOP,
                    f"symbolic link loop: links back to the enclosing folder {walked.get(key, '?')}; not followed"))
                continue
            if key in walked:
                result.problems.append(ScanProblem(
                    folder, ProblemKind.DUPLICATE_FOLDER, f"same folder as {walked[key]}, already scanned"))
                continue
            walked[key] = folder
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError as exc:
                result.problems.append(ScanProblem(
                    folder, ProblemKind.UNREADABLE_FOLDER, f"cannot read folder: {_why(exc)}"))
                continue
            inner = ancestors + (key,)
            subfolders: list[tuple[str, tuple[tuple[int, int], ...]]] = []
            for entry in sorted(entries, key=lambda e: e.name):
                if not include_hidden and entry.name.startswith("."):
                    continue
                try:
                    est = entry.stat(follow_symlinks=True)
                except OSError as exc:
                    result.problems.append(_stat_problem(entry.path, exc))
                    continue
                if stat.S_ISDIR(est.st_mode):
                    subfolders.append((entry.path, inner))
                else:
                    _add_file(result, entry.path, est, on_file)
            stack.extend(reversed(subfolders))  # walked in name order, depth first
    return result


def _add_file(result: ScanResult, path: str, st: os.stat_result, on_file: Callable[[int], None] | None) -> None:
    """A regular, readable file goes into ``files``; anything else becomes a problem."""
    mode = st.st_mode
    if not stat.S_ISREG(mode):
        result.problems.append(_special(path, mode))
        return
    if not os.access(path, os.R_OK):
        result.problems.append(ScanProblem(path, ProblemKind.UNREADABLE_FILE, "cannot read file: permission denied"))
        return
    result.files[path] = FileEntry(path, st.st_size, st.st_mtime_ns)
    if on_file is not None:
        on_file(len(result.files))


def _special(path: str, mode: int) -> ScanProblem:
    if stat.S_ISFIFO(mode):
        return ScanProblem(path, ProblemKind.FIFO, "named pipe (FIFO), not a regular file: not read")
    if stat.S_ISSOCK(mode):
        return ScanProblem(path, ProblemKind.SOCKET, "socket, not a regular file: not read")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "character" if stat.S_ISCHR(mode) else "block"
        return ScanProblem(path, ProblemKind.DEVICE, f"{what} device file, not a regular file: not read")
    return ScanProblem(path, ProblemKind.SPECIAL, f"special file (mode {stat.filemode(mode)}), not a regular file: not read")


def _stat_problem(path: str, exc: OSError, *, root: bool = False) -> ScanProblem:
    """What a failed stat (following links) means for ``path``."""
    is_link = os.path.islink(path)
    if exc.errno == errno.ELOOP:
        return ScanProblem(path, ProblemKind.LINK_LOOP, "symbolic link loop (the links point at each other)")
    if exc.errno == errno.ENOENT and is_link:
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return ScanProblem(path, ProblemKind.BROKEN_LINK, f"broken symbolic link: its target {target} does not exist")
    if exc.errno == errno.ENOENT:
        if root:
            return ScanProblem(path, ProblemKind.MISSING, "no such file or folder")
        return ScanProblem(path, ProblemKind.VANISHED, "disappeared during the scan")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ScanProblem(path, ProblemKind.UNREADABLE_FOLDER, f"cannot look inside its folder: {_why(exc)}")
    return ScanProblem(path, ProblemKind.UNREADABLE_FILE, f"cannot read: {_why(exc)}")


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower() if exc.strerror else str(exc)

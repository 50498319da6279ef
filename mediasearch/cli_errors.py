"""Turning any failure into one line for the user: what happened and what to do.

The CLI's ``main`` calls :func:`explain` on whatever escaped a command and prints the
line it returns; tracebacks are for ``-v``. A damaged SQLite catalog is copied aside
(:func:`keep_damaged_copy`) before the message offers ``mediasearch repair``, so the
evidence survives whatever repair does. :func:`safe_text_streams` makes stdout and
stderr print file names that are not valid UTF-8 (kept as surrogate escapes) instead of
raising ``UnicodeEncodeError`` half-way through a listing.
"""

from __future__ import annotations

import codecs
import errno
import logging
import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from mediasearch.catalog.salvage import DAMAGED_DIR, keep_damaged_copy  # one place keeps damaged copies

logger = logging.getLogger(__name__)

__all__ = ["Explained", "explain", "keep_damaged_copy", "free_bytes", "safe_text_streams", "DAMAGED_DIR"]

EXIT_ERROR = 1
EXIT_CANCELLED = 130

#: folder under the library where copies of damaged catalogs are kept

# SQLite primary result codes (sqlite3.Error.sqlite_errorcode & 0xff)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26
_CORRUPT_WORDS = ("malformed", "not a database", "corrupt", "file is encrypted")


@dataclass(frozen=True)
class Explained:
    """One line for the user and the exit status that goes with it."""

    message: str
    exit_code: int = EXIT_ERROR


def explain(exc: BaseException, *, library_dir: Path | None = None, catalog_path: Path | None = None) -> Explained:
    """The one-line message and exit status for ``exc``, escaped from a command.

    ``catalog_path``: the library's catalog, copied aside when the error says it is
    damaged. ``library_dir``: where to measure free space when a disk-full error does
    not name a file.
    """
    from mediasearch.errors import CancelledError, MediaSearchError

    if isinstance(exc, KeyboardInterrupt):
        return Explained("interrupted; what was committed is kept, run the same command again to resume", EXIT_CANCELLED)
    if isinstance(exc, CancelledError):
        return Explained(str(exc), EXIT_CANCELLED)
    db_error = _sqlite_cause(exc)
    if db_error is not None:
        return _explain_sqlite(db_error, catalog_path=catalog_path, library_dir=library_dir)
    if isinstance(exc, MediaSearchError):
        os_error = _cause(exc, OSError)
        if os_error is not None and os_error.errno == errno.ENOSPC:
            return _disk_full(os_error.filename or library_dir, exc)
        return Explained(f"error: {_one_line(str(exc))}")
    if isinstance(exc, OSError):
        return _explain_os(exc, library_dir=library_dir)
    if type(exc).__module__.startswith("pymilvus"):  # the vector store failed mid-command (not imported here)
        detail = getattr(exc, "message", "") or str(exc) or type(exc).__name__
        return Explained(f"the Milvus vector store failed: {_one_line(detail)}; check that it runs and is reachable, "
                         "then run again — everything committed is kept")
    if isinstance(exc, MemoryError):
        return Explained("out of memory; try a smaller --batch-size or fewer --threads")
    name = type(exc).__name__
    return Explained(
        f"internal error: {name}: {_one_line(str(exc))}; run again with -v for the traceback and please report it"
    )


# -- SQLite ------------------------------------------------------------------------------


def _explain_sqlite(exc: sqlite3.Error, *, catalog_path: Path | None, library_dir: Path | None) -> Explained:
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    low = text.lower()
    where = f" ({catalog_path})" if catalog_path is not None else ""
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or any(w in low for w in _CORRUPT_WORDS):
        return Explained(_damaged_message(text, catalog_path))
    if code == _SQLITE_FULL or "disk is full" in low or "disk full" in low:
        return _disk_full(catalog_path or library_dir, exc)
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in low:
        return Explained(
            f"the catalog{where} is locked by another mediasearch process; wait for it to finish and run again"
        )
    if code == _SQLITE_READONLY or "readonly" in low or "read-only" in low:
        return Explained(f"the catalog{where} cannot be written ({text}); check the folder's permissions and free space")
    if code == _SQLITE_CANTOPEN or "unable to open" in low:
        return Explained(f"the catalog{where} cannot be opened ({text}); check that the library folder exists and is writable")
    if code == _SQLITE_IOERR or "disk i/o" in low:
        return Explained(f"the catalog{where} could not be read or written ({text}); check the disk, then run again")
    return Explained(
        f"catalog error{where}: {_one_line(text)}; run again with -v for details, "
        "and `mediasearch repair` if it keeps happening"
    )


def _damaged_message(reason: str, catalog_path: Path | None) -> str:
    head = f"the catalog is damaged ({_one_line(reason)})"
    if catalog_path is None:
        return f"{head}; run `mediasearch repair`"
    try:
        copy = keep_damaged_copy(catalog_path)
    except OSError as exc:
        return (
            f"{head}; could not keep a copy ({exc.strerror or exc}): copy {catalog_path} somewhere safe, "
            "then run `mediasearch repair`"
        )
    if copy is None:
        return f"{head}; {catalog_path} is gone; run `mediasearch repair`"
    return (
        f"{head}; a copy was kept at {copy}; run `mediasearch repair` to rebuild it from your files "
        "and the vector store (judgements are kept)"
    )


# -- OS errors -----------------------------------------------------------------------------


def _explain_os(exc: OSError, *, library_dir: Path | None) -> Explained:
    if exc.errno == errno.ENOSPC:
        return _disk_full(exc.filename or library_dir, exc)
    if exc.errno == errno.EDQUOT:
        return Explained(f"disk quota exceeded at {_where(exc.filename or library_dir)}; free space and run again "
                         "— everything committed is kept")
    what = _where(exc.filename) if exc.filename else None
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = {
        errno.EACCES: "check its permissions",
        errno.EPERM: "check its permissions",
        errno.ENOENT: "check the path",
        errno.EEXIST: "choose another path",
        errno.ENOTDIR: "a folder was expected: check the path",
        errno.EISDIR: "a file was expected: check the path",
        errno.EROFS: "the disk is read-only: choose a writable library folder (--library)",
    }.get(exc.errno or -1, "check the path and the disk, then run again")
    return Explained(f"{what}: {reason}; {hint}" if what else f"{reason}; {hint}")


def _disk_full(where: object, exc: BaseException) -> Explained:
    """'disk full at PATH: N MB free; ...' (with the space the next write needs, when known)."""
    path = Path(os.fsdecode(where)) if where else None
    free = free_bytes(path) if path is not None else None
    at = f" at {_where(path)}" if path is not None else ""
    free_text = f": {free / 1e6:.0f} MB free" if free is not None else ""
    needed = getattr(exc, "needed_bytes", None)
    need_text = f", the next checkpoint needs about {needed / 1e6:.0f} MB" if needed else ""
    return Explained(f"disk full{at}{free_text}{need_text}; free space and run again — everything committed is kept")


def free_bytes(path: Path | str) -> int | None:
    """Bytes free to an unprivileged user on the disk holding ``path`` (its nearest existing folder)."""
    probe = Path(path)
    for candidate in (probe, *probe.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def _where(path: object) -> str:
    return os.fsdecode(path) if isinstance(path, (bytes, str, os.PathLike)) else str(path)


# -- chains -----------------------------------------------------------------------------------


def _cause(exc: BaseException, kind: type) -> BaseException | None:
    """``exc`` or the first exception of type ``kind`` in its cause/context chain."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def _sqlite_cause(exc: BaseException) -> sqlite3.Error | None:
    found = _cause(exc, sqlite3.Error)
    return found if isinstance(found, sqlite3.Error) else None


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "no details"


# -- text streams -------------------------------------------------------------------------------


def _safe_encode(err: UnicodeError) -> tuple[str | bytes, int]:
    """Error handler: a surrogate-escaped byte is written back as that byte, anything else as \\x/\\u."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start : err.end]
    if all(0xDC80 <= ord(c) <= 0xDCFF for c in bad) and err.encoding.replace("-", "").lower() in ("utf8", "utf_8"):
        return bytes(ord(c) - 0xDC00 for c in bad), err.end  # the name's own bytes, as `ls` shows them
    return bad.encode("ascii", "backslashreplace").decode("ascii"), err.end


codecs.register_error("mediasearch-safe", _safe_encode)


def safe_text_streams() -> None:
    """Make sys.stdout and sys.stderr print any str, including surrogate-escaped file names."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(errors="mediasearch-safe")
        except (ValueError, OSError, LookupError) as exc:  # a closed or exotic stream: leave it
            logger.debug("cannot reconfigure %r: %s", stream, exc)


def silence_broken_pipe() -> None:
    """After ``mediasearch search | head``: send what is left of stdout to /dev/null so exit stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError) as exc:  # stdout without a file descriptor (tests)
        logger.debug("cannot redirect stdout: %s", exc)

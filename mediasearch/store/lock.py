"""The library's writer lock: one writer, many readers.

An OS file lock on ``<library>/writer.lock`` (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows): the OS releases it when the holder exits, even after
kill -9, so a stale lock cannot block anyone. Beside it, ``writer.json`` records who
holds it (pid, command, host, since) for the message a refused writer gets.

Within one process the lock is shared: the GUI's indexing thread and a judgement
written from the GUI's main thread both hold it (reference counted). Log-writing
*sessions* (an index run, a repair) are exclusive even within a process.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from mediasearch.errors import LibraryLockedError

LOCK_NAME = "writer.lock"
HOLDER_NAME = "writer.json"
#: how often a --wait writer retries, seconds
POLL_S = 0.2


def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fh: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        fh.seek(0)
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        return
    import fcntl

    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_holder(library_dir: Path) -> dict:
    """What ``writer.json`` says of the current (or last) writer; {} if unreadable."""
    try:
        return json.loads((Path(library_dir) / HOLDER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class _ProcessLock:
    """The OS lock of one library, held by this process on behalf of its threads."""

    def __init__(self, library_dir: Path) -> None:
        self.library_dir = library_dir
        self.mutex = threading.Lock()
        self.session = threading.Lock()
        self.session_command = ""
        self.refs = 0
        self.fh: IO[bytes] | None = None

    def acquire(self, command: str, *, wait: bool, timeout_s: float | None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            with self.mutex:
                if self.refs:
                    self.refs += 1
                    return
                self.library_dir.mkdir(parents=True, exist_ok=True)
                fh = open(self.library_dir / LOCK_NAME, "a+b")
                if _try_lock(fh):
                    self.fh = fh
                    self.refs = 1
                    self._write_holder(command)
                    return
                fh.close()
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                raise LibraryLockedError(self.library_dir, read_holder(self.library_dir))
            time.sleep(POLL_S)

    def release(self) -> None:
        with self.mutex:
            self.refs -= 1
            if self.refs > 0 or self.fh is None:
                return
            try:
                _unlock(self.fh)
            finally:
                self.fh.close()
                self.fh = None

    def _write_holder(self, command: str) -> None:
        record = {"pid": os.getpid(), "command": command, "host": socket.gethostname(), "since": time.time()}
        path = self.library_dir / HOLDER_NAME
        try:  # informational only: a failure to write it must not fail the writer
            tmp = path.with_name(f".{HOLDER_NAME}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass


_registry: dict[str, _ProcessLock] = {}
_registry_mutex = threading.Lock()


def _process_lock(library_dir: Path) -> _ProcessLock:
    key = os.path.normcase(os.path.abspath(library_dir))
    with _registry_mutex:
        lock = _registry.get(key)
        if lock is None:
            lock = _registry[key] = _ProcessLock(Path(library_dir))
        return lock


@contextmanager
def writer_lock(
    library_dir: Path, command: str, *, wait: bool = False, timeout_s: float | None = None
) -> Iterator[None]:
    """Hold the library's writer lock for the block (shared by this process's threads).

    Raises LibraryLockedError naming the holder when another process has it (after
    ``timeout_s`` seconds when ``wait``; None waits for ever).
    """
    lock = _process_lock(Path(library_dir))
    lock.acquire(command, wait=wait, timeout_s=timeout_s)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def write_session(
    library_dir: Path, command: str, *, wait: bool = False, timeout_s: float | None = None
) -> Iterator[None]:
    """An exclusive writing session (index run, repair): the OS lock plus exclusivity
    among this process's threads, since two sessions would append to the same logs."""
    lock = _process_lock(Path(library_dir))
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not lock.session.acquire(blocking=False):
        if not wait or (deadline is not None and time.monotonic() >= deadline):
            raise LibraryLockedError(
                library_dir, {"pid": os.getpid(), "command": lock.session_command or "another task in this program"}
            )
        time.sleep(POLL_S)
    try:
        lock.session_command = command
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        with writer_lock(library_dir, command, wait=wait, timeout_s=remaining):
            yield
    finally:
        lock.session_command = ""
        lock.session.release()


def session_active(library_dir: Path) -> bool:
    """Whether this process has a writing session open on the library."""
    return _process_lock(Path(library_dir)).session.locked()


def probe(library_dir: Path) -> dict | None:
    """Who holds the writer lock now ({} when unknown), or None when nobody does.
    Writes nothing (a status reader uses it)."""
    path = Path(library_dir) / LOCK_NAME
    if not path.is_file():
        return None
    lock = _process_lock(Path(library_dir))
    if lock.refs:
        return {"pid": os.getpid(), "command": lock.session_command or "this program"}
    try:
        fh = open(path, "rb")
    except OSError:
        return None
    try:
        if _try_lock(fh):
            _unlock(fh)
            return None
        return read_holder(library_dir)
    finally:
        fh.close()
